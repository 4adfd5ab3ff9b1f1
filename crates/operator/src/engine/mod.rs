//! One reconcile of a `WeightsAndBiases`: type the values, render, apply in
//! stages, prune what is no longer wanted, report. The kube client is used
//! here and in `controller`; everything it decides on is in pure modules.
//!
//! [`reconcile`] reads top to bottom as its stages; each stage is a module:
//!
//! - `context`: the [`Context`] and every request made of the API;
//! - `stages`: the objects stage by stage, a stage that is not ready
//!   holding the next;
//! - `apply`: the step for one object: fill its generated values, compare
//!   it with the live object, apply or replace it;
//! - `migration_failure`: what `Ready` and an Event say of a failed
//!   migration Job;
//! - `prune`: deleting what an earlier spec asked for and this one does not;
//! - `report`: the status patch and the Events that sum a reconcile up;
//! - `takeover`: taking an install over from W&B's Go operator v1;
//! - `deletion`: [`cleanup`], before the resource goes.

mod apply;
mod catalog;
mod context;
mod deletion;
mod migration_failure;
mod prune;
mod report;
mod server_manifest;
mod stages;
mod takeover;

use std::collections::BTreeMap;
use std::time::Duration;

use kube::ResourceExt;
use kube::runtime::controller::Action;
use serde_json::{Value, json};
use tracing::{info, warn};
use wandb_values::Values;

use crate::cache::Cache;
use crate::crd::{WeightsAndBiases, WeightsAndBiasesStatus};
use crate::desired::desired;
use crate::drift;
use crate::events::EventType;
use crate::status::Observed;

pub use catalog::{Document, Documents};
pub use context::Context;
pub use deletion::cleanup;
pub use server_manifest::{
    DIGEST_ANNOTATION, ManifestDocument, PULLED_FROM_ANNOTATION, ServerManifests, kept_name,
};
pub use takeover::remove_v1_finalizer;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{action} {object}: {source}")]
    Kube {
        action: &'static str,
        object: String,
        #[source]
        source: kube::Error,
    },
    #[error("the operating system's random source failed: {0}")]
    Random(#[from] getrandom::Error),
    #[error("{0}")]
    Finalizer(String),
    #[error("{0}: a kind this operator does not know how to apply")]
    UnknownKind(String),
}

impl Error {
    /// A short name, for metrics.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::Kube { action, .. } => action,
            Error::Random(_) => "random",
            Error::Finalizer(_) => "finalizer",
            Error::UnknownKind(_) => "unknown-kind",
        }
    }
}

/// Caches of the live objects the operator manages, one per kind.
pub type Caches = BTreeMap<&'static str, Cache>;

/// The apply-side reconcile (the finalizer's is [`cleanup`]).
pub async fn reconcile(wandb: &WeightsAndBiases, ctx: &Context) -> Result<Action, Error> {
    let previous = wandb.status.clone();
    let previous = previous.as_ref();
    let mut observed = Observed {
        generation: wandb.metadata.generation,
        ..Default::default()
    };
    if let Some(by) = crate::pause::paused_by(wandb) {
        return paused(wandb, ctx, previous, observed, by).await;
    }
    if was_paused(previous) {
        info!(resource = %wandb.name_any(), "resumed");
        let note = "resumed: the operator repairs what changed while it was paused".to_string();
        ctx.event(wandb, EventType::Normal, "Resumed", "Pause", note)
            .await;
    }
    if wandb.spec.chart.is_some() {
        observed
            .warnings
            .push("spec.chart: is ignored; this operator carries the chart it installs".into());
    }

    // 1. The release document and the values. A document that cannot be
    //    read, a bad spec, or a version below the last migrated one changes
    //    nothing that runs: only the status says why.
    let document = match catalog::document_of(wandb, ctx).await? {
        Ok(document) => document,
        Err(why) => {
            refuse_document(wandb, ctx, previous, &mut observed, why).await?;
            // Fixing the ConfigMap wakes no reconcile of the resource.
            return Ok(Action::requeue(Duration::from_secs(30)));
        }
    };
    let Some(values) = type_values(wandb, ctx, previous, &mut observed, &document).await? else {
        return Ok(Action::await_change());
    };
    let version_key = document
        .manifest_version()
        .map_or("spec.values.app.image.tag", |(_, key)| key);
    if refuse_downgrade(wandb, ctx, previous, &mut observed, version_key).await? {
        return Ok(Action::await_change());
    }

    // 2. What the values ask for.
    let mut objects = desired(wandb, &document, &values);
    if wandb.spec.stopped {
        crate::stop::scale_to_zero(&mut objects, &document);
        observed.stopped = true;
    }
    for o in &mut objects {
        drift::stamp(&mut o.body);
    }

    // 3. Stage by stage; a stage whose workloads are not ready holds the next.
    let mine = owner_key(wandb);
    let walk =
        stages::apply_in_stages(wandb, ctx, previous, &mut objects, &mine, &mut observed).await?;
    if let Some(failure) = &walk.failed_migration {
        let message = migration_failure::message(wandb, ctx, previous, &objects, failure).await;
        observed.migration_failed = Some(message);
    }

    // 4. Prune what an earlier spec asked for and this one does not.
    let pruned = prune::prune_unwanted(wandb, ctx, previous, &objects, &mine).await?;
    observed.inventory = prune::inventory(&objects, &walk.conflicted);

    // 5. Report.
    report::tell_conflicts(wandb, ctx, previous, &observed.conflicts).await;
    observed.components = walk.component_states();
    report::tell_reconciled(wandb, ctx, walk.applied, pruned).await;
    // The install is adopted (its Secrets, with their values, are ours now).
    takeover::take_over_from_v1(wandb, ctx).await?;
    let ready = report::write_status(wandb, ctx, previous, &observed).await?;
    Ok(if ready {
        Action::requeue(ctx.resync)
    } else {
        // Watches wake the reconcile as workloads change; this is a backstop.
        Action::requeue(Duration::from_secs(10))
    })
}

/// Types the spec's values, noting their warnings, host and version in
/// `observed`. Values that do not type are recorded, told once per
/// generation and written to the status: then `None`.
async fn type_values(
    wandb: &WeightsAndBiases,
    ctx: &Context,
    previous: Option<&WeightsAndBiasesStatus>,
    observed: &mut Observed,
    document: &Document,
) -> Result<Option<Values>, Error> {
    let tree = match &wandb.spec.values {
        Value::Null => json!({}),
        v => v.clone(),
    };
    let loaded = match wandb_values::load::from_user_tree(tree, document.additions()) {
        Ok(loaded) => loaded,
        Err(problems) => {
            let lines: Vec<String> = problems
                .iter()
                .map(|p| format!("spec.values.{p}"))
                .collect();
            observed.invalid_values = Some(lines.clone());
            if is_new_generation(wandb, previous) {
                ctx.event(
                    wandb,
                    EventType::Warning,
                    crate::conditions::reasons::INVALID_VALUES,
                    "Validate",
                    lines.join("; "),
                )
                .await;
            }
            report::write_status(wandb, ctx, previous, observed).await?;
            return Ok(None);
        }
    };
    observed
        .warnings
        .extend(loaded.warnings.iter().map(|w| format!("spec.values.{w}")));
    observed.host = Some(loaded.values.global.host.clone());
    observed.version = Some(loaded.values.app.base.image.tag.clone()).filter(|t| !t.is_empty());
    // A manifest's version is its applications' tag, whichever runs the app.
    if let Some((version, _)) = document.manifest_version() {
        observed.version = Some(version.to_string());
    }
    Ok(Some(loaded.values))
}

/// The release document cannot be had: the refusal is recorded, told once
/// per generation and written to the status; nothing is applied.
async fn refuse_document(
    wandb: &WeightsAndBiases,
    ctx: &Context,
    previous: Option<&WeightsAndBiasesStatus>,
    observed: &mut Observed,
    why: String,
) -> Result<(), Error> {
    let told = previous
        .and_then(|p| {
            p.conditions
                .iter()
                .find(|c| c.type_ == crate::conditions::types::READY)
        })
        .is_some_and(|c| c.message == why);
    if is_new_generation(wandb, previous) || !told {
        warn!(resource = %wandb.name_any(), "release document refused");
        let reason = crate::conditions::reasons::INVALID_CATALOG;
        ctx.event(wandb, EventType::Warning, reason, "Validate", why.clone())
            .await;
    }
    observed.invalid_catalog = Some(why);
    report::write_status(wandb, ctx, previous, observed).await?;
    Ok(())
}

/// Whether the values' version is below the last one whose migrations ran
/// (older code may not read a newer schema), without the annotation that
/// allows it: then the refusal is recorded, told once per generation and
/// written to the status.
async fn refuse_downgrade(
    wandb: &WeightsAndBiases,
    ctx: &Context,
    previous: Option<&WeightsAndBiasesStatus>,
    observed: &mut Observed,
    version_key: &str,
) -> Result<bool, Error> {
    // Without a recorded `migratedVersion`, the version the services run.
    let migrated = previous.and_then(|p| p.migrated_version.clone().or_else(|| p.version.clone()));
    let Some(why) = crate::version::downgrade_refusal(
        wandb,
        version_key,
        observed.version.as_deref(),
        migrated.as_deref(),
    ) else {
        return Ok(false);
    };
    if is_new_generation(wandb, previous) {
        warn!(resource = %wandb.name_any(), "downgrade refused");
        let reason = crate::conditions::reasons::DOWNGRADE_REFUSED;
        ctx.event(wandb, EventType::Warning, reason, "Upgrade", why.clone())
            .await;
    }
    observed.downgrade_refused = Some(why);
    report::write_status(wandb, ctx, previous, observed).await?;
    Ok(true)
}

/// Whether this generation of the spec was not reconciled before: what is
/// wrong with a spec is told once, not at every resync.
fn is_new_generation(wandb: &WeightsAndBiases, previous: Option<&WeightsAndBiasesStatus>) -> bool {
    previous.and_then(|s| s.observed_generation) != wandb.metadata.generation
}

/// `<namespace>/<name>` of the resource: how the owner label of its
/// cluster-scoped objects names it.
fn owner_key(wandb: &WeightsAndBiases) -> String {
    format!(
        "{}/{}",
        wandb.namespace().unwrap_or_default(),
        wandb.name_any()
    )
}

/// A paused install: nothing is read or written but its `Paused` condition
/// (and one Event when the pause begins). Changes to its objects wake no
/// reconcile that acts; resuming repairs them.
async fn paused(
    wandb: &WeightsAndBiases,
    ctx: &Context,
    previous: Option<&WeightsAndBiasesStatus>,
    mut observed: Observed,
    by: String,
) -> Result<Action, Error> {
    if !was_paused(previous) {
        info!(resource = %wandb.name_any(), by = %by, "paused");
        let note = format!(
            "paused ({by}): the operator changes nothing of this install until it is resumed"
        );
        ctx.event(wandb, EventType::Normal, "Paused", "Pause", note)
            .await;
    }
    observed.paused = Some(by);
    report::write_status(wandb, ctx, previous, &observed).await?;
    Ok(Action::await_change())
}

fn was_paused(previous: Option<&WeightsAndBiasesStatus>) -> bool {
    previous.is_some_and(|p| {
        p.conditions
            .iter()
            .any(|c| c.type_ == crate::conditions::types::PAUSED && c.status == "True")
    })
}

/// The error of a failed request: `action` on `object` (`Kind/name`).
fn kube_error(action: &'static str, object: String) -> impl FnOnce(kube::Error) -> Error {
    move |source| Error::Kube {
        action,
        object,
        source,
    }
}

/// The error of a request about the resource itself.
fn resource_error(
    action: &'static str,
    wandb: &WeightsAndBiases,
) -> impl FnOnce(kube::Error) -> Error {
    kube_error(action, format!("WeightsAndBiases/{}", wandb.name_any()))
}
