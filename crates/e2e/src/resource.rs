//! The WeightsAndBiases resource of a suite's install: its manifest,
//! applying it, reading it back, its conditions; and the cluster a suite's
//! test starts with.

use std::time::Duration;

use serde_json::{Value, json};

use crate::{Cluster, int, operator_binary, text, wait_for};

/// A fresh cluster `<prefix>-<test>` with namespace `ns` (PodSecurity
/// `restricted`).
pub fn restricted_cluster(prefix: &str, test: &str, ns: &str) -> Cluster {
    // The binary first: building it (if missing) should not count as test time.
    operator_binary();
    let cluster = Cluster::up(&format!("{prefix}-{test}"));
    cluster.restricted_namespace(ns);
    cluster
}

/// The resource `ns/name` with these values, as JSON for `kubectl apply`.
pub fn resource_manifest(ns: &str, name: &str, values: &Value) -> String {
    json!({
        "apiVersion": "apps.wandb.com/v1",
        "kind": "WeightsAndBiases",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"values": values},
    })
    .to_string()
}

/// The resource's spec set to these values, as `kubectl apply` does it.
pub fn apply_resource(cluster: &Cluster, ns: &str, name: &str, values: &Value) {
    cluster.kubectl_ok(
        &["apply", "-f", "-"],
        Some(&resource_manifest(ns, name, values)),
    );
}

/// The resource as the API has it now.
pub fn get_resource(cluster: &Cluster, ns: &str, name: &str) -> Value {
    cluster.get_json(&["-n", ns, "weightsandbiases", name])
}

/// The resource's status conditions.
pub fn conditions(res: &Value) -> Vec<Value> {
    res.pointer("/status/conditions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

pub fn condition(res: &Value, type_: &str) -> Option<Value> {
    conditions(res).into_iter().find(|c| c["type"] == type_)
}

/// A condition's status, `(absent)` without it.
pub fn condition_status(res: &Value, type_: &str) -> String {
    condition(res, type_).map_or("(absent)".into(), |c| text(&c, "/status").to_string())
}

/// The status describes the current spec.
pub fn observed(res: &Value) -> bool {
    res.pointer("/status/observedGeneration").is_some()
        && int(res, "/status/observedGeneration") == int(res, "/metadata/generation")
}

/// Waits until `kind/name` in `ns` has a uid other than `old`: the object
/// was made again after a deletion. Returns the new uid and how long it took.
#[track_caller]
pub fn wait_recreated(
    cluster: &Cluster,
    ns: &str,
    kind: &str,
    name: &str,
    old: &str,
    what: &str,
    timeout: Duration,
) -> (String, Duration) {
    wait_for(what, timeout, Duration::from_millis(100), || {
        match uid_in(cluster, ns, kind, name) {
            Some(uid) if uid != old => Ok(uid),
            Some(_) => Err("the old object is still there".into()),
            None => Err("absent".into()),
        }
    })
}

/// The uid of an object in `ns`, `None` if it does not exist or is being
/// deleted.
pub fn uid_in(cluster: &Cluster, ns: &str, kind: &str, name: &str) -> Option<String> {
    let out = cluster.kubectl(
        &[
            "-n",
            ns,
            "get",
            kind,
            name,
            "-o",
            "json",
            "--ignore-not-found",
        ],
        None,
        Duration::from_secs(20),
    );
    let v: Value = serde_json::from_str(&out.stdout).ok()?;
    if v.pointer("/metadata/deletionTimestamp").is_some() {
        return None;
    }
    Some(text(&v, "/metadata/uid").to_string()).filter(|u| !u.is_empty())
}
