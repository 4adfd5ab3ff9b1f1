//! Key fidelity: does each key of the upstream chart's values change, in our
//! render, the objects it changes in the upstream chart's?
//!
//! Every leaf key of the upstream `values.yaml` gets a changed value on top
//! of a base; both charts render base and base + change, and the sets of
//! objects that changed are compared:
//!
//! - inert: upstream's render does not change (not counted);
//! - honoured: every object that changes upstream and that we render changes in ours;
//! - partial: some of them do;
//! - ignored: none does;
//! - rejected: our values refuse what upstream takes.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use crate::docs::Objects;

/// One key to try: its path and the changed value.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub path: Vec<String>,
    pub value: Value,
}

impl Probe {
    /// `a.b.c`, as the ledger names keys.
    pub fn key(&self) -> String {
        self.path.join(".")
    }

    /// The `--set-json` argument: dots, commas, equals and backslashes in
    /// a path segment escaped as Helm reads them.
    pub fn set_json(&self) -> String {
        let escaped: Vec<String> = self
            .path
            .iter()
            .map(|s| {
                s.replace('\\', "\\\\")
                    .replace('.', "\\.")
                    .replace(',', "\\,")
                    .replace('=', "\\=")
            })
            .collect();
        format!("{}={}", escaped.join("."), self.value)
    }
}

/// Every key of a values tree worth changing, with its changed value:
/// scalars, empty maps and lists of scalars (lists of maps are left out: a
/// changed item of them has no single obvious form).
pub fn probes(tree: &Value) -> Vec<Probe> {
    let mut out = Vec::new();
    walk(tree, &mut Vec::new(), &mut out);
    out
}

fn walk(node: &Value, path: &mut Vec<String>, out: &mut Vec<Probe>) {
    match node {
        Value::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                path.push(k.clone());
                walk(v, path, out);
                path.pop();
            }
        }
        Value::Array(items) if items.iter().any(|i| i.is_object() || i.is_array()) => {}
        _ if path.is_empty() => {}
        _ => {
            if let Some(value) = changed_value(path, node) {
                out.push(Probe {
                    path: path.clone(),
                    value,
                });
            }
        }
    }
}

/// A value that differs from `v` and has its type, or `None` when there is
/// no meaningful one (a template, say).
pub fn changed_value(path: &[String], v: &Value) -> Option<Value> {
    let last = path.last().map(String::as_str).unwrap_or("");
    let parent = path.iter().rev().nth(1).map(String::as_str).unwrap_or("");
    // An envFrom entry's value is its kind: the other kind is the change a
    // user makes (any other string is no kind at all).
    if parent == "envFrom" {
        match v.as_str() {
            Some("configMapRef") => return Some(json!("secretRef")),
            Some("secretRef") => return Some(json!("configMapRef")),
            _ => {}
        }
    }
    // Keys whose values are a few words or a shape: the change a user makes
    // is another of those, not text appended to one (which upstream writes
    // into an object the API server refuses, and we refuse up front).
    if let Some(valid) = valid_change(parent, last, v) {
        return Some(valid);
    }
    Some(match v {
        Value::Object(_) if last == "envFrom" => json!({"probe-configmap": "configMapRef"}),
        Value::Bool(b) => Value::Bool(!b),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => json!(i + 3),
            (None, Some(f)) => json!(f + 3.0),
            _ => return None,
        },
        Value::Object(_) if last == "nodeSelector" => json!({"probe/pool": "changed"}),
        Value::Object(_) => json!({"probe-key": "probe-value"}),
        Value::Array(_) if last == "tolerations" => {
            json!([{"key": "probe", "operator": "Exists", "effect": "NoSchedule"}])
        }
        Value::Array(_) if last == "imagePullSecrets" => json!([{"name": "probe-pull-secret"}]),
        Value::Array(items) => {
            let mut items = items.clone();
            items.push(json!("probe-item"));
            Value::Array(items)
        }
        Value::String(s) if s.contains("{{") => return None,
        Value::String(s) if s.is_empty() => json!("probe-value"),
        Value::String(s) => match bump_quantity(s) {
            Some(q) => json!(q),
            None if s.starts_with("http") => json!(format!("{}/probe", s.trim_end_matches('/'))),
            None => json!(format!("{s}-probe")),
        },
        Value::Null => json!("probe-value"),
    })
}

/// The changed value of a key that takes only some words or one shape.
fn valid_change(parent: &str, last: &str, v: &Value) -> Option<Value> {
    let other = |a: &str, b: &str| match v.as_str() {
        Some(s) if s == a => Some(json!(b)),
        Some(s) if s == b => Some(json!(a)),
        _ => None,
    };
    match (parent, last) {
        ("strategy", "type") => other("RollingUpdate", "Recreate"),
        ("role", "type") => other("Role", "ClusterRole"),
        // Each entry is YAML of container ports, or of pod annotations.
        (_, "portsTpls") => with_item(v, json!("- name: probe\n  containerPort: 9999")),
        (_, "podAnnotationsTpls") => with_item(v, json!("probe/annotation: probe-value")),
        ("ingress", "tls") => with_item(
            v,
            json!({"hosts": ["probe.example.com"], "secretName": "probe-tls"}),
        ),
        // A size nothing defines is refused (issue 30): a user picks another.
        ("global", "size") => Some(json!("medium")),
        ("global", "extraEnvFrom") => Some(json!({
            "PROBE_VAR": {"secretKeyRef": {"name": "probe-secret", "key": "probe-key"}}
        })),
        _ => None,
    }
}

/// A list with one more item.
fn with_item(list: &Value, item: Value) -> Option<Value> {
    let mut items = list.as_array()?.clone();
    items.push(item);
    Some(Value::Array(items))
}

/// `500m` -> `503m`, `2Gi` -> `5Gi`, `8` -> `11`: a quantity stays one.
fn bump_quantity(s: &str) -> Option<String> {
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (number, unit) = s.split_at(split);
    if number.is_empty() || !["m", "k", "M", "G", "T", "Ki", "Mi", "Gi", "Ti"].contains(&unit) {
        return None;
    }
    let n: f64 = number.parse().ok()?;
    let n = n + 3.0;
    Some(if n.fract() == 0.0 {
        format!("{}{unit}", n as i64)
    } else {
        format!("{n}{unit}")
    })
}

/// Objects as comparable text, without what changes on every render or
/// what Helm alone sets (chart labels, checksums).
pub fn fingerprints(objects: &Objects) -> std::collections::BTreeMap<(String, String), String> {
    objects
        .iter()
        .map(|(key, o)| {
            let mut o = o.clone();
            strip_noise(&mut o["metadata"]);
            if o["spec"]["template"]["metadata"].is_object() {
                strip_noise(&mut o["spec"]["template"]["metadata"]);
            }
            (key.clone(), o.to_string())
        })
        .collect()
}

const NOISE_LABELS: &[&str] = &[
    "helm.sh/chart",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/version",
    "chart",
    "heritage",
];

fn strip_noise(meta: &mut Value) {
    for field in ["labels", "annotations"] {
        if let Some(map) = meta[field].as_object_mut() {
            let kept: Map<String, Value> = std::mem::take(map)
                .into_iter()
                .filter(|(k, _)| !NOISE_LABELS.contains(&k.as_str()) && !k.contains("checksum"))
                .collect();
            *map = kept;
        }
    }
}

/// The objects that differ between two renders, leaving out `noise`.
pub fn changed(
    base: &std::collections::BTreeMap<(String, String), String>,
    new: &std::collections::BTreeMap<(String, String), String>,
    noise: &BTreeSet<(String, String)>,
) -> BTreeSet<(String, String)> {
    base.keys()
        .chain(new.keys())
        .filter(|k| !noise.contains(*k) && base.get(*k) != new.get(*k))
        .cloned()
        .collect()
}

/// What a key does in ours compared with upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verdict {
    Honoured,
    Partial,
    Ignored,
    Rejected,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Honoured => "honoured",
            Verdict::Partial => "partial",
            Verdict::Ignored => "ignored",
            Verdict::Rejected => "rejected",
        }
    }
}

/// The verdict on a key that changed `upstream` objects: the objects we
/// render of those (all of them when we render none under those names) must
/// all be in `ours`.
pub fn verdict(
    upstream: &BTreeSet<(String, String)>,
    ours: &BTreeSet<(String, String)>,
    our_names: &BTreeSet<(String, String)>,
) -> Verdict {
    let rendered: BTreeSet<_> = upstream.intersection(our_names).cloned().collect();
    let want = if rendered.is_empty() {
        upstream.clone()
    } else {
        rendered
    };
    let hit = want.intersection(ours).count();
    if hit == want.len() {
        Verdict::Honoured
    } else if hit > 0 {
        Verdict::Partial
    } else {
        Verdict::Ignored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str, n: &str) -> (String, String) {
        (k.to_string(), n.to_string())
    }

    /// The changed value of the probe of `key`.
    fn value_of(probes: &[Probe], key: &str) -> Option<Value> {
        probes
            .iter()
            .find(|p| p.key() == key)
            .map(|p| p.value.clone())
    }

    #[test]
    fn every_leaf_gets_a_changed_value_of_its_type() {
        let tree = json!({
            "global": {"host": "https://x", "size": "", "replicas": 2, "on": true,
                       "nodeSelector": {}, "tolerations": [], "names": ["a"],
                       "envTpls": ["{{ include \"x\" . }}"], "list": [{"a": 1}]},
            "mem": "1Gi", "cpu": "500m", "none": null
        });
        let probes = probes(&tree);
        let by_key = |k: &str| value_of(&probes, k);
        assert_eq!(by_key("global.host"), Some(json!("https://x/probe")));
        assert_eq!(by_key("global.size"), Some(json!("medium")));
        assert_eq!(by_key("global.replicas"), Some(json!(5)));
        assert_eq!(by_key("global.on"), Some(json!(false)));
        assert_eq!(
            by_key("global.nodeSelector"),
            Some(json!({"probe/pool": "changed"}))
        );
        assert_eq!(by_key("global.names"), Some(json!(["a", "probe-item"])));
        assert_eq!(by_key("mem"), Some(json!("4Gi")));
        assert_eq!(by_key("cpu"), Some(json!("503m")));
        assert_eq!(by_key("none"), Some(json!("probe-value")));
        assert!(by_key("global.tolerations").is_some());
        let env_from = super::probes(
            &json!({"api": {"envFrom": {"x-configmap": "configMapRef", "y": "secretRef"},
                                              "containers": {"api": {"envFrom": {}}}}}),
        );
        let values: Vec<_> = env_from
            .iter()
            .map(|p| (p.key(), p.value.clone()))
            .collect();
        assert_eq!(
            values,
            [
                (
                    "api.containers.api.envFrom".to_string(),
                    json!({"probe-configmap": "configMapRef"})
                ),
                ("api.envFrom.x-configmap".to_string(), json!("secretRef")),
                ("api.envFrom.y".to_string(), json!("configMapRef")),
            ]
        );
        assert_eq!(
            by_key("global.envTpls"),
            Some(json!(["{{ include \"x\" . }}", "probe-item"]))
        );
        assert!(
            by_key("global.list").is_none(),
            "lists of maps are left out"
        );
    }

    #[test]
    fn a_key_of_a_few_words_or_one_shape_gets_another_valid_value() {
        let tree = json!({
            "glue": {"strategy": {"type": "Recreate"}, "role": {"type": "ClusterRole"},
                     "podAnnotationsTpls": [], "containers": {"glue": {"portsTpls": []}}},
            "ingress": {"tls": []},
            "global": {"extraEnvFrom": {}},
        });
        let probes = probes(&tree);
        let by_key = |k: &str| value_of(&probes, k);
        assert_eq!(by_key("glue.strategy.type"), Some(json!("RollingUpdate")));
        assert_eq!(by_key("glue.role.type"), Some(json!("Role")));
        assert_eq!(
            by_key("glue.containers.glue.portsTpls"),
            Some(json!(["- name: probe\n  containerPort: 9999"]))
        );
        assert_eq!(
            by_key("glue.podAnnotationsTpls"),
            Some(json!(["probe/annotation: probe-value"]))
        );
        assert_eq!(by_key("ingress.tls").unwrap()[0]["secretName"], "probe-tls");
        assert!(by_key("global.extraEnvFrom").unwrap()["PROBE_VAR"]["secretKeyRef"].is_object());
    }

    #[test]
    fn set_json_escapes_dots_in_keys() {
        let p = Probe {
            path: vec!["a".into(), "eks.amazonaws.com/role".into()],
            value: json!("x"),
        };
        assert_eq!(p.set_json(), r#"a.eks\.amazonaws\.com/role="x""#);
    }

    #[test]
    fn verdicts_compare_the_objects_we_render() {
        let up = BTreeSet::from([key("Deployment", "a"), key("ConfigMap", "b")]);
        let names = BTreeSet::from([key("Deployment", "a")]);
        let ours = BTreeSet::from([key("Deployment", "a")]);
        assert_eq!(
            verdict(&up, &ours, &names),
            Verdict::Honoured,
            "b is not ours"
        );
        let names = BTreeSet::from([key("Deployment", "a"), key("ConfigMap", "b")]);
        assert_eq!(verdict(&up, &ours, &names), Verdict::Partial);
        assert_eq!(verdict(&up, &BTreeSet::new(), &names), Verdict::Ignored);
        let elsewhere = BTreeSet::from([key("StatefulSet", "other")]);
        assert_eq!(verdict(&up, &elsewhere, &BTreeSet::new()), Verdict::Ignored);
    }

    #[test]
    fn noise_and_helm_labels_do_not_count_as_changes() {
        let a: Objects = [(
            key("Secret", "s"),
            json!({"metadata": {"labels": {"helm.sh/chart": "1"}}, "data": {"k": "x"}}),
        )]
        .into();
        let b: Objects = [(
            key("Secret", "s"),
            json!({"metadata": {"labels": {"helm.sh/chart": "2"}}, "data": {"k": "x"}}),
        )]
        .into();
        assert!(changed(&fingerprints(&a), &fingerprints(&b), &BTreeSet::new()).is_empty());
        let c: Objects = [(key("Secret", "s"), json!({"data": {"k": "y"}}))].into();
        let diff = changed(&fingerprints(&a), &fingerprints(&c), &BTreeSet::new());
        assert_eq!(diff.len(), 1);
        assert!(changed(&fingerprints(&a), &fingerprints(&c), &diff).is_empty());
    }
}
