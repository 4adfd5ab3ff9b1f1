//! The render with the built-in release document, in the signatures tools
//! and tests use: values loaded with its defaults, rendered with it.

use wandb_values::{Additions, FileReader, Loaded, Problem, Source, Values};

use crate::catalog::Catalog;
use crate::context::Release;
use crate::objects::Manifest;

/// What the built-in document adds to the values; none when it cannot be
/// read (a build defect a unit test catches: `load` then says so).
pub fn additions() -> Additions {
    Catalog::builtin()
        .map(|c| c.additions().clone())
        .unwrap_or_default()
}

/// The built-in document, or the problem of reading it.
fn catalog() -> Result<&'static Catalog, Vec<Problem>> {
    Catalog::builtin()
        .map_err(|e| vec![Problem::error("(built-in release document)", e.to_string())])
}

/// Values from sources, with the built-in document's defaults.
pub fn load(sources: &[Source], files: &mut dyn FileReader) -> Result<Loaded, Vec<Problem>> {
    wandb_values::load(sources, files, catalog()?.additions())
}

/// Values from a user's tree (a resource's `spec.values`), likewise.
pub fn from_user_tree(user: serde_json::Value) -> Result<Loaded, Vec<Problem>> {
    wandb_values::load::from_user_tree(user, catalog()?.additions())
}

/// The objects of an install with the built-in document; none when it
/// cannot be read.
pub fn render(values: &Values, release: &Release) -> Vec<Manifest> {
    match Catalog::builtin() {
        Ok(catalog) => crate::render(catalog, values, release),
        Err(_) => Vec::new(),
    }
}

/// The same, as multi-document YAML.
pub fn render_yaml(values: &Values, release: &Release) -> String {
    crate::objects::to_yaml(&render(values, release))
}
