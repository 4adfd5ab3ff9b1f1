//! The objects of a reconcile, stage by stage: each through the apply step
//! (`apply`), then the readiness of the stage's workloads. A stage that is
//! not ready holds the stages after it: their objects are read, not
//! applied, so that the services never start on stores or migrations that
//! are not there yet. An object that starts with an earlier stage (a hook
//! that touches no store) is held only by the stages before that one.

use std::collections::{BTreeMap, BTreeSet};

use futures::StreamExt;
use serde_json::Value;

use super::migration_failure::FailedMigration;
use super::{Context, Error, apply};
use crate::crd::{WeightsAndBiases, WeightsAndBiasesStatus};
use crate::desired::{DesiredObject, Stage, is_workload, owned_by_another};
use crate::readiness::{self, Readiness};
use crate::secrets;
use crate::status::{self, ComponentState, Observed};

/// The stages, in the order they are applied.
const STAGES: [Stage; 5] = [
    Stage::Config,
    Stage::Stores,
    Stage::Migrations,
    Stage::Services,
    Stage::PostInstall,
];

/// What going through the stages found.
#[derive(Default)]
pub(super) struct Walk {
    /// The workloads of each component, by `Kind/name`.
    readiness: BTreeMap<String, Vec<(String, Readiness)>>,
    /// Objects left alone because another resource owns them.
    pub conflicted: BTreeSet<String>,
    /// The first migration Job found failed.
    pub failed_migration: Option<FailedMigration>,
    /// How many objects were applied or replaced.
    pub applied: usize,
}

impl Walk {
    /// The state of each component, for the status.
    pub fn component_states(&self) -> BTreeMap<String, ComponentState> {
        self.readiness
            .iter()
            .map(|(c, rs)| (c.clone(), status::component_state(rs)))
            .collect()
    }

    fn record_readiness(&mut self, o: &DesiredObject, live: Option<&Value>, floor: Option<i64>) {
        let r = readiness::of(&o.kind, live, floor);
        if o.stage == Stage::Migrations
            && r.failed
            && self.failed_migration.is_none()
            && let Some(live) = live
        {
            self.failed_migration = Some(FailedMigration {
                job: o.name.clone(),
                body: o.body.clone(),
                live: live.clone(),
            });
        }
        self.readiness
            .entry(o.component.clone())
            .or_default()
            .push((o.key(), r));
    }

    /// Whether every workload of `stage` is ready; one left alone for a
    /// conflict has no readiness, so it holds the stage too.
    fn stage_ready(&self, objects: &[DesiredObject], stage: Stage) -> bool {
        objects
            .iter()
            .filter(|o| o.stage == stage && is_workload(&o.kind))
            .all(|o| {
                self.readiness
                    .get(&o.component)
                    .is_some_and(|rs| rs.iter().any(|(k, r)| k == &o.key() && r.ready))
            })
    }
}

/// Takes `objects` through the stages in order, noting in `observed` the
/// conflicts, the stage waited on and whether the migrations completed.
/// `mine` is the resource as `<namespace>/<name>`.
pub(super) async fn apply_in_stages(
    wandb: &WeightsAndBiases,
    ctx: &Context,
    previous: Option<&WeightsAndBiasesStatus>,
    objects: &mut [DesiredObject],
    mine: &str,
    observed: &mut Observed,
) -> Result<Walk, Error> {
    let floors = readiness::autoscaler_floors(objects.iter().map(|o| (o.kind.as_str(), &o.body)));
    // A generated Secret of a component applied before that is absent now
    // was deleted, not yet to be created.
    let established =
        secrets::applied_components(objects, previous.map_or(&[][..], |p| &p.inventory[..]));
    let mut walk = Walk::default();
    // The first stage found not ready: it holds every object that starts
    // after it, whose objects are then only read.
    let mut holding: Option<Stage> = None;
    for stage in STAGES {
        let held = holding.is_some();
        // The objects of a wave do not depend on one another: they go to
        // the API a few at once, the wave taking about as long as its
        // slowest request rather than their sum.
        // (The futures are made in a loop rather than by a closure over the
        // objects: the reconcile's future must stay `Send`, which a closure
        // taking `&mut DesiredObject` of any lifetime defeats.)
        for wave in WAVES {
            let mut pending = Vec::new();
            for o in objects.iter_mut().filter(|o| in_wave(o, stage, wave)) {
                let floor = floors.get(&o.key()).copied();
                let held = holding.is_some_and(|h| h < o.start);
                pending.push(visit(wandb, ctx, o, held, floor, mine, &established));
            }
            let visits: Vec<Result<Visit, Error>> = futures::stream::iter(pending)
                .buffered(REQUESTS_AT_ONCE)
                .collect()
                .await;
            let in_this_wave = objects.iter().filter(|o| in_wave(o, stage, wave));
            for (o, visit) in in_this_wave.zip(visits) {
                match visit? {
                    Visit::Conflict(message) => {
                        observed.conflicts.push(message);
                        walk.conflicted.insert(o.key());
                    }
                    Visit::Seen { live, changed } => {
                        walk.applied += usize::from(changed);
                        if is_workload(&o.kind) {
                            walk.record_readiness(o, live.as_ref(), floors.get(&o.key()).copied());
                        }
                    }
                }
            }
        }
        let stage_ready = walk.stage_ready(objects, stage);
        // Post-install is last, holding nothing; config has no workloads.
        if !held && !stage_ready && stage != Stage::PostInstall && stage != Stage::Config {
            holding = Some(stage);
            observed.waiting_on = Some(stage.name().replace('-', " "));
        }
        if stage == Stage::Migrations && !held && stage_ready {
            observed.migrated = true;
        }
    }
    Ok(walk)
}

/// How many objects of a wave are read and applied at once.
const REQUESTS_AT_ONCE: usize = 8;

/// A stage's objects go in two waves: first those that others of the stage
/// name, then the rest. The API refuses a RoleBinding whose Role it cannot
/// find yet (NotFound, for a client that may not escalate, as the
/// operator's ServiceAccount); a pod made before its ServiceAccount is
/// refused, and one made before its ConfigMaps, Secrets or claims waits for
/// its volumes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Wave {
    Named,
    Naming,
}

const WAVES: [Wave; 2] = [Wave::Named, Wave::Naming];

fn wave_of(kind: &str) -> Wave {
    match kind {
        "ServiceAccount"
        | "Role"
        | "ClusterRole"
        | "ConfigMap"
        | "Secret"
        | "PersistentVolumeClaim" => Wave::Named,
        _ => Wave::Naming,
    }
}

fn in_wave(o: &DesiredObject, stage: Stage, wave: Wave) -> bool {
    o.stage == stage && wave_of(&o.kind) == wave
}

/// What became of one object of a stage.
enum Visit {
    /// Left alone: another resource owns it (the status's message).
    Conflict(String),
    /// The live object after the apply step (or as read, when held), and
    /// whether it was applied.
    Seen { live: Option<Value>, changed: bool },
}

/// One object of a stage: read, and brought to what is desired unless
/// `held`.
async fn visit(
    wandb: &WeightsAndBiases,
    ctx: &Context,
    o: &mut DesiredObject,
    held: bool,
    floor: Option<i64>,
    mine: &str,
    established: &BTreeSet<String>,
) -> Result<Visit, Error> {
    let live = ctx.live(o).await?;
    if o.namespace.is_none()
        && let Some(owner) = owned_by_another(live.as_ref(), mine)
    {
        // Never take over another install's object: say so instead.
        return Ok(Visit::Conflict(conflict_message(o, owner)));
    }
    if held {
        return Ok(Visit::Seen {
            live,
            changed: false,
        });
    }
    let step = apply::apply_object(wandb, ctx, o, live, floor, established).await?;
    Ok(Visit::Seen {
        live: step.live,
        changed: step.changed,
    })
}

/// What the status says of a cluster-scoped object another resource owns.
fn conflict_message(o: &DesiredObject, owner: &str) -> String {
    format!(
        "{} belongs to weightsandbiases {owner}: cluster-wide names come from the \
         resource's name, so give this resource another name",
        o.key()
    )
}
