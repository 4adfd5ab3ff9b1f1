//! W&B versions as the operator tracks them: which runs, which is being
//! rolled out, and the last whose migrations ran on the database, below
//! which a downgrade is refused (older code may not read a newer schema).

use kube::ResourceExt;

use crate::crd::WeightsAndBiases;

/// The annotation that lets a downgrade through, for one who restored the
/// database of that version (or knows the schema did not change).
pub const ALLOW_DOWNGRADE_ANNOTATION: &str = "apps.wandb.com/allow-downgrade";

/// `0.76.1`, `v0.76.1` or `0.76.1-rc.2` as numbers; `None` for a tag that
/// is no version (`latest`, a digest): those are never compared.
fn parse(tag: &str) -> Option<Vec<u64>> {
    let tag = tag.strip_prefix('v').unwrap_or(tag);
    let core = tag.split(['-', '+']).next()?;
    let parts: Option<Vec<u64>> = core.split('.').map(|p| p.parse().ok()).collect();
    parts.filter(|p| !p.is_empty())
}

/// Whether `desired` is a version below `migrated`.
pub fn is_downgrade(desired: &str, migrated: &str) -> bool {
    match (parse(desired), parse(migrated)) {
        (Some(d), Some(m)) => d < m,
        _ => false,
    }
}

/// Why the version the spec asks for (at `key`) is refused, if it is:
/// below the last version whose migrations ran, without the annotation
/// that allows it.
pub fn downgrade_refusal(
    wandb: &WeightsAndBiases,
    key: &str,
    desired: Option<&str>,
    migrated: Option<&str>,
) -> Option<String> {
    let (desired, migrated) = (desired?, migrated?);
    if !is_downgrade(desired, migrated) {
        return None;
    }
    let allowed = wandb
        .annotations()
        .get(ALLOW_DOWNGRADE_ANNOTATION)
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
    (!allowed).then(|| {
        format!(
            "{key}: {desired} is below {migrated}, whose migrations already \
             ran on the database, which {desired} may not read; nothing was changed. To \
             downgrade anyway (after restoring a backup made by {desired}), annotate the resource \
             {ALLOW_DOWNGRADE_ANNOTATION}=true"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_compare_by_their_numbers() {
        assert!(is_downgrade("0.75.0", "0.76.0"));
        assert!(is_downgrade("0.9.0", "0.10.0"));
        assert!(is_downgrade("v0.76.0", "0.76.1"));
        assert!(is_downgrade("0.76.0-rc.1", "0.77.0"));
        assert!(!is_downgrade("0.76.0", "0.76.0"));
        assert!(!is_downgrade("0.77.0", "0.76.0"));
        // Tags that are no versions are never compared.
        assert!(!is_downgrade("latest", "0.76.0"));
        assert!(!is_downgrade("0.75.0", "latest"));
        assert!(!is_downgrade("sha256:abc", "0.76.0"));
    }

    const KEY: &str = "spec.values.app.image.tag";

    #[test]
    fn a_downgrade_is_refused_unless_the_annotation_allows_it() {
        let resource = |annotations: serde_json::Value| -> WeightsAndBiases {
            serde_json::from_value(json!({
                "apiVersion": "apps.wandb.com/v1", "kind": "WeightsAndBiases",
                "metadata": {"name": "wandb", "annotations": annotations}, "spec": {}
            }))
            .unwrap()
        };
        let plain = resource(json!({}));
        let why = downgrade_refusal(&plain, KEY, Some("0.75.0"), Some("0.76.0"));
        assert!(
            why.as_deref()
                .is_some_and(|w| w.starts_with("spec.values.app.image.tag: 0.75.0 is below 0.76.0")),
            "{why:?}"
        );
        assert_eq!(
            downgrade_refusal(&plain, KEY, Some("0.77.0"), Some("0.76.0")),
            None
        );
        assert_eq!(downgrade_refusal(&plain, KEY, Some("0.75.0"), None), None);
        let allowed = resource(json!({ALLOW_DOWNGRADE_ANNOTATION: "true"}));
        assert_eq!(
            downgrade_refusal(&allowed, KEY, Some("0.75.0"), Some("0.76.0")),
            None
        );
    }
}
