//! Work done at build time rather than at every start of `render`:
//!
//! - the embedded defaults, turned from YAML into JSON (parsing JSON takes
//!   a fraction of the time of parsing YAML); `defaults.yaml` stays the
//!   source, commented for readers;
//! - the schema the values are checked against: `schema.json` with only the
//!   keywords `check` reads (no descriptions), a quarter of its size, its
//!   `$defs` apart (a check parses only those it reaches).

use std::path::PathBuf;

use serde_json::{Map, Value};

fn main() {
    println!("cargo::rerun-if-changed=defaults.yaml");
    println!("cargo::rerun-if-changed=schema.json");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));

    let yaml = std::fs::read_to_string("defaults.yaml").expect("reading defaults.yaml");
    let value: Value = serde_saphyr::from_str(&yaml).expect("defaults.yaml is valid YAML");
    let json = serde_json::to_string(&value).expect("defaults as JSON");
    std::fs::write(out.join("defaults.json"), json).expect("writing defaults.json");

    let schema = std::fs::read_to_string("schema.json").expect("reading schema.json");
    let schema: Value = serde_json::from_str(&schema).expect("schema.json is valid JSON");
    let mut checked = for_checks(&schema);
    // The `$defs` apart, each its own text, parsed when a check first
    // reaches it (`check::definition`).
    let definitions = match checked.as_object_mut().and_then(|o| o.remove("$defs")) {
        Some(Value::Object(defs)) => defs,
        _ => Map::new(),
    };
    let json = serde_json::to_string(&checked).expect("schema as JSON");
    std::fs::write(out.join("check-schema.json"), json).expect("writing check-schema.json");
    let mut names: Vec<&String> = definitions.keys().collect();
    names.sort();
    let mut rust =
        String::from("/// Made by build.rs.\nstatic DEFINITIONS: &[(&str, &str)] = &[\n");
    for name in names {
        let text = serde_json::to_string(&definitions[name]).expect("a definition as JSON");
        rust.push_str(&format!("    ({name:?}, {text:?}),\n"));
    }
    rust.push_str("];\n");
    std::fs::write(out.join("check-definitions.rs"), rust).expect("writing check-definitions.rs");
}

/// The keywords of a schema that `check` reads; the rest (descriptions,
/// titles, defaults) only the CRD and `kubectl explain` need.
const READ: &[&str] = &[
    "$ref",
    "type",
    "format",
    "items",
    "anyOf",
    "oneOf",
    "allOf",
    "additionalProperties",
    "x-kubernetes-int-or-string",
];

/// A schema with only the keywords in [`READ`], and its `properties` and
/// `$defs`, whose keys are names rather than keywords.
fn for_checks(schema: &Value) -> Value {
    let Value::Object(obj) = schema else {
        return schema.clone();
    };
    let mut out = Map::new();
    for (key, value) in obj {
        let kept = match key.as_str() {
            "properties" | "$defs" => match value {
                Value::Object(named) => Value::Object(
                    named
                        .iter()
                        .map(|(name, s)| (name.clone(), for_checks(s)))
                        .collect(),
                ),
                other => other.clone(),
            },
            "anyOf" | "oneOf" | "allOf" => match value {
                Value::Array(parts) => Value::Array(parts.iter().map(for_checks).collect()),
                other => other.clone(),
            },
            "items" | "additionalProperties" => for_checks(value),
            k if READ.contains(&k) => value.clone(),
            _ => continue,
        };
        out.insert(key.clone(), kept);
    }
    Value::Object(out)
}
