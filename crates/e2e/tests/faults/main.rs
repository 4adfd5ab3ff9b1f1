//! Faults (issue 7): the operator killed at random points, the API server
//! and etcd going away mid-reconcile, objects deleted and edited by hand, a
//! foreign field manager fighting over a field, two replicas at once, and
//! a burst of spec changes, each against a local control plane
//! (hack/cluster) with the operator as a subprocess.
//!
//! After each fault the install must converge to its spec (observedGeneration
//! == generation, Ready and every `<Component>Ready` True), its generated
//! Secrets must keep their uid and data (sha256), its volume claims their
//! uid and stay Bound, and no object may be duplicated: exactly the render's
//! objects (plus data kept from earlier specs), one active ReplicaSet per
//! Deployment with exactly its replicas in pods, one pod per Job, nothing
//! whose owner is gone.
//!
//! `WANDB_E2E_FULL=1` runs the long versions (20 kills during install and 20
//! during upgrade, each control-plane fault during an install and an
//! upgrade, 20 s fights, four leader rounds, 50 updates); the default is a
//! shorter version of each that asserts the same properties.
//! `WANDB_E2E_SEED` repeats a run's random kill points. Lines starting with
//! `[e2e] REPORT` are the measurements. The tests share one cluster, each
//! in a namespace named after it, save those that say why they need a
//! cluster of their own; each starts its own operators and stops them at
//! the end, also on failure; the tests run one at a time. Operator logs: `<target>/tmp/e2e-faults/<test>/`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wandb_e2e::{
    Data, NAME, NS, Operator, Rng, Snapshot, Tenant, Workloads, apply_resource, autoscaled,
    base_values, condition, env_value, expected_objects, first_literal_env, full_run, get_resource,
    indent, int, report, secs, serial, text, uid_in, wait_for, wait_recreated,
};

// The suite's helpers, for every module of it (`use super::*`).
use converged::*;
use deployments::*;
use fight::*;
use harness::*;
use supervised::*;

mod burst;
mod control_plane;
mod converged;
mod deployments;
mod fight;
mod hand_edits;
mod harness;
mod sigkill;
mod supervised;
mod two_replicas;

/// How long an install or a change may take to converge after a fault.
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(240);
/// How long the cluster's controllers may take to settle the workloads
/// (garbage collection, rollouts) once the resource is Ready.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(120);
/// How soon a hand-made change must be set back.
const REPAIR_BOUND: Duration = Duration::from_secs(15);
const POLL: Duration = Duration::from_millis(100);
