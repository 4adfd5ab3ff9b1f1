//! 3. Hand-made changes are repaired.

use super::*;

/// Deletes an object by hand and waits until the operator has recreated it
/// (a new uid). Returns the new uid and the time since the deletion was sent.
fn delete_and_wait_repair(cluster: &Tenant, kind: &str, name: &str) -> (String, Duration) {
    let old = uid_of(cluster, kind, name).unwrap_or_else(|| panic!("{kind}/{name} does not exist"));
    let start = Instant::now();
    cluster.kubectl_ok(&["-n", cluster.ns(), "delete", kind, name], None);
    let what = format!("{kind}/{name} recreated after being deleted");
    let (new, _) = wait_recreated(cluster, cluster.ns(), kind, name, &old, &what, REPAIR_BOUND);
    let took = start.elapsed();
    report(format!(
        "repair: {kind}/{name} deleted -> recreated in {}",
        secs(took)
    ));
    (new, took)
}

/// After a change by hand was set back: Deployment `deploy` is at
/// `generation` + 2 (the change and the way back), no more. Returns it.
fn assert_one_change_and_one_back(cluster: &Tenant, deploy: &str, generation: i64) -> Value {
    let now = cluster.get_json(&["-n", cluster.ns(), "deployment", deploy]);
    assert_eq!(
        int(&now, "/metadata/generation"),
        generation + 2,
        "{deploy}: one change by hand, one back"
    );
    now
}

/// Objects deleted or edited by hand are set back within 10 s.
#[test]
fn hand_made_changes_are_repaired() {
    let _serial = serial();
    let t0 = Instant::now();
    let cluster = cluster("repair");
    let _op = operator(&cluster, "repair", "e2e-operator");
    install(&cluster);
    let mut latencies = Vec::new();

    // Deleted: a Deployment, a Service, a plain Secret.
    for (kind, name) in [
        ("Deployment", "wandb-app-bc"),
        ("Service", "wandb-app"),
        ("Secret", "wandb-license"),
    ] {
        let before = cluster.get_json(&["-n", cluster.ns(), kind, name]);
        let (_, took) = delete_and_wait_repair(&cluster, kind, name);
        latencies.push((format!("delete {kind}/{name}"), took));
        let after = cluster.get_json(&["-n", cluster.ns(), kind, name]);
        if kind == "Secret" {
            assert_eq!(
                before["data"], after["data"],
                "{kind}/{name}: different data"
            );
        }
        assert_eq!(
            after
                .pointer("/metadata/ownerReferences/0/kind")
                .and_then(Value::as_str),
            Some("WeightsAndBiases"),
            "{kind}/{name}: not owned"
        );
    }

    // Deleted: a generated Secret. Its values cannot come back; the
    // operator generates new ones and says so with a Warning event.
    let name = "wandb-gorilla-session-key";
    let before = generated_secrets(&cluster)
        .remove(name)
        .unwrap_or_else(|| panic!("Secret/{name} is not a generated secret"));
    let (_, took) = delete_and_wait_repair(&cluster, "Secret", name);
    latencies.push((format!("delete Secret/{name} (generated)"), took));
    let after = generated_secrets(&cluster)
        .remove(name)
        .expect("recreated as a generated secret");
    for (key, value) in &before.data {
        let new = after
            .data
            .get(key)
            .unwrap_or_else(|| panic!("{name}: {key} is gone"));
        if before.keys.contains(key) {
            assert_ne!(
                new, value,
                "{name}: generated key {key} has its old value back?"
            );
            assert!(!new.is_empty(), "{name}: generated key {key} is empty");
            assert_eq!(
                new.len(),
                value.len(),
                "{name}: generated key {key} has another length"
            );
        } else {
            assert_eq!(new, value, "{name}: rendered key {key} changed");
        }
    }
    eprintln!(
        "[e2e] Secret/{name}: generated keys {:?} got new values; other keys kept",
        before.keys
    );
    let (event, _) = wait_for(
        "a Warning event about the regenerated secret",
        REPAIR_BOUND,
        Duration::from_millis(250),
        || {
            let events = wandb_e2e::resource_events(&cluster, cluster.ns());
            events
                .iter()
                .find(|(t, _, note, _)| t == "Warning" && note.contains(name))
                .cloned()
                .ok_or_else(|| format!("events: {events:?}"))
        },
    );
    eprintln!("[e2e] event: {} {}: {}", event.0, event.1, event.2);

    // Edited: replicas of a Deployment no autoscaler drives.
    let scaled = autoscaled(&cluster, cluster.ns());
    let deploy = "wandb-app-bc";
    assert!(
        !scaled.contains(deploy),
        "{deploy} is autoscaled: {scaled:?}"
    );
    let live = cluster.get_json(&["-n", cluster.ns(), "deployment", deploy]);
    let replicas = int(&live, "/spec/replicas");
    let generation = int(&live, "/metadata/generation");
    let start = Instant::now();
    cluster.kubectl_ok(
        &[
            "-n",
            cluster.ns(),
            "scale",
            "deployment",
            deploy,
            &format!("--replicas={}", replicas + 2),
        ],
        None,
    );
    wait_for(
        &format!("{deploy} scaled back to {replicas}"),
        REPAIR_BOUND,
        POLL,
        || {
            let d = cluster.get_json(&["-n", cluster.ns(), "deployment", deploy]);
            match int(&d, "/spec/replicas") {
                r if r == replicas => Ok(()),
                r => Err(format!("replicas {r}")),
            }
        },
    );
    let took = start.elapsed();
    let now = assert_one_change_and_one_back(&cluster, deploy, generation);
    report(format!(
        "repair: scale Deployment/{deploy} {replicas} -> {} -> set back in {}",
        replicas + 2,
        secs(took)
    ));
    latencies.push((format!("scale Deployment/{deploy}"), took));

    // Edited: the value of an environment variable the render sets.
    let (cname, var, value) = first_literal_env(&live);
    let generation = int(&now, "/metadata/generation");
    let start = Instant::now();
    cluster.kubectl_ok(
        &[
            "-n",
            cluster.ns(),
            "set",
            "env",
            &format!("deployment/{deploy}"),
            "-c",
            &cname,
            &format!("{var}=e2e-tampered"),
        ],
        None,
    );
    wait_for(
        &format!("{deploy}: env {var} set back"),
        REPAIR_BOUND,
        POLL,
        || {
            let d = cluster.get_json(&["-n", cluster.ns(), "deployment", deploy]);
            match env_value(&d, &cname, &var) {
                Some(v) if v == value => Ok(()),
                other => Err(format!("{var}={other:?}")),
            }
        },
    );
    let took = start.elapsed();
    assert_one_change_and_one_back(&cluster, deploy, generation);
    report(format!(
        "repair: env {var} of Deployment/{deploy} edited -> set back in {}",
        secs(took)
    ));
    latencies.push((format!("env edit Deployment/{deploy}"), took));

    // And the install is Ready again.
    wait_reconciled_ready(&cluster, "Ready after the repairs", CHANGE_TIMEOUT);
    let worst = latencies.iter().map(|(_, d)| *d).max().unwrap_or_default();
    report(format!(
        "repair latencies: {} (worst {})",
        latencies
            .iter()
            .map(|(w, d)| format!("{w} {}", secs(*d)))
            .collect::<Vec<_>>()
            .join("; "),
        secs(worst)
    ));
    report(format!(
        "test hand_made_changes_are_repaired: {}",
        secs(t0.elapsed())
    ));
}
