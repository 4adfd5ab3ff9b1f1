//! The embedded defaults, turned from YAML into JSON at build time: every
//! `render` loads them, and parsing JSON takes a fraction of the time of
//! parsing YAML. `defaults.yaml` stays the source (commented for readers).

use std::path::PathBuf;

fn main() {
    println!("cargo::rerun-if-changed=defaults.yaml");
    let yaml = std::fs::read_to_string("defaults.yaml").expect("reading defaults.yaml");
    let value: serde_json::Value =
        serde_saphyr::from_str(&yaml).expect("defaults.yaml is valid YAML");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("defaults.json");
    let json = serde_json::to_string(&value).expect("defaults as JSON");
    std::fs::write(out, json).expect("writing defaults.json");
}
