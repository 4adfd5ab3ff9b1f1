//! The release document of a W&B Server version from W&B's server
//! manifests (`spec.values.serverManifest`): read from the ConfigMap
//! `serverManifest.configMap` names (air-gapped sites), else pulled as
//! `<serverManifest.repository>:<serverManifest.version>`.
//!
//! A version is pulled once: its files are kept in memory and in a
//! ConfigMap `<release>-server-manifest-<version>` the resource owns, which
//! a restarted operator reads instead of pulling. A failed pull is tried
//! again after a backoff (10 s, doubling, at most 10 min; at once for a new
//! generation of the spec), not at every reconcile.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};
use tracing::{info, warn};
use wandb_render::Catalog;

use super::{Context, Error};
use crate::crd::WeightsAndBiases;
use crate::kinds;
use crate::server_manifest::{self, Credentials, Reference, pull::FILES};

/// How many pulled versions are kept in memory (an upgrade needs two).
const KEPT: usize = 8;
const FIRST_BACKOFF: Duration = Duration::from_secs(10);
const MAX_BACKOFF: Duration = Duration::from_secs(600);
/// The annotation of a kept manifest's ConfigMap naming what was pulled.
pub const PULLED_FROM_ANNOTATION: &str = "apps.wandb.com/server-manifest-reference";
pub const DIGEST_ANNOTATION: &str = "apps.wandb.com/server-manifest-digest";

/// A release document made from a server manifest.
pub struct ManifestDocument {
    pub catalog: Catalog,
    /// The W&B Server version it runs: its applications' most common tag.
    pub version: String,
    /// The values key it came from, for messages.
    pub key: &'static str,
}

/// Where an install's server manifest comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wanted {
    ConfigMap(String),
    Pull(Reference),
}

/// Documents made from manifests, and the pulls that failed.
#[derive(Default)]
pub struct ServerManifests {
    /// By reference (`repository:version`).
    pulled: Mutex<BTreeMap<String, Arc<ManifestDocument>>>,
    /// By `<namespace>/<name>` of the ConfigMap, with its resourceVersion.
    from_config_maps: Mutex<BTreeMap<String, (String, Arc<ManifestDocument>)>>,
    /// By reference.
    failed: Mutex<BTreeMap<String, Failed>>,
    /// Pulls started: a version is pulled once.
    pub pulls: AtomicU64,
}

struct Failed {
    attempts: u32,
    next: Instant,
    generation: Option<i64>,
    why: String,
}

/// The manifest the spec asks for: `None` for none (the built-in or
/// `spec.catalog`'s document). Read from the spec's values as given,
/// since which document types the values depends on it.
pub fn wanted(wandb: &WeightsAndBiases) -> Result<Option<Wanted>, String> {
    let values = &wandb.spec.values;
    let text = |key: &str| -> Result<String, String> {
        match values.pointer(&format!("/serverManifest/{key}")) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.trim().to_string()),
            Some(other) => Err(format!(
                "spec.values.serverManifest.{key}: expected a string, found {other}"
            )),
        }
    };
    let (version, config_map) = (text("version")?, text("configMap")?);
    if version.is_empty() && config_map.is_empty() {
        return Ok(None);
    }
    if wandb.spec.catalog.is_some() {
        let key = if config_map.is_empty() {
            "spec.values.serverManifest.version"
        } else {
            "spec.values.serverManifest.configMap"
        };
        return Err(format!(
            "spec.catalog and {key} are both set: each names the release document to run; \
             unset one"
        ));
    }
    if !config_map.is_empty() {
        return Ok(Some(Wanted::ConfigMap(config_map)));
    }
    let mut repository = text("repository")?;
    if repository.is_empty() {
        repository = wandb_values::load::defaults()
            .pointer("/serverManifest/repository")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
    }
    Reference::new(&repository, &version)
        .map(|r| Some(Wanted::Pull(r)))
        .map_err(|e| format!("spec.values.serverManifest: {e}"))
}

/// The document of `wanted`; `Ok(Err(why))` when it cannot be had, `why`
/// naming the key, the reference or ConfigMap, and the failing step.
pub async fn document(
    wandb: &WeightsAndBiases,
    ctx: &Context,
    wanted: Wanted,
) -> Result<Result<Arc<ManifestDocument>, String>, Error> {
    match wanted {
        Wanted::ConfigMap(name) => from_config_map(wandb, ctx, &name).await,
        Wanted::Pull(reference) => pulled(wandb, ctx, &reference).await,
    }
}

async fn from_config_map(
    wandb: &WeightsAndBiases,
    ctx: &Context,
    name: &str,
) -> Result<Result<Arc<ManifestDocument>, String>, Error> {
    let namespace = wandb.namespace().unwrap_or_default();
    let shown = format!("spec.values.serverManifest.configMap: ConfigMap {namespace}/{name}");
    let Some(live) = get_config_map(ctx, name, &namespace).await? else {
        return Ok(Err(format!("{shown} not found")));
    };
    let version = live["metadata"]["resourceVersion"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let id = format!("{namespace}/{name}");
    if let Ok(cache) = ctx.server_manifests.from_config_maps.lock()
        && let Some((seen, document)) = cache.get(&id)
        && *seen == version
        && !version.is_empty()
    {
        return Ok(Ok(document.clone()));
    }
    let files = match files_of(&live) {
        Ok(files) => files,
        Err(missing) => return Ok(Err(format!("{shown} has no key {missing:?}"))),
    };
    let key = "spec.values.serverManifest.configMap";
    match build(&files, key) {
        Ok(document) => {
            let document = Arc::new(document);
            if let Ok(mut cache) = ctx.server_manifests.from_config_maps.lock() {
                cache.insert(id, (version, document.clone()));
            }
            Ok(Ok(document))
        }
        Err(e) => Ok(Err(format!("{shown}, key {e}"))),
    }
}

async fn pulled(
    wandb: &WeightsAndBiases,
    ctx: &Context,
    reference: &Reference,
) -> Result<Result<Arc<ManifestDocument>, String>, Error> {
    let id = reference.to_string();
    let state = &ctx.server_manifests;
    if let Some(document) = state.pulled.lock().ok().and_then(|c| c.get(&id).cloned()) {
        return Ok(Ok(document));
    }
    let namespace = wandb.namespace().unwrap_or_default();
    let kept_name = kept_name(&wandb.name_any(), &reference.tag);
    if let Some(kept) = get_config_map(ctx, &kept_name, &namespace).await?
        && kept["metadata"]["annotations"][PULLED_FROM_ANNOTATION] == id.as_str()
        && let Ok(files) = files_of(&kept)
        && let Ok(document) = build(&files, "spec.values.serverManifest.version")
    {
        return Ok(Ok(keep(ctx, &id, document)));
    }
    if let Some(why) = backing_off(ctx, &id, wandb.metadata.generation) {
        return Ok(Err(why));
    }
    let credentials = credentials_for(wandb, ctx, &namespace, &reference.registry).await?;
    state.pulls.fetch_add(1, Ordering::Relaxed);
    info!(resource = %wandb.name_any(), reference = %id, "pulling a server manifest");
    let at = format!("spec.values.serverManifest.version: pulling {id}");
    let pulled = match server_manifest::pull(reference, credentials.as_ref()).await {
        Ok(pulled) => pulled,
        Err(e) => return Ok(Err(failed(ctx, &id, wandb, format!("{at}: {e}")))),
    };
    let files: Vec<(String, String)> = pulled.files.clone().into_iter().collect();
    let document = match build(&files, "spec.values.serverManifest.version") {
        Ok(document) => document,
        Err(e) => {
            let why = format!(
                "spec.values.serverManifest.version: {id} ({}): {e}",
                pulled.digest
            );
            return Ok(Err(failed(ctx, &id, wandb, why)));
        }
    };
    info!(resource = %wandb.name_any(), reference = %id, digest = %pulled.digest, "pulled a server manifest");
    let body = kept_config_map(wandb, &kept_name, &id, &pulled);
    // Keeping it spares a restarted operator the pull; not keeping it
    // changes nothing that runs.
    if let Err(e) = ctx
        .apply_value("ConfigMap", &kept_name, Some(&namespace), &body)
        .await
    {
        warn!(resource = %wandb.name_any(), error = %e, "keeping the pulled server manifest failed");
    }
    if let Ok(mut failures) = state.failed.lock() {
        failures.remove(&id);
    }
    Ok(Ok(keep(ctx, &id, document)))
}

/// Keeps a pulled version's document in memory, the oldest going first.
fn keep(ctx: &Context, id: &str, document: ManifestDocument) -> Arc<ManifestDocument> {
    let document = Arc::new(document);
    if let Ok(mut cache) = ctx.server_manifests.pulled.lock() {
        while cache.len() >= KEPT {
            let Some(first) = cache.keys().next().cloned() else {
                break;
            };
            cache.remove(&first);
        }
        cache.insert(id.to_string(), document.clone());
    }
    document
}

/// The last failure's message while its backoff lasts (a new generation
/// of the spec ends it).
fn backing_off(ctx: &Context, id: &str, generation: Option<i64>) -> Option<String> {
    let failures = ctx.server_manifests.failed.lock().ok()?;
    let f = failures.get(id)?;
    (f.generation == generation && Instant::now() < f.next).then(|| f.why.clone())
}

/// Records a failure and its backoff; returns `why`.
fn failed(ctx: &Context, id: &str, wandb: &WeightsAndBiases, why: String) -> String {
    warn!(resource = %wandb.name_any(), reason = %why, "server manifest not had");
    if let Ok(mut failures) = ctx.server_manifests.failed.lock() {
        let attempts = failures.get(id).map_or(0, |f| f.attempts) + 1;
        failures.insert(
            id.to_string(),
            Failed {
                attempts,
                next: Instant::now() + backoff(attempts),
                generation: wandb.metadata.generation,
                why: why.clone(),
            },
        );
    }
    why
}

/// 10 s after the first failure, doubling, at most 10 min.
pub fn backoff(attempts: u32) -> Duration {
    let doubled = FIRST_BACKOFF.saturating_mul(1 << attempts.saturating_sub(1).min(10));
    doubled.min(MAX_BACKOFF)
}

/// The document of a manifest's files; the error names the file and place.
fn build(files: &[(String, String)], key: &'static str) -> Result<ManifestDocument, String> {
    let texts: Vec<(PathBuf, String)> = files
        .iter()
        .map(|(name, text)| (PathBuf::from(name), text.clone()))
        .collect();
    let manifest = wandb_render::manifest::from_texts(&texts).map_err(|e| e.to_string())?;
    let version = wandb_render::manifest::version(&manifest)
        .ok_or_else(|| "manifest.yaml: no application has an image tag".to_string())?;
    let base = Catalog::builtin().map_err(|e| format!("the built-in release document: {e}"))?;
    let catalog = wandb_render::manifest::catalog(&manifest, &version, base)
        .map_err(|e| format!("manifest.yaml: {e}"))?;
    Ok(ManifestDocument {
        catalog,
        version,
        key,
    })
}

/// A ConfigMap's `manifest.yaml` and `sizing.yaml`, in that order; `Err`
/// names the first key missing.
fn files_of(config_map: &Value) -> Result<Vec<(String, String)>, &'static str> {
    FILES
        .iter()
        .map(|file| {
            config_map["data"][*file]
                .as_str()
                .map(|text| (file.to_string(), text.to_string()))
                .ok_or(*file)
        })
        .collect()
}

async fn get_config_map(
    ctx: &Context,
    name: &str,
    namespace: &str,
) -> Result<Option<Value>, Error> {
    match kinds::info("ConfigMap") {
        Some(info) => ctx.get(info, name, Some(namespace)).await,
        None => Ok(None),
    }
}

/// `<release>-server-manifest-<version>`, as a ConfigMap may be named.
pub fn kept_name(release: &str, version: &str) -> String {
    let raw = format!("{release}-server-manifest-{version}").to_ascii_lowercase();
    let name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .take(253)
        .collect();
    name.trim_end_matches(['-', '.']).to_string()
}

/// The ConfigMap that keeps a pulled version, owned by the resource (so
/// it goes with it).
fn kept_config_map(
    wandb: &WeightsAndBiases,
    name: &str,
    id: &str,
    pulled: &server_manifest::Pulled,
) -> Value {
    let owner = wandb.controller_owner_ref(&());
    json!({
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name,
            "namespace": wandb.namespace(),
            "annotations": {
                PULLED_FROM_ANNOTATION: id,
                DIGEST_ANNOTATION: pulled.digest,
            },
            "ownerReferences": owner.map(|o| vec![o]).unwrap_or_default(),
        },
        "data": pulled.files,
    })
}

/// The credentials for `registry` among the install's image pull Secrets
/// (`global.imagePullSecrets`), the first that has some.
async fn credentials_for(
    wandb: &WeightsAndBiases,
    ctx: &Context,
    namespace: &str,
    registry: &str,
) -> Result<Option<Credentials>, Error> {
    let listed = wandb
        .spec
        .values
        .pointer("/global/imagePullSecrets")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let Some(info) = kinds::info("Secret") else {
        return Ok(None);
    };
    for secret in wandb_render::workload::pull_secrets(&[], &listed) {
        let Some(live) = ctx.get(info, &secret.name, Some(namespace)).await? else {
            continue;
        };
        for key in [".dockerconfigjson", ".dockercfg"] {
            let Some(encoded) = live["data"][key].as_str() else {
                continue;
            };
            let Ok(config) = base64::engine::general_purpose::STANDARD.decode(encoded) else {
                continue;
            };
            if let Some(found) = server_manifest::auth::from_docker_config(&config, registry) {
                return Ok(Some(found));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resource(values: Value, catalog: bool) -> WeightsAndBiases {
        let mut spec = json!({"values": values});
        if catalog {
            spec["catalog"] = json!({"configMap": {"name": "doc", "key": "release.yaml"}});
        }
        serde_json::from_value(json!({
            "apiVersion": "apps.wandb.com/v1", "kind": "WeightsAndBiases",
            "metadata": {"name": "wandb", "namespace": "wandb"}, "spec": spec
        }))
        .unwrap()
    }

    #[test]
    fn which_manifest_the_values_ask_for() {
        assert_eq!(wanted(&resource(json!({}), false)), Ok(None));
        let pull = wanted(&resource(
            json!({"serverManifest": {"version": "0.84.0"}}),
            false,
        ));
        let Ok(Some(Wanted::Pull(r))) = pull else {
            panic!("{pull:?}")
        };
        assert_eq!(
            r.to_string(),
            "us-docker.pkg.dev/wandb-production/public/wandb/server-manifest:0.84.0"
        );
        // The ConfigMap wins over a pull.
        let both = json!({"serverManifest": {"version": "0.84.0", "configMap": "m"}});
        assert_eq!(
            wanted(&resource(both, false)),
            Ok(Some(Wanted::ConfigMap("m".into())))
        );
    }

    #[test]
    fn a_manifest_and_spec_catalog_together_are_refused_naming_both() {
        let why = wanted(&resource(
            json!({"serverManifest": {"version": "0.84.0"}}),
            true,
        ));
        assert_eq!(
            why,
            Err(
                "spec.catalog and spec.values.serverManifest.version are both set: each names \
                 the release document to run; unset one"
                    .into()
            )
        );
        let why = wanted(&resource(json!({"serverManifest": {"version": 84}}), false));
        assert!(why.is_err_and(|w| w.contains("serverManifest.version: expected a string")));
    }

    #[test]
    fn backoff_doubles_to_ten_minutes() {
        let secs: Vec<u64> = (1..=8).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(secs, [10, 20, 40, 80, 160, 320, 600, 600]);
        assert_eq!(backoff(1000), MAX_BACKOFF);
    }

    #[test]
    fn kept_names_are_config_map_names() {
        assert_eq!(kept_name("wandb", "0.84.0"), "wandb-server-manifest-0.84.0");
        assert_eq!(
            kept_name("W", "0.83.0_rc.1"),
            "w-server-manifest-0.83.0-rc.1"
        );
    }
}
