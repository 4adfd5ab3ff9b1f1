//! A schemars schema as a Kubernetes structural schema: `$ref`s inlined,
//! `Option<T>` as nullable, a choice of types as `any`, objects keeping
//! unknown fields, and Kubernetes' own types without their long
//! descriptions (our values keep theirs).
//!
//! The result is a [`Node`] that is expanded while it is written: a `$ref`'s
//! target is read where it is referred to rather than copied, so the CRD
//! (ContainerOverride alone is referred to about 140 times) is never whole
//! in memory; writing it needs the source schema and one node per level.

use std::collections::BTreeMap;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Map, Value, json};

/// A node of the structural schema (or of the CRD around it).
#[derive(Clone)]
pub(super) enum Node<'a> {
    /// A value of the source schema, as it is.
    Borrowed(&'a Value),
    Owned(Value),
    Map(Shallow<'a>),
    List(Vec<Node<'a>>),
    /// A schema of the source, converted when written.
    Schema(Lazy<'a>),
}

/// One level of a node: its keys, its children unexpanded.
pub(super) type Shallow<'a> = BTreeMap<String, Node<'a>>;

/// Where a schema is in the source, for its conversion.
#[derive(Clone, Copy)]
pub(super) struct Lazy<'a> {
    node: &'a Value,
    root: &'a Value,
    depth: usize,
    in_k8s: bool,
}

impl Serialize for Node<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Node::Borrowed(v) => v.serialize(s),
            Node::Owned(v) => v.serialize(s),
            Node::Map(m) => serialize_map(m, s),
            Node::List(items) => {
                let mut seq = s.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Node::Schema(l) => serialize_map(&convert(l.node, l.root, l.depth, l.in_k8s), s),
        }
    }
}

fn serialize_map<S: Serializer>(m: &Shallow<'_>, s: S) -> Result<S::Ok, S::Error> {
    let mut map = s.serialize_map(Some(m.len()))?;
    for (k, v) in m {
        map.serialize_entry(k, v)?;
    }
    map.end()
}

/// The structural schema of `node`, whose `$ref`s point into `root`.
pub(super) fn structural<'a>(node: &'a Value, root: &'a Value) -> Shallow<'a> {
    convert(node, root, 0, false)
}

/// Fields of JSON Schema that a CRD's structural schema keeps.
const KEPT: &[&str] = &[
    "description",
    "format",
    "enum",
    "minimum",
    "maximum",
    "pattern",
    "required",
    "x-kubernetes-int-or-string",
    "x-kubernetes-preserve-unknown-fields",
];

/// Anything: what a node is when its schema cannot be kept.
fn any<'a>() -> Shallow<'a> {
    owned(json!({"x-kubernetes-preserve-unknown-fields": true}))
}

/// A map's level from a JSON object.
fn owned<'a>(v: Value) -> Shallow<'a> {
    match v {
        Value::Object(m) => m.into_iter().map(|(k, v)| (k, Node::Owned(v))).collect(),
        _ => Shallow::new(),
    }
}

fn lazy<'a>(node: &'a Value, root: &'a Value, depth: usize, in_k8s: bool) -> Node<'a> {
    Node::Schema(Lazy {
        node,
        root,
        depth,
        in_k8s,
    })
}

fn convert<'a>(node: &'a Value, root: &'a Value, depth: usize, in_k8s: bool) -> Shallow<'a> {
    if depth > 40 {
        return any();
    }
    let Value::Object(obj) = node else {
        // `true` (anything) or `false`.
        return any();
    };
    if let Some(reference) = obj.get("$ref").and_then(Value::as_str) {
        return convert_ref(obj, reference, root, depth, in_k8s);
    }
    if let Some(branches) = obj
        .get("anyOf")
        .or_else(|| obj.get("oneOf"))
        .and_then(Value::as_array)
    {
        return convert_branches(obj, branches, root, depth, in_k8s);
    }
    let mut out = kept_fields(obj, in_k8s);
    let types = schema_types(obj);
    if types.contains(&"null") {
        out.insert("nullable".into(), Node::Owned(true.into()));
    }
    let real: Vec<&&str> = types.iter().filter(|t| **t != "null").collect();
    if out.contains_key("x-kubernetes-int-or-string") {
        out.remove("format");
        return out;
    }
    match real.as_slice() {
        [] => {
            out.insert(
                "x-kubernetes-preserve-unknown-fields".into(),
                Node::Owned(true.into()),
            );
        }
        [t] => {
            out.insert("type".into(), Node::Owned(Value::String(t.to_string())));
        }
        _ => {
            // Several types: accepted as they come, checked by the operator.
            out.remove("format");
            out.insert(
                "x-kubernetes-preserve-unknown-fields".into(),
                Node::Owned(true.into()),
            );
            return out;
        }
    }
    match real.first().map(|t| **t) {
        Some("object") => convert_object(obj, &mut out, root, depth, in_k8s),
        Some("array") => {
            let items = match obj.get("items") {
                Some(i) => lazy(i, root, depth + 1, in_k8s),
                None => Node::Map(any()),
            };
            out.insert("items".into(), items);
        }
        _ => {}
    }
    // `required` only makes sense with properties, and a required key that
    // has a default in our types would refuse partial values.
    out.remove("required");
    out
}

/// A `$ref`: Kubernetes' own types become a bare object (or array), ours are
/// inlined; the referring node's description wins.
fn convert_ref<'a>(
    obj: &'a Map<String, Value>,
    reference: &str,
    root: &'a Value,
    depth: usize,
    in_k8s: bool,
) -> Shallow<'a> {
    let target = reference.strip_prefix('#').and_then(|p| root.pointer(p));
    let mut out = if reference.contains("io.k8s.")
        && !reference.contains("Quantity")
        && !reference.contains("IntOrString")
    {
        // Kubernetes' own types (affinity, tolerations, security
        // contexts, ...) are checked by the operator when it types the
        // values; inlining their schemas in every component would make
        // the CRD megabytes long.
        let kind = target
            .and_then(|t| t.get("type"))
            .and_then(Value::as_str)
            .unwrap_or("object");
        if kind == "array" {
            owned(json!({"type": "array", "items": {"x-kubernetes-preserve-unknown-fields": true}}))
        } else {
            owned(json!({"type": kind, "x-kubernetes-preserve-unknown-fields": true}))
        }
    } else {
        let k8s = in_k8s || reference.contains("io.k8s.");
        match target {
            Some(t) => convert(t, root, depth + 1, k8s),
            None => any(),
        }
    };
    if let Some(d) = obj.get("description") {
        out.insert("description".into(), Node::Borrowed(d));
    }
    out
}

/// `anyOf`/`oneOf`: one type besides null is that type, nullable (how
/// schemars writes `Option<T>`); a real choice of types is anything.
fn convert_branches<'a>(
    obj: &'a Map<String, Value>,
    branches: &'a [Value],
    root: &'a Value,
    depth: usize,
    in_k8s: bool,
) -> Shallow<'a> {
    let non_null: Vec<&Value> = branches
        .iter()
        .filter(|b| b.get("type").and_then(Value::as_str) != Some("null"))
        .collect();
    let mut out = if let [only] = non_null[..] {
        let mut inner = convert(only, root, depth + 1, in_k8s);
        if inner.contains_key("type") {
            inner.insert("nullable".into(), Node::Owned(true.into()));
        }
        inner
    } else {
        any()
    };
    if let Some(d) = obj.get("description") {
        out.insert("description".into(), Node::Borrowed(d));
    }
    out
}

/// The fields of [`KEPT`] the node has, less Kubernetes' descriptions and
/// the formats the API server does not know.
fn kept_fields<'a>(obj: &'a Map<String, Value>, in_k8s: bool) -> Shallow<'a> {
    let mut out = Shallow::new();
    for key in KEPT {
        if let Some(v) = obj.get(*key) {
            if *key == "description" && in_k8s {
                continue;
            }
            if *key == "format"
                && !matches!(
                    v.as_str(),
                    Some("int32" | "int64" | "date-time" | "double" | "float" | "byte")
                )
            {
                continue;
            }
            out.insert(key.to_string(), Node::Borrowed(v));
        }
    }
    out
}

/// The node's `type`, one or a list.
fn schema_types(obj: &Map<String, Value>) -> Vec<&str> {
    match obj.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

/// An object's properties and additional properties, into `out`.
fn convert_object<'a>(
    obj: &'a Map<String, Value>,
    out: &mut Shallow<'a>,
    root: &'a Value,
    depth: usize,
    in_k8s: bool,
) {
    let mut props = Shallow::new();
    if let Some(p) = obj.get("properties").and_then(Value::as_object) {
        for (k, v) in p {
            props.insert(k.clone(), lazy(v, root, depth + 1, in_k8s));
        }
    }
    let preserve = || Node::Owned(true.into());
    match obj.get("additionalProperties") {
        Some(a @ Value::Object(m)) if !m.is_empty() => {
            out.insert(
                "additionalProperties".into(),
                lazy(a, root, depth + 1, in_k8s),
            );
        }
        Some(Value::Bool(true)) | Some(Value::Object(_)) => {
            out.insert("x-kubernetes-preserve-unknown-fields".into(), preserve());
        }
        _ => {}
    }
    if !props.is_empty() {
        out.insert("properties".into(), Node::Map(props));
        // Keys our types do not know are kept and reported, not pruned.
        if !in_k8s && !out.contains_key("additionalProperties") {
            out.insert("x-kubernetes-preserve-unknown-fields".into(), preserve());
        }
    } else if !out.contains_key("additionalProperties") {
        out.insert("x-kubernetes-preserve-unknown-fields".into(), preserve());
    }
}
