//! Checks that need more than types: ranges, contradictions, missing pieces.

use std::collections::BTreeMap;

use serde_json::Value;

use crate::Problem;
use crate::load::Additions;
use crate::store_kind::StoreKind;
use crate::stores::Store;
use crate::template::is_template;
use crate::tpls;
use crate::types::{Component, Flag, ValueOrRef, Values};

/// Sizes with built-in presets.
pub const KNOWN_SIZES: &[&str] = &["small", "medium", "large", "xlarge", "xxlarge", "testing"];

/// Every problem with typed values; errors and warnings both.
/// `user` is the user's own tree (without defaults), to tell what was set.
/// `additions` are a release document's (its sizes, its services).
pub fn validate(values: &Values, user: &Value, additions: &Additions) -> Vec<Problem> {
    let mut out = Vec::new();
    check_global(&mut out, values, &additions.sizes);
    check_backup(&mut out, values);
    for (key, component) in values.components() {
        check_component(&mut out, key, component);
    }
    for (key, component) in &values.more_components {
        check_component(&mut out, key, component);
    }
    check_store_replicas(&mut out, values);
    check_external_stores(&mut out, values);
    check_ignored_switches(&mut out, user, &additions.plain_services);
    out
}

/// The install-wide settings under `global`: host, license and size.
fn check_global(out: &mut Vec<Problem>, values: &Values, sizes: &[String]) {
    let g = &values.global;
    match url_scheme(&g.host) {
        Some("http" | "https") => {}
        _ => out.push(Problem::error(
            "global.host",
            format!(
                "expected a URL starting with http:// or https://, found {:?}",
                g.host
            ),
        )),
    }

    // As upstream, the Secret wins: a release moved from it may carry both.
    if !g.license.is_empty() && !g.license_secret.name.is_empty() {
        out.push(Problem::warning(
            "global.license",
            "is ignored: global.licenseSecret.name names the Secret that holds the license".into(),
        ));
    }

    if !g.size.is_empty()
        && !KNOWN_SIZES.contains(&g.size.as_str())
        && !sizes.contains(&g.size)
        && !size_defined_anywhere(values, &g.size)
    {
        // An error, not a fallback: a typo must not quietly size production.
        out.push(Problem::error(
            "global.size",
            format!(
                "{:?} is not a known size ({}) nor one a service's `sizing` defines",
                g.size,
                known_sizes(sizes)
            ),
        ));
    }
}

/// One W&B component's values, in the order its problems are reported.
fn check_component(out: &mut Vec<Problem>, key: &str, component: &Component) {
    check_replicas(out, key, component.replica_count);
    check_env_from(out, key, &component.env_from);
    check_containers(out, key, component);
    check_job_containers(out, key, component);
    for (i, text) in component.pod_annotations_tpls.iter().flatten().enumerate() {
        if let Err(e) = tpls::annotations_entry(&tpls::with_release_placeholders(text)) {
            out.push(Problem::error(&format!("{key}.podAnnotationsTpls[{i}]"), e));
        }
    }
    check_deployment_postfix(out, key, component.deployment_postfix.as_deref());
    // Kinds the API server knows; upstream writes any other word into
    // the object (or drops the strategy without a word).
    check_one_of(
        out,
        &format!("{key}.strategy.type"),
        component.strategy.kind.as_deref(),
        &["RollingUpdate", "Recreate"],
    );
    check_one_of(
        out,
        &format!("{key}.role.type"),
        component.role.kind.as_deref(),
        &["Role", "ClusterRole"],
    );
    for (size, sizing) in &component.sizing {
        check_replicas(out, &format!("{key}.sizing.{size}"), sizing.replica_count);
    }
    check_autoscaling(out, key, component);
    check_job_flags(out, key, component);
}

/// The per-container overrides: their `envFrom` and `portsTpls`.
fn check_containers(out: &mut Vec<Problem>, key: &str, component: &Component) {
    for (container, over) in &component.containers {
        let at = format!("{key}.containers.{container}");
        check_env_from(out, &at, &over.env_from);
        for (i, text) in over.ports_tpls.iter().flatten().enumerate() {
            if let Err(e) = tpls::ports_entry(&tpls::with_release_placeholders(text)) {
                out.push(Problem::error(&format!("{at}.portsTpls[{i}]"), e));
            }
        }
    }
}

/// The `envFrom` of the containers of the component's Jobs and CronJobs.
fn check_job_containers(out: &mut Vec<Problem>, key: &str, component: &Component) {
    for (job, values) in &component.jobs {
        for (c, container) in &values.containers {
            let at = format!("{key}.jobs.{job}.containers.{c}");
            check_env_from(out, &at, &container.base.env_from);
        }
    }
    for (job, values) in &component.cron_jobs {
        for (c, container) in &values.containers {
            let at = format!("{key}.cronJobs.{job}.containers.{c}");
            check_env_from(out, &at, &container.base.env_from);
        }
    }
}

/// The postfix becomes part of an object's name.
fn check_deployment_postfix(out: &mut Vec<Problem>, key: &str, postfix: Option<&str>) {
    if let Some(p) = postfix
        && !p
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        out.push(Problem::error(
            &format!("{key}.deploymentPostfix"),
            format!("expected lowercase letters, digits and dashes (part of a name), found {p:?}"),
        ));
    }
}

/// A Job's or CronJob's `enabled` given as text must read as a boolean,
/// unless it is a template that is evaluated later.
fn check_job_flags(out: &mut Vec<Problem>, key: &str, component: &Component) {
    let job_flags = component
        .jobs
        .iter()
        .map(|(name, job)| ("jobs", name, &job.enabled));
    let cron_flags = component
        .cron_jobs
        .iter()
        .map(|(name, job)| ("cronJobs", name, &job.enabled));
    for (kind, name, enabled) in job_flags.chain(cron_flags) {
        if let Some(Flag::Text(text)) = enabled
            && !is_template(text)
            && !matches!(text.trim(), "true" | "false")
        {
            out.push(Problem::error(
                &format!("{key}.{kind}.{name}.enabled"),
                format!("expected true or false (or a template that gives one), found {text:?}"),
            ));
        }
    }
}

/// The replica counts of the in-cluster stores and of bufstream.
fn check_store_replicas(out: &mut Vec<Problem>, values: &Values) {
    for (key, store) in values.stores() {
        check_replicas(out, key, store.replica_count);
    }
    check_replicas(
        out,
        "bufstream.bufstream.deployment",
        values.bufstream.bufstream.deployment.replica_count,
    );
}

/// Stores switched off must be replaced by an endpoint outside the install.
fn check_external_stores(out: &mut Vec<Problem>, values: &Values) {
    let g = &values.global;
    // A store switched off with no endpoint to use instead is a broken
    // install; say so before anything is applied.
    if values.redis.base.install == Some(false) && g.redis.host.is_empty() {
        out.push(Problem::error(
            "redis.install",
            "is false but global.redis.host is empty: W&B needs a Redis; set global.redis.host"
                .into(),
        ));
    }
    if values.mysql.install == Some(false) && is_empty_value(&g.mysql.host) {
        out.push(Problem::error(
            "mysql.install",
            "is false but global.mysql.host is empty: W&B needs a MySQL; set global.mysql.host"
                .into(),
        ));
    }
    let tools = values.mcp_server.weave.tools.as_str().to_ascii_lowercase();
    if values.mcp_server.base.install == Some(true)
        && !["auto", "true", "false", ""].contains(&tools.as_str())
    {
        out.push(Problem::error(
            "mcp-server.weave.tools",
            format!("expected auto, true or false, found {tools:?}"),
        ));
    }
}

/// Switches the user set that the chart does not read: `api` and `glue`
/// follow `global.*.enabled`.
/// `plain` services (a server manifest's) are switched by `install`.
fn check_ignored_switches(out: &mut Vec<Problem>, user: &Value, plain: &[String]) {
    for (key, what) in [
        ("api", "global.api.enabled"),
        ("glue", "global.glue.enabled"),
    ] {
        if plain.iter().any(|p| p == key) {
            continue;
        }
        for switch in ["install", "enabled"] {
            if user.pointer(&format!("/{key}/{switch}")).is_some() {
                out.push(Problem::warning(
                    &format!("{key}.{switch}"),
                    format!(
                        "has no effect: {key} is turned on by {what}, as in the upstream chart"
                    ),
                ));
            }
        }
    }
}

/// Backups go to an S3-compatible bucket, on a schedule, keeping at least one.
fn check_backup(out: &mut Vec<Problem>, values: &Values) {
    let b = &values.backup;
    if b.base.install != Some(true) {
        return;
    }
    if b.schedule.split_whitespace().count() != 5 && !b.schedule.starts_with('@') {
        out.push(Problem::error(
            "backup.schedule",
            format!(
                "expected a CronJob schedule of five fields (\"0 3 * * *\"), found {:?}",
                b.schedule
            ),
        ));
    }
    if b.retention < 1 {
        out.push(Problem::error(
            "backup.retention",
            format!(
                "must be 1 or more (the backups to keep), found {}",
                b.retention
            ),
        ));
    }
    if b.bucket.is_set() {
        if b.bucket.secret_name.is_empty() {
            out.push(Problem::error(
                "backup.bucket.secretName",
                "must name the Secret with the bucket's access key and secret key".into(),
            ));
        }
        if !matches!(url_scheme(&b.bucket.endpoint), Some("http" | "https")) {
            out.push(Problem::error(
                "backup.bucket.endpoint",
                format!(
                    "expected the bucket's S3 endpoint, http(s)://host[:port], found {:?}",
                    b.bucket.endpoint
                ),
            ));
        }
        return;
    }
    let g = &values.global;
    let bucket = if g.bucket.name.is_empty() {
        &g.default_bucket
    } else {
        &g.bucket
    };
    let external = !g.bucket.name.is_empty() || !g.default_bucket.name.is_empty();
    if external && !bucket.provider.is_empty() && bucket.provider != "s3" {
        out.push(Problem::error(
            "backup.bucket",
            format!(
                "the install's bucket is of provider {:?}; backups go to an S3-compatible bucket: \
                 set backup.bucket (endpoint, name, region, secretName)",
                bucket.provider
            ),
        ));
    } else if external && g.bucket.secret.secret_name.is_empty() && g.bucket.access_key.is_empty() {
        out.push(Problem::error(
            "backup.bucket",
            "the install's bucket has no access keys (global.bucket.secret or accessKey): \
             backups sign their requests with keys; set backup.bucket with a Secret"
                .into(),
        ));
    }
}

/// The pod takes each entry as `- <kind>: {name: ...}`: any other kind is a
/// pod the API server refuses.
fn check_env_from(out: &mut Vec<Problem>, at: &str, env_from: &BTreeMap<String, String>) {
    for (name, kind) in env_from {
        if kind != "configMapRef" && kind != "secretRef" {
            out.push(Problem::error(
                &format!("{at}.envFrom.{name}"),
                format!("expected configMapRef or secretRef, found {kind:?}"),
            ));
        }
    }
}

fn check_one_of(out: &mut Vec<Problem>, key: &str, value: Option<&str>, allowed: &[&str]) {
    if let Some(v) = value.filter(|v| !allowed.contains(v)) {
        out.push(Problem::error(
            key,
            format!("expected {}, found {v:?}", allowed.join(" or ")),
        ));
    }
}

fn check_replicas(out: &mut Vec<Problem>, key: &str, replicas: Option<i32>) {
    if let Some(n) = replicas.filter(|n| *n < 0) {
        out.push(Problem::error(
            &format!("{key}.replicaCount"),
            format!("must be 0 or more, found {n}"),
        ));
    }
}

fn check_autoscaling(out: &mut Vec<Problem>, key: &str, component: &Component) {
    let h = &component.autoscaling.horizontal;
    if let (Some(min), Some(max)) = (h.min_replicas, h.max_replicas)
        && (min > max || min < 1)
    {
        out.push(Problem::error(
            &format!("{key}.autoscaling.horizontal"),
            format!("needs 1 <= minReplicas <= maxReplicas, found {min} and {max}"),
        ));
    }
    if let (Some(min), Some(max)) = (
        component.pod_disruption_budget.min_available.as_ref(),
        component.pod_disruption_budget.max_unavailable.as_ref(),
    ) {
        out.push(Problem::error(
            &format!("{key}.podDisruptionBudget"),
            format!("sets both minAvailable ({min:?}) and maxUnavailable ({max:?}); set one"),
        ));
    }
}

fn size_defined_anywhere(values: &Values, size: &str) -> bool {
    values
        .components()
        .any(|(_, c)| c.sizing.contains_key(size))
}

/// The sizes to name in an error: the built-in ones, then the document's.
fn known_sizes(sizes: &[String]) -> String {
    let mut known: Vec<&str> = KNOWN_SIZES[..5].to_vec();
    for size in sizes {
        if !known.contains(&size.as_str()) && size != "testing" && size != "default" {
            known.push(size);
        }
    }
    known.join(", ")
}

fn url_scheme(url: &str) -> Option<&str> {
    url.split_once("://").map(|(scheme, _)| scheme)
}

pub(crate) fn is_empty_value(v: &ValueOrRef) -> bool {
    matches!(v, ValueOrRef::Value(s) if s.is_empty())
}

impl Values {
    /// Every W&B component with its values key.
    pub fn components(&self) -> impl Iterator<Item = (&'static str, &Component)> {
        [
            ("api", &*self.api),
            ("app", &self.app.base),
            ("appRenamePreHook", &*self.app_rename_pre_hook),
            ("appRenamePostHook", &*self.app_rename_post_hook),
            ("console", &self.console.base),
            ("executor", &self.executor.base),
            ("filemeta", &*self.filemeta),
            ("anaconda2", &*self.anaconda2),
            ("filestream", &self.filestream.base),
            (
                "flat-run-fields-updater",
                &self.flat_run_fields_updater.base,
            ),
            ("history-updater", &self.history_updater.base),
            ("history-reader", &self.history_reader.base),
            ("frontend", &*self.frontend),
            ("glue", &self.glue.base),
            ("internalSignerPreHook", &*self.internal_signer_pre_hook),
            ("metric-observer", &self.metric_observer.base),
            ("parquet", &self.parquet.base),
            ("parquet-metadata-cache", &self.parquet_metadata_cache.base),
            ("settingsMigrationJob", &*self.settings_migration_job),
            ("clickhouseMigrationJob", &*self.clickhouse_migration_job),
            ("weave", &self.weave.base),
            ("mcp-server", &self.mcp_server.base),
            ("weave-trace", &*self.weave_trace),
            ("weave-trace-worker", &*self.weave_trace_worker),
            (
                "weave-evaluate-model-worker",
                &*self.weave_evaluate_model_worker,
            ),
            (
                "weave-trace-agent-scoring-worker",
                &self.weave_trace_agent_scoring_worker,
            ),
            ("nginx", &self.nginx.base),
            ("lumen-agent", &*self.lumen_agent),
        ]
        .into_iter()
    }

    /// The W&B component under a values key: a block of the values' own,
    /// else one a release document added.
    pub fn component(&self, key: &str) -> Option<&Component> {
        self.components()
            .find(|(k, _)| *k == key)
            .map(|(_, c)| c)
            .or_else(|| self.more_components.get(key))
    }

    /// Every in-cluster store's settings with their values keys.
    pub fn stores(&self) -> impl Iterator<Item = (&'static str, &Store)> {
        StoreKind::ALL
            .into_iter()
            .flat_map(|store| store.settings(self))
    }
}
