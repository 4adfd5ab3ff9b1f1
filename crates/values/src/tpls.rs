//! Upstream's template lists, `containers.<c>.portsTpls` and
//! `podAnnotationsTpls`: each entry is Go template text that the upstream
//! chart renders into YAML. There is no template engine here, so an entry is
//! either a call of one of upstream's helpers, known by name, or plain YAML
//! (the render fills in `{{ .Release.Name }}` and `{{ .Release.Namespace }}`).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ContainerPort;

/// Upstream's helper for the lumen agent's pull port.
pub const LUMEN_PORT: &str = "wandb.lumen.gorilla.containerPort";
/// Upstream's helpers for pod annotations.
pub const LUMEN_ANNOTATIONS: &str = "wandb.lumen.agent.target";
pub const GCS_FUSE_ANNOTATIONS: &str = "wandb.gcsFuseAnnotations";
pub const MCP_DATADOG_ANNOTATIONS: &str = "wandb.mcpDatadogTags";

const PORT_HELPERS: &[&str] = &[LUMEN_PORT];
const ANNOTATION_HELPERS: &[&str] = &[
    LUMEN_ANNOTATIONS,
    GCS_FUSE_ANNOTATIONS,
    MCP_DATADOG_ANNOTATIONS,
];

/// One entry of a template list.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry<T> {
    /// A call of an upstream helper, by name.
    Helper(&'static str),
    /// What the YAML of the entry holds.
    Value(T),
}

/// A `portsTpls` entry: a helper, or a YAML list of ports (empty text is none).
pub fn ports_entry(text: &str) -> Result<Entry<Vec<ContainerPort>>, String> {
    entry(text, PORT_HELPERS, "a YAML list of container ports")
}

/// A `podAnnotationsTpls` entry: a helper, or a YAML map of annotations
/// (empty text is none).
pub fn annotations_entry(text: &str) -> Result<Entry<BTreeMap<String, String>>, String> {
    entry(text, ANNOTATION_HELPERS, "a YAML map of annotations")
}

fn entry<T: serde::de::DeserializeOwned + Default>(
    text: &str,
    helpers: &[&'static str],
    expected: &str,
) -> Result<Entry<T>, String> {
    if let Some(helper) = helpers
        .iter()
        .find(|h| text.contains(&format!("include \"{h}\"")))
    {
        return Ok(Entry::Helper(helper));
    }
    let text = text.trim();
    if text.is_empty() {
        return Ok(Entry::Value(T::default()));
    }
    serde_saphyr::from_str(text).map(Entry::Value).map_err(|_| {
        format!(
            "expected {expected} or a call of one of upstream's helpers ({}); \
             other templates are not rendered here",
            helpers.join(", ")
        )
    })
}

/// The text as the render sees it, with the release's name and namespace
/// standing in for their templates (for checking an entry before a render).
pub fn with_release_placeholders(text: &str) -> String {
    text.replace("{{ .Release.Name }}", "release")
        .replace("{{.Release.Name}}", "release")
        .replace("{{ .Release.Namespace }}", "namespace")
        .replace("{{.Release.Namespace}}", "namespace")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_a_known_helper_or_yaml() {
        assert_eq!(
            ports_entry(r#"{{ include "wandb.lumen.gorilla.containerPort" . }}"#),
            Ok(Entry::Helper(LUMEN_PORT))
        );
        let Ok(Entry::Value(ports)) = ports_entry("- name: metrics\n  containerPort: 9090\n")
        else {
            panic!("a YAML list of ports")
        };
        assert_eq!(ports[0].container_port, 9090);
        assert_eq!(ports_entry("  "), Ok(Entry::Value(vec![])));
        assert!(ports_entry("probe-item").is_err());
        assert!(ports_entry(r#"{{ include "wandb.other" . }}"#).is_err());

        let datadog = "{{- if index .Values \"datadog\" \"enabled\" }}\n\
                       ad.datadoghq.com/mcp-server.tags: {{ include \"wandb.mcpDatadogTags\" . | quote }}\n\
                       {{- end }}\n";
        assert_eq!(
            annotations_entry(datadog),
            Ok(Entry::Helper(MCP_DATADOG_ANNOTATIONS))
        );
        let Ok(Entry::Value(a)) =
            annotations_entry(&with_release_placeholders("owner: {{ .Release.Name }}"))
        else {
            panic!("a YAML map")
        };
        assert_eq!(a["owner"], "release");
        assert!(annotations_entry("probe-item").is_err());
    }
}
