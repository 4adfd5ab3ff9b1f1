//! The install's ConfigMaps and Secrets: the settings W&B's services read
//! through `envFrom`, computed from the values.
//!
//! `build` lists one function per section; the sections live beside this
//! file, grouped by what they configure.

mod backend;
mod jobs;
mod nginx;
mod secrets;
mod services;
mod stores;

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::context::{Ctx, non_empty};
use crate::objects::{GENERATED_KEYS_ANNOTATION, GeneratedKey, Labels, Manifest, Object};

pub use nginx::api_paths;

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

/// A section of the install's configuration: the objects of one service or
/// one concern.
type Section = fn(&Ctx) -> Vec<Manifest>;

/// Every install-wide ConfigMap and Secret.
pub fn build(ctx: &Ctx) -> Vec<Manifest> {
    // The manifests come out in this order.
    const SECTIONS: &[Section] = &[
        global,
        backend::api,
        services::app,
        services::anaconda2,
        stores::bucket,
        ca_certs,
        services::console,
        backend::executor,
        backend::filestream,
        backend::run_update_consumers,
        services::frontend,
        backend::glue,
        backend::history_reader,
        backend::parquet_metadata_cache,
        stores::kafka,
        backend::local,
        services::lumen,
        nginx::nginx,
        backend::parquet,
        stores::redis,
        services::weave,
        services::weave_trace,
        jobs::app_rename_hooks,
        jobs::settings_migration_job,
        secrets::credentials,
    ];
    SECTIONS.iter().flat_map(|section| section(ctx)).collect()
}

/// Settings every W&B service reads, and the integrations' keys.
fn global(ctx: &Ctx) -> Vec<Manifest> {
    let g = &ctx.values.global;
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
    vec![
        config_map(ctx, "global", "global-configmap", global),
        secret(
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
        ),
    ]
}

/// The extra CA certificates every W&B container trusts, one key each.
fn ca_certs(ctx: &Ctx) -> Vec<Manifest> {
    let certs: Vec<(String, String)> = ctx
        .values
        .global
        .custom_ca_certs
        .iter()
        .enumerate()
        .map(|(i, pem)| (format!("customCA{i}.crt"), pem.trim_end().to_string()))
        .collect();
    vec![config_map(
        ctx,
        "ca-certs",
        "ca-certs",
        certs.iter().map(|(k, v)| (k.as_str(), v.clone())).collect(),
    )]
}
