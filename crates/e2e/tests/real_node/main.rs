//! The operator as a pod on a real node (issue 29): everywhere else it runs
//! as a process on the host and every pod on kwok's simulated nodes.
//!
//! One cluster for the suite (`hack/cluster up` with
//! `WANDB_CLUSTER_REAL_NODE=1`): the control plane and kwok's nodes as in
//! every suite, plus a real node (a kubelet with containerd and runc,
//! kube-proxy, a CNI bridge) tainted so that only pods that tolerate it run
//! there. The operator's image (`hack/image`, `$WANDB_OPERATOR_IMAGE`) is
//! loaded into the node's containerd and installed with the project's chart,
//! which places the operator on the real node (its `operator.nodeSelector`
//! and `operator.tolerations`); W&B's own pods stay on kwok's nodes. So the
//! operator is real and the install it runs is simulated.
//!
//! 1. `helm install`: the operator pod Running and Ready by its real probes,
//!    reconciling the WeightsAndBiases resource to `Ready` (start to Ready,
//!    RSS from the kubelet's stats).
//! 2. Two replicas: deleting the leader's pod hands the Lease to the other
//!    within the lease's time, and the install stays `Ready`; a rollout
//!    restart sends SIGTERM and each old pod exits 0 within its grace
//!    period, saying so in its log.
//! 3. `/metrics` scraped through a Service from another pod on the node.
//! 4. The kubelet's own checks: the chart's pod spec with user 0 is refused
//!    (`CreateContainerConfigError`, runAsNonRoot).
//!
//! A machine that cannot run a real node (no root, no containerd, ...) makes
//! each test print `skipped:` with the reason and pass. Lines starting with
//! `[e2e] REPORT` are the measurements.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wandb_e2e::{
    Cluster, HOST, Helm, LICENSE, Lines, WorkDir, condition_status, repo_root, report, run, secs,
    serial, text, wait_for,
};

use harness::*;

mod harness;
mod install;
mod kubelet;
mod leader;
mod metrics;
