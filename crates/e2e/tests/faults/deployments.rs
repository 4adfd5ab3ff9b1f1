//! A Deployment's ReplicaSets and revision.

use super::*;

/// ReplicaSets of a Deployment (by owner uid): their names.
pub fn replica_sets(cluster: &Tenant, deploy: &str) -> BTreeSet<String> {
    let d = cluster.get_json(&["-n", cluster.ns(), "deployment", deploy]);
    let uid = text(&d, "/metadata/uid").to_string();
    let list = cluster.get_json(&["-n", cluster.ns(), "replicasets"]);
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|rs| {
            rs.pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|os| os.iter().any(|o| o["uid"] == uid.as_str()))
        })
        .map(|rs| text(rs, "/metadata/name").to_string())
        .collect()
}

pub fn revision(cluster: &Tenant, deploy: &str) -> i64 {
    let d = cluster.get_json(&["-n", cluster.ns(), "deployment", deploy]);
    d.pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
        .and_then(Value::as_str)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}
