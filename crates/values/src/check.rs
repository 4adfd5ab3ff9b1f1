//! Checks the user's values against the schema of [`Values`], before typing:
//! every wrong type is an error naming its key (all of them, not just the
//! first), and every unknown key is a warning with a suggestion.
//!
//! A values file written for the upstream chart may carry keys this operator
//! does not read (the chart's template plumbing) or a typo; either way the
//! install goes on, and the user is told which key is ignored and, when a
//! known key is close, which one they may have meant.

use std::collections::BTreeMap;
use std::sync::{LazyLock, OnceLock};

use serde_json::{Map, Value};

use crate::Problem;
use crate::load::Additions;
use crate::template::{self, Expr, Part};
use crate::tree::type_name;
use crate::types::Values;

/// The JSON schema of [`Values`] with only the keywords the checks read
/// (no descriptions), less its `$defs` (see [`definition`]); parsed once.
static SCHEMA: LazyLock<Value> = LazyLock::new(|| {
    // Made by build.rs from schema.json: a parse failure is a build defect.
    serde_json::from_str(CHECK_SCHEMA_JSON).expect("the embedded check-schema.json is valid JSON")
});

// `DEFINITIONS`: each of the schema's `$defs` by name (sorted), as JSON text.
include!(concat!(env!("OUT_DIR"), "/check-definitions.rs"));

/// The definitions parsed so far, in the order of `DEFINITIONS`.
static PARSED: [OnceLock<Option<Value>>; DEFINITIONS.len()] =
    [const { OnceLock::new() }; DEFINITIONS.len()];

/// One of the schema's `$defs`, parsed the first time it is asked for:
/// a check reads the few that the user's keys lead to, and parsing all
/// 170 took most of a `render`'s start.
fn definition(name: &str) -> Option<&'static Value> {
    let i = DEFINITIONS.binary_search_by_key(&name, |(n, _)| n).ok()?;
    let (_, text) = DEFINITIONS[i];
    // Made by build.rs from schema.json (a test parses every one).
    PARSED[i]
        .get_or_init(|| serde_json::from_str(text).ok())
        .as_ref()
}

/// [`generated_schema`], kept in `schema.json` (a test keeps it current):
/// generating it at every start took a quarter of a `render`'s time.
const SCHEMA_JSON: &str = include_str!("../schema.json");

/// `schema.json` as `check` reads it (see build.rs).
const CHECK_SCHEMA_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/check-schema.json"));

/// The JSON schema of [`Values`] with its descriptions, for the CRD; parsed
/// at each call, and not kept.
pub fn full_schema() -> Value {
    // Part of the binary and checked by a test: a parse failure is a build defect.
    serde_json::from_str(SCHEMA_JSON).expect("the embedded schema.json is valid JSON")
}

/// The values' JSON schema, from the types.
pub fn generated_schema() -> Value {
    serde_json::to_value(schemars::schema_for!(Values)).unwrap_or(Value::Bool(true))
}

/// Keys of the upstream chart's component blocks that describe its template
/// plumbing; here the service catalog is built in, so they do nothing.
const UPSTREAM_PLUMBING: &[&str] = &[
    "initContainers",
    "volumesTpls",
    "volumeMountsTpls",
    "kind",
    "helmHook",
    "globalOptOut",
    "datadog",
];

/// What the schema walk found.
#[derive(Debug, Default)]
pub struct Findings {
    /// Wrong types: the values cannot be used.
    pub errors: Vec<Problem>,
    /// Unknown keys: ignored.
    pub warnings: Vec<Problem>,
}

/// Upstream's defaults of the keys of its values.yaml that this operator
/// does not use (see `upstream-unused.yaml`).
static UPSTREAM_UNUSED: LazyLock<Value> = LazyLock::new(|| {
    // Part of the binary and parsed by a test: a parse failure is a build defect.
    serde_saphyr::from_str(include_str!("../upstream-unused.yaml"))
        .expect("upstream-unused.yaml is valid YAML")
});

/// Checks a user's values tree against the schema of [`Values`].
pub fn check(user: &Value, additions: &Additions) -> Findings {
    let mut findings = Findings::default();
    let mut at = Vec::new();
    walk(
        user,
        &SCHEMA,
        &SCHEMA,
        additions,
        "",
        &mut at,
        &mut findings,
    );
    absent_blocks(user, additions, &mut findings);
    gated_off_blocks(user, additions, &mut findings);
    findings
}

/// A block for a service whose features are all off: it does not run.
fn gated_off_blocks(user: &Value, add: &Additions, out: &mut Findings) {
    let feature = |name: &str| {
        let at = format!("/serverManifest/features/{name}");
        let set = user.pointer(&at).or_else(|| add.defaults.pointer(&at));
        set == Some(&Value::Bool(true))
    };
    for (key, features) in &add.gated {
        let set = user.get(key).is_some_and(|block| !block.is_null());
        if set && !features.iter().any(|f| feature(f)) {
            let keys: Vec<String> = features
                .iter()
                .map(|f| format!("serverManifest.features.{f}"))
                .collect();
            out.warnings.push(Problem::warning(
                key,
                format!(
                    "the block is not used: {} runs this application only when {} is true",
                    add.release,
                    keys.join(" or ")
                ),
            ));
        }
    }
}

/// The block of a service that takes only a service's own keys: any other
/// key of the chart's (a service's pubSub, say) is named, with why.
fn walk_plain_service(
    node: &Value,
    root: &Value,
    add: &Additions,
    path: &str,
    at: &mut Vec<String>,
    out: &mut Findings,
) {
    let component = serde_json::json!({"$ref": "#/$defs/Component"});
    let mut found = Findings::default();
    walk(node, &component, root, add, path, at, &mut found);
    out.errors.extend(found.errors);
    // A manifest's applications are Deployments: none has CronJobs.
    if node
        .get("cronJobs")
        .is_some_and(|c| c.as_object().is_some_and(|m| !m.is_empty()))
    {
        found
            .warnings
            .push(Problem::warning(&format!("{path}.cronJobs"), String::new()));
    }
    for warning in found.warnings {
        out.warnings.push(Problem::warning(
            &warning.path,
            format!(
                "has no effect: {} gives this application the rest of its settings; \
                 only a service's own keys apply (replicaCount, resources, env, extraEnv, ...)",
                add.release
            ),
        ));
    }
}

/// A block for a service this release does not have: set, and not used.
fn absent_blocks(user: &Value, add: &Additions, out: &mut Findings) {
    for key in &add.absent {
        if user.get(key).is_some_and(|block| !block.is_null()) {
            out.warnings.push(Problem::warning(
                key,
                format!(
                    "the block is not used: {} has no application under this key",
                    add.release
                ),
            ));
        }
    }
}

/// `path` as shown; `at` the same keys, one by one (for lookups).
fn walk(
    node: &Value,
    schema: &Value,
    root: &Value,
    add: &Additions,
    path: &str,
    at: &mut Vec<String>,
    out: &mut Findings,
) {
    if node.is_null() {
        // A null deletes a default or leaves a key unset: always allowed.
        return;
    }
    let schema = resolve(schema, root);
    if node.is_string() && in_tpls(at) {
        // Read by `crate::tpls`, which `validate` checks.
        return;
    }
    if let Value::String(text) = node
        && (template::is_template(text) || in_env_tpls(at))
    {
        // Before the types: a template is text until the render evaluates it.
        out.errors
            .extend(template_problem(text, schema, root, path, at));
        return;
    }
    if let Some(branches) = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)
    {
        walk_branches(node, branches, root, add, path, at, out);
        return;
    }
    if let Some(expected) = type_mismatch(node, schema) {
        out.errors.push(Problem::error(
            display(path),
            format!("expected {expected}, found {}", describe(node, path)),
        ));
        return;
    }
    match node {
        Value::Object(map) => walk_object(map, schema, root, add, path, at, out),
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    at.push(format!("[{i}]"));
                    walk(
                        item,
                        item_schema,
                        root,
                        add,
                        &format!("{path}[{i}]"),
                        at,
                        out,
                    );
                    at.pop();
                }
            }
        }
        _ => {}
    }
}

/// For a choice of schemas, the first branch without type errors and with
/// the fewest unknown keys decides.
fn walk_branches(
    node: &Value,
    branches: &[Value],
    root: &Value,
    add: &Additions,
    path: &str,
    at: &mut Vec<String>,
    out: &mut Findings,
) {
    let mut best: Option<Findings> = None;
    for branch in branches {
        let mut found = Findings::default();
        walk(node, branch, root, add, path, at, &mut found);
        let better = match &best {
            None => true,
            Some(b) => {
                (found.errors.len(), found.warnings.len()) < (b.errors.len(), b.warnings.len())
            }
        };
        if better {
            best = Some(found);
        }
    }
    let Some(best) = best else { return };
    if best.errors.is_empty() {
        out.warnings.extend(best.warnings);
        return;
    }
    // No branch fits: describe the choice rather than one branch's complaint.
    let expected: Vec<String> = branches
        .iter()
        .filter_map(|b| describe_schema(b, root))
        .collect();
    out.errors.push(Problem::error(
        display(path),
        format!(
            "expected {}, found {}",
            expected.join(" or "),
            describe(node, path)
        ),
    ));
}

fn walk_object(
    map: &Map<String, Value>,
    schema: &Value,
    root: &Value,
    add: &Additions,
    path: &str,
    at: &mut Vec<String>,
    out: &mut Findings,
) {
    let properties = collect_properties(schema, root);
    let additional = schema.get("additionalProperties");
    if properties.is_empty() && additional.is_none() {
        // A free-form map (or `any`): everything goes. Upstream does not
        // evaluate templates there either (a `{{` is text).
        return;
    }
    for (key, value) in map {
        // An empty key is shown quoted, so that the message names something.
        let shown = if key.is_empty() { "\"\"" } else { key };
        let child_path = if path.is_empty() {
            shown.to_string()
        } else {
            format!("{path}.{shown}")
        };
        at.push(key.clone());
        if at.len() == 1 && add.plain_services.contains(key) {
            walk_plain_service(value, root, add, &child_path, at, out);
        } else if let Some(child_schema) = properties.get(key) {
            walk(value, child_schema, root, add, &child_path, at, out);
        } else if let Some(extra) = additional.filter(|a| a.is_object()) {
            // A key of a map (an envFrom name) is evaluated as text too.
            if template::is_template(key) {
                out.errors
                    .extend(text_template_problem(key, &child_path, at));
            }
            walk(value, extra, root, add, &child_path, at, out);
        } else if at.len() == 1 && add.services.contains(key) {
            // A service of the release document: a service's keys.
            let component = serde_json::json!({"$ref": "#/$defs/Component"});
            walk(value, &component, root, add, &child_path, at, out);
        } else if let Some(default) = lookup(&add.defaults, at) {
            walk_document_key(value, default, &child_path, at, out);
        } else if additional != Some(&Value::Bool(true)) {
            match lookup(&UPSTREAM_UNUSED, at) {
                Some(default) if within(value, default) => {}
                Some(_) => out.warnings.push(Problem::warning(
                    &child_path,
                    "is a key of the upstream chart that has no effect here; only its default \
                     is supported (see docs/compatibility.md)"
                        .into(),
                )),
                None => out.warnings.push(unknown_key_warning(
                    &child_path,
                    key,
                    properties.keys().copied(),
                )),
            }
        }
        at.pop();
    }
}

/// A key that only the release document reads: the user's value must be
/// of the kind of the document's default (a map, a list, or a value).
fn walk_document_key(
    node: &Value,
    default: &Value,
    path: &str,
    at: &mut Vec<String>,
    out: &mut Findings,
) {
    let kind = |v: &Value| match v {
        Value::Object(_) => "a map",
        Value::Array(_) => "a list",
        _ => "a value",
    };
    if node.is_null() || default.is_null() {
        return;
    }
    if kind(node) != kind(default) {
        out.errors.push(Problem::error(
            display(path),
            format!("expected {}, found {}", kind(default), describe(node, path)),
        ));
        return;
    }
    if let (Value::Object(map), Value::Object(known)) = (node, default) {
        for (key, value) in map {
            let child_path = format!("{path}.{key}");
            at.push(key.clone());
            match known.get(key) {
                Some(d) => walk_document_key(value, d, &child_path, at, out),
                // A map the document leaves empty is the user's to fill.
                None if known.is_empty() => {}
                None => out
                    .warnings
                    .push(unknown_key_warning(&child_path, key, known.keys())),
            }
            at.pop();
        }
    }
}

/// Whether the values have a key at `keys`: the schema's, or a free-form
/// map's key below a known one.
pub fn has_key(keys: &[String]) -> bool {
    key_under(&SCHEMA, keys)
}

/// Whether a service's block has a key at `keys` (`traceRatio`).
pub fn service_has_key(keys: &[String]) -> bool {
    definition("Component").is_some_and(|component| key_under(component, keys))
}

fn key_under(start: &Value, keys: &[String]) -> bool {
    let root: &Value = &SCHEMA;
    let mut schema = start;
    for key in keys {
        let object = object_schema(schema, root);
        if let Some(child) = property(object, root, key) {
            schema = child;
            continue;
        }
        match object.get("additionalProperties") {
            Some(extra) if extra.is_object() => schema = extra,
            Some(Value::Bool(false)) => return false,
            // A free-form map takes any key.
            _ => return !has_properties(object, root),
        }
    }
    true
}

/// The node at `keys` in `tree`.
fn lookup<'a>(tree: &'a Value, keys: &[String]) -> Option<&'a Value> {
    keys.iter().try_fold(tree, |node, key| node.get(key))
}

/// Whether every key `user` sets has the value `default` gives it.
fn within(user: &Value, default: &Value) -> bool {
    match (user, default) {
        (Value::Object(u), Value::Object(d)) => u
            .iter()
            .all(|(k, v)| d.get(k).is_some_and(|dv| within(v, dv))),
        _ => user == default,
    }
}

/// The problem with a template at `path`, if any: one that cannot stand
/// for what the key takes, or that cannot be evaluated.
fn template_problem(
    text: &str,
    schema: &Value,
    root: &Value,
    path: &str,
    at: &[String],
) -> Option<Problem> {
    if !takes_text(schema, root) {
        let expected = describe_schema(schema, root).unwrap_or_else(|| "no text".into());
        return Some(Problem::error(
            display(path),
            format!(
                "cannot evaluate `{text}` here: a template gives text, and this key takes {expected}"
            ),
        ));
    }
    if in_env_tpls(at) {
        return template::parse_env(text)
            .err()
            .map(|e| Problem::error(display(path), format!("cannot evaluate `{text}`: {e}")));
    }
    text_template_problem(text, path, at)
}

/// Whether `at` is an entry of a service's `envTpls`.
fn in_env_tpls(at: &[String]) -> bool {
    at.len() >= 2 && at[at.len() - 2] == "envTpls"
}

/// An entry of `portsTpls` or `podAnnotationsTpls` (`[i]` under it).
fn in_tpls(at: &[String]) -> bool {
    at.len() >= 2
        && matches!(
            at[at.len() - 2].as_str(),
            "portsTpls" | "podAnnotationsTpls"
        )
}

/// The problem with a template that gives text, if any.
fn text_template_problem(text: &str, path: &str, at: &[String]) -> Option<Problem> {
    let why = match template::parse(text) {
        Err(e) => e.to_string(),
        Ok(t) => t.parts.iter().find_map(|part| match part {
            Part::Action(expr, _) => values_problem(expr, at),
            Part::Text(_) => None,
        })?,
    };
    Some(Problem::error(
        display(path),
        format!("cannot evaluate `{text}`: {why}"),
    ))
}

/// A `.Values` key that this operator does not read, or that is no value.
fn values_problem(expr: &Expr, at: &[String]) -> Option<String> {
    let keys = match expr {
        Expr::Values(keys) => keys,
        Expr::Not(inner) => return values_problem(inner, at),
        _ => return None,
    };
    let top = at.first().map(String::as_str).unwrap_or_default();
    let target = template::values_path(top, keys);
    let shown = format!(".Values.{}", keys.join("."));
    match schema_at(&target) {
        None => Some(format!(
            "`{shown}` ({}) is not a key this operator reads",
            target.join(".")
        )),
        Some(s) if is_container(s) => Some(format!("`{shown}` is a map or a list, not a value")),
        Some(_) => None,
    }
}

/// The schema of the key at `keys`, if the values have it.
fn schema_at(keys: &[String]) -> Option<&'static Value> {
    let root: &'static Value = &SCHEMA;
    keys.iter().try_fold(root, |schema, key| {
        let schema = object_schema(schema, root);
        property(schema, root, key)
            .or_else(|| schema.get("additionalProperties").filter(|a| a.is_object()))
    })
}

/// The child schema of `key` in `schema` or its `allOf` parts.
fn property<'a>(schema: &'a Value, root: &'a Value, key: &str) -> Option<&'a Value> {
    if let Some(p) = schema.get("properties").and_then(|p| p.get(key)) {
        return Some(p);
    }
    schema
        .get("allOf")
        .and_then(Value::as_array)?
        .iter()
        .find_map(|part| property(resolve(part, root), root, key))
}

/// The branch of an optional schema that describes a map, resolved.
fn object_schema<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    let schema = resolve(schema, root);
    schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)
        .and_then(|branches| {
            branches.iter().map(|b| resolve(b, root)).find(|b| {
                b.get("properties").is_some()
                    || b.get("additionalProperties").is_some()
                    || b.get("allOf").is_some()
            })
        })
        .unwrap_or(schema)
}

/// Whether the schema is only a map or a list.
fn is_container(schema: &Value) -> bool {
    let schema = object_schema(schema, &SCHEMA);
    match schema.get("type") {
        Some(Value::String(t)) => t == "object" || t == "array",
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .all(|t| matches!(t, "object" | "array" | "null")),
        _ => schema.get("properties").is_some(),
    }
}

/// Whether a string is a value the schema takes.
fn takes_text(schema: &Value, root: &Value) -> bool {
    let schema = resolve(schema, root);
    if let Some(branches) = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)
    {
        return branches.iter().any(|b| takes_text(b, root));
    }
    if schema.get("x-kubernetes-int-or-string").is_some() {
        return true;
    }
    match schema.get("type") {
        Some(Value::String(t)) => t == "string",
        Some(Value::Array(ts)) => ts.iter().any(|t| t == "string"),
        _ => schema.get("properties").is_none(),
    }
}

/// `None` when the node's JSON type is one the schema allows.
fn type_mismatch(node: &Value, schema: &Value) -> Option<String> {
    if schema.get("x-kubernetes-int-or-string").is_some() {
        return match node {
            Value::String(_) | Value::Number(_) => None,
            _ => Some("a string or a number".into()),
        };
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    let fits = types.iter().any(|t| match (*t, node) {
        ("null", Value::Null) => true,
        ("boolean", Value::Bool(_)) => true,
        ("string", Value::String(_)) => true,
        ("object", Value::Object(_)) => true,
        ("array", Value::Array(_)) => true,
        ("number", Value::Number(_)) => true,
        ("integer", Value::Number(n)) => integer_fits(n, schema),
        _ => false,
    });
    if fits {
        return None;
    }
    if let (true, Value::Number(n)) = (types.contains(&"integer"), node)
        && (n.as_i64().is_some() || n.as_u64().is_some())
    {
        return Some(format!("an integer that fits in {}", int_format(schema)));
    }
    describe_schema(schema, &Value::Null)
}

fn integer_fits(n: &serde_json::Number, schema: &Value) -> bool {
    let Some(i) = n.as_i64() else {
        return n.as_u64().is_some() && int_format(schema) == "64 bits";
    };
    match schema.get("format").and_then(Value::as_str) {
        Some("int32") => i32::try_from(i).is_ok(),
        Some("uint32") => u32::try_from(i).is_ok(),
        Some("uint" | "uint64" | "uint16" | "uint8") => i >= 0,
        _ => true,
    }
}

fn int_format(schema: &Value) -> &'static str {
    match schema.get("format").and_then(Value::as_str) {
        Some("int32") => "32 bits",
        Some("uint32") => "32 bits, unsigned",
        _ => "64 bits",
    }
}

/// "an integer", "true or false", "{valueFrom: ...}", ...
fn describe_schema(schema: &Value, root: &Value) -> Option<String> {
    let schema = resolve(schema, root);
    if let Some(branches) = schema
        .get("anyOf")
        .or_else(|| schema.get("oneOf"))
        .and_then(Value::as_array)
    {
        let parts: Vec<String> = branches
            .iter()
            .filter_map(|b| describe_schema(b, root))
            .collect();
        return (!parts.is_empty()).then(|| parts.join(" or "));
    }
    if schema.get("x-kubernetes-int-or-string").is_some() {
        return Some("a string or a number".into());
    }
    let props = schema.get("properties").and_then(Value::as_object);
    if let Some(props) = props.filter(|p| p.len() == 1) {
        let key = props.keys().next()?;
        return Some(format!("{{{key}: ...}}"));
    }
    let types: Vec<&str> = match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect(),
        _ => return None,
    };
    let words: Vec<&str> = types
        .iter()
        .map(|t| match *t {
            "boolean" => "true or false",
            "string" => "a string",
            "integer" => "an integer",
            "number" => "a number",
            "array" => "a list",
            "object" => "a map",
            other => other,
        })
        .collect();
    (!words.is_empty()).then(|| words.join(" or "))
}

/// A found value, for messages: its type and, when short, the value itself.
/// What was found, for a message. The value itself is shown only when it
/// is short and its key does not say it holds a secret (messages reach
/// logs, Events and status).
fn describe(node: &Value, path: &str) -> String {
    let scalar = matches!(node, Value::String(_) | Value::Number(_));
    if scalar && holds_secret(path) {
        return format!("{} (value not shown)", type_name(node));
    }
    match node {
        Value::String(s) if s.chars().count() <= 40 => format!("a string {s:?}"),
        Value::Number(n) => format!("{} {n}", type_name(node)),
        Value::Bool(b) => format!("{b}"),
        other => type_name(other).to_string(),
    }
}

/// Whether the last key of a path names a secret: a password, a token, a
/// license, a key or a certificate.
fn holds_secret(path: &str) -> bool {
    let last = path.rsplit('.').next().unwrap_or(path);
    let last = last.split('[').next().unwrap_or(last).to_lowercase();
    [
        "password",
        "secret",
        "token",
        "license",
        "key",
        "cert",
        "credential",
    ]
    .iter()
    .any(|word| last.contains(word))
}

fn display(path: &str) -> &str {
    if path.is_empty() { "(top level)" } else { path }
}

fn unknown_key_warning<'k>(
    path: &str,
    key: &str,
    known: impl IntoIterator<Item = &'k String>,
) -> Problem {
    if UPSTREAM_PLUMBING.contains(&key) {
        return Problem::warning(
            path,
            "is part of the upstream chart's templates and has no effect here (the service catalog is built in)".into(),
        );
    }
    // The distance is at least the difference in length: a key much longer
    // or shorter than a known one is not compared (the comparison costs the
    // product of the lengths, and a key may be a megabyte long).
    let key_chars = key.chars().count();
    let suggestion = known
        .into_iter()
        .filter(|k| key_chars.abs_diff(k.chars().count()) <= 2.max(k.len() / 4))
        .map(|k| {
            (
                strsim::damerau_levenshtein(&k.to_lowercase(), &key.to_lowercase()),
                k,
            )
        })
        .filter(|(distance, k)| *distance <= 2.max(k.len() / 4))
        .min();
    match suggestion {
        Some((_, k)) => Problem::warning(path, format!("unknown key, ignored (did you mean {k}?)")),
        None => Problem::warning(path, "unknown key, ignored".into()),
    }
}

fn resolve<'a>(schema: &'a Value, root: &'a Value) -> &'a Value {
    let mut schema = schema;
    for _ in 0..16 {
        let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
            return schema;
        };
        let Some(pointer) = reference.strip_prefix('#') else {
            return schema;
        };
        let target = match pointer.strip_prefix("/$defs/") {
            Some(rest) => {
                let (name, below) = rest.split_once('/').unwrap_or((rest, ""));
                match (definition(name), below) {
                    (Some(d), "") => Some(d),
                    (Some(d), below) => d.pointer(&format!("/{below}")),
                    (None, _) => None,
                }
            }
            None => root.pointer(pointer),
        };
        match target {
            Some(target) => schema = target,
            None => return schema,
        }
    }
    schema
}

/// Whether the schema names any property, its `allOf` parts' included
/// (what [`collect_properties`] would find, without copying it).
fn has_properties(schema: &Value, root: &Value) -> bool {
    schema
        .get("properties")
        .and_then(Value::as_object)
        .is_some_and(|p| !p.is_empty())
        || schema
            .get("allOf")
            .and_then(Value::as_array)
            .is_some_and(|parts| {
                parts
                    .iter()
                    .any(|part| has_properties(resolve(part, root), root))
            })
}

/// Properties of a schema and of everything it is `allOf`, borrowed (a
/// copy of each object's properties was most of a check's allocations).
fn collect_properties<'a>(schema: &'a Value, root: &'a Value) -> BTreeMap<&'a String, &'a Value> {
    let mut props: BTreeMap<&String, &Value> = schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|p| p.iter().collect())
        .unwrap_or_default();
    if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
        for part in parts {
            props.extend(collect_properties(resolve(part, root), root));
        }
    }
    props
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `$defs` entry of schema.json is found by name and parses.
    #[test]
    fn every_definition_is_found_and_parses() {
        let full = full_schema();
        let defs = full["$defs"].as_object().expect("schema.json has $defs");
        assert_eq!(defs.len(), DEFINITIONS.len());
        for name in defs.keys() {
            assert!(definition(name).is_some(), "{name} not found or unparsed");
        }
        assert!(definition("NoSuchDefinition").is_none());
    }
    use serde_json::json;

    fn warnings(user: Value) -> Vec<String> {
        check(&user, &Additions::default())
            .warnings
            .iter()
            .map(|p| p.to_string())
            .collect()
    }

    fn errors(user: Value) -> Vec<String> {
        check(&user, &Additions::default())
            .errors
            .iter()
            .map(|p| p.to_string())
            .collect()
    }

    #[test]
    fn the_embedded_schema_is_current() {
        let generated = serde_json::to_string_pretty(&generated_schema()).unwrap() + "\n";
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/schema.json");
        if std::env::var_os("WANDB_UPDATE_SCHEMA").is_some() {
            std::fs::write(path, &generated).unwrap();
            return;
        }
        assert!(
            SCHEMA_JSON == generated,
            "crates/values/schema.json is stale; update it with \
             `WANDB_UPDATE_SCHEMA=1 cargo test -p wandb-values --lib the_embedded_schema_is_current`"
        );
    }

    #[test]
    fn values_of_secret_keys_are_not_shown() {
        let got = errors(json!({
            "global": {"licenseSecret": "lic-1234567890", "mysql": {"password": ["hunter2-password"]}},
            "app": {"replicaCount": "two"},
        }));
        let all = got.join("\n");
        assert!(!all.contains("lic-1234567890"), "{all}");
        assert!(!all.contains("hunter2"), "{all}");
        assert!(
            got.iter().any(|m| m.starts_with("global.licenseSecret: ")
                && m.ends_with("found a string (value not shown)")),
            "{got:?}"
        );
        // Other keys still show what was found.
        assert!(all.contains("found a string \"two\""), "{all}");
    }

    #[test]
    fn known_keys_pass() {
        let user = json!({
            "global": {"host": "h", "mysql": {"port": 3306, "host": {"valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}}},
            "app": {"replicaCount": 2, "env": {"A": "b", "N": 1, "B": {"value": "x"}, "C": {"valueFrom": {"fieldRef": {"fieldPath": "x"}}}},
                    "resources": {"limits": {"cpu": 1, "memory": "1Gi"}}},
            "flat-run-fields-updater": {"install": true, "kafka": {"consumerGroupId": "x"}},
        });
        let found = check(&user, &Additions::default());
        assert!(found.errors.is_empty(), "{:?}", found.errors);
        assert!(found.warnings.is_empty(), "{:?}", found.warnings);
    }

    #[test]
    fn typos_get_a_suggestion() {
        let got = warnings(json!({"app": {"replicaCont": 2}, "global": {"hots": "x"}}));
        assert!(
            got.contains(
                &"app.replicaCont: unknown key, ignored (did you mean replicaCount?)".to_string()
            ),
            "{got:?}"
        );
        assert!(
            got.contains(&"global.hots: unknown key, ignored (did you mean host?)".to_string()),
            "{got:?}"
        );
    }

    #[test]
    fn nested_unknown_keys_and_plumbing() {
        let got = warnings(json!({"app": {"volumesTpls": []}, "zzz": 1, "app2": {}}));
        assert!(
            got.iter()
                .any(|m| m.starts_with("app.volumesTpls: is part of the upstream chart")),
            "{got:?}"
        );
        assert!(
            got.contains(&"zzz: unknown key, ignored".to_string()),
            "{got:?}"
        );
        assert!(
            got.iter()
                .any(|m| m.starts_with("app2: unknown key, ignored (did you mean app?)")),
            "{got:?}"
        );
    }

    #[test]
    fn an_empty_key_is_named() {
        // Found by fuzzing: `"": true` gave the warning ": unknown key, ignored".
        let got = warnings(json!({"": true, "app": {"": 1}}));
        assert_eq!(
            got,
            [
                "\"\": unknown key, ignored".to_string(),
                "app.\"\": unknown key, ignored".to_string()
            ]
        );
    }

    #[test]
    fn a_long_unknown_key_is_warned_about_quickly() {
        // Regression: the suggestion compared every known key with the whole
        // unknown key, quadratic work that took half a minute for 1 MB.
        let long = "k".repeat(1 << 20);
        let started = std::time::Instant::now();
        let got = warnings(json!({ long.clone(): 1, "app": { long: 1 } }));
        assert_eq!(got.len(), 2, "{}", got.len());
        assert!(got.iter().all(|m| m.ends_with(": unknown key, ignored")));
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn every_wrong_type_is_reported_with_its_path() {
        let got = errors(json!({
            "app": {"replicaCount": "two"},
            "console": {"replicaCount": 99999999999_i64},
            "global": {"api": {"enabled": "yes"}, "host": 5, "mysql": {"host": ["a"]}},
            "weave": {"env": {"X": [1]}},
        }));
        assert!(
            got.contains(
                &"app.replicaCount: expected an integer, found a string \"two\"".to_string()
            ),
            "{got:?}"
        );
        assert!(got.contains(&"console.replicaCount: expected an integer that fits in 32 bits, found an integer 99999999999".to_string()), "{got:?}");
        assert!(
            got.contains(
                &"global.api.enabled: expected true or false, found a string \"yes\"".to_string()
            ),
            "{got:?}"
        );
        assert!(
            got.contains(&"global.host: expected a string, found an integer 5".to_string()),
            "{got:?}"
        );
        assert!(
            got.iter()
                .any(|m| m.starts_with("global.mysql.host: expected {valueFrom: ...} or")),
            "{got:?}"
        );
        assert!(
            got.iter().any(|m| m.starts_with("weave.env.X: expected")),
            "{got:?}"
        );
        assert_eq!(got.len(), 6, "{got:?}");
    }
}
