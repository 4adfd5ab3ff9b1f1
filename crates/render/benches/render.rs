//! In-process render: values already typed, objects out (and as YAML).

use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use wandb_render::Release;
use wandb_render::builtin::load;
use wandb_render::builtin::{render, render_yaml};
use wandb_values::{Disk, Source};

fn values(file: Option<&str>) -> wandb_values::Values {
    let sources: Vec<Source> = file.map(|f| Source::File(f.into())).into_iter().collect();
    load(&sources, &mut Disk)
        .expect("the benchmark's values load")
        .values
}

fn benches(c: &mut Criterion) {
    let release = Release::new("wandb", "default");
    let largest = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fixtures/values/every-service.yaml"
    );
    let cases = [
        ("default", values(None)),
        ("every-service", values(Some(largest))),
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
        b.iter(|| load(black_box(&[]), &mut Disk).map(|l| l.values))
    });
}

criterion_group!(render_benches, benches);
criterion_main!(render_benches);
