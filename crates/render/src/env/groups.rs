//! The env groups of the catalog: each a function of the values giving
//! the env vars upstream's helper of the same name renders.

use k8s_openapi::api::core::v1::EnvVar;
use wandb_values::template::EnvHelper;
use wandb_values::{Component, StoreKind, ValueOrRef};

use super::olap::{OLAP_HISTORY, OLAP_REGISTRY_SEARCH, OLAP_RUN_STORE_ACCELERATOR, olap_feature};
use super::{field_ref, from_source, literal, resource_ref, secret_ref, value_or_ref};
use crate::context::{Ctx, MYSQL_DSN, non_empty};

/// The env vars of one group, for a component.
pub fn group(ctx: &Ctx, group: EnvHelper, component: &Component) -> Vec<EnvVar> {
    match group {
        EnvHelper::Downward => downward(),
        EnvHelper::BucketCwIdentity => coreweave_bucket_identity(),
        EnvHelper::Bucket => bucket(ctx),
        EnvHelper::MysqlConfig => mysql_config(ctx),
        EnvHelper::Mysql => mysql(ctx),
        EnvHelper::Redis => redis(ctx),
        EnvHelper::Queue => queue(ctx),
        EnvHelper::HistoryStore => history_store_addresses(ctx),
        EnvHelper::Statsig => statsig(ctx),
        EnvHelper::Observability => observability(ctx, component),
        EnvHelper::Oidc => oidc(ctx),
        EnvHelper::Smtp => smtp(ctx),
        EnvHelper::License => license(ctx),
        EnvHelper::RateLimit => rate_limits(ctx),
        EnvHelper::SslCert => ssl_certs(),
        EnvHelper::RegistrySearch => olap_feature(ctx, &OLAP_REGISTRY_SEARCH),
        EnvHelper::RunStoreAccelerator => run_store_accelerator(ctx),
        EnvHelper::History => olap_feature(ctx, &OLAP_HISTORY),
        EnvHelper::Lumen => lumen(ctx),
        EnvHelper::Clickhouse | EnvHelper::ClickhouseConfig => clickhouse(ctx),
        EnvHelper::Mcp => mcp(ctx),
    }
}

/// The pod's host, name and namespace, and Go's limits from the container's.
fn downward() -> Vec<EnvVar> {
    vec![
        field_ref("G_HOST_IP", "status.hostIP"),
        resource_ref("GOMEMLIMIT", "limits.memory"),
        resource_ref("GOMAXPROCS", "limits.cpu"),
        field_ref("POD_NAME", "metadata.name"),
        field_ref(
            "GORILLA_CUSTOMER_SECRET_STORE_K8S_CONFIG_NAMESPACE",
            "metadata.namespace",
        ),
    ]
}

/// The CoreWeave AI Object Storage identity gorilla uses, when its Secret exists.
fn coreweave_bucket_identity() -> Vec<EnvVar> {
    vec![
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
    ]
}

/// The bucket's URL under each name W&B reads it by, and its keys.
fn bucket(ctx: &Ctx) -> Vec<EnvVar> {
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
    if ctx.in_cluster(StoreKind::ObjectStore) {
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

/// The MySQL connection and the stores that live in MySQL.
fn mysql(ctx: &Ctx) -> Vec<EnvVar> {
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

/// The Redis connection and the caches, locks and queues that use it.
fn redis(ctx: &Ctx) -> Vec<EnvVar> {
    let g = &ctx.values.global;
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

/// Where file streams and run updates are produced.
fn queue(ctx: &Ctx) -> Vec<EnvVar> {
    vec![
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
    ]
}

/// Where history is read from and file stream workers write.
fn history_store_addresses(ctx: &Ctx) -> Vec<EnvVar> {
    vec![
        literal("GORILLA_HISTORY_STORE", history_store(ctx)),
        literal(
            "GORILLA_PARQUET_LIVE_HISTORY_STORE",
            live_history_store(ctx),
        ),
        literal(
            "GORILLA_FILE_STREAM_WORKER_STORE_ADDRESS",
            file_stream_worker_store(ctx),
        ),
    ]
}

/// The Statsig key from its Secret, unless the values give one.
fn statsig(ctx: &Ctx) -> Vec<EnvVar> {
    let g = &ctx.values.global;
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

/// The tracer, when the component samples traces.
fn observability(ctx: &Ctx, component: &Component) -> Vec<EnvVar> {
    let g = &ctx.values.global;
    match component.trace_ratio.filter(|r| *r != 0.0) {
        Some(ratio) => {
            let t = &g.otel.traces;
            let host = non_empty(&t.host).unwrap_or_else(|| ctx.name("otel-daemonset"));
            vec![literal(
                "GORILLA_TRACER",
                format!("otlp+{}://{host}:{}?trace_ratio={ratio}", t.proto, t.port),
            )]
        }
        None => vec![],
    }
}

/// The OIDC client secret, when one is configured.
fn oidc(ctx: &Ctx) -> Vec<EnvVar> {
    let g = &ctx.values.global;
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

/// The license, from its Secret.
fn license(ctx: &Ctx) -> Vec<EnvVar> {
    let (secret, key) = (ctx.license_secret(), ctx.license_key());
    vec![
        secret_ref("LICENSE", &secret, &key, false),
        secret_ref("GORILLA_LICENSE", &secret, &key, false),
    ]
}

/// The API's rate limiter and its default limits; a no-op limiter when off.
fn rate_limits(ctx: &Ctx) -> Vec<EnvVar> {
    let g = &ctx.values.global;
    let r = &g.api.rate_limits;
    if !(g.api.enabled && r.enabled) {
        return vec![literal("GORILLA_LIMITER", "noop://")];
    }
    let limits = [
        ("FILESTREAM_COUNT", r.filestream_count.to_string()),
        ("FILESTREAM_SIZE", r.filestream_size.to_string()),
        (
            "FILESTREAM_PER_RUN_COUNT",
            r.file_stream_per_run_count.to_string(),
        ),
        ("RUN_UPDATE_COUNT", r.run_update_count.to_string()),
        (
            "SDK_GRAPHQL_QUERY_SECONDS",
            r.sdk_graphql_query_seconds.to_string(),
        ),
        ("CREATE_ARTIFACTS", r.create_artifacts.to_string()),
        (
            "CREATE_ARTIFACTS_TIME_WINDOW",
            r.create_artifacts_time_window.to_string(),
        ),
    ];
    let mut env = vec![literal("GORILLA_LIMITER", ctx.redis_connection())];
    env.extend(
        limits
            .into_iter()
            .map(|(limit, value)| literal(&format!("GORILLA_DEFAULT_RATE_LIMITS_{limit}"), value)),
    );
    env
}

/// Where the CA bundle the pods build is.
fn ssl_certs() -> Vec<EnvVar> {
    vec![
        literal("SSL_CERT_FILE", "/etc/ssl/certs/ca-certificates.crt"),
        literal("SSL_CERT_DIR", "/etc/ssl/certs"),
        literal("REQUESTS_CA_BUNDLE", "/etc/ssl/certs/ca-certificates.crt"),
    ]
}

/// The run store accelerator's OLAP connection.
fn run_store_accelerator(ctx: &Ctx) -> Vec<EnvVar> {
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

/// The lumen agent's address.
fn lumen(ctx: &Ctx) -> Vec<EnvVar> {
    let mut out = vec![literal("GORILLA_LUMEN_ADDR", ":16060")];
    if lumen_publishes_env_vars(ctx) {
        out.push(literal("GORILLA_LUMEN_ENV_VARS_EXPOSED", "true"));
    }
    out
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
