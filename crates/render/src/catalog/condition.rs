//! A condition on the values: when a service runs, a container or job is
//! there, an entry is given.
//!
//! ```yaml
//! when: global.api.enabled                          # the value is set (Helm's truth)
//! when: {path: ingress.defaultBackend, equals: console}
//! when: {isRef: global.mysql.password}              # a {valueFrom: ...}
//! when: {has: global.observability}                 # the key is there (even empty)
//! when: {fact: olapAnyFeature}                      # a fact that is "true"
//! when: {not: ..}  {all: [..]}  {any: [..]}
//! ```

use serde::de::{Deserialize, Deserializer, Error};
use serde_json::Value;

use super::facts::Fact;
use super::path::ValuePath;
use super::source::describe;

#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// The value is true, a non-empty string, list or map, a non-zero number.
    Set(ValuePath),
    /// The value's text is this text.
    Equals(ValuePath, String),
    /// The value is a `{valueFrom: ...}`.
    IsRef(ValuePath),
    /// The values have the key, whatever its value (null is no value).
    Has(ValuePath),
    /// The fact is `true`.
    Fact(Fact),
    Not(Box<Condition>),
    All(Vec<Condition>),
    Any(Vec<Condition>),
}

const FORMS: &str =
    "a values path, or a map with one of path (and equals), isRef, has, fact, not, all, any";

impl Condition {
    pub fn parse(value: &Value) -> Result<Self, String> {
        let map = match value {
            Value::String(path) => return Ok(Condition::Set(ValuePath::parse(path)?)),
            Value::Object(map) => map,
            other => return Err(format!("expected {FORMS}, found {}", describe(other))),
        };
        let keys: Vec<&str> = map.keys().map(String::as_str).collect();
        let text = |v: &Value| -> Result<String, String> {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| format!("expected a string, found {}", describe(v)))
        };
        let list = |v: &Value| -> Result<Vec<Condition>, String> {
            v.as_array()
                .ok_or_else(|| format!("expected a list of conditions, found {}", describe(v)))?
                .iter()
                .enumerate()
                .map(|(i, c)| Condition::parse(c).map_err(|e| format!("[{i}]: {e}")))
                .collect()
        };
        match keys.as_slice() {
            ["path"] => Ok(Condition::Set(ValuePath::parse(&text(&map["path"])?)?)),
            ["equals", "path"] | ["path", "equals"] => {
                let equals = match &map["equals"] {
                    Value::String(s) => s.clone(),
                    Value::Bool(b) => b.to_string(),
                    Value::Number(n) => n.to_string(),
                    other => {
                        return Err(format!(
                            "equals: expected a string, number or boolean, found {}",
                            describe(other)
                        ));
                    }
                };
                Ok(Condition::Equals(
                    ValuePath::parse(&text(&map["path"])?)?,
                    equals,
                ))
            }
            ["isRef"] => Ok(Condition::IsRef(ValuePath::parse(&text(&map["isRef"])?)?)),
            ["has"] => Ok(Condition::Has(ValuePath::parse(&text(&map["has"])?)?)),
            ["fact"] => Ok(Condition::Fact(Fact::parse(&text(&map["fact"])?)?)),
            ["not"] => Ok(Condition::Not(Box::new(
                Condition::parse(&map["not"]).map_err(|e| format!("not: {e}"))?,
            ))),
            ["all"] => Ok(Condition::All(
                list(&map["all"]).map_err(|e| format!("all{e}"))?,
            )),
            ["any"] => Ok(Condition::Any(
                list(&map["any"]).map_err(|e| format!("any{e}"))?,
            )),
            _ => Err(format!(
                "{{{}}} is not a condition: expected {FORMS}",
                keys.join(", ")
            )),
        }
    }

    /// Calls `f` with every values path and fact it tests.
    pub fn visit(&self, f: &mut dyn FnMut(Option<&ValuePath>, Option<Fact>)) {
        match self {
            Condition::Set(p)
            | Condition::Equals(p, _)
            | Condition::IsRef(p)
            | Condition::Has(p) => f(Some(p), None),
            Condition::Fact(fact) => f(None, Some(*fact)),
            Condition::Not(c) => c.visit(f),
            Condition::All(cs) | Condition::Any(cs) => cs.iter().for_each(|c| c.visit(f)),
        }
    }
}

impl<'de> Deserialize<'de> for Condition {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Condition::parse(&Value::deserialize(d)?).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn conditions_parse_and_refuse_clearly() {
        assert!(matches!(
            Condition::parse(&json!("global.api.enabled")),
            Ok(Condition::Set(_))
        ));
        let c = Condition::parse(&json!({"all": ["a", {"not": {"path": "b", "equals": false}}]}))
            .unwrap();
        assert!(matches!(c, Condition::All(v) if v.len() == 2));
        let e = Condition::parse(&json!({"paht": "a"})).unwrap_err();
        assert!(e.starts_with("{paht} is not a condition"), "{e}");
        let e = Condition::parse(&json!({"all": ["a", 3]})).unwrap_err();
        assert!(e.starts_with("all[1]: expected"), "{e}");
    }
}
