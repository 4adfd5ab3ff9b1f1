//! The kinds of object the operator manages.

use kube::api::{ApiResource, GroupVersionKind};

/// A kind the render produces: where it lives in the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KindInfo {
    pub api_version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
    /// Built into Kubernetes, so it can be watched; others come from CRDs
    /// that may be missing, and are read on demand.
    pub core: bool,
}

const fn k(
    api_version: &'static str,
    kind: &'static str,
    plural: &'static str,
    namespaced: bool,
    core: bool,
) -> KindInfo {
    KindInfo {
        api_version,
        kind,
        plural,
        namespaced,
        core,
    }
}

pub const KINDS: &[KindInfo] = &[
    k("v1", "Secret", "secrets", true, true),
    k("v1", "ConfigMap", "configmaps", true, true),
    k("v1", "ServiceAccount", "serviceaccounts", true, true),
    k("v1", "Service", "services", true, true),
    k(
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
        true,
    ),
    k("v1", "Pod", "pods", true, true),
    k("rbac.authorization.k8s.io/v1", "Role", "roles", true, true),
    k(
        "rbac.authorization.k8s.io/v1",
        "RoleBinding",
        "rolebindings",
        true,
        true,
    ),
    k(
        "rbac.authorization.k8s.io/v1",
        "ClusterRole",
        "clusterroles",
        false,
        true,
    ),
    k(
        "rbac.authorization.k8s.io/v1",
        "ClusterRoleBinding",
        "clusterrolebindings",
        false,
        true,
    ),
    k("apps/v1", "Deployment", "deployments", true, true),
    k("apps/v1", "StatefulSet", "statefulsets", true, true),
    k("apps/v1", "DaemonSet", "daemonsets", true, true),
    k("batch/v1", "Job", "jobs", true, true),
    k("batch/v1", "CronJob", "cronjobs", true, true),
    k(
        "autoscaling/v2",
        "HorizontalPodAutoscaler",
        "horizontalpodautoscalers",
        true,
        true,
    ),
    k(
        "policy/v1",
        "PodDisruptionBudget",
        "poddisruptionbudgets",
        true,
        true,
    ),
    k("networking.k8s.io/v1", "Ingress", "ingresses", true, true),
    k(
        "networking.k8s.io/v1",
        "NetworkPolicy",
        "networkpolicies",
        true,
        true,
    ),
    k(
        "keda.sh/v1alpha1",
        "ScaledObject",
        "scaledobjects",
        true,
        false,
    ),
    k(
        "cloud.google.com/v1",
        "BackendConfig",
        "backendconfigs",
        true,
        false,
    ),
    k(
        "networking.gke.io/v1",
        "ManagedCertificate",
        "managedcertificates",
        true,
        false,
    ),
    k("cert-manager.io/v1", "Issuer", "issuers", true, false),
];

/// What the operator knows of a kind, by name.
pub fn info(kind: &str) -> Option<&'static KindInfo> {
    KINDS.iter().find(|k| k.kind == kind)
}

impl KindInfo {
    pub fn api_resource(&self) -> ApiResource {
        let (group, version) = match self.api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", self.api_version),
        };
        ApiResource::from_gvk_with_plural(
            &GroupVersionKind::gvk(group, version, self.kind),
            self.plural,
        )
    }
}

/// Kinds the operator watches (and keeps a cache of).
pub fn watched() -> impl Iterator<Item = &'static KindInfo> {
    // Pods are only ever test pods, which the operator does not apply.
    KINDS.iter().filter(|k| k.core && k.kind != "Pod")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_the_render_makes_is_known() {
        let values = wandb_render::builtin::from_user_tree(serde_json::json!({
            "global": {"cloudProvider": "gcp", "api": {"enabled": true}},
            "ingress": {"issuer": {"create": true}},
            "parquet": {"sizing": {"small": {"autoscaling": {"keda": {"enabled": true}}}}},
        }))
        .unwrap()
        .values;
        for m in wandb_render::builtin::render(&values, &wandb_render::Release::new("wandb", "ns"))
        {
            let known =
                info(m.object.kind()).unwrap_or_else(|| panic!("{} is unknown", m.object.kind()));
            assert_eq!(
                known.api_version,
                m.object.api_version(),
                "{}",
                m.object.kind()
            );
            assert_eq!(
                known.namespaced,
                m.object.is_namespaced(),
                "{}",
                m.object.kind()
            );
        }
    }
}
