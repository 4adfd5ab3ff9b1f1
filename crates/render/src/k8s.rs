//! Small constructors for the Kubernetes types every builder uses.

use k8s_openapi::api::core::v1::{
    ConfigMapVolumeSource, EmptyDirVolumeSource, Volume, VolumeMount,
};

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
