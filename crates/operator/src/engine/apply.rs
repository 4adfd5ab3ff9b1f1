//! The step a reconcile takes for one object: fill its generated values,
//! compare it with the live object, and apply it when they differ, or
//! replace it when the API refuses the change of an immutable field.

use std::collections::BTreeSet;

use kube::api::PropagationPolicy;
use serde_json::Value;
use tracing::{debug, info, warn};

use super::{Context, Error};
use crate::crd::WeightsAndBiases;
use crate::desired::{DesiredObject, is_workload};
use crate::events::EventType;
use crate::{drift, readiness, secrets};

/// The object after the apply step.
pub(super) struct Step {
    /// The live object now; `None` when absent (or deleted, to be replaced).
    pub live: Option<Value>,
    /// It was applied or replaced.
    pub changed: bool,
}

/// Brings one object to what is desired. `live` is the object as read
/// before, `floor` the fewest replicas an autoscaler keeps it at, and
/// `established` the components applied before (whose generated Secrets,
/// when absent, were deleted).
pub(super) async fn apply_object(
    wandb: &WeightsAndBiases,
    ctx: &Context,
    o: &mut DesiredObject,
    live: Option<Value>,
    floor: Option<i64>,
    established: &BTreeSet<String>,
) -> Result<Step, Error> {
    // First, so that the comparison sees the values the Secret will hold.
    if !o.generated.is_empty() {
        fill_generated(wandb, ctx, o, live.as_ref(), established).await?;
    }
    let Some(path) = drift_of(o, live.as_ref(), floor) else {
        return Ok(Step {
            live,
            changed: false,
        });
    };
    debug!(object = %o.key(), field = %path, "applying");
    let live = apply_or_replace(wandb, ctx, o, floor).await?;
    Ok(Step {
        live,
        changed: true,
    })
}

/// Fills the generated keys of a Secret, keeping the live values, and
/// tells of those that got new ones.
async fn fill_generated(
    wandb: &WeightsAndBiases,
    ctx: &Context,
    o: &mut DesiredObject,
    live: Option<&Value>,
    established: &BTreeSet<String>,
) -> Result<(), Error> {
    let fresh = secrets::fill(o, live, &mut secrets::random_alphanumeric)?;
    let told = secrets::generated(fresh, live.is_some(), established.contains(&o.component));
    tell_generated(wandb, ctx, &o.key(), told).await;
    Ok(())
}

/// The first field where the live object differs from the desired one;
/// `None` when there is nothing to apply.
fn drift_of(o: &DesiredObject, live: Option<&Value>, floor: Option<i64>) -> Option<String> {
    match live {
        None => Some(" (absent)".to_string()),
        // Below an autoscaler's minimum (at 0 after a stop, which
        // an autoscaler does not scale from): applied, then raised.
        Some(l) => drift::difference(&o.body, l).or_else(|| {
            readiness::raise_to_floor(&o.body, l, floor)
                .map(|_| "spec.replicas (below the autoscaler's minimum)".into())
        }),
    }
}

/// Applies the object and raises its replicas to the autoscaler's minimum.
/// A workload whose change the API refuses is replaced. Returns the live
/// object after: `None` when it was deleted to be replaced.
async fn apply_or_replace(
    wandb: &WeightsAndBiases,
    ctx: &Context,
    o: &DesiredObject,
    floor: Option<i64>,
) -> Result<Option<Value>, Error> {
    match ctx.apply(o).await {
        Ok(mut applied) => {
            if let Some(n) = readiness::raise_to_floor(&o.body, &applied, floor) {
                applied = ctx.scale(o, n).await?;
            }
            Ok(Some(applied))
        }
        Err(Error::Kube {
            source: kube::Error::Api(e),
            ..
        }) if e.code == 422 && is_workload(&o.kind) => {
            replace(wandb, ctx, o, &e.message).await?;
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

/// Deletes a workload an immutable field of which changed (a Job's
/// template, a StatefulSet's selector): the next reconcile creates it
/// anew. Volumes and generated secrets are not touched.
async fn replace(
    wandb: &WeightsAndBiases,
    ctx: &Context,
    o: &DesiredObject,
    why: &str,
) -> Result<(), Error> {
    info!(object = %o.key(), reason = %why, "replacing");
    ctx.event(
        wandb,
        EventType::Normal,
        "Replacing",
        "Apply",
        format!("{}: {why}", o.key()),
    )
    .await;
    ctx.delete(
        &o.kind,
        &o.name,
        o.namespace.as_deref(),
        PropagationPolicy::Background,
    )
    .await?;
    Ok(())
}

/// Warns of generated values that a user may have to act on; names the
/// Secret and its keys, never a value.
async fn tell_generated(
    wandb: &WeightsAndBiases,
    ctx: &Context,
    secret: &str,
    told: secrets::Generated,
) {
    match told {
        secrets::Generated::Quietly => {}
        secrets::Generated::MissingKeys(keys) => {
            for key in keys {
                warn!(object = %secret, key = %key, "a missing key of an existing Secret generated");
                let note = format!(
                    "{secret}: {key} had no value and got a new one; the Secret's other values are kept"
                );
                ctx.event(
                    wandb,
                    EventType::Warning,
                    "SecretKeyGenerated",
                    "Apply",
                    note,
                )
                .await;
            }
        }
        secrets::Generated::Deleted(keys) => {
            // A generated value went missing: it cannot be recovered.
            let keys = keys.join(", ");
            warn!(object = %secret, keys = %keys, "generated values replaced");
            let note = format!(
                "{secret} was deleted: {keys} got new values; the old ones are lost, and what \
                 was set up with them must be updated"
            );
            ctx.event(
                wandb,
                EventType::Warning,
                "SecretRegenerated",
                "Apply",
                note,
            )
            .await;
        }
    }
}
