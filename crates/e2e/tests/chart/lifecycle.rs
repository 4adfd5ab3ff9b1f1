//! 3. Install, upgrade, rollback, uninstall.

use super::*;

const UPGRADE: &[&str] = &[
    "--set",
    "app.replicaCount=3",
    "--set",
    "weave.install=false",
    "--set",
    "global.size=medium",
];

#[test]
fn s3_install_upgrade_rollback_uninstall() {
    for h in HELMS {
        lifecycle(h);
    }
}

/// Checks that the operator's objects are exactly the render's: each
/// rendered object exists, none is left that the render does not have.
fn assert_matches_render(
    cluster: &Cluster,
    ns: &str,
    render: &BTreeMap<String, wandb_e2e::Document>,
    kinds: &BTreeSet<String>,
    step: &str,
) -> BTreeMap<String, Value> {
    let (live, _) = wait_for(
        &format!("{step}: the objects of the render"),
        Duration::from_secs(60),
        POLL,
        || {
            let live = managed(cluster, ns, kinds);
            let missing: Vec<&String> = render.keys().filter(|k| !live.contains_key(*k)).collect();
            let stale: Vec<&String> = live.keys().filter(|k| !render.contains_key(*k)).collect();
            if missing.is_empty() && stale.is_empty() {
                Ok(live)
            } else {
                Err(format!("missing {missing:?}, not pruned {stale:?}"))
            }
        },
    );
    live
}

fn lifecycle(h: Helm) {
    let t0 = Instant::now();
    let ns = "wandb";
    let work = WorkDir::new(&format!("chart-lifecycle-{}", h.name()));
    // A cluster of its own: the chart's cluster-wide objects (see main.rs).
    let cluster =
        Cluster::up_with_hook_pods_played_by_the_test(&format!("chart-life-{}", h.name()));
    let kc = Some(cluster.kubeconfig.as_path());
    cluster.restricted_namespace(ns);
    let base = ["--set", HOST, "--set", LICENSE];
    let mut upgraded = base.to_vec();
    upgraded.extend(UPGRADE);
    let render_base = rendered(&base, ns);
    let render_up = rendered(&upgraded, ns);
    let kinds: BTreeSet<String> = render_base
        .values()
        .chain(render_up.values())
        .map(|d| d.kind.clone())
        .collect();
    let dropped: Vec<&String> = render_base
        .keys()
        .filter(|k| !render_up.contains_key(*k))
        .collect();
    let added: Vec<&String> = render_up
        .keys()
        .filter(|k| !render_base.contains_key(*k))
        .collect();
    assert!(
        dropped
            .iter()
            .any(|k| k.as_str() == "Deployment/wandb-weave-bc"),
        "weave.install=false should drop the weave Deployment: {dropped:?}"
    );
    let app = "Deployment/wandb-app-bc";
    let app_small = resources(&as_json(&cluster, &render_base[app]));
    let app_medium = resources(&as_json(&cluster, &render_up[app]));
    assert_ne!(
        app_small, app_medium,
        "global.size=medium should change the app's resources"
    );

    // Install.
    let mut args = vec!["install", RELEASE, "./charts/operator-wandb", "-n", ns];
    args.extend(base);
    let t = Instant::now();
    let (_, install_note) = h.install(&work.0, &cluster.kubeconfig, &args);
    let installed_in = secs(t.elapsed());
    let t = Instant::now();
    let operator = start_operator(&cluster, ns, &work.0);
    let (g1, _) = wait_ready(&cluster, ns);
    let live = assert_matches_render(&cluster, ns, &render_base, &kinds, "install");
    let installed = secs(t.elapsed());
    let replicas = |live: &BTreeMap<String, Value>| int(&live[app], "/spec/replicas");
    assert_eq!(replicas(&live), 1);
    assert_eq!(resources(&live[app]), app_small);
    let dropped_uids: BTreeMap<&String, String> = dropped
        .iter()
        .map(|k| (*k, text(&live[*k], "/metadata/uid").to_string()))
        .collect();
    let data = held(&cluster, ns, true);
    let generated = data.values().filter(|d| d.kind == "Secret").count();
    let pvcs = data
        .values()
        .filter(|d| d.kind == "PersistentVolumeClaim")
        .count();
    assert!(
        generated > 0 && pvcs > 0,
        "no generated Secrets or PVCs: {data:?}"
    );
    for d in data.values().filter(|d| d.kind == "Secret") {
        assert!(
            d.data.values().all(|v| !v.is_empty()),
            "{}: a generated key is empty",
            d.name
        );
    }

    // Upgrade.
    let mut args = vec!["upgrade", RELEASE, "./charts/operator-wandb", "-n", ns];
    args.extend(&upgraded);
    let t = Instant::now();
    h.ok(&work.0, kc, &args);
    let (g2, _) = wait_ready(&cluster, ns);
    assert!(g2 > g1, "the upgrade did not change the resource");
    let live = assert_matches_render(&cluster, ns, &render_up, &kinds, "upgrade");
    assert_eq!(replicas(&live), 3, "app.replicaCount=3");
    assert_eq!(int(&live[app], "/status/readyReplicas"), 3);
    assert_eq!(
        resources(&live[app]),
        app_medium,
        "the app's resources at size medium"
    );
    for k in &dropped {
        let (kind, name) = k.split_once('/').unwrap();
        assert!(
            cluster.get_if_exists(&["-n", ns, kind, name]).is_none(),
            "{k} is still there after the upgrade"
        );
    }
    let (problems, _) = compare_held(&data, &held(&cluster, ns, true), false);
    assert!(
        problems.is_empty(),
        "after the upgrade:\n{}",
        problems.join("\n")
    );
    let upgraded_in = secs(t.elapsed());

    // Rollback to the install.
    let t = Instant::now();
    h.ok(&work.0, kc, &["rollback", RELEASE, "1", "-n", ns]);
    let (g3, _) = wait_ready(&cluster, ns);
    assert!(g3 > g2, "the rollback did not change the resource");
    let live = assert_matches_render(&cluster, ns, &render_base, &kinds, "rollback");
    assert_eq!(replicas(&live), 1);
    assert_eq!(int(&live[app], "/status/readyReplicas"), 1);
    assert_eq!(resources(&live[app]), app_small);
    for (k, uid) in &dropped_uids {
        assert_ne!(
            &text(&live[*k], "/metadata/uid"),
            uid,
            "{k} should be a new object"
        );
    }
    let (problems, _) = compare_held(&data, &held(&cluster, ns, true), false);
    assert!(
        problems.is_empty(),
        "after the rollback:\n{}",
        problems.join("\n")
    );
    let rolled_back = secs(t.elapsed());
    assert_not_denied(&operator);

    // Uninstall: the pre-delete hook deletes the resource while the
    // operator still runs; Helm then deletes the operator and its RBAC.
    let t = Instant::now();
    let helm = h.spawn(
        &work.0,
        &cluster.kubeconfig,
        &["uninstall", RELEASE, "-n", ns, "--timeout", "3m"],
    );
    let hook = play_kubelet(
        &cluster,
        ns,
        &format!("{RELEASE}-pre-delete"),
        None,
        &work.0,
    );
    let out = helm.join().unwrap();
    assert!(
        out.success() && hook.exit == 0,
        "helm uninstall failed ({}), the hook said: {}\n{}{}",
        out.describe_status(),
        hook.output,
        out.stdout,
        out.stderr
    );
    assert!(
        cluster
            .get_if_exists(&["-n", ns, "weightsandbiases", RELEASE])
            .is_none(),
        "the resource is still there"
    );
    let list = h.ok(&work.0, kc, &["list", "-n", ns, "-q"]).stdout;
    assert!(list.trim().is_empty(), "helm still lists a release: {list}");
    // The operator's finalizer and the garbage collector take what the
    // resource owned; data stays.
    let kept: BTreeSet<String> = data.keys().cloned().collect();
    let namespaced: BTreeSet<String> = kinds
        .iter()
        .filter(|k| !k.starts_with("Cluster"))
        .cloned()
        .collect();
    let gc = try_wait_for(Duration::from_secs(120), POLL, || {
        let left: Vec<String> = managed(&cluster, ns, &namespaced)
            .into_keys()
            .filter(|k| !kept.contains(k))
            .collect();
        if left.is_empty() {
            Ok(())
        } else {
            Err(format!("{} left: {left:?}", left.len()))
        }
    });
    let cleanup = match gc {
        Ok((_, took)) => took,
        Err(last) => {
            let example = last
                .split('"')
                .nth(1)
                .unwrap_or_default()
                .replacen('/', " ", 1);
            let owners = cluster
                .kubectl(
                    &[
                        "-n",
                        ns,
                        "get",
                        &example.replace(' ', "/"),
                        "-o",
                        "jsonpath={.metadata.ownerReferences}",
                    ],
                    None,
                    Duration::from_secs(30),
                )
                .stdout;
            panic!(
                "the install was not removed within 120 s: {last}\n\
                 owners of {example}: {owners}\ngarbage collector log:\n{}",
                gc_log(&cluster)
            );
        }
    };
    for what in [
        format!("deployment/{RELEASE}-operator"),
        format!("serviceaccount/{RELEASE}-operator"),
        format!("role/{RELEASE}-operator"),
        format!("rolebinding/{RELEASE}-operator"),
        format!("serviceaccount/{RELEASE}-pre-delete"),
        format!("serviceaccount/{RELEASE}-test-ready"),
        format!("role/{RELEASE}-test-ready"),
        format!("pod/{RELEASE}-pre-delete"),
        format!("clusterrole/{RELEASE}-operator-{ns}"),
        format!("clusterrolebinding/{RELEASE}-operator-{ns}"),
    ] {
        assert!(
            cluster.get_if_exists(&["-n", ns, &what]).is_none(),
            "{what} is still there"
        );
    }
    let after = held(&cluster, ns, true);
    let (problems, _) = compare_held(&data, &after, false);
    assert!(
        problems.is_empty(),
        "after the uninstall:\n{}",
        problems.join("\n")
    );
    let owned: Vec<&String> = data.keys().filter(|k| after[*k].owners > 0).collect();
    assert!(
        owned.is_empty(),
        "still owned (the garbage collector may take them): {owned:?}"
    );
    // Cluster-wide objects of the install go too (the finalizer deletes
    // them: the garbage collector ignores namespaced owners).
    let cluster_kinds: BTreeSet<String> = kinds
        .iter()
        .filter(|k| k.starts_with("Cluster"))
        .cloned()
        .collect();
    let leftovers: Vec<String> = if cluster_kinds.is_empty() {
        Vec::new()
    } else {
        managed(&cluster, ns, &cluster_kinds).into_keys().collect()
    };
    assert!(
        leftovers.is_empty(),
        "cluster-scoped objects of the install outlive `helm uninstall`: {}",
        leftovers.join(", ")
    );
    let cluster_kinds_count = render_base
        .values()
        .filter(|d| d.kind.starts_with("Cluster"))
        .count();
    let uninstalled = secs(t.elapsed());
    drop(operator);

    summary(format!(
        "3 lifecycle {}: installed in {installed_in}, Ready in {installed} ({} objects = render); upgrade in {upgraded_in}: \
         {app} 3/3 replicas, resources {} (size medium), {} objects pruned ({} weave), {} added; \
         rollback in {rolled_back}: 1 replica, resources {}, the {} pruned objects back as new objects; \
         uninstall in {uninstalled} (pre-delete hook `{}` exit 0, all objects gone {} later): resource, operator, \
         its RBAC and every object of the install gone ({} cluster-scoped), {pvcs} PVCs and {generated} generated \
         Secrets kept with the same uids and data, no owner; operator denied nothing; total {}{}",
        h.name(),
        render_base.len(),
        serde_json::to_string(&app_medium[0].1).unwrap(),
        dropped.len(),
        dropped.iter().filter(|k| k.contains("weave")).count(),
        added.len(),
        serde_json::to_string(&app_small[0].1).unwrap(),
        dropped.len(),
        hook.command.join(" "),
        secs(cleanup),
        cluster_kinds_count,
        secs(t0.elapsed()),
        install_note
            .map(|n| format!("; NOTE: {n}"))
            .unwrap_or_default()
    ));
}
