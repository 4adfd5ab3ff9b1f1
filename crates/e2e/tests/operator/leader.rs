//! 7. Leader election: a standby takes over.

use super::*;

fn lease(cluster: &Tenant) -> (String, i64) {
    let l = cluster.get_json(&["-n", cluster.ns(), "lease", "wandb-operator-leader"]);
    (
        text(&l, "/spec/holderIdentity").to_string(),
        int(&l, "/spec/leaseTransitions"),
    )
}

/// Waits until `standby` leads, then until it has made Deployment `deploy`
/// (uid `old`, deleted) again, each within `bound`; returns how long after
/// `since` (the leader's end) each was done.
fn takes_over(
    cluster: &Tenant,
    standby: &Operator,
    deploy: &str,
    old: &str,
    since: Instant,
    bound: Duration,
) -> (Duration, Duration) {
    let who = &standby.identity;
    wait_for(&format!("{who} leads"), bound, POLL, || {
        if standby.leading() {
            Ok(())
        } else {
            Err(format!("{who} not leading; lease {:?}", lease(cluster)))
        }
    });
    let leading = since.elapsed();
    let what = format!("{who} repairs Deployment/{deploy}");
    wait_recreated(
        cluster,
        cluster.ns(),
        "deployment",
        deploy,
        old,
        &what,
        bound,
    );
    (leading, since.elapsed())
}

/// Of two operators, one leads; when it stops, the other takes over and
/// repairs. Then the same after a crash (SIGKILL: the lease must expire).
#[test]
fn a_standby_operator_takes_over() {
    let _serial = serial();
    let t0 = Instant::now();
    let cluster = cluster("leader");
    let mut a = operator(&cluster, "leader", "e2e-operator-a");
    let mut b = Operator::start(&cluster, cluster.ns(), "e2e-operator-b", &log_dir("leader"));
    b.wait_ready(Duration::from_secs(60));
    install(&cluster);

    // One leader at a time, and only the leader reconciles.
    for _ in 0..10 {
        let (la, lb) = (a.leading(), b.leading());
        assert!(la && !lb, "leader metrics: a {la}, b {lb}");
        thread::sleep(Duration::from_millis(500));
    }
    let (holder, transitions) = lease(&cluster);
    assert_eq!(holder, "e2e-operator-a");
    let bm = b.metrics().expect("metrics of b");
    assert_eq!(bm.value("wandb_operator_leader", &[]).unwrap_or(0.0), 0.0);
    assert_eq!(
        bm.sum("wandb_operator_reconciles_total", &[]),
        0.0,
        "the standby reconciled"
    );
    assert!(counters(&a).0 > 0.0, "the leader did not reconcile");
    eprintln!(
        "[e2e] a leads (lease held by {holder}, {transitions} transitions); b stands by with 0 reconciles"
    );

    // The leader stops; the standby takes over and repairs a deletion made meanwhile.
    let deploy = "wandb-console-bc";
    let old = uid_of(&cluster, "deployment", deploy).expect("deployment");
    let stopped = Instant::now();
    let (status, exit_took) = a.stop(Duration::from_secs(15));
    assert!(
        status.is_some_and(|s| s.success()),
        "a did not exit cleanly on SIGTERM: {status:?}"
    );
    cluster.kubectl_ok(&["-n", cluster.ns(), "delete", "deployment", deploy], None);
    let (takeover_since_stop, repaired_since_stop) =
        takes_over(&cluster, &b, deploy, &old, stopped, TAKEOVER_BOUND);
    assert!(
        repaired_since_stop <= TAKEOVER_BOUND,
        "repair took {}",
        secs(repaired_since_stop)
    );
    let (holder, transitions_b) = lease(&cluster);
    assert_eq!(holder, "e2e-operator-b");
    assert!(
        transitions_b > transitions,
        "leaseTransitions {transitions} -> {transitions_b}"
    );
    report(format!(
        "leader: SIGTERM to a -> a exited in {}, b leading {} after SIGTERM, Deployment/{deploy} repaired {} after SIGTERM",
        secs(exit_took),
        secs(takeover_since_stop),
        secs(repaired_since_stop)
    ));
    wait_reconciled_ready(&cluster, "Ready under b", CHANGE_TIMEOUT);

    // A crash: the lease is not released, a new standby waits for it to expire.
    let c = Operator::start(&cluster, cluster.ns(), "e2e-operator-c", &log_dir("leader"));
    c.wait_ready(Duration::from_secs(60));
    assert!(!c.leading(), "c leads while b holds the lease");
    let old = uid_of(&cluster, "deployment", deploy).expect("deployment");
    let killed = Instant::now();
    b.kill();
    cluster.kubectl_ok(&["-n", cluster.ns(), "delete", "deployment", deploy], None);
    let bound = TAKEOVER_BOUND + Duration::from_secs(5);
    let (crash_takeover, crash_repaired) = takes_over(&cluster, &c, deploy, &old, killed, bound);
    assert_eq!(lease(&cluster).0, "e2e-operator-c");
    assert!(
        crash_takeover <= TAKEOVER_BOUND,
        "takeover after a crash took {}",
        secs(crash_takeover)
    );
    report(format!(
        "leader: SIGKILL to b -> c leading {} after the kill (lease of 15 s expired), Deployment/{deploy} repaired {} after the kill",
        secs(crash_takeover),
        secs(crash_repaired)
    ));
    drop(a);
    report(format!(
        "test a_standby_operator_takes_over: {}",
        secs(t0.elapsed())
    ));
}
