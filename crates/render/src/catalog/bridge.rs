//! How W&B's server manifests map onto an install of this operator: each
//! source type and each field of W&B's v2 resource that a manifest's env
//! reads, as a source of this document, and what a container needs for it
//! (the connection's own env, first). A manifest is translated with the
//! document's bridge (`crate::manifest`).

use std::collections::BTreeMap;

use serde::Deserialize;

use super::service::{EnvFromSpec, RoleSpec};
use super::source::Entry;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Bridge {
    /// By a manifest's source type (`mysql`, `redis`, `bucket`, ...).
    #[serde(default)]
    pub sources: BTreeMap<String, Bridged>,
    /// By a field of W&B's v2 resource (`spec.wandb.license`): the values
    /// key that carries the same setting. A field not here gives nothing
    /// (its `defaultValue`, or the env var is left out, as v2 does).
    #[serde(default)]
    pub custom_resource: BTreeMap<String, Bridged>,
    /// The RBAC of every application's and migration's ServiceAccount.
    pub role: Option<RoleSpec>,
    /// The Job that makes a manifest's Kafka topics: a service as the
    /// `services` section writes one, given each topic as an env var
    /// `WANDB_TOPIC_<n>` = `<topic>:<partitions>`.
    pub topics: Option<serde_json::Value>,
    /// By a manifest's store (`bucket`): the Service its ingress paths go
    /// to, when the install runs that store.
    #[serde(default)]
    pub store_routes: BTreeMap<String, StoreRoute>,
}

/// Where a store's ingress paths go.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StoreRoute {
    pub service: String,
    pub port: i32,
    pub when: Option<super::condition::Condition>,
}

/// One source type, or one field of the resource.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Bridged {
    /// The source without a field (a connection URL).
    pub value: Option<Entry>,
    /// The source's fields (`host`, `port`, `region`, ...).
    #[serde(default)]
    pub fields: BTreeMap<String, Entry>,
    /// Env groups a container takes first, for the value's references.
    #[serde(default)]
    pub env_groups: Vec<String>,
    /// ConfigMaps and Secrets of the install a container takes as its env.
    #[serde(default)]
    pub env_from: Vec<EnvFromSpec>,
}
