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

use serde_json::Value;
use wandb_values::template::{self, BucketField, Expr, Helper, Part, Pipe};
use wandb_values::{Scalar, ValueOrRef, Values};

use crate::catalog::{Catalog, Fact};
use crate::context::{Ctx, Release};
use crate::resolve::Scope as ResolveScope;
use crate::{facts, stores, workload};

/// The values with every template evaluated; the same values when there is
/// none.
pub fn evaluate<'v>(catalog: &Catalog, values: &'v Values, release: &Release) -> Cow<'v, Values> {
    if values.user_templates {
        return Cow::Owned(everywhere(catalog, values, release).unwrap_or_else(|| values.clone()));
    }
    defaults_only(values, release)
}

/// The templates of the defaults alone (`defaults.yaml` holds them at these
/// keys, a test makes sure): evaluated in place, which is a fraction of the
/// cost of going through the values' JSON form.
fn defaults_only<'v>(values: &'v Values, release: &Release) -> Cow<'v, Values> {
    let host = values
        .global
        .clickhouse
        .host
        .plain()
        .is_some_and(template::is_template);
    let jwt = values
        .app
        .internal_jwt_map
        .iter()
        .any(|e| template::is_template(&e.subject) || template::is_template(&e.issuer));
    if !host && !jwt {
        return Cow::Borrowed(values);
    }
    let root = Value::Null;
    let scope = Scope {
        release,
        root: &root,
        facts: None,
    };
    let mut v = values.clone();
    let mut tree = (*values.tree).clone();
    let at = |key: &str| vec![key.to_string()];
    if let ValueOrRef::Value(Scalar(host)) = &mut v.global.clickhouse.host
        && let Some(text) = scope.text(host, &at("global"))
    {
        if let Some(node) = tree.pointer_mut("/global/clickhouse/host") {
            *node = Value::String(text.clone());
        }
        *host = text;
    }
    for (i, e) in v.app.internal_jwt_map.iter_mut().enumerate() {
        for (key, field) in [("subject", &mut e.subject), ("issuer", &mut e.issuer)] {
            if let Some(text) = scope.text(field, &at("app")) {
                if let Some(node) = tree.pointer_mut(&format!("/app/internalJWTMap/{i}/{key}")) {
                    *node = Value::String(text.clone());
                }
                *field = text;
            }
        }
    }
    v.tree = std::sync::Arc::new(tree);
    Cow::Owned(v)
}

/// Every template, through the values' JSON form: first those that need
/// only the release and the values, then the helpers, with the facts of
/// the values the first pass gave.
fn everywhere(catalog: &Catalog, values: &Values, release: &Release) -> Option<Values> {
    let mut tree = (*values.tree).clone();
    let edits = Scope {
        release,
        root: &tree,
        facts: None,
    }
    .edits(&tree);
    apply(&mut tree, edits);
    let plain = typed(catalog, &tree)?;
    if !template::holds_template(&tree) {
        return Some(plain);
    }
    let ctx = Ctx::new(catalog, &plain, release);
    let edits = Scope {
        release,
        root: &tree,
        facts: Some(&ctx),
    }
    .edits(&tree);
    apply(&mut tree, edits);
    Some(typed(catalog, &tree).unwrap_or_else(|| plain.clone()))
}

/// The values typed from their tree, the tree kept with them.
fn typed(catalog: &Catalog, tree: &Value) -> Option<Values> {
    let mut values: Values = serde_json::from_value(tree.clone()).ok()?;
    values.more_components =
        wandb_values::load::more_components(tree, &values, catalog.additions()).ok()?;
    values.tree = std::sync::Arc::new(tree.clone());
    Some(values)
}

/// One step down a tree.
#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

/// A string (or a key, the last step) to replace, and its new text.
struct Edit {
    at: Vec<Step>,
    key: bool,
    text: String,
}

fn apply(tree: &mut Value, edits: Vec<Edit>) {
    for edit in edits {
        let Some((last, parents)) = edit.at.split_last() else {
            continue;
        };
        let parent = parents
            .iter()
            .try_fold(&mut *tree, |node, step| match step {
                Step::Key(k) => node.get_mut(k),
                Step::Index(i) => node.get_mut(*i),
            });
        match (parent, last) {
            (Some(Value::Object(map)), Step::Key(k)) if edit.key => {
                if let Some(value) = map.remove(k) {
                    map.insert(edit.text, value);
                }
            }
            (Some(parent), Step::Key(k)) => {
                if let Some(node) = parent.get_mut(k) {
                    *node = Value::String(edit.text);
                }
            }
            (Some(parent), Step::Index(i)) => {
                if let Some(node) = parent.get_mut(*i) {
                    *node = Value::String(edit.text);
                }
            }
            _ => {}
        }
    }
}

/// What a pass evaluates with.
struct Scope<'a> {
    release: &'a Release,
    /// The values, for `.Values` keys.
    root: &'a Value,
    /// The facts of the values, for the helpers; `None` in the first pass.
    facts: Option<&'a Ctx<'a>>,
}

impl Scope<'_> {
    /// The templates of `tree` this pass can evaluate, deepest first (a
    /// key's own edit comes after those below it).
    fn edits(&self, tree: &Value) -> Vec<Edit> {
        let mut out = Vec::new();
        self.collect(tree, &mut Vec::new(), &mut Vec::new(), &mut out);
        out
    }

    /// `steps` is the way to `node`; `keys` the same keys, for `.Values`.
    fn collect(
        &self,
        node: &Value,
        steps: &mut Vec<Step>,
        keys: &mut Vec<String>,
        out: &mut Vec<Edit>,
    ) {
        match node {
            Value::String(s) if template::is_template(s) => {
                if let Some(text) = self.text(s, keys) {
                    out.push(Edit {
                        at: steps.clone(),
                        key: false,
                        text,
                    });
                }
            }
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    steps.push(Step::Index(i));
                    self.collect(item, steps, keys, out);
                    steps.pop();
                }
            }
            Value::Object(map) => {
                for (key, value) in map {
                    // An `envTpls` entry chooses env groups, a `portsTpls` entry
                    // ports: they are read, not evaluated.
                    if template::READ_AS_HELPERS.contains(&key.as_str()) {
                        continue;
                    }
                    steps.push(Step::Key(key.clone()));
                    keys.push(key.clone());
                    self.collect(value, steps, keys, out);
                    keys.pop();
                    if template::is_template(key)
                        && let Some(text) = self.text(key, keys)
                    {
                        out.push(Edit {
                            at: steps.clone(),
                            key: true,
                            text,
                        });
                    }
                    steps.pop();
                }
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
    let fact = |f: Fact| facts::fact(ctx, f, ResolveScope::service(component));
    match helper {
        Helper::OlapAnyFeatureEnabled => fact(Fact::OlapAnyFeature),
        Helper::ExecutorTaskQueue => fact(Fact::ExecutorTaskQueue),
        Helper::FileStreamStoreConsumer => fact(Fact::FileStreamStoreConsumer),
        Helper::RunUpdateShadowQueue => fact(Fact::RunUpdateShadowQueue),
        Helper::RedisConnectionString => fact(Fact::RedisConnectionString),
        Helper::LumenGoogleCredsPath => fact(Fact::LumenGoogleCredsPath),
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
