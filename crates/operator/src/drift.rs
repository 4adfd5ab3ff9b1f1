//! Whether a live object still says what the operator applied: every field
//! the operator sets must hold the same value. Fields the API server or
//! other controllers add are not the operator's business. Pure.

use serde_json::Value;

/// Annotation with a hash of what the operator last applied. A field the
/// operator no longer sets (a removed annotation, env var or volume) is
/// absent from the desired object, so comparing fields alone would never
/// see it go: the hash does.
pub const APPLIED_HASH_ANNOTATION: &str = "apps.wandb.com/applied-hash";

/// Writes the hash of the object as it is applied into its annotations.
pub fn stamp(body: &mut Value) {
    let hash = format!("{:016x}", fnv1a(body));
    let annotations = &mut body["metadata"]["annotations"];
    if !annotations.is_object() {
        *annotations = Value::Object(Default::default());
    }
    annotations[APPLIED_HASH_ANNOTATION] = Value::String(hash);
}

/// FNV-1a over the JSON with its keys sorted: the same object hashes the
/// same whatever its key order, in every build.
fn fnv1a(v: &Value) -> u64 {
    fn feed(hash: &mut u64, bytes: &[u8]) {
        for b in bytes {
            *hash ^= u64::from(*b);
            *hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    fn walk(v: &Value, hash: &mut u64) {
        match v {
            Value::Object(m) => {
                let mut keys: Vec<&String> = m.keys().collect();
                keys.sort();
                feed(hash, b"{");
                for k in keys {
                    feed(hash, k.as_bytes());
                    feed(hash, b":");
                    walk(&m[k], hash);
                    feed(hash, b",");
                }
                feed(hash, b"}");
            }
            Value::Array(items) => {
                feed(hash, b"[");
                for i in items {
                    walk(i, hash);
                    feed(hash, b",");
                }
                feed(hash, b"]");
            }
            other => feed(hash, other.to_string().as_bytes()),
        }
    }
    let mut hash = 0xcbf2_9ce4_8422_2325;
    walk(v, &mut hash);
    hash
}

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
mod stamp_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_field_removed_from_the_desired_object_is_a_difference() {
        let mut before =
            json!({"metadata": {"name": "a", "annotations": {"x": "1"}}, "spec": {"n": 1}});
        let mut after = json!({"metadata": {"name": "a"}, "spec": {"n": 1}});
        stamp(&mut before);
        stamp(&mut after);
        // Fields alone: the live object (as before) carries all of `after`'s.
        let plain_after = json!({"metadata": {"name": "a"}, "spec": {"n": 1}});
        assert_eq!(difference(&plain_after, &before), None);
        assert!(
            difference(&after, &before).is_some(),
            "the removal is not seen"
        );
        assert_eq!(difference(&before, &before), None);
    }

    #[test]
    fn the_hash_does_not_depend_on_key_order() {
        let mut a = json!({"b": 1, "a": [1, {"y": 2, "x": 3}]});
        let mut b = json!({"a": [1, {"x": 3, "y": 2}], "b": 1});
        stamp(&mut a);
        stamp(&mut b);
        assert_eq!(a["metadata"], b["metadata"]);
        let mut c = json!({"a": [1, {"x": 3, "y": 4}], "b": 1});
        stamp(&mut c);
        assert_ne!(a["metadata"], c["metadata"]);
    }
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
