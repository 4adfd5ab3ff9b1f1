//! Before the resource goes (its finalizer's cleanup): the data its
//! retention policy keeps is released, the data it does not is deleted,
//! and the rest of what it made goes at once.

use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams, PropagationPolicy};
use kube::runtime::controller::Action;
use serde_json::json;

use super::{Context, Error, kube_error};
use crate::crd::WeightsAndBiases;
use crate::events::EventType;
use crate::kinds;

/// Before the resource goes: release the data the retention policy keeps,
/// delete the data it does not. Everything else goes with the resource
/// through its owner references.
pub async fn cleanup(wandb: &WeightsAndBiases, ctx: &Context) -> Result<Action, Error> {
    let retention = wandb.spec.retention.clone().unwrap_or_default();
    let namespace = wandb.namespace().unwrap_or_default();
    let name = wandb.name_any();
    generated_secrets(ctx, &namespace, &name, retention.delete_generated_secrets).await?;
    if retention.delete_volumes {
        delete_volumes(ctx, &namespace, &name).await?;
    }
    delete_inventory(wandb, ctx, &namespace, &name).await?;
    let note = if retention.delete_volumes || retention.delete_generated_secrets {
        "deleted with its data, as its retention policy asks"
    } else {
        "deleted; volumes and generated secrets are kept for the next install"
    };
    ctx.event(wandb, EventType::Normal, "Deleted", "Cleanup", note.into())
        .await;
    ctx.metrics.forget_install(&namespace, &name);
    Ok(Action::await_change())
}

/// Deletes the install's generated Secrets, or releases them (`delete`
/// false) so that the next install of that name finds its values.
async fn generated_secrets(
    ctx: &Context,
    namespace: &str,
    name: &str,
    delete: bool,
) -> Result<(), Error> {
    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let selector = format!("{}={name}", crate::desired::INSTANCE_LABEL);
    ctx.metrics.request("list");
    let list = secrets
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(kube_error("list", "Secret".into()))?;
    for s in list.items {
        if !s
            .annotations()
            .contains_key(wandb_render::objects::GENERATED_KEYS_ANNOTATION)
        {
            continue;
        }
        if delete {
            ctx.delete(
                "Secret",
                &s.name_any(),
                Some(namespace),
                PropagationPolicy::Background,
            )
            .await?;
        } else {
            // Released: with no owner, the garbage collector leaves it.
            ctx.metrics.request("apply");
            let patch = json!({"metadata": {"ownerReferences": null}});
            secrets
                .patch(
                    &s.name_any(),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await
                .map_err(kube_error("release", format!("Secret/{}", s.name_any())))?;
        }
    }
    Ok(())
}

/// Deletes the install's volumes.
async fn delete_volumes(ctx: &Context, namespace: &str, name: &str) -> Result<(), Error> {
    let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), namespace);
    ctx.metrics.request("list");
    let selector = format!("app.kubernetes.io/instance={name}");
    let list = pvcs
        .list(&ListParams::default().labels(&selector))
        .await
        .map_err(kube_error("list", "PersistentVolumeClaim".into()))?;
    for pvc in list.items {
        ctx.delete(
            "PersistentVolumeClaim",
            &pvc.name_any(),
            Some(namespace),
            PropagationPolicy::Background,
        )
        .await?;
    }
    Ok(())
}

/// Deletes everything else the inventory lists now, rather than when the
/// garbage collector gets to it: cluster-scoped objects (ClusterRoles)
/// cannot have a namespaced owner at all, and the collector only learns of
/// a new kind of owner at its next discovery, up to 30 s later. Data is
/// never in the inventory.
async fn delete_inventory(
    wandb: &WeightsAndBiases,
    ctx: &Context,
    namespace: &str,
    name: &str,
) -> Result<(), Error> {
    let mine = format!("{namespace}/{name}");
    for key in wandb.status.iter().flat_map(|s| s.inventory.iter()) {
        let Some((kind, object)) = key.split_once('/') else {
            continue;
        };
        let Some(info) = kinds::info(kind) else {
            continue;
        };
        if ctx.owned_by_another(kind, object, &mine).await?.is_some() {
            continue;
        }
        let ns = info.namespaced.then_some(namespace);
        ctx.delete(kind, object, ns, PropagationPolicy::Background)
            .await?;
    }
    Ok(())
}
