//! An OCI registry on loopback (go-containerregistry's, built from
//! hack/registry) and its crane client, for the tests that push to one and
//! pull from it.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::*;

/// Builds `packages` of hack/registry's module (`.` is the registry) into
/// `out`; returns `out`. Go's cache makes a second build a no-op. Each
/// suite gives its own `out`: suites run side by side, and one must not
/// rewrite a binary another is running.
pub fn build_go_tools(out: &Path, packages: &[&str]) -> PathBuf {
    // Go writes several packages only into a folder that exists.
    std::fs::create_dir_all(out).unwrap_or_else(|e| panic!("{}: {e}", out.display()));
    let mut cmd = Command::new("go");
    cmd.args(["build", "-o"])
        .arg(out)
        .args(packages)
        .current_dir(repo_root().join("hack/registry"));
    let built = run(cmd, None, Duration::from_secs(900));
    assert!(built.success(), "building hack/registry: {}", built.stderr);
    out.to_path_buf()
}

/// The registry process; killed when dropped.
pub struct Registry {
    child: Child,
    /// `127.0.0.1:<port>`.
    pub address: String,
    /// Its request log (`registry: ... GET /v2/...`), if it keeps one.
    pub log: Option<PathBuf>,
}

impl Registry {
    /// Starts the registry binary `bin`; with `log`, its requests are
    /// written there (one line each), else dropped.
    pub fn start(bin: &Path, log: Option<&Path>) -> Registry {
        let stderr = match log {
            Some(path) => Stdio::from(
                std::fs::File::create(path)
                    .unwrap_or_else(|e| panic!("the registry's log {}: {e}", path.display())),
            ),
            None => Stdio::null(),
        };
        let mut child = Command::new(bin)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("the registry starts");
        let mut line = String::new();
        let stdout = child.stdout.take().expect("its stdout");
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the registry prints its address");
        let address = line.trim().to_string();
        assert!(address.starts_with("127.0.0.1:"), "{address:?}");
        Registry {
            child,
            address,
            log: log.map(Path::to_path_buf),
        }
    }

    /// The requests it logged whose line contains `what`
    /// (`GET /v2/wandb/x/manifests/1.0`, ...).
    pub fn requests(&self, what: &str) -> Vec<String> {
        let Some(log) = &self.log else {
            return Vec::new();
        };
        std::fs::read_to_string(log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains(what))
            .map(str::to_string)
            .collect()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `crane ARGS...`; its stdout. Panics, with its output, if it fails.
#[track_caller]
pub fn crane(bin: &Path, args: &[&str]) -> String {
    let mut cmd = Command::new(bin);
    cmd.args(args).stdin(Stdio::null());
    let out = run(cmd, None, Duration::from_secs(1800));
    assert!(
        out.success(),
        "crane {}: {}\n{}{}",
        args.join(" "),
        out.describe_status(),
        out.stdout,
        out.stderr
    );
    out.stdout
}
