//! 1. The default install reaches Ready.

use super::*;

/// The default install (host and license only) reaches Ready, with one
/// `<Component>Ready` condition per component of the install, each True,
/// on kwok nodes; `kubectl wait --for=condition=Ready` returns 0.
#[test]
fn default_install_reaches_ready() {
    let _serial = serial();
    let t0 = Instant::now();
    let cluster = cluster("ready");
    let op = operator(&cluster, "ready", "e2e-operator");

    let took = install(&cluster);
    report(format!(
        "ready: default install Ready in {} (kubectl wait returned 0)",
        secs(took)
    ));

    let res = resource(&cluster);
    assert!(
        observed(&res),
        "status is not for the current spec: {}",
        summary(&res)
    );
    assert_eq!(
        condition_status(&res, "ValuesValid"),
        "True",
        "{}",
        summary(&res)
    );

    // One condition per component that has a workload, each True.
    let workloads = cluster.get_json(&["-n", cluster.ns(), WORKLOADS, "-l", INSTANCE_LABEL]);
    let workloads = workloads["items"].as_array().cloned().unwrap_or_default();
    let expected: BTreeSet<String> = workloads
        .iter()
        .map(|w| {
            condition_type_of(text(
                w,
                &format!("/metadata/labels/{}", COMPONENT_LABEL.replace('/', "~1")),
            ))
        })
        .collect();
    let actual: BTreeSet<String> = conditions(&res)
        .iter()
        .map(|c| text(c, "/type").to_string())
        .filter(|t| t.ends_with("Ready") && t != "Ready")
        .collect();
    assert!(expected.len() >= 10, "too few components: {expected:?}");
    assert_eq!(
        actual, expected,
        "one <Component>Ready condition per component with a workload"
    );
    for t in &actual {
        let c = condition(&res, t).unwrap();
        assert_eq!(c["status"], "True", "{t}: {}", text(&c, "/message"));
        assert_eq!(
            int(&c, "/observedGeneration"),
            int(&res, "/metadata/generation"),
            "{t}"
        );
    }
    eprintln!(
        "[e2e] {} component conditions True: {}",
        actual.len(),
        actual.iter().cloned().collect::<Vec<_>>().join(", ")
    );

    // The workloads really are ready, their pods on kwok's nodes.
    for w in &workloads {
        let id = format!("{}/{}", text(w, "/kind"), text(w, "/metadata/name"));
        let ok = match text(w, "/kind") {
            "Deployment" => int(w, "/status/availableReplicas") >= int(w, "/spec/replicas").max(1),
            "StatefulSet" => int(w, "/status/readyReplicas") >= int(w, "/spec/replicas").max(1),
            "DaemonSet" => {
                int(w, "/status/numberReady") == int(w, "/status/desiredNumberScheduled")
                    && int(w, "/status/desiredNumberScheduled") > 0
            }
            "Job" => w["status"]["conditions"].as_array().is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Complete" && c["status"] == "True")
            }),
            _ => true,
        };
        assert!(ok, "{id} is not ready: {}", w["status"]);
    }
    // Autoscaled Deployments start at their autoscaler's minimum (the HPA
    // controller would first raise them after its 15 s sync period), and the
    // operator's applies leave their replicas to the autoscaler.
    let hpas = cluster.get_json(&["-n", cluster.ns(), "horizontalpodautoscalers"]);
    let hpas = hpas["items"].as_array().cloned().unwrap_or_default();
    assert!(!hpas.is_empty(), "the default install has no autoscaler");
    for hpa in &hpas {
        let min = int(hpa, "/spec/minReplicas");
        let target = text(hpa, "/spec/scaleTargetRef/name");
        let d = cluster.get_json(&["-n", cluster.ns(), "deployment", target]);
        assert!(
            int(&d, "/status/availableReplicas") >= min && int(&d, "/spec/replicas") >= min,
            "Deployment/{target} is below its autoscaler's minimum {min} at Ready: {}",
            d["status"]
        );
        let replicas_owners: Vec<(&str, &str)> = d["metadata"]["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["fieldsV1"]["f:spec"].get("f:replicas").is_some())
            .map(|m| (text(m, "/manager"), text(m, "/operation")))
            .collect();
        // An update, not an apply: a later apply would otherwise undo the
        // autoscaler's changes.
        assert_eq!(
            replicas_owners,
            [("wandb-operator", "Update")],
            "who owns Deployment/{target}'s replicas"
        );
    }
    let pods = cluster.get_json(&["-n", cluster.ns(), "pods"]);
    let pods = pods["items"].as_array().cloned().unwrap_or_default();
    assert!(!pods.is_empty(), "no pods");
    let mut nodes = BTreeSet::new();
    for p in &pods {
        let name = text(p, "/metadata/name");
        let node = text(p, "/spec/nodeName");
        assert!(
            node.starts_with("kwok-node-"),
            "pod {name} is on node {node:?}"
        );
        nodes.insert(node.to_string());
        match text(p, "/status/phase") {
            "Succeeded" => {}
            "Running" => assert!(
                p["status"]["conditions"].as_array().is_some_and(|cs| cs
                    .iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")),
                "pod {name} is Running but not Ready"
            ),
            phase => panic!("pod {name} is {phase}"),
        }
    }
    // Everything in the inventory exists.
    let live = managed(&cluster);
    let inventory: Vec<String> = res["status"]["inventory"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    let missing: Vec<&String> = inventory
        .iter()
        .filter(|k| !live.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "in the inventory but not in the cluster: {missing:?}"
    );
    eprintln!(
        "[e2e] {} workloads ready, {} pods on {} kwok nodes, {} objects in the inventory, {} managed objects live",
        workloads.len(),
        pods.len(),
        nodes.len(),
        inventory.len(),
        live.len()
    );
    let (values, places) = secrets_not_revealed(&cluster, &op);
    eprintln!("[e2e] {values} secret values, none in {places}");
    report(format!(
        "test default_install_reaches_ready: {}",
        secs(t0.elapsed())
    ));
}

/// No value of a Secret of the install (generated passwords and keys, the
/// license) appears in the operator's log (debug level), the namespace's
/// Events or the resource's status. Returns how many values were looked for
/// and where.
fn secrets_not_revealed(cluster: &Tenant, op: &Operator) -> (usize, String) {
    use base64::Engine as _;
    let list = cluster.get_json(&["-n", cluster.ns(), "secrets"]);
    let mut values = BTreeSet::from([LICENSE.to_string()]);
    for s in list["items"].as_array().into_iter().flatten() {
        for v in s["data"].as_object().into_iter().flat_map(|m| m.values()) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap_or(""))
                .unwrap_or_default();
            let decoded = String::from_utf8_lossy(&decoded).to_string();
            // Short values ("3306", "true") are not secrets and match anywhere.
            if decoded.len() >= 12 {
                values.insert(decoded);
            }
        }
    }
    assert!(values.len() >= 5, "too few secret values: {}", values.len());
    let log = op.log_text();
    assert!(log.len() > 1000, "the operator's log is nearly empty");
    let events = cluster.kubectl_ok(&["-n", cluster.ns(), "get", "events", "-o", "json"], None);
    let status = resource(cluster)["status"].to_string();
    for (place, text) in [
        ("the operator's log", &log),
        ("Events", &events),
        ("status", &status),
    ] {
        for v in &values {
            assert!(
                !text.contains(v.as_str()),
                "a secret value appears in {place}"
            );
        }
    }
    (
        values.len(),
        format!("the operator's log ({} bytes), Events, status", log.len()),
    )
}
