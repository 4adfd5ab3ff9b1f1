//! What every part of the render needs: the values, the release, and the
//! facts derived from them once (which stores run in the cluster, where each
//! endpoint is, which Secret holds which password).

use std::collections::BTreeSet;

use serde_json::Value;
use wandb_values::{Scalar, StoreKind, ValueOrRef, Values};

use crate::catalog::{Catalog, Layer};

/// The release a render is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    /// The release name, prefix of every object name (`wandb`).
    pub name: String,
    pub namespace: String,
}

impl Release {
    pub fn new(name: &str, namespace: &str) -> Self {
        Release {
            name: name.to_string(),
            namespace: namespace.to_string(),
        }
    }
}

/// Values plus release plus derived facts, and the release document.
pub struct Ctx<'a> {
    pub catalog: &'a Catalog,
    pub values: &'a Values,
    pub release: &'a Release,
    /// The values as the document reads them: its layers laid.
    pub tree: Value,
    /// The stores that run in the cluster.
    stores_in_cluster: BTreeSet<StoreKind>,
    /// Resolved once: most services read it.
    bucket: BucketInfo,
}

/// The bucket W&B uses, resolved from `global.bucket` or `global.defaultBucket`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BucketInfo {
    pub provider: String,
    pub name: String,
    pub path: String,
    pub region: String,
    pub kms_key: String,
    pub access_key: String,
    pub secret_key: String,
    pub access_key_name: String,
    pub secret_key_name: String,
    pub secret_name: String,
    /// The connection URL, with `$(BUCKET_...)` references.
    pub url: String,
}

/// Port of the in-cluster object store's S3 API.
pub const OBJECT_STORE_PORT: i32 = 9000;
/// Bucket created in the in-cluster object store.
pub const OBJECT_STORE_BUCKET: &str = "wandb";

impl<'a> Ctx<'a> {
    pub fn new(catalog: &'a Catalog, values: &'a Values, release: &'a Release) -> Self {
        let mut ctx = Ctx {
            catalog,
            values,
            release,
            tree: layered(&values.tree, &catalog.layers),
            stores_in_cluster: BTreeSet::new(),
            bucket: BucketInfo::default(),
        };
        ctx.stores_in_cluster = StoreKind::ALL
            .into_iter()
            .filter(|store| ctx.runs_in_cluster(*store))
            .collect();
        // The bucket is the in-cluster object store's when that runs.
        ctx.bucket = ctx.resolve_bucket();
        ctx
    }

    /// Whether the install runs `store` in the cluster.
    pub fn in_cluster(&self, store: StoreKind) -> bool {
        self.stores_in_cluster.contains(&store)
    }

    /// A store runs in the cluster when it is not switched off and the
    /// values name no endpoint outside it.
    fn runs_in_cluster(&self, store: StoreKind) -> bool {
        let values = self.values;
        let g = &values.global;
        let installs = |v: Option<bool>| v != Some(false);
        // Bufstream is off unless asked for; it replaces Kafka.
        let bufstream = values.bufstream.install == Some(true);
        match store {
            StoreKind::Mysql => installs(values.mysql.install) && is_unset(&g.mysql.host),
            StoreKind::Redis => installs(values.redis.base.install) && g.redis.host.is_empty(),
            StoreKind::ObjectStore => {
                let bucket_named = !g.bucket.name.is_empty() || !g.default_bucket.name.is_empty();
                installs(values.object_store.install) && !bucket_named
            }
            StoreKind::Clickhouse => {
                installs(values.clickhouse.base.install)
                    && self.clickhouse_host() == self.in_cluster_clickhouse_host()
            }
            StoreKind::Kafka => {
                installs(values.kafka.base.install) && g.kafka.broker_host.is_empty() && !bufstream
            }
            StoreKind::Bufstream | StoreKind::Etcd => bufstream && g.kafka.broker_host.is_empty(),
        }
    }

    /// `{release}-suffix`.
    pub fn name(&self, suffix: &str) -> String {
        format!("{}-{suffix}", self.release.name)
    }

    /// Replaces the catalog's `{release}` and `{namespace}` in a string (the
    /// values' own templates are evaluated before the render, see `template`).
    pub fn expand(&self, text: &str) -> String {
        if !text.contains('{') {
            return text.to_string();
        }
        // `portsTpls` and `podAnnotationsTpls` entries, read rather than
        // evaluated, may name the release as upstream's templates do.
        text.replace("{{ .Release.Name }}", &self.release.name)
            .replace("{{.Release.Name}}", &self.release.name)
            .replace("{{ .Release.Namespace }}", &self.release.namespace)
            .replace("{{.Release.Namespace}}", &self.release.namespace)
            .replace("{release}", &self.release.name)
            .replace("{namespace}", &self.release.namespace)
    }

    /// The host name of `global.host`: no scheme, no port, no path.
    pub fn host_name(&self) -> String {
        let host = &self.values.global.host;
        let rest = host.split_once("://").map_or(host.as_str(), |(_, r)| r);
        let authority = rest.split('/').next().unwrap_or_default();
        match authority.strip_prefix('[') {
            // [IPv6]:port
            Some(v6) => v6.split(']').next().unwrap_or_default().to_string(),
            None => authority
                .split(':')
                .next()
                .unwrap_or_default()
                .to_lowercase(),
        }
    }

    /// The host an Ingress rule can match: a DNS name; `None` for an IP
    /// address, which Ingress rules do not take (the rule then matches any host).
    pub fn ingress_host(&self) -> Option<String> {
        let host = self.host_name();
        (!host.is_empty() && host.parse::<std::net::IpAddr>().is_err()).then_some(host)
    }

    // --- MySQL -----------------------------------------------------------

    pub fn mysql_password_secret(&self) -> String {
        non_empty(&self.values.global.mysql.password_secret.name)
            .unwrap_or_else(|| self.name("mysql"))
    }

    pub fn mysql_host(&self) -> String {
        match self.values.global.mysql.host.plain() {
            Some("") | None => self.name("mysql"),
            Some(host) => host.to_string(),
        }
    }

    /// The MySQL user; a user from a Secret is `wandb` where a literal is needed.
    pub fn mysql_user(&self) -> String {
        match &self.values.global.mysql.user {
            ValueOrRef::Ref { .. } => "wandb".into(),
            ValueOrRef::Value(v) => v.to_string(),
        }
    }

    /// File name of the MySQL CA certificate inside `/etc/ssl/certs`.
    pub fn mysql_ca_file(&self) -> String {
        match &self.values.global.mysql.ca_cert {
            ValueOrRef::Ref { value_from } => value_from
                .secret_key_ref
                .as_ref()
                .map(|r| r.key.clone())
                .or_else(|| {
                    value_from
                        .config_map_key_ref
                        .as_ref()
                        .map(|r| r.key.clone())
                })
                .unwrap_or_else(|| "mysql_ca.pem".into()),
            ValueOrRef::Value(_) => "mysql_ca.pem".into(),
        }
    }

    pub fn mysql_has_ca(&self) -> bool {
        !is_unset(&self.values.global.mysql.ca_cert)
    }

    // --- Redis -----------------------------------------------------------

    pub fn redis_secret(&self) -> String {
        non_empty(&self.values.global.redis.secret.secret_name)
            .unwrap_or_else(|| self.name("redis-secret"))
    }

    pub fn redis_host(&self) -> String {
        non_empty(&self.values.global.redis.host).unwrap_or_else(|| self.name("redis-master"))
    }

    /// The port, without the `?params` upstream allows after it.
    pub fn redis_port(&self) -> String {
        let port = self.values.global.redis.port.as_str();
        port.split('?').next().unwrap_or_default().to_string()
    }

    /// `?k=v&...` of the Redis connection, sorted by key. Precedence: a CA
    /// path when a CA is given, then `params`, `parameters`, the port's query,
    /// and the defaults.
    pub fn redis_params(&self) -> String {
        let r = &self.values.global.redis;
        let mut params = std::collections::BTreeMap::new();
        params.insert("ttlInSeconds".to_string(), "604800".to_string());
        if !r.ca_cert.is_empty() {
            params.insert("tls".into(), "true".into());
        }
        if let Some((_, query)) = r.port.as_str().split_once('?') {
            for pair in query.split('&') {
                if let Some((k, v)) = pair.split_once('=') {
                    params.insert(k.to_string(), v.to_string());
                }
            }
        }
        for (k, v) in r.parameters.iter().chain(r.params.iter()) {
            params.insert(k.clone(), v.to_string());
        }
        if !r.ca_cert.is_empty() {
            params.insert("caCertPath".into(), "/etc/ssl/certs/redis_ca.pem".into());
        }
        query_string(params.iter().map(|(k, v)| (k.as_str(), v.clone())))
    }

    /// The connection string, with `$(REDIS_...)` references.
    pub fn redis_connection(&self) -> String {
        let r = &self.values.global.redis;
        if !r.password.is_empty() || !r.secret.secret_name.is_empty() {
            "redis://:$(REDIS_PASSWORD)@$(REDIS_HOST):$(REDIS_PORT)$(REDIS_PARAMS)".into()
        } else {
            "redis://$(REDIS_HOST):$(REDIS_PORT)$(REDIS_PARAMS)".into()
        }
    }

    // --- bucket ----------------------------------------------------------

    pub fn bucket(&self) -> &BucketInfo {
        &self.bucket
    }

    fn resolve_bucket(&self) -> BucketInfo {
        let g = &self.values.global;
        let chosen = if !g.bucket.name.is_empty() {
            &g.bucket
        } else {
            &g.default_bucket
        };
        let mut name = chosen.name.clone();
        let mut region = chosen.region.clone();
        if self.in_cluster(StoreKind::ObjectStore) {
            name = format!(
                "{}:{OBJECT_STORE_PORT}/{OBJECT_STORE_BUCKET}",
                self.name("minio")
            );
            if region.is_empty() {
                region = "us-east-1".into();
            }
        }
        let provider = if chosen.provider.is_empty() {
            "s3".to_string()
        } else {
            chosen.provider.clone()
        };
        let secret = &g.bucket.secret;
        let with_keys = (!chosen.access_key.is_empty() && !chosen.secret_key.is_empty())
            || !secret.secret_name.is_empty();
        let path_part = if chosen.path.is_empty() {
            ""
        } else {
            "/$(BUCKET_PATH)"
        };
        let url = match provider.as_str() {
            "cw" if with_keys => {
                format!("cw://$(BUCKET_ACCESS_KEY):$(BUCKET_SECRET_KEY)@$(BUCKET_NAME){path_part}")
            }
            "cw" => format!("cw://$(BUCKET_NAME){path_part}"),
            "az" => format!("az://$(BUCKET_NAME){path_part}"),
            "gcs" => format!("gs://$(BUCKET_NAME){path_part}"),
            "s3" if with_keys => {
                format!("s3://$(BUCKET_ACCESS_KEY):$(BUCKET_SECRET_KEY)@$(BUCKET_NAME){path_part}")
            }
            "s3" => format!("s3://$(BUCKET_NAME){path_part}"),
            _ => String::new(),
        };
        BucketInfo {
            provider,
            name,
            path: chosen.path.clone(),
            region,
            kms_key: chosen.kms_key.clone(),
            access_key: chosen.access_key.clone(),
            secret_key: chosen.secret_key.clone(),
            access_key_name: secret.access_key_name.clone(),
            secret_key_name: secret.secret_key_name.clone(),
            secret_name: non_empty(&secret.secret_name).unwrap_or_else(|| self.name("bucket")),
            url: url.trim_end_matches('/').to_string(),
        }
    }

    // --- Kafka -----------------------------------------------------------

    pub fn kafka_secret(&self) -> String {
        non_empty(&self.values.global.kafka.password_secret.name)
            .unwrap_or_else(|| self.name("kafka"))
    }

    pub fn kafka_secret_key(&self) -> String {
        let s = &self.values.global.kafka.password_secret;
        if s.name.is_empty() {
            "KAFKA_CLIENT_PASSWORD".into()
        } else {
            s.password_key.clone()
        }
    }

    pub fn kafka_broker_host(&self) -> String {
        let g = &self.values.global.kafka;
        if !g.broker_host.is_empty() {
            g.broker_host.clone()
        } else if self.in_cluster(StoreKind::Kafka) {
            self.name("kafka")
        } else if self.in_cluster(StoreKind::Bufstream) {
            format!("bufstream.{}.svc.cluster.local", self.bufstream_namespace())
        } else {
            "bufstream.bufstream.svc.cluster.local".into()
        }
    }

    pub fn bufstream_namespace(&self) -> String {
        non_empty(&self.values.bufstream.namespace_override)
            .unwrap_or_else(|| self.release.namespace.clone())
    }

    /// The Kafka client user and password exist only for the in-cluster Kafka.
    pub fn kafka_user(&self) -> String {
        if self.in_cluster(StoreKind::Kafka) {
            self.values.global.kafka.user.clone()
        } else {
            String::new()
        }
    }

    pub fn kafka_password(&self) -> String {
        if self.in_cluster(StoreKind::Kafka) {
            self.values.global.kafka.password.clone()
        } else {
            String::new()
        }
    }

    pub fn kafka_topic(&self) -> String {
        let configured = &self.values.global.kafka.run_updates_shadow_topic;
        if configured.is_empty() {
            truncate_name(&self.name("run-updates-shadow"))
        } else {
            configured.clone()
        }
    }

    /// Where the app produces run updates.
    pub fn run_update_shadow_producer(&self) -> String {
        let g = &self.values.global;
        if g.pub_sub.enabled {
            format!(
                "pubsub:/{}/{}",
                g.pub_sub.project, g.pub_sub.run_update_shadow_topic
            )
        } else if g.bufstream.enabled {
            "kafka://$(KAFKA_BROKER_HOST):$(KAFKA_BROKER_PORT)/$(KAFKA_TOPIC_RUN_UPDATE_SHADOW_QUEUE)?num_partitions=$(KAFKA_RUN_UPDATE_SHADOW_QUEUE_NUM_PARTITIONS)".into()
        } else {
            "kafka://$(KAFKA_CLIENT_USER):$(KAFKA_CLIENT_PASSWORD)@$(KAFKA_BROKER_HOST):$(KAFKA_BROKER_PORT)/$(KAFKA_TOPIC_RUN_UPDATE_SHADOW_QUEUE)?num_partitions=$(KAFKA_RUN_UPDATE_SHADOW_QUEUE_NUM_PARTITIONS)".into()
        }
    }

    /// Where a consumer reads run updates.
    pub fn run_update_shadow_consumer(&self, subscription: &str, consumer_group: &str) -> String {
        let g = &self.values.global;
        if g.pub_sub.enabled {
            format!(
                "pubsub:/{}/{}/{subscription}",
                g.pub_sub.project, g.pub_sub.run_update_shadow_topic
            )
        } else if g.bufstream.enabled {
            format!(
                "kafka://$(KAFKA_BROKER_HOST):9092/$(KAFKA_TOPIC_RUN_UPDATE_SHADOW_QUEUE)?consumer_group_id={consumer_group}&num_partitions=$(KAFKA_RUN_UPDATE_SHADOW_QUEUE_NUM_PARTITIONS)"
            )
        } else {
            format!(
                "kafka://$(KAFKA_CLIENT_USER):$(KAFKA_CLIENT_PASSWORD)@$(KAFKA_BROKER_HOST):9092/$(KAFKA_TOPIC_RUN_UPDATE_SHADOW_QUEUE)?consumer_group_id={consumer_group}&num_partitions=$(KAFKA_RUN_UPDATE_SHADOW_QUEUE_NUM_PARTITIONS)"
            )
        }
    }

    pub fn file_stream_producer(&self) -> String {
        let g = &self.values.global;
        if g.pub_sub.enabled {
            format!(
                "pubsub:/{}/{}",
                g.pub_sub.project, g.pub_sub.filestream_topic
            )
        } else {
            MYSQL_DSN.into()
        }
    }

    pub fn file_stream_consumer(&self, subscription: &str) -> String {
        let g = &self.values.global;
        if g.pub_sub.enabled {
            format!(
                "pubsub:/{}/{}/{subscription}",
                g.pub_sub.project, g.pub_sub.filestream_topic
            )
        } else {
            MYSQL_DSN.into()
        }
    }

    // --- ClickHouse (weave-trace) -------------------------------------------

    pub fn in_cluster_clickhouse_host(&self) -> String {
        self.name("clickhouse-headless")
    }

    pub fn clickhouse_host(&self) -> String {
        self.values.global.clickhouse.host.text().to_string()
    }

    pub fn clickhouse_port(&self) -> String {
        match self.values.global.clickhouse.port.plain() {
            Some(p) if !p.is_empty() => p.to_string(),
            _ if self.clickhouse_host() == self.in_cluster_clickhouse_host() => "8123".into(),
            _ => "8443".into(),
        }
    }

    pub fn clickhouse_secret(&self) -> String {
        non_empty(&self.values.global.clickhouse.password_secret.name)
            .unwrap_or_else(|| self.name("clickhouse"))
    }

    // --- misc ----------------------------------------------------------------

    pub fn license_secret(&self) -> String {
        non_empty(&self.values.global.license_secret.name).unwrap_or_else(|| self.name("license"))
    }

    pub fn license_key(&self) -> String {
        non_empty(&self.values.global.license_secret.key).unwrap_or_else(|| "license".into())
    }

    pub fn oidc_secret(&self) -> String {
        non_empty(&self.values.global.auth.oidc.oidc_secret.name)
            .unwrap_or_else(|| self.name("oidc-secret"))
    }

    /// Where sweeps are served: anaconda2 when it runs, else the app.
    pub fn sweep_provider(&self) -> String {
        if self.values.anaconda2.install == Some(true) {
            format!("http://{}:8082", self.name("anaconda2"))
        } else {
            format!("http://{}:8082", self.name("app"))
        }
    }

    /// The image reference of a W&B service: `[prefix/]repository(:tag|@digest)`.
    pub fn wandb_image(&self, image: &wandb_values::Image) -> String {
        let prefix = &self.values.global.repository_prefix;
        let repository = if prefix.is_empty() {
            image.repository.clone()
        } else {
            format!("{}/{}", prefix.trim_end_matches('/'), image.repository)
        };
        image_reference(&repository, image)
    }

    /// The image of an in-cluster store or helper: `[registry/]repository:tag`.
    /// `default_registry` is where the image lives when `global.imageRegistry`
    /// is empty.
    pub fn store_image(&self, image: &wandb_values::Image, default_registry: &str) -> String {
        let registry = non_empty(&self.values.global.image_registry)
            .unwrap_or_else(|| default_registry.to_string());
        let repository = if registry.is_empty() {
            image.repository.clone()
        } else {
            format!("{}/{}", registry.trim_end_matches('/'), image.repository)
        };
        image_reference(&repository, image)
    }
    /// The image of a store whose repository names its registry (bufstream's
    /// `us-docker.pkg.dev/...`): `global.imageRegistry`, when set, takes that
    /// registry's place, so that a mirror serves it as every other image.
    pub fn hosted_image(&self, image: &wandb_values::Image) -> String {
        let mirror = self.values.global.image_registry.trim_end_matches('/');
        let repository = match image.repository.split_once('/') {
            Some((host, path)) if !mirror.is_empty() && names_a_registry(host) => {
                format!("{mirror}/{path}")
            }
            _ if !mirror.is_empty() => format!("{mirror}/{}", image.repository),
            _ => image.repository.clone(),
        };
        image_reference(&repository, image)
    }
}

/// Whether the first part of an image name is a registry host rather than a
/// Docker Hub namespace (`docker.io`, `localhost:5000`, not `bitnami`).
pub fn names_a_registry(first: &str) -> bool {
    first.contains('.') || first.contains(':') || first == "localhost"
}

/// The MySQL connection string every gorilla service uses.
pub const MYSQL_DSN: &str = "mysql://$(MYSQL_USER):$(MYSQL_PASSWORD)@$(MYSQL_HOST):$(MYSQL_PORT)/$(MYSQL_DATABASE)?tls=preferred";

fn image_reference(repository: &str, image: &wandb_values::Image) -> String {
    if !image.digest.is_empty() {
        format!("{repository}@{}", image.digest)
    } else if !image.tag.is_empty() {
        format!("{repository}:{}", image.tag)
    } else {
        format!("{repository}:latest")
    }
}

/// `?k=v&k2=v2` in the pairs' order (empty values skipped), or "" when
/// there is nothing.
pub fn query_string<'a>(params: impl IntoIterator<Item = (&'a str, String)>) -> String {
    let pairs: Vec<String> = params
        .into_iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

/// Kubernetes names are at most 63 characters and do not end in `-`.
pub fn truncate_name(name: &str) -> String {
    let cut: String = name.chars().take(63).collect();
    cut.trim_end_matches('-').to_string()
}

pub fn non_empty(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

/// An unset connection setting: an empty plain value.
pub fn is_unset(v: &ValueOrRef) -> bool {
    matches!(v, ValueOrRef::Value(s) if s.is_empty())
}

/// The text of a scalar, `default` when empty.
pub fn or_default(s: &Scalar, default: &str) -> String {
    if s.is_empty() {
        default.to_string()
    } else {
        s.to_string()
    }
}

/// The values with the document's layers laid: each layer's block over the
/// one it names, key by key (a key of the block wins whole; the maps of
/// `merge_maps` merge, the block's keys winning).
fn layered(tree: &Value, layers: &[Layer]) -> Value {
    let mut out = tree.clone();
    for layer in layers {
        let under = lookup(&out, &layer.over.keys).cloned();
        let Some(Value::Object(under)) = under else {
            continue;
        };
        let Some((last, parents)) = layer.path.keys.split_last() else {
            continue;
        };
        let Some(Value::Object(parent)) = lookup_mut(&mut out, parents) else {
            continue;
        };
        let target = parent.entry(last.clone()).or_insert(Value::Null);
        let top = match target {
            Value::Object(map) => std::mem::take(map),
            Value::Null => Default::default(),
            _ => continue,
        };
        let mut merged = under;
        for (key, value) in top {
            if value.is_null() {
                continue;
            }
            match (merged.get_mut(&key), value) {
                (Some(Value::Object(bottom)), Value::Object(over))
                    if layer.merge_maps.contains(&key) =>
                {
                    bottom.extend(over);
                }
                (_, value) => {
                    merged.insert(key, value);
                }
            }
        }
        *target = Value::Object(merged);
    }
    out
}

fn lookup<'v>(tree: &'v Value, keys: &[String]) -> Option<&'v Value> {
    keys.iter().try_fold(tree, |node, key| node.get(key))
}

fn lookup_mut<'v>(tree: &'v mut Value, keys: &[String]) -> Option<&'v mut Value> {
    keys.iter().try_fold(tree, |node, key| node.get_mut(key))
}
