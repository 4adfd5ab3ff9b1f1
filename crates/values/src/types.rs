//! The values, typed.
//!
//! Keys, nesting and meaning follow the upstream `operator-wandb` chart
//! (0.43.8), so that a values file written for it works here unchanged. The
//! doc comments become the descriptions of the JSON schema (what
//! `kubectl explain` and editors show).
//!
//! Defaults live in `defaults.yaml`, not in `Default` impls: the `Default`
//! impls here are "not set", and the embedded defaults are merged in before
//! the values are typed.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::RollingUpdateDeployment;
use k8s_openapi::api::core::v1::{
    Affinity, ContainerPort, EnvVarSource, Lifecycle, PodSecurityContext, Probe,
    ResourceRequirements, SecurityContext, ServicePort, Toleration, TopologySpreadConstraint,
    Volume, VolumeMount,
};
use k8s_openapi::api::rbac::v1::PolicyRule;
use schemars::JsonSchema;
use serde::{Deserialize, Deserializer, Serialize};

use crate::bufstream::BufstreamStore;
use crate::stores::{ClickhouseStore, EtcdStore, KafkaStore, RedisStore, Store};

/// The CRD's schema of a list of Kubernetes objects whose schema, spelled
/// out once per component, would grow the CRD by tens of kilobytes each:
/// objects, checked by their type when the values are read.
fn any_objects(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
    })
}

/// Labels or annotations.
pub type StringMap = BTreeMap<String, String>;

/// A scalar that upstream accepts as a string or a number (a port, a size).
/// It is kept as the text the user wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
#[schemars(with = "ScalarSchema")]
pub struct Scalar(pub String);

#[derive(JsonSchema)]
#[serde(untagged)]
#[allow(dead_code)]
enum ScalarSchema {
    String(String),
    Integer(i64),
    Number(f64),
    Boolean(bool),
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::String(s) => Ok(Scalar(s)),
            serde_json::Value::Number(n) => Ok(Scalar(n.to_string())),
            serde_json::Value::Bool(b) => Ok(Scalar(b.to_string())),
            serde_json::Value::Null => Ok(Scalar(String::new())),
            other => Err(serde::de::Error::custom(format!(
                "expected a string or a number, found {}",
                crate::tree::type_name(&other)
            ))),
        }
    }
}

impl Scalar {
    pub fn as_str(&self) -> &str {
        &self.0
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Display for Scalar {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A setting given either as a plain value or, as upstream allows for
/// connection settings, as a reference to a Secret or ConfigMap key:
/// `{valueFrom: {secretKeyRef: {name, key}}}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum ValueOrRef {
    Ref {
        #[serde(rename = "valueFrom")]
        value_from: Box<EnvVarSource>,
    },
    Value(Scalar),
}

impl Default for ValueOrRef {
    fn default() -> Self {
        ValueOrRef::Value(Scalar::default())
    }
}

impl ValueOrRef {
    /// The plain value, or `None` when this is a reference.
    pub fn plain(&self) -> Option<&str> {
        match self {
            ValueOrRef::Value(s) => Some(s.as_str()),
            ValueOrRef::Ref { .. } => None,
        }
    }
    /// The plain value, or "" when this is a reference.
    pub fn text(&self) -> &str {
        self.plain().unwrap_or("")
    }
    pub fn is_ref(&self) -> bool {
        matches!(self, ValueOrRef::Ref { .. })
    }
}

/// An environment variable's value: a plain value, `{value: ...}`, or
/// `{valueFrom: ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum EnvValue {
    From {
        #[serde(rename = "valueFrom")]
        value_from: Box<EnvVarSource>,
    },
    Wrapped {
        value: Scalar,
    },
    Plain(Scalar),
}

/// `{name: key}` of a Secret or ConfigMap holding a value.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SecretKeyRef {
    /// Name of the Secret; empty means "not set".
    pub name: String,
    /// Key in the Secret.
    pub key: String,
}

/// Labels and annotations for one kind of object.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Metadata {
    pub labels: StringMap,
    pub annotations: StringMap,
}

// ---------------------------------------------------------------------------
// global
// ---------------------------------------------------------------------------

/// Settings shared by every component.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Global {
    /// The URL users reach W&B at, with scheme (`https://wandb.example.com`).
    pub host: String,
    /// Prefixed to every W&B image repository (`registry.example.com/mirror`).
    pub repository_prefix: String,
    /// Registry of the in-cluster stores' and helper images.
    pub image_registry: String,
    /// Secrets used to pull images, by name.
    pub image_pull_secrets: Vec<serde_json::Value>,
    /// The W&B license, inline. Use `licenseSecret` to keep it out of values.
    pub license: String,
    /// Path of the license verification keys inside the containers.
    pub license_cert_path: String,
    /// A Secret holding the license (instead of `license`).
    pub license_secret: SecretKeyRef,
    /// Where the internal signer key is mounted when the local service is bypassed.
    pub signer_key_path: String,
    /// `aws`, `gcp`, `azure` or empty: adds the provider's load-balancer annotations.
    pub cloud_provider: String,
    /// StorageClass of every volume the install creates; empty uses the cluster default.
    pub storage_class: String,
    /// Deployment size: `small`, `medium`, `large`, `xlarge`, `xxlarge` (or a
    /// size a component defines in its `sizing`). Sets resources, replicas and
    /// autoscaling; an explicit value on a component beats the preset.
    pub size: String,
    pub lumen: LumenGlobal,
    /// Banners shown in the W&B UI, by id.
    pub banners: BTreeMap<String, serde_json::Value>,
    /// Labels and annotations on every object.
    pub common: Metadata,
    /// Labels and annotations on every pod.
    pub pod: Metadata,
    pub deployment: Metadata,
    pub daemonset: Metadata,
    pub statefulset: Metadata,
    pub service: Metadata,
    /// Node selector for every pod (a component's own wins).
    pub node_selector: StringMap,
    /// Tolerations for every pod (a component's own win).
    pub tolerations: Vec<Toleration>,
    /// PriorityClass of every pod (a component's own wins).
    pub priority_class_name: String,
    /// Environment variables for every W&B container.
    pub env: BTreeMap<String, EnvValue>,
    /// More environment variables for every W&B container.
    pub extra_env: BTreeMap<String, EnvValue>,
    /// Environment variables from Secret or ConfigMap keys for every W&B
    /// container: `NAME: {secretKeyRef: {name, key}}`.
    pub extra_env_from: BTreeMap<String, EnvVarSource>,
    pub operator: OperatorGlobal,
    pub mysql: MysqlGlobal,
    pub slack: SlackGlobal,
    pub otel: OtelGlobal,
    pub clickhouse: ClickhouseGlobal,
    pub olap: Olap,
    pub activity_store: ActivityStore,
    pub email: Email,
    pub auth: Auth,
    /// The bucket W&B uses unless an admin changes it in the console.
    pub default_bucket: Bucket,
    /// A bucket that overrides `defaultBucket` and cannot be changed in the console.
    pub bucket: Bucket,
    pub redis: RedisGlobal,
    pub bigtable: Bigtable,
    pub history_store: HistoryStore,
    pub pub_sub: PubSub,
    pub kafka: KafkaGlobal,
    /// Extra CA certificates (PEM) trusted by every W&B container.
    #[serde(rename = "customCACerts")]
    pub custom_ca_certs: Vec<String>,
    /// A ConfigMap of `*.crt` CA certificates trusted by every W&B container.
    pub ca_certs_config_map: String,
    #[serde(rename = "weave-trace")]
    pub weave_trace: Toggle,
    pub local_service: LocalService,
    pub api: ApiGlobal,
    pub glue: Toggle,
    pub bufstream: Toggle,
    pub executor: Toggle,
    pub settings_migration_job: SettingsMigrationJobGlobal,
    /// GCP: a Cloud Armor policy attached to the load balancer.
    pub gcp_security_policy: String,
    pub statsig: Statsig,
    /// Observability of W&B's own services.
    pub observability: Option<Observability>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Toggle {
    pub enabled: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct LumenGlobal {
    pub data_root: String,
    pub customer: String,
    pub publish: serde_json::Value,
    pub gcp_workload_identity: GcpWorkloadIdentity,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct GcpWorkloadIdentity {
    pub audience: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct OperatorGlobal {
    /// Namespace of the operator (shown by the console).
    pub namespace: String,
}

/// MySQL connection. Any of `host`, `port`, `database`, `user`, `password`
/// may be `{valueFrom: {secretKeyRef: ...}}`. Setting `host` means an
/// external MySQL: no in-cluster MySQL is installed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct MysqlGlobal {
    pub host: ValueOrRef,
    pub port: ValueOrRef,
    pub database: ValueOrRef,
    pub user: ValueOrRef,
    /// Inline password; prefer `passwordSecret`.
    pub password: ValueOrRef,
    /// CA certificate (PEM) to verify the server with, inline or as a reference.
    pub ca_cert: ValueOrRef,
    pub password_secret: MysqlPasswordSecret,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct MysqlPasswordSecret {
    /// An existing Secret with the passwords; empty means one is generated.
    pub name: String,
    pub root_password_key: String,
    pub password_key: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SlackGlobal {
    pub secret: String,
    pub client_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct OtelGlobal {
    pub traces: OtelTraces,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct OtelTraces {
    /// Collector host; empty means the in-cluster otel DaemonSet.
    pub host: String,
    pub port: Scalar,
    /// `grpc` or `http`.
    pub proto: String,
}

/// ClickHouse connection of weave-trace. Setting `host` to anything but the
/// in-cluster service means an external ClickHouse.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ClickhouseGlobal {
    pub host: ValueOrRef,
    pub port: ValueOrRef,
    pub password: ValueOrRef,
    pub password_secret: ClickhousePasswordSecret,
    pub database: ValueOrRef,
    pub user: ValueOrRef,
    /// Use ReplicatedMergeTree and `ON CLUSTER` (self-managed replicated ClickHouse).
    pub replicated: ValueOrRef,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ClickhousePasswordSecret {
    pub name: String,
    pub password_key: String,
}

/// OLAP (ClickHouse) databases of the features that use one. `default` holds
/// the shared connection; each feature overrides what differs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Olap {
    pub default: OlapConfig,
    pub registry_search: OlapConfig,
    pub run_store_accelerator: OlapConfig,
    pub history: OlapConfig,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct OlapConfig {
    pub enabled: Option<bool>,
    pub host: Option<ValueOrRef>,
    pub port: Option<ValueOrRef>,
    pub user: Option<ValueOrRef>,
    pub password: Option<ValueOrRef>,
    pub database: Option<ValueOrRef>,
    pub params: Option<BTreeMap<String, Scalar>>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ActivityStore {
    pub enabled: bool,
    pub serve: bool,
    pub backfill: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Email {
    pub smtp: Smtp,
}

/// SMTP server for W&B's mail. Any field may be a `valueFrom` reference.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Smtp {
    pub host: ValueOrRef,
    pub port: ValueOrRef,
    pub user: ValueOrRef,
    pub password: ValueOrRef,
    pub mail_from: ValueOrRef,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Auth {
    pub session_length_hours: Scalar,
    pub jwk_url: String,
    pub oidc: Oidc,
}

/// Single sign-on through an OIDC provider.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Oidc {
    pub client_id: String,
    /// Client secret, inline; prefer `oidcSecret`.
    pub secret: String,
    /// `pkce` or `implicit`.
    pub auth_method: String,
    pub issuer: String,
    pub oidc_secret: OidcSecret,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct OidcSecret {
    pub name: String,
    pub secret_key: String,
}

/// An object-storage bucket.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Bucket {
    /// `s3`, `gcs`, `az` or `cw`.
    pub provider: String,
    /// Bucket name; for S3-compatible servers `host:port/bucket`. Setting a
    /// name means no in-cluster object store is installed.
    pub name: String,
    pub path: String,
    pub region: String,
    pub kms_key: String,
    /// Access key, inline; prefer `secret`.
    pub access_key: String,
    /// Secret key, inline; prefer `secret`.
    pub secret_key: String,
    pub secret: BucketSecret,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct BucketSecret {
    /// An existing Secret with the access and secret keys.
    pub secret_name: String,
    pub access_key_name: String,
    pub secret_key_name: String,
}

/// Redis connection. Setting `host` means an external Redis.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct RedisGlobal {
    pub host: String,
    /// Port, optionally followed by `?param=value&...`.
    pub port: Scalar,
    /// Inline password; prefer `secret`.
    pub password: String,
    /// For W&B's internal use only: keep `false`.
    pub external: bool,
    /// Connection parameters (historical name of `params`).
    pub parameters: BTreeMap<String, Scalar>,
    /// Connection parameters appended to the connection string.
    pub params: BTreeMap<String, Scalar>,
    /// CA certificate (PEM); turns TLS on.
    pub ca_cert: String,
    pub secret: RedisSecret,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct RedisSecret {
    pub secret_name: String,
    pub secret_key: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Bigtable {
    pub v3: Toggle,
    pub v2: Toggle,
    pub host: String,
    pub project: String,
    pub instance: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct HistoryStore {
    /// Read history from parquet only, with no MySQL or Bigtable fallback.
    pub parquet_only: bool,
    /// Reach parquet over gRPC (headless service) instead of net/rpc.
    #[serde(rename = "parquetUseGRPC")]
    pub parquet_use_grpc: bool,
    /// Query history-reader (ClickHouse) first.
    pub history_reader_enabled: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct PubSub {
    pub enabled: bool,
    pub host: String,
    pub project: String,
    pub filestream_topic: String,
    pub run_update_shadow_topic: String,
}

/// Kafka connection. Setting `brokerHost` means an external Kafka.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct KafkaGlobal {
    pub user: String,
    pub password: String,
    pub password_secret: KafkaPasswordSecret,
    pub broker_host: String,
    pub broker_port: Scalar,
    pub run_updates_shadow_topic: String,
    /// Partitions of the run-updates-shadow topic when it is created.
    pub run_updates_shadow_num_partitions: Scalar,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct KafkaPasswordSecret {
    pub name: String,
    pub password_key: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct LocalService {
    /// Let the gorilla services bypass the app (local) service.
    pub bypass: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ApiGlobal {
    /// Run the api service (and route the API paths to it).
    pub enabled: bool,
    pub rate_limits: RateLimits,
    pub additional_paths: ApiPaths,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct RateLimits {
    pub enabled: bool,
    pub filestream_count: Scalar,
    pub filestream_size: Scalar,
    pub file_stream_per_run_count: Scalar,
    pub run_update_count: Scalar,
    pub sdk_graphql_query_seconds: Scalar,
    pub create_artifacts: Scalar,
    pub create_artifacts_time_window: Scalar,
}

/// Extra paths routed to the api service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ApiPaths {
    pub proxy: bool,
    pub files: bool,
    pub debug: bool,
    pub service_redirect: bool,
    pub service_dangerzone: bool,
    pub artifacts: bool,
    pub oidc: bool,
    pub analytics: bool,
    pub scim: bool,
    pub admin: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct SettingsMigrationJobGlobal {
    pub debug: bool,
    pub dry_run: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Statsig {
    pub api_key: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Observability {
    /// `otel` sends W&B's statsd metrics to the otel collector.
    pub mode: String,
}

// ---------------------------------------------------------------------------
// components
// ---------------------------------------------------------------------------

/// A container image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Image {
    pub repository: String,
    pub tag: String,
    /// `sha256:...`; wins over `tag`.
    pub digest: String,
    pub pull_policy: String,
}

/// Horizontal pod autoscaling.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Horizontal {
    pub enabled: Option<bool>,
    pub min_replicas: Option<i32>,
    pub max_replicas: Option<i32>,
    #[serde(rename = "targetCPUUtilizationPercentage")]
    pub target_cpu_utilization_percentage: Option<i32>,
    pub target_memory_utilization_percentage: Option<i32>,
}

/// Event-driven autoscaling with KEDA (a ScaledObject).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Keda {
    pub enabled: Option<bool>,
    pub min_replica_count: Option<i32>,
    pub max_replica_count: Option<i32>,
    pub idle_replica_count: Option<i32>,
    pub polling_interval: Option<i32>,
    pub cooldown_period: Option<i32>,
    /// KEDA triggers, as KEDA takes them.
    pub triggers: Option<Vec<serde_json::Value>>,
    pub fallback: Option<serde_json::Value>,
    pub advanced: Option<serde_json::Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Autoscaling {
    pub horizontal: Horizontal,
    pub keda: Keda,
}

/// What a size sets for a component.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Sizing {
    pub replica_count: Option<i32>,
    pub resources: Option<ResourceRequirements>,
    pub env: BTreeMap<String, EnvValue>,
    pub autoscaling: Autoscaling,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct PodDisruptionBudget {
    pub enabled: Option<bool>,
    pub max_unavailable: Option<k8s_openapi::apimachinery::pkg::util::intstr::IntOrString>,
    pub min_available: Option<k8s_openapi::apimachinery::pkg::util::intstr::IntOrString>,
    pub annotations: StringMap,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ServiceAccount {
    /// Create the component's ServiceAccount; when false its pods run as
    /// `name`, or as `default`.
    pub create: Option<bool>,
    pub automount: Option<bool>,
    pub name: Option<String>,
    pub annotations: StringMap,
}

/// Per-container overrides, merged over the catalog's container as Helm
/// merges values: a probe's or the lifecycle's fields over the default's,
/// `command`, `args` and `portsTpls` in place of the default's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ContainerOverride {
    /// `false` leaves it out (or a template that gives `false`).
    pub enabled: Option<Flag>,
    pub resources: Option<ResourceRequirements>,
    pub env: BTreeMap<String, EnvValue>,
    /// Whole ConfigMaps or Secrets as this container's environment:
    /// `name: configMapRef|secretRef`; an entry here beats the component's.
    pub env_from: BTreeMap<String, String>,
    pub command: Option<Vec<String>>,
    pub args: Option<Vec<String>>,
    pub liveness_probe: Option<Probe>,
    pub readiness_probe: Option<Probe>,
    pub startup_probe: Option<Probe>,
    pub lifecycle: Option<Lifecycle>,
    /// The container's mounts, in place of the catalog's (the CA
    /// certificates stay mounted).
    #[schemars(schema_with = "any_objects")]
    pub volume_mounts: Option<Vec<VolumeMount>>,
    /// The container's ports, in place of the catalog's (`portsTpls` add to them).
    #[schemars(schema_with = "any_objects")]
    pub ports: Option<Vec<ContainerPort>>,
    /// Extra container ports, each entry a YAML list of ports, or upstream's
    /// `{{ include "wandb.lumen.gorilla.containerPort" . }}` for the lumen port.
    pub ports_tpls: Option<Vec<String>>,
}

/// A component's RBAC.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct RoleOverride {
    pub create: Option<bool>,
    /// `Role` or `ClusterRole`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// In place of the component's built-in rules.
    pub rules: Option<Vec<PolicyRule>>,
}

/// A Deployment's rollout.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Strategy {
    /// `RollingUpdate` or `Recreate`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// For `RollingUpdate`: `maxSurge` and `maxUnavailable` (1 and 0 unless set).
    pub rolling_update: Option<RollingUpdateDeployment>,
}

/// A job's container: a container's overrides and its image.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct JobContainer {
    #[serde(flatten)]
    pub base: ContainerOverride,
    /// Fields set here lay over the default image.
    pub image: Image,
}

/// A job; unset fields keep the built-in job's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct JobValues {
    pub enabled: Option<Flag>,
    pub backoff_limit: Option<i32>,
    /// 0 is no deadline.
    pub active_deadline_seconds: Option<i64>,
    pub ttl_seconds_after_finished: Option<i32>,
    /// `Never` or `OnFailure`.
    pub restart_policy: Option<String>,
    pub containers: BTreeMap<String, JobContainer>,
    pub init_containers: BTreeMap<String, ContainerOverride>,
    /// The pod's volumes, in place of the job's.
    #[schemars(schema_with = "any_objects")]
    pub volumes: Option<Vec<Volume>>,
}

/// A cron job; unset fields keep the built-in cron job's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct CronJobValues {
    /// `false` suspends the cron job.
    pub enabled: Option<Flag>,
    pub schedule: Option<String>,
    pub suspend: Option<bool>,
    /// `Allow`, `Forbid` or `Replace`.
    pub concurrency_policy: Option<String>,
    pub failed_jobs_history_limit: Option<i32>,
    pub successful_jobs_history_limit: Option<i32>,
    pub starting_deadline_seconds: Option<i64>,
    pub backoff_limit: Option<i32>,
    pub ttl_seconds_after_finished: Option<i32>,
    /// `Never` or `OnFailure`.
    pub restart_policy: Option<String>,
    pub containers: BTreeMap<String, JobContainer>,
    /// The pod's volumes, in place of the cron job's.
    #[schemars(schema_with = "any_objects")]
    pub volumes: Option<Vec<Volume>>,
}

/// The Helm hook the jobs run as: a `pre-` hook runs before the other
/// objects, a `post-` hook after them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct HelmHook {
    pub enabled: Option<bool>,
    /// `pre-install,pre-upgrade`, ...
    pub hook: Option<String>,
    pub hook_weight: Option<Scalar>,
    pub hook_delete_policy: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct GlobalOptOut {
    /// `true` leaves the install-wide volumes (CA certificates) out.
    pub volumes: Option<bool>,
}

/// `true` or `false`, or a template that gives one, as upstream's jobs take
/// (`{{ include "wandb.olapAnyFeatureEnabled" . }}`). The render evaluates
/// the template first; the text `true` is on, anything else off.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum Flag {
    Bool(bool),
    Text(String),
}

impl Flag {
    pub fn is_on(&self) -> bool {
        match self {
            Flag::Bool(b) => *b,
            Flag::Text(t) => t.trim() == "true",
        }
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Bool(b) => Ok(Flag::Bool(b)),
            // What a template gave; other text is refused by `validate`.
            serde_json::Value::String(s) => Ok(Flag::Text(s)),
            other => Err(serde::de::Error::custom(format!(
                "expected true or false (or a template that gives one), found {}",
                crate::tree::type_name(&other)
            ))),
        }
    }
}

/// Settings every W&B component takes (the upstream `wandb-base` chart's).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Component {
    /// Run this component.
    pub install: Option<bool>,
    /// Accepted for compatibility; see each component for its switch.
    pub enabled: Option<bool>,
    /// Replicas; when autoscaling is on it is left to the autoscaler.
    pub replica_count: Option<i32>,
    pub image: Image,
    /// Resources of the main container; beats the size preset.
    pub resources: Option<ResourceRequirements>,
    /// Environment variables: `NAME: value` or `NAME: {valueFrom: ...}`.
    pub env: BTreeMap<String, EnvValue>,
    /// More environment variables.
    pub extra_env: BTreeMap<String, EnvValue>,
    /// Whole ConfigMaps or Secrets as environment: `name: configMapRef|secretRef`.
    pub env_from: BTreeMap<String, String>,
    /// Environment variables from Secret or ConfigMap keys.
    pub extra_env_from: BTreeMap<String, EnvVarSource>,
    /// The groups of environment variables of every container, as upstream's
    /// env helpers (`{{ include "wandb.bucketEnvs" . }}`); unset is the
    /// service's own list.
    pub env_tpls: Option<Vec<crate::template::EnvTpl>>,
    pub autoscaling: Autoscaling,
    pub pod_disruption_budget: PodDisruptionBudget,
    pub node_selector: StringMap,
    pub tolerations: Vec<Toleration>,
    pub affinity: Option<Affinity>,
    pub priority_class_name: String,
    pub common: Metadata,
    pub pod: Metadata,
    pub deployment: Metadata,
    pub statefulset: Metadata,
    pub service: ServiceOverride,
    /// More Services of the component's pods, in place of the catalog's
    /// (parquet's gRPC Service); each needs `name` and `enabled: true`.
    pub services: Option<Vec<ExtraService>>,
    pub pod_labels: StringMap,
    pub pod_annotations: StringMap,
    /// Extra pod annotations, each entry a YAML map of annotations, or one of
    /// upstream's annotation helpers (`{{ include "wandb.lumen.agent.target" . }}`).
    /// Replaces the component's default list.
    pub pod_annotations_tpls: Option<Vec<String>>,
    pub service_account: ServiceAccount,
    /// The Role (or ClusterRole) bound to the component's ServiceAccount.
    pub role: RoleOverride,
    /// Appended to the Deployment's name with a dash (`bc` makes
    /// `<release>-app-bc`); empty for none. Services keep their names.
    pub deployment_postfix: Option<String>,
    /// How the Deployment rolls out.
    pub strategy: Strategy,
    pub pod_security_context: Option<PodSecurityContext>,
    pub security_context: Option<SecurityContext>,
    pub image_pull_secrets: Vec<serde_json::Value>,
    /// This component's size; empty follows `global.size`.
    pub size: String,
    /// Per-size settings, merged over the built-in presets.
    pub sizing: BTreeMap<String, Sizing>,
    /// Overrides per container, by container name.
    pub containers: BTreeMap<String, ContainerOverride>,
    pub init_containers: BTreeMap<String, ContainerOverride>,
    /// The pod's volumes, in place of the catalog's (the install-wide CA
    /// certificate volumes stay); a container mounts them with its
    /// `volumeMounts`.
    #[schemars(schema_with = "any_objects")]
    pub volumes: Option<Vec<Volume>>,
    /// How the pods spread, in place of the default (by zone, then by
    /// node); each constraint selects the component's pods.
    #[schemars(schema_with = "any_objects")]
    pub topology_spread_constraints: Option<Vec<TopologySpreadConstraint>>,
    pub jobs: BTreeMap<String, JobValues>,
    pub cron_jobs: BTreeMap<String, CronJobValues>,
    pub helm_hook: HelmHook,
    pub global_opt_out: GlobalOptOut,
    /// Fraction of requests traced with OpenTelemetry (0 is off).
    pub trace_ratio: Option<f64>,
    pub termination_grace_period_seconds: Option<i64>,
}

/// A component's Service, in the `wandb-base` shape: each key set here
/// beats the catalog's.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ServiceOverride {
    /// Render the component's Service. W&B's services reach each other by
    /// Service name: turning one off cuts off whatever calls it.
    pub enabled: Option<bool>,
    pub labels: StringMap,
    pub annotations: StringMap,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// `clusterIP: None`: clients resolve every pod's address (gRPC's
    /// client-side balancing). A headless Service is internal.
    pub headless: Option<bool>,
    /// No cloud load-balancer annotations or BackendConfig for it.
    pub internal: Option<bool>,
    /// The AWS load balancer's health check path (`global.cloudProvider: aws`).
    pub load_balancer_health_check_path: Option<String>,
    /// The GCP BackendConfig's `healthCheck` (`global.cloudProvider: gcp`).
    pub health_check: Option<serde_json::Value>,
    /// The Service's ports, in place of the catalog's.
    #[schemars(schema_with = "any_objects")]
    pub ports: Option<Vec<ServicePort>>,
}

/// One more Service of a component, as upstream's `services` entries.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ExtraService {
    /// The Service's whole name (upstream's `{{ .Release.Name }}-...` evaluated).
    pub name: String,
    pub enabled: bool,
    pub headless: bool,
    pub internal: bool,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub load_balancer_health_check_path: Option<String>,
    #[schemars(schema_with = "any_objects")]
    pub ports: Vec<ServicePort>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct AppValues {
    #[serde(flatten)]
    pub base: Component,
    /// Extra origins allowed by CORS.
    pub extra_cors: Vec<String>,
    /// Service accounts (subject -> issuer) trusted for internal JWTs.
    #[serde(rename = "internalJWTMap")]
    pub internal_jwt_map: Vec<JwtSubject>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct JwtSubject {
    pub subject: String,
    pub issuer: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ExecutorValues {
    #[serde(flatten)]
    pub base: Component,
    /// Tasks each executor runs at once.
    pub worker_concurrency: Option<Scalar>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsoleValues {
    #[serde(flatten)]
    pub base: Component,
    pub proxy: ConsoleProxy,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsoleProxy {
    pub http_proxy: String,
    pub https_proxy: String,
    pub no_proxy: String,
    pub debug: bool,
}

/// A queue consumer (filestream, flat-run-fields-updater, ...).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerValues {
    #[serde(flatten)]
    pub base: Component,
    pub pub_sub: ConsumerPubSub,
    pub kafka: ConsumerKafka,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ConsumerPubSub {
    pub subscription: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ConsumerKafka {
    pub consumer_group_id: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct HistoryReaderValues {
    #[serde(flatten)]
    pub base: Component,
    pub grpc: HistoryReaderGrpc,
    pub cache: HistoryReaderCache,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct HistoryReaderGrpc {
    pub max_recv_msg_size: Scalar,
    pub max_send_msg_size: Scalar,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct HistoryReaderCache {
    pub size: Scalar,
    pub ttl: Scalar,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct GlueValues {
    #[serde(flatten)]
    pub base: Component,
    pub leader_election: LeaderElection,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct LeaderElection {
    pub enabled: bool,
    pub lease_name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ParquetValues {
    #[serde(flatten)]
    pub base: Component,
    /// GCS FUSE mount of the bucket (GKE only).
    pub fuse: Fuse,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Fuse {
    pub enabled: bool,
    pub resources: Option<ResourceRequirements>,
    pub file_cache_capacity: Scalar,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ParquetMetadataCacheValues {
    #[serde(flatten)]
    pub base: Component,
    pub max_column_chunks: Option<Scalar>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct WeaveValues {
    #[serde(flatten)]
    pub base: Component,
    pub cache: WeaveCache,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct WeaveCache {
    pub interval_in_hours: Scalar,
    pub check_interval_in_seconds: Scalar,
    pub clear_percent: Scalar,
    pub size: Scalar,
    /// `Memory` keeps the cache in RAM.
    pub medium: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct McpServerValues {
    #[serde(flatten)]
    pub base: Component,
    pub weave: McpWeave,
    pub datadog: McpDatadog,
    pub otel: Toggle,
    pub analytics: McpAnalytics,
    pub privacy: McpPrivacy,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct McpWeave {
    /// `auto`, `true` or `false`: expose the trace tools.
    pub tools: Scalar,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct McpDatadog {
    pub enabled: bool,
    /// `agent` or `forwarder`.
    pub mode: String,
    pub service: String,
    pub env: String,
    pub deployment_type: String,
    pub customer: String,
    pub extra_tags: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct McpAnalytics {
    pub datadog_api_key_secret: SecretKeyRef,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct McpPrivacy {
    /// `off`, `standard` or `strict`.
    pub log_level: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct NginxValues {
    #[serde(flatten)]
    pub base: Component,
    /// Extra locations proxied by nginx: `path: {host, headers}`.
    pub additional_services: BTreeMap<String, NginxUpstream>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct NginxUpstream {
    pub host: String,
    pub headers: StringMap,
}

// ---------------------------------------------------------------------------
// others
// ---------------------------------------------------------------------------

/// The Ingress in front of W&B.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Ingress {
    pub install: bool,
    pub create: bool,
    pub name_override: String,
    /// `app` or `console`: where `/` goes.
    pub default_backend: String,
    pub annotations: StringMap,
    pub labels: StringMap,
    pub tls: Vec<k8s_openapi::api::networking::v1::IngressTLS>,
    pub additional_hosts: Vec<String>,
    /// IngressClass name.
    pub class: String,
    pub issuer: Issuer,
    pub secondary: Option<Box<Ingress>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Issuer {
    pub create: bool,
    /// `google` for a GKE ManagedCertificate, else a cert-manager Issuer.
    pub provider: String,
    pub server: String,
    pub email: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ArtifactsGc {
    #[serde(rename = "BatchSize")]
    pub batch_size: Scalar,
    #[serde(rename = "NumWorkers")]
    pub num_workers: Scalar,
    #[serde(rename = "DeleteFilesNumWorkers")]
    pub delete_files_num_workers: Scalar,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct InstallToggle {
    pub install: bool,
}

/// The OpenTelemetry collector that gathers W&B's metrics and traces.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Otel {
    pub install: bool,
    /// A collector on every node, which the W&B services send to.
    pub daemonset: OtelCollector,
    /// One more collector, as a Deployment (off by default, as upstream).
    pub deployment: OtelCollector,
}

/// One of the collector's workloads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct OtelCollector {
    pub install: bool,
    pub image: Image,
    pub resources: Option<ResourceRequirements>,
    pub node_selector: StringMap,
    pub tolerations: Vec<Toleration>,
}

/// Prometheus exporters for the stores.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct Prometheus {
    pub install: bool,
    pub instance: InstallToggle,
    #[serde(rename = "redis-exporter")]
    pub redis_exporter: InstallToggle,
    #[serde(rename = "mysql-exporter")]
    pub mysql_exporter: InstallToggle,
}

/// NetworkPolicies that let only W&B's pods reach the in-cluster stores.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct NetworkPolicy {
    pub enabled: bool,
}

/// Which W&B Server version runs, from the server manifest W&B publishes
/// for it (this operator's addition; docs/server-manifests.md). Beside
/// these keys, a manifest's release document adds `features` and
/// `customResource`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ServerManifestValues {
    /// A W&B Server version (`0.84.0`): the operator pulls its server
    /// manifest from `repository` and runs it. Unset: the built-in release
    /// document.
    pub version: String,
    /// The OCI repository W&B publishes server manifests to; a manifest is
    /// `<repository>:<version>`, pulled with `global.imagePullSecrets`.
    pub repository: String,
    /// A ConfigMap in the install's namespace holding `manifest.yaml` and
    /// `sizing.yaml` (air-gapped sites): run it instead of pulling.
    pub config_map: String,
}

// ---------------------------------------------------------------------------
// the whole
// ---------------------------------------------------------------------------

/// Values of a W&B Server install.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Values {
    pub global: Box<Global>,
    pub ingress: Ingress,
    pub name_override: String,
    pub fullname_override: String,
    pub artifacts_gc: ArtifactsGc,
    /// The api service; turned on by `global.api.enabled`.
    pub api: Box<Component>,
    /// The app (`wandb/local`): UI, API and background work in one service.
    pub app: Box<AppValues>,
    pub app_rename_pre_hook: Box<Component>,
    pub app_rename_post_hook: Box<Component>,
    /// The console: the admin UI.
    pub console: Box<ConsoleValues>,
    pub executor: Box<ExecutorValues>,
    pub filemeta: Box<Component>,
    pub anaconda2: Box<Component>,
    pub filestream: Box<ConsumerValues>,
    #[serde(rename = "flat-run-fields-updater")]
    pub flat_run_fields_updater: Box<ConsumerValues>,
    #[serde(rename = "history-updater")]
    pub history_updater: Box<ConsumerValues>,
    #[serde(rename = "history-reader")]
    pub history_reader: Box<HistoryReaderValues>,
    pub frontend: Box<Component>,
    /// Background tasks; turned on by `global.glue.enabled`.
    pub glue: Box<GlueValues>,
    pub internal_signer_pre_hook: Box<Component>,
    #[serde(rename = "metric-observer")]
    pub metric_observer: Box<ConsumerValues>,
    pub parquet: Box<ParquetValues>,
    #[serde(rename = "parquet-metadata-cache")]
    pub parquet_metadata_cache: Box<ParquetMetadataCacheValues>,
    pub settings_migration_job: Box<Component>,
    pub clickhouse_migration_job: Box<Component>,
    pub weave: Box<WeaveValues>,
    #[serde(rename = "mcp-server")]
    pub mcp_server: Box<McpServerValues>,
    #[serde(rename = "weave-trace")]
    pub weave_trace: Box<Component>,
    #[serde(rename = "weave-trace-worker")]
    pub weave_trace_worker: Box<Component>,
    #[serde(rename = "weave-evaluate-model-worker")]
    pub weave_evaluate_model_worker: Box<Component>,
    #[serde(rename = "weave-trace-agent-scoring-worker")]
    pub weave_trace_agent_scoring_worker: Box<Component>,
    pub nginx: Box<NginxValues>,
    #[serde(rename = "lumen-agent")]
    pub lumen_agent: Box<Component>,
    /// In-cluster MySQL 8.
    pub mysql: Box<Store>,
    /// In-cluster Redis 7.
    pub redis: Box<RedisStore>,
    /// In-cluster ClickHouse.
    pub clickhouse: Box<ClickhouseStore>,
    /// In-cluster Kafka.
    pub kafka: Box<KafkaStore>,
    /// In-cluster bufstream (Kafka-compatible), instead of Kafka.
    pub bufstream: Box<BufstreamStore>,
    /// In-cluster etcd for bufstream.
    pub etcd: Box<EtcdStore>,
    /// In-cluster S3-compatible object store (MinIO), used when no bucket is given.
    pub object_store: Box<Store>,
    pub otel: Otel,
    pub prometheus: Prometheus,
    /// Google Cloud Monitoring metrics of the managed stores (on GCP).
    pub stackdriver: Box<crate::cloud_exporters::StackdriverValues>,
    /// Amazon CloudWatch metrics of the managed stores (on AWS).
    pub yace: Box<crate::cloud_exporters::YaceValues>,
    pub network_policy: NetworkPolicy,
    /// The W&B Server version from W&B's server manifests (this operator's addition).
    pub server_manifest: ServerManifestValues,
    /// Backups of the MySQL database to a bucket (this operator's addition).
    pub backup: Box<crate::backup::BackupValues>,
    /// Accepted for compatibility and ignored: the operator itself rolls pods
    /// when their configuration changes.
    pub reloader: serde_json::Value,
    /// Whether the user's values hold templates (the loader sets it): the
    /// render then evaluates every string; else only the defaults' own.
    #[serde(skip)]
    #[schemars(skip)]
    pub user_templates: bool,
    /// The merged tree the values were typed from: what a release
    /// document's values paths read (the loader sets it).
    #[serde(skip)]
    #[schemars(skip)]
    pub tree: std::sync::Arc<serde_json::Value>,
    /// The blocks of services that a release document adds and that have
    /// no field here, typed by the loader.
    #[serde(skip)]
    #[schemars(skip)]
    pub more_components: BTreeMap<String, Component>,
}
