//! Helpers for the end-to-end tests (see tests/).
//!
//! The tests drive real tools as subprocesses: `hack/cluster` for a local
//! control plane (see hack/README.md), `kubectl` from its cache, and the
//! `wandb-operator` binary for renders. Every subprocess gets a timeout.
//!
//! - [`Cluster::up`] starts one cluster for a test and takes it down again
//!   when the guard is dropped, which also happens when the test panics; a
//!   watchdog process takes it down should the test process die without
//!   unwinding (SIGKILL, Ctrl-C).
//! - [`operator_binary`], [`render`] and [`reference_cases`] find and run
//!   the renderer and the upstream reference cases.
//! - [`run`] runs any command with a timeout and collects its output.
//! - [`Operator`] runs `wandb-operator run` against a cluster, logging to a
//!   file, and stops it when dropped (printing its log's tail if the test
//!   failed); [`Metrics`] reads its /metrics; [`wait_for`] polls a
//!   condition with a deadline.
//!
//! One module per concern (`process`, `cluster`, `operator`, `http`,
//! `render`, `snapshot`, ...), all re-exported here, so a suite imports
//! `wandb_e2e::X` whatever module `X` lives in.

mod cluster;
mod deployment;
mod faults;
mod helm;
mod http;
mod operator;
mod paths;
mod process;
mod render;
mod report;
mod resource;
mod snapshot;
mod suite;
mod tenant;
mod wait;

pub use cluster::*;
pub use deployment::*;
pub use faults::*;
pub use helm::*;
pub use http::*;
pub use operator::*;
pub use paths::*;
pub use process::*;
pub use render::*;
pub use report::*;
pub use resource::*;
pub use snapshot::*;
pub use suite::*;
pub use tenant::*;
pub use wait::*;
