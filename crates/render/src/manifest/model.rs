//! W&B's server manifest (v2 format), typed as far as the translation
//! reads it. Read as W&B's v2 operator reads it: keys it does not know are
//! ignored (a manifest may carry more than an operator uses), `manifest.yaml`
//! and `sizing.yaml` merged.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{EnvVarSource, Probe, ResourceRequirements, ServicePort};
use serde::{Deserialize, Deserializer};

/// A field written with nothing after it (`commonEnvs:`) is absent, as v2
/// reads it: its default. (Every field of the model reads so.)
fn or_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// One W&B Server version: its applications, their env and sizing.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServerManifest {
    #[serde(deserialize_with = "or_default")]
    pub features: BTreeMap<String, bool>,
    #[serde(deserialize_with = "or_default")]
    pub generated_secrets: Vec<GeneratedSecret>,
    #[serde(deserialize_with = "or_default")]
    pub common_envvars: BTreeMap<String, Vec<EnvVar>>,
    #[serde(deserialize_with = "or_default")]
    pub common_volume_mounts: BTreeMap<String, Vec<VolumeMount>>,
    #[serde(deserialize_with = "or_default")]
    pub kafka: Kafka,
    /// The object store's instances (their ingress paths).
    #[serde(deserialize_with = "or_default")]
    pub bucket: BTreeMap<String, StoreInstance>,
    #[serde(deserialize_with = "or_default")]
    pub applications: BTreeMap<String, Application>,
    #[serde(deserialize_with = "or_default")]
    pub migrations: BTreeMap<String, Migration>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct StoreInstance {
    #[serde(deserialize_with = "or_default")]
    pub ingress: Option<Ingress>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GeneratedSecret {
    #[serde(deserialize_with = "or_default")]
    pub name: String,
    #[serde(deserialize_with = "or_default")]
    pub length: usize,
    /// Named as written, not after the install.
    #[serde(deserialize_with = "or_default")]
    pub use_exact_name: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Kafka {
    #[serde(deserialize_with = "or_default")]
    pub topics: Vec<KafkaTopic>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct KafkaTopic {
    #[serde(deserialize_with = "or_default")]
    pub name: String,
    #[serde(deserialize_with = "or_default")]
    pub features: Vec<String>,
    #[serde(deserialize_with = "or_default")]
    pub topic: String,
    #[serde(deserialize_with = "or_default")]
    pub partition_count: i32,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct ImageRef {
    #[serde(deserialize_with = "or_default")]
    pub registry: String,
    #[serde(deserialize_with = "or_default")]
    pub repository: String,
    #[serde(deserialize_with = "or_default")]
    pub tag: String,
    #[serde(deserialize_with = "or_default")]
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
    #[serde(deserialize_with = "or_default")]
    pub name: String,
    /// The upstream chart's values key, when it is not `name`.
    #[serde(deserialize_with = "or_default")]
    pub legacy_key: String,
    #[serde(deserialize_with = "or_default")]
    pub image: ImageRef,
    #[serde(deserialize_with = "or_default")]
    pub args: Vec<String>,
    #[serde(deserialize_with = "or_default")]
    pub command: Vec<String>,
    #[serde(deserialize_with = "or_default")]
    pub common_envs: Vec<String>,
    #[serde(deserialize_with = "or_default")]
    pub common_volume_mounts: Vec<String>,
    #[serde(deserialize_with = "or_default")]
    pub init_containers: Vec<Container>,
    #[serde(deserialize_with = "or_default")]
    pub containers: Vec<Container>,
    /// Runs only when one of these features is on.
    #[serde(deserialize_with = "or_default")]
    pub features: Vec<String>,
    #[serde(deserialize_with = "or_default")]
    pub env: Vec<EnvVar>,
    #[serde(deserialize_with = "or_default")]
    pub service: Option<Service>,
    #[serde(deserialize_with = "or_default")]
    pub files: Vec<File>,
    #[serde(deserialize_with = "or_default")]
    pub jwt_tokens: Vec<JwtToken>,
    #[serde(deserialize_with = "or_default")]
    pub volume_mounts: Vec<VolumeMount>,
    #[serde(deserialize_with = "or_default")]
    pub sizing: BTreeMap<String, Sizing>,
    #[serde(deserialize_with = "or_default")]
    pub ingress: Option<Ingress>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Container {
    #[serde(deserialize_with = "or_default")]
    pub name: String,
    #[serde(deserialize_with = "or_default")]
    pub image: ImageRef,
    #[serde(deserialize_with = "or_default")]
    pub args: Vec<String>,
    #[serde(deserialize_with = "or_default")]
    pub command: Vec<String>,
    #[serde(deserialize_with = "or_default")]
    pub ports: Vec<ContainerPort>,
    #[serde(deserialize_with = "or_default")]
    pub liveness_probe: Option<Probe>,
    #[serde(deserialize_with = "or_default")]
    pub readiness_probe: Option<Probe>,
    #[serde(deserialize_with = "or_default")]
    pub startup_probe: Option<Probe>,
    #[serde(deserialize_with = "or_default")]
    pub resources: Option<ResourceRequirements>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContainerPort {
    #[serde(deserialize_with = "or_default")]
    pub container_port: i32,
    #[serde(deserialize_with = "or_default")]
    pub protocol: String,
    #[serde(deserialize_with = "or_default")]
    pub name: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Service {
    #[serde(rename = "type")]
    #[serde(deserialize_with = "or_default")]
    pub kind: String,
    #[serde(deserialize_with = "or_default")]
    pub ports: Vec<ServicePort>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Ingress {
    #[serde(deserialize_with = "or_default")]
    pub paths: Vec<String>,
    /// A port's number or name.
    #[serde(deserialize_with = "or_default")]
    pub service_port: String,
}

/// An env var: a value, a `valueFrom`, or sources resolved by the install.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EnvVar {
    #[serde(deserialize_with = "or_default")]
    pub name: String,
    #[serde(deserialize_with = "or_default")]
    pub value: String,
    #[serde(deserialize_with = "or_default")]
    pub value_from: Option<EnvVarSource>,
    #[serde(deserialize_with = "or_default")]
    pub sources: Vec<EnvSource>,
    /// When no source gives anything.
    #[serde(deserialize_with = "or_default")]
    pub default_value: String,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", default)]
pub struct EnvSource {
    #[serde(deserialize_with = "or_default")]
    pub name: String,
    #[serde(rename = "type")]
    #[serde(deserialize_with = "or_default")]
    pub kind: String,
    #[serde(deserialize_with = "or_default")]
    pub field: String,
    #[serde(deserialize_with = "or_default")]
    pub proto: String,
    #[serde(deserialize_with = "or_default")]
    pub path: String,
    #[serde(deserialize_with = "or_default")]
    pub port: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VolumeMount {
    #[serde(deserialize_with = "or_default")]
    pub mount_path: String,
    #[serde(deserialize_with = "or_default")]
    pub name: String,
    #[serde(deserialize_with = "or_default")]
    pub source: EnvSource,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct File {
    #[serde(deserialize_with = "or_default")]
    pub name: String,
    #[serde(deserialize_with = "or_default")]
    pub mount_path: String,
    #[serde(deserialize_with = "or_default")]
    pub file_name: String,
    #[serde(deserialize_with = "or_default")]
    pub inline: String,
    #[serde(deserialize_with = "or_default")]
    pub config_map_ref: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct JwtToken {
    #[serde(deserialize_with = "or_default")]
    pub name: String,
    #[serde(deserialize_with = "or_default")]
    pub mount_path: String,
    #[serde(deserialize_with = "or_default")]
    pub source: JwtTokenSource,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct JwtTokenSource {
    #[serde(deserialize_with = "or_default")]
    pub kubernetes_service_account: Option<ServiceAccountToken>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceAccountToken {
    #[serde(deserialize_with = "or_default")]
    pub audience: String,
    #[serde(deserialize_with = "or_default")]
    pub expiration_seconds: Option<i64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Sizing {
    #[serde(deserialize_with = "or_default")]
    pub replicas: Option<i32>,
    #[serde(deserialize_with = "or_default")]
    pub resources: Option<ResourceRequirements>,
    #[serde(deserialize_with = "or_default")]
    pub autoscaling: Option<Autoscaling>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Autoscaling {
    #[serde(deserialize_with = "or_default")]
    pub horizontal: Option<wandb_values::Horizontal>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Migration {
    #[serde(deserialize_with = "or_default")]
    pub image: ImageRef,
    #[serde(deserialize_with = "or_default")]
    pub args: Vec<String>,
    #[serde(deserialize_with = "or_default")]
    pub command: Vec<String>,
    #[serde(deserialize_with = "or_default")]
    pub common_envs: Vec<String>,
    #[serde(deserialize_with = "or_default")]
    pub common_volume_mounts: Vec<String>,
    #[serde(deserialize_with = "or_default")]
    pub env: Vec<EnvVar>,
    #[serde(deserialize_with = "or_default")]
    pub volume_mounts: Vec<VolumeMount>,
}
