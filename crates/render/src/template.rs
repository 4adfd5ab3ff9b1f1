//! The templates in the values (`{{ .Release.Name }}-clickhouse-headless`,
//! `{{ include "wandb.executor.taskQueue" . }}`, see
//! [`wandb_values::template`]), evaluated once, before anything is rendered:
//! every other part of the render reads plain values.
//!
//! First the ones that need only the release and the values; then, with the
//! facts those values imply (the bucket, the queues, the stores' Secrets),
//! the chart's helpers. A helper's facts come from values whose own helper
//! templates are not evaluated yet: upstream's helpers do not read each other's
//! keys. What cannot be evaluated (which the loader has already refused) is
//! left as it is written.

use std::borrow::Cow;

use serde_json::{Map, Value};
use wandb_values::Values;
use wandb_values::template::{self, BucketField, Expr, Helper, Part, Pipe};

use crate::catalog::Source;
use crate::context::{Ctx, Release};
use crate::{env, stores, workload};

/// The values with every template evaluated; the same values when there is
/// none.
pub fn evaluate<'v>(values: &'v Values, release: &Release) -> Cow<'v, Values> {
    let Ok(mut tree) = serde_json::to_value(values) else {
        return Cow::Borrowed(values);
    };
    if !has_template(&tree) {
        return Cow::Borrowed(values);
    }
    let snapshot = tree.clone();
    let first = Scope {
        release,
        root: &snapshot,
        facts: None,
    };
    first.rewrite(&mut tree, &mut Vec::new());
    let Ok(plain) = serde_json::from_value::<Values>(tree.clone()) else {
        return Cow::Borrowed(values);
    };
    if !has_template(&tree) {
        return Cow::Owned(plain);
    }
    let ctx = Ctx::new(&plain, release);
    let snapshot = tree.clone();
    let second = Scope {
        release,
        root: &snapshot,
        facts: Some(&ctx),
    };
    second.rewrite(&mut tree, &mut Vec::new());
    Cow::Owned(serde_json::from_value(tree).unwrap_or(plain.clone()))
}

fn has_template(node: &Value) -> bool {
    match node {
        Value::String(s) => template::is_template(s),
        Value::Array(items) => items.iter().any(has_template),
        Value::Object(map) => map.iter().any(|(k, v)| {
            !template::READ_AS_HELPERS.contains(&k.as_str())
                && (template::is_template(k) || has_template(v))
        }),
        _ => false,
    }
}

/// What a pass evaluates with.
struct Scope<'a> {
    release: &'a Release,
    /// The values before this pass, for `.Values` keys.
    root: &'a Value,
    /// The facts of the values, for the helpers; `None` in the first pass.
    facts: Option<&'a Ctx<'a>>,
}

impl Scope<'_> {
    /// Evaluates every template under `node` (at the keys `at`) it can.
    fn rewrite(&self, node: &mut Value, at: &mut Vec<String>) {
        match node {
            Value::String(s) if template::is_template(s) => {
                if let Some(text) = self.text(s, at) {
                    *s = text;
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.rewrite(item, at);
                }
            }
            Value::Object(map) => {
                let entries = std::mem::take(map);
                let mut out = Map::new();
                for (key, mut value) in entries {
                    // An `envTpls` entry chooses env groups, a `portsTpls` entry
                    // ports: they are read, not evaluated.
                    if !template::READ_AS_HELPERS.contains(&key.as_str()) {
                        at.push(key.clone());
                        self.rewrite(&mut value, at);
                        at.pop();
                    }
                    let key = match template::is_template(&key) {
                        true => self.text(&key, at).unwrap_or(key),
                        false => key,
                    };
                    out.insert(key, value);
                }
                *map = out;
            }
            _ => {}
        }
    }

    /// The text a template gives, or `None` when this pass cannot give it.
    fn text(&self, text: &str, at: &[String]) -> Option<String> {
        let top = at.first().map(String::as_str).unwrap_or_default();
        let parsed = template::parse(text).ok()?;
        let mut out = String::new();
        for part in &parsed.parts {
            match part {
                Part::Text(t) => out.push_str(t),
                Part::Action(expr, pipes) => {
                    let mut value = as_text(&self.value(expr, top)?);
                    for pipe in pipes {
                        value = match pipe {
                            Pipe::Trim => value.trim().to_string(),
                            Pipe::Quote => Value::String(value).to_string(),
                        };
                    }
                    out.push_str(&value);
                }
            }
        }
        Some(out)
    }

    /// What an expression gives, as a value (`not` reads its truth).
    fn value(&self, expr: &Expr, top: &str) -> Option<Value> {
        Some(match expr {
            Expr::ReleaseName => Value::String(self.release.name.clone()),
            Expr::ReleaseNamespace => Value::String(self.release.namespace.clone()),
            Expr::Values(keys) => template::values_path(top, keys)
                .iter()
                .try_fold(self.root, |node, key| node.get(key))
                .cloned()
                .unwrap_or(Value::Null),
            Expr::Not(inner) => Value::Bool(!truthy(&self.value(inner, top)?)),
            Expr::Helper(helper) => Value::String(helper_text(self.facts?, *helper, top)),
            Expr::Bucket(field) => Value::String(bucket_field(self.facts?, *field)),
        })
    }
}

/// Go's truth: false, 0, "", null and empty lists and maps are false.
fn truthy(value: &Value) -> bool {
    match value {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(items) => !items.is_empty(),
        Value::Object(map) => !map.is_empty(),
    }
}

fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A helper's value, computed as the render computes it where it uses it.
fn helper_text(ctx: &Ctx, helper: Helper, component: &str) -> String {
    match helper {
        Helper::OlapAnyFeatureEnabled => env::olap_any_feature_enabled(ctx).to_string(),
        Helper::ExecutorTaskQueue => env::source(ctx, Source::ExecutorTaskQueue, component),
        Helper::FileStreamStoreConsumer => {
            env::source(ctx, Source::FileStreamStoreConsumer, component)
        }
        Helper::RunUpdateShadowQueue => env::source(ctx, Source::RunUpdateShadowQueue, component),
        Helper::RedisConnectionString => env::source(ctx, Source::RedisConnectionString, component),
        Helper::LumenGoogleCredsPath => env::source(ctx, Source::LumenGoogleCredsPath, component),
        Helper::RedisPasswordSecret => ctx.redis_secret(),
        Helper::ClickhousePasswordSecret => ctx.clickhouse_secret(),
        Helper::BufstreamBucketName => stores::bufstream_bucket(ctx).0,
        // None when the bucket names no endpoint: bufstream then uses the provider's.
        Helper::BufstreamBucketEndpoint => stores::bufstream_bucket(ctx).1.unwrap_or_default(),
        Helper::McpDdService => workload::mcp_dd_service(ctx),
        Helper::McpDdEnv => workload::mcp_dd_env(ctx),
    }
}

fn bucket_field(ctx: &Ctx, field: BucketField) -> String {
    let b = ctx.bucket();
    match field {
        BucketField::Name => &b.name,
        BucketField::Region => &b.region,
        BucketField::KmsKey => &b.kms_key,
        BucketField::Provider => &b.provider,
        BucketField::Path => &b.path,
        BucketField::AccessKey => &b.access_key,
        BucketField::SecretKey => &b.secret_key,
        BucketField::AccessKeyName => &b.access_key_name,
        BucketField::SecretKeyName => &b.secret_key_name,
        BucketField::SecretName => &b.secret_name,
        BucketField::Url => &b.url,
    }
    .clone()
}
