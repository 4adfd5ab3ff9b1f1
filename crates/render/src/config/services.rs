//! The app, the console, the frontend, weave and the lumen agent.

use wandb_values::EnvValue;

use crate::context::Ctx;
use crate::objects::Manifest;

use super::{b, config_map, s};

const FRONTEND_PATCH_ENV: &str = include_str!("../../files/frontend-patch-env.sh");
const LUMEN_RULES: &str = include_str!("../../files/lumen-rules.yaml");

pub(super) fn app(ctx: &Ctx) -> Vec<Manifest> {
    vec![config_map(
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
            (
                "ANACONDA_ENABLED",
                b(ctx.values.anaconda2.install != Some(true)),
            ),
        ],
    )]
}

pub(super) fn anaconda2(ctx: &Ctx) -> Vec<Manifest> {
    vec![config_map(
        ctx,
        "anaconda2",
        "anaconda2-configmap",
        vec![
            ("ANACONDA2_DISABLE_FILE_LOGGING", s("true")),
            ("DD_SERVICE", s("anaconda2")),
            ("PORT", s("8082")),
        ],
    )]
}

pub(super) fn console(ctx: &Ctx) -> Vec<Manifest> {
    let g = &ctx.values.global;
    let mut console_data = vec![
        ("BUCKET_ACCESS_IDENTITY", bucket_access_identity(ctx)),
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
    let p = &ctx.values.console.proxy;
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
    vec![config_map(
        ctx,
        "console",
        "console-configmap",
        console_data,
    )]
}

/// The console's `BUCKET_ACCESS_IDENTITY`: the first plain value of it in the
/// console's env (a reference can't be shown), else `unknown`.
fn bucket_access_identity(ctx: &Ctx) -> String {
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

pub(super) fn frontend(ctx: &Ctx) -> Vec<Manifest> {
    let g = &ctx.values.global;
    let (app_backend, local_backend) = if ctx.values.app.base.install == Some(true) {
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
    vec![
        config_map(
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
                ("REACT_APP_HOST", g.host.clone()),
                ("REACT_APP_ENVIRONMENT_NAME", s("local")),
                ("REACT_APP_ENVIRONMENT_IS_PRIVATE", s("true")),
                ("REACT_APP_ANALYTICS_DISABLED", s("true")),
                ("WEAVE_TRACES_ENABLED", b(g.weave_trace.enabled)),
                ("SERVER_FLAG_WEAVE_1_PERCENTAGE", s("100")),
                ("WEAVE_ENABLED", s("true")),
                ("OPERATOR_ENABLED", s("true")),
            ],
        ),
        config_map(
            ctx,
            "frontend",
            "frontend-patch-env-js",
            vec![("02_patch_env_js.sh", s(FRONTEND_PATCH_ENV))],
        ),
    ]
}

pub(super) fn lumen(ctx: &Ctx) -> Vec<Manifest> {
    let l = &ctx.values.global.lumen;
    let mut out = vec![
        config_map(
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
        ),
        config_map(
            ctx,
            "lumen-agent",
            "lumen-rules",
            vec![("managed-install.yaml", ctx.expand(LUMEN_RULES))],
        ),
    ];
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
    out
}

/// Gorilla's URL inside the cluster: the api when it runs, else the app.
fn api_or_app_url(ctx: &Ctx) -> String {
    if ctx.values.global.api.enabled {
        format!("http://{}:8081/", ctx.name("api"))
    } else {
        format!("http://{}:8080/", ctx.name("app"))
    }
}

pub(super) fn weave(ctx: &Ctx) -> Vec<Manifest> {
    let cache = &ctx.values.weave.cache;
    vec![config_map(
        ctx,
        "weave",
        "weave-configmap",
        vec![
            ("GORILLA_ONPREM", s("true")),
            ("PORT", s("9994")),
            ("WANDB_BASE_URL", api_or_app_url(ctx)),
            ("WANDB_PUBLIC_BASE_URL", ctx.values.global.host.clone()),
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
    )]
}

pub(super) fn weave_trace(ctx: &Ctx) -> Vec<Manifest> {
    let v = ctx.values;
    let host = &v.global.host;
    vec![config_map(
        ctx,
        "weave-trace",
        "weave-trace-configmap",
        vec![
            ("PORT", s("8080")),
            ("API_PATH_PREFIX", s("/traces")),
            ("WANDB_PUBLIC_BASE_URL", host.clone()),
            ("WANDB_BASE_URL", api_or_app_url(ctx)),
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
            ("KAFKA_BROKER_PORT", v.global.kafka.broker_port.to_string()),
            ("WEAVE_REDIS_URL", ctx.redis_connection()),
        ],
    )]
}
