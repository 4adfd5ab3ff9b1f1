//! The release document an install runs: the built-in one, or the one in
//! the ConfigMap `spec.catalog` names. A parsed document is kept while its
//! ConfigMap's resourceVersion stays the same.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use kube::ResourceExt;
use serde_json::Value;
use wandb_render::Catalog;

use super::server_manifest::{self, ManifestDocument};
use super::{Context, Error};
use crate::crd::WeightsAndBiases;
use crate::kinds;

/// The document of one install.
#[derive(Clone)]
pub enum Document {
    Builtin(&'static Catalog),
    /// From a ConfigMap.
    Loaded(Arc<Catalog>),
    /// From a W&B server manifest (`spec.values.serverManifest`).
    Manifest(Arc<ManifestDocument>),
}

impl Document {
    /// The W&B Server version and the values key that chose it, for a
    /// document made from a server manifest.
    pub fn manifest_version(&self) -> Option<(&str, &'static str)> {
        match self {
            Document::Manifest(m) => Some((m.version.as_str(), m.key)),
            _ => None,
        }
    }
}

impl std::ops::Deref for Document {
    type Target = Catalog;
    fn deref(&self) -> &Catalog {
        match self {
            Document::Builtin(c) => c,
            Document::Loaded(c) => c,
            Document::Manifest(m) => &m.catalog,
        }
    }
}

/// Parsed documents by `<namespace>/<name>/<key>` of their ConfigMap, with
/// the resourceVersion they were parsed at.
#[derive(Default)]
pub struct Documents(Mutex<BTreeMap<String, (String, Arc<Catalog>)>>);

/// The install's document; `Ok(Err(why))` when it cannot be had (no such
/// ConfigMap or key, a document with an error, a server manifest not
/// pulled): `why` names the key, the ConfigMap or reference, and the place.
pub async fn document_of(
    wandb: &WeightsAndBiases,
    ctx: &Context,
) -> Result<Result<Document, String>, Error> {
    match server_manifest::wanted(wandb) {
        Err(why) => return Ok(Err(why)),
        Ok(Some(wanted)) => {
            let document = server_manifest::document(wandb, ctx, wanted).await?;
            return Ok(document.map(Document::Manifest));
        }
        Ok(None) => {}
    }
    let Some(source) = &wandb.spec.catalog else {
        return Ok(Catalog::builtin()
            .map(Document::Builtin)
            .map_err(|e| format!("the built-in release document: {e}")));
    };
    let namespace = wandb.namespace().unwrap_or_default();
    let cm = &source.config_map;
    let shown = format!("spec.catalog: ConfigMap {namespace}/{}", cm.name);
    let Some(info) = kinds::info("ConfigMap") else {
        return Ok(Err(format!(
            "{shown}: ConfigMaps are not a kind this operator reads"
        )));
    };
    let Some(live) = ctx.get(info, &cm.name, Some(&namespace)).await? else {
        return Ok(Err(format!("{shown} not found")));
    };
    let version = live["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let id = format!("{namespace}/{}/{}", cm.name, cm.key);
    if let Ok(cache) = ctx.documents.0.lock()
        && let Some((seen, catalog)) = cache.get(&id)
        && *seen == version
        && !version.is_empty()
    {
        return Ok(Ok(Document::Loaded(catalog.clone())));
    }
    let Some(text) = live["data"].get(&cm.key).and_then(Value::as_str) else {
        return Ok(Err(format!("{shown} has no key {:?}", cm.key)));
    };
    match Catalog::from_yaml(text) {
        Ok(catalog) => {
            let catalog = Arc::new(catalog);
            if let Ok(mut cache) = ctx.documents.0.lock() {
                cache.insert(id, (version, catalog.clone()));
            }
            Ok(Ok(Document::Loaded(catalog)))
        }
        Err(e) => Ok(Err(format!("{shown}, key {:?}: {e}", cm.key))),
    }
}
