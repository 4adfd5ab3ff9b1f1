//! Pausing an install: while paused, the operator writes nothing for it but
//! its `Paused` condition, so that someone can work on its objects by hand
//! (a database maintenance, a debugging session) without being undone.

use kube::ResourceExt;

use crate::crd::WeightsAndBiases;

/// The annotation that pauses an install, for GitOps tools that own the spec.
pub const PAUSED_ANNOTATION: &str = "apps.wandb.com/paused";

/// What pauses the install, as the `Paused` condition names it; `None`
/// when it runs.
pub fn paused_by(wandb: &WeightsAndBiases) -> Option<String> {
    if wandb.spec.paused {
        return Some("spec.paused is true".into());
    }
    let annotation = wandb.annotations().get(PAUSED_ANNOTATION)?;
    annotation
        .trim()
        .eq_ignore_ascii_case("true")
        .then(|| format!("the annotation {PAUSED_ANNOTATION} is \"{annotation}\""))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn resource(spec: serde_json::Value, annotations: serde_json::Value) -> WeightsAndBiases {
        serde_json::from_value(json!({
            "apiVersion": "apps.wandb.com/v1",
            "kind": "WeightsAndBiases",
            "metadata": {"name": "wandb", "namespace": "wandb", "annotations": annotations},
            "spec": spec,
        }))
        .unwrap()
    }

    #[test]
    fn the_spec_or_the_annotation_pauses() {
        assert_eq!(paused_by(&resource(json!({}), json!({}))), None);
        assert_eq!(
            paused_by(&resource(json!({"paused": true}), json!({}))).as_deref(),
            Some("spec.paused is true")
        );
        let by_annotation = paused_by(&resource(json!({}), json!({PAUSED_ANNOTATION: "True"})));
        assert!(
            by_annotation
                .as_deref()
                .is_some_and(|m| m.contains(PAUSED_ANNOTATION)),
            "{by_annotation:?}"
        );
    }

    #[test]
    fn an_annotation_other_than_true_does_not_pause() {
        for value in ["false", "", "yes", "1"] {
            let wandb = resource(json!({}), json!({PAUSED_ANNOTATION: value}));
            assert_eq!(paused_by(&wandb), None, "{PAUSED_ANNOTATION}: {value:?}");
        }
    }
}
