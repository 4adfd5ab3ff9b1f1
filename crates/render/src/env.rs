//! Environment variables: the named groups of the catalog, computed from
//! the values, and the helpers that build `EnvVar`s.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    EnvVar, EnvVarSource, ObjectFieldSelector, ResourceFieldSelector, SecretKeySelector,
};
use wandb_values::template::EnvHelper;
use wandb_values::{Component, OlapConfig, Scalar, ValueOrRef};

use crate::catalog::{EnvGroup, Source};
use crate::context::{Ctx, MYSQL_DSN, non_empty, query_string};

pub fn literal(name: &str, value: impl Into<String>) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value: Some(value.into()),
        value_from: None,
    }
}

pub fn from_source(name: &str, source: EnvVarSource) -> EnvVar {
    EnvVar {
        name: name.to_string(),
        value: None,
        value_from: Some(source),
    }
}

pub fn secret_ref(name: &str, secret: &str, key: &str, optional: bool) -> EnvVar {
    from_source(
        name,
        EnvVarSource {
            secret_key_ref: Some(SecretKeySelector {
                name: secret.to_string(),
                key: key.to_string(),
                optional: optional.then_some(true),
            }),
            ..Default::default()
        },
    )
}

pub fn field_ref(name: &str, path: &str) -> EnvVar {
    from_source(
        name,
        EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: path.to_string(),
                api_version: None,
            }),
            ..Default::default()
        },
    )
}

pub fn resource_ref(name: &str, resource: &str) -> EnvVar {
    from_source(
        name,
        EnvVarSource {
            resource_field_ref: Some(ResourceFieldSelector {
                resource: resource.to_string(),
                ..Default::default()
            }),
            ..Default::default()
        },
    )
}

/// A setting that may be a plain value or a reference.
fn value_or_ref(name: &str, value: &ValueOrRef, plain: impl FnOnce(&str) -> String) -> EnvVar {
    match value {
        ValueOrRef::Ref { value_from } => from_source(name, (**value_from).clone()),
        ValueOrRef::Value(v) => literal(name, plain(v.as_str())),
    }
}

/// The group of an upstream env helper (an `envTpls` entry).
pub fn group_of(helper: EnvHelper) -> EnvGroup {
    match helper {
        EnvHelper::Downward => EnvGroup::Downward,
        EnvHelper::BucketCwIdentity => EnvGroup::BucketCwIdentity,
        EnvHelper::Bucket => EnvGroup::Bucket,
        EnvHelper::Mysql => EnvGroup::Mysql,
        EnvHelper::MysqlConfig => EnvGroup::MysqlConfig,
        EnvHelper::Redis => EnvGroup::Redis,
        EnvHelper::Queue => EnvGroup::Queue,
        EnvHelper::HistoryStore => EnvGroup::HistoryStore,
        EnvHelper::Statsig => EnvGroup::Statsig,
        EnvHelper::Observability => EnvGroup::Observability,
        EnvHelper::Oidc => EnvGroup::Oidc,
        EnvHelper::Smtp => EnvGroup::Smtp,
        EnvHelper::License => EnvGroup::License,
        EnvHelper::RateLimit => EnvGroup::RateLimit,
        EnvHelper::SslCert => EnvGroup::SslCert,
        EnvHelper::RegistrySearch => EnvGroup::RegistrySearch,
        EnvHelper::RunStoreAccelerator => EnvGroup::RunStoreAccelerator,
        EnvHelper::History => EnvGroup::OlapHistory,
        EnvHelper::Lumen => EnvGroup::Lumen,
        EnvHelper::Clickhouse | EnvHelper::ClickhouseConfig => EnvGroup::Clickhouse,
        EnvHelper::Mcp => EnvGroup::Mcp,
    }
}

/// The env vars of one group, for a component.
pub fn group(ctx: &Ctx, group: EnvGroup, component: &Component) -> Vec<EnvVar> {
    let v = ctx.values;
    let g = &v.global;
    match group {
        EnvGroup::Downward => vec![
            field_ref("G_HOST_IP", "status.hostIP"),
            resource_ref("GOMEMLIMIT", "limits.memory"),
            resource_ref("GOMAXPROCS", "limits.cpu"),
            field_ref("POD_NAME", "metadata.name"),
            field_ref(
                "GORILLA_CUSTOMER_SECRET_STORE_K8S_CONFIG_NAMESPACE",
                "metadata.namespace",
            ),
        ],
        EnvGroup::BucketCwIdentity => vec![
            secret_ref(
                "GORILLA_COREWEAVE_WANDB_INTEGRATION_ACCESS_ID",
                "gorilla-coreweave-caios",
                "GORILLA_COREWEAVE_WANDB_INTEGRATION_ACCESS_ID",
                true,
            ),
            secret_ref(
                "GORILLA_COREWEAVE_WANDB_INTEGRATION_SECRET_KEY",
                "gorilla-coreweave-caios",
                "GORILLA_COREWEAVE_WANDB_INTEGRATION_SECRET_KEY",
                true,
            ),
        ],
        EnvGroup::Bucket => {
            let b = ctx.bucket();
            let mut out = vec![
                secret_ref(
                    "AZURE_STORAGE_KEY",
                    &b.secret_name,
                    &b.access_key_name,
                    true,
                ),
                secret_ref(
                    "BUCKET_ACCESS_KEY",
                    &b.secret_name,
                    &b.access_key_name,
                    true,
                ),
                secret_ref(
                    "BUCKET_SECRET_KEY",
                    &b.secret_name,
                    &b.secret_key_name,
                    true,
                ),
                literal("BUCKET", &b.url),
                literal("GORILLA_FILE_STORE", &b.url),
                literal(
                    "GORILLA_RUN_UPDATE_SHADOW_QUEUE_OVERFLOW_BUCKET_STORE",
                    &b.url,
                ),
                literal("GORILLA_STORAGE_BUCKET", &b.url),
            ];
            if ctx.stores.object_store {
                // The in-cluster object store's keys reach the AWS SDK through
                // its standard variables, so the bucket URL keeps the form
                // W&B expects for a bucket without inline keys.
                out.push(secret_ref(
                    "AWS_ACCESS_KEY_ID",
                    &b.secret_name,
                    &b.access_key_name,
                    false,
                ));
                out.push(secret_ref(
                    "AWS_SECRET_ACCESS_KEY",
                    &b.secret_name,
                    &b.secret_key_name,
                    false,
                ));
            }
            out
        }
        EnvGroup::MysqlConfig => mysql_config(ctx),
        EnvGroup::Mysql => {
            let mut out = mysql_config(ctx);
            for name in [
                "MYSQL",
                "GORILLA_ANALYTICS_SINK",
                "GORILLA_METADATA_STORE",
                "GORILLA_RUN_STORE",
                "GORILLA_USAGE_STORE",
            ] {
                out.push(literal(name, MYSQL_DSN));
            }
            out
        }
        EnvGroup::Redis => {
            let conn = ctx.redis_connection();
            let mut out = vec![
                secret_ref(
                    "REDIS_PASSWORD",
                    &ctx.redis_secret(),
                    &g.redis.secret.secret_key,
                    true,
                ),
                literal("REDIS", &conn),
            ];
            for name in [
                "GORILLA_ACTIVITY_STORE_CACHE_ADDRESS",
                "GORILLA_AUDITOR_CACHE",
                "GORILLA_CACHE",
                "GORILLA_FILE_METADATA_SOURCE",
                "GORILLA_LOCKER",
                "GORILLA_METADATA_CACHE",
                "GORILLA_SETTINGS_CACHE",
                "GORILLA_USAGE_METRICS_CACHE",
            ] {
                out.push(literal(name, &conn));
            }
            let task_queue = if g.executor.enabled {
                conn
            } else {
                "noop://".into()
            };
            out.push(literal("GORILLA_TASK_QUEUE", task_queue));
            out
        }
        EnvGroup::Queue => vec![
            secret_ref(
                "KAFKA_CLIENT_PASSWORD",
                &ctx.kafka_secret(),
                &ctx.kafka_secret_key(),
                true,
            ),
            literal(
                "GORILLA_FILE_STREAM_STORE_ADDRESS",
                ctx.file_stream_producer(),
            ),
            literal(
                "GORILLA_RUN_UPDATE_SHADOW_QUEUE_ADDR",
                ctx.run_update_shadow_producer(),
            ),
        ],
        EnvGroup::HistoryStore => vec![
            literal("GORILLA_HISTORY_STORE", history_store(ctx)),
            literal(
                "GORILLA_PARQUET_LIVE_HISTORY_STORE",
                live_history_store(ctx),
            ),
            literal(
                "GORILLA_FILE_STREAM_WORKER_STORE_ADDRESS",
                file_stream_worker_store(ctx),
            ),
        ],
        EnvGroup::Statsig => {
            if g.statsig.api_key.is_empty() {
                vec![secret_ref(
                    "GORILLA_STATSIG_KEY",
                    "gorilla-statsig",
                    "GORILLA_STATSIG_KEY",
                    true,
                )]
            } else {
                vec![]
            }
        }
        EnvGroup::Observability => match component.trace_ratio.filter(|r| *r != 0.0) {
            Some(ratio) => {
                let t = &g.otel.traces;
                let host = non_empty(&t.host).unwrap_or_else(|| ctx.name("otel-daemonset"));
                vec![literal(
                    "GORILLA_TRACER",
                    format!("otlp+{}://{host}:{}?trace_ratio={ratio}", t.proto, t.port),
                )]
            }
            None => vec![],
        },
        EnvGroup::Oidc => {
            let o = &g.auth.oidc;
            if o.secret.is_empty() && o.oidc_secret.name.is_empty() {
                return vec![];
            }
            let secret = ctx.oidc_secret();
            vec![
                secret_ref(
                    "GORILLA_OIDC_SECRET",
                    &secret,
                    &o.oidc_secret.secret_key,
                    false,
                ),
                secret_ref("OIDC_SECRET", &secret, &o.oidc_secret.secret_key, false),
            ]
        }
        EnvGroup::Smtp => smtp(ctx),
        EnvGroup::License => {
            let (secret, key) = (ctx.license_secret(), ctx.license_key());
            vec![
                secret_ref("LICENSE", &secret, &key, false),
                secret_ref("GORILLA_LICENSE", &secret, &key, false),
            ]
        }
        EnvGroup::RateLimit => {
            let r = &g.api.rate_limits;
            if !(g.api.enabled && r.enabled) {
                return vec![literal("GORILLA_LIMITER", "noop://")];
            }
            vec![
                literal("GORILLA_LIMITER", ctx.redis_connection()),
                literal(
                    "GORILLA_DEFAULT_RATE_LIMITS_FILESTREAM_COUNT",
                    r.filestream_count.to_string(),
                ),
                literal(
                    "GORILLA_DEFAULT_RATE_LIMITS_FILESTREAM_SIZE",
                    r.filestream_size.to_string(),
                ),
                literal(
                    "GORILLA_DEFAULT_RATE_LIMITS_FILESTREAM_PER_RUN_COUNT",
                    r.file_stream_per_run_count.to_string(),
                ),
                literal(
                    "GORILLA_DEFAULT_RATE_LIMITS_RUN_UPDATE_COUNT",
                    r.run_update_count.to_string(),
                ),
                literal(
                    "GORILLA_DEFAULT_RATE_LIMITS_SDK_GRAPHQL_QUERY_SECONDS",
                    r.sdk_graphql_query_seconds.to_string(),
                ),
                literal(
                    "GORILLA_DEFAULT_RATE_LIMITS_CREATE_ARTIFACTS",
                    r.create_artifacts.to_string(),
                ),
                literal(
                    "GORILLA_DEFAULT_RATE_LIMITS_CREATE_ARTIFACTS_TIME_WINDOW",
                    r.create_artifacts_time_window.to_string(),
                ),
            ]
        }
        EnvGroup::SslCert => vec![
            literal("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt"),
            literal("SSL_CERT_DIR", "/etc/ssl/certs"),
            literal("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"),
        ],
        EnvGroup::RegistrySearch => olap_feature(ctx, &OLAP_REGISTRY_SEARCH),
        EnvGroup::RunStoreAccelerator => {
            let mut out = olap_feature(ctx, &OLAP_RUN_STORE_ACCELERATOR);
            if !out.is_empty() {
                // Kept until gorilla reads the RUN_STORE_ACCELERATOR name.
                out.push(literal(
                    "MIGRATE_RUNS_ACCELERATOR_DB",
                    "$(MIGRATE_RUN_STORE_ACCELERATOR_DB)",
                ));
            }
            out
        }
        EnvGroup::OlapHistory => olap_feature(ctx, &OLAP_HISTORY),
        EnvGroup::Lumen => {
            let mut out = vec![literal("GORILLA_LUMEN_ADDR", ":16060")];
            if lumen_publishes_env_vars(ctx) {
                out.push(literal("GORILLA_LUMEN_ENV_VARS_EXPOSED", "true"));
            }
            out
        }
        EnvGroup::Clickhouse => clickhouse(ctx),
        EnvGroup::Mcp => mcp(ctx),
    }
}

/// The MySQL connection's env vars (`MYSQL_HOST`, `MYSQL_PASSWORD`, ...).
pub fn mysql_config(ctx: &Ctx) -> Vec<EnvVar> {
    let m = &ctx.values.global.mysql;
    let mut out = vec![
        match &m.password {
            ValueOrRef::Ref { value_from } => from_source("MYSQL_PASSWORD", (**value_from).clone()),
            ValueOrRef::Value(_) => secret_ref(
                "MYSQL_PASSWORD",
                &ctx.mysql_password_secret(),
                &m.password_secret.password_key,
                false,
            ),
        },
        value_or_ref("MYSQL_PORT", &m.port, str::to_string),
        value_or_ref("MYSQL_HOST", &m.host, |_| ctx.mysql_host()),
        value_or_ref("MYSQL_DATABASE", &m.database, str::to_string),
        value_or_ref("MYSQL_USER", &m.user, str::to_string),
    ];
    if ctx.mysql_has_ca() {
        out.push(literal(
            "MYSQL_CA_CERT_PATH",
            format!("/etc/ssl/certs/{}", ctx.mysql_ca_file()),
        ));
    }
    out
}

fn smtp(ctx: &Ctx) -> Vec<EnvVar> {
    let s = &ctx.values.global.email.smtp;
    let mut out = vec![
        value_or_ref("SMTP_HOST", &s.host, str::to_string),
        value_or_ref("SMTP_PORT", &s.port, str::to_string),
        value_or_ref("SMTP_USER", &s.user, str::to_string),
        match &s.password {
            ValueOrRef::Ref { value_from } => from_source("SMTP_PASSWORD", (**value_from).clone()),
            ValueOrRef::Value(_) => secret_ref(
                "SMTP_PASSWORD",
                &ctx.name("smtp-secret"),
                "SMTP_PASSWORD",
                false,
            ),
        },
    ];
    // A host from a Secret counts as set, as upstream compares it with "".
    let sink = if s.host.plain() == Some("") {
        "https://api.wandb.ai/email/dispatch"
    } else {
        "smtp://$(SMTP_USER):$(SMTP_PASSWORD)@$(SMTP_HOST):$(SMTP_PORT)"
    };
    out.push(literal("GORILLA_EMAIL_SINK", sink));
    match &s.mail_from {
        ValueOrRef::Ref { value_from } => out.push(from_source(
            "GORILLA_EMAIL_FROM_ADDRESS",
            (**value_from).clone(),
        )),
        ValueOrRef::Value(v) if !v.is_empty() => {
            out.push(literal("GORILLA_EMAIL_FROM_ADDRESS", v.to_string()))
        }
        ValueOrRef::Value(_) => {}
    }
    out
}

fn clickhouse(ctx: &Ctx) -> Vec<EnvVar> {
    let c = &ctx.values.global.clickhouse;
    vec![
        value_or_ref("WF_CLICKHOUSE_HOST", &c.host, |_| ctx.clickhouse_host()),
        value_or_ref("WF_CLICKHOUSE_PORT", &c.port, |_| ctx.clickhouse_port()),
        value_or_ref("WF_CLICKHOUSE_DATABASE", &c.database, str::to_string),
        value_or_ref("WF_CLICKHOUSE_USER", &c.user, str::to_string),
        value_or_ref("WF_CLICKHOUSE_REPLICATED", &c.replicated, |r| {
            if r.is_empty() {
                "false".into()
            } else {
                r.to_string()
            }
        }),
        match &c.password {
            ValueOrRef::Ref { value_from } => {
                from_source("WF_CLICKHOUSE_PASS", (**value_from).clone())
            }
            ValueOrRef::Value(_) => secret_ref(
                "WF_CLICKHOUSE_PASS",
                &ctx.clickhouse_secret(),
                &c.password_secret.password_key,
                false,
            ),
        },
    ]
}

fn history_store(ctx: &Ctx) -> String {
    let g = &ctx.values.global;
    let mut stores = Vec::new();
    if g.history_store.history_reader_enabled {
        stores.push(format!(
            "historyreader://{}:9244",
            ctx.name("history-reader")
        ));
    }
    if g.history_store.parquet_use_grpc {
        stores.push(format!("grpc://{}:8088", ctx.name("parquet-grpc")));
    }
    stores.push(format!("http://{}:8087/_goRPC_", ctx.name("parquet")));
    if !g.history_store.parquet_only {
        let bt = &g.bigtable;
        if bt.v3.enabled {
            stores.push(format!("bigtablev3://{}/{}", bt.project, bt.instance));
        }
        if bt.v2.enabled {
            stores.push(format!("bigtablev2://{}/{}", bt.project, bt.instance));
        }
        if !bt.v2.enabled && !bt.v3.enabled {
            stores.push(MYSQL_DSN.into());
        }
    }
    stores.join(",")
}

fn live_history_store(ctx: &Ctx) -> String {
    let bt = &ctx.values.global.bigtable;
    let mut stores = Vec::new();
    if bt.v3.enabled {
        stores.push(format!("bigtablev3://{}/{}", bt.project, bt.instance));
    }
    if bt.v2.enabled {
        stores.push(format!("bigtablev2://{}/{}", bt.project, bt.instance));
    }
    if stores.is_empty() {
        MYSQL_DSN.into()
    } else {
        stores.join(",")
    }
}

fn file_stream_worker_store(ctx: &Ctx) -> String {
    let bt = &ctx.values.global.bigtable;
    let mut stores = Vec::new();
    if bt.v2.enabled {
        stores.push(format!("bigtablev2://{}/{}", bt.project, bt.instance));
    }
    if bt.v3.enabled {
        stores.push(format!("bigtablev3://{}/{}", bt.project, bt.instance));
    }
    stores.join(",")
}

/// An OLAP feature's names.
pub struct OlapFeature {
    /// Key under `global.olap`.
    pub key: &'static str,
    pub prefix: &'static str,
    pub migrate_prefix: &'static str,
    pub address_var: &'static str,
}

pub const OLAP_REGISTRY_SEARCH: OlapFeature = OlapFeature {
    key: "registrySearch",
    prefix: "REGISTRY_SEARCH",
    migrate_prefix: "ARTIFACTS",
    address_var: "GORILLA_REGISTRY_SEARCH_ADDRESS",
};
pub const OLAP_RUN_STORE_ACCELERATOR: OlapFeature = OlapFeature {
    key: "runStoreAccelerator",
    prefix: "RUN_STORE_ACCELERATOR",
    migrate_prefix: "RUN_STORE_ACCELERATOR",
    address_var: "GORILLA_RUN_STORE_ACCELERATOR_ADDRESS",
};
pub const OLAP_HISTORY: OlapFeature = OlapFeature {
    key: "history",
    prefix: "HISTORY",
    migrate_prefix: "HISTORY",
    address_var: "GORILLA_HISTORY_STORAGE_ENGINE_ADDRESS",
};
pub const OLAP_FEATURES: [&OlapFeature; 3] = [
    &OLAP_REGISTRY_SEARCH,
    &OLAP_RUN_STORE_ACCELERATOR,
    &OLAP_HISTORY,
];

/// A feature's settings laid over `global.olap.default`.
pub struct OlapSettings {
    pub enabled: bool,
    pub host: ValueOrRef,
    pub port: ValueOrRef,
    pub user: ValueOrRef,
    pub password: ValueOrRef,
    pub database: ValueOrRef,
    pub params: BTreeMap<String, String>,
    pub kind: String,
}

pub fn olap_settings(ctx: &Ctx, feature: &OlapFeature) -> OlapSettings {
    let olap = &ctx.values.global.olap;
    let f: &OlapConfig = match feature.key {
        "registrySearch" => &olap.registry_search,
        "runStoreAccelerator" => &olap.run_store_accelerator,
        _ => &olap.history,
    };
    let d = &olap.default;
    let pick = |a: &Option<ValueOrRef>, b: &Option<ValueOrRef>| {
        a.clone().or_else(|| b.clone()).unwrap_or_default()
    };
    let mut params: BTreeMap<String, String> = d
        .params
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.to_string()))
        .collect();
    params.extend(
        f.params
            .iter()
            .flatten()
            .map(|(k, v): (&String, &Scalar)| (k.clone(), v.to_string())),
    );
    OlapSettings {
        enabled: f.enabled.or(d.enabled).unwrap_or(false),
        host: pick(&f.host, &d.host),
        port: pick(&f.port, &d.port),
        user: pick(&f.user, &d.user),
        password: pick(&f.password, &d.password),
        database: pick(&f.database, &d.database),
        params,
        kind: f
            .kind
            .clone()
            .or_else(|| d.kind.clone())
            .unwrap_or_else(|| "clickhouse".into()),
    }
}

/// `{release}-olap-registry-search`.
pub fn olap_secret_name(ctx: &Ctx, feature: &OlapFeature) -> String {
    let mut kebab = String::new();
    for c in feature.key.chars() {
        if c.is_ascii_uppercase() {
            kebab.push('-');
            kebab.push(c.to_ascii_lowercase());
        } else {
            kebab.push(c);
        }
    }
    ctx.name(&format!("olap-{kebab}"))
}

fn olap_feature(ctx: &Ctx, feature: &OlapFeature) -> Vec<EnvVar> {
    let s = olap_settings(ctx, feature);
    if !s.enabled {
        return vec![];
    }
    let p = feature.prefix;
    let url = format!(
        "{}://$({p}_USER):$({p}_PASSWORD)@$({p}_HOST):$({p}_PORT)/$({p}_DATABASE)$({p}_PARAMS)",
        s.kind
    );
    vec![
        value_or_ref(&format!("{p}_HOST"), &s.host, str::to_string),
        value_or_ref(&format!("{p}_PORT"), &s.port, str::to_string),
        value_or_ref(&format!("{p}_DATABASE"), &s.database, str::to_string),
        value_or_ref(&format!("{p}_USER"), &s.user, str::to_string),
        match &s.password {
            ValueOrRef::Ref { value_from } => {
                from_source(&format!("{p}_PASSWORD"), (**value_from).clone())
            }
            ValueOrRef::Value(_) => secret_ref(
                &format!("{p}_PASSWORD"),
                &olap_secret_name(ctx, feature),
                &format!("{p}_PASSWORD"),
                false,
            ),
        },
        literal(&format!("{p}_PARAMS"), query_string(&s.params)),
        literal(feature.address_var, &url),
        literal(&format!("MIGRATE_{}_DB", feature.migrate_prefix), &url),
    ]
}

pub fn olap_any_feature_enabled(ctx: &Ctx) -> bool {
    OLAP_FEATURES.iter().any(|f| olap_settings(ctx, f).enabled)
}

pub fn lumen_publishes_env_vars(ctx: &Ctx) -> bool {
    let publish = &ctx.values.global.lumen.publish;
    match publish.get("envVars") {
        Some(serde_json::Value::Bool(b)) => *b,
        Some(serde_json::Value::String(s)) => s == "true",
        _ => false,
    }
}

fn mcp(ctx: &Ctx) -> Vec<EnvVar> {
    let m = &ctx.values.mcp_server;
    let g = &ctx.values.global;
    let mode = m.weave.tools.as_str().to_ascii_lowercase();
    let mode = if mode.is_empty() {
        "auto".to_string()
    } else {
        mode
    };
    let explicit_trace_url = match m.base.env.get("WF_TRACE_SERVER_URL") {
        Some(wandb_values::EnvValue::Plain(s))
        | Some(wandb_values::EnvValue::Wrapped { value: s }) => !s.as_str().trim().is_empty(),
        _ => false,
    };
    let has_backend = explicit_trace_url || g.weave_trace.enabled;
    let tools = mode == "true" || (mode == "auto" && has_backend);
    let mut out = vec![literal(
        "WANDB_MCP_ENABLE_WEAVE_TOOLS",
        if tools { "true" } else { "false" },
    )];
    if tools && !explicit_trace_url {
        out.push(literal("WF_TRACE_SERVER_URL", format!("{}/traces", g.host)));
    }
    out.push(literal("WANDB_BASE_URL", &g.host));
    out.push(literal(
        "MCP_LOG_PRIVACY_LEVEL",
        non_empty(&m.privacy.log_level).unwrap_or_else(|| "standard".into()),
    ));
    let dd = &m.datadog;
    if dd.enabled {
        let forwarder = dd.mode == "forwarder";
        out.push(literal("MCP_DATADOG_ENABLED", "true"));
        if forwarder {
            out.push(literal("MCP_DATADOG_FORWARD", "true"));
        }
        out.push(literal(
            "DD_SERVICE",
            non_empty(&dd.service).unwrap_or_else(|| "wandb-mcp-server-onprem".into()),
        ));
        out.push(literal(
            "DD_ENV",
            non_empty(&dd.env).unwrap_or_else(|| "production".into()),
        ));
        out.push(literal("DD_VERSION", &m.base.image.tag));
        out.push(field_ref("DD_AGENT_HOST", "status.hostIP"));
        out.push(field_ref("DD_TRACE_AGENT_HOSTNAME", "status.hostIP"));
        out.push(literal("DD_EXCEPTION_REPLAY_ENABLED", "false"));
        out.push(literal("DD_TRACE_HEADER_TAGS", ""));
        out.push(literal("MCP_LOG_FORMAT", "json"));
        let key = &m.analytics.datadog_api_key_secret;
        if forwarder && !key.name.is_empty() {
            let k = non_empty(&key.key).unwrap_or_else(|| "api-key".into());
            out.push(secret_ref("DD_API_KEY", &key.name, &k, false));
        }
    }
    if m.otel.enabled {
        out.push(literal("MCP_OTEL_ENABLED", "true"));
        out.push(literal("OTEL_SERVICE_NAME", "mcp-server"));
        out.push(literal(
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            format!("http://{}:4317", ctx.name("otel-collector")),
        ));
    }
    out
}

/// The value of a computed source, for a component.
pub fn source(ctx: &Ctx, source: Source, component_key: &str) -> String {
    let v = ctx.values;
    match source {
        Source::ExecutorTaskQueue => {
            let mut conn = ctx.redis_connection();
            if let Some(n) = v
                .executor
                .worker_concurrency
                .as_ref()
                .filter(|n| !n.is_empty())
            {
                // The params reference always carries a query (ttlInSeconds).
                conn.push_str(&format!("&concurrency={n}"));
            }
            conn
        }
        Source::FileStreamStoreConsumer => {
            ctx.file_stream_consumer(&consumer(ctx, component_key).0)
        }
        Source::RunUpdateShadowQueue => {
            let (subscription, group) = consumer(ctx, component_key);
            ctx.run_update_shadow_consumer(&subscription, &group)
        }
        Source::RedisConnectionString => ctx.redis_connection(),
        Source::BucketUrl => ctx.bucket().url.clone(),
        Source::LumenGoogleCredsPath => {
            if v.global.lumen.gcp_workload_identity.audience.is_empty() {
                String::new()
            } else {
                "/var/secrets/gcp/credential-config.json".into()
            }
        }
    }
}

/// The pub/sub subscription and Kafka consumer group of a queue consumer.
fn consumer(ctx: &Ctx, component_key: &str) -> (String, String) {
    let v = ctx.values;
    let c = match component_key {
        "filestream" => &v.filestream,
        "flat-run-fields-updater" => &v.flat_run_fields_updater,
        "history-updater" => &v.history_updater,
        "metric-observer" => &v.metric_observer,
        _ => return (String::new(), String::new()),
    };
    (
        c.pub_sub.subscription.clone(),
        c.kafka.consumer_group_id.clone(),
    )
}
