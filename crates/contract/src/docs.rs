//! Renders as objects keyed by kind and name, from YAML text or from our
//! render directly.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use wandb_render::Release;
use wandb_values::{Disk, Source};

/// The objects of a render, by `(kind, name)`.
pub type Objects = BTreeMap<(String, String), Value>;

#[derive(Debug, thiserror::Error)]
pub enum DocsError {
    #[error("{0}: invalid YAML: {1}")]
    Yaml(String, String),
    #[error("{0}: {1}")]
    Read(String, std::io::Error),
    #[error("{0}: the values do not load: {1}")]
    Values(String, String),
}

/// The objects of multi-document YAML; `List` documents are opened up and
/// documents without a kind or name are left out.
pub fn parse_objects(origin: &str, text: &str) -> Result<Objects, DocsError> {
    let mut options = serde_saphyr::Options::default();
    let mut budget = serde_saphyr::Budget::default();
    // An upstream render is a few hundred kilobytes; its files are scalars.
    budget.max_nodes = 10_000_000;
    budget.max_total_scalar_bytes = 1 << 28;
    options.budget = Some(budget);
    // Upstream's renders repeat some labels; the last one is what the API
    // server keeps.
    options.duplicate_keys = serde_saphyr::options::DuplicateKeyPolicy::LastWins;
    let docs: Vec<Value> = serde_saphyr::from_multiple_with_options(text, options)
        .map_err(|e| DocsError::Yaml(origin.to_string(), e.to_string()))?;
    let mut out = Objects::new();
    for doc in docs {
        let items = if doc["kind"] == "List" {
            doc["items"].as_array().cloned().unwrap_or_default()
        } else {
            vec![doc]
        };
        for item in items {
            add(&mut out, item);
        }
    }
    Ok(out)
}

/// The objects of a YAML file.
pub fn read_objects(path: &Path) -> Result<Objects, DocsError> {
    let origin = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| DocsError::Read(origin.clone(), e))?;
    parse_objects(&origin, &text)
}

/// Our render of a values file, as `wandb-operator render -f FILE` prints it
/// (release `wandb`, namespace `default`, as the upstream renders were made).
pub fn render_objects(values: &Path) -> Result<Objects, DocsError> {
    render_sources(&[Source::File(values.to_path_buf())])
}

/// Our render of values files and `--set` flags, in process.
pub fn render_sources(sources: &[Source]) -> Result<Objects, DocsError> {
    let loaded = wandb_render::builtin::load(sources, &mut Disk).map_err(|problems| {
        let origin: Vec<String> = sources.iter().map(describe).collect();
        let text: Vec<String> = problems.iter().map(ToString::to_string).collect();
        DocsError::Values(origin.join(" "), text.join("; "))
    })?;
    let release = Release::new("wandb", "default");
    let mut out = Objects::new();
    for manifest in wandb_render::builtin::render(&loaded.values, &release) {
        if let Ok(value) = serde_json::to_value(&manifest.object) {
            add(&mut out, value);
        }
    }
    Ok(out)
}

fn describe(source: &Source) -> String {
    match source {
        Source::File(path) => format!("-f {}", path.display()),
        Source::Set(_, flag) => format!("--set {flag}"),
        Source::Inline { name, .. } | Source::Tree { name, .. } => name.clone(),
    }
}

fn add(out: &mut Objects, object: Value) {
    let kind = object["kind"].as_str().map(str::to_string);
    let name = object["metadata"]["name"].as_str().map(str::to_string);
    if let (Some(kind), Some(name)) = (kind, name) {
        out.insert((kind, name), object);
    }
}
