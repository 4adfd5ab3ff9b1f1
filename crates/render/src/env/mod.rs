//! Env vars: the helpers that build `EnvVar`s, and what some facts compute.
//! The env groups themselves are the document's (`envGroups`).

mod history;

pub use history::{file_stream_worker_store, history_store, live_history_store};

use k8s_openapi::api::core::v1::{
    EnvVar, EnvVarSource, ObjectFieldSelector, ResourceFieldSelector, SecretKeySelector,
};

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
