//! The operator as a kubelet would run it: restarted when it exits or is
//! killed.

use super::*;

/// The operator as a kubelet would run it: restarted when it exits (after
/// a short back-off) or is killed, its runs counted, its log kept across runs.
pub struct Supervised<'a> {
    pub cluster: &'a Tenant,
    /// `--namespace cluster.ns() --lease-namespace cluster.ns()`, or `--all-namespaces ...`.
    pub scope: Vec<String>,
    pub identity: String,
    pub log: PathBuf,
    pub op: Option<Operator>,
    pub starts: usize,
    /// How each run that ended by itself ended: (exit status, last log line of note).
    pub exits: Vec<(String, String)>,
    pub last_exit: Option<Instant>,
}

impl<'a> Supervised<'a> {
    pub fn new(cluster: &'a Tenant, test: &str, identity: &str) -> Supervised<'a> {
        let log = log_dir(test).join(format!("{identity}.log"));
        // A fresh log per test run; the runs of one test go into it in turn.
        let _ = std::fs::remove_file(&log);
        Supervised {
            cluster,
            scope: [
                "--namespace",
                cluster.ns(),
                "--lease-namespace",
                cluster.ns(),
            ]
            .map(String::from)
            .to_vec(),
            identity: identity.into(),
            log,
            op: None,
            starts: 0,
            exits: Vec::new(),
            last_exit: None,
        }
    }

    pub fn start(&mut self) {
        self.starts += 1;
        let scope: Vec<&str> = self.scope.iter().map(String::as_str).collect();
        self.op = Some(Operator::start_with(
            self.cluster,
            &scope,
            &self.identity,
            &self.log,
        ));
    }

    pub fn op(&self) -> &Operator {
        self.op.as_ref().expect("the operator runs")
    }

    /// Starts it and waits until it leads (and the CRD is served).
    pub fn start_leading(&mut self) -> Duration {
        self.start();
        let took = self
            .op
            .as_mut()
            .unwrap()
            .wait_leading(Duration::from_secs(60));
        self.cluster
            .wait_established("crd/weightsandbiases.apps.wandb.com");
        took
    }

    /// SIGKILL: a crash.
    pub fn kill(&mut self) {
        if let Some(mut op) = self.op.take() {
            op.kill();
        }
    }

    /// If it exited by itself: records how, and starts it again once
    /// `backoff` has passed since the exit. True if it had exited.
    pub fn restart_if_exited(&mut self, backoff: Duration) -> bool {
        let exited = match self.op.as_mut() {
            Some(op) => !op.running(),
            None => false,
        };
        if exited {
            let mut op = self.op.take().unwrap();
            let status = op.exit_status().map_or("unknown".into(), |s| s.to_string());
            let text = op.log_text();
            let last = text
                .lines()
                .rev()
                .find(|l| l.contains("ERROR") || l.contains("WARN"))
                .unwrap_or("")
                .to_string();
            eprintln!(
                "[e2e] operator '{}' exited ({status}): {last}",
                self.identity
            );
            self.exits.push((status, last));
            self.last_exit = Some(Instant::now());
        }
        if self.op.is_none()
            && self.last_exit.is_none_or(|t| t.elapsed() >= backoff)
            && self.starts > 0
        {
            self.start();
        }
        exited
    }
}
