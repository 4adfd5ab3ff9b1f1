//! The engine (one reconcile, the cleanup before deletion, the retry
//! policy) against an API server in memory: which requests it makes for a
//! fresh install, a no-op, drift, an immutable field, a pruned component,
//! another install's object, a deleted resource, and API errors; and the
//! server manifests it pulls from a registry in memory on loopback.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use fake_api::{FakeApi, Seen};
use http::Method;
use kube::runtime::controller::Action;
use serde_json::{Value, json};
use wandb_operator_core::conditions::{reasons, types};
use wandb_operator_core::crd::{WeightsAndBiases, WeightsAndBiasesStatus};
use wandb_operator_core::desired::{DesiredObject, INSTANCE_LABEL, OWNER_ANNOTATION, Stage};
use wandb_operator_core::engine::{self, Context, Error};
use wandb_operator_core::{controller, kinds};

// The suite's helpers, for every module of it (`use super::*`).
use harness::*;

mod catalog;
mod crd;
mod deletion;
mod fake_api;
mod harness;
mod install;
mod manifests;
mod pause_stop;
mod prune;
mod pull;
mod reapply;
mod refusals;
mod registry;
mod secrets;
mod server_manifest;
mod upgrade;

const NS: &str = "wandb";
const RESOURCE: &str = "/apis/apps.wandb.com/v1/namespaces/wandb/weightsandbiases/wandb";
