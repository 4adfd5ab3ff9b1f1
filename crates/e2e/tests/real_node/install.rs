//! `helm install` runs the operator as a pod on the real node: Ready by the
//! kubelet's own probes, and the install it reconciles Ready.

use super::*;

#[test]
fn helm_install_runs_the_operator_pod_ready_by_its_probes() {
    let _serial = serial();
    let Some(node) = real_node("helm_install_runs_the_operator_pod_ready_by_its_probes") else {
        return;
    };
    let _took = Took::new("helm_install_runs_the_operator_pod_ready_by_its_probes");
    let cluster = &node.cluster;
    let pods = ready_operator_pods(cluster, 1).or_else(|_| ready_operator_pods(cluster, 2));
    let pods = pods.unwrap_or_else(|seen| panic!("the operator pods are not Ready: {seen}"));
    let pod = &pods[0];
    let status = &pod["status"]["containerStatuses"][0];
    assert_eq!(
        status["restartCount"], 0,
        "the operator container restarted: {status}"
    );
    assert!(
        status["state"]["running"].is_object(),
        "not running: {status}"
    );

    // The kubelet ran the chart's probes and they passed: its prober counts
    // them. Liveness runs every 10 s, and its first may come before the
    // operator listens.
    for probe in ["Readiness", "Liveness"] {
        wait_for(
            &format!("a successful {probe} probe of {} by the kubelet", name(pod)),
            Duration::from_secs(40),
            Duration::from_secs(1),
            || {
                let probes = cluster.kubectl_ok(
                    &[
                        "get",
                        "--raw",
                        &format!("/api/v1/nodes/{NODE}/proxy/metrics/probes"),
                    ],
                    None,
                );
                let passed = probes.lines().any(|l| {
                    l.starts_with("prober_probe_total")
                        && l.contains(&format!("probe_type=\"{probe}\""))
                        && l.contains("result=\"successful\"")
                        && l.contains(&format!("pod=\"{}\"", name(pod)))
                });
                let totals = || {
                    probes
                        .lines()
                        .filter(|l| l.starts_with("prober_probe_total"))
                        .collect::<Vec<_>>()
                        .join("\n")
                };
                passed.then_some(()).ok_or_else(totals)
            },
        );
    }

    // Only the operator is real: every W&B pod is on kwok's nodes.
    let all: Value =
        serde_json::from_str(&cluster.kubectl_ok(&["get", "pods", "-n", NS, "-o", "json"], None))
            .unwrap_or_else(|e| panic!("kubectl get pods printed no JSON: {e}"));
    let on_real_node: Vec<&str> = all["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| {
            text(p, "/spec/nodeName") == NODE && !text(p, "/metadata/name").starts_with(DEPLOYMENT)
        })
        .map(name)
        .collect();
    assert!(
        on_real_node.is_empty(),
        "W&B pods on the real node: {on_real_node:?}"
    );
    let others = all["items"].as_array().map_or(0, Vec::len) - pods.len();
    assert!(
        others > 5,
        "the install made only {others} pods besides the operator"
    );

    let started = text(status, "/state/running/startedAt");
    let ready_at =
        wandb_e2e::condition(pod, "Ready").map(|c| text(&c, "/lastTransitionTime").to_string());
    report(format!(
        "real node: helm install to operator pod Ready {}, to WeightsAndBiases Ready {} \
         (container started {started}, pod Ready {})",
        secs(node.pod_ready_after),
        secs(node.install_ready_after),
        ready_at.unwrap_or_default()
    ));
    match container_memory(cluster, name(pod), "operator") {
        Some((rss, working_set)) => report(format!(
            "real node: operator pod memory from the kubelet's stats: RSS {rss:.1} MiB, working set {working_set:.1} MiB"
        )),
        None => panic!(
            "the kubelet's stats summary has no memory figures for {}",
            name(pod)
        ),
    }
}
