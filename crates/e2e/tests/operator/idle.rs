//! 4. Nothing changes while idle.

use super::*;

/// With nothing changed, nothing managed changes: same resourceVersions
/// before and after, no watch event in between, while no-op reconciles are
/// forced by touching an annotation of the resource; and reports the API
/// requests each no-op reconcile makes.
#[test]
fn nothing_changes_while_idle() {
    let _serial = serial();
    let t0 = Instant::now();
    let idle = Duration::from_secs(
        std::env::var("WANDB_E2E_IDLE_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(120),
    );
    let cluster = cluster("idle");
    let op = operator(&cluster, "idle", "e2e-operator");
    install(&cluster);
    settle(&cluster, Duration::from_secs(20), Duration::from_secs(180));

    let (before, versions) = managed_with_versions(&cluster);
    let (reconciles_0, requests_0) = counters(&op);
    let server_0 = apiserver_requests(&cluster);
    let touches = (idle.as_secs() / 10).max(3);
    eprintln!(
        "[e2e] idle for {} s: watching {} managed objects of {} kinds; {touches} no-op reconciles forced by annotating the resource",
        idle.as_secs(),
        before.len(),
        KINDS.len()
    );
    let idle_start = Instant::now();
    let events = thread::scope(|s| {
        // One watch per kind from the resourceVersion of its list: any
        // change to a managed object after the snapshot is an event.
        let watches: Vec<_> = versions
            .iter()
            .map(|(kind, rv)| {
                let url = collection_url(
                    kind,
                    cluster.ns(),
                    &format!(
                        "&watch=true&resourceVersion={rv}&timeoutSeconds={}",
                        idle.as_secs()
                    ),
                );
                let cluster = &cluster;
                s.spawn(move || {
                    let out = cluster.kubectl(
                        &["get", "--raw", &url],
                        None,
                        idle + Duration::from_secs(60),
                    );
                    (kind.2, out)
                })
            })
            .collect();
        for i in 0..touches {
            let at = idle * (i as u32 + 1) / (touches as u32 + 1);
            if let Some(wait) = at.checked_sub(idle_start.elapsed()) {
                thread::sleep(wait);
            }
            cluster.kubectl_ok(
                &[
                    "-n",
                    cluster.ns(),
                    "annotate",
                    "wandb",
                    NAME,
                    "--overwrite",
                    &format!("e2e.wandb.com/touch={i}"),
                ],
                None,
            );
        }
        let mut events = Vec::new();
        for w in watches {
            let (kind, out) = w.join().expect("watch thread");
            assert!(
                out.success(),
                "watching {kind}s failed ({}): {}",
                out.describe_status(),
                out.stderr
            );
            for line in out.stdout.lines().filter(|l| !l.trim().is_empty()) {
                let e: Value = serde_json::from_str(line).unwrap_or(Value::Null);
                events.push(format!(
                    "{} {kind}/{} resourceVersion {}",
                    text(&e, "/type"),
                    text(&e, "/object/metadata/name"),
                    text(&e, "/object/metadata/resourceVersion")
                ));
            }
        }
        events
    });
    let idle_took = idle_start.elapsed();
    // The last touch's reconcile has had time to finish (watches ran on).
    let (reconciles_1, requests_1) = counters(&op);
    let server_1 = apiserver_requests(&cluster);
    let after = managed(&cluster);

    let reconciles = (reconciles_1 - reconciles_0) as u64;
    let by_verb: BTreeMap<&String, f64> = requests_1
        .iter()
        .map(|(verb, v)| (verb, v - requests_0.get(verb).copied().unwrap_or(0.0)))
        .filter(|(_, d)| *d > 0.0)
        .collect();
    let requests = by_verb.values().sum::<f64>() as u64;
    // The API server's side: writes to the managed kinds and to the resource.
    let resources: BTreeSet<&str> = KINDS
        .iter()
        .map(|k| k.1)
        .chain(["weightsandbiases"])
        .collect();
    let server_writes: BTreeMap<String, f64> = server_1
        .iter()
        .filter(|((verb, resource, _), _)| {
            resources.contains(resource.as_str())
                && matches!(verb.as_str(), "APPLY" | "PATCH" | "PUT" | "POST" | "DELETE")
        })
        .map(|(k, v)| (k, v - server_0.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, d)| *d > 0.0)
        .map(|((verb, resource, sub), d)| {
            let sub = if sub.is_empty() {
                String::new()
            } else {
                format!("/{sub}")
            };
            (format!("{verb} {resource}{sub}"), d)
        })
        .collect();
    eprintln!("[e2e] API server writes during the idle period: {server_writes:?}");

    let changed = changes(&before, &after);
    assert!(
        events.is_empty() && changed.is_empty(),
        "managed objects changed while idle:\nwatch events:\n{}changes:\n{}",
        indent(&events.join("\n"), "  "),
        indent(&changed.join("\n"), "  ")
    );
    assert!(
        reconciles >= touches,
        "{touches} touches of the resource made only {reconciles} reconciles"
    );
    report(format!(
        "idle: {} s, {} managed objects, 0 watch events, 0 resourceVersion changes; {reconciles} no-op reconciles \
         ({touches} forced), {requests} API requests by the reconciler {by_verb:?} => {:.2} requests per no-op reconcile",
        idle_took.as_secs(),
        before.len(),
        requests as f64 / reconciles.max(1) as f64
    ));
    let expected_patches = touches as f64;
    assert_eq!(
        server_writes,
        BTreeMap::from([("PATCH weightsandbiases".to_string(), expected_patches)]),
        "the only writes while idle should be the test's own {touches} annotations"
    );
    assert_eq!(
        requests, 0,
        "no-op reconciles made API requests: {by_verb:?}"
    );
    report(format!(
        "test nothing_changes_while_idle: {}",
        secs(t0.elapsed())
    ));
}
