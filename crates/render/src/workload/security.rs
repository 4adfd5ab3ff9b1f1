//! The security contexts of W&B containers and pods.

use k8s_openapi::api::core::v1::{
    Capabilities, PodSecurityContext, SeccompProfile, SecurityContext,
};

use super::overrides::overlay_json;

/// The restricted-profile security context every W&B container gets.
pub fn container_security_context() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        capabilities: Some(Capabilities {
            drop: Some(vec!["ALL".into()]),
            add: None,
        }),
        privileged: Some(false),
        read_only_root_filesystem: Some(false),
        run_as_non_root: Some(true),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            localhost_profile: None,
        }),
        ..Default::default()
    }
}

/// The pod security context of W&B pods, with a catalog or user override.
pub(super) fn pod_security_context(
    catalog: Option<&PodSecurityContext>,
    user: Option<&PodSecurityContext>,
) -> PodSecurityContext {
    let mut psc = PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(999),
        run_as_group: Some(0),
        fs_group: Some(0),
        fs_group_change_policy: Some("OnRootMismatch".into()),
        seccomp_profile: Some(SeccompProfile {
            type_: "RuntimeDefault".into(),
            localhost_profile: None,
        }),
        ..Default::default()
    };
    for over in [catalog, user].into_iter().flatten() {
        overlay_json(&mut psc, over);
    }
    psc
}
