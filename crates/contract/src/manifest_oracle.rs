//! The test oracle for W&B's server manifests: what W&B's own v2 operator
//! (github.com/wandb/operator, v2, at 7b063065d547) gives each workload's
//! containers as env, for one manifest and one install's settings.
//!
//! It exists so that the project's translation of a manifest can be checked
//! against v2 itself by the peer tier (`tests/manifest_oracle.rs`); it reads
//! manifests ([`ServerManifest::read_dir`]) and computes
//! ([`expected_env`]), and renders nothing. Every rule below is v2's, read
//! from its source and written anew here.
//!
//! What an install is taken to be ([`Settings`]): host, license, OIDC,
//! features and telemetry as set; the stores (MySQL, Redis, object store,
//! ClickHouse, Kafka) in-cluster as v2's defaulting makes them (v2 runs no
//! application until they are all ready, so there is no other case to
//! model); nothing else set on the custom resource: no notifications, no
//! security flags, no custom CA, no proxy, no `legacyOverrides`.
//!
//! # Where v2 leaves a choice
//!
//! - The steady state is given: on v2's very first pass
//!   `status.wandb.hostname` is still empty (v2 writes it after the
//!   applications), so host vars are empty until the next pass.
//! - A `service` source naming no manifest application is unresolved; v2
//!   would then look for a live Service labelled with that name.
//! - The manifests are read as v2 reads them, slips included: `source:`
//!   (0.84.0's `REACT_APP_HOST`) is not `sources:`, so the var is left out;
//!   `status.clickhouseStatus.default.replicated` and `.clusterName` are not
//!   paths in v2's status (they sit under `.connection`), so the one takes
//!   its default and the other is left out.
//! - The `<NAME>_<i>` vars v2 adds are entries of their own ([`Kind::Part`]);
//!   [`AppEnv::names`] leaves them out.
//!
//! # v2's rules, and where they are
//!
//! Files are in wandb/operator; functions in parentheses.
//!
//! - A manifest directory is every `*.yaml` in it, sorted, each merged into
//!   the ones before: maps by key, later wins; a known application keeps its
//!   env and takes only ingress, sizing and new `commonEnvs`; generated
//!   secrets from the first file with any; unknown and null keys ignored.
//!   `pkg/wandb/manifest/manifest.go` (`LoadManifestFromFile`,
//!   `loadManifestFromFiles`, `mergeSimple`, `mergeApplications`).
//! - The custom resource's features override the manifest's; an application
//!   with `features` runs when any of them is on; migrations and env vars
//!   are not gated (an env var's `features` key is not in v2's schema).
//!   `internal/controller/reconciler/reconcile_v2.go` (`Reconcile`,
//!   `reconcileApplications`); `manifest.go` (`FeaturesEnabled`).
//! - Applications in the order of their keys, named by `name` or else the
//!   key. `internal/controller/reconciler/manifest_order.go`
//!   (`sortedManifestApplications`).
//! - Env: the `commonEnvs` groups in order, then the workload's `env`, each
//!   of which removes the first same-named var before it; a literal `value`
//!   first, then `valueFrom`, then `sources`; none resolved: `defaultValue`,
//!   else left out; one secret source alone: a secretKeyRef; otherwise a
//!   literal joined by ",", each secret part as `$(<NAME>_<i>)` backed by a
//!   `<NAME>_<i>` secretKeyRef listed before it. Empty `value` and
//!   `defaultValue` count as absent. `internal/controller/reconciler/pods.go`
//!   (`resolveEnvvars`).
//! - Sources: mysql, redis, bucket (any field), kafka (any field) from the
//!   store's connection Secret, a named instance falling back to `default`;
//!   clickhouse only for the fields v2 knows; generatedSecret when the
//!   manifest declares the secret; telemetry when the source names a
//!   Secret or telemetry is on, for a known field or an `OTEL_` one;
//!   service when the application is in the manifest (features aside) with
//!   the port asked for (a number, a port name, or none for the first);
//!   jwt-issuer-map when internal service auth is on; custom-resource from
//!   the resource's JSON; any other type is skipped. `pods.go`
//!   (`resolveEnvvars`); `manifest.go` (`ResolveServiceURL`,
//!   `ResolveServicePortFromManifest`); `api/v2/weightsandbiases_types.go`
//!   (`ResolveInstance`); `internal/observability/telemetry/env.go`
//!   (`SecretKeyForField`); `reconcile_v2.go` (`generateSecrets`).
//! - custom-resource: the dotted path is looked up in the resource as JSON,
//!   so a field without `omitempty` (`spec.wandb.bucketProxy`,
//!   `status.wandb.hostname`) always resolves, a false or empty
//!   `omitempty` field never does; a secret selector with a name and key
//!   becomes a secretKeyRef, a string or bool a literal, anything else
//!   nothing. `reconcile_v2.go` (`resolveCRField`, `resolveCRFieldEnvValue`,
//!   `resolveCRFieldSecretSelector`); the json tags of
//!   `api/v2/weightsandbiases_types.go`.
//! - v2's defaulting: internal service auth on, `bucketProxy` true with the
//!   managed default object store, one managed instance of each store.
//!   `internal/webhook/v2/weightsandbiases_webhook.go` (`Default`).
//! - Telemetry is off unless configured; when on, instrumented applications
//!   get the telemetry vars they lack; an application with OpenTelemetry
//!   (Datadog) env gets `OTEL_SERVICE_NAME` (`DD_SERVICE`) = its name
//!   unless that var has a literal value. `internal/observability/telemetry/`
//!   `config.go` (`DefaultTelemetryRuntimeConfig`), `workload.go`
//!   (`ManagedWorkloadEnvVars`, `ApplyWorkloadTelemetryDefaults`);
//!   `reconcile_v2.go` (`injectManagedWorkloadTelemetryEnvvars`,
//!   `appendMissingEnvVars`).
//! - Custom CA, proxy and legacy-override env are added only when those are
//!   configured. `custom_ca.go` (`applyCustomCACertsToWorkload`),
//!   `proxy_env.go` (`applyProxyToWorkload`), `legacy_overrides.go`
//!   (`applyLegacyOverrideEnv`).
//! - Every container (the manifest's `containers`, else one named after the
//!   application) and every init container but one named `migrate` gets
//!   the same env. `pods.go` (`resolveContainers`, `resolveInitContainers`).
//! - A migration is a Job with one container, `migrate`, whose env is its
//!   groups and env resolved the same way, without telemetry defaults.
//!   `reconcile_v2.go` (`runMigrations`).

mod manifest;
mod resolve;
mod telemetry;
#[cfg(test)]
mod tests;

use std::collections::{BTreeMap, BTreeSet};

pub use manifest::{
    Application, Container, ContainerPort, EnvSource, EnvVar, GeneratedSecret, ManifestError,
    Migration, ParseError, ServerManifest, Service, ServicePort,
};

/// What is set on the install, in the terms of the chart's values.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    /// `global.host`: v2's `spec.wandb.hostname`, echoed in
    /// `status.wandb.hostname`.
    pub host: Option<String>,
    /// `global.license`: v2's `spec.wandb.license`.
    pub license: Option<String>,
    pub oidc: Oidc,
    /// Features set on the install; they override the manifest's.
    pub features: BTreeMap<String, bool>,
    /// v2's operator-wide telemetry; off unless set, as in v2.
    pub telemetry: bool,
}

impl Settings {
    /// What the peer tests set on both sides: a host, a license and OIDC
    /// (`global.host=https://wandb.example.com`, `global.license=LICENSE-KEY`,
    /// `global.auth.oidc.{clientId=client, issuer=https://issuer.example.com,
    /// secret=secret, authMethod=pkce}`).
    pub fn example() -> Settings {
        let set = |s: &str| Some(s.to_string());
        Settings {
            host: set("https://wandb.example.com"),
            license: set("LICENSE-KEY"),
            oidc: Oidc {
                client_id: set("client"),
                issuer: set("https://issuer.example.com"),
                secret: set("secret"),
                auth_method: set("pkce"),
            },
            ..Settings::default()
        }
    }
}

/// `global.auth.oidc.*`: in v2 each is a Secret key selector.
#[derive(Debug, Clone, Default)]
pub struct Oidc {
    pub client_id: Option<String>,
    pub issuer: Option<String>,
    pub secret: Option<String>,
    pub auth_method: Option<String>,
}

/// An Application or a migration Job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    Application,
    Migration,
}

/// The env v2 gives one workload. Every container and init container named
/// here gets the same list: v2 does not tell them apart.
#[derive(Debug, Clone, PartialEq)]
pub struct AppEnv {
    pub workload: Workload,
    pub containers: Vec<String>,
    pub init_containers: Vec<String>,
    /// In v2's order; a name that two env groups both declare is there twice.
    pub env: Vec<EnvEntry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnvEntry {
    pub name: String,
    pub kind: Kind,
}

/// How v2 gives a var its value.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// The manifest's `value`.
    Value(String),
    /// The manifest's `valueFrom`, as it is.
    ValueFrom,
    /// No source resolved: the manifest's `defaultValue`.
    Default(String),
    /// From these sources (those that resolved, in order).
    Resolved {
        sources: Vec<SourceType>,
        form: Form,
    },
    /// `<NAME>_<i>`, the secretKeyRef behind `$(<NAME>_<i>)` in var `of`.
    Part { of: String, source: SourceType },
    /// Set by v2 itself to the application's name (telemetry identity).
    Injected(String),
}

/// The shape of a resolved var.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `valueFrom.secretKeyRef`.
    SecretRef,
    /// A literal `value` (it may refer to parts as `$(...)`).
    Literal,
    /// A literal that is empty: v2 still sets the var.
    Empty,
}

/// A source's `type`, as v2 spells it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum SourceType {
    Mysql,
    Redis,
    Bucket,
    Clickhouse,
    Kafka,
    Telemetry,
    Service,
    GeneratedSecret,
    JwtIssuerMap,
    CustomResource,
    Unknown(String),
}

impl SourceType {
    pub fn of(kind: &str) -> SourceType {
        match kind {
            "mysql" => SourceType::Mysql,
            "redis" => SourceType::Redis,
            "bucket" => SourceType::Bucket,
            "clickhouse" => SourceType::Clickhouse,
            "kafka" => SourceType::Kafka,
            "telemetry" => SourceType::Telemetry,
            "service" => SourceType::Service,
            "generatedSecret" => SourceType::GeneratedSecret,
            "jwt-issuer-map" => SourceType::JwtIssuerMap,
            "custom-resource" => SourceType::CustomResource,
            other => SourceType::Unknown(other.to_string()),
        }
    }
}

impl EnvEntry {
    fn new(name: &str, kind: Kind) -> EnvEntry {
        EnvEntry {
            name: name.to_string(),
            kind,
        }
    }
}

impl AppEnv {
    /// The vars v2 gives, each name once, without the `<NAME>_<i>` parts.
    pub fn names(&self) -> BTreeSet<&str> {
        self.env
            .iter()
            .filter(|e| !matches!(e.kind, Kind::Part { .. }))
            .map(|e| e.name.as_str())
            .collect()
    }

    /// The `<NAME>_<i>` parts v2 adds for composed vars.
    pub fn parts(&self) -> BTreeSet<&str> {
        self.env
            .iter()
            .filter(|e| matches!(e.kind, Kind::Part { .. }))
            .map(|e| e.name.as_str())
            .collect()
    }
}

/// The key of a migration in [`expected_env`]'s map (application names are
/// Kubernetes names and have no `/`).
pub fn migration_key(name: &str) -> String {
    format!("migration/{name}")
}

/// Per application that v2 would run with these settings, keyed by its name,
/// and per migration (keyed by [`migration_key`]): the env v2 gives it.
pub fn expected_env(manifest: &ServerManifest, settings: &Settings) -> BTreeMap<String, AppEnv> {
    let mut features = manifest.features.clone();
    features.extend(settings.features.clone());
    let on = |gates: &[String]| gates.iter().any(|f| features.get(f) == Some(&true));
    let resolver = resolve::Resolver { manifest, settings };
    let mut out = BTreeMap::new();
    for (key, app) in &manifest.applications {
        if !app.features.is_empty() && !on(&app.features) {
            continue;
        }
        let name = if app.name.is_empty() { key } else { &app.name };
        let mut env = resolver.env(&app.common_envs, &app.env);
        if settings.telemetry {
            for entry in resolver.env(&[], &telemetry::workload_env(name)) {
                if !env.iter().any(|e| e.name == entry.name) {
                    env.push(entry);
                }
            }
        }
        telemetry::identity_defaults(&mut env, name);
        let containers = match app.containers.as_slice() {
            [] => vec![name.clone()],
            list => list.iter().map(|c| c.name.clone()).collect(),
        };
        let init_containers = app
            .init_containers
            .iter()
            .filter(|c| c.name != "migrate")
            .map(|c| c.name.clone())
            .collect();
        let workload = Workload::Application;
        let app_env = AppEnv {
            workload,
            containers,
            init_containers,
            env,
        };
        out.insert(name.clone(), app_env);
    }
    for (key, migration) in &manifest.migrations {
        let env = resolver.env(&migration.common_envs, &migration.env);
        let job = AppEnv {
            workload: Workload::Migration,
            containers: vec!["migrate".to_string()],
            init_containers: vec![],
            env,
        };
        out.insert(migration_key(key), job);
    }
    out
}

/// Every env var name the manifest declares for each application (all of
/// them, features aside), before any source is resolved: the count.
pub fn declared_env(manifest: &ServerManifest) -> BTreeMap<String, Vec<String>> {
    manifest
        .applications
        .iter()
        .map(|(key, app)| {
            let vars = resolve::combine(manifest, &app.common_envs, &app.env);
            (key.clone(), vars.iter().map(|v| v.name.clone()).collect())
        })
        .collect()
}

impl Settings {
    /// A `custom-resource` field as v2 finds it in its resource's JSON.
    /// Paths no setting speaks for are absent, except those v2 always has.
    fn custom_resource(&self, field: &str) -> Option<Form> {
        let set = |s: &Option<String>| s.as_deref().is_some_and(|s| !s.is_empty());
        let secret = |s: &Option<String>| set(s).then_some(Form::SecretRef);
        match field {
            // No `omitempty`: present, if empty, before the host is known.
            "spec.wandb.hostname" | "status.wandb.hostname" => match set(&self.host) {
                true => Some(Form::Literal),
                false => Some(Form::Empty),
            },
            // No `omitempty`; defaulted to true with in-cluster object store.
            "spec.wandb.bucketProxy" => Some(Form::Literal),
            "spec.wandb.license" => set(&self.license).then_some(Form::Literal),
            "spec.wandb.oidc.clientId" => secret(&self.oidc.client_id),
            "spec.wandb.oidc.clientSecret" => secret(&self.oidc.secret),
            "spec.wandb.oidc.issuerUrl" => secret(&self.oidc.issuer),
            "spec.wandb.oidc.authMethod" => secret(&self.oidc.auth_method),
            _ => None,
        }
    }
}
