//! Helm 3 and 4 as the tests run them (the binaries `hack/cluster install`
//! puts in the cache), each with its own config, cache and data in a test's
//! work directory; and that directory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::Duration;

use crate::{Output, cache_dir, repo_root, run};

/// How long one Helm command may take.
pub const HELM_TIMEOUT: Duration = Duration::from_secs(240);

/// A Helm major version.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Helm {
    V3,
    V4,
}

pub const HELMS: [Helm; 2] = [Helm::V3, Helm::V4];

impl Helm {
    pub fn name(self) -> &'static str {
        match self {
            Helm::V3 => "helm3",
            Helm::V4 => "helm4",
        }
    }

    pub fn bin(self) -> PathBuf {
        let bin = cache_dir().join("bin").join(self.name());
        if !bin.is_file() {
            // A fresh machine: `hack/cluster install` builds and fetches the tools.
            let mut cmd = Command::new(repo_root().join("hack/cluster"));
            cmd.arg("install");
            let out = run(cmd, None, Duration::from_secs(1800));
            assert!(out.success(), "{}\n{}", out.describe_status(), out.stderr);
        }
        bin
    }

    /// `helm ARGS` in the repository root, against `kubeconfig`, with Helm's
    /// own config, cache and data in `work` (nothing in the user's home).
    pub fn command(self, work: &Path, kubeconfig: Option<&Path>, args: &[&str]) -> Command {
        let mut cmd = Command::new(self.bin());
        cmd.args(args)
            .current_dir(repo_root())
            .env("HELM_CONFIG_HOME", work.join("helm/config"))
            .env("HELM_CACHE_HOME", work.join("helm/cache"))
            .env("HELM_DATA_HOME", work.join("helm/data"));
        match kubeconfig {
            Some(k) => cmd.env("KUBECONFIG", k),
            None => cmd.env_remove("KUBECONFIG"),
        };
        cmd
    }

    pub fn run(self, work: &Path, kubeconfig: Option<&Path>, args: &[&str]) -> Output {
        run(self.command(work, kubeconfig, args), None, HELM_TIMEOUT)
    }

    pub fn ok(self, work: &Path, kubeconfig: Option<&Path>, args: &[&str]) -> Output {
        let out = self.run(work, kubeconfig, args);
        out.assert_success();
        out
    }

    /// `helm install ARGS`, asserting success. Helm 4.1 does not wait for
    /// the CRDs of a chart's crds/ to be Established before it maps the
    /// templates' objects (helm/helm#32671: its default wait strategy,
    /// hookOnly, skips that wait too), so on a cluster without the CRD its
    /// first attempt fails with "no matches for kind". It records no release
    /// and leaves the CRD behind, so the same command is run again. Returns
    /// the output and, when that happened, a note.
    pub fn install(
        self,
        work: &Path,
        kubeconfig: &Path,
        args: &[&str],
    ) -> (Output, Option<String>) {
        let out = self.run(work, Some(kubeconfig), args);
        let known = "no matches for kind \"WeightsAndBiases\" in version \"apps.wandb.com/v1\"";
        if !out.success() && self == Helm::V4 && out.stderr.contains(known) {
            let note = format!(
                "helm4's first `helm install` failed ({known}: Helm 4.1 does not wait for crds/ to be \
                 Established, helm/helm#32671) and the same command succeeded on the second try"
            );
            eprintln!("[chart] NOTE: {note}");
            return (self.ok(work, Some(kubeconfig), args), Some(note));
        }
        out.assert_success();
        (out, None)
    }

    /// Runs `helm ARGS` in a thread, for commands that wait on a pod the
    /// test must "run" meanwhile.
    pub fn spawn(
        self,
        work: &Path,
        kubeconfig: &Path,
        args: &[&str],
    ) -> thread::JoinHandle<Output> {
        let cmd = self.command(work, Some(kubeconfig), args);
        thread::spawn(move || run(cmd, None, HELM_TIMEOUT))
    }
}

/// A directory for one test's files, removed at the end unless the test failed.
pub struct WorkDir(pub PathBuf);

impl WorkDir {
    pub fn new(name: &str) -> WorkDir {
        let dir = std::env::temp_dir().join(format!("wandb-e2e-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        WorkDir(dir)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!(
                "[chart] files of the failed test kept in {}",
                self.0.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}
