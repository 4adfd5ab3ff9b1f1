//! What a resource asks for: its render, labelled, owned and ordered into
//! the stages the operator applies one after the other. Pure.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use wandb_render::{Catalog, Release};
use wandb_values::Values;

use crate::crd::WeightsAndBiases;

/// Label on every object the operator manages: the resource it belongs to.
pub const INSTANCE_LABEL: &str = "apps.wandb.com/instance";
/// Label on every object the operator manages: the component it belongs to.
pub const COMPONENT_LABEL: &str = "apps.wandb.com/component";
/// Annotation on every cluster-scoped object the operator manages: the
/// resource it belongs to, `<namespace>/<name>`. Cluster-scoped names come
/// from the resource's name alone (as upstream's come from the release
/// name), so two resources of one name in two namespaces would share them.
pub const OWNER_ANNOTATION: &str = "apps.wandb.com/owner";
/// The operator's field manager for server-side apply.
pub const FIELD_MANAGER: &str = "wandb-operator";

/// The order objects are applied in, as the render marks them.
pub use wandb_render::Stage;

/// One object to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredObject {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    /// `None` for cluster-wide objects.
    pub namespace: Option<String>,
    pub component: String,
    pub stage: Stage,
    /// The stage whose turn applies it: its own, or an earlier one it
    /// starts with (`Manifest::start`).
    pub start: Stage,
    /// The object as it is applied.
    pub body: Value,
    /// Keys of a Secret that are generated once.
    pub generated: Vec<wandb_render::GeneratedKey>,
}

impl DesiredObject {
    /// `Kind/name`, as the inventory records it.
    pub fn key(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }

    /// Data the operator never deletes on its own: volumes and generated secrets.
    pub fn holds_data(&self) -> bool {
        self.kind == "PersistentVolumeClaim" || !self.generated.is_empty()
    }
}

/// Workload kinds: what a stage waits on.
pub fn is_workload(kind: &str) -> bool {
    matches!(
        kind,
        "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "CronJob"
    )
}

/// The objects of a resource, in apply order. Test pods are left out.
pub fn desired(wandb: &WeightsAndBiases, catalog: &Catalog, values: &Values) -> Vec<DesiredObject> {
    let name = wandb.metadata.name.clone().unwrap_or_default();
    let namespace = wandb.metadata.namespace.clone().unwrap_or_default();
    let release = Release::new(&name, &namespace);
    let owner = owner_reference(wandb);
    let mut out: Vec<DesiredObject> = wandb_render::render(catalog, values, &release)
        .into_iter()
        .filter(|m| m.stage != Stage::Test)
        .map(|m| {
            let kind = m.object.kind().to_string();
            let mut body = serde_json::to_value(&m.object).unwrap_or(Value::Null);
            label(&mut body, &name, &m.component);
            // Volumes are not owned, so that deleting the resource never
            // takes data with it; generated Secrets are owned but released
            // before the resource goes (see finalizer). Cluster-scoped
            // objects cannot have a namespaced owner (the garbage collector
            // ignores the reference and warns OwnerRefInvalidNamespace):
            // the finalizer deletes them.
            if kind != "PersistentVolumeClaim"
                && m.object.is_namespaced()
                && let Some(owner) = &owner
            {
                body["metadata"]["ownerReferences"] = json!([owner]);
            }
            if !m.object.is_namespaced() {
                annotate(&mut body, OWNER_ANNOTATION, &format!("{namespace}/{name}"));
            }
            DesiredObject {
                api_version: m.object.api_version().to_string(),
                name: m.object.name().to_string(),
                namespace: m.object.is_namespaced().then(|| namespace.clone()),
                start: m.start(),
                component: m.component,
                stage: m.stage,
                kind,
                body,
                generated: m.generated,
            }
        })
        .collect();
    out.sort_by_key(|o| o.stage);
    out
}

fn label(body: &mut Value, instance: &str, component: &str) {
    let labels = &mut body["metadata"]["labels"];
    if !labels.is_object() {
        *labels = json!({});
    }
    labels[INSTANCE_LABEL] = instance.into();
    labels[COMPONENT_LABEL] = component.into();
}

fn annotate(body: &mut Value, key: &str, value: &str) {
    let annotations = &mut body["metadata"]["annotations"];
    if !annotations.is_object() {
        *annotations = json!({});
    }
    annotations[key] = value.into();
}

/// The resource that a live cluster-scoped object belongs to, when that is
/// not the resource `mine` (`<namespace>/<name>`). An object without the
/// annotation (from an older operator, or left by Helm) belongs to no one
/// and is adopted.
pub fn owned_by_another<'a>(live: Option<&'a Value>, mine: &str) -> Option<&'a str> {
    let owner = live?
        .pointer("/metadata/annotations")?
        .get(OWNER_ANNOTATION)?
        .as_str()?;
    (owner != mine).then_some(owner)
}

fn owner_reference(wandb: &WeightsAndBiases) -> Option<Value> {
    let uid = wandb.metadata.uid.clone()?;
    Some(json!({
        "apiVersion": "apps.wandb.com/v1",
        "kind": "WeightsAndBiases",
        "name": wandb.metadata.name,
        "uid": uid,
        "controller": true,
        "blockOwnerDeletion": true,
    }))
}

/// The components of a desired install, with the stage each belongs to.
pub fn components(objects: &[DesiredObject]) -> BTreeMap<String, Stage> {
    let mut out = BTreeMap::new();
    for o in objects.iter().filter(|o| is_workload(&o.kind)) {
        let stage = out.entry(o.component.clone()).or_insert(o.stage);
        *stage = (*stage).max(o.stage);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::api::ObjectMeta;

    pub fn wandb(name: &str) -> WeightsAndBiases {
        WeightsAndBiases {
            metadata: ObjectMeta {
                name: Some(name.into()),
                namespace: Some("ns".into()),
                uid: Some("uid-1".into()),
                ..Default::default()
            },
            spec: Default::default(),
            status: None,
        }
    }

    fn builtin() -> &'static Catalog {
        Catalog::builtin().unwrap()
    }

    fn default_values() -> Values {
        wandb_render::builtin::from_user_tree(json!({}))
            .unwrap()
            .values
    }

    #[test]
    fn stores_come_before_services_and_everything_is_labelled_and_owned() {
        let objects = desired(&wandb("wandb"), builtin(), &default_values());
        let stage = |kind: &str, name: &str| {
            objects
                .iter()
                .find(|o| o.kind == kind && o.name == name)
                .unwrap()
                .stage
        };
        assert_eq!(stage("Secret", "wandb-mysql"), Stage::Config);
        assert_eq!(stage("StatefulSet", "wandb-mysql"), Stage::Stores);
        assert_eq!(stage("Deployment", "wandb-app-bc"), Stage::Services);
        assert!(objects.windows(2).all(|w| w[0].stage <= w[1].stage));
        for o in &objects {
            assert_eq!(
                o.body["metadata"]["labels"][INSTANCE_LABEL],
                "wandb",
                "{}",
                o.key()
            );
            let owned = o.body["metadata"]["ownerReferences"].is_array();
            let namespaced = o.namespace.is_some();
            assert_eq!(
                owned,
                namespaced && o.kind != "PersistentVolumeClaim",
                "{}",
                o.key()
            );
        }
        assert!(
            !objects.iter().any(|o| o.kind == "Pod"),
            "test pods are not applied"
        );
        assert!(
            objects
                .iter()
                .any(|o| o.kind == "ClusterRole" && o.namespace.is_none()),
            "the default install has cluster-scoped objects (not owned)"
        );
    }

    #[test]
    fn cluster_scoped_objects_name_their_resource() {
        let objects = desired(&wandb("wandb"), builtin(), &default_values());
        let cluster_scoped: Vec<&DesiredObject> =
            objects.iter().filter(|o| o.namespace.is_none()).collect();
        assert!(!cluster_scoped.is_empty());
        for o in cluster_scoped {
            assert_eq!(
                o.body["metadata"]["annotations"][OWNER_ANNOTATION],
                "ns/wandb",
                "{}",
                o.key()
            );
        }
        let live = |owner: Option<&str>| match owner {
            Some(o) => json!({"metadata": {"annotations": {OWNER_ANNOTATION: o}}}),
            None => json!({"metadata": {}}),
        };
        assert_eq!(
            owned_by_another(Some(&live(Some("other/wandb"))), "ns/wandb"),
            Some("other/wandb")
        );
        assert_eq!(
            owned_by_another(Some(&live(Some("ns/wandb"))), "ns/wandb"),
            None
        );
        assert_eq!(owned_by_another(Some(&live(None)), "ns/wandb"), None);
        assert_eq!(owned_by_another(None, "ns/wandb"), None);
    }

    #[test]
    fn generated_secrets_and_volumes_hold_data() {
        let objects = desired(&wandb("wandb"), builtin(), &default_values());
        let holds: Vec<String> = objects
            .iter()
            .filter(|o| o.holds_data())
            .map(|o| o.key())
            .collect();
        assert!(holds.contains(&"Secret/wandb-mysql".to_string()));
        assert!(holds.contains(&"PersistentVolumeClaim/wandb-mysql-data".to_string()));
        assert!(!holds.contains(&"Secret/wandb-license".to_string()));
    }
}
