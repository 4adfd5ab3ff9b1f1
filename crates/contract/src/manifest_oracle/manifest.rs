//! A W&B server manifest as the v2 operator reads it: the fields that decide
//! env (applications, features, env groups, generated secrets, migrations)
//! typed, the rest of each application kept as it is only where the v2 merge
//! touches it (sizing, ingress). Unknown keys are passed over, as v2's
//! decoder (`sigs.k8s.io/yaml`) passes them over.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;

/// A manifest directory that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("{0}: {1}")]
    Parse(PathBuf, ParseError),
    #[error("{0}: no *.yaml file")]
    Empty(PathBuf),
}

/// A manifest file that is not one.
#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("invalid YAML: {0}")]
    Yaml(Box<serde_saphyr::Error>),
    #[error("not a server manifest: {0}")]
    Shape(serde_path_to_error::Error<serde_json::Error>),
}

/// One server manifest: every `*.yaml` of its directory merged.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServerManifest {
    pub required_operator_version: String,
    pub features: BTreeMap<String, bool>,
    pub generated_secrets: Vec<GeneratedSecret>,
    /// Env groups that applications and migrations name in `commonEnvs`.
    pub common_envvars: BTreeMap<String, Vec<EnvVar>>,
    pub applications: BTreeMap<String, Application>,
    pub migrations: BTreeMap<String, Migration>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct GeneratedSecret {
    pub name: String,
    pub length: i64,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Application {
    /// The Application's name; v2 takes the map key when it is empty.
    pub name: String,
    pub legacy_key: String,
    /// The application runs when any of these features is on (none: always).
    pub features: Vec<String>,
    pub common_envs: Vec<String>,
    pub env: Vec<EnvVar>,
    pub containers: Vec<Container>,
    pub init_containers: Vec<Container>,
    pub service: Option<Service>,
    /// Per size, as written (the env does not depend on it).
    pub sizing: BTreeMap<String, Value>,
    pub ingress: Option<Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Container {
    pub name: String,
    pub ports: Vec<ContainerPort>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ContainerPort {
    pub name: String,
    pub container_port: i32,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Service {
    pub ports: Vec<ServicePort>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ServicePort {
    pub name: String,
    pub port: i32,
}

/// A migration Job; not gated by features.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Migration {
    pub common_envs: Vec<String>,
    pub env: Vec<EnvVar>,
}

/// One env var as the manifest declares it. v2 treats an empty `value` or
/// `defaultValue` as absent, so they are plain strings here.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EnvVar {
    pub name: String,
    pub value: String,
    pub value_from: Option<Value>,
    pub sources: Vec<EnvSource>,
    pub default_value: String,
}

/// Where a value comes from: `type` names the kind (mysql, service, ...).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EnvSource {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub field: String,
    pub proto: String,
    pub path: String,
    pub port: String,
}

impl ServerManifest {
    /// One manifest file. A key set to null counts as absent, as in v2
    /// (0.83.0's manifests have `commonEnvs:` with nothing after it).
    pub fn from_yaml(text: &str) -> Result<ServerManifest, ParseError> {
        let mut tree: Value =
            serde_saphyr::from_str(text).map_err(|e| ParseError::Yaml(Box::new(e)))?;
        drop_nulls(&mut tree);
        serde_path_to_error::deserialize(tree).map_err(ParseError::Shape)
    }

    /// A manifest directory as W&B ships it (`manifest.yaml`, `sizing.yaml`):
    /// like v2, every `*.yaml` in it, in the order of their names, merged.
    pub fn read_dir(dir: &Path) -> Result<ServerManifest, ManifestError> {
        let io = |e| ManifestError::Io(dir.to_path_buf(), e);
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            if path.extension().is_some_and(|e| e == "yaml") && path.is_file() {
                files.push(path);
            }
        }
        if files.is_empty() {
            return Err(ManifestError::Empty(dir.to_path_buf()));
        }
        files.sort();
        let mut merged = ServerManifest::default();
        for path in files {
            let text =
                std::fs::read_to_string(&path).map_err(|e| ManifestError::Io(path.clone(), e))?;
            let file = Self::from_yaml(&text).map_err(|e| ManifestError::Parse(path, e))?;
            merged.merge(file);
        }
        Ok(merged)
    }

    /// Adds a later file the way v2 does: maps merge by key, a later key
    /// wins, but an application already known keeps its env and takes only
    /// the later file's sizing, ingress and new `commonEnvs`; generated
    /// secrets come from the first file that has any.
    pub fn merge(&mut self, later: ServerManifest) {
        if self.required_operator_version.is_empty() {
            self.required_operator_version = later.required_operator_version;
        }
        self.features.extend(later.features);
        if self.generated_secrets.is_empty() {
            self.generated_secrets = later.generated_secrets;
        }
        self.common_envvars.extend(later.common_envvars);
        self.migrations.extend(later.migrations);
        for (key, app) in later.applications {
            match self.applications.get_mut(&key) {
                Some(known) => known.merge(app),
                None => {
                    self.applications.insert(key, app);
                }
            }
        }
    }
}

impl Application {
    fn merge(&mut self, later: Application) {
        if later.ingress.is_some() {
            self.ingress = later.ingress;
        }
        self.sizing.extend(later.sizing);
        // Only the groups the earlier file had are left out, as in v2.
        let known = self.common_envs.clone();
        let added = later.common_envs.into_iter().filter(|g| !known.contains(g));
        self.common_envs.extend(added);
    }

    /// Every port v2 may resolve a `service` source against, in its order:
    /// the Service's, then the containers', then the init containers'.
    pub(crate) fn ports(&self) -> impl Iterator<Item = (&str, i32)> {
        let service = self.service.iter().flat_map(|s| &s.ports);
        let containers = self.containers.iter().chain(&self.init_containers);
        service.map(|p| (p.name.as_str(), p.port)).chain(
            containers
                .flat_map(|c| &c.ports)
                .map(|p| (p.name.as_str(), p.container_port)),
        )
    }
}

/// Removes every null-valued key, so that it takes its default.
fn drop_nulls(tree: &mut Value) {
    match tree {
        Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(drop_nulls);
        }
        Value::Array(items) => items.iter_mut().for_each(drop_nulls),
        _ => {}
    }
}
