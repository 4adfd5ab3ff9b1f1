//! The default install (no values file; only a host and a license), applied
//! for real with server-side apply into a fresh namespace where PodSecurity
//! `restricted` is enforced, must become ready: every Deployment Available,
//! every StatefulSet and DaemonSet with all replicas ready, every PVC Bound,
//! every Job Complete. kwok simulates the nodes, so pods become Running and
//! Ready (and Job pods succeed) without running anything: this checks that
//! the objects are accepted, fit together (selectors, claims, service
//! accounts, PodSecurity on the actual pods) and are scheduled, not that the
//! containers work.
//!
//! Secrets annotated `apps.wandb.com/generated-keys` are applied with those
//! keys empty (the operator fills them in a real install); nothing here reads
//! them.

use std::collections::{BTreeMap, BTreeSet};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use wandb_e2e::{Cluster, indent, int, operator_binary, render, tally, text};

const NAMESPACE: &str = "wandb";
/// How long to wait for readiness; `WANDB_E2E_READY_TIMEOUT` (seconds)
/// overrides it.
const READY_TIMEOUT: Duration = Duration::from_secs(180);
const POLL: Duration = Duration::from_secs(2);
/// The kinds whose readiness is checked, as `kubectl get` takes them.
const CHECKED: &str = "deployments,statefulsets,daemonsets,persistentvolumeclaims,jobs";
const CHECKED_KINDS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "PersistentVolumeClaim",
    "Job",
];

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum State {
    Ready,
    /// Not ready yet; may still become ready.
    Waiting,
    /// Will not become ready (a failed Job).
    Failed,
    /// Deliberately not checked.
    Skipped,
}

struct Check {
    kind: String,
    name: String,
    state: State,
    expected: String,
    seen: String,
}

impl Check {
    fn id(&self) -> String {
        format!("{}/{}", self.kind, self.name)
    }
}

/// `Available=True; Progressing=True (NewReplicaSetAvailable: ...)`.
fn conditions(v: &Value) -> String {
    let Some(conds) = v.pointer("/status/conditions").and_then(Value::as_array) else {
        return "no conditions".into();
    };
    conds
        .iter()
        .map(|c| {
            let mut s = format!("{}={}", text(c, "/type"), text(c, "/status"));
            let (reason, message) = (text(c, "/reason"), text(c, "/message"));
            if !reason.is_empty() || !message.is_empty() {
                s += &format!(" ({reason}: {message})");
            }
            s
        })
        .collect::<Vec<_>>()
        .join("; ")
}

fn condition_true(v: &Value, kind: &str) -> bool {
    v.pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| text(c, "/type") == kind && text(c, "/status") == "True")
        })
}

/// The status controller has seen the current spec.
fn observed(v: &Value) -> bool {
    int(v, "/status/observedGeneration") >= int(v, "/metadata/generation")
}

fn generation(v: &Value) -> String {
    format!(
        "observedGeneration {}/{}",
        int(v, "/status/observedGeneration"),
        int(v, "/metadata/generation")
    )
}

fn evaluate(item: &Value) -> Check {
    let kind = text(item, "/kind").to_string();
    let name = text(item, "/metadata/name").to_string();
    let (state, expected, seen) = match kind.as_str() {
        "Deployment" => {
            let want = item
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let (updated, available) = (
                int(item, "/status/updatedReplicas"),
                int(item, "/status/availableReplicas"),
            );
            let ok = observed(item)
                && condition_true(item, "Available")
                && updated == want
                && available == want;
            (
                ok,
                format!("condition Available=True, {want}/{want} replicas updated and available"),
                format!(
                    "replicas {}, updated {updated}, ready {}, available {available}, {}; {}",
                    int(item, "/status/replicas"),
                    int(item, "/status/readyReplicas"),
                    generation(item),
                    conditions(item)
                ),
            )
        }
        "StatefulSet" => {
            let want = item
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let ready = int(item, "/status/readyReplicas");
            (
                observed(item) && ready == want,
                format!("readyReplicas == replicas ({want})"),
                format!(
                    "replicas {}, ready {ready}, current {}, updated {}, {}; {}",
                    int(item, "/status/replicas"),
                    int(item, "/status/currentReplicas"),
                    int(item, "/status/updatedReplicas"),
                    generation(item),
                    conditions(item)
                ),
            )
        }
        "DaemonSet" => {
            let desired = int(item, "/status/desiredNumberScheduled");
            let ready = int(item, "/status/numberReady");
            (
                observed(item) && ready == desired,
                "numberReady == desiredNumberScheduled".to_string(),
                format!(
                    "desired {desired}, scheduled {}, ready {ready}, available {}, misscheduled {}, {}",
                    int(item, "/status/currentNumberScheduled"),
                    int(item, "/status/numberAvailable"),
                    int(item, "/status/numberMisscheduled"),
                    generation(item)
                ),
            )
        }
        "PersistentVolumeClaim" => {
            let phase = text(item, "/status/phase");
            (
                phase == "Bound",
                "phase Bound".to_string(),
                format!(
                    "phase {}, storageClass {}, volume {}",
                    if phase.is_empty() { "(none)" } else { phase },
                    text(item, "/spec/storageClassName"),
                    text(item, "/spec/volumeName")
                ),
            )
        }
        "Job" => {
            let seen = format!(
                "active {}, succeeded {}, failed {}; {}",
                int(item, "/status/active"),
                int(item, "/status/succeeded"),
                int(item, "/status/failed"),
                conditions(item)
            );
            let hook = text(item, "/metadata/annotations/helm.sh~1hook");
            if !hook.is_empty() {
                // Helm hook Jobs (the app rename pre/post-upgrade hooks) run
                // only around an upgrade; on a fresh install they are not
                // expected to do or finish anything, so they are not checked.
                return Check {
                    kind,
                    name,
                    state: State::Skipped,
                    expected: format!("nothing (helm.sh/hook: {hook}; runs only on upgrade)"),
                    seen,
                };
            }
            let state = if condition_true(item, "Complete") {
                State::Ready
            } else if condition_true(item, "Failed") {
                State::Failed
            } else {
                State::Waiting
            };
            return Check {
                kind,
                name,
                state,
                expected: "condition Complete=True".to_string(),
                seen,
            };
        }
        _ => (
            false,
            "a checked kind".to_string(),
            "unexpected kind".to_string(),
        ),
    };
    Check {
        kind,
        name,
        state: if state { State::Ready } else { State::Waiting },
        expected,
        seen,
    }
}

/// The live objects of the checked kinds, plus a `Waiting` check for each
/// rendered object of those kinds that does not exist.
fn checks(cluster: &Cluster, rendered: &BTreeSet<(String, String)>) -> Vec<Check> {
    let list = cluster.get_json(&["-n", NAMESPACE, CHECKED]);
    let items = list
        .pointer("/items")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut checks: Vec<Check> = items.iter().map(evaluate).collect();
    let live: BTreeSet<(String, String)> = checks
        .iter()
        .map(|c| (c.kind.clone(), c.name.clone()))
        .collect();
    for (kind, name) in rendered.difference(&live) {
        checks.push(Check {
            kind: kind.clone(),
            name: name.clone(),
            state: State::Waiting,
            expected: "to exist (it is in the render)".into(),
            seen: "not found".into(),
        });
    }
    checks.sort_by_key(|c| (c.kind.clone(), c.name.clone()));
    checks
}

/// Events about a not-ready object and what it owns (ReplicaSets and pods
/// are named after their owner), and the state of its pods.
fn diagnose(cluster: &Cluster, stuck: &[&Check]) -> String {
    let events = cluster.get_json(&["-n", NAMESPACE, "events"]);
    let pods = cluster.get_json(&["-n", NAMESPACE, "pods"]);
    let empty = Vec::new();
    let events = events
        .pointer("/items")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let pods = pods
        .pointer("/items")
        .and_then(Value::as_array)
        .unwrap_or(&empty);
    let related = |name: &str, other: &str| other == name || other.starts_with(&format!("{name}-"));
    let mut out = String::new();
    for c in stuck {
        out += &format!("\n{}:\n", c.id());
        let mut lines = Vec::new();
        for p in pods
            .iter()
            .filter(|p| related(&c.name, text(p, "/metadata/name")))
        {
            lines.push(format!(
                "pod {}: phase {}, node {}; {}",
                text(p, "/metadata/name"),
                text(p, "/status/phase"),
                text(p, "/spec/nodeName"),
                conditions(p)
            ));
        }
        // Controllers retry and record an event each time (with a new pod
        // name in it): one line per type, reason and object, with the total
        // count and the latest message.
        // (type, reason, kind, name) -> (count, latest time, latest message)
        type Key<'a> = (&'a str, &'a str, &'a str, &'a str);
        let mut grouped: BTreeMap<Key, (i64, &str, &str)> = BTreeMap::new();
        for e in events
            .iter()
            .filter(|e| related(&c.name, text(e, "/involvedObject/name")))
        {
            let key = (
                text(e, "/type"),
                text(e, "/reason"),
                text(e, "/involvedObject/kind"),
                text(e, "/involvedObject/name"),
            );
            let when = match text(e, "/lastTimestamp") {
                "" => text(e, "/eventTime"),
                t => t,
            };
            let g = grouped.entry(key).or_insert((0, "", ""));
            g.0 += int(e, "/count").max(1);
            if when >= g.1 {
                (g.1, g.2) = (when, text(e, "/message"));
            }
        }
        for ((kind, reason, object_kind, object), (count, _, message)) in grouped {
            lines.push(format!(
                "event {kind} {reason} {object_kind}/{object} (x{count}): {message}"
            ));
        }
        if lines.is_empty() {
            lines.push("no pods and no events".into());
        }
        const MAX: usize = 25;
        if lines.len() > MAX {
            let more = lines.len() - MAX;
            lines.truncate(MAX);
            lines.push(format!("... and {more} more"));
        }
        out += &indent(&lines.join("\n"), "    ");
    }
    out
}

#[test]
fn default_install_becomes_ready_in_a_restricted_namespace() {
    let t0 = Instant::now();
    let bin = operator_binary();
    let cluster = Cluster::up("e2e-apply");
    cluster.restricted_namespace(NAMESPACE);

    let r = render(
        &bin,
        &[
            "--set",
            "global.host=https://wandb.example.com",
            "--set",
            "global.license=test",
            "--skip-tests",
            "--namespace",
            NAMESPACE,
        ],
    );
    for line in r.stderr.lines().filter(|l| !l.trim().is_empty()) {
        eprintln!("[e2e] render: {line}");
    }
    let docs = r.documents();
    let rendered: BTreeSet<(String, String)> = docs
        .iter()
        .filter(|d| CHECKED_KINDS.contains(&d.kind.as_str()))
        .map(|d| (d.kind.clone(), d.name.clone()))
        .collect();
    let kinds = tally(docs.iter().map(|d| d.kind.as_str()));
    eprintln!(
        "[e2e] applying {} objects into namespace {NAMESPACE}: {}",
        docs.len(),
        kinds
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect::<Vec<_>>()
            .join(", ")
    );

    let ready_timeout = std::env::var("WANDB_E2E_READY_TIMEOUT")
        .ok()
        .and_then(|s| s.parse().ok())
        .map(Duration::from_secs)
        .unwrap_or(READY_TIMEOUT);
    let t_apply = Instant::now();
    let out = cluster.kubectl(
        &[
            "apply",
            "--server-side",
            "--field-manager=wandb-operator",
            "-f",
            "-",
        ],
        Some(&r.yaml),
        Duration::from_secs(180),
    );
    let applied = out
        .stdout
        .lines()
        .filter(|l| l.contains("serverside-applied"))
        .count();
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("Warning:"))
        .collect();
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("Warning:"))
        .collect();
    for w in &warnings {
        eprintln!("[e2e] apply: {w}");
    }
    assert!(
        out.success() && errors.is_empty() && applied == docs.len(),
        "applying the default install failed ({}): {applied} of {} objects applied\n{}",
        out.describe_status(),
        docs.len(),
        out.stderr
    );
    eprintln!(
        "[e2e] applied {applied} objects in {:.1} s ({} warnings); waiting up to {} s for readiness",
        t_apply.elapsed().as_secs_f64(),
        warnings.len(),
        ready_timeout.as_secs()
    );

    let t_wait = Instant::now();
    let deadline = t_wait + ready_timeout;
    let final_checks = loop {
        let checks = checks(&cluster, &rendered);
        let waiting = checks.iter().filter(|c| c.state == State::Waiting).count();
        let failed = checks.iter().any(|c| c.state == State::Failed);
        if waiting == 0 || failed || Instant::now() >= deadline {
            break checks;
        }
        thread::sleep(POLL);
    };
    let waited = t_wait.elapsed();

    let mut by_kind: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for c in &final_checks {
        let e = by_kind.entry(c.kind.as_str()).or_default();
        match c.state {
            State::Ready => e.0 += 1,
            State::Skipped => e.1 += 1,
            _ => {}
        }
    }
    let summary = by_kind
        .iter()
        .map(|(k, (ready, skipped))| {
            let total = final_checks.iter().filter(|c| c.kind == *k).count();
            let mut s = format!("{k} {ready}/{total} ready");
            if *skipped > 0 {
                s += &format!(" ({skipped} skipped)");
            }
            s
        })
        .collect::<Vec<_>>()
        .join(", ");
    for c in &final_checks {
        let state = match c.state {
            State::Ready => "ready",
            State::Waiting => "NOT READY",
            State::Failed => "FAILED",
            State::Skipped => "skipped",
        };
        eprintln!("  {state:<9} {}: {}", c.id(), c.seen);
    }
    for c in final_checks.iter().filter(|c| c.state == State::Skipped) {
        eprintln!("[e2e] skipped {}: expected {}", c.id(), c.expected);
    }
    for c in final_checks
        .iter()
        .filter(|c| c.kind == "DaemonSet" && c.seen.starts_with("desired 0,"))
    {
        eprintln!("[e2e] note: {} is scheduled on no node: {}", c.id(), c.seen);
    }
    let stuck: Vec<&Check> = final_checks
        .iter()
        .filter(|c| matches!(c.state, State::Waiting | State::Failed))
        .collect();
    eprintln!(
        "[e2e] after {:.1} s: {summary}; total {:.1} s",
        waited.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
    if !stuck.is_empty() {
        let mut report = format!(
            "{} of {} objects are not ready after {:.0} s:\n",
            stuck.len(),
            final_checks.len(),
            waited.as_secs_f64()
        );
        for c in &stuck {
            let what = if c.state == State::Failed {
                "FAILED"
            } else {
                "not ready"
            };
            report += &format!(
                "  {} {what}\n      expected: {}\n      seen:     {}\n",
                c.id(),
                c.expected,
                c.seen
            );
        }
        report += &diagnose(&cluster, &stuck);
        eprintln!("{report}");
        panic!(
            "the default install did not become ready: {} objects (listed above)",
            stuck.len()
        );
    }
}
