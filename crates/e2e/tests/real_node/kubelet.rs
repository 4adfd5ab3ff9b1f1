//! The kubelet's own checks, which kwok does not make: the chart's pod spec
//! with user 0 is refused before its container starts.

use super::*;

#[test]
fn the_kubelet_refuses_the_operator_pod_as_root() {
    let _serial = serial();
    let Some(node) = real_node("the_kubelet_refuses_the_operator_pod_as_root") else {
        return;
    };
    let _took = Took::new("the_kubelet_refuses_the_operator_pod_as_root");
    let cluster = &node.cluster;
    // Admission would refuse user 0 under `restricted`: this namespace lets
    // it through, so that the kubelet is what refuses it.
    let ns = "as-root";
    namespace(cluster, ns, "privileged");
    let deployment = cluster.get_json(&["deployment", DEPLOYMENT, "-n", NS]);
    let mut spec = deployment["spec"]["template"]["spec"].clone();
    spec["securityContext"]["runAsUser"] = json!(0);
    spec["serviceAccountName"] = json!("default");
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "operator-as-root", "namespace": ns},
        "spec": spec,
    });
    cluster.kubectl_ok(&["apply", "-f", "-"], Some(&pod.to_string()));
    let (refusal, _) = wait_for(
        "the kubelet refusing the pod that runs as root",
        Duration::from_secs(90),
        Duration::from_millis(250),
        || {
            let pod = cluster.get_json(&["pod", "operator-as-root", "-n", ns]);
            let waiting = &pod["status"]["containerStatuses"][0]["state"]["waiting"];
            match text(waiting, "/reason") {
                "CreateContainerConfigError" => Ok(text(waiting, "/message").to_string()),
                _ => Err(describe_pod(&pod)),
            }
        },
    );
    assert!(
        refusal.contains("non-root"),
        "refused, but not for running as root: {refusal}"
    );
    let pod = cluster.get_json(&["pod", "operator-as-root", "-n", ns]);
    assert!(
        pod["status"]["containerStatuses"][0]["state"]["running"].is_null(),
        "{pod}"
    );
    report(format!("real node: the kubelet refused user 0: {refusal}"));
    cluster.kubectl_ok(&["delete", "namespace", ns, "--wait=false"], None);
}
