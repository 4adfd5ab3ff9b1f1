//! The install's ConfigMaps and Secrets, and the env groups services share.

use serde::Deserialize;

use super::ObjectPhase;
use super::condition::Condition;
use super::ordered::OrderedMap;
use super::source::Entry;

/// A ConfigMap or Secret of the install. Its data's entries are left out
/// when their `when` does not hold (or `omitEmpty` and "").
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConfigObject {
    /// The component it belongs to (`app.kubernetes.io/name`).
    pub component: String,
    /// Rendered only when this holds.
    pub when: Option<Condition>,
    #[serde(default)]
    pub phase: ObjectPhase,
    #[serde(default)]
    pub data: OrderedMap<Entry>,
}

/// Env vars several services take, in order (upstream's env helpers).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EnvGroup {
    /// Upstream's helpers (`wandb.bucketEnvs`) whose vars these are: a
    /// service's `envTpls` names them.
    #[serde(default)]
    pub helpers: Vec<String>,
    /// Groups whose vars come first.
    #[serde(default)]
    pub include: Vec<String>,
    /// The group's vars are given only when this holds.
    pub when: Option<Condition>,
    pub env: Vec<NamedEntry>,
}

/// Values laid over others before the document reads them: `path`'s keys
/// over `over`'s, each key whole but those of `merge_maps`, whose maps merge.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Layer {
    pub path: super::ValuePath,
    pub over: super::ValuePath,
    #[serde(default)]
    pub merge_maps: Vec<String>,
}

/// An env var of a group: its name and its entry.
#[derive(Debug, Clone)]
pub struct NamedEntry {
    pub name: String,
    pub entry: Entry,
}

impl<'de> Deserialize<'de> for NamedEntry {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut value = serde_json::Value::deserialize(d)?;
        let name = match value.as_object_mut().and_then(|m| m.remove("name")) {
            Some(serde_json::Value::String(name)) if !name.is_empty() => name,
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "name: expected the env var's name, found {}",
                    super::source::describe(&other)
                )));
            }
            None => return Err(D::Error::custom("an env var needs a name")),
        };
        let entry = super::source::parse_entry(&value)
            .map_err(|e| D::Error::custom(format!("{name}: {e}")))?;
        Ok(NamedEntry { name, entry })
    }
}
