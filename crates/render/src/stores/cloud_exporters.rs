//! The exporters of a cloud's metrics of the managed stores: Stackdriver
//! (Google Cloud Monitoring) and YACE (Amazon CloudWatch), each a
//! Deployment `{release}-<name>` with its Service and ServiceAccount.

use k8s_openapi::api::core::v1::{
    Container, HTTPGetAction, KeyToPath, Probe, SecretVolumeSource, ServiceAccount, Volume,
};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::json;
use wandb_values::{Metadata, Store};

use crate::config::config_map;
use crate::context::Ctx;
use crate::env::literal;
use crate::k8s::{config_map_volume, mount};
use crate::objects::{Manifest, Object};

use super::common::{
    StoreSpec, deployment, manifests, meta, pod_security, port, resources, selector, service,
    service_port, store_container,
};

const STACKDRIVER_PORT: i32 = 9255;
const YACE_PORT: i32 = 5000;
const CREDENTIALS_DIR: &str = "/etc/secrets/service-account/";

pub(super) fn stackdriver(ctx: &Ctx) -> Vec<Manifest> {
    let v = &ctx.values.stackdriver;
    let s = &v.stackdriver;
    let m = &s.metrics;
    let mut args = Vec::new();
    // Without a project the exporter reads the credentials' own.
    if !s.project_id.is_empty() {
        args.push(format!("--google.project-id={}", s.project_id));
    }
    args.extend([
        format!("--monitoring.metrics-interval={}", m.interval),
        format!("--monitoring.metrics-offset={}", m.offset),
        format!(
            "--monitoring.metrics-type-prefixes={}",
            m.type_prefixes.replace(' ', "")
        ),
    ]);
    args.extend(
        m.filters
            .iter()
            .map(|f| format!("--monitoring.filters={f}")),
    );
    args.extend([
        format!("--stackdriver.backoff-jitter={}", s.backoff_jitter),
        format!("--stackdriver.http-timeout={}", s.http_timeout),
        format!("--stackdriver.max-backoff={}", s.max_backoff),
        format!("--stackdriver.max-retries={}", s.max_retries),
        format!("--stackdriver.retry-statuses={}", s.retry_statuses),
        format!("--web.listen-address={}", v.web.listen_address),
        format!("--web.telemetry-path={}", v.web.path),
    ]);
    if s.drop_delegated_projects {
        args.push("--monitoring.drop-delegated-projects".into());
    }
    if m.ingest_delay {
        args.push("--monitoring.metrics-ingest-delay".into());
    }
    if m.aggregate_deltas {
        args.push("--monitoring.aggregate-deltas".into());
        args.push(format!(
            "--monitoring.aggregate-deltas-ttl={}",
            m.aggregate_deltas_ttl
        ));
    }
    for (flag, value) in &v.extra_args {
        if !value.is_empty() {
            args.push(format!("--{flag}={value}"));
        }
    }
    let mut volumes = Vec::new();
    if !s.service_account_secret.is_empty() {
        let items = (!s.service_account_secret_key.is_empty()).then(|| {
            vec![KeyToPath {
                key: s.service_account_secret_key.clone(),
                path: "credentials.json".into(),
                mode: None,
            }]
        });
        volumes.push(Volume {
            name: "stackdriver-service-account".into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(s.service_account_secret.clone()),
                items,
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    let with_key = !volumes.is_empty();
    exporter(
        ctx,
        "stackdriver",
        &v.base,
        &v.service_account,
        STACKDRIVER_PORT,
        volumes,
        |c| {
            c.command = Some(vec!["stackdriver_exporter".into()]);
            c.args = Some(args);
            c.liveness_probe = Some(http_probe("/health", Some(30), Some(10)));
            c.readiness_probe = Some(http_probe("/health", Some(10), Some(10)));
            if with_key {
                c.volume_mounts = Some(vec![mount(
                    "stackdriver-service-account",
                    CREDENTIALS_DIR,
                    None,
                )]);
                c.env = Some(vec![literal(
                    "GOOGLE_APPLICATION_CREDENTIALS",
                    format!("{CREDENTIALS_DIR}credentials.json"),
                )]);
            }
        },
    )
}

pub(super) fn yace(ctx: &Ctx) -> Vec<Manifest> {
    let v = &ctx.values.yace;
    let name = ctx.name("yace");
    let config = config_map(ctx, "yace", "yace", vec![("config.yml", yace_config(ctx))]);
    let mut out = vec![config];
    out.extend(exporter(
        ctx,
        "yace",
        &v.base,
        &v.service_account,
        YACE_PORT,
        vec![config_map_volume("yace-config", &name, Some(0o644), false)],
        |c| {
            c.command = Some(vec![
                "yace".into(),
                "--config.file=/config/config.yml".into(),
                "--scraping-interval=60".into(),
            ]);
            c.liveness_probe = Some(http_probe("/healthz", None, Some(1)));
            c.readiness_probe = Some(http_probe("/healthz", None, Some(1)));
            c.volume_mounts = Some(vec![mount("yace-config", "/config", None)]);
        },
    ));
    out
}

/// YACE's discovery jobs: the managed Redis (ElastiCache) and MySQL (RDS)
/// of the regions, each metric's statistic as the W&B dashboards read it.
fn yace_config(ctx: &Ctx) -> String {
    let v = &ctx.values.yace;
    let tags: Vec<_> = v
        .search_tags
        .iter()
        .map(|(k, val)| json!({"key": k, "value": val}))
        .collect();
    let job = |kind: &str, metrics: &[(&str, &str)]| {
        let mut job = json!({
            "type": kind,
            "regions": v.regions,
            "period": 60,
            "length": 60,
            "metrics": metrics
                .iter()
                .map(|(name, stat)| json!({"name": name, "statistics": [stat]}))
                .collect::<Vec<_>>(),
        });
        if !tags.is_empty() {
            job["searchTags"] = json!(tags);
        }
        job
    };
    let elasticache = job(
        "AWS/ElastiCache",
        &[
            ("CPUUtilization", "Average"),
            ("FreeableMemory", "Average"),
            ("NetworkBytesIn", "Average"),
            ("NetworkBytesOut", "Average"),
            ("NetworkPacketsIn", "Average"),
            ("NetworkPacketsOut", "Average"),
            ("SwapUsage", "Average"),
            ("CPUCreditUsage", "Average"),
        ],
    );
    let rds = job(
        "AWS/RDS",
        &[
            ("CPUUtilization", "Maximum"),
            ("DatabaseConnections", "Sum"),
            ("FreeableMemory", "Average"),
            ("FreeStorageSpace", "Average"),
            ("ReadThroughput", "Average"),
            ("WriteThroughput", "Average"),
            ("ReadLatency", "Maximum"),
            ("WriteLatency", "Maximum"),
            ("ReadIOPS", "Average"),
            ("WriteIOPS", "Average"),
        ],
    );
    let config = json!({
        "apiVersion": "v1alpha1",
        "discovery": {"jobs": [elasticache, rds]},
    });
    serde_saphyr::to_string(&config).unwrap_or_default()
}

fn http_probe(path: &str, initial_delay: Option<i32>, timeout: Option<i32>) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String("http".into()),
            ..Default::default()
        }),
        initial_delay_seconds: initial_delay,
        timeout_seconds: timeout,
        ..Default::default()
    }
}

/// An exporter's Deployment, Service and ServiceAccount; `container` sets
/// what is its own on the container.
fn exporter(
    ctx: &Ctx,
    what: &str,
    store: &Store,
    account: &Metadata,
    port_number: i32,
    volumes: Vec<Volume>,
    container: impl FnOnce(&mut Container),
) -> Vec<Manifest> {
    let name = ctx.name(what);
    let sel = selector(ctx, what, None);
    let mut spec = StoreSpec {
        component: what,
        name: name.clone(),
        selector: sel.clone(),
        values: store,
        default_registry: "",
        containers: vec![],
        volumes,
        pod_security: pod_security(65534, 65534),
        service_account: Some(name.clone()),
        api_access: false,
    };
    let mut c = store_container(
        ctx,
        what,
        &spec,
        resources("200m", "200Mi", Some("500m"), "500Mi"),
    );
    c.ports = Some(vec![port("http", port_number)]);
    container(&mut c);
    spec.containers = vec![c];
    let mut account_meta = meta(ctx, &name, what, &account.labels);
    if !account.annotations.is_empty() {
        account_meta.annotations = Some(account.annotations.clone());
    }
    let objects = vec![
        Object::ServiceAccount(ServiceAccount {
            metadata: account_meta,
            automount_service_account_token: Some(false),
            ..Default::default()
        }),
        service(
            ctx,
            what,
            &name,
            &sel,
            vec![service_port(what, port_number, "http")],
            false,
        ),
        deployment(ctx, &spec, store.replica_count.unwrap_or(1)),
    ];
    manifests(what, objects)
}
