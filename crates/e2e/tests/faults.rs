//! Faults (issue 7): the operator killed at random points, the API server
//! and etcd going away mid-reconcile, objects deleted and edited by hand, a
//! foreign field manager fighting over a field, two replicas at once, and
//! a burst of spec changes, each against a local control plane
//! (hack/cluster) with the operator as a subprocess.
//!
//! After each fault the install must converge to its spec (observedGeneration
//! == generation, Ready and every `<Component>Ready` True), its generated
//! Secrets must keep their uid and data (sha256), its volume claims their
//! uid and stay Bound, and no object may be duplicated: exactly the render's
//! objects (plus data kept from earlier specs), one active ReplicaSet per
//! Deployment with exactly its replicas in pods, one pod per Job, nothing
//! whose owner is gone.
//!
//! `WANDB_E2E_FULL=1` runs the long versions (20 kills during install and 20
//! during upgrade, each control-plane fault during an install and an
//! upgrade, 20 s fights, four leader rounds, 50 updates); the default is a
//! shorter version of each that asserts the same properties.
//! `WANDB_E2E_SEED` repeats a run's random kill points. Lines starting with
//! `[e2e] REPORT` are the measurements. Each test starts its own cluster and
//! operators and takes them down at the end, also on failure; the tests run
//! one at a time. Operator logs: `<target>/tmp/e2e-faults/<test>/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wandb_e2e::{
    Cluster, Data, Operator, Rng, Snapshot, Workloads, base_values, expected_objects, full_run,
    indent, int, report, secs, serial, text, wait_for,
};
use wandb_e2e::{apply_resource, get_resource, restricted_cluster, uid_in};

const NS: &str = "wandb";
const NAME: &str = "wandb";
/// How long an install or a change may take to converge after a fault.
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(240);
/// How long the cluster's controllers may take to settle the workloads
/// (garbage collection, rollouts) once the resource is Ready.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);
/// How soon a hand-made change must be set back.
const REPAIR_BOUND: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(100);

// ---------------------------------------------------------------- harness

fn log_dir(test: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e-faults")
        .join(test)
}

fn cluster(test: &str) -> Cluster {
    restricted_cluster("e2e-fault", test, NS)
}

/// min / median / max of some durations.
fn spread(ds: &[Duration]) -> String {
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

// ---------------------------------------------------------------- the resource

/// `base` with `patch` merged in (objects merged key by key).
fn with(patch: Value) -> Value {
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

/// The resource in a namespace: `wandb` in the main one, else named after
/// its namespace (cluster-wide objects are named after the resource, so
/// two installs of one name in two namespaces conflict).
fn name_in(ns: &str) -> &str {
    if ns == NS { NAME } else { ns }
}

/// The resource's spec set to these values, as `kubectl apply` does it.
fn apply(cluster: &Cluster, values: &Value) {
    apply_in(cluster, NS, values);
}

fn apply_in(cluster: &Cluster, ns: &str, values: &Value) {
    apply_resource(cluster, ns, name_in(ns), values);
}

fn resource(cluster: &Cluster) -> Value {
    get_resource(cluster, NS, NAME)
}

/// The upgrades the fault tests go through, in turn: a size change, an
/// image tag change, a component turned off, and back to the start.
fn upgrades() -> Vec<(&'static str, Value)> {
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

// ---------------------------------------------------------------- the operator

/// The operator as a kubelet would run it: restarted when it exits (after
/// a short back-off) or is killed, its runs counted, its log kept across runs.
struct Supervised<'a> {
    cluster: &'a Cluster,
    /// `--namespace NS --lease-namespace NS`, or `--all-namespaces ...`.
    scope: Vec<String>,
    identity: String,
    log: PathBuf,
    op: Option<Operator>,
    starts: usize,
    /// How each run that ended by itself ended: (exit status, last log line of note).
    exits: Vec<(String, String)>,
    last_exit: Option<Instant>,
}

impl<'a> Supervised<'a> {
    fn new(cluster: &'a Cluster, test: &str, identity: &str) -> Supervised<'a> {
        let log = log_dir(test).join(format!("{identity}.log"));
        // A fresh log per test run; the runs of one test go into it in turn.
        let _ = std::fs::remove_file(&log);
        Supervised {
            cluster,
            scope: ["--namespace", NS, "--lease-namespace", NS]
                .map(String::from)
                .to_vec(),
            identity: identity.into(),
            log,
            op: None,
            starts: 0,
            exits: Vec::new(),
            last_exit: None,
        }
    }

    fn start(&mut self) {
        self.starts += 1;
        let scope: Vec<&str> = self.scope.iter().map(String::as_str).collect();
        self.op = Some(Operator::start_with(
            self.cluster,
            &scope,
            &self.identity,
            &self.log,
        ));
    }

    fn op(&self) -> &Operator {
        self.op.as_ref().expect("the operator runs")
    }

    /// Starts it and waits until it leads (and the CRD is served).
    fn start_leading(&mut self) -> Duration {
        self.start();
        let took = self
            .op
            .as_mut()
            .unwrap()
            .wait_leading(Duration::from_secs(60));
        self.cluster
            .wait_established("crd/weightsandbiases.apps.wandb.com");
        took
    }

    /// SIGKILL: a crash.
    fn kill(&mut self) {
        if let Some(mut op) = self.op.take() {
            op.kill();
        }
    }

    /// If it exited by itself: records how, and starts it again once
    /// `backoff` has passed since the exit. True if it had exited.
    fn restart_if_exited(&mut self, backoff: Duration) -> bool {
        let exited = match self.op.as_mut() {
            Some(op) => !op.running(),
            None => false,
        };
        if exited {
            let mut op = self.op.take().unwrap();
            let status = op.exit_status().map_or("unknown".into(), |s| s.to_string());
            let text = std::fs::read_to_string(&op.log).unwrap_or_default();
            let last = text
                .lines()
                .rev()
                .find(|l| l.contains("ERROR") || l.contains("WARN"))
                .unwrap_or("")
                .to_string();
            eprintln!(
                "[e2e] operator '{}' exited ({status}): {last}",
                self.identity
            );
            self.exits.push((status, last));
            self.last_exit = Some(Instant::now());
        }
        if self.op.is_none()
            && self.last_exit.is_none_or(|t| t.elapsed() >= backoff)
            && self.starts > 0
        {
            self.start();
        }
        exited
    }
}

// ---------------------------------------------------------------- checks

/// What the checks after a fault found.
struct Converged {
    /// From the start of the wait until the resource was converged.
    took: Duration,
    workloads: Workloads,
    objects: usize,
    data: Data,
}

/// After a fault: waits until the install has converged to `values`, then
/// until the cluster's controllers have settled its workloads with no
/// object duplicated, and checks its data against `baseline`.
fn converged(cluster: &Cluster, what: &str, values: &Value, baseline: &Data) -> Converged {
    converged_in(cluster, NS, what, values, baseline)
}

fn converged_in(
    cluster: &Cluster,
    ns: &str,
    what: &str,
    values: &Value,
    baseline: &Data,
) -> Converged {
    let name = name_in(ns);
    let expected = expected_objects(values, name, ns);
    let (_, took) = wait_for(
        &format!("{what}: the install converged"),
        CONVERGE_TIMEOUT,
        Duration::from_millis(500),
        || Snapshot::take(cluster, Some(ns)).converged(ns, name),
    );
    let ((objects, workloads), _) = wait_for(
        &format!("{what}: exactly the render's objects, the workloads settled"),
        SETTLE_TIMEOUT,
        Duration::from_secs(1),
        || {
            let s = Snapshot::take(cluster, Some(ns));
            s.converged(ns, name)?;
            let objects = s.duplicates(ns, name, &expected, true)?;
            let workloads = s.workloads(ns, name)?;
            Ok((objects, workloads))
        },
    );
    let data = Snapshot::take(cluster, Some(ns)).data(ns);
    let mut problems = data.problems();
    problems.extend(data.changes_since(baseline));
    assert!(
        problems.is_empty(),
        "{what}: the data changed:\n{}before: {}\nafter:  {}",
        indent(&problems.join("\n"), "  "),
        baseline.describe(),
        data.describe()
    );
    eprintln!(
        "[e2e] {what}: converged in {}; {objects} objects, {}; {}",
        secs(took),
        workloads.describe(),
        data.describe()
    );
    Converged {
        took,
        workloads,
        objects,
        data,
    }
}

/// The uid of an object, `None` if absent or being deleted.
fn uid_of(cluster: &Cluster, kind: &str, name: &str) -> Option<String> {
    uid_in(cluster, NS, kind, name)
}

/// The operator's counters: reconciles, API requests (all verbs).
fn counters(op: &Operator) -> (f64, f64) {
    match op.metrics() {
        Ok(m) => (
            m.sum("wandb_operator_reconciles_total", &[]),
            m.sum("wandb_operator_api_requests_total", &[]),
        ),
        Err(_) => (0.0, 0.0),
    }
}

/// A short description of where an install is, for the kill log.
fn phase(cluster: &Cluster) -> String {
    phase_in(cluster, NS)
}

fn phase_in(cluster: &Cluster, ns: &str) -> String {
    let out = cluster.kubectl(
        &[
            "-n",
            ns,
            "get",
            "weightsandbiases",
            name_in(ns),
            "-o",
            "json",
        ],
        None,
        Duration::from_secs(20),
    );
    let Ok(res) = serde_json::from_str::<Value>(&out.stdout) else {
        return "no resource".into();
    };
    let ready = res
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| cs.iter().find(|c| c["type"] == "Ready"))
        .map(|c| {
            if c["status"] == "True" {
                "Ready".to_string()
            } else {
                text(c, "/message")
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

// ---------------------------------------------------------------- 1. SIGKILL

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
    let cluster = cluster("kill");
    let installs: Vec<String> = (1..=kills).map(|i| format!("install-{i:02}")).collect();
    for ns in &installs {
        cluster.restricted_namespace(ns);
    }
    let mut rng = Rng::seeded("sigkill");
    let mut op = Supervised::new(&cluster, "kill", "e2e-operator");
    op.scope = ["--all-namespaces", "--lease-namespace", NS]
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
                .filter_map(|ns| snap.converged(ns, name_in(ns)).err())
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

// ---------------------------------------------------------------- 2. control plane

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
    let cluster = cluster("ctlplane");
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
                Snapshot::take(&cluster, Some(NS))
                    .converged(NS, NAME)
                    .map_err(|e| {
                        // The last try before the timeout says where the
                        // rollouts stand (a stuck one: whose pods, where).
                        if waiting.elapsed() + Duration::from_secs(2) < CONVERGE_TIMEOUT {
                            return e;
                        }
                        let wide = cluster.kubectl(
                            &[
                                "-n",
                                NS,
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
        let old = uid_of(&cluster, "deployment", deploy).expect("the console Deployment");
        let deleted = Instant::now();
        cluster.kubectl_ok(
            &["-n", NS, "delete", "deployment", deploy, "--wait=false"],
            None,
        );
        wait_for(
            &format!("{when} after {component}: Deployment/{deploy} repaired"),
            REPAIR_BOUND,
            POLL,
            || match uid_of(&cluster, "deployment", deploy) {
                Some(uid) if uid != old => Ok(()),
                other => Err(format!("uid {other:?}")),
            },
        );
        let repaired = deleted.elapsed();
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

// ---------------------------------------------------------------- 3. by hand

/// Waits until `check` holds, `bound` at most; returns how long it took.
fn until(what: &str, bound: Duration, mut check: impl FnMut() -> Result<(), String>) -> Duration {
    wait_for(what, bound, POLL, &mut check).1
}

/// The first managed object of a kind (by name), preferring `prefer`.
fn pick(cluster: &Cluster, kind: &str, prefer: &str) -> String {
    let list = cluster.get_json(&[
        "-n",
        NS,
        kind,
        "-l",
        &format!("{}={NAME}", wandb_e2e::INSTANCE_LABEL),
    ]);
    let names: Vec<String> = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| text(o, "/metadata/name").to_string())
        .collect();
    if names.iter().any(|n| n == prefer) {
        return prefer.into();
    }
    names
        .into_iter()
        .min()
        .unwrap_or_else(|| panic!("no managed {kind}"))
}

/// A field fight's watch events on one object: (when, value of the field).
fn field_timeline(
    lines: &[(Instant, String)],
    value: impl Fn(&Value) -> String,
) -> Vec<(Instant, String)> {
    let mut out: Vec<(Instant, String)> = Vec::new();
    for (at, line) in lines {
        let Ok(e) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if e["type"] != "MODIFIED" && e["type"] != "ADDED" {
            continue;
        }
        let v = value(&e["object"]);
        if out.last().is_none_or(|(_, last)| *last != v) {
            out.push((*at, v));
        }
    }
    out
}

/// Who fights over what: the Deployment, the intruder's apply and the
/// field's value as the operator and as the intruder set it.
struct Sides<'a> {
    deploy: &'a str,
    intruder: &'a str,
    ours: &'a str,
    theirs: &'a str,
}

/// One fight: the intruder applies its value every second for `length`;
/// returns (intruder writes, times it was set back, time at the operator's
/// value as a share of the fight, median set-back latency).
fn fight(
    cluster: &Cluster,
    what: &str,
    sides: Sides,
    value: impl Fn(&Value) -> String,
    length: Duration,
) -> (usize, usize, f64, Vec<Duration>) {
    let Sides {
        deploy,
        intruder,
        ours,
        theirs,
    } = sides;
    let live = cluster.get_json(&["-n", NS, "deployment", deploy]);
    let rv = text(&live, "/metadata/resourceVersion").to_string();
    let url = format!(
        "/apis/apps/v1/namespaces/{NS}/deployments?fieldSelector=metadata.name%3D{deploy}&watch=true&resourceVersion={rv}&timeoutSeconds={}",
        length.as_secs() + 60
    );
    let watch = cluster.watch_raw(&url, length + Duration::from_secs(90));
    let start = Instant::now();
    let mut writes = Vec::new();
    let mut i = 0u32;
    while start.elapsed() < length {
        let due = start + Duration::from_secs(u64::from(i));
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            thread::sleep(wait);
        }
        let sent = Instant::now();
        let out = cluster.kubectl(
            &[
                "apply",
                "--server-side",
                "--field-manager=intruder",
                "--force-conflicts",
                "-f",
                "-",
            ],
            Some(intruder),
            Duration::from_secs(20),
        );
        assert!(
            out.success(),
            "{what}: the intruder's apply failed: {}",
            out.stderr
        );
        writes.push(sent);
        i += 1;
    }
    let end = Instant::now();
    // The last write is set back too.
    let (_, settled) = wait_for(
        &format!("{what}: the operator's value back after the fight"),
        REPAIR_BOUND,
        POLL,
        || {
            let d = cluster.get_json(&["-n", NS, "deployment", deploy]);
            match value(&d) {
                v if v == ours => Ok(()),
                v => Err(format!("value {v}")),
            }
        },
    );
    thread::sleep(Duration::from_secs(1));
    let timeline = field_timeline(&watch.stop(), &value);
    // Each switch to the intruder's value, and how soon it was set back.
    let mut latencies = Vec::new();
    let mut theirs_since: Option<Instant> = None;
    let mut at_ours = Duration::ZERO;
    let mut ours_since: Option<Instant> = Some(start);
    for (at, v) in &timeline {
        if v == theirs {
            if let Some(s) = ours_since.take() {
                at_ours += at.saturating_duration_since(s.max(start));
            }
            theirs_since.get_or_insert(*at);
        } else if v == ours {
            if let Some(s) = theirs_since.take() {
                latencies.push(at.saturating_duration_since(s));
            }
            ours_since.get_or_insert(*at);
        }
    }
    if let Some(s) = ours_since {
        at_ours += end.saturating_duration_since(s.max(start));
    }
    let share = at_ours.as_secs_f64() / (end - start).as_secs_f64();
    eprintln!(
        "[e2e] {what}: {} intruder writes, {} set back; value back {} after the fight; timeline: {}",
        writes.len(),
        latencies.len(),
        secs(settled),
        timeline
            .iter()
            .map(|(at, v)| format!(
                "{:.1}s={v}",
                at.saturating_duration_since(start).as_secs_f64()
            ))
            .collect::<Vec<_>>()
            .join(" ")
    );
    (writes.len(), latencies.len(), share, latencies)
}

/// Who owns a field of a Deployment, from its managedFields (a `f:` path
/// like `["f:spec", "f:replicas"]`).
fn owners_of(obj: &Value, path: &[&str]) -> BTreeSet<String> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|f| {
            let mut v = &f["fieldsV1"];
            for p in path {
                v = &v[*p];
            }
            !v.is_null()
        })
        .map(|f| text(f, "/manager").to_string())
        .collect()
}

/// Objects of five kinds deleted and edited by hand are set back; a
/// foreign field manager forcing its value of `spec.replicas`, then of an
/// env value, every second loses each time; nothing is duplicated.
#[test]
fn hand_edits_and_a_field_manager_fight() {
    let _serial = serial();
    let t0 = Instant::now();
    let fight_length = Duration::from_secs(if full_run() { 20 } else { 10 });
    let cluster = cluster("byhand");
    let mut op = Supervised::new(&cluster, "byhand", "e2e-operator");
    op.start_leading();
    apply(&cluster, &base_values());
    let baseline = converged(&cluster, "install", &base_values(), &Data::default()).data;
    let values = base_values();
    let mut latencies: Vec<(String, Duration)> = Vec::new();

    // Deleted.
    for (kind, prefer) in [
        ("Deployment", "wandb-app-bc"),
        ("StatefulSet", "wandb-mysql"),
        ("ConfigMap", ""),
        ("Service", "wandb-app"),
        ("Role", ""),
    ] {
        let name = pick(&cluster, kind, prefer);
        let old = uid_of(&cluster, kind, &name).expect("exists");
        let start = Instant::now();
        cluster.kubectl_ok(&["-n", NS, "delete", kind, &name, "--wait=false"], None);
        until(
            &format!("{kind}/{name} recreated after a deletion"),
            REPAIR_BOUND,
            || match uid_of(&cluster, kind, &name) {
                Some(uid) if uid != old => Ok(()),
                other => Err(format!("uid {other:?}")),
            },
        );
        let took = start.elapsed();
        let c = converged(
            &cluster,
            &format!("{kind}/{name} deleted"),
            &values,
            &baseline,
        );
        report(format!(
            "by hand: {kind}/{name} deleted -> recreated in {}, converged {} later; {}",
            secs(took),
            secs(c.took),
            c.workloads.describe()
        ));
        latencies.push((format!("delete {kind}/{name}"), took));
    }

    // Edited: a field of each kind the operator sets.
    let deploy = pick(&cluster, "Deployment", "wandb-app-bc");
    let sts = pick(&cluster, "StatefulSet", "wandb-mysql");
    let cm = pick(&cluster, "ConfigMap", "");
    let svc = pick(&cluster, "Service", "wandb-app");
    let role = pick(&cluster, "Role", "");
    let cm_key = cluster.get_json(&["-n", NS, "configmap", &cm])["data"]
        .as_object()
        .and_then(|m| m.keys().next().cloned())
        .unwrap_or_else(|| panic!("ConfigMap/{cm} has no data"));
    let edits: Vec<(String, String, String, String)> = vec![
        // (kind, name, JSON patch, JSON pointer of the field)
        (
            "Deployment".into(),
            deploy.clone(),
            r#"[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"e2e/tampered:1"}]"#.into(),
            "/spec/template/spec/containers/0/image".into(),
        ),
        (
            "StatefulSet".into(),
            sts.clone(),
            r#"[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"e2e/tampered:1"}]"#.into(),
            "/spec/template/spec/containers/0/image".into(),
        ),
        (
            "ConfigMap".into(),
            cm.clone(),
            json!([{"op": "replace", "path": format!("/data/{}", cm_key.replace('~', "~0").replace('/', "~1")), "value": "e2e-tampered"}]).to_string(),
            format!("/data/{}", cm_key.replace('~', "~0").replace('/', "~1")),
        ),
        (
            "Service".into(),
            svc.clone(),
            r#"[{"op":"replace","path":"/spec/ports/0/targetPort","value":9999}]"#.into(),
            "/spec/ports/0/targetPort".into(),
        ),
        (
            "Role".into(),
            role.clone(),
            r#"[{"op":"replace","path":"/rules","value":[{"apiGroups":[""],"resources":["secrets"],"verbs":["*"]}]}]"#.into(),
            "/rules".into(),
        ),
    ];
    for (kind, name, patch, pointer) in &edits {
        let before = cluster.get_json(&["-n", NS, kind, name]);
        let want = before.pointer(pointer).cloned().unwrap_or(Value::Null);
        let start = Instant::now();
        cluster.kubectl_ok(
            &["-n", NS, "patch", kind, name, "--type=json", "-p", patch],
            None,
        );
        until(
            &format!("{kind}/{name}: {pointer} set back"),
            REPAIR_BOUND,
            || {
                let now = cluster.get_json(&["-n", NS, kind, name]);
                match now.pointer(pointer) {
                    Some(v) if *v == want => Ok(()),
                    other => Err(format!("{pointer} = {other:?}")),
                }
            },
        );
        let took = start.elapsed();
        let after = cluster.get_json(&["-n", NS, kind, name]);
        assert_eq!(
            text(&after, "/metadata/uid"),
            text(&before, "/metadata/uid"),
            "{kind}/{name} was recreated rather than set back"
        );
        let c = converged(
            &cluster,
            &format!("{kind}/{name} edited"),
            &values,
            &baseline,
        );
        report(format!(
            "by hand: {kind}/{name} {pointer} edited -> set back in {}, converged {} later; {}",
            secs(took),
            secs(c.took),
            c.workloads.describe()
        ));
        latencies.push((format!("edit {kind}/{name}"), took));
    }
    report(format!(
        "by hand: repair latencies {}",
        spread(&latencies.iter().map(|(_, d)| *d).collect::<Vec<_>>())
    ));

    // A foreign manager fights over spec.replicas of a Deployment.
    let hpas = cluster.get_json(&["-n", NS, "horizontalpodautoscalers"]);
    let scaled: Vec<&str> = hpas["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| text(h, "/spec/scaleTargetRef/name"))
        .collect();
    assert!(!scaled.contains(&deploy.as_str()), "{deploy} is autoscaled");
    let live = cluster.get_json(&["-n", NS, "deployment", &deploy]);
    let replicas = int(&live, "/spec/replicas");
    let generation = int(&live, "/metadata/generation");
    let sets_before = replica_sets(&cluster, &deploy);
    let intruder = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": deploy, "namespace": NS},
        "spec": {"replicas": replicas + 3},
    })
    .to_string();
    let (writes, set_back, share, lat) = fight(
        &cluster,
        "spec.replicas fight",
        Sides {
            deploy: &deploy,
            intruder: &intruder,
            ours: &replicas.to_string(),
            theirs: &(replicas + 3).to_string(),
        },
        |d| int(d, "/spec/replicas").to_string(),
        fight_length,
    );
    let live = cluster.get_json(&["-n", NS, "deployment", &deploy]);
    let owners = owners_of(&live, &["f:spec", "f:replicas"]);
    assert_eq!(
        owners,
        BTreeSet::from(["wandb-operator".to_string()]),
        "spec.replicas of {deploy} is owned by {owners:?} after the fight"
    );
    assert_eq!(int(&live, "/spec/replicas"), replicas);
    assert_eq!(
        replica_sets(&cluster, &deploy),
        sets_before,
        "the replicas fight made new ReplicaSets"
    );
    let c = converged(
        &cluster,
        "after the spec.replicas fight",
        &values,
        &baseline,
    );
    assert!(
        set_back + 1 >= writes,
        "spec.replicas fight: {writes} intruder writes, only {set_back} set back"
    );
    report(format!(
        "fight: spec.replicas of Deployment/{deploy} forced to {} by manager 'intruder' every 1 s for {}: \
         {writes} writes, {set_back} set back by the operator (latency {}), operator's value {:.0}% of the time; \
         final {replicas}, owned by {owners:?}; generation {generation} -> {}; ReplicaSets unchanged ({}); converged {} later",
        replicas + 3,
        secs(fight_length),
        spread(&lat),
        share * 100.0,
        int(&live, "/metadata/generation"),
        sets_before.len(),
        secs(c.took)
    ));

    // ... and over an env value (each switch is a rollout).
    let container = &live["spec"]["template"]["spec"]["containers"][0];
    let cname = text(container, "/name").to_string();
    let (var, value) = container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|e| {
            Some((
                e["name"].as_str()?.to_string(),
                e["value"].as_str()?.to_string(),
            ))
        })
        .expect("an env var with a literal value");
    let revision_before = revision(&cluster, &deploy);
    let intruder = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": deploy, "namespace": NS},
        "spec": {"template": {"spec": {"containers": [{"name": cname, "env": [{"name": var, "value": "e2e-intruder"}]}]}}},
    })
    .to_string();
    let env_value = |d: &Value| -> String {
        d["spec"]["template"]["spec"]["containers"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|c| c["name"] == cname.as_str())
            .and_then(|c| c["env"].as_array())
            .into_iter()
            .flatten()
            .find(|e| e["name"] == var.as_str())
            .map(|e| text(e, "/value").to_string())
            .unwrap_or_default()
    };
    let (writes, set_back, share, lat) = fight(
        &cluster,
        "env fight",
        Sides {
            deploy: &deploy,
            intruder: &intruder,
            ours: &value,
            theirs: "e2e-intruder",
        },
        env_value,
        fight_length,
    );
    let c = converged(&cluster, "after the env fight", &values, &baseline);
    let live = cluster.get_json(&["-n", NS, "deployment", &deploy]);
    let owners = owners_of(&live, &["f:spec", "f:template", "f:spec", "f:containers"]);
    let sets = replica_sets(&cluster, &deploy);
    let rollouts = revision(&cluster, &deploy) - revision_before;
    assert!(
        set_back + 1 >= writes,
        "env fight: {writes} intruder writes, only {set_back} set back"
    );
    assert!(
        sets.len() <= sets_before.len() + 1,
        "the env fight left {} ReplicaSets (before: {}): a template seen twice should reuse its ReplicaSet",
        sets.len(),
        sets_before.len()
    );
    report(format!(
        "fight: env {var} of Deployment/{deploy} forced to e2e-intruder every 1 s for {}: {writes} writes, \
         {set_back} set back (latency {}), operator's value {:.0}% of the time; {rollouts} rollouts, \
         {} ReplicaSets (2 templates); containers owned by {owners:?}; converged {} later",
        secs(fight_length),
        spread(&lat),
        share * 100.0,
        sets.len(),
        secs(c.took)
    ));
    report(format!(
        "test hand_edits_and_a_field_manager_fight: {}",
        secs(t0.elapsed())
    ));
}

/// ReplicaSets of a Deployment (by owner uid): their names.
fn replica_sets(cluster: &Cluster, deploy: &str) -> BTreeSet<String> {
    let d = cluster.get_json(&["-n", NS, "deployment", deploy]);
    let uid = text(&d, "/metadata/uid").to_string();
    let list = cluster.get_json(&["-n", NS, "replicasets"]);
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|rs| {
            rs.pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|os| os.iter().any(|o| o["uid"] == uid.as_str()))
        })
        .map(|rs| text(rs, "/metadata/name").to_string())
        .collect()
}

fn revision(cluster: &Cluster, deploy: &str) -> i64 {
    let d = cluster.get_json(&["-n", NS, "deployment", deploy]);
    d.pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
        .and_then(Value::as_str)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

// ---------------------------------------------------------------- 4. two replicas

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
            &["--namespace", NS, "--lease-namespace", NS],
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
                        &cluster.get_json(&["-n", NS, "lease", "wandb-operator-leader"]),
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
            let old = uid_of(&cluster, "deployment", deploy).expect("console");
            cluster.kubectl_ok(
                &["-n", NS, "delete", "deployment", deploy, "--wait=false"],
                None,
            );
            until(
                &format!("{what}: {deploy} repaired"),
                REPAIR_BOUND,
                || match uid_of(&cluster, "deployment", deploy) {
                    Some(uid) if uid != old => Ok(()),
                    other => Err(format!("uid {other:?}")),
                },
            );
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
        let managers = Snapshot::take(&cluster, Some(NS)).managers(NS, NAME);
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
            wait_for(
                &format!("{fresh} ready (standing by)"),
                Duration::from_secs(60),
                POLL,
                || {
                    if f.ready() {
                        Ok(())
                    } else {
                        Err("/readyz is not 200".into())
                    }
                },
            );
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

// ---------------------------------------------------------------- 5. a burst

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
    let applied_before = op
        .op()
        .metrics()
        .map(|m| {
            m.sum(
                "wandb_operator_objects_applied_total",
                &[("kind", "Deployment")],
            )
        })
        .unwrap_or(0.0);
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
    let live = cluster.get_json(&["-n", NS, "deployment", deploy]);
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
    let applied = op
        .op()
        .metrics()
        .map(|m| {
            m.sum(
                "wandb_operator_objects_applied_total",
                &[("kind", "Deployment")],
            )
        })
        .unwrap_or(0.0);
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
