//! The size presets of the catalog laid under the user's values:
//! replica count, resources, per-size env and autoscaling settings.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use wandb_values::{Component, Sizing};

use super::size_of;
use crate::context::Ctx;

/// The sizing of a service: base and service presets for `default` and for
/// the size, with the user's `sizing` laid over each.
pub(super) fn sizing(ctx: &Ctx, key: &str, values: &Component) -> Sizing {
    let size = size_of(ctx, values);
    let empty = BTreeMap::new();
    let base = ctx.catalog.sizing.get("base").unwrap_or(&empty);
    let service = ctx.catalog.sizing.get(key).unwrap_or(&empty);
    let mut out = Sizing::default();
    for level in ["default", size.as_str()] {
        for source in [base, service, &values.sizing] {
            if let Some(s) = source.get(level) {
                lay_sizing(&mut out, s);
            }
        }
    }
    out
}

/// Lays the set fields of `top` over `out`.
fn lay_sizing(out: &mut Sizing, top: &Sizing) {
    if top.replica_count.is_some() {
        out.replica_count = top.replica_count;
    }
    out.resources = merge_resources(out.resources.as_ref(), top.resources.as_ref());
    out.env.extend(top.env.clone());
    lay_horizontal(&mut out.autoscaling.horizontal, &top.autoscaling.horizontal);
    lay_keda(&mut out.autoscaling.keda, &top.autoscaling.keda);
}

/// `out.field = top.field` for every field `top` sets.
macro_rules! lay_options {
    ($out:expr, $top:expr, $($field:ident),*) => {
        $(if $top.$field.is_some() { $out.$field = $top.$field.clone(); })*
    };
}

pub(super) fn lay_horizontal(out: &mut wandb_values::Horizontal, top: &wandb_values::Horizontal) {
    lay_options!(
        out,
        top,
        enabled,
        min_replicas,
        max_replicas,
        target_cpu_utilization_percentage,
        target_memory_utilization_percentage
    );
}

pub(super) fn lay_keda(out: &mut wandb_values::Keda, top: &wandb_values::Keda) {
    lay_options!(
        out,
        top,
        enabled,
        min_replica_count,
        max_replica_count,
        idle_replica_count,
        polling_interval,
        cooldown_period,
        triggers
    );
    // Free-form KEDA settings merge deeply, as Helm merges values.
    for (mine, theirs) in [
        (&mut out.fallback, &top.fallback),
        (&mut out.advanced, &top.advanced),
    ] {
        if let Some(t) = theirs {
            match mine {
                Some(m) => wandb_values::tree::merge(m, t.clone()),
                None => *mine = Some(t.clone()),
            }
        }
    }
}

/// Lays `top` over `bottom`, per `limits`/`requests` key.
pub fn merge_resources(
    bottom: Option<&ResourceRequirements>,
    top: Option<&ResourceRequirements>,
) -> Option<ResourceRequirements> {
    match (bottom, top) {
        (None, None) => None,
        (Some(b), None) => Some(b.clone()),
        (None, Some(t)) => Some(t.clone()),
        (Some(b), Some(t)) => {
            let merge = |b: &Option<BTreeMap<String, Quantity>>,
                         t: &Option<BTreeMap<String, Quantity>>| {
                let mut out = b.clone().unwrap_or_default();
                out.extend(t.clone().unwrap_or_default());
                (!out.is_empty()).then_some(out)
            };
            Some(ResourceRequirements {
                limits: merge(&b.limits, &t.limits),
                requests: merge(&b.requests, &t.requests),
                claims: t.claims.clone().or_else(|| b.claims.clone()),
            })
        }
    }
}

pub(super) fn empty_resources(r: &Option<ResourceRequirements>) -> Option<ResourceRequirements> {
    r.clone().filter(|r| {
        r.limits.as_ref().is_some_and(|l| !l.is_empty())
            || r.requests.as_ref().is_some_and(|l| !l.is_empty())
    })
}
