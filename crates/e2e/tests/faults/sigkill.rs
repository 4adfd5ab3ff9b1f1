//! 1. The operator SIGKILLed at random points during installs and upgrades.

use super::*;

/// The operator SIGKILLed at random points, restarted, again and again:
/// during installs (each kill a random 0-3 s into a fresh install, in a
/// namespace of its own, while the earlier ones go on), then during
/// upgrades of one install (each kill 0-3 s after a spec change). After
/// each series every install converges, its generated Secrets never change
/// (checked after every kill too), no object is duplicated, every
/// Deployment of a fresh install was rolled out once and no Deployment has
/// more ReplicaSets than the specs it went through.
#[test]
fn sigkill_during_install_and_upgrade() {
    let _serial = serial();
    let t0 = Instant::now();
    let kills = if full_run() { 20 } else { 5 };
    // A cluster of its own: its operator watches every namespace, and would
    // take the other tests' installs on a shared cluster for its own.
    let cluster = Tenant::alone("e2e-fault", "kill", NS);
    let installs: Vec<String> = (1..=kills).map(|i| format!("install-{i:02}")).collect();
    for ns in &installs {
        cluster.restricted_namespace(ns);
    }
    let mut rng = Rng::seeded("sigkill");
    let mut op = Supervised::new(&cluster, "kill", "e2e-operator");
    op.scope = ["--all-namespaces", "--lease-namespace", cluster.ns()]
        .map(String::from)
        .to_vec();
    op.start_leading();

    // Kills during installs.
    let install_start = Instant::now();
    let mut seen: BTreeMap<&str, Data> = BTreeMap::new();
    let mut points = Vec::new();
    let mut startup = Vec::new();
    for (i, ns) in installs.iter().enumerate() {
        if i > 0 {
            startup.push(
                op.op
                    .as_mut()
                    .unwrap()
                    .wait_leading(Duration::from_secs(60)),
            );
        }
        apply_in(&cluster, ns, &base_values());
        let delay = rng.duration(Duration::from_secs(3));
        thread::sleep(delay);
        let (reconciles, requests) = counters(op.op());
        op.kill();
        let at = phase_in(&cluster, ns);
        let snap = Snapshot::take(&cluster, None);
        for ns in &installs[..=i] {
            let changed = seen.entry(ns).or_default().follow(&snap.data(ns));
            assert!(
                changed.is_empty(),
                "kill {} during installs: the data of {ns} changed:\n{}",
                i + 1,
                indent(&changed.join("\n"), "  ")
            );
        }
        points.push(format!(
            "kill {} {} into the install of {ns} ({reconciles} reconciles, {requests} API requests; {at})",
            i + 1,
            secs(delay),
        ));
        op.start();
    }
    let last_restart = Instant::now();
    eprintln!(
        "[e2e] kills during installs:\n{}",
        indent(&points.join("\n"), "  ")
    );
    wait_for(
        "every install converged after the kills",
        CONVERGE_TIMEOUT,
        Duration::from_millis(500),
        || {
            let snap = Snapshot::take(&cluster, None);
            let problems: Vec<String> = installs
                .iter()
                .filter_map(|ns| snap.converged(ns, name_in(&cluster, ns)).err())
                .collect();
            if problems.is_empty() {
                Ok(())
            } else {
                Err(problems.join("; "))
            }
        },
    );
    let all_converged = last_restart.elapsed();
    let mut sets = 0;
    let mut pods = 0;
    let mut objects = 0;
    for ns in &installs {
        let c = converged_in(
            &cluster,
            ns,
            &format!("install {ns} after SIGKILLs"),
            &base_values(),
            &seen[ns.as_str()],
        );
        assert!(
            c.workloads.revisions.values().all(|r| *r == 1)
                && c.workloads.sets.values().all(|n| *n == 1),
            "{ns}: a fresh install's Deployment was rolled out more than once: revisions {:?}, ReplicaSets {:?}",
            c.workloads.revisions,
            c.workloads.sets
        );
        sets += c.workloads.replica_sets;
        pods += c.workloads.pods;
        objects += c.objects;
        seen.insert(ns, c.data);
    }
    report(format!(
        "sigkill install: {kills} kills, each a random 0-3 s into a fresh install ({kills} installs, one per namespace); \
         restarted operator leading after {}; all converged {} after the last restart ({} after the first install); \
         {objects} objects, {sets} ReplicaSets (one per Deployment), {pods} pods; generated secrets unchanged at every kill",
        spread(&startup),
        secs(all_converged),
        secs(install_start.elapsed())
    ));

    // Kills during upgrades of the first install.
    let ns = installs[0].as_str();
    let baseline = seen[ns].clone();
    let upgrades = upgrades();
    let mut points = Vec::new();
    let mut last = base_values();
    for i in 0..kills {
        op.op
            .as_mut()
            .unwrap()
            .wait_leading(Duration::from_secs(60));
        let (what, values) = &upgrades[i % upgrades.len()];
        apply_in(&cluster, ns, values);
        last = values.clone();
        let delay = rng.duration(Duration::from_secs(3));
        thread::sleep(delay);
        let (reconciles, requests) = counters(op.op());
        op.kill();
        let at = phase_in(&cluster, ns);
        let data = Snapshot::take(&cluster, Some(ns)).data(ns);
        let changed = data.changes_since(&baseline);
        assert!(
            changed.is_empty() && data.problems().is_empty(),
            "upgrade, kill {}: the data changed:\n{}{:?}",
            i + 1,
            indent(&changed.join("\n"), "  "),
            data.problems()
        );
        points.push(format!(
            "kill {} {} after {what} ({reconciles} reconciles, {requests} API requests; {at})",
            i + 1,
            secs(delay),
        ));
        op.start();
    }
    let last_restart = Instant::now();
    eprintln!(
        "[e2e] kills during upgrades of {ns}:\n{}",
        indent(&points.join("\n"), "  ")
    );
    let upgraded = converged_in(&cluster, ns, "upgrades after SIGKILLs", &last, &baseline);
    let since_restart = last_restart.elapsed();
    // A Deployment has at most as many pod templates as there were specs.
    let most = upgrades.len();
    let worst = upgraded.workloads.sets.values().max().copied().unwrap_or(0);
    assert!(
        worst <= most,
        "a Deployment has more ReplicaSets than {most} specs explain: {:?}",
        upgraded.workloads.sets
    );
    // The other installs were left alone.
    for other in &installs[1..] {
        converged_in(
            &cluster,
            other,
            &format!("{other} after the upgrades of {ns}"),
            &base_values(),
            &seen[other.as_str()],
        );
    }
    report(format!(
        "sigkill upgrade: {kills} kills, each a random 0-3 s after a spec change of {ns} (cycling through {} specs: \
         size, image tag, a component off, back); converged to the last spec {} after the last restart \
         (all checks done {} after it); {} objects, {}, ReplicaSets per Deployment at most {worst}, \
         revisions {:?}; generated secrets and volumes unchanged",
        upgrades.len(),
        secs(upgraded.took),
        secs(since_restart),
        upgraded.objects,
        upgraded.workloads.describe(),
        upgraded.workloads.revisions
    ));
    report(format!(
        "test sigkill_during_install_and_upgrade: {} ({} operator starts)",
        secs(t0.elapsed()),
        op.starts
    ));
}
