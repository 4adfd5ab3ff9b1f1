//! The install's ConfigMaps and Secrets: the document's (`configMaps`,
//! `secrets`), with their data computed from the values, and the few built
//! from lists of the values.

mod nginx;
mod rbac;

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

use crate::catalog::ConfigObject;
use crate::context::Ctx;
use crate::objects::{GENERATED_KEYS_ANNOTATION, GeneratedKey, Labels, Manifest, Object};
use crate::resolve::{Resolved, Scope};

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
pub fn config_map<K: Into<String>>(
    ctx: &Ctx,
    component: &str,
    suffix: &str,
    data: Vec<(K, String)>,
) -> Manifest {
    config_map_named(ctx, component, &ctx.name(suffix), data)
}

pub fn config_map_named<K: Into<String>>(
    ctx: &Ctx,
    component: &str,
    name: &str,
    data: Vec<(K, String)>,
) -> Manifest {
    let data: BTreeMap<String, String> = data.into_iter().map(|(k, v)| (k.into(), v)).collect();
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

pub fn secret<K: Into<String>>(
    ctx: &Ctx,
    component: &str,
    name: &str,
    data: Vec<(K, SecretValue)>,
) -> Manifest {
    let mut generated = Vec::new();
    let mut bytes = BTreeMap::new();
    for (key, value) in data {
        let key: String = key.into();
        match value {
            SecretValue::Given(v) => {
                bytes.insert(key, ByteString(v.into_bytes()));
            }
            SecretValue::Generated(length) => {
                // Present with no value: the applier fills it once and never
                // changes it (see objects::GeneratedKey).
                bytes.insert(key.clone(), ByteString(Vec::new()));
                generated.push(GeneratedKey { key, length });
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

/// Every install-wide ConfigMap and Secret: the document's, and those built
/// from lists of the values (the CA certificates, nginx's routes).
pub fn build(ctx: &Ctx) -> Vec<Manifest> {
    let catalog = ctx.catalog;
    let mut out: Vec<Manifest> = Vec::new();
    for (name, object) in &catalog.config_maps {
        if let Some(data) = data_of(ctx, object) {
            let data = data.into_iter().map(|(k, v)| (k, v.text().to_string()));
            let m = config_map_named(ctx, &object.component, &ctx.expand(name), data.collect());
            out.push(m.in_phase(object.phase.into()));
        }
    }
    for (name, object) in &catalog.secrets {
        if let Some(data) = data_of(ctx, object) {
            let data = data
                .into_iter()
                .map(|(k, v)| match v {
                    Resolved::Generated(n) => (k, SecretValue::Generated(n)),
                    other => (k, SecretValue::Given(other.text().to_string())),
                })
                .collect();
            let m = secret(ctx, &object.component, &ctx.expand(name), data);
            out.push(m.in_phase(object.phase.into()));
        }
    }
    out.extend(ca_certs(ctx));
    out.extend(nginx::nginx(ctx));
    out.extend(rbac::oidc_reviewer(ctx));
    out
}

/// The data of a ConfigMap or Secret of the document, `None` when it is
/// not rendered.
fn data_of(ctx: &Ctx, object: &ConfigObject) -> Option<Vec<(String, Resolved)>> {
    if !ctx.holds_if(object.when.as_ref(), Scope::INSTALL) {
        return None;
    }
    let mut data = Vec::new();
    for (key, entry) in &object.data.0 {
        if let Some(value) = ctx.entry(entry, Scope::INSTALL) {
            let key = match &entry.key {
                Some(k) => ctx.text(k, Scope::INSTALL),
                None => key.clone(),
            };
            data.push((key, value));
        }
    }
    Some(data)
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
    vec![config_map(ctx, "ca-certs", "ca-certs", certs)]
}
