//! 4. Two replicas: only the leader writes.

use super::*;

/// Two replicas with different identities started at the same moment:
/// exactly one leads; through an install, an upgrade and a repair the
/// standby makes no API request and no reconcile; the managed objects are
/// applied by the `wandb-operator` manager only. Then the leader stops,
/// the other takes over, a fresh standby starts, and the same holds again.
#[test]
fn two_replicas_only_the_leader_writes() {
    let _serial = serial();
    let t0 = Instant::now();
    let rounds = if full_run() { 4 } else { 2 };
    let cluster = cluster("replicas");
    let dir = log_dir("replicas");
    let _ = std::fs::remove_dir_all(&dir);
    let start = |identity: &str| {
        Operator::start_with(
            &cluster,
            &[
                "--namespace",
                cluster.ns(),
                "--lease-namespace",
                cluster.ns(),
            ],
            identity,
            &dir.join(format!("{identity}.log")),
        )
    };
    // Both at once, before there is a lease.
    let (a, b) = thread::scope(|s| {
        let a = s.spawn(|| start("e2e-operator-a"));
        let b = s.spawn(|| start("e2e-operator-b"));
        (a.join().unwrap(), b.join().unwrap())
    });
    let mut ops: BTreeMap<String, Operator> = BTreeMap::new();
    ops.insert(a.identity.clone(), a);
    ops.insert(b.identity.clone(), b);
    let (leader, took) = wait_for(
        "one of two replicas started together leads",
        Duration::from_secs(60),
        POLL,
        || {
            let leading: Vec<&String> = ops
                .iter()
                .filter(|(_, o)| o.leading())
                .map(|(n, _)| n)
                .collect();
            match leading.as_slice() {
                [one] => Ok((*one).clone()),
                [] => Err("none leads".into()),
                more => panic!("more than one leads: {more:?}"),
            }
        },
    );
    report(format!(
        "replicas: two started together -> {leader} leads after {}",
        secs(took)
    ));
    cluster.wait_established("crd/weightsandbiases.apps.wandb.com");
    let mut leader = leader;
    let mut next = 0;
    let upgrades = upgrades();
    let mut baseline = Data::default();
    let mut installed = false;
    for round in 0..rounds {
        let standby = ops
            .keys()
            .find(|n| **n != leader)
            .cloned()
            .expect("a standby");
        let values = if installed {
            upgrades[round % upgrades.len()].1.clone()
        } else {
            base_values()
        };
        let (r0, q0) = counters(&ops[&leader]);
        // One leader throughout, while the install changes.
        let sampling = std::sync::atomic::AtomicBool::new(true);
        let (c, samples) = thread::scope(|s| {
            let sampler = s.spawn(|| {
                let mut samples = 0;
                while sampling.load(std::sync::atomic::Ordering::Relaxed) {
                    let l = ops[&leader].leading();
                    let st = ops[&standby].leading();
                    assert!(
                        l && !st,
                        "round {round}: leader {leader} leading {l}, standby {standby} leading {st}"
                    );
                    let holder = text(
                        &cluster.get_json(&["-n", cluster.ns(), "lease", "wandb-operator-leader"]),
                        "/spec/holderIdentity",
                    )
                    .to_string();
                    assert_eq!(holder, leader, "round {round}: the lease holder");
                    samples += 1;
                    thread::sleep(Duration::from_millis(500));
                }
                samples
            });
            apply(&cluster, &values);
            let what = format!("round {}: {leader} leads", round + 1);
            let c = converged(&cluster, &what, &values, &baseline);
            let deploy = "wandb-console-bc";
            let repaired = format!("{what}: {deploy} repaired");
            delete_and_wait_repair(&cluster, "deployment", deploy, &repaired);
            let c2 = converged(
                &cluster,
                &format!("{what}: after a repair"),
                &values,
                &baseline,
            );
            sampling.store(false, std::sync::atomic::Ordering::Relaxed);
            let samples = sampler.join().expect("sampler");
            (Converged { took: c.took, ..c2 }, samples)
        });
        if !installed {
            baseline = c.data.clone();
            installed = true;
        }
        let (r1, q1) = counters(&ops[&leader]);
        let sm = ops[&standby].metrics().expect("metrics of the standby");
        let standby_requests = sm.sum("wandb_operator_api_requests_total", &[]);
        let standby_reconciles = sm.sum("wandb_operator_reconciles_total", &[]);
        let standby_leader = sm.value("wandb_operator_leader", &[]).unwrap_or(0.0);
        let managers = Snapshot::take(&cluster, Some(cluster.ns())).managers(cluster.ns(), NAME);
        let appliers: BTreeSet<&str> = managers
            .keys()
            .filter_map(|m| m.strip_prefix("Apply "))
            .collect();
        report(format!(
            "replicas round {}: leader {leader} made {} reconciles and {} API requests; standby {standby}: \
             {standby_reconciles} reconciles, {standby_requests} API requests, leader gauge {standby_leader}; \
             {samples} samples with one leader and the lease held by it; managers of the managed objects: {managers:?}",
            round + 1,
            r1 - r0,
            q1 - q0
        ));
        assert_eq!(standby_requests, 0.0, "the standby made API requests");
        assert_eq!(standby_reconciles, 0.0, "the standby reconciled");
        assert_eq!(standby_leader, 0.0);
        assert!(r1 > r0 && q1 > q0, "the leader did nothing");
        assert_eq!(
            appliers,
            BTreeSet::from(["wandb-operator"]),
            "managers that applied managed objects: {managers:?}"
        );
        assert!(c.workloads.deployments > 0);

        // Hand over: the leader stops, the standby takes over, a fresh standby starts.
        if round + 1 < rounds {
            let mut old = ops.remove(&leader).unwrap();
            let (status, _) = old.stop(Duration::from_secs(15));
            assert!(status.is_some_and(|s| s.success()), "{leader}: {status:?}");
            let (_, took) = wait_for(
                &format!("{standby} takes over"),
                Duration::from_secs(30),
                POLL,
                || {
                    if ops[&standby].leading() {
                        Ok(())
                    } else {
                        Err("not leading".into())
                    }
                },
            );
            next += 1;
            let fresh = format!("e2e-operator-{}", (b'c' + next as u8 - 1) as char);
            let f = start(&fresh);
            f.wait_ready(Duration::from_secs(60));
            report(format!(
                "replicas: {leader} stopped (SIGTERM, lease released) -> {standby} leads {} later; {fresh} stands by",
                secs(took)
            ));
            ops.insert(fresh, f);
            leader = standby;
        }
    }
    report(format!(
        "test two_replicas_only_the_leader_writes: {} ({rounds} rounds)",
        secs(t0.elapsed())
    ));
}
