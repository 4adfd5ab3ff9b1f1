//! 5. A burst of updates converges to the last.

use super::*;

/// How many times the operator has applied a Deployment.
fn deployments_applied(op: &Operator) -> f64 {
    op.metrics()
        .map(|m| {
            m.sum(
                "wandb_operator_objects_applied_total",
                &[("kind", "Deployment")],
            )
        })
        .unwrap_or(0.0)
}

/// The resource updated N times as fast as kubectl goes (replicas 1..3 and
/// an env value that changes each time): it converges to the last spec,
/// with observedGeneration == generation and a sane number of rollouts.
#[test]
fn a_burst_of_updates_converges_to_the_last() {
    let _serial = serial();
    let t0 = Instant::now();
    let updates = if full_run() { 50 } else { 20 };
    let cluster = cluster("burst");
    let mut op = Supervised::new(&cluster, "burst", "e2e-operator");
    op.start_leading();
    apply(&cluster, &base_values());
    let baseline = converged(&cluster, "install", &base_values(), &Data::default()).data;
    let deploy = "wandb-app-bc";
    let revision_before = revision(&cluster, deploy);
    let generation_before = int(&resource(&cluster), "/metadata/generation");
    let (reconciles_before, requests_before) = counters(op.op());
    let applied_before = deployments_applied(op.op());
    let values_of = |i: usize| {
        with(json!({"app": {"replicaCount": 1 + i % 3, "extraEnv": {"E2E_STEP": i.to_string()}}}))
    };
    let start = Instant::now();
    for i in 1..=updates {
        apply(&cluster, &values_of(i));
    }
    let sent = start.elapsed();
    let last = values_of(updates);
    let res = resource(&cluster);
    assert_eq!(
        int(&res, "/metadata/generation"),
        generation_before + updates as i64,
        "every update is a new generation"
    );
    let c = converged(&cluster, "after the burst", &last, &baseline);
    let res = resource(&cluster);
    assert_eq!(
        int(&res, "/status/observedGeneration"),
        int(&res, "/metadata/generation")
    );
    let live = cluster.get_json(&["-n", cluster.ns(), "deployment", deploy]);
    assert_eq!(int(&live, "/spec/replicas"), 1 + (updates % 3) as i64);
    let env: Vec<String> = live["spec"]["template"]["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|c| c["env"].as_array().cloned().unwrap_or_default())
        .filter(|e| e["name"] == "E2E_STEP")
        .map(|e| text(&e, "/value").to_string())
        .collect();
    assert!(
        !env.is_empty() && env.iter().all(|v| *v == updates.to_string()),
        "E2E_STEP of {deploy}: {env:?}"
    );
    let rollouts = revision(&cluster, deploy) - revision_before;
    let sets = replica_sets(&cluster, deploy);
    let (reconciles, requests) = counters(op.op());
    let applied = deployments_applied(op.op());
    assert!(
        (1..=updates as i64).contains(&rollouts),
        "{rollouts} rollouts of {deploy} for {updates} updates"
    );
    report(format!(
        "burst: {updates} updates sent in {} ({:.1}/s); converged to the last (generation {}) {} after the last; \
         Deployment/{deploy}: {rollouts} rollouts, {} ReplicaSets, {} Deployment applies; {} reconciles, {} API requests; {}",
        secs(sent),
        updates as f64 / sent.as_secs_f64(),
        int(&res, "/metadata/generation"),
        secs(c.took),
        sets.len(),
        applied - applied_before,
        reconciles - reconciles_before,
        requests - requests_before,
        c.workloads.describe()
    ));
    report(format!(
        "test a_burst_of_updates_converges_to_the_last: {}",
        secs(t0.elapsed())
    ));
}
