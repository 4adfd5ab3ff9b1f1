//! An install paused and stopped.

use super::*;

/// Deployments by name: (component, spec.replicas, status.replicas).
fn deployments(cluster: &Tenant) -> BTreeMap<String, (String, i64, i64)> {
    let list = cluster.get_json(&["-n", cluster.ns(), "deployments"]);
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let component = d
                .pointer("/metadata/labels")
                .and_then(|l| l.get(COMPONENT_LABEL))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            (
                text(d, "/metadata/name").to_string(),
                (
                    component,
                    int(d, "/spec/replicas"),
                    int(d, "/status/replicas"),
                ),
            )
        })
        .collect()
}

fn is_service(component: &str) -> bool {
    wandb_render::Catalog::builtin()
        .unwrap()
        .service(component)
        .is_some()
}

/// The names and uids of a kind's objects in the namespace.
fn uids(cluster: &Tenant, kind: &str) -> BTreeMap<String, String> {
    let list = cluster.get_json(&["-n", cluster.ns(), kind]);
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            (
                text(o, "/metadata/name").to_string(),
                text(o, "/metadata/uid").to_string(),
            )
        })
        .collect()
}

/// `spec.paused`: a Deployment deleted by hand stays deleted and the
/// operator makes no request meanwhile; resumed, it comes back within the
/// repair bound. `spec.stopped`: the W&B services at 0 replicas, their
/// autoscalers gone, the stores and exporters running, generated Secrets
/// and volumes the same objects with the same data; started again, the
/// replicas they had.
#[test]
fn an_install_paused_and_stopped() {
    let _serial = serial();
    let cluster = cluster("pause-stop");
    let op = operator(&cluster, "pause-stop", "e2e-operator");
    install(&cluster);

    // Paused.
    patch_spec(&cluster, json!({"paused": true}));
    wait_for(
        "Paused=True",
        CHANGE_TIMEOUT,
        Duration::from_millis(250),
        || {
            let res = resource(&cluster);
            if observed(&res) && condition_status(&res, "Paused") == "True" {
                Ok(())
            } else {
                Err(summary(&res))
            }
        },
    );
    let (_, requests_before) = counters(&op);
    let app = "wandb-app-bc";
    cluster.kubectl_ok(&["-n", cluster.ns(), "delete", "deployment", app], None);
    let paused_for = Duration::from_secs(30);
    thread::sleep(paused_for);
    assert_eq!(
        uid_of(&cluster, "Deployment", app),
        None,
        "Deployment/{app} came back while paused"
    );
    let (_, requests_after) = counters(&op);
    assert_eq!(
        requests_after, requests_before,
        "the operator made requests while the install was paused"
    );
    report(format!(
        "pause: Deployment/{app} stayed deleted for {}, 0 API requests",
        secs(paused_for)
    ));

    // Resumed: repaired at once.
    let resumed = Instant::now();
    patch_spec(&cluster, json!({"paused": false}));
    wait_for(
        &format!("Deployment/{app} back after the resume"),
        REPAIR_BOUND,
        POLL,
        || uid_of(&cluster, "Deployment", app).ok_or_else(|| "absent".to_string()),
    );
    report(format!(
        "resume: Deployment/{app} back {} after the resume",
        secs(resumed.elapsed())
    ));
    wait_reconciled_ready(&cluster, "Ready after the resume", READY_TIMEOUT);

    // Stopped.
    let running = deployments(&cluster);
    let secrets = generated_secrets(&cluster);
    let volumes = uids(&cluster, "persistentvolumeclaims");
    assert!(!volumes.is_empty() && !secrets.is_empty());
    assert!(!uids(&cluster, "horizontalpodautoscalers").is_empty());
    patch_spec(&cluster, json!({"stopped": true}));
    let (_, took) = wait_for(
        "the W&B services at zero",
        CHANGE_TIMEOUT,
        Duration::from_millis(250),
        || {
            let res = resource(&cluster);
            let ready = condition(&res, "Ready").unwrap_or_default();
            let up: Vec<String> = deployments(&cluster)
                .into_iter()
                .filter(|(_, (c, spec, status))| is_service(c) && (*spec, *status) != (0, 0))
                .map(|(n, (_, spec, status))| format!("{n} {status}/{spec}"))
                .collect();
            if observed(&res) && ready["reason"] == "Stopped" && up.is_empty() {
                Ok(())
            } else {
                Err(format!("running: {up:?}; {}", summary(&res)))
            }
        },
    );
    report(format!(
        "stop: the W&B services at 0 replicas in {}",
        secs(took)
    ));
    assert_eq!(
        uids(&cluster, "horizontalpodautoscalers"),
        BTreeMap::new(),
        "autoscalers left while stopped"
    );
    for (name, (component, spec, _)) in deployments(&cluster) {
        if !is_service(&component) {
            assert_eq!(
                Some(&spec),
                running.get(&name).map(|r| &r.1),
                "{name} changed"
            );
        }
    }
    let stores = cluster.get_json(&["-n", cluster.ns(), "statefulsets"]);
    for s in stores["items"].as_array().into_iter().flatten() {
        assert_eq!(
            int(s, "/status/readyReplicas"),
            int(s, "/spec/replicas"),
            "StatefulSet/{} is not ready while stopped",
            text(s, "/metadata/name")
        );
    }
    let after = generated_secrets(&cluster);
    for (name, s) in &secrets {
        let a = after
            .get(name)
            .unwrap_or_else(|| panic!("Secret/{name} gone"));
        assert_eq!(
            (&a.uid, &a.data),
            (&s.uid, &s.data),
            "Secret/{name} changed"
        );
    }
    assert_eq!(uids(&cluster, "persistentvolumeclaims"), volumes);

    // Started again: the replicas they had.
    patch_spec(&cluster, json!({"stopped": false}));
    let took = wait_reconciled_ready(&cluster, "Ready after the start", READY_TIMEOUT);
    report(format!("start: Ready again in {}", secs(took)));
    let started = deployments(&cluster);
    for (name, (component, spec, _)) in &running {
        assert_eq!(
            started.get(name).map(|s| s.1),
            Some(*spec),
            "{name} ({component}): not the replicas it had"
        );
    }
    assert!(!uids(&cluster, "horizontalpodautoscalers").is_empty());
}
