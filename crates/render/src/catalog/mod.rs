//! The release document: what a W&B Server release needs, as data. The
//! services, their sizing, the values defaults the release brings, the env
//! groups, every ConfigMap and Secret of the install, the routes and the
//! stores' settings. The render is a generic engine over it.
//!
//! The built-in document (`catalog/*.yaml`, one section a file, assembled
//! into one document by build.rs) is today's behaviour; `render --catalog`
//! and the operator (a ConfigMap the resource names) take another. A
//! document is checked strictly when it loads: every error names its place.

mod bridge;
mod check;
mod condition;
mod config;
mod facts;
mod ordered;
mod path;
mod routes;
mod service;
mod source;
#[cfg(test)]
mod tests;

pub use bridge::{Bridge, Bridged};
pub use condition::Condition;
pub use config::{ConfigObject, EnvGroup, Layer, NamedEntry};
pub use facts::Fact;
pub use path::ValuePath;
pub use routes::{Route, Routes};
pub use service::*;
pub use source::{Encoding, Entry, Source};

use std::collections::BTreeMap;
use std::sync::LazyLock;

use serde::Deserialize;
use serde_json::Value;
use wandb_values::Sizing;

use crate::objects::Phase;
pub use ordered::OrderedMap;

/// The built-in document, as `wandb-operator catalog` prints it.
pub const BUILTIN_YAML: &str = include_str!(concat!(env!("OUT_DIR"), "/catalog.yaml"));
// The same as JSON (build.rs), whole for the tests, and in two halves that
// every start types at once (JSON types in a fraction of the time YAML takes).
#[cfg(test)]
const BUILTIN_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/catalog.json"));
const BUILTIN_SERVICES_JSON: &str =
    include_str!(concat!(env!("OUT_DIR"), "/catalog-services.json"));
const BUILTIN_REST_JSON: &str = include_str!(concat!(env!("OUT_DIR"), "/catalog-rest.json"));

/// The built-in document's `values` section as a values file (the chart's
/// values.yaml carries it): its keys at the top, its comments kept.
pub fn builtin_values_yaml() -> String {
    const SECTION: &str = include_str!("../../catalog/values.yaml");
    let body = SECTION
        .split_once("\nvalues:\n")
        .map_or(SECTION, |(_, body)| body);
    let mut out = String::from("# The W&B services, from the built-in release document.\n");
    for line in body.lines() {
        out.push_str(line.strip_prefix("  ").unwrap_or(line));
        out.push('\n');
    }
    out
}

/// What is wrong with a document, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {message}")]
pub struct CatalogError {
    /// `services.app.env.GORILLA_X`, `(document)` for the whole.
    pub place: String,
    pub message: String,
}

impl CatalogError {
    pub fn new(place: impl Into<String>, message: impl Into<String>) -> Self {
        CatalogError {
            place: place.into(),
            message: message.into(),
        }
    }
}

/// A release document, checked.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// What the document describes (`W&B Server as operator-wandb 0.43.8 runs it`).
    pub release: String,
    /// The values defaults it brings, laid over the chart's own.
    pub values: Value,
    /// Values laid over others before the document reads them.
    pub layers: Vec<Layer>,
    /// Env groups by name.
    pub env_groups: BTreeMap<String, EnvGroup>,
    /// Services by values key, in document order.
    pub services: Vec<(String, Service)>,
    /// The env of the in-cluster stores' containers, by name.
    pub store_env: BTreeMap<String, EnvGroup>,
    /// The install's ConfigMaps and Secrets, by name.
    pub config_maps: Vec<(String, ConfigObject)>,
    pub secrets: Vec<(String, ConfigObject)>,
    pub routes: Routes,
    /// Sizing by values key; `base` applies to all.
    pub sizing: BTreeMap<String, BTreeMap<String, Sizing>>,
    /// How W&B's server manifests map onto this document's install.
    pub server_manifest: Bridge,
    /// What it adds to the values (see [`Catalog::additions`]).
    additions: wandb_values::Additions,
}

/// A document's parts, before it is checked.
#[derive(Debug, Clone)]
pub struct Parts {
    pub release: String,
    pub values: Value,
    pub layers: Vec<Layer>,
    pub env_groups: BTreeMap<String, EnvGroup>,
    pub services: Vec<(String, Service)>,
    pub store_env: BTreeMap<String, EnvGroup>,
    pub config_maps: Vec<(String, ConfigObject)>,
    pub secrets: Vec<(String, ConfigObject)>,
    pub routes: Routes,
    pub sizing: BTreeMap<String, BTreeMap<String, Sizing>>,
    pub server_manifest: Bridge,
    /// The values keys of another release's services that this one does
    /// not have (a W&B version's manifest without them).
    pub absent: Vec<String>,
    /// Services whose values blocks take only a service's own keys (a
    /// server manifest's applications).
    pub plain_services: Vec<String>,
    /// Services that run only when one of their features is on.
    pub gated: Vec<(String, Vec<String>)>,
}

/// The document as written.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Document {
    release: String,
    #[serde(default)]
    values: Value,
    #[serde(default)]
    layers: Vec<Layer>,
    #[serde(default)]
    env_groups: BTreeMap<String, EnvGroup>,
    services: OrderedMap<Service>,
    #[serde(default)]
    store_env: BTreeMap<String, EnvGroup>,
    #[serde(default)]
    config_maps: OrderedMap<ConfigObject>,
    #[serde(default)]
    secrets: OrderedMap<ConfigObject>,
    #[serde(default)]
    routes: Routes,
    #[serde(default)]
    sizing: BTreeMap<String, BTreeMap<String, Sizing>>,
    #[serde(default)]
    server_manifest: Bridge,
}

static BUILTIN: LazyLock<Result<Catalog, CatalogError>> = LazyLock::new(Catalog::from_halves);

impl Catalog {
    /// The built-in document, parsed once. A unit test loads it, so an
    /// error here is a build defect; it is still reported, not a panic.
    pub fn builtin() -> Result<&'static Catalog, CatalogError> {
        BUILTIN.as_ref().map_err(Clone::clone)
    }

    /// A document from its YAML text. Typed straight from the text, so
    /// that the document's order is kept; on an error, typed again through
    /// its tree, whose error names the place.
    pub fn from_yaml(text: &str) -> Result<Catalog, CatalogError> {
        match serde_saphyr::from_str::<Document>(text) {
            Ok(doc) => Catalog::from_document(doc),
            Err(direct) => {
                let tree: Value = wandb_values::load::parse_yaml("(document)", text)
                    .map_err(|p| CatalogError::new("(document)", p.message))?;
                Catalog::from_tree(tree)?;
                // The tree typed where the text did not: say what the parser said.
                let text = direct.without_snippet().to_string();
                let first = text.lines().next().unwrap_or_default().to_string();
                Err(CatalogError::new("(document)", first))
            }
        }
    }

    /// A document from its JSON text, typed and checked.
    #[cfg(test)]
    fn from_json(text: &str) -> Result<Catalog, CatalogError> {
        let doc: Document = wandb_values::typed::from_json(text).map_err(typing_error)?;
        Catalog::from_document(doc)
    }

    /// The built-in document from its two halves, typed at once: typing it
    /// is most of a render process's start. It is not checked here: its
    /// checks depend on nothing but the build, and a unit test runs them
    /// (at every start they would read most of the values' schema).
    fn from_halves() -> Result<Catalog, CatalogError> {
        let (services, rest) = std::thread::scope(|scope| {
            let rest =
                scope.spawn(|| wandb_values::typed::from_json::<Document>(BUILTIN_REST_JSON));
            let services = wandb_values::typed::from_json::<Document>(BUILTIN_SERVICES_JSON);
            let rest = rest
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            (services, rest)
        });
        let services = services.map_err(typing_error)?;
        let rest = rest.map_err(typing_error)?;
        Ok(Catalog::unchecked(Catalog::parts_of(Document {
            services: services.services,
            layers: services.layers,
            routes: services.routes,
            sizing: services.sizing,
            ..rest
        })))
    }

    /// A document from its parsed tree: typed, then checked.
    pub fn from_tree(tree: Value) -> Result<Catalog, CatalogError> {
        let doc: Document = wandb_values::typed::from_tree(&tree).map_err(typing_error)?;
        Catalog::from_document(doc)
    }

    fn from_document(doc: Document) -> Result<Catalog, CatalogError> {
        Catalog::from_parts(Catalog::parts_of(doc))
    }

    fn parts_of(doc: Document) -> Parts {
        Parts {
            release: doc.release,
            values: match doc.values {
                Value::Null => Value::Object(Default::default()),
                v => v,
            },
            layers: doc.layers,
            env_groups: doc.env_groups,
            services: doc.services.0,
            store_env: doc.store_env,
            config_maps: doc.config_maps.0,
            secrets: doc.secrets.0,
            routes: doc.routes,
            sizing: doc.sizing,
            server_manifest: doc.server_manifest,
            absent: Vec::new(),
            plain_services: Vec::new(),
            gated: Vec::new(),
        }
    }

    /// A document from its parts, checked.
    pub fn from_parts(parts: Parts) -> Result<Catalog, CatalogError> {
        let catalog = Catalog::unchecked(parts);
        check::check(&catalog)?;
        Ok(catalog)
    }

    fn unchecked(parts: Parts) -> Catalog {
        let sizes: std::collections::BTreeSet<&String> =
            parts.sizing.values().flat_map(|s| s.keys()).collect();
        let additions = wandb_values::Additions {
            defaults: parts.values.clone(),
            services: parts.services.iter().map(|(k, _)| k.clone()).collect(),
            sizes: sizes.into_iter().cloned().collect(),
            absent: parts.absent.clone(),
            plain_services: parts.plain_services.clone(),
            gated: parts.gated.clone(),
            release: parts.release.clone(),
        };
        Catalog {
            release: parts.release,
            values: parts.values,
            additions,
            layers: parts.layers,
            env_groups: parts.env_groups,
            services: parts.services,
            store_env: parts.store_env,
            config_maps: parts.config_maps,
            secrets: parts.secrets,
            routes: parts.routes,
            sizing: parts.sizing,
            server_manifest: parts.server_manifest,
        }
    }

    /// Its parts, to make another document of (a server manifest's).
    pub fn to_parts(&self) -> Parts {
        Parts {
            release: self.release.clone(),
            values: self.values.clone(),
            layers: self.layers.clone(),
            env_groups: self.env_groups.clone(),
            services: self.services.clone(),
            store_env: self.store_env.clone(),
            config_maps: self.config_maps.clone(),
            secrets: self.secrets.clone(),
            routes: self.routes.clone(),
            sizing: self.sizing.clone(),
            server_manifest: self.server_manifest.clone(),
            absent: self.additions.absent.clone(),
            plain_services: self.additions.plain_services.clone(),
            gated: self.additions.gated.clone(),
        }
    }

    pub fn service(&self, key: &str) -> Option<&Service> {
        self.services.iter().find(|(k, _)| k == key).map(|(_, s)| s)
    }

    /// The env group a user's `envTpls` entry names (`wandb.bucketEnvs`).
    pub fn group_of_helper(&self, helper: &str) -> Option<&EnvGroup> {
        self.env_groups
            .values()
            .find(|g| g.helpers.iter().any(|h| h == helper))
    }

    /// What the document adds to the values: its defaults and its services.
    pub fn additions(&self) -> &wandb_values::Additions {
        &self.additions
    }
}

/// A typing error, at its place.
fn typing_error<E: std::fmt::Display>(e: serde_path_to_error::Error<E>) -> CatalogError {
    let place = e.path().to_string();
    let place = if place == "." {
        "(document)".into()
    } else {
        place
    };
    CatalogError::new(place, e.into_inner().to_string())
}

/// The phase of an install-wide object.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ObjectPhase {
    #[default]
    Main,
    PreInstall,
}

impl From<ObjectPhase> for Phase {
    fn from(p: ObjectPhase) -> Phase {
        match p {
            ObjectPhase::Main => Phase::Main,
            ObjectPhase::PreInstall => Phase::PreInstall,
        }
    }
}
