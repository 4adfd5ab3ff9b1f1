//! Environment variables: the named groups of the catalog, computed from
//! the values, and the helpers that build `EnvVar`s.
//!
//! `groups` holds the catalog's env groups, `olap` the OLAP features'
//! settings and connections.

mod groups;
mod olap;

pub use groups::{group, lumen_publishes_env_vars, mysql_config};
pub use olap::{
    OLAP_FEATURES, OLAP_HISTORY, OLAP_REGISTRY_SEARCH, OLAP_RUN_STORE_ACCELERATOR, OlapFeature,
    OlapSettings, olap_any_feature_enabled, olap_secret_name, olap_settings,
};

use k8s_openapi::api::core::v1::{
    EnvVar, EnvVarSource, ObjectFieldSelector, ResourceFieldSelector, SecretKeySelector,
};
use wandb_values::ValueOrRef;

use crate::catalog::Source;
use crate::context::Ctx;

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
