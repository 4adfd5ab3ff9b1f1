//! A manifest's env vars as the document's entries: a value, a `valueFrom`,
//! or sources resolved through the base document's bridge.

use std::collections::BTreeSet;

use crate::catalog::{
    Bridged, Catalog, CatalogError, Entry, EnvFromSpec, EnvGroup, NamedEntry, Source, ValuePath,
};

use super::model::{EnvSource, EnvVar, GeneratedSecret, ServerManifest};

/// The document's name of a manifest's env group.
pub fn group_name(name: &str) -> String {
    format!("manifest:{name}")
}

/// The Secret a generated secret is kept in.
pub fn generated_secret_name(secret: &GeneratedSecret) -> String {
    if secret.use_exact_name {
        secret.name.clone()
    } else {
        format!("{{release}}-{}", secret.name)
    }
}

/// A manifest's env group.
pub fn group(
    manifest: &ServerManifest,
    base: &Catalog,
    vars: &[EnvVar],
) -> Result<EnvGroup, CatalogError> {
    let env = vars
        .iter()
        .map(|v| {
            Ok(NamedEntry {
                name: v.name.clone(),
                entry: entry(manifest, base, v)?,
            })
        })
        .collect::<Result<_, CatalogError>>()?;
    Ok(EnvGroup {
        helpers: Vec::new(),
        include: Vec::new(),
        when: None,
        env,
    })
}

/// What a container needs for the sources of some env vars: env groups
/// first, then ConfigMaps and Secrets as its env.
#[derive(Debug, Default)]
pub struct Needs {
    pub env_groups: Vec<String>,
    pub env_from: Vec<EnvFromSpec>,
}

impl Needs {
    /// Adds what the sources of `vars` need.
    pub fn add(&mut self, base: &Catalog, vars: &[EnvVar]) {
        for source in vars.iter().flat_map(|v| &v.sources) {
            let Some(b) = bridged(base, source) else {
                continue;
            };
            for g in &b.env_groups {
                if !self.env_groups.contains(g) {
                    self.env_groups.push(g.clone());
                }
            }
            for f in &b.env_from {
                if !self.env_from.contains(f) {
                    self.env_from.push(f.clone());
                }
            }
        }
    }
}

/// The bridge's entry of a source type or resource field.
fn bridged<'c>(base: &'c Catalog, source: &EnvSource) -> Option<&'c Bridged> {
    let bridge = &base.server_manifest;
    match source.kind.as_str() {
        "custom-resource" => bridge.custom_resource.get(&source.field),
        kind => bridge.sources.get(kind),
    }
}

/// One env var: its value, its `valueFrom`, or its sources (each resolved
/// or skipped, texts joined by commas as v2 joins them), then its
/// `defaultValue`; left out when all that gives nothing.
pub fn entry(
    manifest: &ServerManifest,
    base: &Catalog,
    var: &EnvVar,
) -> Result<Entry, CatalogError> {
    if !var.value.is_empty() {
        return Ok(Entry::plain(Source::Text(var.value.clone())));
    }
    if let Some(from) = &var.value_from {
        return Ok(Entry::plain(Source::ValueFrom(Box::new(from.clone()))));
    }
    let parts: Vec<Source> = var
        .sources
        .iter()
        .filter_map(|s| part(manifest, base, s))
        .collect();
    let resolved = match parts.as_slice() {
        [] => None,
        [one] => Some(one.clone()),
        _ if parts.iter().all(Source::is_text) => Some(Source::Join {
            parts,
            separator: ",".into(),
        }),
        _ => {
            return Err(CatalogError::new(
                format!("env {}", var.name),
                "its sources mix a Secret's value with others, which this operator does not join",
            ));
        }
    };
    let mut entries = Vec::new();
    if let Some(source) = resolved {
        entries.push(Entry {
            source,
            when: None,
            omit_empty: true,
            key: None,
        });
    }
    if !var.default_value.is_empty() {
        entries.push(Entry::plain(Source::Text(var.default_value.clone())));
    }
    Ok(Entry::plain(Source::OneOf(entries)))
}

/// One source of an env var, as the document gives it; `None` when it can
/// give nothing here (v2 skips it too).
fn part(manifest: &ServerManifest, base: &Catalog, source: &EnvSource) -> Option<Source> {
    match source.kind.as_str() {
        "service" => service_url(manifest, source),
        "generatedSecret" => manifest
            .generated_secrets
            .iter()
            .find(|g| g.name == source.name)
            .map(|g| Source::Secret {
                name: Box::new(Source::Text(generated_secret_name(g))),
                key: Box::new(Source::Text("key".into())),
                optional: false,
            }),
        "custom-resource" => {
            // The field as the user sets it under `serverManifest.customResource`
            // (v2's resource, in YAML), else the chart key the bridge names.
            let own = ValuePath::parse(&format!("{CUSTOM_RESOURCE}.{}", source.field)).ok()?;
            let mut entries = vec![Entry {
                omit_empty: true,
                ..Entry::plain(Source::ValueOrRef {
                    path: own,
                    plain: None,
                })
            }];
            entries.extend(bridged(base, source).and_then(|b| b.value.clone()));
            Some(Source::OneOf(entries))
        }
        _ => {
            let b = bridged(base, source)?;
            let entry = if source.field.is_empty() {
                b.value.as_ref()
            } else {
                b.fields.get(&source.field)
            }?;
            Some(as_source(entry))
        }
    }
}

/// Where a user sets fields of W&B's v2 resource that no chart key carries.
pub const CUSTOM_RESOURCE: &str = "serverManifest.customResource";

/// An entry as a source: its conditions kept (nothing when they fail).
fn as_source(entry: &Entry) -> Source {
    if entry.when.is_none() && !entry.omit_empty {
        entry.source.clone()
    } else {
        Source::OneOf(vec![entry.clone()])
    }
}

/// A Service of the manifest's, as v2 addresses it: `proto://` (when
/// given), its fully qualified name, the port (named, else the first), the
/// path. The Service is the application's as this document names it.
fn service_url(manifest: &ServerManifest, source: &EnvSource) -> Option<Source> {
    let app = manifest.applications.get(&source.name)?;
    let port = super::apps::port_of(app, &source.port)?;
    let proto = if source.proto.is_empty() {
        String::new()
    } else {
        format!("{}://", source.proto)
    };
    let service = super::apps::service_name(app);
    Some(Source::Text(format!(
        "{proto}{service}.{{namespace}}.svc.cluster.local:{port}{}",
        source.path
    )))
}

/// The source types and fields a manifest's env reads that the bridge does
/// not give: each a documented omission (the env var takes its
/// `defaultValue`, or is left out).
pub fn unbridged(manifest: &ServerManifest, base: &Catalog) -> BTreeSet<String> {
    let vars = manifest
        .common_envvars
        .values()
        .flatten()
        .chain(manifest.applications.values().flat_map(|a| &a.env))
        .chain(manifest.migrations.values().flat_map(|m| &m.env));
    let mut out = BTreeSet::new();
    for source in vars.flat_map(|v| &v.sources) {
        let given = match source.kind.as_str() {
            "service" | "generatedSecret" => true,
            "custom-resource" => bridged(base, source).is_some(),
            _ => part(manifest, base, source).is_some(),
        };
        if !given {
            out.insert(match source.kind.as_str() {
                "custom-resource" => source.field.clone(),
                kind if source.field.is_empty() => kind.to_string(),
                kind => format!("{kind}.{}", source.field),
            });
        }
    }
    out
}
