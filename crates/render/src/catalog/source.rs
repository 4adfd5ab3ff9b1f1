//! Where a value of the document comes from: a small, closed set of typed
//! sources, not a template language.
//!
//! ```yaml
//! GORILLA_PORT: "8081"                        # a literal ({release}, {namespace})
//! GORILLA_FILE_HOST: {value: global.host}     # a values path
//! GORILLA_SESSION_LENGTH: {value: global.auth.sessionLengthHours, format: "{}h"}
//! MYSQL_PORT: {valueOrRef: global.mysql.port} # a plain value or its valueFrom
//! REDIS: {fact: redisConnection}              # a fact only code can compute
//! G_HOST_IP: {field: status.hostIP}           # a valueFrom, passed through
//! LIMITER: {oneOf: [{when: global.api.enabled, fact: redisConnection}, {text: "noop://"}]}
//! ```
//!
//! Any source may carry `when` (a condition on the values: the entry is left
//! out when it does not hold) and `omitEmpty` (left out when it gives "").

use std::fmt;

use k8s_openapi::api::core::v1::EnvVarSource;
use serde::de::{Deserialize, Deserializer, Error};
use serde_json::{Map, Value};

use super::condition::Condition;
use super::facts::Fact;
use super::path::ValuePath;

/// How a values path's value is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Encoding {
    /// As the values hold it: a string as is, a number or a bool as text.
    #[default]
    Text,
    /// As JSON (a map or a list).
    Json,
    /// A number as Helm prints it (`1.0` is `1`).
    Number,
    /// A map as a URL's query: `?k=v&...`, sorted, empty values left out.
    Query,
}

/// A value of the document.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// Text; `{release}` and `{namespace}` are replaced.
    Text(String),
    /// The value at a values path.
    Value {
        path: ValuePath,
        /// `{}` is replaced by the value.
        format: Option<String>,
        /// When the value is missing or "".
        default: Option<String>,
        encoding: Encoding,
    },
    /// A path that may hold `{valueFrom: ...}`: passed through, else the
    /// plain value, written by `plain` when given.
    ValueOrRef {
        path: ValuePath,
        plain: Option<Box<Source>>,
    },
    /// An env var's `valueFrom`, as written.
    ValueFrom(Box<EnvVarSource>),
    /// A key of a Secret.
    Secret {
        name: Box<Source>,
        key: Box<Source>,
        optional: bool,
    },
    /// A field of the pod (`status.hostIP`).
    Field(String),
    /// A resource of the container (`limits.memory`).
    Resource(String),
    /// A fact computed from the values.
    Fact(Fact),
    /// The parts' texts, one after the other.
    Concat(Vec<Source>),
    /// The texts of the parts that give one, joined by the separator (a
    /// server manifest's list of sources, each resolved or skipped).
    Join {
        parts: Vec<Source>,
        separator: String,
    },
    /// The first entry whose condition holds; nothing when none does.
    OneOf(Vec<Entry>),
    /// A random value of this many alphanumerics, made once (Secrets only).
    Generated(usize),
}

/// A source with the conditions of its place.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub source: Source,
    pub when: Option<Condition>,
    /// Left out when it gives "".
    pub omit_empty: bool,
    /// A key computed from the values, in place of the entry's own (a
    /// ConfigMap's or Secret's data).
    pub key: Option<Source>,
}

impl Entry {
    pub fn plain(source: Source) -> Self {
        Entry {
            source,
            when: None,
            omit_empty: false,
            key: None,
        }
    }
}

/// The kinds of source, as the document names them.
pub const KINDS: &[&str] = &[
    "text",
    "value",
    "valueOrRef",
    "valueFrom",
    "secret",
    "field",
    "resource",
    "fact",
    "concat",
    "join",
    "oneOf",
    "generated",
];

/// What may sit beside a source's kind in its map.
const MODIFIERS: &[&str] = &["when", "omitEmpty", "key"];

impl Source {
    /// Whether it gives only text (what a ConfigMap holds).
    pub fn is_text(&self) -> bool {
        match self {
            Source::Text(_) | Source::Value { .. } | Source::Fact(_) => true,
            Source::Concat(parts) | Source::Join { parts, .. } => parts.iter().all(Source::is_text),
            Source::OneOf(entries) => entries.iter().all(|e| e.source.is_text()),
            _ => false,
        }
    }

    /// Whether it holds a generated value anywhere.
    pub fn is_generated(&self) -> bool {
        match self {
            Source::Generated(_) => true,
            Source::OneOf(entries) => entries.iter().any(|e| e.source.is_generated()),
            _ => false,
        }
    }

    /// Calls `f` with every values path and fact it reads, itself included.
    pub fn visit(&self, f: &mut dyn FnMut(&Source)) {
        f(self);
        match self {
            Source::ValueOrRef {
                plain: Some(plain), ..
            } => plain.visit(f),
            Source::Secret { name, key, .. } => {
                name.visit(f);
                key.visit(f);
            }
            Source::Concat(parts) | Source::Join { parts, .. } => {
                parts.iter().for_each(|p| p.visit(f))
            }
            Source::OneOf(entries) => entries.iter().for_each(|e| e.source.visit(f)),
            _ => {}
        }
    }
}

impl fmt::Display for Encoding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Encoding::Text => "text",
            Encoding::Json => "json",
            Encoding::Number => "number",
            Encoding::Query => "query",
        })
    }
}

/// A source from its document form.
pub fn parse_source(value: &Value) -> Result<Source, String> {
    let entry = parse_entry(value)?;
    if entry.when.is_some() || entry.omit_empty || entry.key.is_some() {
        return Err("`when`, `omitEmpty` and `key` do not apply here".into());
    }
    Ok(entry.source)
}

/// An entry (a source and its place's conditions) from its document form.
pub fn parse_entry(value: &Value) -> Result<Entry, String> {
    let map = match value {
        Value::String(text) => return Ok(Entry::plain(Source::Text(text.clone()))),
        Value::Object(map) => map,
        other => {
            return Err(format!(
                "expected a string or a map with one of {}, found {}",
                KINDS.join(", "),
                describe(other)
            ));
        }
    };
    let kinds: Vec<&str> = map
        .keys()
        .map(String::as_str)
        .filter(|k| KINDS.contains(k))
        .collect();
    let kind = match kinds.as_slice() {
        [kind] => *kind,
        [] => {
            let unknown: Vec<&str> = map
                .keys()
                .map(String::as_str)
                .filter(|k| !MODIFIERS.contains(k))
                .collect();
            return Err(match unknown.first() {
                Some(k) => format!(
                    "unknown source kind {k:?}; a source is a string or a map with one of {}",
                    KINDS.join(", ")
                ),
                None => format!("no source: expected one of {}", KINDS.join(", ")),
            });
        }
        many => return Err(format!("more than one source kind: {}", many.join(", "))),
    };
    let source = parse_kind(kind, map)?;
    let when = match map.get("when") {
        Some(c) => Some(Condition::parse(c).map_err(|e| format!("when: {e}"))?),
        None => None,
    };
    let omit_empty = match map.get("omitEmpty") {
        None => false,
        Some(Value::Bool(b)) => *b,
        Some(other) => {
            return Err(format!(
                "omitEmpty: expected true or false, found {}",
                describe(other)
            ));
        }
    };
    let key = match map.get("key") {
        Some(k) => Some(parse_source(k).map_err(|e| format!("key: {e}"))?),
        None => None,
    };
    Ok(Entry {
        source,
        when,
        omit_empty,
        key,
    })
}

/// The fields a kind takes beside its own.
fn options(kind: &str) -> &'static [&'static str] {
    match kind {
        "value" => &["format", "default", "as"],
        "valueOrRef" => &["plain"],
        "join" => &["separator"],
        _ => &[],
    }
}

fn parse_kind(kind: &str, map: &Map<String, Value>) -> Result<Source, String> {
    for key in map.keys() {
        if key != kind
            && !MODIFIERS.contains(&key.as_str())
            && !options(kind).contains(&key.as_str())
        {
            return Err(format!(
                "unknown field {key:?} of a {kind} source{}",
                match options(kind) {
                    [] => String::new(),
                    opts => format!(" (it takes {})", opts.join(", ")),
                }
            ));
        }
    }
    let arg = &map[kind];
    let at = |e: String| format!("{kind}: {e}");
    Ok(match kind {
        "text" => Source::Text(string(arg).map_err(at)?),
        "value" => Source::Value {
            path: path(arg).map_err(at)?,
            format: optional_string(map, "format")?,
            default: optional_string(map, "default")?,
            encoding: match optional_string(map, "as")?.as_deref() {
                None | Some("text") => Encoding::Text,
                Some("json") => Encoding::Json,
                Some("number") => Encoding::Number,
                Some("query") => Encoding::Query,
                Some(other) => {
                    return Err(format!(
                        "as: {other:?} is not an encoding (text, json, number or query)"
                    ));
                }
            },
        },
        "valueOrRef" => Source::ValueOrRef {
            path: path(arg).map_err(at)?,
            plain: match map.get("plain") {
                Some(p) => Some(Box::new(
                    parse_source(p).map_err(|e| format!("plain: {e}"))?,
                )),
                None => None,
            },
        },
        "valueFrom" => Source::ValueFrom(Box::new(
            serde_json::from_value(arg.clone()).map_err(|e| at(e.to_string()))?,
        )),
        "secret" => parse_secret(arg).map_err(at)?,
        "field" => Source::Field(string(arg).map_err(at)?),
        "resource" => Source::Resource(string(arg).map_err(at)?),
        "fact" => Source::Fact(Fact::parse(&string(arg).map_err(at)?).map_err(at)?),
        "concat" => Source::Concat(
            list(arg)
                .map_err(at)?
                .iter()
                .enumerate()
                .map(|(i, part)| parse_source(part).map_err(|e| format!("concat[{i}]: {e}")))
                .collect::<Result<_, _>>()?,
        ),
        "join" => Source::Join {
            parts: list(arg)
                .map_err(at)?
                .iter()
                .enumerate()
                .map(|(i, part)| parse_source(part).map_err(|e| format!("join[{i}]: {e}")))
                .collect::<Result<_, _>>()?,
            separator: optional_string(map, "separator")?.unwrap_or_else(|| ",".into()),
        },
        "oneOf" => Source::OneOf(
            list(arg)
                .map_err(at)?
                .iter()
                .enumerate()
                .map(|(i, item)| parse_entry(item).map_err(|e| format!("oneOf[{i}]: {e}")))
                .collect::<Result<_, _>>()?,
        ),
        "generated" => match arg.as_u64() {
            Some(n) if (1..=256).contains(&n) => Source::Generated(n as usize),
            _ => {
                return Err(format!(
                    "generated: expected a length from 1 to 256, found {}",
                    describe(arg)
                ));
            }
        },
        _ => unreachable!("every kind of KINDS is parsed"),
    })
}

fn parse_secret(arg: &Value) -> Result<Source, String> {
    let Value::Object(map) = arg else {
        return Err(format!(
            "expected a map {{name, key, optional}}, found {}",
            describe(arg)
        ));
    };
    for key in map.keys() {
        if !["name", "key", "optional"].contains(&key.as_str()) {
            return Err(format!(
                "unknown field {key:?} (it takes name, key, optional)"
            ));
        }
    }
    let part = |field: &str| -> Result<Box<Source>, String> {
        let v = map
            .get(field)
            .ok_or_else(|| format!("{field} is missing"))?;
        Ok(Box::new(
            parse_source(v).map_err(|e| format!("{field}: {e}"))?,
        ))
    };
    Ok(Source::Secret {
        name: part("name")?,
        key: part("key")?,
        optional: match map.get("optional") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(format!(
                    "optional: expected true or false, found {}",
                    describe(other)
                ));
            }
        },
    })
}

fn string(v: &Value) -> Result<String, String> {
    v.as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("expected a string, found {}", describe(v)))
}

fn optional_string(map: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    map.get(key)
        .map(|v| string(v).map_err(|e| format!("{key}: {e}")))
        .transpose()
}

fn path(v: &Value) -> Result<ValuePath, String> {
    ValuePath::parse(&string(v)?)
}

fn list(v: &Value) -> Result<&Vec<Value>, String> {
    v.as_array()
        .ok_or_else(|| format!("expected a list, found {}", describe(v)))
}

/// A value as an error message names it.
pub fn describe(v: &Value) -> String {
    match v {
        Value::Null => "nothing".into(),
        Value::Bool(b) => format!("a boolean {b}"),
        Value::Number(n) => format!("a number {n}"),
        Value::String(s) => format!("a string {s:?}"),
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a map".into(),
    }
}

impl<'de> Deserialize<'de> for Source {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_source(&Value::deserialize(d)?).map_err(D::Error::custom)
    }
}

impl<'de> Deserialize<'de> for Entry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        parse_entry(&Value::deserialize(d)?).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_form_parses() {
        assert_eq!(parse_source(&json!("x")).unwrap(), Source::Text("x".into()));
        let v = parse_source(&json!({"value": "global.host", "format": "{}/traces"})).unwrap();
        assert!(matches!(v, Source::Value { format: Some(f), .. } if f == "{}/traces"));
        let e = parse_entry(&json!({"fact": "redisConnectionString", "when": "global.api.enabled", "omitEmpty": true})).unwrap();
        assert!(e.omit_empty && e.when.is_some());
        let s = parse_source(
            &json!({"secret": {"name": "{release}-x", "key": {"value": "a.b"}, "optional": true}}),
        )
        .unwrap();
        assert!(matches!(s, Source::Secret { optional: true, .. }));
    }

    #[test]
    fn bad_forms_say_what_is_wrong() {
        let e = parse_source(&json!({"vaule": "global.host"})).unwrap_err();
        assert!(e.starts_with("unknown source kind \"vaule\""), "{e}");
        let e = parse_source(&json!({"value": "global.host", "fomrat": "x"})).unwrap_err();
        assert!(
            e.contains("unknown field \"fomrat\" of a value source"),
            "{e}"
        );
        let e = parse_source(&json!({"value": "a", "text": "b"})).unwrap_err();
        assert!(e.contains("more than one source kind"), "{e}");
        let e = parse_source(&json!({"fact": "noSuchFact"})).unwrap_err();
        assert!(e.starts_with("fact: "), "{e}");
        let e = parse_source(&json!({"value": "a..b"})).unwrap_err();
        assert!(e.contains("not a values path"), "{e}");
        let e = parse_source(&json!(3)).unwrap_err();
        assert!(e.contains("found a number 3"), "{e}");
    }
}
