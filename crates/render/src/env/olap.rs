//! The OLAP features (registry search, run store accelerator, history):
//! their settings over `global.olap.default`, their Secrets and env vars.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::EnvVar;
use wandb_values::{OlapConfig, Scalar, ValueOrRef};

use super::{from_source, literal, secret_ref, value_or_ref};
use crate::context::{Ctx, query_string};

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

pub(super) fn olap_feature(ctx: &Ctx, feature: &OlapFeature) -> Vec<EnvVar> {
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
