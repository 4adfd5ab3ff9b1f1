//! The one building block: a catalog entry plus the user's values for it
//! become a Deployment (or Jobs, CronJobs), its Service, ServiceAccount,
//! Role, autoscaler and PodDisruptionBudget — what the upstream `wandb-base`
//! chart does for every W&B service.
//!
//! One file per part of the result: the objects' metadata, the size preset,
//! the containers (their env, their user overrides, their security context),
//! the volumes, the pod, and each kind of object built around it.

mod autoscaling;
mod container_env;
mod containers;
mod deployment;
mod jobs;
mod metadata;
mod overrides;
mod pod;
mod rbac;
mod security;
mod service;
mod sizing;
mod volumes;

pub use container_env::user_env;
pub use pod::{mcp_dd_env, mcp_dd_service, pull_secrets};
pub use security::container_security_context;
pub use sizing::merge_resources;
pub use volumes::{ca_cert_mounts, ca_cert_volumes};

use wandb_values::{Component, Sizing};

use crate::catalog::{Condition, Kind, Service as Spec};
use crate::context::{Ctx, truncate_name};
use crate::objects::{Manifest, Phase};
use crate::resolve::Scope;
use sizing::sizing;

/// Label values are at most 63 characters.
fn label_value(v: &str) -> String {
    v.chars().take(63).collect()
}

/// `{release}-{name}`, or the release name alone when it already contains
/// the service's name (as the upstream chart names things).
pub fn fullname(ctx: &Ctx, name: &str) -> String {
    if ctx.release.name.contains(name) {
        truncate_name(&ctx.release.name)
    } else {
        truncate_name(&ctx.name(name))
    }
}

/// The object name of a values key: `flat-run-fields-updater`, `app-rename-pre-hook`.
pub fn kebab(key: &str) -> String {
    let mut out = String::new();
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            if !out.is_empty() {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether a document's service runs, given the values: its `enabled`
/// condition, else its `install` value.
pub fn is_on(ctx: &Ctx, key: &str, spec: &Spec, component: &Component) -> bool {
    match &spec.enabled {
        Some(condition) => ctx.holds(condition, Scope::service(key)),
        None => component.install.unwrap_or(false),
    }
}

impl Build<'_, '_> {
    /// Whether a container's or job's `when` condition holds.
    fn holds(&self, condition: Option<&Condition>) -> bool {
        self.ctx.holds_if(condition, Scope::service(self.key))
    }
}

/// Everything one service needs to be built.
struct Build<'c, 'a> {
    ctx: &'c Ctx<'a>,
    key: &'c str,
    spec: &'c Spec,
    values: &'c Component,
    /// `{release}-{name}`.
    fullname: String,
    /// `app.kubernetes.io/name`.
    name_label: String,
    sizing: Sizing,
}

/// Builds every object of a catalog service. Nothing when it is off.
pub fn build(ctx: &Ctx, key: &str, spec: &Spec, values: &Component) -> Vec<Manifest> {
    if !is_on(ctx, key, spec, values) {
        return vec![];
    }
    let name = kebab(key);
    let b = Build {
        ctx,
        key,
        spec,
        values,
        fullname: fullname(ctx, &name),
        // Upstream names its hooks' pods after their values key (`appRenamePreHook`).
        name_label: key.to_string(),
        sizing: sizing(ctx, key, values),
    };
    let phase = match b.hook().as_deref() {
        Some(h) if h.contains("pre-") => Phase::PreInstall,
        Some(h) if h.contains("post-") => Phase::PostInstall,
        _ => Phase::Main,
    };
    let mut out = Vec::new();
    if b.creates_service_account() {
        out.push(b.service_account());
    }
    if let Some(role) = b.role_spec() {
        out.extend(b.role(&role));
    }
    match spec.kind {
        Kind::Deployment | Kind::StatefulSet => {
            out.push(b.deployment());
            out.extend(b.autoscaler());
            out.extend(b.cron_jobs());
        }
        Kind::Job => out.extend(b.jobs()),
        Kind::CronJob => out.extend(b.cron_jobs()),
    }
    let mut out: Vec<Manifest> = out
        .into_iter()
        .map(|o| Manifest::new(key, o).in_phase(phase))
        .collect();
    // Upstream renders these for any kind of workload and never as hooks.
    let mut plain = b.services();
    if values
        .pod_disruption_budget
        .enabled
        .unwrap_or(spec.pod_disruption_budget)
    {
        plain.push(b.pdb());
    }
    out.extend(plain.into_iter().map(|o| Manifest::new(key, o)));
    out
}

/// The size a service runs at.
pub fn size_of(ctx: &Ctx, values: &Component) -> String {
    if values.size.is_empty() {
        ctx.values.global.size.clone()
    } else {
        values.size.clone()
    }
}

/// `a`, or `b` when `a` is empty.
fn non_empty_or(a: &str, b: &str) -> String {
    if a.is_empty() {
        b.to_string()
    } else {
        a.to_string()
    }
}
