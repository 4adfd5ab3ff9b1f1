//! What a reconcile reports: the status patch (and the metrics recorded
//! with it), and the Events that sum a reconcile up.

use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use serde_json::json;
use tracing::{debug, info, warn};

use super::{Context, Error, resource_error};
use crate::crd::{WeightsAndBiases, WeightsAndBiasesStatus};
use crate::desired::FIELD_MANAGER;
use crate::events::EventType;
use crate::status::{self, Observed};

/// Patches the status when it says something new. Returns overall readiness.
pub(super) async fn write_status(
    wandb: &WeightsAndBiases,
    ctx: &Context,
    previous: Option<&WeightsAndBiasesStatus>,
    observed: &Observed,
) -> Result<bool, Error> {
    let now =
        k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(k8s_openapi::jiff::Timestamp::now());
    let next = status::next(previous, observed, now);
    let ready = next
        .conditions
        .iter()
        .any(|c| c.type_ == crate::conditions::types::READY && c.status == "True");
    ctx.metrics.record_install(
        &wandb.namespace().unwrap_or_default(),
        &wandb.name_any(),
        ready,
        &observed.components,
    );
    ctx.metrics.record_held(
        &wandb.namespace().unwrap_or_default(),
        &wandb.name_any(),
        observed.paused.is_some(),
        observed.paused.is_none().then_some(observed.stopped),
    );
    if previous.is_some_and(|p| status::same(p, &next)) {
        return Ok(ready);
    }
    let api: Api<WeightsAndBiases> =
        Api::namespaced(ctx.client.clone(), &wandb.namespace().unwrap_or_default());
    debug!(changed = ?status::differences(previous, &next), "patching status");
    ctx.metrics.request("patch-status");
    let patch = json!({
        "apiVersion": "apps.wandb.com/v1",
        "kind": "WeightsAndBiases",
        "status": next,
    });
    api.patch_status(
        &wandb.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map_err(resource_error("patch-status", wandb))?;
    Ok(ready)
}

/// Warns of objects left alone because another install owns them, when the
/// last status did not already say so.
pub(super) async fn tell_conflicts(
    wandb: &WeightsAndBiases,
    ctx: &Context,
    previous: Option<&WeightsAndBiasesStatus>,
    conflicts: &[String],
) {
    let was_conflict =
        previous.is_some_and(|p| p.conditions.iter().any(|c| c.reason == "Conflict"));
    if conflicts.is_empty() || was_conflict {
        return;
    }
    warn!(conflicts = conflicts.len(), "objects of another install");
    ctx.event(
        wandb,
        EventType::Warning,
        "Conflict",
        "Apply",
        conflicts.join("; "),
    )
    .await;
}

/// Tells what a reconcile changed, if anything.
pub(super) async fn tell_reconciled(
    wandb: &WeightsAndBiases,
    ctx: &Context,
    applied: usize,
    pruned: usize,
) {
    if applied + pruned == 0 {
        return;
    }
    info!(applied, pruned, "reconciled");
    ctx.event(
        wandb,
        EventType::Normal,
        "Reconciled",
        "Apply",
        format!("applied {applied} objects, pruned {pruned}"),
    )
    .await;
}
