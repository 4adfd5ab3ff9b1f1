//! Gorilla, W&B's backend, in each of its roles: the api, the app's embedded
//! services, glue, parquet, the run-update consumers and the history readers.

use crate::context::Ctx;
use crate::objects::Manifest;

use super::{b, config_map, s, secret};

/// Whether single sign-on through OIDC is configured.
fn oidc_on(ctx: &Ctx) -> bool {
    !ctx.values.global.auth.oidc.client_id.is_empty()
}

/// How long a login lasts, as gorilla reads it (`720h`).
fn session_length(ctx: &Ctx) -> String {
    format!("{}h", ctx.values.global.auth.session_length_hours)
}

pub(super) fn api(ctx: &Ctx) -> Vec<Manifest> {
    let v = ctx.values;
    let g = &v.global;
    let host = &g.host;
    let oidc_on = oidc_on(ctx);
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
        ("GORILLA_SESSION_LENGTH", session_length(ctx)),
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
    vec![config_map(ctx, "api", "api-configmap", api)]
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

pub(super) fn executor(ctx: &Ctx) -> Vec<Manifest> {
    vec![config_map(
        ctx,
        "executor",
        "executor-configmap",
        vec![("GORILLA_USE_PARQUET_HISTORY_STORE", s("true"))],
    )]
}

pub(super) fn filestream(ctx: &Ctx) -> Vec<Manifest> {
    vec![config_map(
        ctx,
        "filestream",
        "filestream-configmap",
        vec![],
    )]
}

/// The consumers of the run-update queue: one ConfigMap each, alike.
pub(super) fn run_update_consumers(ctx: &Ctx) -> Vec<Manifest> {
    let host = &ctx.values.global.host;
    ["flat-run-fields-updater", "history-updater"]
        .into_iter()
        .map(|consumer| {
            config_map(
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
            )
        })
        .collect()
}

pub(super) fn glue(ctx: &Ctx) -> Vec<Manifest> {
    let v = ctx.values;
    let g = &v.global;
    let mut glue = glue_defaults(ctx);
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
    vec![config_map(ctx, "glue", "glue-configmap", glue)]
}

/// Glue's settings whatever else is switched on.
fn glue_defaults(ctx: &Ctx) -> Vec<(&'static str, String)> {
    let v = ctx.values;
    let g = &v.global;
    vec![
        ("GORILLA_GLUE_CONTAINER_PORT", s("8080")),
        ("GORILLA_GLUE_FRONTEND_HOST", g.host.clone()),
        ("GORILLA_GLUE_LICENSE_CERT_PATH", s("/jwks.json")),
        ("GORILLA_GLUE_SWEEP_PROVIDER", ctx.sweep_provider()),
        ("GORILLA_GLUE_SESSION_LENGTH", session_length(ctx)),
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
    ]
}

/// History-reader's settings, when it runs.
pub(super) fn history_reader(ctx: &Ctx) -> Vec<Manifest> {
    let hr = &ctx.values.history_reader;
    if hr.base.install != Some(true) {
        return Vec::new();
    }
    vec![
        config_map(
            ctx,
            "history-reader",
            "history-reader-configmap",
            vec![
                ("GORILLA_FILE_HOST", ctx.values.global.host.clone()),
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
        ),
        secret(
            ctx,
            "history-reader",
            &ctx.name("history-reader-secret"),
            vec![],
        ),
    ]
}

/// Whether parquet-metadata-cache runs (parquet then reads through it).
fn parquet_metadata_cache_runs(ctx: &Ctx) -> bool {
    ctx.values.parquet_metadata_cache.base.install == Some(true)
}

/// Parquet-metadata-cache's settings, when it runs.
pub(super) fn parquet_metadata_cache(ctx: &Ctx) -> Vec<Manifest> {
    if !parquet_metadata_cache_runs(ctx) {
        return Vec::new();
    }
    let pmc = &ctx.values.parquet_metadata_cache;
    vec![
        config_map(
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
                ("GORILLA_FILE_HOST", ctx.values.global.host.clone()),
            ],
        ),
        secret(
            ctx,
            "parquet-metadata-cache",
            &ctx.name("parquet-metadata-cache-secret"),
            vec![],
        ),
    ]
}

/// The app's embedded services (its `local` ConfigMap).
pub(super) fn local(ctx: &Ctx) -> Vec<Manifest> {
    let g = &ctx.values.global;
    let mut local = vec![
        ("GLUE_ENABLED", b(!g.glue.enabled)),
        ("GORILLA_GLUE_CONTAINER_PORT", s("9173")),
        ("HOST", g.host.clone()),
        ("LOCAL_K8S_SIGNER_SECRET_NAME", ctx.name("internal-signer")),
        ("LOCAL_K8S_SIGNER_NAMESPACE", ctx.release.namespace.clone()),
    ];
    if oidc_on(ctx) {
        local.push(("OIDC_CLIENT_ID", g.auth.oidc.client_id.clone()));
        local.push(("OIDC_AUTH_METHOD", g.auth.oidc.auth_method.clone()));
        local.push(("OIDC_ISSUER", g.auth.oidc.issuer.clone()));
    }
    vec![config_map(ctx, "app", "local-configmap", local)]
}

pub(super) fn parquet(ctx: &Ctx) -> Vec<Manifest> {
    let mut parquet = vec![
        ("GORILLA_PARQUET_PORT", s("8087")),
        ("GORILLA_PARQUET_RPC_PATH", s("/_goRPC_")),
        ("GORILLA_PARQUET_GRPC_PORT", s("8088")),
        ("GORILLA_TASK_QUEUE_WORKER_ENABLED", s("false")),
        ("GORILLA_USE_PARQUET_HISTORY_STORE", s("true")),
        ("GORILLA_PARQUET_ARROW_BUFFER_SIZE", s("2147483648")),
        ("GORILLA_COLLECT_AUDIT_LOGS", s("true")),
    ];
    if parquet_metadata_cache_runs(ctx) {
        parquet.push((
            "GORILLA_PARQUET_READER_REMOTE_METADATA_CACHE_ADDR",
            format!("{}:9091", ctx.name("parquet-metadata-cache")),
        ));
    }
    vec![
        config_map(ctx, "parquet", "parquet-configmap", parquet),
        secret(ctx, "parquet", &ctx.name("parquet-secret"), vec![]),
    ]
}
