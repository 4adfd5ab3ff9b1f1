//! The document's sources and conditions, given the values: what an entry
//! of the document is for this install.

use k8s_openapi::api::core::v1::{
    EnvVar, EnvVarSource, ObjectFieldSelector, ResourceFieldSelector, SecretKeySelector,
};
use serde_json::Value;

use crate::catalog::{Condition, Encoding, Entry, EnvGroup, NamedEntry, Route, Source, ValuePath};
use crate::context::Ctx;
use crate::facts;

/// What a source gives.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    Text(String),
    /// An env var's `valueFrom`.
    From(Box<EnvVarSource>),
    /// A random value of this many alphanumerics, made once.
    Generated(usize),
}

impl Resolved {
    /// The text, "" for a reference or a generated value.
    pub fn text(&self) -> &str {
        match self {
            Resolved::Text(t) => t,
            _ => "",
        }
    }
}

/// Where a source is read: the whole install's, or a service's (whose own
/// values block `.key` paths read).
#[derive(Debug, Clone, Copy)]
pub struct Scope<'s> {
    pub service: Option<&'s str>,
    /// The number of the object it is for (a ClickHouse shard's).
    pub index: usize,
}

impl Scope<'static> {
    pub const INSTALL: Scope<'static> = Scope {
        service: None,
        index: 0,
    };
}

impl<'s> Scope<'s> {
    pub fn service(key: &'s str) -> Self {
        Scope {
            service: Some(key),
            index: 0,
        }
    }
}

impl Ctx<'_> {
    /// The value at a values path; `None` when the values have none.
    pub fn value_at(&self, path: &ValuePath, scope: Scope) -> Option<&Value> {
        let mut node: &Value = &self.tree;
        if path.relative {
            node = node.get(scope.service?)?;
        }
        for key in &path.keys {
            node = node.get(key)?;
        }
        (!node.is_null()).then_some(node)
    }

    /// Whether a condition holds.
    pub fn holds(&self, condition: &Condition, scope: Scope) -> bool {
        match condition {
            Condition::Set(path) => self.value_at(path, scope).is_some_and(truthy),
            Condition::Equals(path, text) => {
                self.value_at(path, scope).map_or(String::new(), value_text) == *text
            }
            Condition::IsRef(path) => self
                .value_at(path, scope)
                .is_some_and(|v| v.get("valueFrom").is_some()),
            Condition::Has(path) => self.value_at(path, scope).is_some(),
            Condition::Fact(fact) => facts::fact(self, *fact, scope) == "true",
            Condition::Not(c) => !self.holds(c, scope),
            Condition::All(cs) => cs.iter().all(|c| self.holds(c, scope)),
            Condition::Any(cs) => cs.iter().any(|c| self.holds(c, scope)),
        }
    }

    /// Whether an optional condition holds (no condition always does).
    pub fn holds_if(&self, condition: Option<&Condition>, scope: Scope) -> bool {
        condition.is_none_or(|c| self.holds(c, scope))
    }

    /// What an entry gives, `None` when it is left out.
    pub fn entry(&self, entry: &Entry, scope: Scope) -> Option<Resolved> {
        if !self.holds_if(entry.when.as_ref(), scope) {
            return None;
        }
        let resolved = self.source(&entry.source, scope)?;
        if entry.omit_empty && resolved == Resolved::Text(String::new()) {
            return None;
        }
        Some(resolved)
    }

    /// The text of a source ("" when it gives nothing or a reference).
    pub fn text(&self, source: &Source, scope: Scope) -> String {
        self.source(source, scope)
            .map(|r| r.text().to_string())
            .unwrap_or_default()
    }

    /// What a source gives; `None` for a `oneOf` none of whose entries holds.
    pub fn source(&self, source: &Source, scope: Scope) -> Option<Resolved> {
        Some(match source {
            Source::Text(text) => Resolved::Text(self.expand(text)),
            Source::Value {
                path,
                format,
                default,
                encoding,
            } => {
                let text = match self.value_at(path, scope) {
                    Some(v) => encode(v, *encoding),
                    None => String::new(),
                };
                let text = match default {
                    Some(d) if text.is_empty() => d.clone(),
                    _ => text,
                };
                Resolved::Text(match format {
                    Some(f) => f.replace("{}", &text),
                    None => text,
                })
            }
            Source::ValueOrRef { path, plain } => match self.value_at(path, scope) {
                Some(v) if v.get("valueFrom").is_some() => {
                    match serde_json::from_value(v["valueFrom"].clone()) {
                        Ok(from) => Resolved::From(Box::new(from)),
                        // The loader typed it as a valueFrom already.
                        Err(_) => Resolved::Text(String::new()),
                    }
                }
                v => match plain {
                    Some(plain) => return self.source(plain, scope),
                    None => Resolved::Text(v.map(value_text).unwrap_or_default()),
                },
            },
            Source::ValueFrom(from) => Resolved::From(from.clone()),
            Source::Secret {
                name,
                key,
                optional,
            } => Resolved::From(Box::new(EnvVarSource {
                secret_key_ref: Some(SecretKeySelector {
                    name: self.text(name, scope),
                    key: self.text(key, scope),
                    optional: optional.then_some(true),
                }),
                ..Default::default()
            })),
            Source::Field(path) => Resolved::From(Box::new(EnvVarSource {
                field_ref: Some(ObjectFieldSelector {
                    field_path: path.clone(),
                    api_version: None,
                }),
                ..Default::default()
            })),
            Source::Resource(resource) => Resolved::From(Box::new(EnvVarSource {
                resource_field_ref: Some(ResourceFieldSelector {
                    resource: resource.clone(),
                    ..Default::default()
                }),
                ..Default::default()
            })),
            Source::Fact(fact) => Resolved::Text(facts::fact(self, *fact, scope)),
            Source::Concat(parts) => {
                Resolved::Text(parts.iter().map(|p| self.text(p, scope)).collect())
            }
            Source::Join { parts, separator } => {
                let texts: Vec<String> = parts
                    .iter()
                    .map(|p| self.text(p, scope))
                    .filter(|t| !t.is_empty())
                    .collect();
                Resolved::Text(texts.join(separator))
            }
            Source::OneOf(entries) => {
                return entries.iter().find_map(|e| self.entry(e, scope));
            }
            Source::Generated(length) => Resolved::Generated(*length),
        })
    }

    /// Env vars of a list of named entries, in order, those left out skipped.
    pub fn env_vars(&self, entries: &[NamedEntry], scope: Scope) -> Vec<EnvVar> {
        entries
            .iter()
            .filter_map(|e| self.entry(&e.entry, scope).map(|r| env_var(&e.name, r)))
            .collect()
    }

    /// The env vars of the document's group of this name (none when the
    /// document has no such group), for the install's own pods.
    pub fn group_env(&self, name: &str) -> Vec<EnvVar> {
        self.catalog
            .env_groups
            .get(name)
            .map(|g| self.group_vars(g, Scope::INSTALL))
            .unwrap_or_default()
    }

    /// The env of a store's container: the document's `storeEnv` of this
    /// name, for the object of number `index`.
    pub fn store_env(&self, name: &str, index: usize) -> Vec<EnvVar> {
        let scope = Scope {
            service: None,
            index,
        };
        self.catalog
            .store_env
            .get(name)
            .map(|g| self.group_vars(g, scope))
            .unwrap_or_default()
    }

    /// The env vars of one of the document's groups: those of the groups
    /// it includes, then its own. None when its `when` does not hold.
    pub fn group_vars(&self, group: &EnvGroup, scope: Scope) -> Vec<EnvVar> {
        if !self.holds_if(group.when.as_ref(), scope) {
            return Vec::new();
        }
        let mut out: Vec<EnvVar> = group
            .include
            .iter()
            .filter_map(|name| self.catalog.env_groups.get(name))
            .flat_map(|g| self.group_vars(g, scope))
            .collect();
        out.extend(self.env_vars(&group.env, scope));
        out
    }
}

impl Ctx<'_> {
    /// The document's routes that hold, the groups in `order`, each with
    /// its Service's name; the secondary Ingress leaves out the primary's own.
    pub fn routes_in_order(&self, order: &[String], secondary: bool) -> Vec<(&Route, String)> {
        let list = &self.catalog.routes.list;
        order
            .iter()
            .flat_map(|group| list.iter().filter(move |r| &r.group == group))
            .filter(|r| !(secondary && r.primary_ingress_only))
            .filter(|r| self.holds_if(r.when.as_ref(), Scope::INSTALL))
            .map(|r| (r, self.text(&r.service, Scope::INSTALL)))
            .collect()
    }
}

/// An env var of a name and what its source gave.
pub fn env_var(name: &str, resolved: Resolved) -> EnvVar {
    match resolved {
        Resolved::From(from) => EnvVar {
            name: name.to_string(),
            value: None,
            value_from: Some(*from),
        },
        other => EnvVar {
            name: name.to_string(),
            value: Some(other.text().to_string()),
            value_from: None,
        },
    }
}

/// Helm's truth: false, 0, "", an empty list or map, and null are false.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// A value's text as the values hold it (as `Scalar` reads it).
pub fn value_text(v: &Value) -> String {
    encode(v, Encoding::Text)
}

fn encode(v: &Value, encoding: Encoding) -> String {
    match (v, encoding) {
        (Value::Null, _) => String::new(),
        (Value::String(s), Encoding::Text | Encoding::Number) => s.clone(),
        (Value::Number(n), Encoding::Number) => match n.as_f64() {
            Some(f) => f.to_string(),
            None => n.to_string(),
        },
        (Value::Number(n), _) if encoding == Encoding::Text => n.to_string(),
        (Value::Bool(b), Encoding::Text | Encoding::Number) => b.to_string(),
        (Value::Object(map), Encoding::Query) => {
            crate::context::query_string(map.iter().map(|(k, v)| (k.as_str(), value_text(v))))
        }
        (_, Encoding::Query) => String::new(),
        (v, _) => serde_json::to_string(v).unwrap_or_default(),
    }
}
