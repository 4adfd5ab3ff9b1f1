//! In-process render: values already typed, objects out (and as YAML).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use wandb_render::{Release, render, render_yaml};
use wandb_values::{Source, load};

struct NoFiles;
impl wandb_values::FileReader for NoFiles {
    fn read(&mut self, path: &std::path::Path) -> std::io::Result<String> {
        std::fs::read_to_string(path)
    }
}

fn values(file: Option<&str>) -> wandb_values::Values {
    let sources: Vec<Source> = file.map(|f| Source::File(f.into())).into_iter().collect();
    load(&sources, &mut NoFiles)
        .expect("the benchmark's values load")
        .values
}

fn benches(c: &mut Criterion) {
    let release = Release::new("wandb", "default");
    let largest = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/reference/upstream/olap-features-enabled.values.yaml"
    );
    let cases = [
        ("default", values(None)),
        ("olap-features-enabled", values(Some(largest))),
    ];
    for (name, v) in &cases {
        c.bench_function(&format!("render/{name}"), |b| {
            b.iter(|| render(black_box(v), &release))
        });
        c.bench_function(&format!("render_yaml/{name}"), |b| {
            b.iter(|| render_yaml(black_box(v), &release))
        });
    }
    c.bench_function("load_values/default", |b| {
        b.iter(|| load(black_box(&[]), &mut NoFiles).map(|l| l.values))
    });
}

criterion_group!(render_benches, benches);
criterion_main!(render_benches);
