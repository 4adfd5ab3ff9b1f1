//! The chart's generated files (values.yaml, values.schema.json, the CRD)
//! match what the Rust types say: never stale, never edited by hand.

use std::process::Command;

#[test]
fn chart_files_are_up_to_date() {
    let chart = concat!(env!("CARGO_MANIFEST_DIR"), "/../../charts/operator-wandb");
    let out = Command::new(env!("CARGO_BIN_EXE_wandb-operator"))
        .args(["chart-files", "--check", chart])
        .output()
        .expect("the binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
