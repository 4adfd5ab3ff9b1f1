//! The `WeightsAndBiases` resource (`apps.wandb.com/v1`, short name `wandb`).
//!
//! `spec.values` takes the values of the operator-wandb chart. Its schema is
//! generated from the values types: known keys are typed and described (so a
//! wrong type is refused at admission and `kubectl explain` documents them),
//! and unknown keys are kept rather than pruned, to be reported as warnings.

mod structural;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use structural::{Node, Shallow, structural};

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

/// The CRD's name.
pub const NAME: &str = "weightsandbiases.apps.wandb.com";

/// The CustomResourceDefinition, with its schema and its digest (the
/// chart's crds/ has it, so that the operator's first start after a
/// `helm install` finds its own CRD and applies nothing).
pub fn crd() -> CustomResourceDefinition {
    use kube::CustomResourceExt;
    let full = wandb_values::check::full_schema();
    let digest = digest(&full);
    let document = serde_json::to_value(document(&full, digest.as_deref()));
    // The schema is built from our own types; if it does not convert, that
    // is a defect caught by the unit tests.
    document
        .and_then(serde_json::from_value)
        .unwrap_or_else(|_| WeightsAndBiases::crd())
}

/// The annotation with the digest of the CRD as the operator applies it
/// (written without the annotation): an operator that finds its own digest
/// there applies nothing at start.
pub const DIGEST_ANNOTATION: &str = "apps.wandb.com/crd-digest";

/// The digest of the CRD [`document`] writes without its annotation:
/// `sha256:<hex>` of its JSON. `None` should the document not serialize.
pub fn digest(values_schema: &Value) -> Option<String> {
    let written = serde_json::to_vec(&document(values_schema, None)).ok()?;
    Some(crate::server_manifest::pull::sha256(&written))
}

/// The CRD as it is written (`serde_json::to_vec`), from the values' JSON
/// schema with its descriptions (`wandb_values::check::full_schema`): its
/// schema is converted while it is written, never whole in memory (it is
/// about 800 KB of JSON, megabytes as a tree). `digest`, when given, goes to
/// the [`DIGEST_ANNOTATION`].
pub fn document<'a>(values_schema: &'a Value, digest: Option<&str>) -> impl Serialize + 'a {
    use kube::CustomResourceExt;
    let schema = openapi_schema(values_schema);
    let Ok(Value::Object(crd)) = serde_json::to_value(WeightsAndBiases::crd()) else {
        return Node::Owned(Value::Null);
    };
    let mut top: Shallow = crd.into_iter().map(|(k, v)| (k, Node::Owned(v))).collect();
    if let (Some(digest), Some(Node::Owned(metadata))) = (digest, top.get_mut("metadata")) {
        metadata["annotations"][DIGEST_ANNOTATION] = Value::String(digest.to_string());
    }
    let Some(Node::Owned(Value::Object(mut spec))) = top.remove("spec") else {
        return Node::Map(top);
    };
    let versions = match spec.remove("versions") {
        Some(Value::Array(versions)) => versions,
        _ => Vec::new(),
    };
    let versions = versions
        .into_iter()
        .map(|version| {
            let Value::Object(version) = version else {
                return Node::Owned(version);
            };
            let mut version: Shallow = version
                .into_iter()
                .map(|(k, v)| (k, Node::Owned(v)))
                .collect();
            let validation = Shallow::from([("openAPIV3Schema".to_string(), schema.clone())]);
            version.insert("schema".into(), Node::Map(validation));
            Node::Map(version)
        })
        .collect();
    let mut spec: Shallow = spec.into_iter().map(|(k, v)| (k, Node::Owned(v))).collect();
    spec.insert("versions".into(), Node::List(versions));
    top.insert("spec".into(), Node::Map(spec));
    Node::Map(top)
}

/// The whole resource's schema; `values` is the values' JSON schema.
fn openapi_schema(values: &Value) -> Node<'_> {
    let mut values = structural(values, values);
    values.insert(
        "description".into(),
        Node::Owned("Values of the install: the keys of the operator-wandb Helm chart.".into()),
    );
    // The others are small: converted whole.
    let small = |schema: Value| -> Value {
        serde_json::to_value(Node::Map(structural(&schema, &schema))).unwrap_or_default()
    };
    let retention = serde_json::to_value(schemars::schema_for!(Retention)).unwrap_or_default();
    let mut catalog =
        serde_json::to_value(schemars::schema_for!(CatalogSource)).unwrap_or_default();
    catalog["description"] = "The release document the install runs (every W&B service, env var, ConfigMap and route, as `wandb-operator catalog` prints the built-in one), from a ConfigMap in the resource's namespace; the built-in one when unset. A document that cannot be read changes nothing that runs: `Ready` says why.".into();
    let status =
        serde_json::to_value(schemars::schema_for!(WeightsAndBiasesStatus)).unwrap_or_default();
    let spec = json!({
        "chart": {
            "description": "Accepted for resources written for W&B's Go operator, and ignored.",
            "x-kubernetes-preserve-unknown-fields": true
        },
        "retention": small(retention),
        "catalog": small(catalog),
        "paused": {
            "type": "boolean",
            "description": "The operator writes nothing for this install while true (as does the annotation apps.wandb.com/paused: \"true\"), and repairs what drifted meanwhile once it is false again."
        },
        "stopped": {
            "type": "boolean",
            "description": "Every W&B service scaled to zero (their autoscalers removed, their CronJobs suspended) while true; the stores and their data keep running. False again brings the replicas back."
        },
    });
    let Value::Object(spec) = spec else {
        return Node::Owned(Value::Null);
    };
    let mut properties: Shallow = spec.into_iter().map(|(k, v)| (k, Node::Owned(v))).collect();
    properties.insert("values".into(), Node::Map(values));
    let spec = Shallow::from([
        ("type".to_string(), Node::Owned("object".into())),
        ("properties".to_string(), Node::Map(properties)),
    ]);
    let top = Shallow::from([
        ("type".to_string(), Node::Owned("object".into())),
        (
            "description".to_string(),
            Node::Owned("A W&B Server install.".into()),
        ),
        (
            "properties".to_string(),
            Node::Map(Shallow::from([
                ("spec".to_string(), Node::Map(spec)),
                ("status".to_string(), Node::Owned(small(status))),
            ])),
        ),
    ]);
    Node::Map(top)
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
