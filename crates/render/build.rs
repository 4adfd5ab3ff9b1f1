//! The built-in release document: one section a file under `catalog/`,
//! joined into one YAML document (what `wandb-operator catalog` prints) and
//! turned into JSON (in the same order: `preserve_order`), which every start
//! parses in a fraction of the time YAML takes.

use std::path::PathBuf;

/// The sections, in the document's order.
const SECTIONS: &[&str] = &[
    "release",
    "values",
    "layers",
    "env-groups",
    "services",
    "store-env",
    "config",
    "routes",
    "sizing",
    "server-manifest",
];

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    let mut document = String::new();
    for name in SECTIONS {
        let source = format!("catalog/{name}.yaml");
        println!("cargo::rerun-if-changed={source}");
        let text = std::fs::read_to_string(&source).expect("reading a section of the catalog");
        if !document.is_empty() {
            document.push('\n');
        }
        document.push_str(&text);
    }
    let value: serde_json::Value =
        serde_saphyr::from_str(&document).expect("the catalog is valid YAML");
    let json = serde_json::to_string(&value).expect("the catalog as JSON");
    std::fs::write(out.join("catalog.yaml"), &document).expect("writing the catalog");
    std::fs::write(out.join("catalog.json"), json).expect("writing the catalog");
    // The same document in two halves that every start types at once: the
    // services and their sizing (with the release: each half is a document
    // of its own), and the rest.
    let serde_json::Value::Object(sections) = value else {
        panic!("the catalog is a map");
    };
    let (mut services, mut rest) = (serde_json::Map::new(), serde_json::Map::new());
    for (key, section) in sections {
        if key == "release" {
            services.insert(key.clone(), section.clone());
            rest.insert(key, section);
        } else if SERVICES_HALF.contains(&key.as_str()) {
            services.insert(key, section);
        } else {
            rest.insert(key, section);
        }
    }
    rest.insert("services".into(), serde_json::json!({}));
    for (name, half) in [
        ("catalog-services.json", services),
        ("catalog-rest.json", rest),
    ] {
        let json = serde_json::to_string(&half).expect("half the catalog as JSON");
        std::fs::write(out.join(name), json).expect("writing half the catalog");
    }
}

/// The sections typed beside the rest (about half of the typing).
const SERVICES_HALF: &[&str] = &["services", "layers", "routes", "sizing"];
