//! A test's cluster and operator, and its resource: applied, patched, read,
//! waited for until Ready.

use super::*;

pub fn log_dir(test: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e-operator")
        .join(test)
}

/// The test's namespace, named after it (PodSecurity `restricted`), on the
/// suite's cluster: the operators a test starts watch that namespace alone.
pub fn cluster(test: &str) -> Tenant {
    Tenant::new("e2e-op", test)
}

/// An operator for namespace `wandb` (its lease there too), once it leads.
/// Locals drop in reverse order: declare it after the cluster, so that it
/// stops before the cluster goes down.
pub fn operator(cluster: &Tenant, test: &str, identity: &str) -> Operator {
    let mut op = Operator::start(cluster, cluster.ns(), identity, &log_dir(test));
    let took = op.wait_leading(Duration::from_secs(60));
    eprintln!(
        "[e2e] operator '{identity}' leads after {:.1} s",
        took.as_secs_f64()
    );
    // It applied its CRD before leading; make sure the API serves it.
    cluster.wait_established("crd/weightsandbiases.apps.wandb.com");
    op
}

pub fn manifest(cluster: &Tenant, values: &Value) -> String {
    resource_manifest(cluster.ns(), NAME, values)
}

/// `kubectl apply` of the resource with these values.
pub fn apply(cluster: &Tenant, values: &Value) {
    apply_resource(cluster, cluster.ns(), NAME, values);
}

/// A merge patch of the resource's spec.
pub fn patch_spec(cluster: &Tenant, spec: Value) {
    let patch = json!({ "spec": spec }).to_string();
    cluster.kubectl_ok(
        &[
            "-n",
            cluster.ns(),
            "patch",
            "wandb",
            NAME,
            "--type=merge",
            "-p",
            &patch,
        ],
        None,
    );
}

/// `weave.install` of the resource set to `install` by a merge patch.
pub fn set_weave(cluster: &Tenant, install: bool) {
    patch_spec(cluster, json!({"values": {"weave": {"install": install}}}));
}

pub fn resource(cluster: &Tenant) -> Value {
    get_resource(cluster, cluster.ns(), NAME)
}

pub fn summary(res: &Value) -> String {
    let mut s = format!(
        "generation {}, observedGeneration {}; ",
        int(res, "/metadata/generation"),
        int(res, "/status/observedGeneration")
    );
    for c in conditions(res) {
        if c["status"] != "True" || c["type"] == "Ready" || c["type"] == "ValuesValid" {
            s += &format!(
                "{}={} ({}); ",
                text(&c, "/type"),
                text(&c, "/status"),
                text(&c, "/message")
            );
        }
    }
    s
}

/// Waits until the status describes the current spec and Ready is True.
pub fn wait_reconciled_ready(cluster: &Tenant, what: &str, timeout: Duration) -> Duration {
    wait_for(what, timeout, Duration::from_millis(250), || {
        let res = resource(cluster);
        if observed(&res) && condition_status(&res, "Ready") == "True" {
            Ok(())
        } else {
            Err(summary(&res))
        }
    })
    .1
}

/// Creates the resource with the default values and waits (with `kubectl
/// wait`) until it is Ready.
pub fn install(cluster: &Tenant) -> Duration {
    let start = Instant::now();
    apply(cluster, &base_values());
    let timeout = format!("--timeout={}s", READY_TIMEOUT.as_secs());
    let out = cluster.kubectl(
        &[
            "-n",
            cluster.ns(),
            "wait",
            "--for=condition=Ready",
            "wandb/wandb",
            &timeout,
        ],
        None,
        READY_TIMEOUT + Duration::from_secs(30),
    );
    assert!(
        out.success(),
        "`kubectl wait --for=condition=Ready wandb/wandb` failed ({}):\n{}{}\nstatus: {}",
        out.describe_status(),
        out.stdout,
        out.stderr,
        summary(&resource(cluster))
    );
    let took = start.elapsed();
    eprintln!(
        "[e2e] WeightsAndBiases/{NAME} Ready {:.1} s after creation",
        took.as_secs_f64()
    );
    took
}

/// The uid of an object, `None` if it does not exist (or is being deleted).
pub fn uid_of(cluster: &Tenant, kind: &str, name: &str) -> Option<String> {
    uid_in(cluster, cluster.ns(), kind, name)
}
