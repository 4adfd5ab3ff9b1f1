//! Untyped values trees and the merge rules Helm applies to them.
//!
//! Values arrive as YAML documents and `--set` flags. Before they are typed
//! they are merged as Helm merges them, so that a values file written for the
//! upstream chart means the same thing here.

use serde_json::{Map, Value};

/// Merges `overlay` into `base`: maps merge key by key, recursively; anything
/// else in the overlay replaces what the base had. `null` is kept, so that a
/// later step can use it to delete a default (see [`coalesce_onto_defaults`]).
pub fn merge(base: &mut Value, overlay: Value) {
    match (base, overlay) {
        (Value::Object(base_map), Value::Object(overlay_map)) => {
            for (key, value) in overlay_map {
                match base_map.get_mut(&key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge(existing, value)
                    }
                    _ => {
                        base_map.insert(key, value);
                    }
                }
            }
        }
        (base, overlay) => *base = overlay,
    }
}

/// Lays the user's values over the defaults as `helm install` does: user maps
/// merge into default maps, user scalars and lists replace defaults, and a
/// user `null` removes the key (and the default under it) altogether.
pub fn coalesce_onto_defaults(defaults: &mut Value, user: Value) {
    let (Value::Object(default_map), Value::Object(user_map)) = (&mut *defaults, user) else {
        return;
    };
    for (key, value) in user_map {
        if value.is_null() {
            default_map.remove(&key);
            continue;
        }
        match default_map.get_mut(&key) {
            Some(existing) if existing.is_object() && value.is_object() => {
                coalesce_onto_defaults(existing, value)
            }
            _ => {
                default_map.insert(key, strip_nulls(value));
            }
        }
    }
}

/// Removes `null` entries from maps, at any depth: a `null` for a key that
/// has no default means "not set" (and an unset field erases no preset).
pub fn strip_nulls(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, strip_nulls(v)))
                .collect::<Map<String, Value>>(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(strip_nulls).collect()),
        other => other,
    }
}

/// A short name for the JSON type of a value, for error messages.
pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_f64() => "a number",
        Value::Number(_) => "an integer",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn maps_merge_and_scalars_replace() {
        let mut base = json!({"a": {"b": 1, "c": [1, 2]}, "d": "x"});
        merge(&mut base, json!({"a": {"c": [3], "e": true}, "d": null}));
        assert_eq!(base, json!({"a": {"b": 1, "c": [3], "e": true}, "d": null}));
    }

    #[test]
    fn null_deletes_a_default() {
        let mut defaults = json!({"a": {"b": 1, "c": 2}, "d": {"e": 1}});
        coalesce_onto_defaults(&mut defaults, json!({"a": {"b": null}, "d": null}));
        assert_eq!(defaults, json!({"a": {"c": 2}}));
    }

    #[test]
    fn null_without_default_is_not_set() {
        let mut defaults = json!({});
        coalesce_onto_defaults(&mut defaults, json!({"x": {"y": null, "z": 1}}));
        assert_eq!(defaults, json!({"x": {"z": 1}}));
    }

    #[test]
    fn a_scalar_replaces_a_default_map() {
        let mut defaults = json!({"a": {"b": 1}});
        coalesce_onto_defaults(&mut defaults, json!({"a": "flat"}));
        assert_eq!(defaults, json!({"a": "flat"}));
    }
}
