//! bufstream's `config.yaml`, from upstream's bufstream keys; what they leave
//! empty follows `global.bucket` and the in-cluster etcd.

use serde_json::{Map, Value, json};
use wandb_values::{BufstreamSignal, HostPort, StoreKind};

use crate::context::Ctx;

/// Where the secrets bufstream reads are mounted.
pub(super) const STORAGE_SECRETS: &str = "/config/secrets/storage";
pub(super) const KAFKA_PORT: i64 = 9092;
pub(super) const CONNECT_PORT: i64 = 8080;
pub(super) const ADMIN_PORT: i64 = 9089;
pub(super) const OBSERVABILITY_PORT: i64 = 9090;

/// A value the user gave, or `None` when empty.
pub(super) fn given(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// The S3 credentials bufstream uses: the access key id (a literal, or the
/// key of the bucket Secret it is read from) and that Secret's name.
pub(super) struct S3Keys {
    pub access_key_id: Result<String, String>,
    pub secret: String,
    pub secret_key: String,
}

/// The S3 credentials, when there are any (else bufstream uses the pod's identity).
pub(super) fn s3_keys(ctx: &Ctx) -> Option<S3Keys> {
    let s3 = &ctx.values.bufstream.storage.s3;
    let b = ctx.bucket();
    let g = &ctx.values.global.bucket;
    let in_secret = !g.secret.secret_name.is_empty() || ctx.in_cluster(StoreKind::ObjectStore);
    let access_key_id = if let Some(id) = given(&s3.access_key_id) {
        Ok(id.to_string())
    } else if !b.access_key.is_empty() {
        Ok(b.access_key.clone())
    } else if in_secret {
        Err(b.access_key_name.clone())
    } else {
        return None;
    };
    Some(S3Keys {
        access_key_id,
        secret: given(&s3.secret_name).unwrap_or(&b.secret_name).to_string(),
        secret_key: given(&s3.secret_key_name)
            .unwrap_or(&b.secret_key_name)
            .to_string(),
    })
}

/// `s3` or `gcs` (anything else keeps no storage block, as upstream).
pub(super) fn provider(ctx: &Ctx) -> String {
    given(&ctx.values.bufstream.storage.provider)
        .unwrap_or(&ctx.bucket().provider)
        .to_string()
}

/// The bucket's name and, for `host:port/bucket` names, its endpoint.
pub fn bucket_and_endpoint(ctx: &Ctx) -> (String, Option<String>) {
    let name = &ctx.bucket().name;
    match name.split_once('/') {
        Some((endpoint, bucket)) => (bucket.into(), Some(format!("http://{endpoint}"))),
        None => (name.clone(), None),
    }
}

fn storage(ctx: &Ctx) -> Option<Value> {
    let st = &ctx.values.bufstream.storage;
    let (bucket, endpoint) = bucket_and_endpoint(ctx);
    match provider(ctx).as_str() {
        "gcs" => {
            let mut s = json!({
                "provider": "GCS",
                "bucket": given(&st.gcs.bucket).unwrap_or(&bucket),
            });
            if let Some(p) = given(&st.gcs.prefix) {
                s["prefix"] = p.into();
            }
            Some(s)
        }
        "s3" => {
            let s3 = &st.s3;
            let mut s = json!({
                "provider": "S3",
                "bucket": given(&s3.bucket).unwrap_or(&bucket),
                "region": given(&s3.region).unwrap_or(&ctx.bucket().region),
            });
            if let Some(p) = given(&s3.prefix) {
                s["prefix"] = p.into();
            }
            if let Some(e) = given(&s3.endpoint).map(str::to_string).or(endpoint) {
                s["endpoint"] = e.into();
            }
            if let Some(keys) = s3_keys(ctx) {
                s["access_key_id"] = match keys.access_key_id {
                    Ok(id) => json!({"string": id}),
                    Err(_) => json!({"path": format!("{STORAGE_SECRETS}/access_key_id")}),
                };
                s["secret_access_key"] =
                    json!({"path": format!("{STORAGE_SECRETS}/secret_access_key")});
            }
            if s3.force_path_style == Some(true) {
                s["force_path_style"] = true.into();
            }
            Some(s)
        }
        _ => None,
    }
}

fn address(a: &HostPort, host: String, port: i64) -> Value {
    json!({
        "host": given(&a.host).map_or(host, str::to_string),
        "port": a.port.unwrap_or(port),
    })
}

fn kafka(ctx: &Ctx) -> Value {
    let k = &ctx.values.bufstream.kafka;
    let public_host = format!("bufstream.{}.svc.cluster.local", ctx.bufstream_namespace());
    json!({
        "address": address(&k.address, "0.0.0.0".into(), KAFKA_PORT),
        "public_address": address(&k.public_address, public_host, KAFKA_PORT),
        "fetch_eager": k.fetch_eager.unwrap_or(true),
        "fetch_sync": k.fetch_sync.unwrap_or(true),
        "produce_concurrent": k.produce_concurrent.unwrap_or(true),
        "zone_balance_strategy": k.zone_balance_strategy,
        "partition_balance_strategy": k.partition_balance_strategy,
        "request_buffer_size": k.request_buffer_size,
        "idle_timeout": k.idle_timeout,
        "num_partitions": k.num_partitions,
        "exact_log_sizes": k.exact_log_sizes,
        "exact_log_offsets": k.exact_log_offsets,
        "group_consumer_session_timeout": k.group_consumer_session_timeout,
        "group_consumer_session_timeout_max": k.group_consumer_session_timeout_max,
        "group_consumer_session_timeout_min": k.group_consumer_session_timeout_min,
    })
}

/// The export settings of one signal, in bufstream's names.
fn signal(s: &BufstreamSignal, metrics: bool) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("exporter_type".into(), s.exporter_type.clone().into());
    for (key, value) in [("address", &s.address), ("path", &s.path)] {
        if !value.is_empty() {
            m.insert(key.into(), value.clone().into());
        }
    }
    let mut flags = vec![("insecure", s.insecure)];
    if metrics {
        flags.push(("omit_partition_attribute", s.omit_partition_attribute));
        flags.push(("enable_internal_metrics", s.enable_internal_metrics));
    }
    for (key, on) in flags {
        if on {
            m.insert(key.into(), true.into());
        }
    }
    let a = &s.aggregation;
    if metrics && (a.topics || a.partitions || a.consumer_groups) {
        m.insert(
            "aggregation".into(),
            json!({"topics": a.topics, "partitions": a.partitions, "consumer_groups": a.consumer_groups}),
        );
    }
    if !metrics {
        m.insert("trace_ratio".into(), json!(s.trace_ratio.unwrap_or(0.1)));
    }
    m
}

fn observability(ctx: &Ctx) -> Value {
    let o = &ctx.values.bufstream.observability;
    let mut m = Map::new();
    m.insert("log_git_version".into(), true.into());
    m.insert("log_level".into(), o.log_level.clone().into());
    if !o.exporter.address.is_empty() || o.exporter.insecure {
        let mut e = Map::new();
        if !o.exporter.address.is_empty() {
            e.insert("address".into(), o.exporter.address.clone().into());
        }
        if o.exporter.insecure {
            e.insert("insecure".into(), true.into());
        }
        m.insert("exporter".into(), e.into());
    }
    if o.tracing.exporter.is_empty() {
        m.insert("traces".into(), signal(&o.tracing, false).into());
    } else {
        m.insert("trace_exporter".into(), o.tracing.exporter.clone().into());
        m.insert(
            "trace_ratio".into(),
            json!(o.tracing.trace_ratio.unwrap_or(0.1)),
        );
    }
    if o.metrics.exporter.is_empty() {
        m.insert("metrics".into(), signal(&o.metrics, true).into());
    } else {
        m.insert("metrics_exporter".into(), o.metrics.exporter.clone().into());
    }
    m.insert(
        "debug_address".into(),
        json!({"host": "0.0.0.0", "port": OBSERVABILITY_PORT}),
    );
    if !o.sensitive_information_redaction.is_empty() {
        m.insert(
            "sensitive_information_redaction".into(),
            o.sensitive_information_redaction.clone().into(),
        );
    }
    m.into()
}

fn etcd(ctx: &Ctx) -> Value {
    let addresses: Vec<Value> = match ctx.values.bufstream.metadata.etcd.addresses.as_slice() {
        [] => {
            vec![json!({"host": super::etcd::client_host(ctx), "port": super::etcd::CLIENT_PORT})]
        }
        given => given
            .iter()
            .map(|a| json!({"host": a.host, "port": a.port.unwrap_or(super::etcd::CLIENT_PORT)}))
            .collect(),
    };
    json!({"addresses": addresses})
}

/// Lays `over` on `base`, maps key by key (Helm's `mustMergeOverwrite`).
fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Object(b), Value::Object(o)) => {
            for (k, v) in o {
                merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// The whole `config.yaml`, as data.
pub(super) fn config(ctx: &Ctx) -> Value {
    let v = &ctx.values.bufstream;
    let mut c = Map::new();
    c.insert("cluster".into(), v.cluster.clone().into());
    if !v.zone.is_empty() {
        c.insert("zone".into(), v.zone.clone().into());
    }
    if let Some(s) = storage(ctx) {
        c.insert("storage".into(), s);
    }
    if v.metadata.store == "etcd" {
        c.insert("etcd".into(), etcd(ctx));
    }
    if !v.data_enforcement.is_empty() {
        c.insert("data_enforcement".into(), json!(v.data_enforcement));
    }
    c.insert("kafka".into(), kafka(ctx));
    c.insert(
        "connect_address".into(),
        json!({"host": "0.0.0.0", "port": CONNECT_PORT}),
    );
    c.insert("observability".into(), observability(ctx));
    let mut config = Value::Object(c);
    merge(&mut config, &json!(v.config_overrides));
    config
}
