//! The facts a document names (`{fact: bucketUrl}`), computed from the
//! values: what a list of conditions cannot say.

use wandb_values::{Component, StoreKind};

use crate::catalog::Fact;
use crate::context::{Ctx, non_empty};
use crate::env;
use crate::resolve::Scope;

/// The text of a fact, for a scope (some facts are a service's own).
pub fn fact(ctx: &Ctx, fact: Fact, scope: Scope) -> String {
    let v = ctx.values;
    let g = &v.global;
    let flag = |b: bool| b.to_string();
    let b = ctx.bucket();
    match fact {
        Fact::BucketUrl => b.url.clone(),
        Fact::BucketName => b.name.clone(),
        Fact::BucketPath => b.path.clone(),
        Fact::BucketRegion => b.region.clone(),
        Fact::BucketKmsKey => b.kms_key.clone(),
        Fact::BucketSecret => b.secret_name.clone(),
        Fact::BucketAccessKeyName => b.access_key_name.clone(),
        Fact::BucketSecretKeyName => b.secret_key_name.clone(),
        Fact::BucketAccessKey => b.access_key.clone(),
        Fact::BucketSecretKey => b.secret_key.clone(),
        Fact::ObjectStoreInCluster => flag(ctx.in_cluster(StoreKind::ObjectStore)),
        Fact::KafkaInCluster => flag(ctx.in_cluster(StoreKind::Kafka)),
        Fact::RedisConnectionString => ctx.redis_connection(),
        Fact::ExecutorTaskQueue => {
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
        Fact::RedisHost => ctx.redis_host(),
        Fact::RedisPort => ctx.redis_port(),
        Fact::RedisParams => ctx.redis_params(),
        Fact::RedisSecret => ctx.redis_secret(),
        Fact::MysqlHost => ctx.mysql_host(),
        Fact::MysqlPasswordSecret => ctx.mysql_password_secret(),
        Fact::MysqlHasCa => flag(ctx.mysql_has_ca()),
        Fact::MysqlCaPath => format!("/etc/ssl/certs/{}", ctx.mysql_ca_file()),
        Fact::ClickhouseHost => ctx.clickhouse_host(),
        Fact::ClickhousePort => ctx.clickhouse_port(),
        Fact::ClickhouseSecret => ctx.clickhouse_secret(),
        Fact::KafkaBrokerHost => ctx.kafka_broker_host(),
        Fact::KafkaSecret => ctx.kafka_secret(),
        Fact::KafkaSecretKey => ctx.kafka_secret_key(),
        Fact::KafkaUser => ctx.kafka_user(),
        Fact::KafkaPassword => ctx.kafka_password(),
        Fact::KafkaTopic => ctx.kafka_topic(),
        Fact::FileStreamProducer => ctx.file_stream_producer(),
        Fact::FileStreamStoreConsumer => ctx.file_stream_consumer(&consumer(ctx, scope).0),
        Fact::RunUpdateShadowProducer => ctx.run_update_shadow_producer(),
        Fact::RunUpdateShadowQueue => {
            let (subscription, group) = consumer(ctx, scope);
            ctx.run_update_shadow_consumer(&subscription, &group)
        }
        Fact::HistoryStore => env::history_store(ctx),
        Fact::LiveHistoryStore => env::live_history_store(ctx),
        Fact::FileStreamWorkerStore => env::file_stream_worker_store(ctx),
        Fact::Tracer => tracer(ctx, scope),
        Fact::OidcSecret => ctx.oidc_secret(),
        Fact::LicenseSecret => ctx.license_secret(),
        Fact::LicenseKey => ctx.license_key(),
        Fact::SweepProvider => ctx.sweep_provider(),
        Fact::CorsOrigins => {
            let mut cors: Vec<String> = v.app.extra_cors.clone();
            if !g.auth.oidc.client_id.is_empty() {
                cors.push(g.host.clone());
                cors.push("null".into());
            }
            cors.retain(|c| !c.is_empty());
            cors.join(",")
        }
        Fact::InternalJwtMap => internal_jwt_map(ctx),
        Fact::BucketAccessIdentity => bucket_access_identity(ctx),
        Fact::OlapAnyFeature => flag(olap_any_feature(ctx)),
        Fact::Index => scope.index.to_string(),
        Fact::EtcdInitialCluster => etcd_initial_cluster(ctx),
        Fact::ClickhouseClustered => flag(crate::stores::clickhouse_clustered(ctx)),
        Fact::LumenGoogleCredsPath => {
            if g.lumen.gcp_workload_identity.audience.is_empty() {
                String::new()
            } else {
                "/var/secrets/gcp/credential-config.json".into()
            }
        }
        Fact::LumenGcpCredentials => lumen_gcp_credentials(ctx),
        Fact::McpWeaveTools => flag(mcp_weave_tools(ctx)),
        Fact::McpExplicitTraceUrl => flag(mcp_explicit_trace_url(ctx)),
        Fact::McpDdService => crate::workload::mcp_dd_service(ctx),
        Fact::McpDdEnv => crate::workload::mcp_dd_env(ctx),
        Fact::McpDdApiKeyKey => non_empty(&v.mcp_server.analytics.datadog_api_key_secret.key)
            .unwrap_or_else(|| "api-key".into()),
    }
}

/// The pub/sub subscription and Kafka consumer group of a queue consumer.
fn consumer(ctx: &Ctx, scope: Scope) -> (String, String) {
    let v = ctx.values;
    let c = match scope.service {
        Some("filestream") => &v.filestream,
        Some("flat-run-fields-updater") => &v.flat_run_fields_updater,
        Some("history-updater") => &v.history_updater,
        Some("metric-observer") => &v.metric_observer,
        _ => return (String::new(), String::new()),
    };
    (
        c.pub_sub.subscription.clone(),
        c.kafka.consumer_group_id.clone(),
    )
}

/// The tracer, when the service samples traces.
fn tracer(ctx: &Ctx, scope: Scope) -> String {
    let unset = Component::default();
    let component = scope
        .service
        .and_then(|k| ctx.values.component(k))
        .unwrap_or(&unset);
    match component.trace_ratio.filter(|r| *r != 0.0) {
        Some(ratio) => {
            let t = &ctx.values.global.otel.traces;
            let host = non_empty(&t.host).unwrap_or_else(|| ctx.name("otel-daemonset"));
            format!("otlp+{}://{host}:{}?trace_ratio={ratio}", t.proto, t.port)
        }
        None => String::new(),
    }
}

/// `{"subject": "issuer", ...}`, as gorilla reads it.
fn internal_jwt_map(ctx: &Ctx) -> String {
    let items: Vec<String> = ctx
        .values
        .app
        .internal_jwt_map
        .iter()
        .filter(|e| !e.subject.is_empty() && !e.issuer.is_empty())
        .map(|e| {
            format!(
                "{}: {}",
                serde_json::Value::String(e.subject.clone()),
                serde_json::Value::String(e.issuer.clone())
            )
        })
        .collect();
    // A JSON object: the quotes around it in upstream's template are YAML's.
    format!("{{{}}}", items.join(", "))
}

/// The console's `BUCKET_ACCESS_IDENTITY`: the first plain value of it in the
/// console's env (a reference can't be shown), else `unknown`.
fn bucket_access_identity(ctx: &Ctx) -> String {
    use wandb_values::EnvValue;
    let console = &ctx.values.console;
    [
        console.base.extra_env.get("BUCKET_ACCESS_IDENTITY"),
        console.base.env.get("BUCKET_ACCESS_IDENTITY"),
    ]
    .into_iter()
    .flatten()
    .find_map(|e| match e {
        EnvValue::Plain(x) | EnvValue::Wrapped { value: x } => Some(x.to_string()),
        EnvValue::From { .. } => None,
    })
    .unwrap_or_else(|| "unknown".into())
}

/// The lumen agent's external-account credentials for GCP's workload identity.
fn lumen_gcp_credentials(ctx: &Ctx) -> String {
    let audience = &ctx.values.global.lumen.gcp_workload_identity.audience;
    let credentials = serde_json::json!({
        "type": "external_account",
        "audience": audience,
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": "https://sts.googleapis.com/v1/token",
        "credential_source": {
            "file": "/var/run/secrets/tokens/gcp-ksa/token",
            "format": {"type": "text"}
        }
    });
    serde_json::to_string_pretty(&credentials).unwrap_or_default()
}

/// Whether the mcp-server's env gives a Weave trace URL of its own.
fn mcp_explicit_trace_url(ctx: &Ctx) -> bool {
    use wandb_values::EnvValue;
    match ctx.values.mcp_server.base.env.get("WF_TRACE_SERVER_URL") {
        Some(EnvValue::Plain(s)) | Some(EnvValue::Wrapped { value: s }) => {
            !s.as_str().trim().is_empty()
        }
        _ => false,
    }
}

/// Whether the mcp-server offers its Weave tools: `mcp-server.weave.tools`
/// (`auto` by default: when it has a trace backend).
fn mcp_weave_tools(ctx: &Ctx) -> bool {
    let mode = ctx
        .values
        .mcp_server
        .weave
        .tools
        .as_str()
        .to_ascii_lowercase();
    let mode = if mode.is_empty() { "auto".into() } else { mode };
    let has_backend = mcp_explicit_trace_url(ctx) || ctx.values.global.weave_trace.enabled;
    mode == "true" || (mode == "auto" && has_backend)
}

/// Whether an OLAP feature is on (each laid over `global.olap.default` by
/// the document's layers), as upstream's `wandb.olapAnyFeatureEnabled` says.
fn olap_any_feature(ctx: &Ctx) -> bool {
    ["registrySearch", "runStoreAccelerator", "history"]
        .iter()
        .any(|f| ctx.tree.pointer(&format!("/global/olap/{f}/enabled")) == Some(&true.into()))
}

/// Each etcd member's peer URL, `name=url`, joined by commas.
fn etcd_initial_cluster(ctx: &Ctx) -> String {
    let name = ctx.name("etcd");
    let domain = format!(
        "{}.{}.svc.cluster.local",
        ctx.name("etcd-headless"),
        ctx.release.namespace
    );
    let replicas = crate::stores::etcd_replicas(ctx);
    let members: Vec<String> = (0..replicas)
        .map(|i| format!("{name}-{i}=http://{name}-{i}.{domain}:2380"))
        .collect();
    members.join(",")
}
