//! `wandb-operator run` on the host, as the chart's ServiceAccount.

use super::*;

/// `wandb-operator run` on the host, as the chart's ServiceAccount.
pub struct OperatorRun {
    pub child: Option<Child>,
    pub watchdog: Option<Child>,
    pub log: PathBuf,
    pub sa: String,
}

impl OperatorRun {
    /// Starts the operator for namespace `ns` with a token of the chart's
    /// ServiceAccount `<release>-operator`.
    pub fn start(cluster: &Cluster, ns: &str, work: &Path) -> OperatorRun {
        OperatorRun::start_as(cluster, ns, work, &format!("{RELEASE}-operator"))
    }

    /// The same with the ServiceAccount `sa` (of another release's name).
    pub fn start_as(cluster: &Cluster, ns: &str, work: &Path, sa: &str) -> OperatorRun {
        let kubeconfig = sa_kubeconfig(cluster, ns, sa, work);
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let log = work.join(format!("operator-{ns}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let mut cmd = Command::new(wandb_e2e::operator_binary_quiet());
        cmd.args(["run", "--namespace", ns, "--lease-namespace", ns])
            .args(["--metrics-addr", &format!("127.0.0.1:{port}")])
            .args(["--log-format", "text"])
            .env("KUBECONFIG", &kubeconfig)
            .env("POD_NAME", format!("e2e-chart-{}", std::process::id()))
            .env_remove("POD_NAMESPACE")
            .env_remove("WATCH_NAMESPACE")
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file);
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd.spawn().expect("starting wandb-operator");
        // Should this test process die without unwinding, stop the operator.
        let script = r#"while kill -0 "$1" 2>/dev/null; do kill -0 "$2" 2>/dev/null || exit 0; sleep 1; done; kill -TERM "$2""#;
        let mut wd = Command::new("sh");
        wd.args(["-c", script, "e2e-operator-watchdog"])
            .arg(std::process::id().to_string())
            .arg(child.id().to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut wd, 0);
        eprintln!(
            "[chart] operator started (pid {}, as ServiceAccount {ns}/{sa}, metrics on 127.0.0.1:{port})",
            child.id()
        );
        OperatorRun {
            child: Some(child),
            watchdog: wd.spawn().ok(),
            log,
            sa: format!("{ns}/{sa}"),
        }
    }

    pub fn log_text(&self) -> String {
        plain(&std::fs::read_to_string(&self.log).unwrap_or_default())
    }

    /// Log lines where the API server refused the operator something.
    pub fn denied(&self, log: &str) -> Vec<String> {
        // Not "Forbidden" alone: the API server says it of an immutable
        // field too, when the operator replaces a StatefulSet.
        log.lines()
            .filter(|l| {
                l.contains("Unauthorized")
                    || ((l.contains("forbidden") || l.contains("Forbidden"))
                        && !l.contains("replacing"))
            })
            .map(|l| l.chars().take(600).collect())
            .collect()
    }

    /// Fails the test if the operator was denied anything so far.
    pub fn assert_not_denied(&self) -> usize {
        let denied = self.denied(&self.log_text());
        assert!(
            denied.is_empty(),
            "the chart's RBAC is not enough: the operator (ServiceAccount {}) was denied:\n{}",
            self.sa,
            denied.join("\n")
        );
        denied.len()
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let pid = child.id().to_string();
            let _ = Command::new("kill").args(["-TERM", &pid]).status();
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(15) {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                thread::sleep(Duration::from_millis(100));
            }
            if let Ok(None) = child.try_wait() {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
        if let Some(mut wd) = self.watchdog.take() {
            let _ = wd.kill();
            let _ = wd.wait();
        }
    }
}

impl Drop for OperatorRun {
    fn drop(&mut self) {
        self.stop();
        if thread::panicking() {
            eprintln!(
                "[chart] last lines of the operator's log ({}):\n{}",
                self.log.display(),
                indent(&last_lines(&self.log_text(), 40), "  ")
            );
        }
    }
}
