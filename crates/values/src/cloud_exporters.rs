//! The exporters of a cloud's own metrics (upstream's `stackdriver` and
//! `yace` subcharts): the managed MySQL and Redis of an install on Google
//! Cloud or AWS, as Prometheus metrics.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::stores::Store;
use crate::types::{Metadata, Scalar, StringMap};

/// The Stackdriver exporter: Google Cloud Monitoring metrics (Cloud SQL,
/// Memorystore) as Prometheus metrics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct StackdriverValues {
    #[serde(flatten)]
    pub base: Store,
    pub stackdriver: Stackdriver,
    pub web: ExporterWeb,
    /// More flags: `name: value` is `--name=value`; an empty value is left out.
    pub extra_args: BTreeMap<String, Scalar>,
    /// Labels and annotations of its ServiceAccount (Workload Identity).
    pub service_account: Metadata,
}

/// What the Stackdriver exporter reads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Stackdriver {
    /// The Google project to read; empty is the credentials' project.
    pub project_id: String,
    /// A Secret with the service account's key (`credentials.json`); empty
    /// is the pod's identity.
    pub service_account_secret: String,
    /// The key of the Secret holding it, when not `credentials.json`.
    pub service_account_secret_key: String,
    pub max_retries: Scalar,
    pub http_timeout: String,
    pub max_backoff: String,
    pub backoff_jitter: String,
    /// HTTP statuses that are retried.
    pub retry_statuses: Scalar,
    pub drop_delegated_projects: bool,
    pub metrics: StackdriverMetrics,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct StackdriverMetrics {
    /// Comma-separated prefixes of the metric types read.
    pub type_prefixes: String,
    /// Cloud Monitoring filters (`prefix:filter`).
    pub filters: Vec<String>,
    pub interval: String,
    pub offset: String,
    pub ingest_delay: bool,
    pub aggregate_deltas: bool,
    #[serde(rename = "aggregateDeltasTTL")]
    pub aggregate_deltas_ttl: String,
}

/// Where an exporter serves its metrics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ExporterWeb {
    pub listen_address: String,
    pub path: String,
}

/// YACE: Amazon CloudWatch metrics (ElastiCache, RDS) as Prometheus metrics.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct YaceValues {
    #[serde(flatten)]
    pub base: Store,
    /// The AWS regions read.
    pub regions: Vec<String>,
    /// Only resources with these tags are read.
    pub search_tags: StringMap,
    /// Labels and annotations of its ServiceAccount (IAM role).
    pub service_account: Metadata,
}
