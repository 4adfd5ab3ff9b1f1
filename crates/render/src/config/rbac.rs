//! The binding the internal JWTs need: anyone may read the cluster's
//! service-account issuer, so that the JWTs' issuers can be verified.

use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleRef, Subject};

use crate::context::Ctx;
use crate::objects::{Manifest, Object};

use super::meta;

/// Lets anyone read the cluster's service-account issuer, so the internal
/// JWTs' issuers can be verified. Only when an internal JWT map is given.
pub(super) fn oidc_reviewer(ctx: &Ctx) -> Vec<Manifest> {
    if ctx.values.app.internal_jwt_map.is_empty() {
        return Vec::new();
    }
    let mut metadata = meta(ctx, &ctx.name("oidc-reviewer"), "app");
    // Cluster-scoped.
    metadata.namespace = None;
    vec![Manifest::new(
        "app",
        Object::ClusterRoleBinding(ClusterRoleBinding {
            metadata,
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "ClusterRole".into(),
                name: "system:service-account-issuer-discovery".into(),
            },
            subjects: Some(vec![Subject {
                kind: "Group".into(),
                name: "system:unauthenticated".into(),
                api_group: Some("rbac.authorization.k8s.io".into()),
                namespace: None,
            }]),
        }),
    )]
}
