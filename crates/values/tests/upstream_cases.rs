//! Every values file of the upstream chart's test suite loads: no errors,
//! and any warning names a key the upstream chart knows but we do not use.

use std::path::PathBuf;

use wandb_values::{Disk, Source, load};

fn cases() -> Vec<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/reference/upstream");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".values.yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_upstream_case_loads() {
    let files = cases();
    assert!(files.len() >= 30, "found only {} cases", files.len());
    let mut failures = Vec::new();
    for file in &files {
        match load(&[Source::File(file.clone())], &mut Disk) {
            Ok(loaded) => {
                for w in loaded.warnings {
                    eprintln!("{}: warning: {w}", file.display());
                }
            }
            Err(errors) => failures.push(format!("{}: {errors:?}", file.display())),
        }
    }
    assert!(failures.is_empty(), "{failures:#?}");
}
