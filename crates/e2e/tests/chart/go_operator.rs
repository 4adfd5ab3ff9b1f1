//! 6. An install of W&B's Go operator v1 is taken over.

use super::*;

/// The finalizer W&B's Go operator v1 keeps on the resource.
const V1_FINALIZER: &str = "finalizer.app.wandb.com";

/// The state W&B's Go operator v1.22 leaves, made as it makes it: its CRD,
/// the upstream chart installed with Helm as a release named after the
/// resource, the resource with `spec.chart`, v1's finalizer and
/// `status.phase`, and v1's two copies of the spec. One Secret of the
/// install, `wandb-mysql`, is made by hand instead, without our labels and
/// without its root password. Then docs/migrating-from-w-and-b-operator.md,
/// step by step.
#[test]
fn s6_an_install_of_w_and_b_s_go_operator_is_taken_over_as_documented() {
    let Some(upstream) = upstream_chart("v1 takeover") else {
        return;
    };
    let steps = guide_steps("migrating-from-w-and-b-operator.md");
    assert!(
        steps.len() == 3
            && steps[0].contains("createResource=false")
            && steps[1].contains("kubectl wait")
            && steps[2].contains("remove-v1-leftovers"),
        "docs/migrating-from-w-and-b-operator.md: expected ```sh blocks for the CRD and operator, \
         the wait, the leftovers: {steps:?}"
    );
    let t0 = Instant::now();
    // v1 embeds Helm 3.
    let h = Helm::V3;
    let ns = "wandb";
    let work = WorkDir::new("chart-v1-takeover");
    // A cluster of its own: the chart's cluster-wide objects (see main.rs).
    let cluster = Cluster::up_with_hook_pods_played_by_the_test("chart-v1-takeover");
    cluster.kubectl_ok(&["create", "namespace", ns], None);
    let v1_crd = wandb_e2e::fixture("v1-crd.yaml");
    cluster.kubectl_ok(&["create", "-f", &v1_crd.to_string_lossy()], None);
    cluster.wait_established("crd/weightsandbiases.apps.wandb.com");
    let upstream_ready = install_upstream(h, &work.0, &cluster, ns, &upstream);

    // A Secret of the install made by hand: a password of one's own, no
    // root password, no labels.
    let own_password = "aGFuZC1tYWRlLXBhc3N3b3Jk";
    cluster.kubectl(
        &["-n", ns, "delete", "secret", "wandb-mysql"],
        None,
        KUBECTL_TIMEOUT,
    );
    let hand_made = json!({
        "apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "wandb-mysql", "namespace": ns},
        "data": {"MYSQL_PASSWORD": own_password},
    });
    cluster.kubectl_ok(&["create", "-f", "-"], Some(&hand_made.to_string()));

    // The resource as v1 keeps it, and v1's copies of its spec.
    let values = json!({
        "global": {"host": "https://wandb.example.com", "license": "your-license-key"},
        "mysql": {"install": true},
        "redis": {"install": true},
    });
    let resource = json!({
        "apiVersion": "apps.wandb.com/v1", "kind": "WeightsAndBiases",
        "metadata": {"name": RELEASE, "namespace": ns, "finalizers": [V1_FINALIZER]},
        "spec": {
            "chart": {"url": "https://charts.wandb.ai", "name": "operator-wandb", "version": "0.43.8"},
            "values": values,
        },
    });
    cluster.kubectl_ok(&["create", "-f", "-"], Some(&resource.to_string()));
    for copy in ["spec-active", "spec-user"] {
        let secret = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": format!("{RELEASE}-{copy}"), "namespace": ns},
            "stringData": {"spec": json!({"values": values}).to_string()},
        });
        cluster.kubectl_ok(&["create", "-f", "-"], Some(&secret.to_string()));
    }
    cluster.kubectl_ok(
        &[
            "-n",
            ns,
            "patch",
            "weightsandbiases",
            RELEASE,
            "--subresource=status",
            "--type=merge",
            "-p",
            r#"{"status":{"phase":"Completed"}}"#,
        ],
        None,
    );
    let release_record = format!("sh.helm.release.v1.{RELEASE}.v1");
    assert!(
        cluster
            .get_if_exists(&["-n", ns, "secret", &release_record])
            .is_some()
    );
    let before = held(&cluster, ns, false);
    print_held("recorded before the takeover", &before);

    // Our CRD over v1's and our operator (the chart's Deployment runs from
    // the host, as the chart's ServiceAccount), then Ready.
    let guide = Guide::new(h, &work.0, &cluster);
    let mut step_times = vec![guide.run(0, &steps[0])];
    let w = cluster
        .get_if_exists(&["-n", ns, "weightsandbiases", RELEASE])
        .unwrap();
    assert_eq!(
        text(&w, "/status/phase"),
        "Completed",
        "our CRD dropped v1's status.phase"
    );
    assert_eq!(
        text(&w, "/spec/chart/version"),
        "0.43.8",
        "our CRD dropped spec.chart"
    );
    let operator = start_operator_as(&cluster, ns, &work.0, "wandb-operator-operator");
    step_times.push(guide.run(1, &steps[1]));
    let (generation, _) = wait_ready(&cluster, ns);

    // v1's finalizer is gone, and an Event says why.
    let w = cluster
        .get_if_exists(&["-n", ns, "weightsandbiases", RELEASE])
        .unwrap();
    let finalizers: Vec<&str> = w["metadata"]["finalizers"]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert_eq!(finalizers, ["apps.wandb.com/retention"]);
    let events = wandb_e2e::resource_events(&cluster, ns);
    let notes = |reason: &str| -> Vec<String> {
        events
            .iter()
            .filter(|(_, r, _, _)| r == reason)
            .map(|(_, _, note, _)| note.clone())
            .collect()
    };
    assert!(
        notes("TookOverFromV1")
            .iter()
            .any(|n| n.contains(V1_FINALIZER)),
        "no TookOverFromV1 event naming the finalizer: {events:?}"
    );
    let warnings = condition(&w, "ValuesWarnings")
        .map(|c| text(&c, "/message").to_string())
        .unwrap_or_default();
    assert!(
        warnings.contains("spec.chart"),
        "spec.chart not warned of: {warnings}"
    );

    // Every Secret and PVC kept with its uid and every value it had; only
    // keys that had none were added, each told by a Warning Event.
    let after = held(&cluster, ns, false);
    let filled = assert_kept("the takeover", &before, &after, true);
    let told: BTreeSet<String> = notes("SecretKeyGenerated")
        .iter()
        .filter_map(|n| n.split(" had no value").next())
        .map(str::to_string)
        .collect();
    assert!(
        told.contains("Secret/wandb-mysql: MYSQL_ROOT_PASSWORD"),
        "the key added to the hand-made Secret was not told: {told:?}"
    );
    for t in &told {
        assert!(
            filled.iter().any(|f| f.starts_with(t.as_str())),
            "{t} was told but not added: filled {filled:?}"
        );
    }
    assert_eq!(
        after["Secret/wandb-mysql"]
            .data
            .get("MYSQL_PASSWORD")
            .map(String::as_str),
        Some(own_password),
        "the hand-made password was replaced"
    );
    let identical = before
        .iter()
        .filter(|(k, b)| after[*k].data == b.data)
        .count();
    let replaced = notes("Replacing")
        .iter()
        .filter_map(|n| n.split(':').next().map(str::to_string))
        .collect::<BTreeSet<_>>();
    let workloads = settled_workloads(&cluster, ns);
    assert_not_denied(&operator);

    // v1's leftovers, when asked; nothing else.
    step_times.push(guide.run(2, &steps[2]));
    let (_, cleaned_in) = wait_for(
        "v1's leftovers removed",
        Duration::from_secs(60),
        POLL,
        || {
            let w = cluster
                .get_if_exists(&["-n", ns, "weightsandbiases", RELEASE])
                .unwrap();
            let left: Vec<String> = [
                release_record.clone(),
                format!("{RELEASE}-spec-active"),
                format!("{RELEASE}-spec-user"),
            ]
            .into_iter()
            .filter(|s| cluster.get_if_exists(&["-n", ns, "secret", s]).is_some())
            .chain(
                w.pointer("/status/phase")
                    .map(|_| "status.phase".to_string()),
            )
            .collect();
            if left.is_empty() {
                Ok(())
            } else {
                Err(format!("still there: {left:?}"))
            }
        },
    );
    let cleaned = held(&cluster, ns, false);
    let leftovers: Vec<&String> = before.keys().filter(|k| k.contains("-spec-")).collect();
    let mut expected_after = after.clone();
    for k in &leftovers {
        expected_after.remove(*k);
    }
    assert_kept("removing the leftovers", &expected_after, &cleaned, false);
    assert!(is_ready(&cluster, ns), "not Ready after the leftovers went");

    // Deleting the resource completes; the data stays, as the retention
    // policy says by default.
    let kept = held(&cluster, ns, true);
    let t = Instant::now();
    let out = cluster.kubectl(
        &[
            "-n",
            ns,
            "delete",
            "weightsandbiases",
            RELEASE,
            "--wait",
            "--timeout=120s",
        ],
        None,
        KUBECTL_TIMEOUT,
    );
    assert!(
        out.success(),
        "deleting the resource: {}\n{}",
        out.describe_status(),
        out.stderr
    );
    let deleted_in = secs(t.elapsed());
    assert!(
        cluster
            .get_if_exists(&["-n", ns, "weightsandbiases", RELEASE])
            .is_none()
    );
    assert_kept(
        "deleting the resource",
        &kept,
        &held(&cluster, ns, true),
        false,
    );
    assert_not_denied(&operator);
    drop(operator);

    let secrets = before.values().filter(|d| d.kind == "Secret").count();
    let claims = before.len() - secrets;
    summary(format!(
        "6 v1 takeover helm3: upstream 0.43.8 ready in {upstream_ready}; guide steps ({}); Ready \
         (generation {generation}): {workloads}; all {claims} PVCs and {secrets} Secrets kept with their \
         uids, {identical} of {} byte-identical, the rest only gained keys that had no value ({}); \
         SecretKeyGenerated for {}; recreated: {}; v1's finalizer removed; leftovers removed in {}; \
         deleted in {deleted_in}, {} PVCs and generated Secrets kept; operator denied nothing; total {}",
        step_times.join(", "),
        before.len(),
        filled.join(", "),
        told.iter().cloned().collect::<Vec<_>>().join(", "),
        replaced.iter().cloned().collect::<Vec<_>>().join(", "),
        secs(cleaned_in),
        kept.len(),
        secs(t0.elapsed())
    ));
}
