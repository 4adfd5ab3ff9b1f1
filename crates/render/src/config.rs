//! The install's ConfigMaps and Secrets: the settings W&B's services read
//! through `envFrom`, computed from the values.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::api::rbac::v1::{ClusterRoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use wandb_values::ValueOrRef;

use crate::context::{Ctx, non_empty};
use crate::env::{OLAP_FEATURES, olap_secret_name, olap_settings};
use crate::objects::{GENERATED_KEYS_ANNOTATION, GeneratedKey, Labels, Manifest, Object, Phase};

const FRONTEND_PATCH_ENV: &str = include_str!("../files/frontend-patch-env.sh");
const APP_RENAME_PRE: &str = include_str!("../files/app-rename-pre-upgrade.sh");
const APP_RENAME_POST: &str = include_str!("../files/app-rename-post-upgrade.sh");
const LUMEN_RULES: &str = include_str!("../files/lumen-rules.yaml");

/// Labels of install-wide objects.
pub fn common_labels(ctx: &Ctx, component: &str) -> Labels {
    let mut labels = BTreeMap::from([
        ("app.kubernetes.io/name".to_string(), component.to_string()),
        (
            "app.kubernetes.io/instance".to_string(),
            ctx.release.name.clone(),
        ),
        (
            "app.kubernetes.io/managed-by".to_string(),
            crate::MANAGED_BY.to_string(),
        ),
        ("app.kubernetes.io/part-of".to_string(), "wandb".to_string()),
    ]);
    for (k, v) in &ctx.values.global.common.labels {
        labels.insert(k.clone(), v.chars().take(63).collect());
    }
    labels
}

pub fn meta(ctx: &Ctx, name: &str, component: &str) -> ObjectMeta {
    let annotations = ctx.values.global.common.annotations.clone();
    ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(ctx.release.namespace.clone()),
        labels: Some(common_labels(ctx, component)),
        annotations: (!annotations.is_empty()).then_some(annotations),
        ..Default::default()
    }
}

/// A ConfigMap named `{release}-{suffix}`.
pub fn config_map(ctx: &Ctx, component: &str, suffix: &str, data: Vec<(&str, String)>) -> Manifest {
    config_map_named(ctx, component, &ctx.name(suffix), data)
}

pub fn config_map_named(
    ctx: &Ctx,
    component: &str,
    name: &str,
    data: Vec<(&str, String)>,
) -> Manifest {
    let data: BTreeMap<String, String> =
        data.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
    Manifest::new(
        component,
        Object::ConfigMap(ConfigMap {
            metadata: meta(ctx, name, component),
            data: Some(data),
            ..Default::default()
        }),
    )
}

/// A value of a Secret the render writes.
pub enum SecretValue {
    /// From the values.
    Given(String),
    /// Random, `n` alphanumerics, made once by whoever applies the render.
    Generated(usize),
}

pub fn secret(ctx: &Ctx, component: &str, name: &str, data: Vec<(&str, SecretValue)>) -> Manifest {
    let mut generated = Vec::new();
    let mut bytes = BTreeMap::new();
    for (key, value) in data {
        match value {
            SecretValue::Given(v) => {
                bytes.insert(key.to_string(), ByteString(v.into_bytes()));
            }
            SecretValue::Generated(length) => {
                // Present with no value: the applier fills it once and never
                // changes it (see objects::GeneratedKey).
                bytes.insert(key.to_string(), ByteString(Vec::new()));
                generated.push(GeneratedKey {
                    key: key.to_string(),
                    length,
                });
            }
        }
    }
    let mut metadata = meta(ctx, name, component);
    if !generated.is_empty() {
        let keys: Vec<&str> = generated.iter().map(|g| g.key.as_str()).collect();
        metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(GENERATED_KEYS_ANNOTATION.into(), keys.join(","));
    }
    let mut m = Manifest::new(
        component,
        Object::Secret(Secret {
            metadata,
            data: Some(bytes),
            type_: Some("Opaque".into()),
            ..Default::default()
        }),
    );
    m.generated = generated;
    m
}

fn s(v: impl Into<String>) -> String {
    v.into()
}

fn b(v: bool) -> String {
    v.to_string()
}

/// Every install-wide ConfigMap and Secret.
pub fn build(ctx: &Ctx) -> Vec<Manifest> {
    let v = ctx.values;
    let g = &v.global;
    let host = g.host.clone();
    let mut out = Vec::new();
    let oidc_on = !g.auth.oidc.client_id.is_empty();
    let session_length = format!("{}h", g.auth.session_length_hours);

    // global
    let (statsd_host, statsd_port) = match g.observability.as_ref().map(|o| o.mode.as_str()) {
        Some("otel") => ("0.0.0.0", "8125"),
        Some(_) => ("", ""),
        None => ("", "0"),
    };
    let mut global = vec![
        ("GORILLA_LICENSE_CERT_PATH", g.license_cert_path.clone()),
        (
            "GORILLA_TSHIRT_SIZE",
            non_empty(&g.size).unwrap_or_else(|| "small".into()),
        ),
        ("GORILLA_ONPREM", s("true")),
        ("ONPREM", s("true")),
    ];
    if !statsd_port.is_empty() {
        global.push(("GORILLA_STATSD_HOST", s(statsd_host)));
        global.push(("GORILLA_STATSD_PORT", s(statsd_port)));
    }
    out.push(config_map(ctx, "global", "global-configmap", global));
    out.push(secret(
        ctx,
        "global",
        &ctx.name("global-secret"),
        vec![
            (
                "GORILLA_STATSIG_KEY",
                SecretValue::Given(g.statsig.api_key.clone()),
            ),
            (
                "GORILLA_SLACK_CLIENT_ID",
                SecretValue::Given(g.slack.client_id.clone()),
            ),
            (
                "GORILLA_SLACK_SECRET",
                SecretValue::Given(g.slack.secret.clone()),
            ),
            (
                "SLACK_CLIENT_ID",
                SecretValue::Given(g.slack.client_id.clone()),
            ),
            ("SLACK_SECRET", SecretValue::Given(g.slack.secret.clone())),
        ],
    ));

    // api
    let mut cors: Vec<String> = v.app.extra_cors.clone();
    if oidc_on {
        cors.push(host.clone());
        cors.push("null".into());
    }
    cors.retain(|c| !c.is_empty());
    let mut api = vec![
        ("GORILLA_PORT", s("8081")),
        ("GORILLA_FILE_HOST", host.clone()),
        ("GORILLA_FRONTEND_HOST", host.clone()),
        ("GORILLA_LICENSE_CERT_PATH", s("/jwks.json")),
        ("GORILLA_FILE_METADATA_SOURCE_IS_INTERNAL", s("true")),
        ("GORILLA_SESSION_LENGTH", session_length.clone()),
        ("GORILLA_SWEEP_PROVIDER", ctx.sweep_provider()),
        (
            "GORILLA_VIEW_SPEC_UPDATER_EXECUTABLE",
            s("/view-spec-updater-linux"),
        ),
        ("GORILLA_PARQUET_RPC_PATH", s("/_goRPC_")),
        ("GORILLA_ONPREM_API_KEY_PREFIX", s("local")),
        ("GORILLA_SCHEMA_FILE", s("/schema.graphql")),
        ("GORILLA_COLLECT_AUDIT_LOGS", s("true")),
        ("GORILLA_USE_PARQUET_HISTORY_STORE", s("true")),
        ("GORILLA_PARQUET_PORT", s("8087")),
        ("GORILLA_PARQUET_GRPC_PORT", s("8088")),
        ("GORILLA_PARQUET_ARROW_BUFFER_SIZE", s("2147483648")),
        ("GORILLA_RUN_UPDATE_QUEUE_ADDR", s("internal://")),
        (
            "GORILLA_RUN_UPDATE_SHADOW_QUEUE_OVERFLOW_BUCKET_NAME",
            s("wandb"),
        ),
        (
            "GORILLA_RUN_UPDATE_SHADOW_QUEUE_OVERFLOW_BUCKET_PREFIX",
            s("wandb-overflow"),
        ),
        ("GORILLA_TASK_QUEUE_WORKER_ENABLED", s("false")),
        ("GORILLA_LOCAL_SERVICE_BYPASS", b(g.local_service.bypass)),
    ];
    if !cors.is_empty() {
        api.push(("GORILLA_CORS_ORIGINS", cors.join(",")));
    }
    if oidc_on {
        api.push(("GORILLA_OIDC_CLIENT_ID", g.auth.oidc.client_id.clone()));
        api.push(("GORILLA_AUTH_METHOD", g.auth.oidc.auth_method.clone()));
        api.push(("GORILLA_OIDC_ISSUER", g.auth.oidc.issuer.clone()));
    }
    if g.activity_store.enabled {
        api.push(("GORILLA_ACTIVITY_STORE_ENABLE", s("true")));
        api.push(("GORILLA_ACTIVITY_STORE_SERVE", b(g.activity_store.serve)));
    }
    if g.weave_trace.enabled {
        api.push((
            "GORILLA_INTERNAL_JWT_SUBJECTS_TO_ISSUERS",
            internal_jwt_map(ctx),
        ));
        api.push(("GORILLA_WEAVE_TRACE_SERVER_URL", format!("{host}/traces")));
    }
    if v.app.base.install != Some(true) {
        api.push(("INTERNAL_SIGNER_KEY_PATH", g.signer_key_path.clone()));
    }
    out.push(config_map(ctx, "api", "api-configmap", api));

    // app
    out.push(config_map(
        ctx,
        "app",
        "app-configmap",
        vec![
            ("WEAVE_SERVICE", format!("{}:9994", ctx.name("weave"))),
            ("WEAVE_ENABLED", s("true")),
            ("PARQUET_ENABLED", s("true")),
            (
                "PARQUET_HOST",
                format!("http://{}:8087", ctx.name("parquet")),
            ),
            ("OPERATOR_ENABLED", s("true")),
            ("LOGGING_ENABLED", s("true")),
            ("GORILLA_SWEEP_PROVIDER", ctx.sweep_provider()),
            ("ANACONDA_ENABLED", b(v.anaconda2.install != Some(true))),
        ],
    ));

    out.push(config_map(
        ctx,
        "anaconda2",
        "anaconda2-configmap",
        vec![
            ("ANACONDA2_DISABLE_FILE_LOGGING", s("true")),
            ("DD_SERVICE", s("anaconda2")),
            ("PORT", s("8082")),
        ],
    ));

    // bucket
    let bucket = ctx.bucket();
    out.push(config_map(
        ctx,
        "bucket",
        "bucket-configmap",
        vec![
            ("BUCKET_NAME", bucket.name.clone()),
            ("BUCKET_PATH", bucket.path.clone()),
            ("AWS_REGION", bucket.region.clone()),
            ("AWS_S3_KMS_ID", bucket.kms_key.clone()),
            ("GORILLA_DEFAULT_REGION", s("minio-local")),
        ],
    ));
    if g.bucket.secret.secret_name.is_empty() {
        let mut data = Vec::new();
        if ctx.stores.object_store {
            data.push((bucket.access_key_name.as_str(), SecretValue::Generated(32)));
            data.push((bucket.secret_key_name.as_str(), SecretValue::Generated(48)));
        } else {
            if !bucket.access_key.is_empty() {
                data.push((
                    bucket.access_key_name.as_str(),
                    SecretValue::Given(bucket.access_key.clone()),
                ));
            }
            if !bucket.secret_key.is_empty() {
                data.push((
                    bucket.secret_key_name.as_str(),
                    SecretValue::Given(bucket.secret_key.clone()),
                ));
            }
        }
        out.push(secret(ctx, "bucket", &bucket.secret_name, data));
    }

    // CA certificates
    let certs: Vec<(String, String)> = g
        .custom_ca_certs
        .iter()
        .enumerate()
        .map(|(i, pem)| (format!("customCA{i}.crt"), pem.trim_end().to_string()))
        .collect();
    out.push(config_map(
        ctx,
        "ca-certs",
        "ca-certs",
        certs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect(),
    ));

    // console
    let console = &v.console;
    let access_identity = [
        console.base.extra_env.get("BUCKET_ACCESS_IDENTITY"),
        console.base.env.get("BUCKET_ACCESS_IDENTITY"),
    ]
    .into_iter()
    .flatten()
    .find_map(|e| match e {
        wandb_values::EnvValue::Plain(x) | wandb_values::EnvValue::Wrapped { value: x } => {
            Some(x.to_string())
        }
        wandb_values::EnvValue::From { .. } => None,
    })
    .unwrap_or_else(|| "unknown".into());
    let mut console_data = vec![
        ("BUCKET_ACCESS_IDENTITY", access_identity),
        (
            "AUTH_SERVICE",
            if g.local_service.bypass {
                format!("{}:8081", ctx.name("api"))
            } else {
                format!("{}:8080", ctx.name("app"))
            },
        ),
        ("OPERATOR_NAMESPACE", g.operator.namespace.clone()),
        ("RELEASE_NAME", ctx.release.name.clone()),
        ("RELEASE_NAMESPACE", ctx.release.namespace.clone()),
        (
            "PROMETHEUS_SERVER",
            format!("http://{}", ctx.name("prometheus-server")),
        ),
        (
            "BANNERS",
            serde_json::to_string(&g.banners).unwrap_or_else(|_| "{}".into()),
        ),
    ];
    let p = &console.proxy;
    for (k, val) in [
        ("HTTP_PROXY", &p.http_proxy),
        ("HTTPS_PROXY", &p.https_proxy),
        ("NO_PROXY", &p.no_proxy),
    ] {
        if !val.is_empty() {
            console_data.push((k, val.clone()));
        }
    }
    if p.debug {
        console_data.push(("PROXY_DEBUG", s("true")));
    }
    out.push(config_map(
        ctx,
        "console",
        "console-configmap",
        console_data,
    ));

    out.push(config_map(
        ctx,
        "executor",
        "executor-configmap",
        vec![("GORILLA_USE_PARQUET_HISTORY_STORE", s("true"))],
    ));
    out.push(config_map(
        ctx,
        "filestream",
        "filestream-configmap",
        vec![],
    ));
    for consumer in ["flat-run-fields-updater", "history-updater"] {
        out.push(config_map(
            ctx,
            consumer,
            &format!("{consumer}-configmap"),
            vec![
                ("GORILLA_FILE_HOST", host.clone()),
                ("GORILLA_RUN_UPDATE_QUEUE_ADDR", s("internal://")),
                (
                    "GORILLA_RUN_UPDATE_SHADOW_QUEUE_OVERFLOW_BUCKET_NAME",
                    s("wandb"),
                ),
                (
                    "GORILLA_RUN_UPDATE_SHADOW_QUEUE_OVERFLOW_BUCKET_PREFIX",
                    s("wandb-overflow"),
                ),
            ],
        ));
    }

    // frontend
    let (app_backend, local_backend) = if v.app.base.install == Some(true) {
        (
            format!("{}:8080", ctx.name("app")),
            format!("{}:8083", ctx.name("app")),
        )
    } else {
        (
            format!("{}:8081", ctx.name("api")),
            format!("{}:8083", ctx.name("api")),
        )
    };
    out.push(config_map(
        ctx,
        "frontend",
        "frontend-configmap",
        vec![
            ("FRONTEND_APP_BACKEND", app_backend.clone()),
            ("FRONTEND_AUTH_BACKEND", app_backend),
            ("FRONTEND_LOCAL_BACKEND", local_backend),
            (
                "FRONTEND_WEAVE_BACKEND",
                format!("{}:9994", ctx.name("weave")),
            ),
            ("REACT_APP_GIT_TAG", s("HEAD")),
            ("REACT_APP_HOST", host.clone()),
            ("REACT_APP_ENVIRONMENT_NAME", s("local")),
            ("REACT_APP_ENVIRONMENT_IS_PRIVATE", s("true")),
            ("REACT_APP_ANALYTICS_DISABLED", s("true")),
            ("WEAVE_TRACES_ENABLED", b(g.weave_trace.enabled)),
            ("SERVER_FLAG_WEAVE_1_PERCENTAGE", s("100")),
            ("WEAVE_ENABLED", s("true")),
            ("OPERATOR_ENABLED", s("true")),
        ],
    ));
    out.push(config_map(
        ctx,
        "frontend",
        "frontend-patch-env-js",
        vec![("02_patch_env_js.sh", s(FRONTEND_PATCH_ENV))],
    ));

    // glue
    let mut glue = vec![
        ("GORILLA_GLUE_CONTAINER_PORT", s("8080")),
        ("GORILLA_GLUE_FRONTEND_HOST", host.clone()),
        ("GORILLA_GLUE_LICENSE_CERT_PATH", s("/jwks.json")),
        ("GORILLA_GLUE_SWEEP_PROVIDER", ctx.sweep_provider()),
        ("GORILLA_GLUE_SESSION_LENGTH", session_length),
        ("GORILLA_GLUE_DEV", s("false")),
        ("GORILLA_USE_PARQUET_HISTORY_STORE", s("true")),
        ("GORILLA_GLUE_USE_PARQUET_HISTORY_STORE", s("true")),
        ("GORILLA_GLUE_COLLECT_AUDIT_LOGS", s("true")),
        ("GORILLA_GLUE_TASK_QUEUE_WORKER_ENABLED", s("false")),
        (
            "GORILLA_GLUE_VIEW_SPEC_UPDATER_EXECUTABLE",
            s("/view-spec-updater-linux"),
        ),
        ("GORILLA_GLUE_DEFAULT_REGION", s("minio-local")),
        ("GORILLA_GLUE_DISABLE_TELEMETRY", s("true")),
        ("GORILLA_GLUE_FILE_STORE_IS_PROXIED", s("false")),
        ("GORILLA_GLUE_ARTIFACT_GC_ENABLED", s("false")),
        (
            "GORILLA_ARTIFACTS_GC_BATCH_SIZE",
            v.artifacts_gc.batch_size.to_string(),
        ),
        (
            "GORILLA_ARTIFACTS_GC_NUM_WORKERS",
            v.artifacts_gc.num_workers.to_string(),
        ),
        (
            "GORILLA_ARTIFACTS_GC_DELETE_FILES_NUM_WORKERS",
            v.artifacts_gc.delete_files_num_workers.to_string(),
        ),
        ("GORILLA_GLUE_TASK_PROVIDER", s("memory://")),
        (
            "GORILLA_GLUE_TASK_CONFIG_PATH",
            s("/gorilla_glue_tasks_local.yaml"),
        ),
        ("GORILLA_GLUE_TASK_STORE", s("memory://")),
        ("GORILLA_GLUE_CLEAR_TASK_DEDUPE_KEY_ENABLED", s("false")),
        (
            "GORILLA_GLUE_LOCAL_SERVICE_BYPASS",
            b(g.local_service.bypass),
        ),
    ];
    if !g.clickhouse.host.plain().is_some_and(str::is_empty) {
        glue.push((
            "GORILLA_GLUE_CLICKHOUSE_ADDRESS",
            s("http://$(WF_CLICKHOUSE_HOST):$(WF_CLICKHOUSE_PORT)"),
        ));
    }
    if g.activity_store.enabled {
        glue.push(("GORILLA_GLUE_ACTIVITY_STORE_ENABLE", s("true")));
        glue.push((
            "GORILLA_GLUE_ACTIVITY_STORE_SERVE",
            b(g.activity_store.serve),
        ));
        glue.push((
            "GORILLA_GLUE_ACTIVITY_STORE_BACKFILL_ENABLE",
            b(g.activity_store.backfill),
        ));
    }
    if g.observability.as_ref().is_some_and(|o| o.mode == "otel") {
        glue.push(("GORILLA_GLUE_STATSD_HOST", s("0.0.0.0")));
        glue.push(("GORILLA_GLUE_STATSD_PORT", s("8125")));
    }
    if v.glue.leader_election.enabled {
        glue.push(("GORILLA_GLUE_LEADER_ELECTION_ENABLED", s("true")));
        glue.push((
            "GORILLA_GLUE_LEADER_ELECTION_LEASE_NAME",
            v.glue.leader_election.lease_name.clone(),
        ));
        glue.push((
            "GORILLA_GLUE_LEADER_ELECTION_NAMESPACE",
            ctx.release.namespace.clone(),
        ));
    }
    out.push(config_map(ctx, "glue", "glue-configmap", glue));

    // history-reader and parquet-metadata-cache, when they run
    let hr = &v.history_reader;
    if hr.base.install == Some(true) {
        out.push(config_map(
            ctx,
            "history-reader",
            "history-reader-configmap",
            vec![
                ("GORILLA_FILE_HOST", host.clone()),
                ("GORILLA_HISTORY_READER_GRPC_PORT", s("9244")),
                (
                    "GORILLA_HISTORY_READER_GRPC_MAX_RECV_MSG_SIZE",
                    hr.grpc.max_recv_msg_size.to_string(),
                ),
                (
                    "GORILLA_HISTORY_READER_GRPC_MAX_SEND_MSG_SIZE",
                    hr.grpc.max_send_msg_size.to_string(),
                ),
                (
                    "GORILLA_HISTORY_READER_CACHE_SIZE",
                    hr.cache.size.to_string(),
                ),
                ("GORILLA_HISTORY_READER_CACHE_TTL", hr.cache.ttl.to_string()),
            ],
        ));
        out.push(secret(
            ctx,
            "history-reader",
            &ctx.name("history-reader-secret"),
            vec![],
        ));
    }
    let pmc = &v.parquet_metadata_cache;
    if pmc.base.install == Some(true) {
        out.push(config_map(
            ctx,
            "parquet-metadata-cache",
            "parquet-metadata-cache-configmap",
            vec![
                ("GORILLA_PARQUET_METADATA_CACHE_PORT", s("9091")),
                (
                    "GORILLA_MAX_COLUMN_CHUNKS",
                    pmc.max_column_chunks
                        .as_ref()
                        .filter(|c| !c.is_empty())
                        .map_or_else(|| s("10000000"), |c| c.to_string()),
                ),
                ("GORILLA_FILE_HOST", host.clone()),
            ],
        ));
        out.push(secret(
            ctx,
            "parquet-metadata-cache",
            &ctx.name("parquet-metadata-cache-secret"),
            vec![],
        ));
    }

    // kafka
    out.push(config_map(
        ctx,
        "kafka",
        "kafka-configmap",
        vec![
            ("KAFKA_BROKER_HOST", ctx.kafka_broker_host()),
            ("KAFKA_BROKER_PORT", g.kafka.broker_port.to_string()),
            ("KAFKA_CLIENT_USER", ctx.kafka_user()),
            ("KAFKA_TOPIC_RUN_UPDATE_SHADOW_QUEUE", ctx.kafka_topic()),
            (
                "KAFKA_RUN_UPDATE_SHADOW_QUEUE_NUM_PARTITIONS",
                g.kafka.run_updates_shadow_num_partitions.to_string(),
            ),
        ],
    ));
    if g.kafka.password_secret.name.is_empty() {
        out.push(secret(
            ctx,
            "kafka",
            &ctx.kafka_secret(),
            vec![(
                "KAFKA_CLIENT_PASSWORD",
                SecretValue::Given(ctx.kafka_password()),
            )],
        ));
    }

    // local (the app's embedded services)
    let mut local = vec![
        ("GLUE_ENABLED", b(!g.glue.enabled)),
        ("GORILLA_GLUE_CONTAINER_PORT", s("9173")),
        ("HOST", host.clone()),
        ("LOCAL_K8S_SIGNER_SECRET_NAME", ctx.name("internal-signer")),
        ("LOCAL_K8S_SIGNER_NAMESPACE", ctx.release.namespace.clone()),
    ];
    if oidc_on {
        local.push(("OIDC_CLIENT_ID", g.auth.oidc.client_id.clone()));
        local.push(("OIDC_AUTH_METHOD", g.auth.oidc.auth_method.clone()));
        local.push(("OIDC_ISSUER", g.auth.oidc.issuer.clone()));
    }
    out.push(config_map(ctx, "app", "local-configmap", local));

    // lumen
    let l = &g.lumen;
    out.push(config_map(
        ctx,
        "lumen-agent",
        "lumen-configmap",
        vec![
            (
                "LUMEN_AGENT_CONFIG_PATH",
                s("/app/definitions/collector/managed-install.yaml"),
            ),
            ("LUMEN_CUSTOMER_NAME", l.customer.clone()),
            ("LUMEN_DATA_ROOT", l.data_root.clone()),
            ("LUMEN_STAGING_ROOT", s("file:///vol/staging")),
        ],
    ));
    out.push(config_map(
        ctx,
        "lumen-agent",
        "lumen-rules",
        vec![("managed-install.yaml", ctx.expand(LUMEN_RULES))],
    ));
    if !l.gcp_workload_identity.audience.is_empty() {
        let credentials = serde_json::json!({
            "type": "external_account",
            "audience": l.gcp_workload_identity.audience,
            "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
            "token_url": "https://sts.googleapis.com/v1/token",
            "credential_source": {
                "file": "/var/run/secrets/tokens/gcp-ksa/token",
                "format": {"type": "text"}
            }
        });
        out.push(config_map(
            ctx,
            "lumen-agent",
            "lumen-gcp-wif",
            vec![(
                "credential-config.json",
                serde_json::to_string_pretty(&credentials).unwrap_or_default(),
            )],
        ));
    }

    out.push(config_map(
        ctx,
        "nginx",
        "nginx-configmap",
        vec![("nginx.conf", nginx_conf(ctx))],
    ));

    // parquet
    let mut parquet = vec![
        ("GORILLA_PARQUET_PORT", s("8087")),
        ("GORILLA_PARQUET_RPC_PATH", s("/_goRPC_")),
        ("GORILLA_PARQUET_GRPC_PORT", s("8088")),
        ("GORILLA_TASK_QUEUE_WORKER_ENABLED", s("false")),
        ("GORILLA_USE_PARQUET_HISTORY_STORE", s("true")),
        ("GORILLA_PARQUET_ARROW_BUFFER_SIZE", s("2147483648")),
        ("GORILLA_COLLECT_AUDIT_LOGS", s("true")),
    ];
    if pmc.base.install == Some(true) {
        parquet.push((
            "GORILLA_PARQUET_READER_REMOTE_METADATA_CACHE_ADDR",
            format!("{}:9091", ctx.name("parquet-metadata-cache")),
        ));
    }
    out.push(config_map(ctx, "parquet", "parquet-configmap", parquet));
    out.push(secret(ctx, "parquet", &ctx.name("parquet-secret"), vec![]));

    // redis
    out.push(config_map(
        ctx,
        "redis",
        "redis-configmap",
        vec![
            ("REDIS_PORT", ctx.redis_port()),
            ("REDIS_HOST", ctx.redis_host()),
            ("REDIS_PARAMS", ctx.redis_params()),
        ],
    ));
    if g.redis.secret.secret_name.is_empty() {
        out.push(secret(
            ctx,
            "redis",
            &ctx.redis_secret(),
            vec![
                (
                    "REDIS_PASSWORD",
                    SecretValue::Given(g.redis.password.clone()),
                ),
                ("REDIS_CA_CERT", SecretValue::Given(g.redis.ca_cert.clone())),
            ],
        ));
    }

    // weave
    let api_or_app = if g.api.enabled {
        format!("http://{}:8081/", ctx.name("api"))
    } else {
        format!("http://{}:8080/", ctx.name("app"))
    };
    let cache = &v.weave.cache;
    out.push(config_map(
        ctx,
        "weave",
        "weave-configmap",
        vec![
            ("GORILLA_ONPREM", s("true")),
            ("PORT", s("9994")),
            ("WANDB_BASE_URL", api_or_app.clone()),
            ("WANDB_PUBLIC_BASE_URL", host.clone()),
            ("WEAVE_LOG_FORMAT", s("json")),
            ("WEAVE_SERVER_NUM_WORKERS", s("4")),
            ("WEAVE_SERVER_URL", s("http://127.0.0.1:9994")),
            ("WEAVE_LOCAL_ARTIFACT_DIR", s("/vol/weave/cache")),
            (
                "WEAVE_CACHE_CLEAR_INTERVAL",
                cache.interval_in_hours.to_string(),
            ),
            (
                "WEAVE_CACHE_CHECK_INTERVAL",
                cache.check_interval_in_seconds.to_string(),
            ),
            ("WEAVE_CACHE_SIZE_LIMIT", cache.size.to_string()),
            ("WEAVE_CACHE_CLEAR_PERCENT", cache.clear_percent.to_string()),
        ],
    ));
    out.push(config_map(
        ctx,
        "weave-trace",
        "weave-trace-configmap",
        vec![
            ("PORT", s("8080")),
            ("API_PATH_PREFIX", s("/traces")),
            ("WANDB_PUBLIC_BASE_URL", host.clone()),
            ("WANDB_BASE_URL", api_or_app),
            ("WF_TRACE_SERVER_URL", format!("{host}/traces")),
            ("WF_ENFORCE_PASSWORD_LENGTH", s("false")),
            (
                "WEAVE_ENABLE_ONLINE_EVAL",
                b(v.weave_trace_worker.install == Some(true)),
            ),
            (
                "WEAVE_ENABLE_EVALUATE_MODEL_WORKER",
                b(v.weave_evaluate_model_worker.install == Some(true)),
            ),
            (
                "WEAVE_ENABLE_AGENT_SCORING",
                b(v.weave_trace_agent_scoring_worker.install == Some(true)),
            ),
            ("WEAVE_TRACE_SERVER_BASE_URL", format!("{host}/traces")),
            (
                "WANDB_INTERNAL_SERVICE_TOKEN_SECRET_NAME",
                s("weave-worker-auth"),
            ),
            ("KAFKA_BROKER_HOST", ctx.kafka_broker_host()),
            ("KAFKA_BROKER_PORT", g.kafka.broker_port.to_string()),
            ("WEAVE_REDIS_URL", ctx.redis_connection()),
        ],
    ));

    // the app-rename hooks' scripts
    if v.app_rename_pre_hook.install == Some(true) || v.app_rename_post_hook.install == Some(true) {
        out.push(
            config_map(
                ctx,
                "appRenamePreHook",
                "app-rename-cleanup",
                vec![
                    ("pre_upgrade.sh", s(APP_RENAME_PRE)),
                    ("post_upgrade.sh", s(APP_RENAME_POST)),
                ],
            )
            .in_phase(Phase::PreInstall),
        );
    }

    if v.settings_migration_job.install == Some(true) {
        out.push(secret(
            ctx,
            "settingsMigrationJob",
            &ctx.name("smj-secret"),
            vec![
                (
                    "SMJ_DEBUG",
                    SecretValue::Given(b(g.settings_migration_job.debug)),
                ),
                (
                    "SMJ_DRY_RUN",
                    SecretValue::Given(b(g.settings_migration_job.dry_run)),
                ),
                ("AWS_REGION", SecretValue::Given(bucket.region.clone())),
                ("AWS_S3_KMS_ID", SecretValue::Given(bucket.kms_key.clone())),
            ],
        ));
    }

    out.extend(secrets(ctx));
    out
}

/// Secrets holding credentials: given in the values, or generated once.
fn secrets(ctx: &Ctx) -> Vec<Manifest> {
    let g = &ctx.values.global;
    let mut out = Vec::new();

    if g.license_secret.name.is_empty() {
        let key = ctx.license_key();
        out.push(secret(
            ctx,
            "license",
            &ctx.license_secret(),
            vec![(key.as_str(), SecretValue::Given(g.license.clone()))],
        ));
    }

    if g.mysql.password_secret.name.is_empty() {
        let password = match g.mysql.password.plain() {
            Some(p) if !p.is_empty() => SecretValue::Given(p.to_string()),
            _ => SecretValue::Generated(64),
        };
        out.push(secret(
            ctx,
            "mysql",
            &ctx.mysql_password_secret(),
            vec![
                ("MYSQL_ROOT_PASSWORD", SecretValue::Generated(64)),
                ("MYSQL_PASSWORD", password),
            ],
        ));
    }
    if let ValueOrRef::Value(ca) = &g.mysql.ca_cert
        && !ca.is_empty()
    {
        out.push(secret(
            ctx,
            "mysql",
            &ctx.name("mysql-ca-cert"),
            vec![("MYSQL_CA_CERT", SecretValue::Given(ca.to_string()))],
        ));
    }

    if g.clickhouse.password_secret.name.is_empty() && !g.clickhouse.password.is_ref() {
        let password = match g.clickhouse.password.plain() {
            Some(p) if !p.is_empty() => SecretValue::Given(p.to_string()),
            _ => SecretValue::Generated(64),
        };
        out.push(secret(
            ctx,
            "clickhouse",
            &ctx.clickhouse_secret(),
            vec![("CLICKHOUSE_PASSWORD", password)],
        ));
    }

    if !g.email.smtp.password.is_ref() {
        out.push(secret(
            ctx,
            "smtp",
            &ctx.name("smtp-secret"),
            vec![(
                "SMTP_PASSWORD",
                SecretValue::Given(g.email.smtp.password.text().to_string()),
            )],
        ));
    }

    let oidc = &g.auth.oidc;
    if !oidc.secret.is_empty() && oidc.oidc_secret.name.is_empty() {
        out.push(secret(
            ctx,
            "oidc",
            &ctx.oidc_secret(),
            vec![(
                oidc.oidc_secret.secret_key.as_str(),
                SecretValue::Given(oidc.secret.clone()),
            )],
        ));
    }

    for feature in OLAP_FEATURES {
        let settings = olap_settings(ctx, feature);
        if settings.enabled && !settings.password.is_ref() {
            let key = format!("{}_PASSWORD", feature.prefix);
            out.push(secret(
                ctx,
                "olap",
                &olap_secret_name(ctx, feature),
                vec![(
                    key.as_str(),
                    SecretValue::Given(settings.password.text().to_string()),
                )],
            ));
        }
    }

    out.push(secret(
        ctx,
        "app",
        &ctx.name("gorilla-session-key"),
        vec![
            ("GORILLA_SESSION_KEY", SecretValue::Generated(32)),
            (
                "GORILLA_AUTH_JWK_URL",
                SecretValue::Given(
                    non_empty(&g.auth.jwk_url).unwrap_or_else(|| {
                        format!("http://{}:8083/api/jwks.json", ctx.name("app"))
                    }),
                ),
            ),
        ],
    ));

    if !ctx.values.app.internal_jwt_map.is_empty() {
        let mut metadata = meta(ctx, &ctx.name("oidc-reviewer"), "app");
        metadata.namespace = None;
        out.push(Manifest::new(
            "app",
            Object::ClusterRoleBinding(ClusterRoleBinding {
                metadata,
                role_ref: RoleRef {
                    api_group: "rbac.authorization.k8s.io".into(),
                    kind: "ClusterRole".into(),
                    name: "system:service-account-issuer-discovery".into(),
                },
                subjects: Some(vec![Subject {
                    kind: "Group".into(),
                    name: "system:unauthenticated".into(),
                    api_group: Some("rbac.authorization.k8s.io".into()),
                    namespace: None,
                }]),
            }),
        ));
    }
    out
}

/// `'{"subject": "issuer", ...}'`, as gorilla reads it.
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

/// The nginx front proxy's configuration.
fn nginx_conf(ctx: &Ctx) -> String {
    let v = ctx.values;
    let g = &v.global;
    let root = if v.frontend.install == Some(true) {
        format!("http://{}:8080", ctx.name("frontend"))
    } else {
        format!("http://{}:8080", ctx.name("app"))
    };
    let mut locations: Vec<(String, String, Vec<String>)> = vec![
        ("/".into(), root, vec![]),
        (
            "/console".into(),
            format!("http://{}:8082", ctx.name("console")),
            vec![],
        ),
    ];
    if g.api.enabled {
        let api = format!("http://{}:8081", ctx.name("api"));
        for path in api_paths(ctx) {
            locations.push((path.to_string(), api.clone(), vec![]));
        }
    }
    if v.weave_trace.install == Some(true) {
        locations.push((
            "/traces".into(),
            format!("http://{}:8722", ctx.name("weave-trace")),
            vec![],
        ));
    }
    if v.mcp_server.base.install == Some(true) {
        // Streaming: the proxy_pass line comes first here, as upstream's.
        let mut lines = vec![format!("proxy_pass http://{}:8080", ctx.name("mcp-server"))];
        lines.extend(
            [
                "proxy_buffering off",
                "proxy_cache off",
                "proxy_read_timeout 86400s",
                "proxy_set_header Connection ''",
                "proxy_http_version 1.1",
                "chunked_transfer_encoding off",
            ]
            .map(String::from),
        );
        locations.push(("/mcp".into(), String::new(), lines));
    }
    for (path, upstream) in &v.nginx.additional_services {
        let headers = upstream
            .headers
            .iter()
            .map(|(h, val)| format!("proxy_set_header {h} {val}"))
            .collect();
        locations.push((format!("/{path}"), upstream.host.clone(), headers));
    }
    let mut conf = String::from(
        "worker_processes  auto;\n\nerror_log  /var/log/nginx/error.log notice;\npid        /tmp/nginx.pid;\n\n\
         events {\n    worker_connections  1024;\n}\n\nhttp {\n  server {\n    listen 8080;\n    \
         proxy_set_header Host $host:8080;\n    client_max_body_size 0;\n",
    );
    for (path, upstream, extra) in locations {
        conf.push_str(&format!("    location {path} {{\n"));
        for line in extra {
            conf.push_str(&format!("      {line};\n"));
        }
        // An empty upstream: the lines carry their own proxy_pass.
        if !upstream.is_empty() {
            conf.push_str(&format!("      proxy_pass {upstream};\n"));
        }
        conf.push_str("    }\n");
    }
    conf.push_str("  }\n}\n");
    conf
}

/// Paths routed to the api service when it runs.
pub fn api_paths(ctx: &Ctx) -> Vec<&'static str> {
    let p = &ctx.values.global.api.additional_paths;
    let mut paths = vec!["/api", "/graphql", "/graphql2"];
    for (on, list) in [
        (p.analytics, &["/analytics"][..]),
        (p.oidc, &["/oidc"][..]),
        (p.proxy, &["/proxy"][..]),
        (p.files, &["/files"][..]),
        (p.debug, &["/debug"][..]),
        (p.service_redirect, &["/service-redirect"][..]),
        (p.service_dangerzone, &["/service-dangerzone"][..]),
        (p.scim, &["/scim"][..]),
        (p.admin, &["/admin/audit_logs"][..]),
        (p.artifacts, &["/artifacts", "/artifactsV2"][..]),
    ] {
        if on {
            paths.extend_from_slice(list);
        }
    }
    paths
}
