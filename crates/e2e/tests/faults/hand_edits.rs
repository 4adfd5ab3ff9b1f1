//! 3. Objects deleted and edited by hand; a field manager fight.

use super::*;

/// The first managed object of a kind (by name), preferring `prefer`.
fn pick(cluster: &Tenant, kind: &str, prefer: &str) -> String {
    let list = cluster.get_json(&[
        "-n",
        cluster.ns(),
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
        let what = format!("{kind}/{name} recreated after a deletion");
        let took = delete_and_wait_repair(&cluster, kind, &name, &what);
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
    let cm_key = cluster.get_json(&["-n", cluster.ns(), "configmap", &cm])["data"]
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
        let before = cluster.get_json(&["-n", cluster.ns(), kind, name]);
        let want = before.pointer(pointer).cloned().unwrap_or(Value::Null);
        let start = Instant::now();
        cluster.kubectl_ok(
            &[
                "-n",
                cluster.ns(),
                "patch",
                kind,
                name,
                "--type=json",
                "-p",
                patch,
            ],
            None,
        );
        wait_for(
            &format!("{kind}/{name}: {pointer} set back"),
            REPAIR_BOUND,
            POLL,
            || {
                let now = cluster.get_json(&["-n", cluster.ns(), kind, name]);
                match now.pointer(pointer) {
                    Some(v) if *v == want => Ok(()),
                    other => Err(format!("{pointer} = {other:?}")),
                }
            },
        );
        let took = start.elapsed();
        let after = cluster.get_json(&["-n", cluster.ns(), kind, name]);
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
    let scaled = autoscaled(&cluster, cluster.ns());
    assert!(!scaled.contains(deploy.as_str()), "{deploy} is autoscaled");
    let live = cluster.get_json(&["-n", cluster.ns(), "deployment", &deploy]);
    let replicas = int(&live, "/spec/replicas");
    let generation = int(&live, "/metadata/generation");
    let sets_before = replica_sets(&cluster, &deploy);
    let intruder = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": deploy, "namespace": cluster.ns()},
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
    let live = cluster.get_json(&["-n", cluster.ns(), "deployment", &deploy]);
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
    let (cname, var, value) = first_literal_env(&live);
    let revision_before = revision(&cluster, &deploy);
    let intruder = json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": deploy, "namespace": cluster.ns()},
        "spec": {"template": {"spec": {"containers": [{"name": cname, "env": [{"name": var, "value": "e2e-intruder"}]}]}}},
    })
    .to_string();
    let env_of = |d: &Value| env_value(d, &cname, &var).unwrap_or_default();
    let (writes, set_back, share, lat) = fight(
        &cluster,
        "env fight",
        Sides {
            deploy: &deploy,
            intruder: &intruder,
            ours: &value,
            theirs: "e2e-intruder",
        },
        env_of,
        fight_length,
    );
    let c = converged(&cluster, "after the env fight", &values, &baseline);
    let live = cluster.get_json(&["-n", cluster.ns(), "deployment", &deploy]);
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
