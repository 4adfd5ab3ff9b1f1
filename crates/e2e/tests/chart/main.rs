//! The Helm chart `charts/operator-wandb`, end to end (issue 6). Every
//! scenario runs once with Helm 3 and once with Helm 4, each on a cluster of
//! its own (`hack/cluster`), and prints one `[chart] SUMMARY` line. Not a
//! shared cluster: each installs release `wandb`, whose ClusterRoles and
//! CRD are cluster-wide, and Helm refuses to install a release over another
//! release's objects; the scenarios also check what is left cluster-wide
//! after an uninstall or a refused install.
//!
//! 1. `helm lint --strict` is clean and `helm template` renders every
//!    upstream reference values file; the WeightsAndBiases resource it makes
//!    carries the values through unchanged (the operator renders the same
//!    bytes from it as from the file).
//! 2. The two install examples of the upstream README install as written and
//!    become Ready; `helm test` fails while the install is not Ready and
//!    passes once it is.
//! 3. install, upgrade (`app.replicaCount=3`, `weave.install=false`,
//!    `global.size=medium`), rollback, uninstall: the objects at each step,
//!    and the volumes and generated Secrets after the uninstall.
//! 4. `--set app.replicaCount=two` is refused by the values schema and
//!    nothing is installed.
//! 5. A release of the upstream chart moves to this chart by following
//!    docs/migrating-from-upstream.md to the letter, without losing a volume
//!    or a Secret.
//!
//! kwok runs nothing in pods, so two things that would run in the cluster
//! run here instead:
//!
//! - the operator: `wandb-operator run` on the host, authenticated with a
//!   token of the chart's ServiceAccount, so the chart's RBAC is all it has
//!   (any permission it is denied fails the test);
//! - the bare pods Helm waits for (the `helm test` pod and the pre-delete
//!   hook): the test acts as their kubelet. It runs the pod's command from
//!   the host, authenticated as the pod's ServiceAccount, and writes the
//!   exit code into the pod's status, from which Helm reads the outcome.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use serde_json::{Value, json};
use wandb_e2e::{
    Cluster, GENERATED_KEYS, HELMS, Helm, INSTANCE_LABEL, KUBECTL_TIMEOUT, Operator, Output,
    WorkDir, condition, condition_status, indent, int, kubectl_bin, last_lines, plain,
    reference_cases, repo_root, run, secret_data, secs, sha256_of_data, text, try_wait_for,
    wait_for,
};

// The suite's helpers, for every module of it (`use super::*`).
use data::*;
use harness::*;
use kubelet::*;
use operator::*;
use readiness::*;
use renders::*;
use upstream::*;

mod data;
mod go_operator;
mod harness;
mod helpers;
mod kubelet;
mod lifecycle;
mod lint;
mod migration;
mod operator;
mod readiness;
mod readme_examples;
mod renders;
mod schema;
mod upstream;

const RELEASE: &str = "wandb";
const HOST: &str = "global.host=https://wandb.example.com";
const LICENSE: &str = "global.license=your-license-key";
/// How long an install may take to become Ready once the operator runs.
const READY_TIMEOUT: Duration = Duration::from_secs(240);
const POLL: Duration = Duration::from_millis(500);
