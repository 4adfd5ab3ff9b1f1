//! The values of bufstream, the Kafka-compatible queue that keeps its data in
//! the bucket and its metadata in etcd: the keys of Buf's chart that
//! upstream installs as `bufstream`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Affinity, EnvVar, ResourceRequirements, Toleration};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::types::{Image, StringMap};

/// The bufstream store (Kafka-compatible, keeps data in the bucket, uses etcd).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct BufstreamStore {
    /// Install bufstream and its etcd; `global.bufstream.enabled` makes W&B use it.
    pub install: Option<bool>,
    /// Namespace bufstream runs in; empty is the release namespace.
    pub namespace_override: String,
    /// Name of the bufstream cluster.
    pub cluster: String,
    /// Zone of the brokers; empty is none.
    pub zone: String,
    /// bufstream's `data_enforcement` settings, as bufstream reads them.
    pub data_enforcement: BTreeMap<String, serde_json::Value>,
    pub storage: BufstreamStorage,
    pub metadata: BufstreamMetadata,
    pub kafka: BufstreamKafka,
    pub observability: BufstreamObservability,
    /// The brokers' workload.
    pub bufstream: BufstreamWorkload,
    /// Nodes of the brokers when `bufstream.deployment.nodeSelector` is empty;
    /// empty follows `global.nodeSelector`.
    pub node_selector: StringMap,
    /// As `nodeSelector`, for tolerations.
    pub tolerations: Vec<Toleration>,
    /// Keys laid over the generated `config.yaml`, as bufstream reads them.
    pub config_overrides: BTreeMap<String, serde_json::Value>,
}

/// Where bufstream keeps its data. Empty keys follow `global.bucket`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct BufstreamStorage {
    /// `s3` or `gcs`; empty is the bucket's provider.
    #[serde(rename = "use")]
    pub provider: String,
    pub gcs: BufstreamGcs,
    pub s3: BufstreamS3,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct BufstreamGcs {
    pub bucket: String,
    pub prefix: String,
    /// Secret with the service account's `credentials.json`.
    pub secret_name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct BufstreamS3 {
    pub bucket: String,
    pub region: String,
    pub prefix: String,
    pub endpoint: String,
    pub force_path_style: Option<bool>,
    pub access_key_id: String,
    /// Secret holding the secret access key.
    pub secret_name: String,
    /// Key of the secret access key in `secretName`.
    pub secret_key_name: String,
}

/// Where bufstream keeps its metadata.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct BufstreamMetadata {
    /// `etcd` (the only store this chart installs).
    #[serde(rename = "use")]
    pub store: String,
    pub etcd: BufstreamEtcd,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct BufstreamEtcd {
    /// The etcd endpoints; empty is the in-cluster etcd.
    pub addresses: Vec<HostPort>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct HostPort {
    pub host: String,
    pub port: Option<i64>,
}

/// bufstream's Kafka listener and protocol settings.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct BufstreamKafka {
    pub address: HostPort,
    /// The address clients are told; empty is the `bufstream` Service.
    pub public_address: HostPort,
    pub fetch_eager: Option<bool>,
    pub fetch_sync: Option<bool>,
    pub produce_concurrent: Option<bool>,
    pub zone_balance_strategy: String,
    pub partition_balance_strategy: String,
    pub request_buffer_size: Option<i64>,
    /// A duration (`30s`) or 0 for none.
    pub idle_timeout: serde_json::Value,
    pub num_partitions: Option<i64>,
    pub exact_log_sizes: Option<bool>,
    pub exact_log_offsets: Option<bool>,
    pub group_consumer_session_timeout: String,
    pub group_consumer_session_timeout_min: String,
    pub group_consumer_session_timeout_max: String,
}

/// bufstream's logs, metrics and traces.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct BufstreamObservability {
    pub log_level: String,
    /// OTLP endpoint of both metrics and traces.
    pub otlp_endpoint: String,
    pub exporter: BufstreamExporter,
    pub metrics: BufstreamSignal,
    pub tracing: BufstreamSignal,
    /// `NONE` or `OPAQUE`.
    pub sensitive_information_redaction: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct BufstreamExporter {
    pub address: String,
    pub insecure: bool,
}

/// The export of metrics or of traces.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct BufstreamSignal {
    /// Older form of `exporterType`; wins when set.
    pub exporter: String,
    /// `NONE`, `STDOUT`, `HTTP`, `HTTPS` or `PROMETHEUS` (metrics).
    pub exporter_type: String,
    pub address: String,
    pub path: String,
    pub insecure: bool,
    /// Metrics only.
    pub omit_partition_attribute: bool,
    /// Metrics only.
    pub enable_internal_metrics: bool,
    /// Metrics only: `OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE`.
    pub otlp_temporality_preference: String,
    /// Metrics only.
    pub aggregation: BufstreamAggregation,
    /// Traces only: the fraction of requests traced.
    pub trace_ratio: Option<f64>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct BufstreamAggregation {
    pub topics: bool,
    pub partitions: bool,
    pub consumer_groups: bool,
}

/// The brokers: a StatefulSet `bufstream`, its Service and ServiceAccount.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct BufstreamWorkload {
    pub service: BufstreamService,
    pub service_account: BufstreamServiceAccount,
    pub deployment: BufstreamDeployment,
    pub image: Image,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct BufstreamService {
    pub enabled: Option<bool>,
    #[serde(rename = "type")]
    pub kind: String,
    pub annotations: StringMap,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct BufstreamServiceAccount {
    pub create: Option<bool>,
    pub name: String,
    pub annotations: StringMap,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct BufstreamDeployment {
    pub command: Vec<String>,
    /// Empty is `--config /config/config.yaml`.
    pub args: Vec<String>,
    pub replica_count: Option<i32>,
    pub pod_annotations: StringMap,
    pub pod_labels: StringMap,
    pub resources: Option<ResourceRequirements>,
    pub node_selector: StringMap,
    pub affinity: Option<Affinity>,
    pub tolerations: Vec<Toleration>,
    pub extra_env: Vec<EnvVar>,
    pub termination_grace_period_seconds: Option<i64>,
    pub liveness_probe: ProbeTuning,
    pub readiness_probe: ProbeTuning,
    pub startup_probe: ProbeTuning,
}

/// The tunable part of a probe.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ProbeTuning {
    pub failure_threshold: Option<i32>,
    pub timeout_seconds: Option<i32>,
}
