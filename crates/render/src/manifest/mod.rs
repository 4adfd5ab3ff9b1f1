//! W&B's server manifests (the v2 format W&B publishes for each W&B Server
//! version) read into a release document: the render does not know which
//! kind of document it got.
//!
//! The translation keeps the base document's install (its stores, their
//! ConfigMaps and Secrets, the credentials, the bridge) and takes the
//! manifest's applications, migrations, env groups, generated Secrets,
//! files, routes and sizing in place of the base document's services:
//!
//! - an application is a service under its `legacyKey` (else its name), so
//!   that a chart user's block for it (replicas, resources, env, extraEnv,
//!   scheduling, probes, `containers.*`) applies as in chart mode; its
//!   features gate it (`serverManifest.features.<name>`, the manifest's
//!   values as defaults);
//! - an env var's sources resolve through the base document's bridge
//!   (`serverManifest` section); a var whose sources give nothing takes its
//!   `defaultValue` or is left out, as W&B's v2 operator does;
//! - a migration is a Job of the migrations stage, run before the services;
//! - a generated secret is a Secret the operator makes once, key `key`.

mod apps;
mod env;
mod model;

pub use env::unbridged;
pub use model::ServerManifest;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::catalog::{Catalog, CatalogError, ConfigObject, Entry, OrderedMap, Routes, Source};

/// What is wrong with reading a manifest, and where.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{path}: cannot read it: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path}: no manifest YAML files in the directory")]
    Empty { path: PathBuf },
}

/// A manifest from a directory of YAML files (`manifest.yaml` and
/// `sizing.yaml`, as W&B ships them, merged in name order as v2 merges
/// them) or from one file.
pub fn read(path: &Path) -> Result<ServerManifest, ManifestError> {
    let read_file = |p: &Path| {
        std::fs::read_to_string(p).map_err(|source| ManifestError::Read {
            path: p.to_path_buf(),
            source,
        })
    };
    if !path.is_dir() {
        return parse(path, &read_file(path)?);
    }
    let entries = std::fs::read_dir(path).map_err(|source| ManifestError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml" || e == "yml"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(ManifestError::Empty {
            path: path.to_path_buf(),
        });
    }
    let mut texts = Vec::with_capacity(files.len());
    for file in files {
        let text = read_file(&file)?;
        texts.push((file, text));
    }
    from_texts(&texts)
}

/// A manifest from the texts of its files (a ConfigMap's keys, the files
/// of an OCI artifact), merged in the order given; each error names its
/// file.
pub fn from_texts(files: &[(PathBuf, String)]) -> Result<ServerManifest, ManifestError> {
    let Some((first, later)) = files.split_first() else {
        return Err(ManifestError::Empty {
            path: PathBuf::new(),
        });
    };
    // Parsing the YAML is most of reading a manifest, and W&B ships it as two
    // files of about the same size: each file after the first is parsed on
    // a thread of its own. They are laid over each other in the order given,
    // and the first error in that order is the one returned.
    let parts: Vec<Result<ServerManifest, ManifestError>> = std::thread::scope(|scope| {
        let later: Vec<_> = later
            .iter()
            .map(|(file, text)| scope.spawn(move || parse(file, text)))
            .collect();
        let first = parse(&first.0, &first.1);
        std::iter::once(first)
            .chain(later.into_iter().map(|parsing| {
                parsing
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            }))
            .collect()
    });
    let mut manifest = ServerManifest::default();
    for part in parts {
        merge(&mut manifest, part?);
    }
    Ok(manifest)
}

/// One file of a manifest, typed; the error names the place.
pub fn parse(path: &Path, text: &str) -> Result<ServerManifest, ManifestError> {
    // Typed straight from the YAML (no tree between: a third of the time);
    // what does not type so is read again through a tree, which says where
    // it went wrong and reads what the model's own reading does not (a
    // null in a Kubernetes type, as v2 does).
    match parse_straight(text) {
        Some(manifest) => Ok(manifest),
        None => parse_through_tree(path, text),
    }
}

/// One file typed straight from its YAML; `None` when it does not type so.
pub fn parse_straight(text: &str) -> Option<ServerManifest> {
    if text.len() > wandb_values::load::MAX_FILE_BYTES {
        return None;
    }
    serde_saphyr::from_str_with_options(text, wandb_values::load::yaml_options()).ok()
}

/// One file read through a tree, nulls left out: what [`parse`] falls back
/// to, slower, its error naming the place.
pub fn parse_through_tree(path: &Path, text: &str) -> Result<ServerManifest, ManifestError> {
    let invalid = |message: String| ManifestError::Invalid {
        path: path.to_path_buf(),
        message,
    };
    let mut tree: Value =
        wandb_values::load::parse_yaml("manifest", text).map_err(|p| invalid(p.message))?;
    drop_nulls(&mut tree);
    wandb_values::typed::from_tree(&tree).map_err(|e| {
        let place = e.path().to_string();
        invalid(format!("{place}: {}", e.into_inner()))
    })
}

/// Leaves out the keys whose value is null: v2 reads them as absent (0.83.0's
/// manifests have a `commonEnvs:` with nothing after it).
fn drop_nulls(node: &mut Value) {
    match node {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}

/// Lays a later file of a manifest over the ones before, as v2 does: maps
/// merged key by key, an application's sizing and common envs added to the
/// same application's.
fn merge(into: &mut ServerManifest, part: ServerManifest) {
    into.features.extend(part.features);
    if into.generated_secrets.is_empty() {
        into.generated_secrets = part.generated_secrets;
    }
    into.common_envvars.extend(part.common_envvars);
    into.common_volume_mounts.extend(part.common_volume_mounts);
    if into.kafka.topics.is_empty() {
        into.kafka.topics = part.kafka.topics;
    }
    into.migrations.extend(part.migrations);
    into.bucket.extend(part.bucket);
    for (name, app) in part.applications {
        match into.applications.get_mut(&name) {
            Some(existing) => {
                existing.sizing.extend(app.sizing);
                for env in app.common_envs {
                    if !existing.common_envs.contains(&env) {
                        existing.common_envs.push(env);
                    }
                }
                if app.ingress.is_some() {
                    existing.ingress = app.ingress;
                }
            }
            None => {
                into.applications.insert(name, app);
            }
        }
    }
}

/// The W&B Server version a manifest describes: the tag most of its
/// applications' images carry (the manifest has no field for it).
pub fn version(manifest: &ServerManifest) -> Option<String> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for app in manifest.applications.values() {
        if !app.image.tag.is_empty() {
            *counts.entry(app.image.tag.as_str()).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .max_by_key(|(_, n)| *n)
        .map(|(tag, _)| tag.to_string())
}

/// The release document of a manifest, on the base document's install.
/// `version` names it (`W&B Server 0.84.0`).
pub fn catalog(
    manifest: &ServerManifest,
    version: &str,
    base: &Catalog,
) -> Result<Catalog, CatalogError> {
    let mut parts = base.to_parts();
    let base_services: Vec<String> = parts.services.iter().map(|(k, _)| k.clone()).collect();
    let is_infra = |o: &ConfigObject| !base_services.contains(&o.component);
    parts.release = format!("W&B Server {version} (its server manifest)");
    parts.config_maps.retain(|(_, o)| is_infra(o));
    parts.secrets.retain(|(_, o)| is_infra(o));
    parts.sizing.retain(|k, _| k == "base");
    for (name, vars) in &manifest.common_envvars {
        let group = env::group(manifest, base, vars)?;
        parts.env_groups.insert(env::group_name(name), group);
    }
    let translated = apps::translate(manifest, base)?;
    parts.absent = base_services
        .iter()
        .filter(|k| !translated.services.iter().any(|(s, _)| s == *k))
        .cloned()
        .collect();
    parts.services = translated.services;
    parts.plain_services = parts.services.iter().map(|(k, _)| k.clone()).collect();
    parts.gated = manifest
        .applications
        .values()
        .filter(|a| !a.features.is_empty())
        .map(|a| (apps::key_of(a).to_string(), a.features.clone()))
        .collect();
    parts.config_maps.extend(translated.config_maps);
    parts.sizing.extend(translated.sizing);
    parts.routes = Routes {
        nginx: Default::default(),
        ingress_order: translated.route_order,
        list: translated.routes,
    };
    for secret in &manifest.generated_secrets {
        let data = BTreeMap::from([(
            "key".to_string(),
            Entry::plain(Source::Generated(secret.length.max(1))),
        )]);
        parts.secrets.push((
            env::generated_secret_name(secret),
            ConfigObject {
                component: "generated".into(),
                when: None,
                phase: Default::default(),
                data: OrderedMap(data.into_iter().collect()),
            },
        ));
    }
    if let Value::Object(values) = &mut parts.values {
        // A service's block is the manifest's: the chart's keys of the
        // same service (its pubSub, its cache) mean nothing to it.
        for (key, block) in translated.values {
            values.insert(key, block);
        }
        // Every feature a gate names is a key, off unless the manifest says.
        let named = manifest
            .applications
            .values()
            .flat_map(|a| &a.features)
            .chain(manifest.kafka.topics.iter().flat_map(|t| &t.features));
        let mut features: serde_json::Map<String, Value> =
            named.map(|f| (f.clone(), Value::Bool(false))).collect();
        features.extend(
            manifest
                .features
                .iter()
                .map(|(k, v)| (k.clone(), Value::Bool(*v))),
        );
        // An empty map: the user's to fill with v2 resource fields.
        values.insert(
            "serverManifest".into(),
            serde_json::json!({"features": features, "customResource": {}}),
        );
    }
    Catalog::from_parts(parts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The project's synthetic manifest reads the same both ways (W&B's own
    /// are compared in the peer tier, crates/contract/tests/server_manifests.rs).
    #[test]
    fn typed_straight_from_yaml_as_through_a_tree() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/manifests/synthetic");
        let files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("the synthetic manifest")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        assert!(!files.is_empty());
        for file in files {
            let text = std::fs::read_to_string(&file).expect("readable");
            let direct = parse_straight(&text)
                .unwrap_or_else(|| panic!("{} does not type straight", file.display()));
            let through_tree = parse_through_tree(&file, &text).expect("typed");
            assert_eq!(
                format!("{direct:?}"),
                format!("{through_tree:?}"),
                "{}",
                file.display()
            );
        }
    }

    /// A key with nothing after it is absent, wherever it is.
    #[test]
    fn nulls_read_as_absent() {
        let text = "features:\ncommonEnvvars:\napplications:\n  api:\n    \
                    name: api\n    image:\n    env:\n    - name: A\n      value:\n      \
                    sources:\n    sizing:\n      small:\n        replicas:\n";
        let direct = parse_straight(text).expect("typed straight");
        let path = Path::new("m.yaml");
        assert_eq!(
            format!("{direct:?}"),
            format!("{:?}", parse_through_tree(path, text).expect("typed"))
        );
        let api = &parse(path, text).expect("typed").applications["api"];
        assert_eq!(api.env[0].name, "A");
        assert!(api.env[0].value.is_empty() && api.env[0].sources.is_empty());
        assert!(api.sizing["small"].replicas.is_none());
        // A null where the model holds a map's value: read through the tree.
        let text = "commonEnvvars:\n  base:\n  other:\n  - name: B\n";
        assert_eq!(
            format!("{:?}", parse(path, text).expect("typed")),
            format!("{:?}", parse_through_tree(path, text).expect("typed"))
        );
    }

    #[test]
    fn a_wrong_type_names_its_place() {
        let text = "applications:\n  api:\n    image:\n      tag: [1]\n";
        let error = parse(Path::new("m.yaml"), text).expect_err("a list for a tag");
        let message = error.to_string();
        assert!(
            message.starts_with("m.yaml: applications.api.image.tag:"),
            "{message}"
        );
    }
}
