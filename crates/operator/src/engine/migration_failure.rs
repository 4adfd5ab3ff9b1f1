//! What `Ready` and a Warning Event say of a migration Job that failed: its
//! pod's last log lines, with every value of the Secrets it reads masked.

use std::collections::BTreeSet;

use kube::ResourceExt;
use serde_json::Value;
use tracing::warn;

use super::Context;
use crate::crd::{WeightsAndBiases, WeightsAndBiasesStatus};
use crate::desired::DesiredObject;
use crate::events::EventType;
use crate::{kinds, migration};

/// A migration Job that failed.
pub(super) struct FailedMigration {
    pub job: String,
    /// The Job as desired: names the Secrets its pods read.
    pub body: Value,
    /// The Job as it is: says when it failed.
    pub live: Value,
}

/// What `Ready` says of a failed migration. Its pod's log is read once per
/// failure (a new Job, or the same failing again later), with every value
/// of the Secrets it reads masked, and told in a Warning Event; later
/// reconciles keep the message.
pub(super) async fn message(
    wandb: &WeightsAndBiases,
    ctx: &Context,
    previous: Option<&WeightsAndBiasesStatus>,
    objects: &[DesiredObject],
    failure: &FailedMigration,
) -> String {
    use crate::conditions::{reasons, types};
    let at = migration::failed_at(&failure.live).unwrap_or_default();
    let prefix = migration::failure_prefix(&failure.job, &at);
    let told = previous.and_then(|p| {
        p.conditions.iter().find(|c| {
            c.type_ == types::READY
                && c.reason == reasons::MIGRATION_FAILED
                && c.message.starts_with(&prefix)
        })
    });
    if let Some(told) = told {
        return told.message.clone();
    }
    let namespace = wandb.namespace().unwrap_or_default();
    let values = secret_values(ctx, objects, &failure.body, &namespace).await;
    let log = ctx
        .job_log(&failure.job, &namespace)
        .await
        .map(|text| migration::mask(&text, &values))
        .map_err(|why| migration::mask(&why, &values));
    let message = migration::failure_message(&failure.job, &at, log);
    warn!(job = %failure.job, "a migration Job failed");
    let note: String = message.chars().take(EVENT_NOTE_MAX).collect();
    ctx.event(
        wandb,
        EventType::Warning,
        reasons::MIGRATION_FAILED,
        "Migrate",
        note,
    )
    .await;
    message
}

/// Every value a log may show that it must not: those of our Secrets, and
/// of the Secrets the Job reads that are not ours.
async fn secret_values(
    ctx: &Context,
    objects: &[DesiredObject],
    job: &Value,
    namespace: &str,
) -> Vec<String> {
    let mut values: Vec<String> = objects
        .iter()
        .filter(|o| o.kind == "Secret")
        .flat_map(|o| migration::secret_values(&o.body))
        .collect();
    let ours: BTreeSet<&str> = objects
        .iter()
        .filter(|o| o.kind == "Secret")
        .map(|o| o.name.as_str())
        .collect();
    for name in migration::secret_names(job) {
        if ours.contains(name.as_str()) {
            continue;
        }
        // A Secret the user made (an external database's password). One
        // that cannot be read is skipped: its values stay unmasked.
        if let Some(info) = kinds::info("Secret")
            && let Ok(Some(secret)) = ctx.get(info, &name, Some(namespace)).await
        {
            values.extend(migration::secret_values(&secret));
        }
    }
    values
}

/// An Event's note is at most 1 kB (events.k8s.io/v1).
const EVENT_NOTE_MAX: usize = 1000;
