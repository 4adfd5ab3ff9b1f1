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
}
