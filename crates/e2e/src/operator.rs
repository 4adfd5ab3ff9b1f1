//! `wandb-operator run` as a subprocess.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread::{self};
use std::time::{Duration, Instant};

use crate::*;

/// `wandb-operator run` as a subprocess against a test cluster, with its
/// log in a file. Dropping it stops it (SIGTERM, then SIGKILL), also while a
/// failing test unwinds, and then prints the tail of its log; a watchdog
/// kills it should the test process die without unwinding.
pub struct Operator {
    /// The leader-election identity (`POD_NAME`).
    pub identity: String,
    /// Port of /metrics, /healthz and /readyz on 127.0.0.1.
    pub port: u16,
    /// Its stdout and stderr.
    pub log: PathBuf,
    /// `NAMESPACE/NAME` of the ServiceAccount it runs as
    /// ([`Operator::start_as`]); `None`: the cluster's admin.
    pub service_account: Option<String>,
    child: Option<Child>,
    watchdog: Option<Child>,
    exit: Option<ExitStatus>,
}

impl Operator {
    /// Starts `wandb-operator run --namespace NAMESPACE --lease-namespace
    /// NAMESPACE` with identity `identity`, logging (text, debug for the
    /// operator's own modules) to `<log_dir>/<identity>.log`.
    pub fn start(cluster: &Cluster, namespace: &str, identity: &str, log_dir: &Path) -> Operator {
        Operator::start_in(&cluster.kubeconfig, namespace, identity, log_dir)
    }

    /// Like [`Operator::start`], authenticated with a token of
    /// ServiceAccount `service_account` of `namespace` (its kubeconfig
    /// written into `log_dir`), so that its RBAC is all the operator has:
    /// the operator as a Deployment running under that ServiceAccount.
    pub fn start_as(
        cluster: &Cluster,
        namespace: &str,
        service_account: &str,
        identity: &str,
        log_dir: &Path,
    ) -> Operator {
        let kubeconfig = cluster.service_account_kubeconfig(namespace, service_account, log_dir);
        let mut op = Operator::start_in(&kubeconfig, namespace, identity, log_dir);
        op.service_account = Some(format!("{namespace}/{service_account}"));
        op
    }

    fn start_in(kubeconfig: &Path, namespace: &str, identity: &str, log_dir: &Path) -> Operator {
        // Says which binary it runs (the first time it builds it).
        operator_binary();
        let log = log_dir.join(format!("{identity}.log"));
        let _ = std::fs::remove_file(&log);
        let scope = ["--namespace", namespace, "--lease-namespace", namespace];
        Operator::launch(kubeconfig, &scope, identity, &log)
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether the process still runs (reaping it if it ended).
    pub fn running(&mut self) -> bool {
        let Some(child) = self.child.as_mut() else {
            return false;
        };
        match child.try_wait() {
            Ok(None) => true,
            Ok(Some(status)) => {
                self.exit = Some(status);
                self.child = None;
                false
            }
            Err(_) => false,
        }
    }

    /// Its exit status once it ended.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.running();
        self.exit
    }

    /// Scrapes /metrics.
    pub fn metrics(&self) -> Result<Metrics, String> {
        match http_get(self.port, "/metrics")? {
            (200, text) => Ok(Metrics { text }),
            (code, body) => Err(format!("/metrics answered {code}: {body}")),
        }
    }

    /// /readyz answers 200.
    pub fn ready(&self) -> bool {
        matches!(http_get(self.port, "/readyz"), Ok((200, _)))
    }

    /// Waits until /readyz answers 200: up, leading or standing by.
    pub fn wait_ready(&self, timeout: Duration) {
        wait_for(
            &format!("operator '{}' ready", self.identity),
            timeout,
            Duration::from_millis(100),
            || {
                if self.ready() {
                    Ok(())
                } else {
                    Err("/readyz is not 200".into())
                }
            },
        );
    }

    /// `wandb_operator_leader` is 1.
    pub fn leading(&self) -> bool {
        self.metrics()
            .ok()
            .and_then(|m| m.value("wandb_operator_leader", &[]))
            == Some(1.0)
    }

    /// Waits until it leads; panics (with its log) if it does not within
    /// `timeout` or if it exits.
    pub fn wait_leading(&mut self, timeout: Duration) -> Duration {
        let start = Instant::now();
        loop {
            if self.leading() {
                return start.elapsed();
            }
            if !self.running() {
                panic!(
                    "operator '{}' exited ({:?}) before leading:\n{}",
                    self.identity,
                    self.exit,
                    self.log_tail(60)
                );
            }
            if start.elapsed() > timeout {
                panic!(
                    "operator '{}' did not lead within {:.0} s:\n{}",
                    self.identity,
                    timeout.as_secs_f64(),
                    self.log_tail(60)
                );
            }
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// Sends a signal (`TERM`, `KILL`, ...) with kill(1).
    pub fn signal(&mut self, signal: &str) {
        if !self.running() {
            return;
        }
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(pid.to_string())
                .status();
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited after `grace`. Returns
    /// its exit status and how long it took to exit.
    pub fn stop(&mut self, grace: Duration) -> (Option<ExitStatus>, Duration) {
        let start = Instant::now();
        self.signal("TERM");
        while self.running() && start.elapsed() < grace {
            thread::sleep(Duration::from_millis(50));
        }
        if self.running() {
            eprintln!(
                "[e2e] operator '{}' still runs {:.0} s after SIGTERM; killing it",
                self.identity,
                grace.as_secs_f64()
            );
            if let Some(child) = self.child.as_mut() {
                let _ = child.kill();
                self.exit = child.wait().ok();
            }
            self.child = None;
        }
        (self.exit, start.elapsed())
    }

    /// SIGKILL: a crash, with no chance to release the lease.
    pub fn kill(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            self.exit = child.wait().ok();
        }
        self.child = None;
    }

    /// Its log so far ("" if there is none).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last `lines` lines of its log.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = self.log_text();
        let count = text.lines().count().min(lines);
        format!(
            "--- last {count} lines of {} ---\n{}",
            self.log.display(),
            indent(&last_lines(&text, lines), "  ")
        )
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        if self.running() {
            let (status, took) = self.stop(Duration::from_secs(15));
            eprintln!(
                "[e2e] operator '{}' stopped in {:.1} s ({})",
                self.identity,
                took.as_secs_f64(),
                status.map_or("killed".to_string(), |s| s.to_string())
            );
        }
        if let Some(mut w) = self.watchdog.take() {
            let _ = w.kill();
            let _ = w.wait();
        }
        if thread::panicking() {
            eprintln!("{}", self.log_tail(80));
        }
    }
}

impl Operator {
    /// Like [`Operator::start`], with the scope arguments given (e.g.
    /// `--namespace NS --lease-namespace NS`, or `--all-namespaces
    /// --lease-namespace NS`), and its output appended to `log`, so that
    /// the logs of a restarted operator's earlier runs are kept.
    pub fn start_with(cluster: &Cluster, scope: &[&str], identity: &str, log: &Path) -> Operator {
        Operator::launch(&cluster.kubeconfig, scope, identity, log)
    }

    /// The one launcher: `wandb-operator run SCOPE` as the user of
    /// `kubeconfig`, its output appended to `log`.
    fn launch(kubeconfig: &Path, scope: &[&str], identity: &str, log: &Path) -> Operator {
        let bin = operator_binary_quiet();
        if let Some(dir) = log.parent() {
            std::fs::create_dir_all(dir)
                .unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap_or_else(|e| panic!("opening {}: {e}", log.display()));
        let port = free_port();
        let mut cmd = Command::new(&bin);
        cmd.arg("run")
            .args(scope)
            .arg("--metrics-addr")
            .arg(format!("127.0.0.1:{port}"))
            .args(["--log-format", "text"])
            .env("KUBECONFIG", kubeconfig)
            .env("POD_NAME", identity)
            .env("NO_COLOR", "1")
            .env(
                "RUST_LOG",
                std::env::var("WANDB_E2E_OPERATOR_LOG")
                    .unwrap_or_else(|_| "info,kube=warn,wandb_operator_core=debug".into()),
            )
            .env_remove("WATCH_NAMESPACE")
            .env_remove("POD_NAMESPACE")
            .stdin(Stdio::null())
            .stdout(file.try_clone().expect("log file"))
            .stderr(file);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", bin.display()));
        let pid = child.id();
        let watchdog = {
            let script = r#"while kill -0 "$1" 2>/dev/null; do kill -0 "$2" 2>/dev/null || exit 0; sleep 1; done; kill -9 "$2" 2>/dev/null"#;
            let mut w = Command::new("sh");
            w.args(["-c", script, "e2e-operator-watchdog"])
                .arg(std::process::id().to_string())
                .arg(pid.to_string())
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            std::os::unix::process::CommandExt::process_group(&mut w, 0);
            w.spawn().ok()
        };
        eprintln!(
            "[e2e] started operator '{identity}' (pid {pid}, metrics 127.0.0.1:{port}, log {})",
            log.display()
        );
        Operator {
            identity: identity.into(),
            port,
            log: log.to_path_buf(),
            service_account: None,
            child: Some(child),
            watchdog,
            exit: None,
        }
    }

    /// Its memory and CPU time so far, from /proc (`None` once it exited).
    pub fn usage(&self) -> Option<ProcUsage> {
        self.pid().and_then(proc_usage)
    }
}
