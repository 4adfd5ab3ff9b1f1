//! Where the user's per-container overrides are (a service's, a job's, a
//! cron job's) and how they are laid over a built container.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Container, Volume};
use wandb_values::{Component, ContainerOverride, CronJobValues, JobContainer, JobValues};

use crate::catalog::ContainerSpec;

/// The user's overrides of one container: those any container takes and,
/// for a job's container, its image and envFrom.
#[derive(Clone, Copy)]
pub(super) struct UserContainer<'v> {
    pub(super) over: Option<&'v ContainerOverride>,
    pub(super) job: Option<&'v JobContainer>,
}

/// Where the user's overrides of a pod's containers are.
#[derive(Clone, Copy)]
pub(super) enum Overrides<'v> {
    /// A Deployment's: `<service>.containers` and `<service>.initContainers`.
    Service(&'v Component),
    /// `<service>.jobs.<job>.containers` and `.initContainers`.
    Job(&'v JobValues),
    /// `<service>.cronJobs.<job>.containers`.
    CronJob(&'v CronJobValues),
}

impl<'v> Overrides<'v> {
    pub(super) fn container(self, name: &str) -> UserContainer<'v> {
        let job = match self {
            Overrides::Service(c) => {
                return UserContainer {
                    over: c.containers.get(name),
                    job: None,
                };
            }
            Overrides::Job(j) => j.containers.get(name),
            Overrides::CronJob(c) => c.containers.get(name),
        };
        UserContainer {
            over: job.map(|j| &j.base),
            job,
        }
    }

    pub(super) fn init_container(self, name: &str) -> UserContainer<'v> {
        let over = match self {
            Overrides::Service(c) => c.init_containers.get(name),
            Overrides::Job(j) => j.init_containers.get(name),
            Overrides::CronJob(_) => None,
        };
        UserContainer { over, job: None }
    }

    /// The user's `volumes` of the pod, which replace the catalog's list
    /// as Helm replaces a list.
    pub(super) fn volumes(self) -> Option<&'v [Volume]> {
        match self {
            Overrides::Service(c) => c.volumes.as_deref(),
            Overrides::Job(j) => j.volumes.as_deref(),
            Overrides::CronJob(c) => c.volumes.as_deref(),
        }
    }
}

/// A pod's containers and init containers in the catalog, and where the
/// user's overrides of them are.
pub(super) struct PodContainers<'a> {
    pub(super) containers: &'a BTreeMap<String, ContainerSpec>,
    pub(super) init_containers: &'a BTreeMap<String, ContainerSpec>,
    pub(super) overrides: Overrides<'a>,
}

/// The user's `containers.<name>` block over a built container, as Helm
/// merges values: probes field by field, command and args whole.
pub(super) fn override_container(c: &mut Container, over: &ContainerOverride) {
    for (probe, user) in [
        (&mut c.liveness_probe, &over.liveness_probe),
        (&mut c.readiness_probe, &over.readiness_probe),
        (&mut c.startup_probe, &over.startup_probe),
    ] {
        match (probe.as_mut(), user) {
            (Some(p), Some(user)) => overlay_json(p, user),
            (None, Some(user)) => *probe = Some(user.clone()),
            (_, None) => {}
        }
    }
    match (c.lifecycle.as_mut(), &over.lifecycle) {
        (Some(l), Some(user)) => overlay_json(l, user),
        (None, Some(user)) => c.lifecycle = Some(user.clone()),
        (_, None) => {}
    }
    if over.command.is_some() {
        c.command.clone_from(&over.command);
    }
    if over.args.is_some() {
        c.args.clone_from(&over.args);
    }
}

/// Lays the set fields of `over` onto `base` (both serializable the same way).
pub(super) fn overlay_json<T: serde::Serialize + serde::de::DeserializeOwned>(
    base: &mut T,
    over: &T,
) {
    let mut b = serde_json::to_value(&*base).unwrap_or_default();
    wandb_values::tree::merge(
        &mut b,
        wandb_values::tree::strip_nulls(serde_json::to_value(over).unwrap_or_default()),
    );
    if let Ok(merged) = serde_json::from_value(b) {
        *base = merged;
    }
}
