//! The suite's cluster with its real node, the chart installed on it once,
//! and what the tests read off the operator's pods.

use std::process::Command;
use std::sync::OnceLock;

use super::*;

pub const NS: &str = "wandb";
pub const RELEASE: &str = "wandb";
pub const DEPLOYMENT: &str = "wandb-operator";
pub const OPERATOR_PODS: &str =
    "app.kubernetes.io/name=wandb-operator,app.kubernetes.io/instance=wandb";
/// hack/node/node.sh: the node's name, its taint and label, its base image.
pub const NODE: &str = "wandb-real-node";
pub const NODE_TAINT: &str = "wandb-operator.local/real-node";
pub const BASE_IMAGE: &str = "wandb-operator.local/node-base:1";

/// The suite's cluster, with the chart installed and Ready, and how long
/// that took.
pub struct RealNode {
    pub cluster: Cluster,
    pub work: WorkDir,
    /// From `helm install` to the operator pod Ready, and to the
    /// WeightsAndBiases resource Ready.
    pub pod_ready_after: Duration,
    pub install_ready_after: Duration,
}

/// The suite's real node, set up by the first test that asks; `None` (after
/// printing `skipped:` and the reason) on a machine that cannot run one.
pub fn real_node(test: &str) -> Option<&'static RealNode> {
    static NODE: OnceLock<Result<RealNode, String>> = OnceLock::new();
    match NODE.get_or_init(set_up) {
        Ok(node) => Some(node),
        Err(why) => {
            println!("skipped: {test}: no real node on this machine: {why}");
            None
        }
    }
}

fn set_up() -> Result<RealNode, String> {
    let image = operator_image();
    let cluster = Cluster::up_with_real_node("real-node")?;
    let t0 = Instant::now();
    cluster.load_image(&image);
    eprintln!(
        "[e2e] {} loaded into the node's containerd in {}",
        image.display(),
        secs(t0.elapsed())
    );
    let work = WorkDir::new("real-node");
    restricted_namespace(&cluster, NS);
    let values = work.0.join("values.yaml");
    let values_json = json!({
        "global": {"host": HOST, "license": LICENSE},
        "operator": {
            "nodeSelector": {NODE_TAINT: "true"},
            "tolerations": [{"key": NODE_TAINT, "operator": "Exists", "effect": "NoSchedule"}],
        },
    });
    std::fs::write(&values, values_json.to_string())
        .unwrap_or_else(|e| panic!("{}: {e}", values.display()));
    let t0 = Instant::now();
    let values_arg = values.display().to_string();
    Helm::V3.ok(
        &work.0,
        Some(&cluster.kubeconfig),
        &[
            "install",
            RELEASE,
            "charts/operator-wandb",
            "-n",
            NS,
            "-f",
            &values_arg,
        ],
    );
    wait_for(
        "the operator pod Ready on the real node",
        Duration::from_secs(180),
        Duration::from_millis(100),
        || ready_operator_pods(&cluster, 1).map(|_| ()),
    );
    let pod_ready_after = t0.elapsed();
    wait_for(
        "the WeightsAndBiases resource Ready",
        Duration::from_secs(300),
        Duration::from_millis(200),
        || install_ready(&cluster),
    );
    let install_ready_after = t0.elapsed();
    Ok(RealNode {
        cluster,
        work,
        pod_ready_after,
        install_ready_after,
    })
}

/// `$WANDB_OPERATOR_IMAGE` (hack/test sets it to the archive that
/// hack/image wrote), else the archive hack/image writes now.
fn operator_image() -> PathBuf {
    if let Some(path) = std::env::var_os("WANDB_OPERATOR_IMAGE") {
        let path = PathBuf::from(path);
        assert!(
            path.is_file(),
            "WANDB_OPERATOR_IMAGE={} is not a file",
            path.display()
        );
        return path;
    }
    let out = repo_root().join("target/image");
    let mut cmd = Command::new(repo_root().join("hack/image"));
    cmd.arg("--out").arg(&out);
    let built = run(cmd, None, Duration::from_secs(1800));
    built.assert_success();
    let version = env!("CARGO_PKG_VERSION");
    out.join(format!("wandb-operator-{version}.tar"))
}

/// A namespace whose pods must meet PodSecurity `restricted`.
pub fn restricted_namespace(cluster: &Cluster, ns: &str) {
    namespace(cluster, ns, "restricted");
}

/// A namespace with PodSecurity `level` enforced.
pub fn namespace(cluster: &Cluster, ns: &str, level: &str) {
    let manifest = json!({
        "apiVersion": "v1",
        "kind": "Namespace",
        "metadata": {"name": ns, "labels": {
            "pod-security.kubernetes.io/enforce": level,
            "pod-security.kubernetes.io/enforce-version": "latest",
        }},
    });
    cluster.kubectl_ok(&["apply", "-f", "-"], Some(&manifest.to_string()));
}

/// The operator's pods, oldest first.
pub fn operator_pods(cluster: &Cluster) -> Vec<Value> {
    let list: Value = serde_json::from_str(&cluster.kubectl_ok(
        &["get", "pods", "-n", NS, "-l", OPERATOR_PODS, "-o", "json"],
        None,
    ))
    .unwrap_or_else(|e| panic!("kubectl get pods printed no JSON: {e}"));
    let mut pods = list["items"].as_array().cloned().unwrap_or_default();
    pods.sort_by(|a, b| {
        text(a, "/metadata/creationTimestamp").cmp(text(b, "/metadata/creationTimestamp"))
    });
    pods
}

pub fn is_ready(pod: &Value) -> bool {
    condition_status(pod, "Ready") == "True" && pod["metadata"]["deletionTimestamp"].is_null()
}

/// `count` operator pods, all Ready on the real node and none going away.
pub fn ready_operator_pods(cluster: &Cluster, count: usize) -> Result<Vec<Value>, String> {
    let pods = operator_pods(cluster);
    let seen = || {
        pods.iter()
            .map(|p| {
                format!(
                    "{} on {:?}: {}",
                    name(p),
                    text(p, "/spec/nodeName"),
                    describe_pod(p)
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    if pods.len() != count || !pods.iter().all(is_ready) {
        return Err(format!("{} pods: {}", pods.len(), seen()));
    }
    for pod in &pods {
        assert_eq!(
            text(pod, "/spec/nodeName"),
            NODE,
            "an operator pod off the real node: {}",
            seen()
        );
    }
    Ok(pods)
}

/// A pod's phase and why its containers wait or ended, for messages.
pub fn describe_pod(pod: &Value) -> String {
    let mut out = text(pod, "/status/phase").to_string();
    for status in pod["status"]["containerStatuses"]
        .as_array()
        .into_iter()
        .flatten()
    {
        for (state, detail) in status["state"].as_object().into_iter().flatten() {
            let reason = text(detail, "/reason");
            let message = text(detail, "/message");
            out.push_str(&format!(" [{state} {reason} {message}]"));
        }
    }
    out
}

pub fn name(object: &Value) -> &str {
    text(object, "/metadata/name")
}

/// The WeightsAndBiases resource is Ready, or what its Ready says.
pub fn install_ready(cluster: &Cluster) -> Result<(), String> {
    let resource = cluster
        .get_if_exists(&["weightsandbiases", RELEASE, "-n", NS])
        .ok_or("no WeightsAndBiases resource yet")?;
    match condition_status(&resource, "Ready").as_str() {
        "True" => Ok(()),
        other => Err(format!(
            "Ready {other}: {}",
            wandb_e2e::condition(&resource, "Ready")
                .map(|c| text(&c, "/message").to_string())
                .unwrap_or_default()
        )),
    }
}

/// The holder of the operator's leader Lease.
pub fn leader(cluster: &Cluster) -> String {
    cluster
        .get_if_exists(&["lease", "wandb-operator-leader", "-n", NS])
        .map(|lease| text(&lease, "/spec/holderIdentity").to_string())
        .unwrap_or_default()
}

/// The Lease's duration, in seconds.
pub fn lease_duration(cluster: &Cluster) -> Duration {
    let lease = cluster.get_json(&["lease", "wandb-operator-leader", "-n", NS]);
    let seconds = lease["spec"]["leaseDurationSeconds"].as_u64().unwrap_or(0);
    assert!(
        seconds > 0,
        "the leader Lease has no leaseDurationSeconds: {lease}"
    );
    Duration::from_secs(seconds)
}

/// The kubelet's figures of one container (its stats summary, through the
/// API server's node proxy): RSS and working set, in MiB.
pub fn container_memory(cluster: &Cluster, pod: &str, container: &str) -> Option<(f64, f64)> {
    let raw = cluster.kubectl_ok(
        &[
            "get",
            "--raw",
            &format!("/api/v1/nodes/{NODE}/proxy/stats/summary"),
        ],
        None,
    );
    let summary: Value = serde_json::from_str(&raw).ok()?;
    let pod = summary["pods"]
        .as_array()?
        .iter()
        .find(|p| p["podRef"]["name"] == pod)?;
    let stats = pod["containers"]
        .as_array()?
        .iter()
        .find(|c| c["name"] == container)?;
    let mib = |key: &str| stats["memory"][key].as_f64().map(|b| b / 1048576.0);
    Some((mib("rssBytes")?, mib("workingSetBytes")?))
}

/// `kubectl ARGS`, streamed line by line until dropped.
pub fn stream(cluster: &Cluster, args: &[&str]) -> Lines {
    let mut cmd = Command::new(wandb_e2e::kubectl_bin());
    cmd.arg("--kubeconfig").arg(&cluster.kubeconfig).args(args);
    Lines::spawn(cmd)
}

/// Reports how long a test took (its share of the suite's set-up aside)
/// when dropped, also when it fails.
pub struct Took(&'static str, Instant);

impl Took {
    pub fn new(test: &'static str) -> Took {
        Took(test, Instant::now())
    }
}

impl Drop for Took {
    fn drop(&mut self) {
        report(format!(
            "real node: {} took {}",
            self.0,
            secs(self.1.elapsed())
        ));
    }
}
