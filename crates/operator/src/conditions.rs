//! The vocabulary of the resource's status conditions: their types and
//! reasons, used by the operator, the CLI and the CRD's documentation.

/// Condition types. Each component also has one `<Component>Ready`
/// ([`crate::status::condition_type`]).
pub mod types {
    /// Every component is ready (and nothing conflicts or waits).
    pub const READY: &str = "Ready";
    /// The spec's values were accepted.
    pub const VALUES_VALID: &str = "ValuesValid";
    /// True when some values were accepted with warnings (ignored keys).
    pub const VALUES_WARNINGS: &str = "ValuesWarnings";
    /// True while the operator writes nothing for the install (`spec.paused`
    /// or the annotation `apps.wandb.com/paused`).
    pub const PAUSED: &str = "Paused";
    /// The suffix of a component's condition: `AppReady`.
    pub const COMPONENT_SUFFIX: &str = "Ready";
}

/// Condition reasons.
pub mod reasons {
    /// `Ready` and `<Component>Ready` when True.
    pub const READY: &str = "Ready";
    /// `Ready` while components are starting.
    pub const PROGRESSING: &str = "Progressing";
    /// `Ready` while objects belong to another install.
    pub const CONFLICT: &str = "Conflict";
    /// `Ready` while the spec asks for a version below the last migrated one.
    pub const DOWNGRADE_REFUSED: &str = "DowngradeRefused";
    /// `Ready` while a migration Job failed (the services keep their version).
    pub const MIGRATION_FAILED: &str = "MigrationFailed";
    /// `Ready` while `spec.stopped` holds the W&B services at zero.
    pub const STOPPED: &str = "Stopped";
    /// `Paused` when True.
    pub const PAUSED: &str = "Paused";
    /// `Paused` when False.
    pub const NOT_PAUSED: &str = "NotPaused";
    /// `<Component>Ready` when False.
    pub const NOT_READY: &str = "NotReady";
    /// `ValuesValid` when True.
    pub const VALID: &str = "Valid";
    /// `ValuesValid` when False; also the reason of its Warning event.
    pub const INVALID_VALUES: &str = "InvalidValues";
    /// `Ready` while the release document `spec.catalog` names cannot be
    /// read (nothing is applied); also the reason of its Warning event.
    pub const INVALID_CATALOG: &str = "InvalidCatalog";
    /// `ValuesWarnings` when False.
    pub const NONE: &str = "None";
    /// `ValuesWarnings` when True.
    pub const IGNORED_KEYS: &str = "IgnoredKeys";
}

/// Every condition type of fixed name, for documentation and tests.
pub const FIXED_TYPES: [&str; 4] = [
    types::READY,
    types::VALUES_VALID,
    types::VALUES_WARNINGS,
    types::PAUSED,
];

/// What `status.conditions` holds, for the CRD's schema.
pub fn description() -> String {
    let fixed: Vec<String> = FIXED_TYPES.iter().map(|t| format!("`{t}`")).collect();
    format!(
        "{}, and one `<Component>{}` per component (e.g. `App{}`).",
        fixed.join(", "),
        types::COMPONENT_SUFFIX,
        types::COMPONENT_SUFFIX
    )
}

/// Whether a condition type is `Ready` or a component's.
pub fn is_readiness(type_: &str) -> bool {
    type_.ends_with(types::COMPONENT_SUFFIX)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The CRD's description of `status.conditions` is the vocabulary's
    /// documentation: it names every condition type.
    #[test]
    fn the_crd_documents_every_condition_type() {
        let crd = serde_json::to_value(crate::crd::crd()).unwrap();
        let description = crd
            .pointer("/spec/versions/0/schema/openAPIV3Schema/properties/status/properties/conditions/description")
            .and_then(|d| d.as_str())
            .unwrap_or_default()
            .to_string();
        for type_ in FIXED_TYPES.iter().chain([&"<Component>Ready"]) {
            assert!(
                description.contains(&format!("`{type_}`")),
                "the CRD's status.conditions description does not name {type_}: {description:?}"
            );
        }
    }

    #[test]
    fn readiness_conditions_are_ready_and_the_components() {
        assert!(is_readiness(types::READY));
        assert!(is_readiness(&crate::status::condition_type("weave-trace")));
        assert!(!is_readiness(types::VALUES_VALID));
        assert!(!is_readiness(types::VALUES_WARNINGS));
    }
}
