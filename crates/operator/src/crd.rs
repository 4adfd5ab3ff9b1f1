//! The `WeightsAndBiases` resource (`apps.wandb.com/v1`, short name `wandb`).
//!
//! `spec.values` takes the values of the operator-wandb chart. Its schema is
//! generated from the values types: known keys are typed and described (so a
//! wrong type is refused at admission and `kubectl explain` documents them),
//! and unknown keys are kept rather than pruned, to be reported as warnings.

use std::collections::BTreeMap;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::{
    CustomResourceDefinition, JSONSchemaProps,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// A W&B Server install.
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, Default, PartialEq)]
#[kube(
    group = "apps.wandb.com",
    version = "v1",
    kind = "WeightsAndBiases",
    plural = "weightsandbiases",
    singular = "weightsandbiases",
    shortname = "wandb",
    namespaced,
    status = "WeightsAndBiasesStatus",
    schema = "disabled",
    printcolumn = r#"{"name":"Ready","type":"string","jsonPath":".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name":"Refused","type":"string","jsonPath":".status.refused"}"#,
    printcolumn = r#"{"name":"Version","type":"string","jsonPath":".status.version"}"#,
    printcolumn = r#"{"name":"Upgrading-To","type":"string","jsonPath":".status.upgrade.to"}"#,
    printcolumn = r#"{"name":"Host","type":"string","jsonPath":".status.host"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct WeightsAndBiasesSpec {
    /// Values of the install: the keys of the operator-wandb Helm chart.
    #[serde(default)]
    pub values: Value,
    /// Accepted for resources written for W&B's Go operator, and ignored:
    /// this operator carries the chart it installs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<Value>,
    /// What to keep when the resource is deleted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retention: Option<Retention>,
    /// The operator writes nothing for this install while true (as does the
    /// annotation `apps.wandb.com/paused: "true"`), and repairs what drifted
    /// meanwhile once it is false again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
    /// Every W&B service scaled to zero (their autoscalers removed, their
    /// CronJobs suspended) while true; the stores and their data keep
    /// running. False again brings the replicas back.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub stopped: bool,
    /// The release document the install runs (every W&B service, env var,
    /// ConfigMap and route, as `wandb-operator catalog` prints the built-in
    /// one), from a ConfigMap in the resource's namespace; the built-in one
    /// when unset. A document that cannot be read changes nothing that
    /// runs: `Ready` says why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catalog: Option<CatalogSource>,
}

/// Where a release document is.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CatalogSource {
    pub config_map: ConfigMapKey,
}

/// A key of a ConfigMap in the resource's namespace.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapKey {
    pub name: String,
    /// The key holding the document.
    #[serde(default = "default_catalog_key")]
    pub key: String,
}

fn default_catalog_key() -> String {
    "catalog.yaml".into()
}

/// What outlives the resource. By default, data: volumes and generated
/// secrets stay, so that creating the resource again finds them.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Retention {
    /// Delete the stores' PersistentVolumeClaims with the resource.
    #[serde(default)]
    pub delete_volumes: bool,
    /// Delete the generated Secrets (passwords, session keys) with the resource.
    #[serde(default)]
    pub delete_generated_secrets: bool,
}

/// What the operator last saw and did.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WeightsAndBiasesStatus {
    /// The generation of the spec this status describes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Ready`, `ValuesValid`, `ValuesWarnings`, `Paused`, and one
    /// `<Component>Ready` per component (`conditions::types`).
    #[serde(default)]
    #[schemars(schema_with = "conditions_schema")]
    pub conditions: Vec<Condition>,
    /// The W&B version running (the app's image tag), once every service
    /// runs it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The rollout of another version, while it lasts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upgrade: Option<Upgrade>,
    /// The last version whose migrations completed; a downgrade below it is
    /// refused unless the annotation `apps.wandb.com/allow-downgrade` is "true".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub migrated_version: Option<String>,
    /// Why the operator refused the spec of `observedGeneration` (invalid
    /// values, a downgrade), on one line; the last valid spec keeps running.
    /// Absent while the spec is accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Where users reach the install.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Objects the operator manages, as `Kind/name`: what it prunes from.
    #[serde(default)]
    pub inventory: Vec<String>,
    /// Written by W&B's Go operator v1 (`Loading`, `Completed`, `Invalid
    /// Config`); never by this one, which removes it with v1's leftovers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
}

/// A version being rolled out.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Upgrade {
    /// The version that ran before.
    pub from: String,
    /// The version being rolled out.
    pub to: String,
    /// The stage it is at: `stores`, `migrations` or `services`.
    pub stage: String,
}

fn conditions_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "description": crate::conditions::description(),
        "items": {
            "type": "object",
            "required": ["type", "status", "lastTransitionTime", "reason", "message"],
            "properties": {
                "type": {"type": "string"},
                "status": {"type": "string"},
                "reason": {"type": "string"},
                "message": {"type": "string"},
                "lastTransitionTime": {"type": "string", "format": "date-time"},
                "observedGeneration": {"type": "integer", "format": "int64"}
            }
        }
    })
}

/// The CustomResourceDefinition, with its schema.
pub fn crd() -> CustomResourceDefinition {
    use kube::CustomResourceExt;
    let mut crd = WeightsAndBiases::crd();
    let schema = openapi_schema();
    for version in &mut crd.spec.versions {
        version.schema = Some(
            k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceValidation {
                open_api_v3_schema: Some(schema.clone()),
            },
        );
    }
    crd
}

/// The whole resource's schema.
fn openapi_schema() -> JSONSchemaProps {
    let values = structural(
        &wandb_values::check::SCHEMA,
        &wandb_values::check::SCHEMA,
        0,
    );
    let retention = schemars::schema_for!(Retention);
    let catalog = schemars::schema_for!(CatalogSource);
    let status = schemars::schema_for!(WeightsAndBiasesStatus);
    let retention = serde_json::to_value(&retention).unwrap_or_default();
    let mut catalog = serde_json::to_value(&catalog).unwrap_or_default();
    catalog["description"] = "The release document the install runs (every W&B service, env var, ConfigMap and route, as `wandb-operator catalog` prints the built-in one), from a ConfigMap in the resource's namespace; the built-in one when unset. A document that cannot be read changes nothing that runs: `Ready` says why.".into();
    let status = serde_json::to_value(&status).unwrap_or_default();
    let mut values = values;
    if let Value::Object(m) = &mut values {
        m.insert(
            "description".into(),
            "Values of the install: the keys of the operator-wandb Helm chart.".into(),
        );
    }
    let schema = json!({
        "type": "object",
        "description": "A W&B Server install.",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "values": values,
                    "chart": {
                        "description": "Accepted for resources written for W&B's Go operator, and ignored.",
                        "x-kubernetes-preserve-unknown-fields": true
                    },
                    "retention": structural(&retention, &retention, 0),
                    "catalog": structural(&catalog, &catalog, 0),
                    "paused": {
                        "type": "boolean",
                        "description": "The operator writes nothing for this install while true (as does the annotation apps.wandb.com/paused: \"true\"), and repairs what drifted meanwhile once it is false again."
                    },
                    "stopped": {
                        "type": "boolean",
                        "description": "Every W&B service scaled to zero (their autoscalers removed, their CronJobs suspended) while true; the stores and their data keep running. False again brings the replicas back."
                    },
                }
            },
            "status": structural(&status, &status, 0),
        }
    });
    // The schema is built from our own types; if it does not convert, that
    // is a defect caught by the unit tests.
    serde_json::from_value(schema).unwrap_or_default()
}

/// Fields of JSON Schema that a CRD's structural schema keeps.
const KEPT: &[&str] = &[
    "description",
    "format",
    "enum",
    "minimum",
    "maximum",
    "pattern",
    "required",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
];

/// Converts a schemars schema to a Kubernetes structural schema: `$ref`s
/// inlined, `Option<T>` as nullable, a choice of types as `any`, objects
/// keeping unknown fields, and Kubernetes' own types without their long
/// descriptions (our values keep theirs).
fn structural(node: &Value, root: &Value, depth: usize) -> Value {
    structural_in(node, root, depth, false)
}

/// Anything: what a node is when its schema cannot be kept.
fn any() -> Value {
    json!({"x-kubernetes-preserve-unknown-fields": true})
}

fn structural_in(node: &Value, root: &Value, depth: usize, in_k8s: bool) -> Value {
    if depth > 40 {
        return any();
    }
    let Value::Object(obj) = node else {
        // `true` (anything) or `false`.
        return any();
    };
    if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
        return structural_ref(obj, reference, root, depth, in_k8s);
    }
    if let Some(branches) = obj
        .get("anyOf")
        .or_else(|| obj.get("oneOf"))
        .and_then(Value::as_array)
    {
        return structural_branches(obj, branches, root, depth, in_k8s);
    }
    let mut out = kept_fields(obj, in_k8s);
    let types = schema_types(obj);
    if types.contains(&"null") {
        out.insert("nullable".into(), true.into());
    }
    let real: Vec<&&str> = types.iter().filter(|t| **t != "null").collect();
    if out.contains_key("x-kubernetes-int-or-string") {
        out.remove("format");
        return Value::Object(out);
    }
    match real.as_slice() {
        [] => {
            out.insert("x-kubernetes-preserve-unknown-fields".into(), true.into());
        }
        [t] => {
            out.insert("type".into(), Value::String(t.to_string()));
        }
        _ => {
            // Several types: accepted as they come, checked by the operator.
            out.remove("format");
            out.insert("x-kubernetes-preserve-unknown-fields".into(), true.into());
            return Value::Object(out);
        }
    }
    match real.first().map(|t| **t) {
        Some("object") => structural_object(obj, &mut out, root, depth, in_k8s),
        Some("array") => {
            let items = obj
                .get("items")
                .map_or_else(any, |i| structural_in(i, root, depth + 1, in_k8s));
            out.insert("items".into(), items);
        }
        _ => {}
    }
    // `required` only makes sense with properties, and a required key that
    // has a default in our types would refuse partial values.
    out.remove("required");
    Value::Object(out)
}

/// A `$ref`: Kubernetes' own types become a bare object (or array), ours are
/// inlined; the referring node's description wins.
fn structural_ref(
    obj: &Map<String, Value>,
    reference: &str,
    root: &Value,
    depth: usize,
    in_k8s: bool,
) -> Value {
    let target = reference.strip_prefix('#').and_then(|p| root.pointer(p));
    if reference.contains("io.k8s.")
        && !reference.contains("Quantity")
        && !reference.contains("IntOrString")
    {
        // Kubernetes' own types (affinity, tolerations, security
        // contexts, ...) are checked by the operator when it types the
        // values; inlining their schemas in every component would make
        // the CRD megabytes long.
        let kind = target
            .and_then(|t| t.get("type"))
            .and_then(Value::as_str)
            .unwrap_or("object");
        let mut out = json!({"type": kind, "x-kubernetes-preserve-unknown-fields": true});
        if kind == "array" {
            out = json!({"type": "array", "items": {"x-kubernetes-preserve-unknown-fields": true}});
        }
        if let Some(d) = obj.get("description") {
            out["description"] = d.clone();
        }
        return out;
    }
    let k8s = in_k8s || reference.contains("io.k8s.");
    let mut out = match target {
        Some(t) => structural_in(t, root, depth + 1, k8s),
        None => any(),
    };
    if let (Some(d), Value::Object(m)) = (obj.get("description"), &mut out) {
        m.insert("description".into(), d.clone());
    }
    out
}

/// `anyOf`/`oneOf`: one type besides null is that type, nullable (how
/// schemars writes `Option<T>`); a real choice of types is anything.
fn structural_branches(
    obj: &Map<String, Value>,
    branches: &[Value],
    root: &Value,
    depth: usize,
    in_k8s: bool,
) -> Value {
    let non_null: Vec<&Value> = branches
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) != Some("null"))
        .collect();
    let mut out = if non_null.len() == 1 {
        let mut inner = structural_in(non_null[0], root, depth + 1, in_k8s);
        if let Value::Object(m) = &mut inner
            && m.contains_key("type")
        {
            m.insert("nullable".into(), true.into());
        }
        inner
    } else {
        any()
    };
    if let (Some(d), Value::Object(m)) = (obj.get("description"), &mut out) {
        m.insert("description".into(), d.clone());
    }
    out
}

/// The fields of [`KEPT`] the node has, less Kubernetes' descriptions and
/// the formats the API server does not know.
fn kept_fields(obj: &Map<String, Value>, in_k8s: bool) -> Map<String, Value> {
    let mut out = Map::new();
    for key in KEPT {
        if let Some(v) = obj.get(*key) {
            if *key == "description" && in_k8s {
                continue;
            }
            if *key == "format"
                && !matches!(
                    v.as_str(),
                    Some("int32" | "int64" | "date-time" | "double" | "float" | "byte")
                )
            {
                continue;
            }
            out.insert(key.to_string(), v.clone());
        }
    }
    out
}

/// The node's `type`, one or a list.
fn schema_types(obj: &Map<String, Value>) -> Vec<&str> {
    match obj.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

/// An object's properties and additional properties, into `out`.
fn structural_object(
    obj: &Map<String, Value>,
    out: &mut Map<String, Value>,
    root: &Value,
    depth: usize,
    in_k8s: bool,
) {
    let mut props = BTreeMap::new();
    if let Some(p) = obj.get("properties").and_then(Value::as_object) {
        for (k, v) in p {
            props.insert(k.clone(), structural_in(v, root, depth + 1, in_k8s));
        }
    }
    match obj.get("additionalProperties") {
        Some(Value::Object(a)) if !a.is_empty() => {
            out.insert(
                "additionalProperties".into(),
                structural_in(&Value::Object(a.clone()), root, depth + 1, in_k8s),
            );
        }
        Some(Value::Bool(true)) | Some(Value::Object(_)) => {
            out.insert("x-kubernetes-preserve-unknown-fields".into(), true.into());
        }
        _ => {}
    }
    if !props.is_empty() {
        out.insert(
            "properties".into(),
            serde_json::to_value(props).unwrap_or_default(),
        );
        // Keys our types do not know are kept and reported, not pruned.
        if !in_k8s && !out.contains_key("additionalProperties") {
            out.insert("x-kubernetes-preserve-unknown-fields".into(), true.into());
        }
    } else if !out.contains_key("additionalProperties") {
        out.insert("x-kubernetes-preserve-unknown-fields".into(), true.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn find<'a>(schema: &'a Value, path: &[&str]) -> &'a Value {
        let mut node = schema;
        for p in path {
            node = &node["properties"][p];
        }
        node
    }

    #[test]
    fn the_crd_is_named_and_typed() {
        let crd = crd();
        assert_eq!(
            crd.metadata.name.as_deref(),
            Some("weightsandbiases.apps.wandb.com")
        );
        assert_eq!(crd.spec.names.short_names, Some(vec!["wandb".to_string()]));
        assert_eq!(crd.spec.scope, "Namespaced");
        let schema =
            serde_json::to_value(&crd.spec.versions[0].schema).unwrap()["openAPIV3Schema"].clone();
        let values = find(&schema, &["spec", "values"]);
        assert_eq!(values["x-kubernetes-preserve-unknown-fields"], true);
        let replicas = find(values, &["app", "replicaCount"]);
        assert_eq!(replicas["type"], "integer");
        let host = find(values, &["global", "mysql", "host"]);
        assert_eq!(
            host["x-kubernetes-preserve-unknown-fields"], true,
            "string or valueFrom"
        );
        let size = find(values, &["global", "size"]);
        assert!(size["description"].as_str().unwrap().contains("small"));
    }

    #[test]
    fn the_schema_is_structural() {
        // Every node has a type, or says it may be anything.
        fn check(node: &Value, path: &str) {
            let Value::Object(m) = node else {
                panic!("{path}: not an object")
            };
            assert!(
                !m.contains_key("$ref") && !m.contains_key("anyOf") && !m.contains_key("oneOf"),
                "{path}"
            );
            assert!(
                m.contains_key("type")
                    || m.contains_key("x-kubernetes-preserve-unknown-fields")
                    || m.contains_key("x-kubernetes-int-or-string"),
                "{path}: no type"
            );
            if let Some(Value::Object(props)) = m.get("properties") {
                for (k, v) in props {
                    check(v, &format!("{path}.{k}"));
                }
            }
            if let Some(items) = m.get("items") {
                check(items, &format!("{path}[]"));
            }
            if let Some(a @ Value::Object(_)) = m.get("additionalProperties") {
                check(a, &format!("{path}{{}}"));
            }
        }
        let crd = crd();
        let schema =
            serde_json::to_value(&crd.spec.versions[0].schema).unwrap()["openAPIV3Schema"].clone();
        check(&schema, "");
        let size = serde_json::to_string(&crd).unwrap().len();
        assert!(size < 900_000, "the CRD is {size} bytes");
    }
}
