//! A test's cluster and its resources: the values, applying them, the
//! upgrades the tests go through; the operator's counters, an install's phase.

use super::*;

pub fn log_dir(test: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e-faults")
        .join(test)
}

/// The test's namespace, named after it (PodSecurity `restricted`), on the
/// suite's cluster.
pub fn cluster(test: &str) -> Tenant {
    Tenant::new("e2e-fault", test)
}

/// min / median / max of some durations.
pub fn spread(ds: &[Duration]) -> String {
    if ds.is_empty() {
        return "-".into();
    }
    let mut v = ds.to_vec();
    v.sort();
    format!(
        "min {} / median {} / max {}",
        secs(v[0]),
        secs(v[v.len() / 2]),
        secs(v[v.len() - 1])
    )
}

/// `base` with `patch` merged in (objects merged key by key).
pub fn with(patch: Value) -> Value {
    fn merge(into: &mut Value, from: Value) {
        match (into, from) {
            (Value::Object(a), Value::Object(b)) => {
                for (k, v) in b {
                    merge(a.entry(k).or_insert(Value::Null), v);
                }
            }
            (slot, v) => *slot = v,
        }
    }
    let mut v = base_values();
    merge(&mut v, patch);
    v
}

/// The resource in a namespace: `wandb` in the test's own, else named after
/// its namespace (cluster-wide objects are named after the resource, so
/// two installs of one name in two namespaces conflict).
pub fn name_in<'a>(cluster: &Tenant, ns: &'a str) -> &'a str {
    if ns == cluster.ns() { NAME } else { ns }
}

/// The resource's spec set to these values, as `kubectl apply` does it.
pub fn apply(cluster: &Tenant, values: &Value) {
    apply_in(cluster, cluster.ns(), values);
}

pub fn apply_in(cluster: &Tenant, ns: &str, values: &Value) {
    apply_resource(cluster, ns, name_in(cluster, ns), values);
}

pub fn resource(cluster: &Tenant) -> Value {
    get_resource(cluster, cluster.ns(), NAME)
}

/// The upgrades the fault tests go through, in turn: a size change, an
/// image tag change, a component turned off, and back to the start.
pub fn upgrades() -> Vec<(&'static str, Value)> {
    vec![
        (
            "global.size=medium",
            with(json!({"global": {"size": "medium"}})),
        ),
        (
            "global.size=medium app.image.tag=0.99.0-e2e",
            with(json!({"global": {"size": "medium"}, "app": {"image": {"tag": "0.99.0-e2e"}}})),
        ),
        (
            "global.size=medium weave.install=false",
            with(json!({"global": {"size": "medium"}, "weave": {"install": false}})),
        ),
        ("the default values", base_values()),
    ]
}

/// The uid of an object, `None` if absent or being deleted.
pub fn uid_of(cluster: &Tenant, kind: &str, name: &str) -> Option<String> {
    uid_in(cluster, cluster.ns(), kind, name)
}

/// Deletes `kind/name` by hand (not waiting for it to go) and waits until
/// the operator has made it again, `REPAIR_BOUND` at most; returns how long
/// after the deletion that was.
pub fn delete_and_wait_repair(cluster: &Tenant, kind: &str, name: &str, what: &str) -> Duration {
    let old = uid_of(cluster, kind, name).unwrap_or_else(|| panic!("{kind}/{name} does not exist"));
    let deleted = Instant::now();
    cluster.kubectl_ok(
        &["-n", cluster.ns(), "delete", kind, name, "--wait=false"],
        None,
    );
    wait_recreated(cluster, cluster.ns(), kind, name, &old, what, REPAIR_BOUND);
    deleted.elapsed()
}

/// The operator's counters: reconciles, API requests (all verbs).
pub fn counters(op: &Operator) -> (f64, f64) {
    match op.metrics() {
        Ok(m) => (
            m.sum("wandb_operator_reconciles_total", &[]),
            m.sum("wandb_operator_api_requests_total", &[]),
        ),
        Err(_) => (0.0, 0.0),
    }
}

/// A short description of where an install is, for the kill log.
pub fn phase(cluster: &Tenant) -> String {
    phase_in(cluster, cluster.ns())
}

pub fn phase_in(cluster: &Tenant, ns: &str) -> String {
    let out = cluster.kubectl(
        &[
            "-n",
            ns,
            "get",
            "weightsandbiases",
            name_in(cluster, ns),
            "-o",
            "json",
        ],
        None,
        Duration::from_secs(20),
    );
    let Ok(res) = serde_json::from_str::<Value>(&out.stdout) else {
        return "no resource".into();
    };
    let ready = condition(&res, "Ready")
        .map(|c| {
            if c["status"] == "True" {
                "Ready".to_string()
            } else {
                text(&c, "/message")
                    .split(':')
                    .next()
                    .unwrap_or("")
                    .to_string()
            }
        })
        .unwrap_or_else(|| "no status".into());
    format!(
        "gen {}/{} {ready}",
        int(&res, "/status/observedGeneration"),
        int(&res, "/metadata/generation")
    )
}
