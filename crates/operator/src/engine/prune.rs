//! Pruning: deleting what an earlier spec asked for and this one does not,
//! as the inventory in the status lists it. Data (volumes, generated
//! secrets) is never in the inventory, so it is never pruned.

use std::collections::BTreeSet;

use kube::ResourceExt;
use kube::api::PropagationPolicy;

use super::{Context, Error};
use crate::crd::{WeightsAndBiases, WeightsAndBiasesStatus};
use crate::desired::DesiredObject;
use crate::kinds;

/// Deletes what the previous inventory lists and `objects` no longer has,
/// but for cluster-scoped objects another resource owns (`mine` is the
/// resource as `<namespace>/<name>`). Returns how many it pruned.
pub(super) async fn prune_unwanted(
    wandb: &WeightsAndBiases,
    ctx: &Context,
    previous: Option<&WeightsAndBiasesStatus>,
    objects: &[DesiredObject],
    mine: &str,
) -> Result<usize, Error> {
    let Some(previous) = previous else {
        return Ok(0);
    };
    let wanted: BTreeSet<String> = objects.iter().map(DesiredObject::key).collect();
    let namespace = wandb.namespace();
    let mut pruned = 0;
    for key in previous.inventory.iter().filter(|k| !wanted.contains(*k)) {
        let Some((kind, name)) = key.split_once('/') else {
            continue;
        };
        // A cluster-scoped object another install owns is not ours to delete.
        if ctx.owned_by_another(kind, name, mine).await?.is_some() {
            continue;
        }
        let namespaced = kinds::info(kind).is_some_and(|i| i.namespaced);
        ctx.delete(
            kind,
            name,
            namespace.as_deref().filter(|_| namespaced),
            PropagationPolicy::Background,
        )
        .await?;
        pruned += 1;
    }
    Ok(pruned)
}

/// The inventory to record: what the next reconcile prunes when its spec no
/// longer asks for it. Neither data nor objects left alone for a conflict
/// (`conflicted`) are in it.
pub(super) fn inventory(objects: &[DesiredObject], conflicted: &BTreeSet<String>) -> Vec<String> {
    objects
        .iter()
        .filter(|o| !o.holds_data())
        .map(DesiredObject::key)
        .filter(|k| !conflicted.contains(k))
        .collect()
}
