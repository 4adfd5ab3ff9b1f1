//! The operator end to end: `wandb-operator run` as a subprocess against a
//! local control plane (hack/cluster: a real API server, controller manager
//! with its garbage collector, scheduler, and kwok nodes on which pods
//! become Running and Ready, Jobs complete and volumes bind).
//!
//! The tests share one cluster, each in a namespace named after it (the
//! operators it starts watch that namespace alone), save the one that says
//! why it needs a cluster of its own. Each starts its own operator and stops
//! it at the end, also when it fails: the operator's log is in
//! `<target>/tmp/e2e-operator/<test>/` and its tail is printed on failure.
//! The tests run one at a time (a lock), whatever `--test-threads` says:
//! they measure latencies.
//!
//! Every wait is bounded. `WANDB_E2E_IDLE_SECONDS` (default 120) sets the
//! idle watch of `nothing_changes_while_idle`.
//!
//! Lines starting with `[e2e] REPORT` are the measurements (durations,
//! repair latencies, API requests per no-op reconcile).

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wandb_e2e::{
    COMPONENT_LABEL, Cluster, GENERATED_KEYS, HOST, INSTANCE_LABEL, LICENSE, NAME, NS, Operator,
    Tenant, apply_resource, autoscaled, base_values, condition, condition_status,
    condition_type_of, conditions, env_value, first_literal_env, get_resource, indent, int,
    observed, operator_binary, render, report, resource_manifest, secret_data, secs, serial,
    sha256_of_data, text, uid_in, wait_for, wait_recreated,
};

// The suite's helpers, for every module of it (`use super::*`).
use harness::*;
use metrics::*;
use objects::*;
use secrets::*;

mod backup;
mod conflict;
mod harness;
mod idle;
mod invalid;
mod leader;
mod metrics;
mod objects;
mod pause_stop;
mod ready;
mod recreate;
mod repair;
mod secrets;
mod toggle;
mod upgrade;

/// How long a default install may take to become Ready.
const READY_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a spec change may take to be reconciled.
const CHANGE_TIMEOUT: Duration = Duration::from_secs(60);
/// How soon a hand-made change must be set back.
const REPAIR_BOUND: Duration = Duration::from_secs(10);
/// How soon a standby replica must take over (lease of 15 s, retried every 2 s).
const TAKEOVER_BOUND: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(100);
