//! The cluster's garbage-collector log, and the items of a list.

use super::*;

/// The garbage collector's complaints, from the cluster's controller-manager log.
pub fn gc_log(cluster: &Cluster) -> String {
    let log = cluster.state_dir().join("logs/kube-controller-manager.log");
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| l.contains("garbage")).collect();
    last_lines(&lines.join("\n"), 15)
}

pub fn items(list: &Value) -> Vec<Value> {
    list["items"].as_array().cloned().unwrap_or_default()
}
