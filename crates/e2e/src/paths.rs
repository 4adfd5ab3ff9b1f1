//! The repository, the cache, the operator binary.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use crate::*;

/// The repository root (two levels above this crate).
pub fn repo_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    root.canonicalize()
        .unwrap_or_else(|e| panic!("repository root {}: {e}", root.display()))
}

/// A file under crates/e2e/fixtures/.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .join(name)
}

/// hack/cluster's cache, as it computes it.
pub fn cache_dir() -> PathBuf {
    match std::env::var_os("WANDB_OPERATOR_CACHE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => {
            let home = std::env::var_os("HOME").expect("HOME is not set");
            PathBuf::from(home).join(".cache/wandb-operator")
        }
    }
}

/// The kubectl that `hack/cluster install` puts in the cache.
pub fn kubectl_bin() -> PathBuf {
    cache_dir().join("bin/kubectl")
}

/// The `wandb-operator` binary: `$WANDB_OPERATOR_BIN` if set, else
/// target/release/wandb-operator, which `cargo build` brings up to date
/// first (once per test process; a no-op when nothing changed).
pub fn operator_binary() -> PathBuf {
    let bin = operator_binary_quiet();
    let age = std::fs::metadata(&bin)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| SystemTime::now().duration_since(t).ok())
        .map(|d| format!(", built {} min ago", d.as_secs() / 60))
        .unwrap_or_default();
    eprintln!("[e2e] using {}{age}", bin.display());
    bin
}

fn locate_or_build_operator() -> PathBuf {
    if let Some(bin) = std::env::var_os("WANDB_OPERATOR_BIN") {
        let bin = PathBuf::from(bin);
        assert!(
            bin.is_file(),
            "WANDB_OPERATOR_BIN={} is not a file",
            bin.display()
        );
        return bin;
    }
    let root = repo_root();
    let bin = root.join("target/release/wandb-operator");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.args(["build", "--release", "-p", "wandb-operator"])
        .current_dir(&root);
    let out = run(cmd, None, Duration::from_secs(1800));
    assert!(
        out.success() && bin.is_file(),
        "building wandb-operator failed ({}):\n{}",
        out.describe_status(),
        out.stderr
    );
    bin
}

/// [`operator_binary`] without its line, for operators started over and over.
pub fn operator_binary_quiet() -> PathBuf {
    static BIN: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BIN.get_or_init(locate_or_build_operator).clone()
}
