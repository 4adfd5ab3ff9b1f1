//! Whether a live object still says what the operator applied: every field
//! the operator sets must hold the same value. Fields the API server or
//! other controllers add are not the operator's business. Pure.

use serde_json::Value;

/// The first field of `desired` that `live` does not carry, as a path, or
/// `None` when every field matches.
pub fn difference(desired: &Value, live: &Value) -> Option<String> {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => d.iter().find_map(|(k, dv)| match l.get(k) {
            Some(lv) => difference(dv, lv).map(|p| format!(".{k}{p}")),
            None if is_empty(dv) => None,
            None => Some(format!(".{k} (missing)")),
        }),
        (Value::Array(d), Value::Array(l)) if d.len() == l.len() => d
            .iter()
            .zip(l)
            .enumerate()
            .find_map(|(i, (a, b))| difference(a, b).map(|p| format!("[{i}]{p}"))),
        _ if matches(desired, live) => None,
        _ => Some(format!(" ({desired} != {live})")),
    }
}

/// True when `live` carries every field of `desired` with the same value.
pub fn matches(desired: &Value, live: &Value) -> bool {
    match (desired, live) {
        (Value::Object(d), Value::Object(l)) => d.iter().all(|(k, dv)| match l.get(k) {
            Some(lv) => matches(dv, lv),
            None => is_empty(dv),
        }),
        (Value::Array(d), Value::Array(l)) => {
            d.len() == l.len() && d.iter().zip(l).all(|(a, b)| matches(a, b))
        }
        (Value::String(d), Value::String(l)) => d == l || same_quantity(d, l),
        (Value::Number(d), Value::String(l)) | (Value::String(l), Value::Number(d)) => {
            same_quantity(&d.to_string(), l)
        }
        (Value::Number(d), Value::Number(l)) => d.as_f64() == l.as_f64(),
        (d, Value::Null) => is_empty(d),
        (d, l) => d == l,
    }
}

/// Empty maps, lists, strings and zeros are what the API server drops.
fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::String(s) => s.is_empty(),
        _ => false,
    }
}

/// `1` and `1000m`, `1Gi` and `1024Mi`: the API server writes resource
/// quantities in their canonical form.
fn same_quantity(a: &str, b: &str) -> bool {
    match (quantity(a), quantity(b)) {
        (Some(x), Some(y)) => (x - y).abs() <= f64::EPSILON * x.abs().max(y.abs()).max(1.0),
        _ => false,
    }
}

fn quantity(s: &str) -> Option<f64> {
    const SUFFIXES: &[(&str, f64)] = &[
        ("Ki", 1024.0),
        ("Mi", 1048576.0),
        ("Gi", 1073741824.0),
        ("Ti", 1099511627776.0),
        ("Pi", 1125899906842624.0),
        ("Ei", 1152921504606846976.0),
        ("n", 1e-9),
        ("u", 1e-6),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    for (suffix, factor) in SUFFIXES {
        if let Some(number) = s.strip_suffix(suffix) {
            return number.parse::<f64>().ok().map(|n| n * factor);
        }
    }
    s.parse::<f64>().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn added_fields_and_defaults_are_not_drift() {
        let desired = json!({"spec": {"replicas": 1, "template": {"containers": [{"name": "a", "image": "x"}]}}});
        let live = json!({"spec": {"replicas": 1, "progressDeadlineSeconds": 600,
            "template": {"containers": [{"name": "a", "image": "x", "terminationMessagePath": "/dev/termination-log"}]}},
            "status": {"readyReplicas": 1}});
        assert!(matches(&desired, &live));
    }

    #[test]
    fn a_changed_or_missing_field_is_drift() {
        let desired = json!({"spec": {"replicas": 2, "template": {"containers": [{"name": "a", "image": "x"}]}}});
        assert!(!matches(
            &desired,
            &json!({"spec": {"replicas": 1, "template": {"containers": [{"name": "a", "image": "x"}]}}})
        ));
        assert!(!matches(
            &desired,
            &json!({"spec": {"replicas": 2, "template": {"containers": [{"name": "a", "image": "y"}]}}})
        ));
        assert!(!matches(
            &desired,
            &json!({"spec": {"template": {"containers": []}}})
        ));
        assert!(!matches(
            &json!({"data": {"k": "dg=="}}),
            &json!({"data": {}})
        ));
    }

    #[test]
    fn quantities_compare_by_value() {
        assert!(matches(
            &json!({"cpu": "1000m", "mem": "1Gi", "n": 2}),
            &json!({"cpu": "1", "mem": "1024Mi", "n": "2"})
        ));
        assert!(!matches(&json!({"cpu": "1"}), &json!({"cpu": "2"})));
        assert!(!matches(&json!({"env": "abc"}), &json!({"env": "abd"})));
    }

    #[test]
    fn empty_collections_may_be_dropped_by_the_server() {
        assert!(matches(
            &json!({"data": {}, "labels": [], "s": "", "delay": 0}),
            &json!({})
        ));
        assert!(!matches(&json!({"automount": false}), &json!({})));
    }
}
