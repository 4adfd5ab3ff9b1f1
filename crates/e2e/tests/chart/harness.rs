//! Files, processes, polling, and access to the cluster.

use super::*;

pub fn kubectl_bin() -> PathBuf {
    cache_dir().join("bin/kubectl")
}

pub fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

pub fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// Polls `check` until it gives a value; panics with the last message after `timeout`.
pub fn wait_until<T>(
    what: &str,
    timeout: Duration,
    check: impl FnMut() -> Result<T, String>,
) -> (T, Duration) {
    try_wait_until(timeout, check).unwrap_or_else(|last| {
        panic!(
            "{what}: not within {} s; last seen: {last}",
            timeout.as_secs()
        )
    })
}

/// Polls `check` until it gives a value, or gives its last message after `timeout`.
pub fn try_wait_until<T>(
    timeout: Duration,
    mut check: impl FnMut() -> Result<T, String>,
) -> Result<(T, Duration), String> {
    let start = Instant::now();
    loop {
        match check() {
            Ok(v) => return Ok((v, start.elapsed())),
            Err(last) if start.elapsed() >= timeout => return Err(last),
            Err(_) => thread::sleep(POLL),
        }
    }
}

/// The garbage collector's complaints, from the cluster's controller-manager log.
pub fn gc_log(cluster: &Cluster) -> String {
    let log = cache_dir()
        .join("clusters")
        .join(&cluster.name)
        .join("logs/kube-controller-manager.log");
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("garbage")).collect();
    lines[lines.len().saturating_sub(15)..].join("\n")
}

pub fn kubectl(cluster: &Cluster, args: &[&str]) -> Output {
    cluster.kubectl(args, None, Duration::from_secs(60))
}

/// `kubectl get ARGS -o json`; `None` when the object does not exist.
pub fn get(cluster: &Cluster, args: &[&str]) -> Option<Value> {
    let mut all = vec!["get"];
    all.extend_from_slice(args);
    all.extend(["-o", "json"]);
    let out = kubectl(cluster, &all);
    if !out.success() {
        assert!(
            out.stderr.contains("NotFound") || out.stderr.contains("not found"),
            "{}:\n{}",
            out.describe_status(),
            out.stderr
        );
        return None;
    }
    Some(serde_json::from_str(&out.stdout).expect("kubectl printed JSON"))
}

pub fn items(list: &Value) -> Vec<Value> {
    list["items"].as_array().cloned().unwrap_or_default()
}

/// A kubeconfig for ServiceAccount `sa` of `ns`: the cluster's address and
/// CA from the admin kubeconfig, and a token of the ServiceAccount.
pub fn sa_kubeconfig(cluster: &Cluster, ns: &str, sa: &str, dir: &Path) -> PathBuf {
    let token = cluster.kubectl_ok(&["-n", ns, "create", "token", sa, "--duration=2h"], None);
    let view = |path: &str| {
        cluster.kubectl_ok(
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
    std::fs::write(&file, config).unwrap();
    file
}
