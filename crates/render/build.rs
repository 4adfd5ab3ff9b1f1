//! The service catalog, turned from YAML into JSON at build time (in the
//! same order: `preserve_order`): every `render` loads it, and parsing JSON
//! takes a fraction of the time of parsing YAML. The YAML files stay the
//! source.

use std::path::PathBuf;

fn main() {
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR"));
    for name in ["services", "sizing"] {
        let source = format!("catalog/{name}.yaml");
        println!("cargo::rerun-if-changed={source}");
        let yaml = std::fs::read_to_string(&source).expect("reading the catalog");
        let value: serde_json::Value =
            serde_saphyr::from_str(&yaml).expect("the catalog is valid YAML");
        let json = serde_json::to_string(&value).expect("the catalog as JSON");
        std::fs::write(out.join(format!("{name}.json")), json).expect("writing the catalog");
    }
}
