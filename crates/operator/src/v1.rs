//! Taking over an install of W&B's Go operator v1. Pure: what to patch and
//! delete; `engine` does it.
//!
//! v1 runs the upstream chart with Helm inside itself, as a release named
//! after the resource in its namespace. On the resource it leaves its
//! finalizer and `status.phase`; beside it, Helm's release records and two
//! Secrets holding copies of the spec. None of them is data of the install.

use serde_json::{Value, json};

use crate::crd::WeightsAndBiases;

/// v1's finalizer: with v1 gone, nothing would ever remove it.
pub const FINALIZER: &str = "finalizer.app.wandb.com";

/// Annotation on the resource asking for v1's leftovers to be removed.
pub const REMOVE_LEFTOVERS_ANNOTATION: &str = "apps.wandb.com/remove-v1-leftovers";

/// Type of the Secrets in which Helm keeps a release's revisions.
pub const HELM_RELEASE_TYPE: &str = "helm.sh/release.v1";

/// Whether the resource carries v1's finalizer.
pub fn has_finalizer(wandb: &WeightsAndBiases) -> bool {
    wandb
        .metadata
        .finalizers
        .iter()
        .flatten()
        .any(|f| f == FINALIZER)
}

/// A merge patch removing v1's finalizer and keeping the others. It names
/// the resource version it was computed from, so that a finalizer added
/// meanwhile is never dropped (the API refuses the patch instead).
pub fn finalizer_removal(wandb: &WeightsAndBiases) -> Option<Value> {
    if !has_finalizer(wandb) {
        return None;
    }
    let kept: Vec<&String> = wandb
        .metadata
        .finalizers
        .iter()
        .flatten()
        .filter(|f| *f != FINALIZER)
        .collect();
    Some(json!({
        "metadata": {
            "resourceVersion": wandb.metadata.resource_version,
            "finalizers": kept,
        }
    }))
}

/// What v1 left that a resource asks to be removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftovers {
    /// Label selector of the Helm release records of v1's release, or
    /// `None` when the resource itself belongs to a Helm release of that
    /// name: then those records are of that release (this chart's), not v1's.
    pub helm_release: Option<String>,
    /// v1's copies of the spec.
    pub secrets: Vec<String>,
}

/// The leftovers to remove: only when the resource's annotation asks for
/// it, and only once (v1's `status.phase` is removed last, so its absence
/// means done, or never a v1 install).
pub fn leftovers(wandb: &WeightsAndBiases) -> Option<Leftovers> {
    let asked = wandb
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REMOVE_LEFTOVERS_ANNOTATION))
        .is_some_and(|v| v == "true");
    let phase = wandb.status.as_ref().and_then(|s| s.phase.as_ref());
    if !asked || phase.is_none() {
        return None;
    }
    let name = wandb.metadata.name.clone().unwrap_or_default();
    let in_release_of_its_name = wandb
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("meta.helm.sh/release-name"))
        .is_some_and(|r| *r == name);
    Some(Leftovers {
        helm_release: (!in_release_of_its_name).then(|| format!("owner=helm,name={name}")),
        secrets: vec![format!("{name}-spec-active"), format!("{name}-spec-user")],
    })
}

/// The merge patch of the status subresource that removes v1's phase.
pub fn phase_removal() -> Value {
    json!({"status": {"phase": null}})
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::WeightsAndBiasesStatus;
    use std::collections::BTreeMap;

    fn v1_resource(finalizers: &[&str], annotations: &[(&str, &str)]) -> WeightsAndBiases {
        let mut w = WeightsAndBiases::new("wandb", Default::default());
        w.metadata.namespace = Some("ns".into());
        w.metadata.resource_version = Some("42".into());
        w.metadata.finalizers = Some(finalizers.iter().map(|f| f.to_string()).collect());
        w.metadata.annotations = Some(
            annotations
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<BTreeMap<_, _>>(),
        );
        w.status = Some(WeightsAndBiasesStatus {
            phase: Some("Completed".into()),
            ..Default::default()
        });
        w
    }

    #[test]
    fn v1s_finalizer_is_removed_and_the_others_are_kept_at_that_version() {
        let w = v1_resource(&[FINALIZER, "apps.wandb.com/retention"], &[]);
        assert!(has_finalizer(&w));
        assert_eq!(
            finalizer_removal(&w),
            Some(json!({"metadata": {
                "resourceVersion": "42",
                "finalizers": ["apps.wandb.com/retention"],
            }}))
        );
        let w = v1_resource(&[FINALIZER], &[]);
        assert_eq!(
            finalizer_removal(&w).unwrap()["metadata"]["finalizers"],
            json!([])
        );
        let ours = v1_resource(&["apps.wandb.com/retention"], &[]);
        assert!(!has_finalizer(&ours));
        assert_eq!(finalizer_removal(&ours), None);
        let mut none = ours.clone();
        none.metadata.finalizers = None;
        assert_eq!(finalizer_removal(&none), None);
    }

    #[test]
    fn leftovers_are_removed_only_when_asked_and_only_once() {
        let asked = [(REMOVE_LEFTOVERS_ANNOTATION, "true")];
        let w = v1_resource(&[], &asked);
        assert_eq!(
            leftovers(&w),
            Some(Leftovers {
                helm_release: Some("owner=helm,name=wandb".into()),
                secrets: vec!["wandb-spec-active".into(), "wandb-spec-user".into()],
            })
        );
        assert_eq!(leftovers(&v1_resource(&[], &[])), None, "not asked");
        let no = [(REMOVE_LEFTOVERS_ANNOTATION, "false")];
        assert_eq!(leftovers(&v1_resource(&[], &no)), None, "asked not to");
        let mut done = w.clone();
        done.status.as_mut().unwrap().phase = None;
        assert_eq!(leftovers(&done), None, "done, or never v1's");
        let mut fresh = w.clone();
        fresh.status = None;
        assert_eq!(leftovers(&fresh), None);
    }

    #[test]
    fn the_release_records_of_the_resources_own_helm_release_are_kept() {
        let w = v1_resource(
            &[],
            &[
                (REMOVE_LEFTOVERS_ANNOTATION, "true"),
                ("meta.helm.sh/release-name", "wandb"),
            ],
        );
        let l = leftovers(&w).unwrap();
        assert_eq!(l.helm_release, None);
        assert_eq!(l.secrets.len(), 2, "v1's spec copies still go");
        let other = v1_resource(
            &[],
            &[
                (REMOVE_LEFTOVERS_ANNOTATION, "true"),
                ("meta.helm.sh/release-name", "platform"),
            ],
        );
        assert!(leftovers(&other).unwrap().helm_release.is_some());
    }

    #[test]
    fn the_phase_is_removed_with_a_null() {
        assert_eq!(phase_removal(), json!({"status": {"phase": null}}));
    }
}
