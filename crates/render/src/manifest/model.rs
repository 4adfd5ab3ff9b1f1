//! W&B's server manifest (v2 format), typed as far as the translation
//! reads it. Read as W&B's v2 operator reads it: keys it does not know are
//! ignored (a manifest may carry more than an operator uses), `manifest.yaml`
//! and `sizing.yaml` merged.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{EnvVarSource, Probe, ResourceRequirements, ServicePort};
use serde::Deserialize;

/// One W&B Server version: its applications, their env and sizing.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServerManifest {
    pub features: BTreeMap<String, bool>,
    pub generated_secrets: Vec<GeneratedSecret>,
    pub common_envvars: BTreeMap<String, Vec<EnvVar>>,
    pub common_volume_mounts: BTreeMap<String, Vec<VolumeMount>>,
    pub kafka: Kafka,
    /// The object store's instances (their ingress paths).
    pub bucket: BTreeMap<String, StoreInstance>,
    pub applications: BTreeMap<String, Application>,
    pub migrations: BTreeMap<String, Migration>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StoreInstance {
    pub ingress: Option<Ingress>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GeneratedSecret {
    pub name: String,
    pub length: usize,
    /// Named as written, not after the install.
    pub use_exact_name: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Kafka {
    pub topics: Vec<KafkaTopic>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KafkaTopic {
    pub name: String,
    pub features: Vec<String>,
    pub topic: String,
    pub partition_count: i32,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct ImageRef {
    pub registry: String,
    pub repository: String,
    pub tag: String,
    pub digest: String,
}

impl ImageRef {
    /// `registry/repository`, or the repository alone.
    pub fn repository(&self) -> String {
        if self.registry.is_empty() {
            self.repository.clone()
        } else {
            format!("{}/{}", self.registry, self.repository)
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Application {
    pub name: String,
    /// The upstream chart's values key, when it is not `name`.
    pub legacy_key: String,
    pub image: ImageRef,
    pub args: Vec<String>,
    pub command: Vec<String>,
    pub common_envs: Vec<String>,
    pub common_volume_mounts: Vec<String>,
    pub init_containers: Vec<Container>,
    pub containers: Vec<Container>,
    /// Runs only when one of these features is on.
    pub features: Vec<String>,
    pub env: Vec<EnvVar>,
    pub service: Option<Service>,
    pub files: Vec<File>,
    pub jwt_tokens: Vec<JwtToken>,
    pub volume_mounts: Vec<VolumeMount>,
    pub sizing: BTreeMap<String, Sizing>,
    pub ingress: Option<Ingress>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Container {
    pub name: String,
    pub image: ImageRef,
    pub args: Vec<String>,
    pub command: Vec<String>,
    pub ports: Vec<ContainerPort>,
    pub liveness_probe: Option<Probe>,
    pub readiness_probe: Option<Probe>,
    pub startup_probe: Option<Probe>,
    pub resources: Option<ResourceRequirements>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContainerPort {
    pub container_port: i32,
    pub protocol: String,
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Service {
    #[serde(rename = "type")]
    pub kind: String,
    pub ports: Vec<ServicePort>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Ingress {
    pub paths: Vec<String>,
    /// A port's number or name.
    pub service_port: String,
}

/// An env var: a value, a `valueFrom`, or sources resolved by the install.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
    pub value_from: Option<EnvVarSource>,
    pub sources: Vec<EnvSource>,
    /// When no source gives anything.
    pub default_value: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct EnvSource {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub field: String,
    pub proto: String,
    pub path: String,
    pub port: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VolumeMount {
    pub mount_path: String,
    pub name: String,
    pub source: EnvSource,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct File {
    pub name: String,
    pub mount_path: String,
    pub file_name: String,
    pub inline: String,
    pub config_map_ref: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct JwtToken {
    pub name: String,
    pub mount_path: String,
    pub source: JwtTokenSource,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct JwtTokenSource {
    pub kubernetes_service_account: Option<ServiceAccountToken>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceAccountToken {
    pub audience: String,
    pub expiration_seconds: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Sizing {
    pub replicas: Option<i32>,
    pub resources: Option<ResourceRequirements>,
    pub autoscaling: Option<Autoscaling>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Autoscaling {
    pub horizontal: Option<wandb_values::Horizontal>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Migration {
    pub image: ImageRef,
    pub args: Vec<String>,
    pub command: Vec<String>,
    pub common_envs: Vec<String>,
    pub common_volume_mounts: Vec<String>,
    pub env: Vec<EnvVar>,
    pub volume_mounts: Vec<VolumeMount>,
}
