//! Taking an install over from W&B's Go operator v1: its finalizer goes at
//! once, its leftovers (which hold no data) when the resource asks for it.

use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams, PropagationPolicy};
use tracing::info;

use super::{Context, Error, kube_error, resource_error};
use crate::crd::WeightsAndBiases;
use crate::events::EventType;
use crate::v1;

/// Once this operator runs an install W&B's Go operator v1 ran: removes
/// v1's finalizer, and v1's leftovers when the resource asks for it.
pub(super) async fn take_over_from_v1(
    wandb: &WeightsAndBiases,
    ctx: &Context,
) -> Result<(), Error> {
    let name = wandb.name_any();
    if remove_v1_finalizer(wandb, ctx).await?.is_some() {
        info!(resource = %name, finalizer = v1::FINALIZER, "took over from W&B's Go operator v1");
        let note = format!(
            "took over from W&B's Go operator v1, which no longer runs this install: removed its \
             finalizer {}. Its leftovers hold no data (the Helm release records of release {name}, \
             the Secrets {name}-spec-active and {name}-spec-user, status.phase); annotate the \
             resource {}=true to remove them",
            v1::FINALIZER,
            v1::REMOVE_LEFTOVERS_ANNOTATION
        );
        ctx.event(wandb, EventType::Normal, "TookOverFromV1", "Adopt", note)
            .await;
    }
    match v1::leftovers(wandb) {
        Some(leftovers) => remove_leftovers(wandb, ctx, &leftovers).await,
        None => Ok(()),
    }
}

/// Deletes v1's Secrets (its Helm release records and its copies of the
/// spec), then its `status.phase`, and tells what went.
async fn remove_leftovers(
    wandb: &WeightsAndBiases,
    ctx: &Context,
    leftovers: &v1::Leftovers,
) -> Result<(), Error> {
    let name = wandb.name_any();
    let namespace = wandb.namespace().unwrap_or_default();
    let mut names: Vec<String> = Vec::new();
    if let Some(selector) = &leftovers.helm_release {
        names.extend(helm_release_records(ctx, &namespace, selector).await?);
    }
    names.extend(leftovers.secrets.iter().cloned());
    let mut removed = Vec::new();
    for secret in &names {
        let ns = Some(namespace.as_str());
        if ctx
            .delete("Secret", secret, ns, PropagationPolicy::Background)
            .await?
        {
            removed.push(format!("Secret/{secret}"));
        }
    }
    // Last: without a phase, there is nothing left to remove.
    let api: Api<WeightsAndBiases> = Api::namespaced(ctx.client.clone(), &namespace);
    ctx.metrics.request("patch-status");
    api.patch_status(
        &name,
        &PatchParams::default(),
        &Patch::Merge(&v1::phase_removal()),
    )
    .await
    .map_err(resource_error("patch-status", wandb))?;
    removed.push("status.phase".into());
    info!(resource = %name, removed = %removed.join(", "), "removed W&B's Go operator v1's leftovers");
    let note = format!(
        "removed what W&B's Go operator v1 left: {}; no data was touched",
        removed.join(", ")
    );
    ctx.event(
        wandb,
        EventType::Normal,
        "RemovedV1Leftovers",
        "Adopt",
        note,
    )
    .await;
    Ok(())
}

/// The names of the Helm release records `selector` picks: Secrets of
/// Helm's own type only, not others that happen to carry its labels.
async fn helm_release_records(
    ctx: &Context,
    namespace: &str,
    selector: &str,
) -> Result<Vec<String>, Error> {
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    ctx.metrics.request("list");
    let records = secrets
        .list(&ListParams::default().labels(selector))
        .await
        .map_err(kube_error("list", "Secret".into()))?;
    Ok(records
        .items
        .iter()
        .filter(|s| s.type_.as_deref() == Some(v1::HELM_RELEASE_TYPE))
        .map(ResourceExt::name_any)
        .collect())
}

/// Removes v1's finalizer from the resource, if it has it; returns the
/// resource as patched.
pub async fn remove_v1_finalizer(
    wandb: &WeightsAndBiases,
    ctx: &Context,
) -> Result<Option<WeightsAndBiases>, Error> {
    let Some(patch) = v1::finalizer_removal(wandb) else {
        return Ok(None);
    };
    let api: Api<WeightsAndBiases> =
        Api::namespaced(ctx.client.clone(), &wandb.namespace().unwrap_or_default());
    ctx.metrics.request("remove-finalizer");
    let patched = api
        .patch(
            &wandb.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
        .map_err(resource_error("remove-finalizer", wandb))?;
    Ok(Some(patched))
}
