//! One reconcile of a `WeightsAndBiases`: type the values, render, apply in
//! stages, prune what is no longer wanted, report. The kube client is used
//! here and in `controller`; everything it decides on is in pure modules.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PropagationPolicy};
use kube::runtime::controller::Action;
use kube::{Client, Resource, ResourceExt};
use serde_json::{Value, json};
use tracing::{debug, info, warn};

use crate::cache::Cache;
use crate::crd::{WeightsAndBiases, WeightsAndBiasesStatus};
use crate::desired::{DesiredObject, FIELD_MANAGER, Stage, desired, is_workload, owned_by_another};
use crate::events::{EventType, Recorder};
use crate::kinds::{self, KindInfo};
use crate::metrics::Metrics;
use crate::readiness::{self, Readiness};
use crate::status::{self, ComponentState, Observed};
use crate::{drift, migration, secrets, v1};

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

/// What a reconcile works with.
pub struct Context {
    pub client: Client,
    pub caches: Caches,
    pub metrics: Arc<Metrics>,
    pub recorder: Option<Recorder>,
    /// How often a ready install is checked again with nothing changed.
    pub resync: Duration,
    /// Consecutive failed reconciles, by `<namespace>/<name>`, for backoff.
    pub failures: std::sync::Mutex<BTreeMap<String, u32>>,
}

impl Context {
    fn api(&self, info: &KindInfo, namespace: Option<&str>) -> Api<DynamicObject> {
        let ar = info.api_resource();
        match namespace {
            Some(ns) if info.namespaced => Api::namespaced_with(self.client.clone(), ns, &ar),
            _ => Api::all_with(self.client.clone(), &ar),
        }
    }

    /// The live object, from the cache (or the API for kinds not watched).
    ///
    /// The caches hold only objects with our label. Data (a generated
    /// Secret, a volume) made by the upstream chart, by W&B's Go operator or
    /// by hand lacks it, so a miss is asked of the API: taking such a Secret
    /// for absent would give it new passwords over the ones in use.
    async fn live(&self, o: &DesiredObject) -> Result<Option<Value>, Error> {
        let namespace = o.namespace.as_deref();
        let cached = self.live_at(&o.kind, &o.name, namespace).await?;
        match kinds::info(&o.kind) {
            Some(info) if cached.is_none() && o.holds_data() => {
                self.get(info, &o.name, namespace).await
            }
            _ => Ok(cached),
        }
    }

    async fn live_at(
        &self,
        kind: &str,
        name: &str,
        namespace: Option<&str>,
    ) -> Result<Option<Value>, Error> {
        let Some(info) = kinds::info(kind) else {
            return Ok(None);
        };
        if let Some(cache) = self.caches.get(info.kind) {
            let namespace = namespace.filter(|_| info.namespaced);
            return Ok(cache.get(namespace, name).map(|mut v| {
                // Objects from a watch's list carry no type; ours always do.
                v["apiVersion"] = info.api_version.into();
                v["kind"] = info.kind.into();
                v
            }));
        }
        self.get(info, name, namespace).await
    }

    /// The object as the API has it now.
    async fn get(
        &self,
        info: &KindInfo,
        name: &str,
        namespace: Option<&str>,
    ) -> Result<Option<Value>, Error> {
        self.metrics.request("get");
        match self.api(info, namespace).get_opt(name).await {
            Ok(found) => Ok(found.map(|obj| serde_json::to_value(obj).unwrap_or(Value::Null))),
            // A kind whose CRD is missing reads as absent; applying it will say why.
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(None),
            Err(source) => Err(Error::Kube {
                action: "get",
                object: format!("{}/{name}", info.kind),
                source,
            }),
        }
    }

    /// The resource (`<namespace>/<name>`) that owns a cluster-scoped object,
    /// when that is another than `mine`; `None` for namespaced objects.
    async fn owned_by_another(
        &self,
        kind: &str,
        name: &str,
        mine: &str,
    ) -> Result<Option<String>, Error> {
        if kinds::info(kind).is_none_or(|i| i.namespaced) {
            return Ok(None);
        }
        let live = self.live_at(kind, name, None).await?;
        Ok(owned_by_another(live.as_ref(), mine).map(String::from))
    }

    /// Patches the object `o` names; `action` labels the request and any error.
    async fn patch<P: serde::Serialize + std::fmt::Debug>(
        &self,
        o: &DesiredObject,
        action: &'static str,
        params: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<Value, Error> {
        let info = kinds::info(&o.kind).ok_or_else(|| Error::UnknownKind(o.key()))?;
        self.metrics.request(action);
        let patched = self
            .api(info, o.namespace.as_deref())
            .patch(&o.name, params, patch)
            .await
            .map_err(|source| Error::Kube {
                action,
                object: o.key(),
                source,
            })?;
        Ok(serde_json::to_value(patched).unwrap_or(Value::Null))
    }

    async fn apply(&self, o: &DesiredObject) -> Result<Value, Error> {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let applied = self
            .patch(o, "apply", &params, &Patch::Apply(&o.body))
            .await?;
        self.metrics
            .applied
            .get_or_create(&crate::metrics::KindLabel {
                kind: o.kind.clone(),
            })
            .inc();
        Ok(applied)
    }

    /// Sets a workload's replicas as an update, not an apply, so that the
    /// operator's applies never own them and the autoscaler takes them over.
    async fn scale(&self, o: &DesiredObject, replicas: i64) -> Result<Value, Error> {
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..Default::default()
        };
        let body = json!({"spec": {"replicas": replicas}});
        self.patch(o, "scale", &params, &Patch::Merge(&body)).await
    }

    /// Deletes an object; `false` when it was not there.
    async fn delete(
        &self,
        kind: &str,
        name: &str,
        namespace: Option<&str>,
        policy: PropagationPolicy,
    ) -> Result<bool, Error> {
        let Some(info) = kinds::info(kind) else {
            return Ok(false);
        };
        self.metrics.request("delete");
        let params = DeleteParams {
            propagation_policy: Some(policy),
            ..Default::default()
        };
        match self.api(info, namespace).delete(name, &params).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => return Ok(false),
            Err(source) => {
                return Err(Error::Kube {
                    action: "delete",
                    object: format!("{kind}/{name}"),
                    source,
                });
            }
        }
        self.metrics
            .deleted
            .get_or_create(&crate::metrics::KindLabel { kind: kind.into() })
            .inc();
        Ok(true)
    }

    /// The last lines of the log of a Job's newest pod.
    async fn job_log(&self, job: &str, namespace: &str) -> Result<String, String> {
        let request = |verb: &str| self.metrics.request(verb);
        let tail = Some(migration::LOG_LINES);
        let read = crate::logs::job_log(&self.client, namespace, job, tail, &request);
        // The API server asks the node's kubelet, which may not answer.
        match tokio::time::timeout(Duration::from_secs(5), read).await {
            Ok(log) => log,
            Err(_) => Err("no answer within 5 s".into()),
        }
    }

    /// Publishes an Event on the resource; a failure to do so is logged, not fatal.
    pub async fn event(
        &self,
        wandb: &WeightsAndBiases,
        type_: EventType,
        reason: &str,
        action: &str,
        note: String,
    ) {
        let Some(recorder) = &self.recorder else {
            return;
        };
        self.metrics.request("publish-event");
        let regarding = wandb.object_ref(&());
        if let Err(e) = recorder
            .publish(&regarding, type_, reason, action, &note)
            .await
        {
            warn!(error = %e, "publishing an event failed");
        }
    }
}

/// The apply-side reconcile (the finalizer's cleanup is in `controller`).
pub async fn reconcile(wandb: &WeightsAndBiases, ctx: &Context) -> Result<Action, Error> {
    let previous = wandb.status.clone();
    let mut observed = Observed {
        generation: wandb.metadata.generation,
        ..Default::default()
    };
    if let Some(by) = crate::pause::paused_by(wandb) {
        return paused(wandb, ctx, previous.as_ref(), observed, by).await;
    }
    if was_paused(previous.as_ref()) {
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

    // 1. The values. A bad spec changes nothing that runs.
    let tree = match &wandb.spec.values {
        Value::Null => json!({}),
        v => v.clone(),
    };
    let loaded = match wandb_values::load::from_user_tree(tree) {
        Ok(loaded) => loaded,
        Err(problems) => {
            let lines: Vec<String> = problems
                .iter()
                .map(|p| format!("spec.values.{p}"))
                .collect();
            observed.invalid_values = Some(lines.clone());
            if previous.as_ref().and_then(|s| s.observed_generation) != wandb.metadata.generation {
                ctx.event(
                    wandb,
                    EventType::Warning,
                    crate::conditions::reasons::INVALID_VALUES,
                    "Validate",
                    lines.join("; "),
                )
                .await;
            }
            write_status(wandb, ctx, previous.as_ref(), &observed).await?;
            return Ok(Action::await_change());
        }
    };
    observed
        .warnings
        .extend(loaded.warnings.iter().map(|w| format!("spec.values.{w}")));
    observed.host = Some(loaded.values.global.host.clone());
    observed.version = Some(loaded.values.app.base.image.tag.clone()).filter(|t| !t.is_empty());

    // A version below the last migrated one changes nothing that runs.
    let migrated = previous
        .as_ref()
        .and_then(|p| p.migrated_version.clone().or_else(|| p.version.clone()));
    if let Some(why) =
        crate::version::downgrade_refusal(wandb, observed.version.as_deref(), migrated.as_deref())
    {
        if previous.as_ref().and_then(|s| s.observed_generation) != wandb.metadata.generation {
            warn!(resource = %wandb.name_any(), "downgrade refused");
            let reason = crate::conditions::reasons::DOWNGRADE_REFUSED;
            ctx.event(wandb, EventType::Warning, reason, "Upgrade", why.clone())
                .await;
        }
        observed.downgrade_refused = Some(why);
        write_status(wandb, ctx, previous.as_ref(), &observed).await?;
        return Ok(Action::await_change());
    }

    // 2. What the values ask for.
    let mut objects = desired(wandb, &loaded.values);
    if wandb.spec.stopped {
        crate::stop::scale_to_zero(&mut objects);
        observed.stopped = true;
    }
    for o in &mut objects {
        drift::stamp(&mut o.body);
    }
    let mut readiness: BTreeMap<String, Vec<(String, Readiness)>> = BTreeMap::new();
    let floors = readiness::autoscaler_floors(objects.iter().map(|o| (o.kind.as_str(), &o.body)));
    let mut changed: Vec<String> = Vec::new();

    // A generated Secret of a component applied before that is absent now
    // was deleted, not yet to be created.
    let established = secrets::applied_components(
        &objects,
        previous.as_ref().map_or(&[][..], |p| &p.inventory[..]),
    );

    // 3. Stage by stage; a stage whose workloads are not ready holds the next.
    let stages = [
        Stage::Config,
        Stage::Stores,
        Stage::Migrations,
        Stage::Services,
        Stage::PostInstall,
    ];
    let mine = format!(
        "{}/{}",
        wandb.namespace().unwrap_or_default(),
        wandb.name_any()
    );
    // Objects left alone because another resource owns them.
    let mut conflicted: BTreeSet<String> = BTreeSet::new();
    // Migration Jobs that failed: (name, desired body, live object).
    let mut failed_migrations: Vec<(String, Value, Value)> = Vec::new();
    for stage in stages {
        let held = observed.waiting_on.is_some();
        for o in objects.iter_mut().filter(|o| o.stage == stage) {
            let mut live = ctx.live(o).await?;
            let floor = floors.get(&o.key()).copied();
            if o.namespace.is_none()
                && let Some(owner) = owned_by_another(live.as_ref(), &mine)
            {
                // Never take over another install's object: say so instead.
                observed.conflicts.push(format!(
                    "{} belongs to weightsandbiases {owner}: cluster-wide names come from the \
                     resource's name, so give this resource another name",
                    o.key()
                ));
                conflicted.insert(o.key());
                continue;
            }
            if !held {
                if !o.generated.is_empty() {
                    let fresh = secrets::fill(o, live.as_ref(), &mut secrets::random_alphanumeric)?;
                    let told = secrets::generated(
                        fresh,
                        live.is_some(),
                        established.contains(&o.component),
                    );
                    tell_generated(wandb, ctx, &o.key(), told).await;
                }
                let drifted = match &live {
                    None => Some(" (absent)".to_string()),
                    // Below an autoscaler's minimum (at 0 after a stop, which
                    // an autoscaler does not scale from): applied, then raised.
                    Some(l) => drift::difference(&o.body, l).or_else(|| {
                        readiness::raise_to_floor(&o.body, l, floor)
                            .map(|_| "spec.replicas (below the autoscaler's minimum)".into())
                    }),
                };
                if let Some(path) = drifted {
                    tracing::debug!(object = %o.key(), field = %path, "applying");
                    match ctx.apply(o).await {
                        Ok(mut applied) => {
                            if let Some(n) = readiness::raise_to_floor(&o.body, &applied, floor) {
                                applied = ctx.scale(o, n).await?;
                            }
                            changed.push(o.key());
                            live = Some(applied);
                        }
                        Err(Error::Kube {
                            source: kube::Error::Api(e),
                            ..
                        }) if e.code == 422 && is_workload(&o.kind) => {
                            // An immutable field changed (a Job's template, a
                            // StatefulSet's selector): replace the object.
                            // Volumes and generated secrets are not touched.
                            info!(object = %o.key(), reason = %e.message, "replacing");
                            ctx.event(
                                wandb,
                                EventType::Normal,
                                "Replacing",
                                "Apply",
                                format!("{}: {}", o.key(), e.message),
                            )
                            .await;
                            ctx.delete(
                                &o.kind,
                                &o.name,
                                o.namespace.as_deref(),
                                PropagationPolicy::Background,
                            )
                            .await?;
                            changed.push(o.key());
                            live = None;
                        }
                        Err(e) => return Err(e),
                    }
                }
            }
            if is_workload(&o.kind) {
                let r = readiness::of(&o.kind, live.as_ref(), floor);
                if o.stage == Stage::Migrations
                    && r.failed
                    && let Some(live) = &live
                {
                    failed_migrations.push((o.name.clone(), o.body.clone(), live.clone()));
                }
                readiness
                    .entry(o.component.clone())
                    .or_default()
                    .push((o.key(), r));
            }
        }
        let stage_ready = objects
            .iter()
            .filter(|o| o.stage == stage && is_workload(&o.kind))
            .all(|o| {
                readiness
                    .get(&o.component)
                    .is_some_and(|rs| rs.iter().any(|(k, r)| k == &o.key() && r.ready))
            });
        if !held && !stage_ready && stage != Stage::PostInstall && stage != Stage::Config {
            observed.waiting_on = Some(stage.name().replace('-', " "));
        }
        if stage == Stage::Migrations && !held && stage_ready {
            observed.migrated = true;
        }
    }

    if let Some((job, body, live)) = failed_migrations.first() {
        let failure = Failure { job, body, live };
        observed.migration_failed =
            Some(failed_migration(wandb, ctx, previous.as_ref(), &objects, failure).await);
    }

    // 4. Prune what an earlier spec asked for and this one does not. Data
    //    (volumes, generated secrets) is never in the inventory.
    let wanted: BTreeSet<String> = objects.iter().map(DesiredObject::key).collect();
    let namespace = wandb.namespace();
    if let Some(previous) = &previous {
        for key in previous.inventory.iter().filter(|k| !wanted.contains(*k)) {
            let Some((kind, name)) = key.split_once('/') else {
                continue;
            };
            if ctx.owned_by_another(kind, name, &mine).await?.is_some() {
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
            changed.push(format!("-{key}"));
        }
    }
    observed.inventory = objects
        .iter()
        .filter(|o| !o.holds_data())
        .map(DesiredObject::key)
        .filter(|k| !conflicted.contains(k))
        .collect();
    let was_conflict = previous
        .as_ref()
        .is_some_and(|p| p.conditions.iter().any(|c| c.reason == "Conflict"));
    if !observed.conflicts.is_empty() && !was_conflict {
        warn!(
            conflicts = observed.conflicts.len(),
            "objects of another install"
        );
        ctx.event(
            wandb,
            EventType::Warning,
            "Conflict",
            "Apply",
            observed.conflicts.join("; "),
        )
        .await;
    }
    observed.components = readiness
        .iter()
        .map(|(c, rs)| (c.clone(), status::component_state(rs)))
        .collect::<BTreeMap<String, ComponentState>>();

    if !changed.is_empty() {
        let pruned = changed.iter().filter(|c| c.starts_with('-')).count();
        info!(applied = changed.len() - pruned, pruned, "reconciled");
        ctx.event(
            wandb,
            EventType::Normal,
            "Reconciled",
            "Apply",
            format!(
                "applied {} objects, pruned {pruned}",
                changed.len() - pruned
            ),
        )
        .await;
    }
    // The install is adopted (its Secrets, with their values, are ours now).
    take_over_from_v1(wandb, ctx).await?;
    let ready = write_status(wandb, ctx, previous.as_ref(), &observed).await?;
    Ok(if ready {
        Action::requeue(ctx.resync)
    } else {
        // Watches wake the reconcile as workloads change; this is a backstop.
        Action::requeue(Duration::from_secs(10))
    })
}

/// A migration Job that failed.
struct Failure<'a> {
    job: &'a str,
    body: &'a Value,
    live: &'a Value,
}

/// What `Ready` says of a failed migration. Its pod's log is read once per
/// failure (a new Job, or the same failing again later), with every value
/// of the Secrets it reads masked, and told in a Warning Event; later
/// reconciles keep the message.
async fn failed_migration(
    wandb: &WeightsAndBiases,
    ctx: &Context,
    previous: Option<&WeightsAndBiasesStatus>,
    objects: &[DesiredObject],
    failure: Failure<'_>,
) -> String {
    use crate::conditions::{reasons, types};
    let at = migration::failed_at(failure.live).unwrap_or_default();
    let prefix = migration::failure_prefix(failure.job, &at);
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
    for name in migration::secret_names(failure.body) {
        if ours.contains(name.as_str()) {
            continue;
        }
        // A Secret the user made (an external database's password).
        if let Some(info) = kinds::info("Secret")
            && let Ok(Some(secret)) = ctx.get(info, &name, Some(&namespace)).await
        {
            values.extend(migration::secret_values(&secret));
        }
    }
    let log = ctx
        .job_log(failure.job, &namespace)
        .await
        .map(|text| migration::mask(&text, &values))
        .map_err(|why| migration::mask(&why, &values));
    let message = migration::failure_message(failure.job, &at, log);
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

/// An Event's note is at most 1 kB (events.k8s.io/v1).
const EVENT_NOTE_MAX: usize = 1000;

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
    write_status(wandb, ctx, previous, &observed).await?;
    Ok(Action::await_change())
}

fn was_paused(previous: Option<&WeightsAndBiasesStatus>) -> bool {
    previous.is_some_and(|p| {
        p.conditions
            .iter()
            .any(|c| c.type_ == crate::conditions::types::PAUSED && c.status == "True")
    })
}

/// Once this operator runs an install W&B's Go operator v1 ran: removes
/// v1's finalizer, and v1's leftovers when the resource asks for it.
async fn take_over_from_v1(wandb: &WeightsAndBiases, ctx: &Context) -> Result<(), Error> {
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
    let Some(leftovers) = v1::leftovers(wandb) else {
        return Ok(());
    };
    use k8s_openapi::api::core::v1::Secret;
    let namespace = wandb.namespace().unwrap_or_default();
    let mut names: Vec<String> = Vec::new();
    if let Some(selector) = &leftovers.helm_release {
        let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
        ctx.metrics.request("list");
        let records = secrets
            .list(&kube::api::ListParams::default().labels(selector))
            .await
            .map_err(|source| Error::Kube {
                action: "list",
                object: "Secret".into(),
                source,
            })?;
        names.extend(
            records
                .items
                .iter()
                .filter(|s| s.type_.as_deref() == Some(v1::HELM_RELEASE_TYPE))
                .map(ResourceExt::name_any),
        );
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

/// The error of a request about the resource itself.
fn resource_error(
    action: &'static str,
    wandb: &WeightsAndBiases,
) -> impl FnOnce(kube::Error) -> Error {
    let object = format!("WeightsAndBiases/{}", wandb.name_any());
    move |source| Error::Kube {
        action,
        object,
        source,
    }
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

/// Patches the status when it says something new. Returns overall readiness.
async fn write_status(
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

/// Before the resource goes: release the data the retention policy keeps,
/// delete the data it does not. Everything else goes with the resource
/// through its owner references.
pub async fn cleanup(wandb: &WeightsAndBiases, ctx: &Context) -> Result<Action, Error> {
    use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Secret};
    let retention = wandb.spec.retention.clone().unwrap_or_default();
    let namespace = wandb.namespace().unwrap_or_default();
    let name = wandb.name_any();
    let kube_err = |action: &'static str, object: String| {
        move |source| Error::Kube {
            action,
            object,
            source,
        }
    };

    let secrets: Api<Secret> = Api::namespaced(ctx.client.clone(), &namespace);
    let selector = format!("{}={name}", crate::desired::INSTANCE_LABEL);
    ctx.metrics.request("list");
    let list = secrets
        .list(&kube::api::ListParams::default().labels(&selector))
        .await
        .map_err(kube_err("list", "Secret".into()))?;
    for s in list.items {
        if !s
            .annotations()
            .contains_key(wandb_render::objects::GENERATED_KEYS_ANNOTATION)
        {
            continue;
        }
        if retention.delete_generated_secrets {
            ctx.delete(
                "Secret",
                &s.name_any(),
                Some(&namespace),
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
                .map_err(kube_err("release", format!("Secret/{}", s.name_any())))?;
        }
    }
    if retention.delete_volumes {
        let pvcs: Api<PersistentVolumeClaim> = Api::namespaced(ctx.client.clone(), &namespace);
        ctx.metrics.request("list");
        let selector = format!("app.kubernetes.io/instance={name}");
        let list = pvcs
            .list(&kube::api::ListParams::default().labels(&selector))
            .await
            .map_err(kube_err("list", "PersistentVolumeClaim".into()))?;
        for pvc in list.items {
            ctx.delete(
                "PersistentVolumeClaim",
                &pvc.name_any(),
                Some(&namespace),
                PropagationPolicy::Background,
            )
            .await?;
        }
    }
    // Everything else the inventory lists goes now, rather than when the
    // garbage collector gets to it: cluster-scoped objects (ClusterRoles)
    // cannot have a namespaced owner at all, and the collector only learns
    // of a new kind of owner at its next discovery, up to 30 s later. Data
    // is never in the inventory.
    for key in wandb.status.iter().flat_map(|s| s.inventory.iter()) {
        let Some((kind, object)) = key.split_once('/') else {
            continue;
        };
        let Some(info) = kinds::info(kind) else {
            continue;
        };
        if ctx
            .owned_by_another(kind, object, &format!("{namespace}/{name}"))
            .await?
            .is_some()
        {
            continue;
        }
        let ns = info.namespaced.then_some(namespace.as_str());
        ctx.delete(kind, object, ns, PropagationPolicy::Background)
            .await?;
    }
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
