//! The values of the in-cluster stores: the keys of upstream's subcharts
//! (its own MySQL chart, Bitnami's Redis, ClickHouse, Kafka and etcd, Buf's
//! bufstream) that users set, typed.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Affinity, EnvVar, Probe, ResourceRequirements, Toleration};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::types::{EnvValue, Image, Metadata, Scalar, StringMap};

/// A volume of an in-cluster store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Persistence {
    pub enabled: Option<bool>,
    pub size: Scalar,
    /// Empty follows `global.storageClass`.
    pub storage_class: String,
    /// A PersistentVolumeClaim of the user's to keep the data in, instead of
    /// the store's own.
    pub existing_claim: String,
}

/// The image of a store; Bitnami's charts also take its registry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct StoreImage {
    #[serde(flatten)]
    pub base: Image,
    /// Empty is the store's usual registry; `global.imageRegistry` beats it.
    pub registry: String,
}

/// An in-cluster store (MySQL, Redis, ClickHouse, Kafka, ...): installed for
/// a proof of concept, replaced by an external endpoint in production.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct Store {
    /// Install it in the cluster. Giving the store's external endpoint in
    /// `global` turns this off whatever it says.
    pub install: Option<bool>,
    pub image: StoreImage,
    pub resources: Option<ResourceRequirements>,
    pub persistence: Persistence,
    /// Empty follows `global.nodeSelector`.
    pub node_selector: StringMap,
    /// Empty follows `global.tolerations`.
    pub tolerations: Vec<Toleration>,
    pub affinity: Option<Affinity>,
    /// Empty follows `global.priorityClassName`.
    pub priority_class_name: String,
    pub replica_count: Option<i32>,
    pub common: Metadata,
    pub pod: Metadata,
    /// Labels of the pods, as Bitnami's charts name them (`pod.labels` too).
    pub pod_labels: StringMap,
    /// Annotations of the pods (`pod.annotations` too).
    pub pod_annotations: StringMap,
    /// Environment variables, `NAME: value` (upstream's MySQL chart).
    pub extra_env: BTreeMap<String, EnvValue>,
    /// Environment variables, as a list (Bitnami's charts).
    pub extra_env_vars: Vec<EnvVar>,
    /// What becomes of the claims when the StatefulSet is scaled down or deleted.
    pub persistent_volume_claim_retention_policy: RetentionPolicy,
}

/// A StatefulSet's `persistentVolumeClaimRetentionPolicy`, when enabled.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct RetentionPolicy {
    pub enabled: Option<bool>,
    /// `Retain` or `Delete`.
    pub when_scaled: String,
    /// `Retain` or `Delete`.
    pub when_deleted: String,
}

impl Store {
    /// These settings over `base`'s: what a Bitnami `master` or `controller`
    /// block sets wins over the chart's top level, the rest is kept.
    pub fn over(&self, base: &Store) -> Store {
        let text = |a: &String, b: &String| if a.is_empty() { b } else { a }.clone();
        let map = |a: &StringMap, b: &StringMap| {
            let mut m = b.clone();
            m.extend(a.clone());
            m
        };
        let meta = |a: &Metadata, b: &Metadata| Metadata {
            labels: map(&a.labels, &b.labels),
            annotations: map(&a.annotations, &b.annotations),
        };
        let (i, bi) = (&self.image, &base.image);
        let (p, bp) = (&self.persistence, &base.persistence);
        let mut extra_env = base.extra_env.clone();
        extra_env.extend(self.extra_env.clone());
        Store {
            install: self.install.or(base.install),
            image: StoreImage {
                base: Image {
                    repository: text(&i.base.repository, &bi.base.repository),
                    tag: text(&i.base.tag, &bi.base.tag),
                    digest: text(&i.base.digest, &bi.base.digest),
                    pull_policy: text(&i.base.pull_policy, &bi.base.pull_policy),
                },
                registry: text(&i.registry, &bi.registry),
            },
            resources: self.resources.clone().or_else(|| base.resources.clone()),
            persistence: Persistence {
                enabled: p.enabled.or(bp.enabled),
                size: if p.size.is_empty() { &bp.size } else { &p.size }.clone(),
                storage_class: text(&p.storage_class, &bp.storage_class),
                existing_claim: text(&p.existing_claim, &bp.existing_claim),
            },
            node_selector: if self.node_selector.is_empty() {
                &base.node_selector
            } else {
                &self.node_selector
            }
            .clone(),
            tolerations: if self.tolerations.is_empty() {
                &base.tolerations
            } else {
                &self.tolerations
            }
            .clone(),
            affinity: self.affinity.clone().or_else(|| base.affinity.clone()),
            priority_class_name: text(&self.priority_class_name, &base.priority_class_name),
            replica_count: self.replica_count.or(base.replica_count),
            common: meta(&self.common, &base.common),
            pod: meta(&self.pod, &base.pod),
            pod_labels: map(&self.pod_labels, &base.pod_labels),
            pod_annotations: map(&self.pod_annotations, &base.pod_annotations),
            extra_env,
            extra_env_vars: [base.extra_env_vars.clone(), self.extra_env_vars.clone()].concat(),
            persistent_volume_claim_retention_policy: {
                let (r, br) = (
                    &self.persistent_volume_claim_retention_policy,
                    &base.persistent_volume_claim_retention_policy,
                );
                RetentionPolicy {
                    enabled: r.enabled.or(br.enabled),
                    when_scaled: text(&r.when_scaled, &br.when_scaled),
                    when_deleted: text(&r.when_deleted, &br.when_deleted),
                }
            },
        }
    }
}

/// The Redis store: Bitnami's chart, standalone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct RedisStore {
    #[serde(flatten)]
    pub base: Store,
    /// The Redis pod's settings; they beat the top-level ones.
    pub master: Store,
    pub auth: RedisAuth,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct RedisAuth {
    /// Require the password of `global.redis.secret` (the key
    /// `global.redis.secret.secretKey` of the Redis Secret).
    pub enabled: Option<bool>,
}

/// The ClickHouse store, with its keeper.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct ClickhouseStore {
    #[serde(flatten)]
    pub base: Store,
    /// StatefulSets of servers (`{release}-clickhouse-shard{n}`), each of
    /// `replicaCount` servers.
    pub shards: Option<i32>,
    pub keeper: Store,
    /// Ports of the ClickHouse server.
    pub clickhouse: ClickhousePorts,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default)]
pub struct ClickhousePorts {
    pub port: Option<Scalar>,
}

/// The Kafka store.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct KafkaStore {
    #[serde(flatten)]
    pub base: Store,
    /// The controller-broker pods' settings; they beat the top-level ones.
    pub controller: Store,
    pub kraft: KafkaKraft,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct KafkaKraft {
    /// The KRaft cluster id; give each production install its own.
    pub cluster_id: String,
}

/// The etcd that holds bufstream's metadata: Bitnami's chart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", default)]
pub struct EtcdStore {
    #[serde(flatten)]
    pub base: Store,
    /// `periodic` or `revision`.
    pub auto_compaction_mode: String,
    pub auto_compaction_retention: String,
    pub custom_liveness_probe: Option<Probe>,
    pub custom_readiness_probe: Option<Probe>,
}
