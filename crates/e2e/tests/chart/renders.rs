//! What `wandb-operator render` makes and what the cluster has of it.

use super::*;

/// The (kind, name) of every object `wandb-operator render ARGS` prints,
/// test pods left out: what the operator applies.
pub fn rendered(args: &[&str], ns: &str) -> BTreeMap<String, wandb_e2e::Document> {
    let mut all = args.to_vec();
    all.extend(["--namespace", ns, "--skip-tests"]);
    wandb_e2e::render(&wandb_e2e::operator_binary_quiet(), &all)
        .documents()
        .into_iter()
        .map(|d| (d.id(), d))
        .collect()
}

/// The live objects the operator manages for the release, by `Kind/name`.
pub fn managed(cluster: &Cluster, ns: &str, kinds: &BTreeSet<String>) -> BTreeMap<String, Value> {
    let kinds: Vec<&str> = kinds.iter().map(String::as_str).collect();
    let list = cluster
        .get_if_exists(&[
            "-n",
            ns,
            &kinds.join(","),
            "-l",
            &format!("{INSTANCE_LABEL}={RELEASE}"),
        ])
        .unwrap();
    items(&list)
        .into_iter()
        .map(|i| {
            (
                format!("{}/{}", text(&i, "/kind"), text(&i, "/metadata/name")),
                i,
            )
        })
        .collect()
}

/// A rendered object as JSON (kubectl converts it).
pub fn as_json(cluster: &Cluster, doc: &wandb_e2e::Document) -> Value {
    let out = cluster.kubectl_ok(
        &["create", "--dry-run=client", "-o", "json", "-f", "-"],
        Some(&doc.yaml),
    );
    serde_json::from_str(&out).unwrap()
}

pub fn resources(deployment: &Value) -> Vec<(String, Value)> {
    deployment
        .pointer("/spec/template/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| (text(c, "/name").to_string(), c["resources"].clone()))
        .collect()
}

pub fn summary(line: String) {
    eprintln!("[chart] SUMMARY {line}");
}
