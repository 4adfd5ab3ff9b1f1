//! Reading Deployments: the env of their pod template; which of them an
//! autoscaler drives.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::{Cluster, text};

/// The containers of a Deployment's pod template.
fn containers(deployment: &Value) -> impl Iterator<Item = &Value> {
    deployment["spec"]["template"]["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
}

/// The first env var with a literal value of a Deployment's first
/// container: (container, variable, value).
pub fn first_literal_env(deployment: &Value) -> (String, String, String) {
    let container = containers(deployment)
        .next()
        .expect("a Deployment with a container");
    let (var, value) = container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|e| {
            Some((
                e["name"].as_str()?.to_string(),
                e["value"].as_str()?.to_string(),
            ))
        })
        .expect("an env var with a literal value");
    (text(container, "/name").to_string(), var, value)
}

/// The value of env var `var` of container `container` of a Deployment,
/// `None` if it has no such variable.
pub fn env_value(deployment: &Value, container: &str, var: &str) -> Option<String> {
    containers(deployment)
        .find(|c| c["name"] == container)
        .and_then(|c| c["env"].as_array())
        .into_iter()
        .flatten()
        .find(|e| e["name"] == var)
        .map(|e| text(e, "/value").to_string())
}

/// The names of the Deployments of `ns` that a HorizontalPodAutoscaler
/// scales (their replicas are not the operator's to set back).
pub fn autoscaled(cluster: &Cluster, ns: &str) -> BTreeSet<String> {
    let hpas = cluster.get_json(&["-n", ns, "horizontalpodautoscalers"]);
    hpas["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| text(h, "/spec/scaleTargetRef/name").to_string())
        .collect()
}
