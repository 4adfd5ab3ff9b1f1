//! 2. The API server and etcd restarted mid-reconcile.

use super::*;

/// The API server restarted (SIGKILL, started again at once) and etcd
/// stopped for 10 s, each in the middle of a reconcile: the operator rides
/// it out or exits once and is restarted (as a kubelet would, after 2 s),
/// never exits again once the control plane is back, and the install
/// converges; a Deployment deleted afterwards is repaired at once (the
/// watches are live again).
#[test]
fn control_plane_restarts_mid_reconcile() {
    let _serial = serial();
    let t0 = Instant::now();
    // A cluster of its own: the test stops its API server and etcd.
    let cluster = Tenant::alone("e2e-fault", "ctlplane", NS);
    let mut op = Supervised::new(&cluster, "ctlplane", "e2e-operator");
    op.start_leading();
    let upgrades = upgrades();
    // (when, values, component, down)
    let mut rounds: Vec<(String, Value, &str, u64)> = vec![
        ("install".into(), base_values(), "kube-apiserver", 0),
        (
            format!("upgrade to {}", upgrades[0].0),
            upgrades[0].1.clone(),
            "etcd",
            10,
        ),
    ];
    if full_run() {
        rounds.push((
            format!("upgrade to {}", upgrades[1].0),
            upgrades[1].1.clone(),
            "kube-apiserver",
            0,
        ));
        rounds.push((
            format!("upgrade to {}", upgrades[3].0),
            upgrades[3].1.clone(),
            "etcd",
            10,
        ));
    }
    let mut baseline = Data::default();
    for (when, values, component, down) in &rounds {
        // Mid-reconcile: an install applies ~100 objects over a second or
        // two, an upgrade a few in a fraction of one.
        let delay = Duration::from_millis(if when == "install" { 1000 } else { 300 });
        apply(&cluster, values);
        thread::sleep(delay);
        let seen_in = delay;
        let at = phase(&cluster);
        let exits_before = op.exits.len();
        let fault_start = Instant::now();
        let (out, exits_during) = thread::scope(|s| {
            let restart =
                s.spawn(|| cluster.restart_component(component, true, Duration::from_secs(*down)));
            let mut exits = 0;
            while !restart.is_finished() {
                exits += usize::from(op.restart_if_exited(Duration::from_secs(2)));
                thread::sleep(POLL);
            }
            (restart.join().expect("restart thread"), exits)
        });
        assert!(
            out.success(),
            "restarting {component}: {}\n{}",
            out.describe_status(),
            out.stderr
        );
        let back = Instant::now();
        let outage = back - fault_start;
        eprintln!(
            "[e2e] {when}: {component} {} {} into the reconcile ({at}); back after {}; {}",
            if *down > 0 {
                format!("stopped for {down} s")
            } else {
                "restarted".into()
            },
            secs(seen_in),
            secs(outage),
            out.stderr.trim()
        );
        // It converges, restarting the operator should it exit; once the
        // control plane is back it must not exit again.
        let mut exits_after = 0;
        let waiting = Instant::now();
        let (_, took) = wait_for(
            &format!("{when} after {component}: the install converged"),
            CONVERGE_TIMEOUT,
            Duration::from_millis(500),
            || {
                let exited = op.restart_if_exited(Duration::from_secs(2));
                exits_after += usize::from(exited);
                if op.op.is_none() {
                    return Err("the operator is being restarted".into());
                }
                Snapshot::take(&cluster, Some(cluster.ns()))
                    .converged(cluster.ns(), NAME)
                    .map_err(|e| {
                        // The last try before the timeout says where the
                        // rollouts stand (a stuck one: whose pods, where).
                        if waiting.elapsed() + Duration::from_secs(2) < CONVERGE_TIMEOUT {
                            return e;
                        }
                        let wide = cluster.kubectl(
                            &[
                                "-n",
                                cluster.ns(),
                                "get",
                                "deployments,replicasets,pods",
                                "-o",
                                "wide",
                            ],
                            None,
                            Duration::from_secs(20),
                        );
                        format!("{e}\n{}{}", wide.stdout, wide.stderr)
                    })
            },
        );
        let checked = converged(
            &cluster,
            &format!("{when} after {component}"),
            values,
            &baseline,
        );
        if when == "install" {
            baseline = checked.data.clone();
        }
        let exits: Vec<String> = op.exits[exits_before..]
            .iter()
            .map(|(s, l)| format!("{s}: {}", l.trim()))
            .collect();
        // The watches work again: a deletion is repaired at once.
        let deploy = "wandb-console-bc";
        let what = format!("{when} after {component}: Deployment/{deploy} repaired");
        let repaired = delete_and_wait_repair(&cluster, "deployment", deploy, &what);
        converged(
            &cluster,
            &format!("{when} after {component}: after the repair"),
            values,
            &baseline,
        );
        report(format!(
            "control plane: {when}: {component} {} {} into the reconcile ({at}), back {} later; \
             operator exits during the outage {exits_during}, after it {exits_after} {exits:?}; \
             converged {} after {component} was back; {}; a deleted Deployment repaired in {}",
            if *down > 0 {
                format!("stopped {down} s")
            } else {
                "SIGKILLed and restarted".into()
            },
            secs(seen_in),
            secs(outage),
            secs(took),
            checked.workloads.describe(),
            secs(repaired)
        ));
        assert_eq!(
            exits_after, 0,
            "{when}: the operator exited after {component} was back: {exits:?}"
        );
        assert!(
            exits_during <= 1,
            "{when}: the operator exited {exits_during} times during the outage of {component}: {exits:?}"
        );
    }
    report(format!(
        "test control_plane_restarts_mid_reconcile: {} ({} operator starts, exits: {:?})",
        secs(t0.elapsed()),
        op.starts,
        op.exits
    ));
}
