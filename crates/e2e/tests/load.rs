//! Load (issue 7): many `WeightsAndBiases` resources, one per namespace,
//! reconciled by one operator with `--all-namespaces`, on a local control
//! plane (hack/cluster: three kwok nodes of 1000 pods each).
//!
//! Measures the time until every install is Ready, the operator's peak
//! resident memory (VmRSS polled, and VmHWM) and CPU time (utime + stime),
//! and what the cluster's own components spent meanwhile; then checks each
//! install as the fault tests do (converged, exactly the render's objects,
//! workloads settled, generated Secrets filled, volumes Bound) and that the
//! operator is quiet once all are Ready.
//!
//! Each resource is named after its namespace: cluster-wide objects (the
//! console's ClusterRole, ...) are named after the resource, and a second
//! install of the same name would only report a conflict.
//!
//! `WANDB_E2E_FULL=1`: 50 resources; the default: 10. `WANDB_E2E_LOAD=N`
//! sets another count. Lines starting with `[e2e] REPORT` are the
//! measurements; the operator's log is in `<target>/tmp/e2e-load/`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wandb_e2e::{
    Cluster, HOST, LICENSE, Operator, ProcUsage, Snapshot, expected_objects, full_run, indent, int,
    operator_binary, proc_usage, report, text, wait_for,
};

const LEASE_NS: &str = "wandb-operator";
/// Pods the three kwok nodes take (3 x 1000).
const POD_CAPACITY: usize = 3000;
const COMPONENTS: [&str; 5] = [
    "etcd",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
];

fn secs(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

fn mib(kib: u64) -> String {
    format!("{:.0} MiB", kib as f64 / 1024.0)
}

/// Pods an install of these values runs: the replicas of its Deployments
/// and StatefulSets and one per Job, from the render.
fn pods_per_install(values: &Value) -> usize {
    let file = std::env::temp_dir().join(format!("wandb-e2e-load-{}.yaml", std::process::id()));
    std::fs::write(&file, values.to_string()).expect("values file");
    let out = wandb_e2e::render(
        &operator_binary(),
        &["-f", file.to_str().unwrap(), "--skip-tests"],
    );
    let _ = std::fs::remove_file(&file);
    let mut pods = 0;
    for d in out.documents() {
        match d.kind.as_str() {
            "Deployment" | "StatefulSet" => {
                let replicas = d
                    .yaml
                    .lines()
                    .find_map(|l| l.strip_prefix("  replicas:"))
                    .and_then(|r| r.trim().parse::<usize>().ok())
                    .unwrap_or(1);
                pods += replicas;
            }
            "Job" => pods += 1,
            _ => {}
        }
    }
    pods
}

/// Ready installs (observedGeneration == generation, Ready True), by namespace.
fn ready_installs(cluster: &Cluster) -> (usize, Vec<String>) {
    let list = cluster.get_json(&["weightsandbiases", "-A"]);
    let items = list["items"].as_array().cloned().unwrap_or_default();
    let ready = items
        .iter()
        .filter(|r| {
            int(r, "/status/observedGeneration") == int(r, "/metadata/generation")
                && r.pointer("/status/conditions")
                    .and_then(Value::as_array)
                    .is_some_and(|cs| {
                        cs.iter()
                            .any(|c| c["type"] == "Ready" && c["status"] == "True")
                    })
        })
        .map(|r| text(r, "/metadata/namespace").to_string())
        .collect();
    (items.len(), ready)
}

/// Pods by phase, over all namespaces.
fn pod_phases(cluster: &Cluster) -> BTreeMap<String, usize> {
    let out = cluster.kubectl_ok(
        &[
            "get",
            "pods",
            "-A",
            "--no-headers",
            "-o",
            "custom-columns=P:.status.phase,N:.spec.nodeName",
        ],
        None,
    );
    let mut m = BTreeMap::new();
    for l in out.lines() {
        let mut f = l.split_whitespace();
        let phase = f.next().unwrap_or("?");
        let node = f.next().unwrap_or("<none>");
        let key = if phase == "Pending" && node == "<none>" {
            "Unscheduled".to_string()
        } else {
            phase.to_string()
        };
        *m.entry(key).or_insert(0) += 1;
    }
    m
}

fn cpu(usage: &BTreeMap<String, ProcUsage>, before: &BTreeMap<String, ProcUsage>) -> String {
    usage
        .iter()
        .map(|(c, u)| {
            let b = before.get(c).map_or(0.0, |b| b.cpu_seconds);
            format!(
                "{c} {:.1} s CPU, {} peak RSS",
                u.cpu_seconds - b,
                mib(u.peak_rss_kib)
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// N installs in N namespaces, created at once, reconciled by one
/// operator watching every namespace: all Ready, each checked; the
/// operator's memory and CPU measured.
#[test]
fn many_installs_in_many_namespaces() {
    let t0 = Instant::now();
    let count: usize = std::env::var("WANDB_E2E_LOAD")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(if full_run() { 50 } else { 10 });
    let base = json!({"global": {"host": HOST, "license": LICENSE}});
    // Fit the pods on the nodes: weave and its trace service off if needed.
    let mut values = base.clone();
    let mut per_install = pods_per_install(&values);
    let mut reduced = Vec::new();
    for (key, patch) in [
        ("weave.install=false", json!({"weave": {"install": false}})),
        (
            "weave-trace.install=false",
            json!({"weave-trace": {"install": false}}),
        ),
    ] {
        if per_install * count <= POD_CAPACITY * 9 / 10 {
            break;
        }
        if let (Value::Object(v), Value::Object(p)) = (&mut values, patch) {
            v.extend(p);
        }
        per_install = pods_per_install(&values);
        reduced.push(key);
    }
    eprintln!(
        "[e2e] {count} installs of {per_install} pods each ({} pods; the nodes take {POD_CAPACITY}){}",
        per_install * count,
        if reduced.is_empty() {
            String::new()
        } else {
            format!(", with {}", reduced.join(" "))
        }
    );
    assert!(
        per_install * count <= POD_CAPACITY,
        "{count} installs of {per_install} pods do not fit on the nodes"
    );

    let cluster = Cluster::up("e2e-load");
    let namespaces: Vec<String> = (0..count).map(|i| format!("load-{i:02}")).collect();
    let mut manifest = String::new();
    for ns in std::iter::once(LEASE_NS).chain(namespaces.iter().map(String::as_str)) {
        manifest += &format!(
            "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n  labels:\n    \
             pod-security.kubernetes.io/enforce: restricted\n"
        );
    }
    cluster.kubectl_ok(&["apply", "-f", "-"], Some(&manifest));
    wait_for(
        "every namespace's default ServiceAccount",
        Duration::from_secs(120),
        Duration::from_millis(500),
        || {
            let out = cluster.kubectl_ok(
                &[
                    "get",
                    "serviceaccounts",
                    "-A",
                    "--field-selector=metadata.name=default",
                    "-o",
                    "name",
                ],
                None,
            );
            let have = out.lines().count();
            if have > count {
                Ok(())
            } else {
                Err(format!("{have} default ServiceAccounts"))
            }
        },
    );
    let component_pids: BTreeMap<String, u32> = COMPONENTS
        .iter()
        .filter_map(|c| Some((c.to_string(), cluster.component_pid(c)?)))
        .collect();
    let components_usage = || -> BTreeMap<String, ProcUsage> {
        component_pids
            .iter()
            .filter_map(|(c, p)| Some((c.clone(), proc_usage(*p)?)))
            .collect()
    };

    let log = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e-load")
        .join("e2e-operator.log");
    let _ = std::fs::remove_file(&log);
    let mut op = Operator::start_with(
        &cluster,
        &["--all-namespaces", "--lease-namespace", LEASE_NS],
        "e2e-operator",
        &log,
    );
    op.wait_leading(Duration::from_secs(60));
    cluster.wait_established("crd/weightsandbiases.apps.wandb.com");
    let op_start = op.usage().expect("the operator's /proc");
    let comp_start = components_usage();

    // Every resource at once.
    let resources: String = namespaces
        .iter()
        .map(|ns| {
            json!({
                "apiVersion": "apps.wandb.com/v1",
                "kind": "WeightsAndBiases",
                "metadata": {"name": ns, "namespace": ns},
                "spec": {"values": values},
            })
            .to_string()
                + "\n"
        })
        .collect();
    let created = Instant::now();
    cluster.kubectl_ok(&["apply", "-f", "-"], Some(&resources));
    let sent = created.elapsed();

    // Until all are Ready: the operator's memory and CPU, the pods, each install's Ready time.
    let mut peak_rss = op_start.rss_kib;
    let mut ready_at: BTreeMap<String, Duration> = BTreeMap::new();
    let mut timeline = Vec::new();
    let mut last_line = Instant::now() - Duration::from_secs(60);
    let deadline = Duration::from_secs(if count > 20 { 1800 } else { 600 });
    let mut all_pods_at = None;
    loop {
        if let Some(u) = op.usage() {
            peak_rss = peak_rss.max(u.rss_kib);
        }
        assert!(op.running(), "the operator exited:\n{}", op.log_tail(40));
        let (total, ready) = ready_installs(&cluster);
        for ns in &ready {
            ready_at
                .entry(ns.clone())
                .or_insert_with(|| created.elapsed());
        }
        if last_line.elapsed() >= Duration::from_secs(10) || ready.len() == count {
            let phases = pod_phases(&cluster);
            let pods: usize = phases.values().sum();
            let running = phases.get("Running").copied().unwrap_or(0)
                + phases.get("Succeeded").copied().unwrap_or(0);
            if all_pods_at.is_none() && running >= per_install * count {
                all_pods_at = Some(created.elapsed());
            }
            let u = op.usage().unwrap_or_default();
            let line = format!(
                "{:>6.1}s: {}/{count} Ready ({total} resources); pods {phases:?} ({pods}); operator {} RSS, {:.1} s CPU",
                created.elapsed().as_secs_f64(),
                ready.len(),
                mib(u.rss_kib),
                u.cpu_seconds - op_start.cpu_seconds
            );
            eprintln!("[e2e] {line}");
            timeline.push(line);
            last_line = Instant::now();
        }
        if ready.len() == count {
            break;
        }
        assert!(
            created.elapsed() < deadline,
            "not every install Ready within {}:\n{}{}",
            secs(deadline),
            indent(&timeline.join("\n"), "  "),
            op.log_tail(40)
        );
        thread::sleep(Duration::from_millis(500));
    }
    let all_ready = created.elapsed();
    let op_ready = op.usage().expect("the operator's /proc");
    let comp_ready = components_usage();
    peak_rss = peak_rss.max(op_ready.rss_kib);
    let metrics = op.metrics().expect("metrics");
    let reconciles = metrics.sum("wandb_operator_reconciles_total", &[]);
    let requests = metrics.sum("wandb_operator_api_requests_total", &[]);
    let errors = metrics.sum("wandb_operator_reconcile_errors_total", &[]);

    // Each install, checked.
    let expected: BTreeMap<&String, _> = namespaces
        .iter()
        .map(|ns| (ns, expected_objects(&values, ns, ns)))
        .collect();
    let ((objects, workloads), settled) = wait_for(
        "every install converged, with exactly its objects and settled workloads",
        Duration::from_secs(300),
        Duration::from_secs(2),
        || {
            let snap = Snapshot::take(&cluster, None);
            let mut problems = Vec::new();
            let mut objects = 0;
            let mut workloads = (0, 0, 0);
            for ns in &namespaces {
                if let Err(e) = snap.converged(ns, ns) {
                    problems.push(e);
                    continue;
                }
                match snap.duplicates(ns, ns, &expected[ns], false) {
                    Ok(n) => objects += n,
                    Err(e) => problems.push(e),
                }
                match snap.workloads(ns, ns) {
                    Ok(w) => {
                        workloads.0 += w.deployments;
                        workloads.1 += w.replica_sets;
                        workloads.2 += w.pods;
                        if w.rollouts() != 0 {
                            problems.push(format!("{ns}: rollouts {:?}", w.revisions));
                        }
                    }
                    Err(e) => problems.push(e),
                }
                let data = snap.data(ns);
                if data.secrets.is_empty() || data.pvcs.is_empty() {
                    problems.push(format!("{ns}: no data? {}", data.describe()));
                }
                problems.extend(data.problems().into_iter().map(|p| format!("{ns}: {p}")));
            }
            if problems.is_empty() {
                Ok((objects, workloads))
            } else {
                Err(problems.join("\n"))
            }
        },
    );

    // Quiet once Ready: the operator's CPU over a while with nothing to do.
    // Ready already waits for the autoscalers' minimum replicas, so nothing
    // should change after it; idle starts once the resources have not
    // changed for 5 s.
    let versions = || {
        cluster.kubectl_ok(
            &[
                "get",
                "weightsandbiases",
                "-A",
                "-o",
                "jsonpath={.items[*].metadata.resourceVersion}",
            ],
            None,
        )
    };
    let mut last = (versions(), Instant::now());
    let (_, settle) = wait_for(
        "the resources to stop changing",
        Duration::from_secs(120),
        Duration::from_millis(500),
        || {
            let now = versions();
            if now != last.0 {
                last = (now, Instant::now());
            }
            if last.1.elapsed() >= Duration::from_secs(5) {
                Ok(())
            } else {
                Err("changing".into())
            }
        },
    );
    eprintln!(
        "[e2e] resources unchanged for 5 s, {} after the checks",
        secs(settle)
    );
    let idle = Duration::from_secs(30);
    let idle_start = op.usage().expect("the operator's /proc");
    let metrics0 = op.metrics().expect("metrics");
    thread::sleep(idle);
    let idle_end = op.usage().expect("the operator's /proc");
    let metrics1 = op.metrics().expect("metrics");
    let idle_reconciles = metrics1.sum("wandb_operator_reconciles_total", &[])
        - metrics0.sum("wandb_operator_reconciles_total", &[]);
    let idle_requests = metrics1.sum("wandb_operator_api_requests_total", &[])
        - metrics0.sum("wandb_operator_api_requests_total", &[]);
    peak_rss = peak_rss.max(idle_end.rss_kib);

    let mut times: Vec<Duration> = ready_at.values().copied().collect();
    times.sort();
    let pct = |p: usize| times[(times.len() * p / 100).min(times.len() - 1)];
    report(format!(
        "load: {count} WeightsAndBiases in {count} namespaces ({per_install} pods each{}), created in one kubectl apply ({}): \
         all Ready {} after; first {}, median {}, 90th percentile {}; all {} pods Running/Succeeded at {}",
        if reduced.is_empty() {
            String::new()
        } else {
            format!(", {}", reduced.join(" "))
        },
        secs(sent),
        secs(all_ready),
        secs(times[0]),
        secs(pct(50)),
        secs(pct(90)),
        per_install * count,
        all_pods_at.map_or("-".into(), secs)
    ));
    report(format!(
        "load: operator peak RSS {} (VmHWM {}; {} at start), CPU {:.1} s until all Ready ({:.1} s total); \
         {reconciles} reconciles ({errors} errors), {requests} API requests",
        mib(peak_rss),
        mib(idle_end.peak_rss_kib),
        mib(op_start.rss_kib),
        op_ready.cpu_seconds - op_start.cpu_seconds,
        idle_end.cpu_seconds
    ));
    report(format!(
        "load: the cluster until all Ready: {}",
        cpu(&comp_ready, &comp_start)
    ));
    report(format!(
        "load: checked {count} installs ({objects} managed objects, {} Deployments, {} ReplicaSets, {} pods) {} after all were Ready",
        workloads.0,
        workloads.1,
        workloads.2,
        secs(settled)
    ));
    let by_verb: Vec<String> = metrics1
        .samples("wandb_operator_api_requests_total")
        .into_iter()
        .map(|(labels, v)| {
            let before = metrics0
                .value(
                    "wandb_operator_api_requests_total",
                    &labels
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect::<Vec<_>>(),
                )
                .unwrap_or(0.0);
            format!("{labels:?}: {}", v - before)
        })
        .collect();
    assert_eq!(
        idle_requests, 0.0,
        "the operator made API requests while every install was Ready and nothing changed: {by_verb:?}"
    );
    report(format!(
        "load: idle {} after: operator {:.2} s CPU ({:.1}%), {idle_reconciles} reconciles, {idle_requests} API requests",
        secs(idle),
        idle_end.cpu_seconds - idle_start.cpu_seconds,
        (idle_end.cpu_seconds - idle_start.cpu_seconds) / idle.as_secs_f64() * 100.0
    ));
    report(format!(
        "test many_installs_in_many_namespaces: {}",
        secs(t0.elapsed())
    ));
    drop(op);
    drop(cluster);
}
