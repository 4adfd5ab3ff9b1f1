//! Small constructors for the Kubernetes types every builder uses.

use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, EmptyDirVolumeSource, Toleration, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use wandb_values::{Global, StringMap};

/// A pod template's metadata: its labels, and its annotations when it has any.
pub fn pod_metadata(labels: StringMap, annotations: StringMap) -> Option<ObjectMeta> {
    Some(ObjectMeta {
        labels: Some(labels),
        annotations: (!annotations.is_empty()).then_some(annotations),
        ..Default::default()
    })
}

/// Where a pod may run: its own node selector and tolerations, each
/// replaced by the install's (`global.nodeSelector`, `global.tolerations`)
/// when empty.
pub fn placement<'a>(
    global: &'a Global,
    node_selector: &'a StringMap,
    tolerations: &'a Vec<Toleration>,
) -> (&'a StringMap, &'a Vec<Toleration>) {
    let node_selector = if node_selector.is_empty() {
        &global.node_selector
    } else {
        node_selector
    };
    let tolerations = if tolerations.is_empty() {
        &global.tolerations
    } else {
        tolerations
    };
    (node_selector, tolerations)
}

pub fn mount(name: &str, path: &str, sub_path: Option<&str>) -> VolumeMount {
    VolumeMount {
        name: name.into(),
        mount_path: path.into(),
        sub_path: sub_path.map(str::to_string),
        ..Default::default()
    }
}

/// A volume of a whole ConfigMap.
pub fn config_map_volume(
    name: &str,
    config_map: &str,
    mode: Option<i32>,
    optional: bool,
) -> Volume {
    Volume {
        name: name.into(),
        config_map: Some(ConfigMapVolumeSource {
            name: config_map.into(),
            default_mode: mode,
            optional: optional.then_some(true),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn empty_dir(name: &str) -> Volume {
    Volume {
        name: name.into(),
        empty_dir: Some(EmptyDirVolumeSource::default()),
        ..Default::default()
    }
}
