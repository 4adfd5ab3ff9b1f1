//! 5. A release of the upstream chart moves to this chart.

use super::*;

#[test]
fn s5_a_release_of_the_upstream_chart_moves_to_this_chart_as_documented() {
    let steps = guide_steps("migrating-from-upstream.md");
    assert!(
        steps.iter().any(|s| s.contains("helm upgrade"))
            && steps.last().is_some_and(|s| s.contains("kubectl wait")),
        "docs/migrating-from-upstream.md: expected ```sh blocks with a `helm upgrade` and a final `kubectl wait`"
    );
    let Some(upstream) = upstream_chart("the move from the upstream chart") else {
        return;
    };
    for h in HELMS {
        migrate(h, &steps, &upstream);
    }
}

fn migrate(h: Helm, steps: &[String], upstream: &Path) {
    let t0 = Instant::now();
    let ns = "wandb";
    let work = WorkDir::new(&format!("chart-migrate-{}", h.name()));
    // A cluster of its own: the chart's cluster-wide objects (see main.rs).
    let cluster =
        Cluster::up_with_hook_pods_played_by_the_test(&format!("chart-migrate-{}", h.name()));
    let kc = Some(cluster.kubeconfig.as_path());
    cluster.kubectl_ok(&["create", "namespace", ns], None);
    let upstream_ready = install_upstream(h, &work.0, &cluster, ns, upstream);
    let before = held(&cluster, ns, false);
    let old_sts: BTreeMap<String, String> =
        items(&cluster.get_if_exists(&["-n", ns, "statefulsets"]).unwrap())
            .iter()
            .map(|s| {
                (
                    text(s, "/metadata/name").to_string(),
                    text(s, "/metadata/uid").to_string(),
                )
            })
            .collect();
    print_held(&format!("{} recorded before the move", h.name()), &before);

    // The documented steps, verbatim, with `helm` being this Helm. The
    // operator, which the chart runs as a Deployment, runs from the host
    // as soon as the release is switched.
    let guide = Guide::new(h, &work.0, &cluster);
    let mut operator = None;
    let mut step_times = Vec::new();
    for (i, step) in steps.iter().enumerate() {
        step_times.push(guide.run(i, step));
        if step.contains("helm upgrade") {
            operator = Some(start_operator(&cluster, ns, &work.0));
        }
    }
    let operator = operator.expect("no step switched the release");
    let (generation, _) = wait_ready(&cluster, ns);

    // Nothing lost.
    let after = held(&cluster, ns, false);
    let (problems, filled) = compare_held(&before, &after, true);
    assert!(
        problems.is_empty(),
        "the move lost or changed data:\n{}",
        problems.join("\n")
    );
    let identical = before
        .iter()
        .filter(|(k, b)| after[*k].data == b.data)
        .count();
    let secrets = before.values().filter(|d| d.kind == "Secret").count();
    let claims = before
        .values()
        .filter(|d| d.kind == "PersistentVolumeClaim")
        .count();
    let new_claims: Vec<&String> = after
        .keys()
        .filter(|k| k.starts_with("Persistent") && !before.contains_key(*k))
        .collect();

    // Our StatefulSets are new objects and claim the same volumes.
    let sts = |name: &str| {
        cluster
            .get_if_exists(&["-n", ns, "statefulset", name])
            .unwrap()
    };
    let mysql = sts("wandb-mysql");
    let redis = sts("wandb-redis-master");
    for s in [&mysql, &redis] {
        let name = text(s, "/metadata/name");
        assert_ne!(
            text(s, "/metadata/uid"),
            old_sts[name],
            "{name} is still the upstream chart's"
        );
        assert_eq!(
            text(s, "/metadata/labels/apps.wandb.com~1instance"),
            RELEASE,
            "{name} is not the operator's"
        );
    }
    let claim_names = |pod: &Value| -> Vec<String> {
        pod["spec"]["volumes"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|v| text(v, "/persistentVolumeClaim/claimName").to_string())
            .filter(|c| !c.is_empty())
            .collect()
    };
    assert!(
        claim_names(&mysql["spec"]["template"]).contains(&"wandb-mysql-data".to_string()),
        "wandb-mysql does not use the PVC wandb-mysql-data"
    );
    let templates: Vec<&str> = redis["spec"]["volumeClaimTemplates"]
        .as_array()
        .map(|a| a.iter().map(|t| text(t, "/metadata/name")).collect())
        .unwrap_or_default();
    assert!(
        templates.contains(&"redis-data"),
        "wandb-redis-master has no claim template redis-data: {templates:?}"
    );
    for (pod, claim) in [
        ("wandb-mysql-0", "wandb-mysql-data"),
        ("wandb-redis-master-0", "redis-data-wandb-redis-master-0"),
    ] {
        let p = cluster
            .get_if_exists(&["-n", ns, "pod", pod])
            .unwrap_or_else(|| panic!("pod {pod} is missing"));
        assert!(
            claim_names(&p).contains(&claim.to_string()),
            "{pod} does not mount {claim}"
        );
        let key = format!("PersistentVolumeClaim/{claim}");
        assert_eq!(after[&key].uid, before[&key].uid);
    }
    let workloads = settled_workloads(&cluster, ns);
    let refs = assert_references_present(&cluster, ns);
    let history = h.ok(&work.0, kc, &["history", RELEASE, "-n", ns]).stdout;
    assert!(
        history
            .lines()
            .last()
            .is_some_and(|l| l.contains("deployed") && l.contains("operator-wandb-0.1.0")),
        "the release is not on this chart:\n{history}"
    );
    assert_not_denied(&operator);
    drop(operator);

    summary(format!(
        "5 migration {}: upstream 0.43.8 StatefulSets ready in {upstream_ready}; {} guide steps ({}); \
         Ready (generation {generation}): {workloads}; all {claims} PVCs and {secrets} Secrets kept with \
         their uids, {identical} of {} byte-identical (sha256), the rest only gained values where upstream \
         had none ({}); wandb-mysql mounts wandb-mysql-data and wandb-redis-master-0 mounts \
         redis-data-wandb-redis-master-0, same uids, StatefulSets recreated by the operator; {} new PVCs for \
         stores upstream did not run; {refs} pod references present; operator denied nothing; total {}",
        h.name(),
        steps.len(),
        step_times.join(", "),
        before.len(),
        if filled.is_empty() {
            "none".to_string()
        } else {
            filled.join(", ")
        },
        new_claims.len(),
        secs(t0.elapsed())
    ));
}
