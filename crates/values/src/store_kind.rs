//! The stores an install can run in the cluster, declared once. The render
//! decides which run and builds them, the operator brings them up before
//! anything that uses them, `check` tries the ones outside the cluster and
//! validation reads their values, each from this list. A new store is a
//! variant here plus its builder: the compiler (exhaustive matches) and the
//! tests name every other place that must learn it.

use crate::stores::Store;
use crate::types::Values;

/// One store of W&B's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum StoreKind {
    Mysql,
    Redis,
    /// The S3-compatible bucket (MinIO in the cluster).
    ObjectStore,
    Clickhouse,
    Kafka,
    /// A Kafka-compatible broker, instead of Kafka.
    Bufstream,
    /// Bufstream's metadata store; runs with it.
    Etcd,
}

impl StoreKind {
    /// Every store, in the order `check` reports them.
    pub const ALL: [StoreKind; 7] = [
        StoreKind::Mysql,
        StoreKind::Redis,
        StoreKind::ObjectStore,
        StoreKind::Clickhouse,
        StoreKind::Kafka,
        StoreKind::Bufstream,
        StoreKind::Etcd,
    ];

    /// Its values key, also the component its objects belong to.
    pub fn key(self) -> &'static str {
        match self {
            StoreKind::Mysql => "mysql",
            StoreKind::Redis => "redis",
            StoreKind::ObjectStore => "objectStore",
            StoreKind::Clickhouse => "clickhouse",
            StoreKind::Kafka => "kafka",
            StoreKind::Bufstream => "bufstream",
            StoreKind::Etcd => "etcd",
        }
    }

    /// Its settings with their values keys: the store's block and the
    /// blocks of its sub-workloads (Bitnami's `master`, `keeper`,
    /// `controller`). Bufstream's settings have another shape and are read
    /// on their own.
    pub fn settings(self, values: &Values) -> Vec<(&'static str, &Store)> {
        match self {
            StoreKind::Mysql => vec![("mysql", &*values.mysql)],
            StoreKind::Redis => vec![
                ("redis", &values.redis.base),
                ("redis.master", &values.redis.master),
            ],
            StoreKind::ObjectStore => vec![("objectStore", &*values.object_store)],
            StoreKind::Clickhouse => vec![
                ("clickhouse", &values.clickhouse.base),
                ("clickhouse.keeper", &values.clickhouse.keeper),
            ],
            StoreKind::Kafka => vec![
                ("kafka", &values.kafka.base),
                ("kafka.controller", &values.kafka.controller),
            ],
            StoreKind::Bufstream => vec![],
            StoreKind::Etcd => vec![("etcd", &values.etcd.base)],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_store_once() {
        // Exhaustive: a new variant does not compile until it is named here
        // with the new count, and then this fails until ALL lists it.
        let count = |store| match store {
            StoreKind::Mysql
            | StoreKind::Redis
            | StoreKind::ObjectStore
            | StoreKind::Clickhouse
            | StoreKind::Kafka
            | StoreKind::Bufstream
            | StoreKind::Etcd => 7,
        };
        assert_eq!(StoreKind::ALL.len(), count(StoreKind::Mysql));
        for (i, store) in StoreKind::ALL.into_iter().enumerate() {
            assert_eq!(store as usize, i, "{store:?}: ALL in declaration order");
        }
    }

    #[test]
    fn settings_are_under_the_store_s_own_key() {
        let values = Values::default();
        for store in StoreKind::ALL {
            for (key, _) in store.settings(&values) {
                assert!(key.starts_with(store.key()), "{store:?}: {key}");
            }
        }
    }
}
