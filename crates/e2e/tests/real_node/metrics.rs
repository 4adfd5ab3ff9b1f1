//! `/metrics` scraped through a Service from another pod on the real node:
//! the pod network, kube-proxy's Service rules and the operator's listener.

use super::*;

#[test]
fn metrics_are_scraped_through_a_service_from_another_pod() {
    let _serial = serial();
    let Some(node) = real_node("metrics_are_scraped_through_a_service_from_another_pod") else {
        return;
    };
    let _took = Took::new("metrics_are_scraped_through_a_service_from_another_pod");
    let cluster = &node.cluster;
    let service = json!({
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "operator-metrics", "namespace": NS},
        "spec": {
            "selector": {"app.kubernetes.io/name": "wandb-operator", "app.kubernetes.io/instance": RELEASE},
            "ports": [{"name": "http-metrics", "port": 8080, "targetPort": "http-metrics"}],
        },
    });
    cluster.kubectl_ok(&["apply", "-f", "-"], Some(&service.to_string()));
    let ip = cluster.get_json(&["service", "operator-metrics", "-n", NS])["spec"]["clusterIP"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(!ip.is_empty(), "the Service has no cluster IP");
    let url = format!("http://{ip}:8080/metrics");
    // The Service is new, and the test before this one may have just rolled
    // the operator's pods: wait until its endpoints are the ready pods.
    wait_for(
        "the Service's endpoints to be ready",
        Duration::from_secs(60),
        Duration::from_millis(200),
        || {
            let slices = cluster.get_json(&[
                "endpointslices",
                "-n",
                NS,
                "-l",
                "kubernetes.io/service-name=operator-metrics",
            ]);
            let endpoints: Vec<&Value> = slices["items"]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|slice| slice["endpoints"].as_array().into_iter().flatten())
                .collect();
            let ready = |e: &&Value| e.pointer("/conditions/ready") == Some(&Value::Bool(true));
            if !endpoints.is_empty() && endpoints.iter().all(ready) {
                Ok(())
            } else {
                Err(format!("endpoints: {endpoints:?}"))
            }
        },
    );
    let scraper = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "scrape-metrics", "namespace": NS},
        "spec": {
            "restartPolicy": "Never",
            "nodeSelector": {NODE_TAINT: "true"},
            "tolerations": [{"key": NODE_TAINT, "operator": "Exists", "effect": "NoSchedule"}],
            "automountServiceAccountToken": false,
            "securityContext": {"runAsNonRoot": true, "seccompProfile": {"type": "RuntimeDefault"}},
            "containers": [{
                "name": "scrape",
                "image": BASE_IMAGE,
                "imagePullPolicy": "Never",
                // HTTP/1.0 by hand: the image's busybox has nc (hack/node/base-image).
                // kube-proxy writes a new Service's rules a moment after its
                // endpoints are ready, so the pod tries 15 times (45 s at most); the
                // answer comes first, then how many tries it took.
                "command": ["/bin/sh", "-c", format!(
                    "try=0; while [ $try -lt 15 ]; do try=$((try + 1)); \
                       out=$(printf 'GET /metrics HTTP/1.0\\r\\nHost: {ip}\\r\\n\\r\\n' | nc -w 2 {ip} 8080 2>/dev/null); \
                       if [ -n \"$out\" ]; then echo \"$out\"; echo \"tries: $try\"; exit 0; fi; \
                       sleep 1; \
                     done; echo \"no answer from {ip}:8080 in 15 tries\"; exit 1"
                )],
                "securityContext": {
                    "allowPrivilegeEscalation": false,
                    "readOnlyRootFilesystem": true,
                    "capabilities": {"drop": ["ALL"]},
                },
            }],
        },
    });
    cluster.kubectl_ok(&["apply", "-f", "-"], Some(&scraper.to_string()));
    let (phase, took) = wait_for(
        "the scraping pod to end",
        Duration::from_secs(90),
        Duration::from_millis(200),
        || {
            let pod = cluster.get_json(&["pod", "scrape-metrics", "-n", NS]);
            match text(&pod, "/status/phase") {
                phase @ ("Succeeded" | "Failed") => Ok(phase.to_string()),
                _ => Err(describe_pod(&pod)),
            }
        },
    );
    let body = cluster.kubectl_ok(&["logs", "scrape-metrics", "-n", NS], None);
    assert_eq!(phase, "Succeeded", "GET {url} from a pod failed:\n{body}");
    let status = body.lines().next().unwrap_or_default();
    assert!(
        status.contains(" 200 "),
        "GET {url} from a pod: {status}\n{body}"
    );
    // What every replica serves, the standby too (the Service picks one).
    for metric in [
        "wandb_operator_leader ",
        "wandb_operator_reconcile_duration_seconds_count",
        "# EOF",
    ] {
        assert!(
            body.contains(metric),
            "no {metric} in what {url} served:\n{body}"
        );
    }
    let tries = body
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("tries: "))
        .unwrap_or("?");
    report(format!(
        "real node: {url} scraped from another pod through the Service ({} lines, try {tries}; pod done in {})",
        body.lines().count(),
        secs(took)
    ));
    cluster.kubectl_ok(
        &["delete", "pod", "scrape-metrics", "-n", NS, "--wait=false"],
        None,
    );
}
