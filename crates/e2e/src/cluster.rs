//! A local control plane for one test (`hack/cluster`), and kubectl against it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread::{self};
use std::time::{Duration, Instant};

use crate::*;

/// How long a plain kubectl call may take.
pub const KUBECTL_TIMEOUT: Duration = Duration::from_secs(60);
/// How long `hack/cluster up` may take. It runs `hack/cluster install`
/// first, which builds the control plane on a fresh machine (~5 min).
pub const CLUSTER_UP_TIMEOUT: Duration = Duration::from_secs(1200);
/// How long `hack/cluster down` may take (15 s of SIGTERM grace per process).
pub const CLUSTER_DOWN_TIMEOUT: Duration = Duration::from_secs(120);

/// A cluster started with `hack/cluster up` for one test; dropping it runs
/// `hack/cluster down`.
pub struct Cluster {
    pub name: String,
    pub kubeconfig: PathBuf,
    kubectl: PathBuf,
    script: PathBuf,
    watchdog: Option<Child>,
}

impl Cluster {
    /// Starts cluster `<prefix>-<pid>` and waits until it is ready. The
    /// returned guard takes it down when dropped (also while a failing test
    /// unwinds). Panics if the cluster does not come up (after taking down
    /// what was started).
    pub fn up(prefix: &str) -> Cluster {
        Self::up_with(prefix, &[])
    }

    /// [`Cluster::up`] on which kwok leaves Helm's bare hook and test pods
    /// Running: the test plays their kubelet (hack/kwok/stages-hooks.yaml).
    pub fn up_with_hook_pods_played_by_the_test(prefix: &str) -> Cluster {
        Self::up_with(prefix, &[("WANDB_CLUSTER_HOOK_PODS", "manual")])
    }

    /// [`Cluster::up`] with a real node beside kwok's (hack/node/node.sh): a
    /// kubelet with containerd and runc, kube-proxy and a CNI bridge. `Err`
    /// says why this machine cannot run one (`hack/cluster up` exits 3).
    pub fn up_with_real_node(prefix: &str) -> Result<Cluster, String> {
        let mut cmd = Command::new(repo_root().join("hack/cluster"));
        cmd.arg("node-check");
        let out = run(cmd, None, CLUSTER_UP_TIMEOUT);
        if out.status.and_then(|s| s.code()) == Some(3) {
            return Err(out.stdout.trim().to_string());
        }
        out.assert_success();
        Ok(Self::up_with(prefix, &[("WANDB_CLUSTER_REAL_NODE", "1")]))
    }

    /// An image archive (docker-archive or OCI) into the real node's
    /// containerd, so that its pods start without a registry.
    pub fn load_image(&self, archive: &Path) {
        let mut cmd = Command::new(&self.script);
        cmd.arg("load").arg(&self.name).arg(archive);
        let out = run(cmd, None, KUBECTL_TIMEOUT);
        assert!(
            out.success(),
            "`hack/cluster load {} {}`: {}\n{}",
            self.name,
            archive.display(),
            out.describe_status(),
            out.stderr
        );
    }

    fn up_with(prefix: &str, env: &[(&str, &str)]) -> Cluster {
        let name = format!("{prefix}-{}", std::process::id());
        let script = repo_root().join("hack/cluster");
        let mut cluster = Cluster {
            kubeconfig: PathBuf::new(),
            kubectl: kubectl_bin(),
            watchdog: None,
            name,
            script,
        };
        cluster.watchdog = cluster.start_watchdog();
        eprintln!("[e2e] starting cluster '{}'", cluster.name);
        let mut cmd = Command::new(&cluster.script);
        cmd.args(["up", &cluster.name]).envs(env.iter().copied());
        // From here on, a panic drops `cluster`, which runs `down`.
        let out = run(cmd, None, CLUSTER_UP_TIMEOUT);
        assert!(
            out.success(),
            "cluster '{}' did not come up ({}):\n{}",
            cluster.name,
            out.describe_status(),
            out.stderr
        );
        let kubeconfig = out.stdout.lines().last().unwrap_or_default().trim();
        cluster.kubeconfig = PathBuf::from(kubeconfig);
        assert!(
            cluster.kubeconfig.is_file(),
            "`hack/cluster up` printed no kubeconfig path as its last line:\n{}",
            out.stdout
        );
        assert!(
            cluster.kubectl.is_file(),
            "kubectl is not at {} after `hack/cluster up`",
            cluster.kubectl.display()
        );
        eprintln!(
            "[e2e] cluster '{}' is up in {:.1} s; KUBECONFIG={}",
            cluster.name,
            out.elapsed.as_secs_f64(),
            cluster.kubeconfig.display()
        );
        cluster
    }

    /// A process in its own process group (so Ctrl-C in the terminal does
    /// not reach it) that waits for this test process to end and then takes
    /// the cluster down: the safety net for when Drop does not run.
    fn start_watchdog(&self) -> Option<Child> {
        let script = r#"while kill -0 "$1" 2>/dev/null; do sleep 1; done; exec "$2" down "$3""#;
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script, "e2e-watchdog"])
            .arg(std::process::id().to_string())
            .arg(&self.script)
            .arg(&self.name)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        match cmd.spawn() {
            Ok(child) => Some(child),
            Err(e) => {
                eprintln!("[e2e] no watchdog for cluster '{}': {e}", self.name);
                None
            }
        }
    }

    /// Runs kubectl against this cluster with a timeout (also passed on as
    /// `--request-timeout`).
    pub fn kubectl(&self, args: &[&str], stdin: Option<&str>, timeout: Duration) -> Output {
        run(
            self.kubectl_cmd(args, timeout),
            stdin.map(str::as_bytes),
            timeout,
        )
    }

    /// [`Cluster::kubectl`] with stdout and stderr in one stream, in order.
    pub fn kubectl_merged(&self, args: &[&str], stdin: Option<&str>, timeout: Duration) -> Output {
        run_merged(
            self.kubectl_cmd(args, timeout),
            stdin.map(str::as_bytes),
            timeout,
        )
    }

    /// Runs kubectl and returns its stdout; panics with its stderr if it fails.
    pub fn kubectl_ok(&self, args: &[&str], stdin: Option<&str>) -> String {
        let out = self.kubectl(args, stdin, KUBECTL_TIMEOUT);
        out.assert_success();
        out.stdout
    }

    /// `kubectl get ... -o json --show-managed-fields`, parsed.
    pub fn get_json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--show-managed-fields");
        self.get_if_exists(&all)
            .unwrap_or_else(|| panic!("`kubectl get {}`: not found", all.join(" ")))
    }

    /// `kubectl get ... -o json`, parsed; `None` when the object does not
    /// exist. Panics if kubectl fails otherwise.
    pub fn get_if_exists(&self, args: &[&str]) -> Option<serde_json::Value> {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend(["-o", "json"]);
        let out = self.kubectl(&all, None, KUBECTL_TIMEOUT);
        if !out.success() {
            assert!(
                out.stderr.contains("NotFound") || out.stderr.contains("not found"),
                "{}:\n{}",
                out.describe_status(),
                out.stderr
            );
            return None;
        }
        let json = serde_json::from_str(&out.stdout)
            .unwrap_or_else(|e| panic!("`kubectl {}` printed no JSON: {e}", all.join(" ")));
        Some(json)
    }

    fn kubectl_cmd(&self, args: &[&str], timeout: Duration) -> Command {
        let mut cmd = Command::new(&self.kubectl);
        cmd.arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .arg(format!("--request-timeout={}s", timeout.as_secs().max(1)))
            .args(args);
        cmd
    }

    /// Installs the CRDs in a fixture file and waits until all are Established.
    pub fn install_crds(&self, file: &Path) {
        let yaml =
            std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        let names: Vec<String> = split_documents(&yaml)
            .into_iter()
            .filter(|d| d.kind == "CustomResourceDefinition")
            .map(|d| format!("crd/{}", d.name))
            .collect();
        self.kubectl_ok(&["apply", "--server-side", "-f", "-"], Some(&yaml));
        for name in &names {
            self.wait_established(name);
        }
        eprintln!("[e2e] CRDs Established: {}", names.join(", "));
    }

    /// Waits until a CRD (`crd/<name>`) is Established. Polled: `kubectl
    /// wait --for=condition=Established` fails at once on a CRD just
    /// created, which has no conditions yet.
    pub fn wait_established(&self, crd: &str) {
        let jsonpath = r#"jsonpath={.status.conditions[?(@.type=="Established")].status}"#;
        crate::wait_for(
            &format!("{crd} Established"),
            Duration::from_secs(60),
            Duration::from_millis(200),
            || {
                let out =
                    self.kubectl(&["get", crd, "-o", jsonpath], None, Duration::from_secs(10));
                match out.stdout.trim() {
                    "True" if out.success() => Ok(()),
                    _ => Err(format!("{}{}", out.stdout, out.stderr)),
                }
            },
        );
    }

    /// A kubeconfig for ServiceAccount `sa` of `ns`, written into `dir`:
    /// the cluster's address and CA from the admin kubeconfig, and a token
    /// of the ServiceAccount, so that its RBAC is all a client has.
    pub fn service_account_kubeconfig(&self, ns: &str, sa: &str, dir: &Path) -> PathBuf {
        let token = self.kubectl_ok(&["-n", ns, "create", "token", sa, "--duration=2h"], None);
        let view = |path: &str| {
            self.kubectl_ok(
                &[
                    "config",
                    "view",
                    "--raw",
                    "-o",
                    &format!("jsonpath={{{path}}}"),
                ],
                None,
            )
        };
        let server = view(".clusters[0].cluster.server");
        let ca = view(".clusters[0].cluster.certificate-authority-data");
        let file = dir.join(format!("{ns}-{sa}.kubeconfig"));
        let config = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: {server}\n    \
             certificate-authority-data: {ca}\nusers:\n- name: {sa}\n  user:\n    token: {}\n\
             contexts:\n- name: c\n  context:\n    cluster: c\n    user: {sa}\n    namespace: {ns}\n\
             current-context: c\n",
            token.trim()
        );
        std::fs::write(&file, config).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        file
    }

    /// Creates namespace `ns` with PodSecurity `restricted` enforced and
    /// warned about, and waits for its `default` ServiceAccount (the
    /// ServiceAccount admission plugin rejects pods until it exists).
    pub fn restricted_namespace(&self, ns: &str) {
        let manifest = format!(
            "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels:\n    \
             pod-security.kubernetes.io/enforce: restricted\n    \
             pod-security.kubernetes.io/warn: restricted\n"
        );
        self.kubectl_ok(&["apply", "--server-side", "-f", "-"], Some(&manifest));
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let out = self.kubectl(
                &["-n", ns, "get", "serviceaccount", "default", "-o", "name"],
                None,
                Duration::from_secs(10),
            );
            if out.success() {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "namespace {ns}: ServiceAccount default not created within 60 s: {}",
                out.stderr
            );
            thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        eprintln!("[e2e] taking down cluster '{}'", self.name);
        let mut cmd = Command::new(&self.script);
        cmd.args(["down", &self.name]);
        let out = run(cmd, None, CLUSTER_DOWN_TIMEOUT);
        // No panic here: Drop may run while a failed test unwinds.
        if out.success() {
            eprintln!(
                "[e2e] cluster '{}' is down ({:.1} s)",
                self.name,
                out.elapsed.as_secs_f64()
            );
            if let Some(mut w) = self.watchdog.take() {
                let _ = w.kill();
                let _ = w.wait();
            }
        } else {
            // The watchdog stays and tries again once this process exits.
            eprintln!(
                "[e2e] ERROR: taking down cluster '{}' failed ({}):\n{}",
                self.name,
                out.describe_status(),
                out.stderr
            );
        }
    }
}

impl Cluster {
    /// hack/cluster's state directory of this cluster (logs, pids, ...).
    pub fn state_dir(&self) -> PathBuf {
        cache_dir().join("clusters").join(&self.name)
    }

    /// The pid of a component (`etcd`, `kube-apiserver`,
    /// `kube-controller-manager`, `kube-scheduler`, `kwok`).
    pub fn component_pid(&self, component: &str) -> Option<u32> {
        let file = self
            .state_dir()
            .join("pids")
            .join(format!("{component}.pid"));
        std::fs::read_to_string(file).ok()?.trim().parse().ok()
    }

    /// `hack/cluster restart NAME COMPONENT [--kill] --down SECONDS`: stops
    /// one component (SIGTERM, or SIGKILL with `kill`: a crash), keeps it
    /// down for `down`, starts it again with the same command line and
    /// waits until it is healthy.
    pub fn restart_component(&self, component: &str, kill: bool, down: Duration) -> Output {
        let mut cmd = Command::new(&self.script);
        cmd.args(["restart", &self.name, component]);
        if kill {
            cmd.arg("--kill");
        }
        cmd.arg("--down").arg(down.as_secs().to_string());
        run(cmd, None, down + Duration::from_secs(180))
    }

    /// `kubectl get --raw URL` of a watch, its lines read as they come.
    pub fn watch_raw(&self, url: &str, timeout: Duration) -> Lines {
        let mut cmd = self.kubectl_cmd(&["get", "--raw", url], timeout);
        cmd.stdin(Stdio::null());
        Lines::spawn(cmd)
    }
}
