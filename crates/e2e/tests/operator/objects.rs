//! The live objects of the install: their versions, what changed between two
//! looks, when they settle; the app Deployment's rollout.

use super::*;

/// A kind the operator manages: (API path, plural, kind, namespaced).
pub type KindRef = (&'static str, &'static str, &'static str, bool);

/// Every kind the default install has (`kinds::watched()` of the operator).
pub const KINDS: &[KindRef] = &[
    ("/api/v1", "secrets", "Secret", true),
    ("/api/v1", "configmaps", "ConfigMap", true),
    ("/api/v1", "serviceaccounts", "ServiceAccount", true),
    ("/api/v1", "services", "Service", true),
    (
        "/api/v1",
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        true,
    ),
    ("/apis/rbac.authorization.k8s.io/v1", "roles", "Role", true),
    (
        "/apis/rbac.authorization.k8s.io/v1",
        "rolebindings",
        "RoleBinding",
        true,
    ),
    (
        "/apis/rbac.authorization.k8s.io/v1",
        "clusterroles",
        "ClusterRole",
        false,
    ),
    (
        "/apis/rbac.authorization.k8s.io/v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
        false,
    ),
    ("/apis/apps/v1", "deployments", "Deployment", true),
    ("/apis/apps/v1", "statefulsets", "StatefulSet", true),
    ("/apis/apps/v1", "daemonsets", "DaemonSet", true),
    ("/apis/batch/v1", "jobs", "Job", true),
    ("/apis/batch/v1", "cronjobs", "CronJob", true),
    (
        "/apis/autoscaling/v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        true,
    ),
    (
        "/apis/policy/v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        true,
    ),
    ("/apis/networking.k8s.io/v1", "ingresses", "Ingress", true),
    (
        "/apis/networking.k8s.io/v1",
        "networkpolicies",
        "NetworkPolicy",
        true,
    ),
];

pub const WORKLOADS: &str = "deployments,statefulsets,daemonsets,jobs,cronjobs";

pub fn collection_url(kind: &KindRef, ns: &str, query: &str) -> String {
    let (api, plural, _, namespaced) = *kind;
    let scope = if namespaced {
        format!("/namespaces/{ns}")
    } else {
        String::new()
    };
    format!("{api}{scope}/{plural}?labelSelector={INSTANCE_LABEL}%3D{NAME}{query}")
}

/// One live object: what tells whether it changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Obj {
    pub uid: String,
    pub rv: String,
    /// The last writer, from managedFields: `manager operation time`.
    pub last_writer: String,
}

/// Every object labelled `apps.wandb.com/instance=wandb`, by `Kind/name`,
/// and the resourceVersion of each kind's list (to watch from).
pub fn managed_with_versions(cluster: &Tenant) -> (BTreeMap<String, Obj>, Vec<(KindRef, String)>) {
    let mut objects = BTreeMap::new();
    let mut versions = Vec::new();
    for kind in KINDS {
        let out = cluster.kubectl_ok(
            &["get", "--raw", &collection_url(kind, cluster.ns(), "")],
            None,
        );
        let list: Value = serde_json::from_str(&out).expect("a list in JSON");
        versions.push((*kind, text(&list, "/metadata/resourceVersion").to_string()));
        for item in list["items"].as_array().into_iter().flatten() {
            let last_writer = item
                .pointer("/metadata/managedFields")
                .and_then(Value::as_array)
                .and_then(|fields| fields.iter().max_by_key(|f| text(f, "/time").to_string()))
                .map(|f| {
                    format!(
                        "{} {} {}{}",
                        text(f, "/manager"),
                        text(f, "/operation"),
                        text(f, "/time"),
                        match text(f, "/subresource") {
                            "" => String::new(),
                            s => format!(" ({s})"),
                        }
                    )
                })
                .unwrap_or_default();
            objects.insert(
                format!("{}/{}", kind.2, text(item, "/metadata/name")),
                Obj {
                    uid: text(item, "/metadata/uid").into(),
                    rv: text(item, "/metadata/resourceVersion").into(),
                    last_writer,
                },
            );
        }
    }
    (objects, versions)
}

pub fn managed(cluster: &Tenant) -> BTreeMap<String, Obj> {
    managed_with_versions(cluster).0
}

/// What differs between two snapshots, one line per object.
pub fn changes(before: &BTreeMap<String, Obj>, after: &BTreeMap<String, Obj>) -> Vec<String> {
    let mut out = Vec::new();
    for (k, b) in before {
        match after.get(k) {
            None => out.push(format!("{k}: deleted")),
            Some(a) if a.uid != b.uid => out.push(format!("{k}: recreated ({})", a.last_writer)),
            Some(a) if a.rv != b.rv => out.push(format!(
                "{k}: resourceVersion {} -> {} (last write: {})",
                b.rv, a.rv, a.last_writer
            )),
            _ => {}
        }
    }
    for (k, a) in after {
        if !before.contains_key(k) {
            out.push(format!("{k}: created ({})", a.last_writer));
        }
    }
    out
}

/// Waits until no managed object has changed for `quiet` (controllers of
/// the cluster finish their own work: the HPA scales its Deployments, ...).
pub fn settle(cluster: &Tenant, quiet: Duration, max: Duration) -> BTreeMap<String, Obj> {
    let start = Instant::now();
    let mut last = managed(cluster);
    let mut since = Instant::now();
    loop {
        thread::sleep(Duration::from_secs(2));
        let now = managed(cluster);
        if now != last {
            if start.elapsed() > max {
                panic!(
                    "managed objects still change after {:.0} s:\n{}",
                    max.as_secs_f64(),
                    indent(&changes(&last, &now).join("\n"), "  ")
                );
            }
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= quiet {
            eprintln!(
                "[e2e] {} managed objects settled after {:.1} s",
                last.len(),
                start.elapsed().as_secs_f64()
            );
            return last;
        }
    }
}

/// The app Deployment's pod template and ReplicaSets, to tell it untouched.
pub fn app_rollout(cluster: &Tenant) -> (Value, BTreeSet<String>) {
    let app = cluster.get_json(&["-n", cluster.ns(), "deployment", "wandb-app-bc"]);
    let sets = cluster.get_json(&["-n", cluster.ns(), "replicasets"]);
    let owned: BTreeSet<String> = sets["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|rs| rs.pointer("/metadata/ownerReferences/0/name") == Some(&json!("wandb-app-bc")))
        .map(|rs| text(rs, "/metadata/name").to_string())
        .collect();
    (app["spec"]["template"].clone(), owned)
}
