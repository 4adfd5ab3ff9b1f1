//! One workload's env as v2 builds it from the manifest: the env groups and
//! the workload's own env combined, then each var given its value, its
//! `valueFrom`, its sources, its default, or left out.

use super::manifest::{EnvSource, EnvVar, ServerManifest};
use super::telemetry;
use super::{EnvEntry, Form, Kind, Settings, SourceType};

/// The env groups in the order named (a missing group adds nothing), then
/// the workload's own env; each own var first takes out the first var of
/// the same name before it, so own env beats a group's. Duplicates between
/// groups stay, as in v2.
pub(super) fn combine<'m>(
    manifest: &'m ServerManifest,
    groups: &[String],
    own: &'m [EnvVar],
) -> Vec<&'m EnvVar> {
    let mut combined: Vec<&EnvVar> = groups
        .iter()
        .filter_map(|g| manifest.common_envvars.get(g))
        .flatten()
        .collect();
    for var in own {
        if let Some(i) = combined.iter().position(|c| c.name == var.name) {
            combined.remove(i);
        }
    }
    combined.extend(own);
    combined
}

/// What a source resolves against: the manifest, and the install as v2's
/// custom resource and status would hold it.
pub(super) struct Resolver<'a> {
    pub manifest: &'a ServerManifest,
    pub settings: &'a Settings,
}

impl Resolver<'_> {
    /// The env of one workload, in v2's order.
    pub fn env(&self, groups: &[String], own: &[EnvVar]) -> Vec<EnvEntry> {
        combine(self.manifest, groups, own)
            .into_iter()
            .flat_map(|var| self.var(var))
            .collect()
    }

    /// One var: nothing, itself, or (when it joins a secret with other
    /// parts) a `<NAME>_<i>` secretKeyRef per secret part before it.
    fn var(&self, var: &EnvVar) -> Vec<EnvEntry> {
        let entry = |kind| vec![EnvEntry::new(&var.name, kind)];
        if !var.value.is_empty() {
            return entry(Kind::Value(var.value.clone()));
        }
        if var.value_from.is_some() {
            return entry(Kind::ValueFrom);
        }
        let parts: Vec<(usize, SourceType, Form)> = var
            .sources
            .iter()
            .enumerate()
            .filter_map(|(i, s)| Some((i, SourceType::of(&s.kind), self.source(s)?)))
            .collect();
        match parts.as_slice() {
            [] if var.default_value.is_empty() => vec![],
            [] => entry(Kind::Default(var.default_value.clone())),
            [(_, source, Form::SecretRef)] => entry(Kind::Resolved {
                sources: vec![source.clone()],
                form: Form::SecretRef,
            }),
            _ => {
                // v2 joins the parts with ",", a secret part as `$(<NAME>_<i>)`.
                let mut out: Vec<EnvEntry> = parts
                    .iter()
                    .filter(|(_, _, form)| *form == Form::SecretRef)
                    .map(|(i, source, _)| {
                        let part = Kind::Part {
                            of: var.name.clone(),
                            source: source.clone(),
                        };
                        EnvEntry::new(&format!("{}_{i}", var.name), part)
                    })
                    .collect();
                let form = match parts.as_slice() {
                    [(_, _, Form::Empty)] => Form::Empty,
                    _ => Form::Literal,
                };
                let sources = parts.into_iter().map(|(_, s, _)| s).collect();
                out.push(EnvEntry::new(&var.name, Kind::Resolved { sources, form }));
                out
            }
        }
    }

    /// One source, or `None` where v2 skips it.
    fn source(&self, src: &EnvSource) -> Option<Form> {
        match SourceType::of(&src.kind) {
            // The stores are there (v2 runs no application before they
            // are); a named instance v2 has not made falls back to `default`.
            SourceType::Mysql | SourceType::Redis | SourceType::Bucket | SourceType::Kafka => {
                Some(Form::SecretRef)
            }
            SourceType::Clickhouse => clickhouse_field(&src.field).then_some(Form::SecretRef),
            SourceType::GeneratedSecret => self
                .manifest
                .generated_secrets
                .iter()
                .any(|s| s.name == src.name)
                .then_some(Form::SecretRef),
            SourceType::Telemetry => {
                let secret = !src.name.trim().is_empty() || self.settings.telemetry;
                let key = telemetry::key(&src.field).is_some() || src.field.starts_with("OTEL_");
                (secret && key).then_some(Form::SecretRef)
            }
            SourceType::Service => self.service(src).then_some(Form::Literal),
            // v2's defaulting turns internal service auth on.
            SourceType::JwtIssuerMap => Some(Form::Literal),
            SourceType::CustomResource => self.settings.custom_resource(&src.field),
            SourceType::Unknown(_) => None,
        }
    }

    /// A service URL resolves from the manifest alone: the application is
    /// in it (features aside) and has the port asked for. (v2 would then
    /// look for a live Service labelled with the name; the operator makes
    /// those only for manifest applications.)
    fn service(&self, src: &EnvSource) -> bool {
        if src.name.is_empty() {
            return false;
        }
        let Some(app) = self.manifest.applications.get(&src.name) else {
            return false;
        };
        src.port.parse::<i32>().is_ok()
            || app
                .ports()
                .any(|(name, _)| src.port.is_empty() || name == src.port)
    }
}

/// The fields of a `clickhouse` source v2 knows; managed ClickHouse
/// publishes its topology too, so `replicated` fields resolve.
fn clickhouse_field(field: &str) -> bool {
    matches!(
        field,
        "host"
            | "http-port"
            | "tcp-port"
            | "user"
            | "password"
            | "database"
            | "url"
            | "replicated"
            | "replicated-cluster"
    )
}
