//! The operator end to end: `wandb-operator run` as a subprocess against a
//! local control plane (hack/cluster: a real API server, controller manager
//! with its garbage collector, scheduler, and kwok nodes on which pods
//! become Running and Ready, Jobs complete and volumes bind).
//!
//! Each test starts its own cluster and operator and takes both down at
//! the end, also when it fails: the operator's log is in
//! `<target>/tmp/e2e-operator/<test>/` and its tail is printed on failure.
//! The tests run one at a time (a lock), whatever `--test-threads` says:
//! they measure latencies, and a cluster takes 600 MB.
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
    Cluster, HOST, LICENSE, Operator, base_values, condition_type_of, indent, int, operator_binary,
    render, report, secs, serial, sha256_of_data, text, wait_for,
};
use wandb_e2e::{
    apply_resource, condition, condition_status, conditions, get_resource, observed,
    resource_manifest, restricted_cluster, uid_in,
};

const NS: &str = "wandb";
const NAME: &str = "wandb";
const INSTANCE_LABEL: &str = "apps.wandb.com/instance";
const COMPONENT_LABEL: &str = "apps.wandb.com/component";
const GENERATED_KEYS: &str = "apps.wandb.com/generated-keys";
/// How long a default install may take to become Ready.
const READY_TIMEOUT: Duration = Duration::from_secs(180);
/// How long a spec change may take to be reconciled.
const CHANGE_TIMEOUT: Duration = Duration::from_secs(60);
/// How soon a hand-made change must be set back.
const REPAIR_BOUND: Duration = Duration::from_secs(10);
/// How soon a standby replica must take over (lease of 15 s, retried every 2 s).
const TAKEOVER_BOUND: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(100);

// ---------------------------------------------------------------- harness

fn log_dir(test: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("e2e-operator")
        .join(test)
}

/// A fresh cluster with namespace `wandb` (PodSecurity `restricted`).
fn cluster(test: &str) -> Cluster {
    restricted_cluster("e2e-op", test, NS)
}

/// An operator for namespace `wandb` (its lease there too), once it leads.
/// Locals drop in reverse order: declare it after the cluster, so that it
/// stops before the cluster goes down.
fn operator(cluster: &Cluster, test: &str, identity: &str) -> Operator {
    let mut op = Operator::start(cluster, NS, identity, &log_dir(test));
    let took = op.wait_leading(Duration::from_secs(60));
    eprintln!(
        "[e2e] operator '{identity}' leads after {:.1} s",
        took.as_secs_f64()
    );
    // It applied its CRD before leading; make sure the API serves it.
    cluster.wait_established("crd/weightsandbiases.apps.wandb.com");
    op
}

// ---------------------------------------------------------------- the resource

fn manifest(values: &Value) -> String {
    resource_manifest(NS, NAME, values)
}

/// `kubectl apply` of the resource with these values.
fn apply(cluster: &Cluster, values: &Value) {
    apply_resource(cluster, NS, NAME, values);
}

/// A merge patch of the resource's spec.
fn patch_spec(cluster: &Cluster, spec: Value) {
    let patch = json!({ "spec": spec }).to_string();
    cluster.kubectl_ok(
        &[
            "-n",
            NS,
            "patch",
            "wandb",
            NAME,
            "--type=merge",
            "-p",
            &patch,
        ],
        None,
    );
}

/// `weave.install` of the resource set to `install` by a merge patch.
fn set_weave(cluster: &Cluster, install: bool) {
    patch_spec(cluster, json!({"values": {"weave": {"install": install}}}));
}

fn resource(cluster: &Cluster) -> Value {
    get_resource(cluster, NS, NAME)
}

fn summary(res: &Value) -> String {
    let mut s = format!(
        "generation {}, observedGeneration {}; ",
        int(res, "/metadata/generation"),
        int(res, "/status/observedGeneration")
    );
    for c in conditions(res) {
        if c["status"] != "True" || c["type"] == "Ready" || c["type"] == "ValuesValid" {
            s += &format!(
                "{}={} ({}); ",
                text(&c, "/type"),
                text(&c, "/status"),
                text(&c, "/message")
            );
        }
    }
    s
}

/// Waits until the status describes the current spec and Ready is True.
fn wait_reconciled_ready(cluster: &Cluster, what: &str, timeout: Duration) -> Duration {
    wait_for(what, timeout, Duration::from_millis(250), || {
        let res = resource(cluster);
        if observed(&res) && condition_status(&res, "Ready") == "True" {
            Ok(())
        } else {
            Err(summary(&res))
        }
    })
    .1
}

/// Creates the resource with the default values and waits (with `kubectl
/// wait`) until it is Ready.
fn install(cluster: &Cluster) -> Duration {
    let start = Instant::now();
    apply(cluster, &base_values());
    let timeout = format!("--timeout={}s", READY_TIMEOUT.as_secs());
    let out = cluster.kubectl(
        &[
            "-n",
            NS,
            "wait",
            "--for=condition=Ready",
            "wandb/wandb",
            &timeout,
        ],
        None,
        READY_TIMEOUT + Duration::from_secs(30),
    );
    assert!(
        out.success(),
        "`kubectl wait --for=condition=Ready wandb/wandb` failed ({}):\n{}{}\nstatus: {}",
        out.describe_status(),
        out.stdout,
        out.stderr,
        summary(&resource(cluster))
    );
    let took = start.elapsed();
    eprintln!(
        "[e2e] WeightsAndBiases/{NAME} Ready {:.1} s after creation",
        took.as_secs_f64()
    );
    took
}

// ---------------------------------------------------------------- managed objects

/// A kind the operator manages: (API path, plural, kind, namespaced).
type KindRef = (&'static str, &'static str, &'static str, bool);

/// Every kind the default install has (`kinds::watched()` of the operator).
const KINDS: &[KindRef] = &[
    ("/api/v1", "secrets", "Secret", true),
    ("/api/v1", "configmaps", "ConfigMap", true),
    ("/api/v1", "serviceaccounts", "ServiceAccount", true),
    ("/api/v1", "services", "Service", true),
    (
        "/api/v1",
        "persistentvolumeclaims",
        "PersistentVolumeClaim",
        true,
    ),
    ("/apis/rbac.authorization.k8s.io/v1", "roles", "Role", true),
    (
        "/apis/rbac.authorization.k8s.io/v1",
        "rolebindings",
        "RoleBinding",
        true,
    ),
    (
        "/apis/rbac.authorization.k8s.io/v1",
        "clusterroles",
        "ClusterRole",
        false,
    ),
    (
        "/apis/rbac.authorization.k8s.io/v1",
        "clusterrolebindings",
        "ClusterRoleBinding",
        false,
    ),
    ("/apis/apps/v1", "deployments", "Deployment", true),
    ("/apis/apps/v1", "statefulsets", "StatefulSet", true),
    ("/apis/apps/v1", "daemonsets", "DaemonSet", true),
    ("/apis/batch/v1", "jobs", "Job", true),
    ("/apis/batch/v1", "cronjobs", "CronJob", true),
    (
        "/apis/autoscaling/v2",
        "horizontalpodautoscalers",
        "HorizontalPodAutoscaler",
        true,
    ),
    (
        "/apis/policy/v1",
        "poddisruptionbudgets",
        "PodDisruptionBudget",
        true,
    ),
    ("/apis/networking.k8s.io/v1", "ingresses", "Ingress", true),
    (
        "/apis/networking.k8s.io/v1",
        "networkpolicies",
        "NetworkPolicy",
        true,
    ),
];

const WORKLOADS: &str = "deployments,statefulsets,daemonsets,jobs,cronjobs";

fn collection_url(kind: &KindRef, query: &str) -> String {
    let (api, plural, _, namespaced) = *kind;
    let scope = if namespaced {
        format!("/namespaces/{NS}")
    } else {
        String::new()
    };
    format!("{api}{scope}/{plural}?labelSelector={INSTANCE_LABEL}%3D{NAME}{query}")
}

/// One live object: what tells whether it changed.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Obj {
    uid: String,
    rv: String,
    /// The last writer, from managedFields: `manager operation time`.
    last_writer: String,
}

/// Every object labelled `apps.wandb.com/instance=wandb`, by `Kind/name`,
/// and the resourceVersion of each kind's list (to watch from).
fn managed_with_versions(cluster: &Cluster) -> (BTreeMap<String, Obj>, Vec<(KindRef, String)>) {
    let mut objects = BTreeMap::new();
    let mut versions = Vec::new();
    for kind in KINDS {
        let out = cluster.kubectl_ok(&["get", "--raw", &collection_url(kind, "")], None);
        let list: Value = serde_json::from_str(&out).expect("a list in JSON");
        versions.push((*kind, text(&list, "/metadata/resourceVersion").to_string()));
        for item in list["items"].as_array().into_iter().flatten() {
            let last_writer = item
                .pointer("/metadata/managedFields")
                .and_then(Value::as_array)
                .and_then(|fields| fields.iter().max_by_key(|f| text(f, "/time").to_string()))
                .map(|f| {
                    format!(
                        "{} {} {}{}",
                        text(f, "/manager"),
                        text(f, "/operation"),
                        text(f, "/time"),
                        match text(f, "/subresource") {
                            "" => String::new(),
                            s => format!(" ({s})"),
                        }
                    )
                })
                .unwrap_or_default();
            objects.insert(
                format!("{}/{}", kind.2, text(item, "/metadata/name")),
                Obj {
                    uid: text(item, "/metadata/uid").into(),
                    rv: text(item, "/metadata/resourceVersion").into(),
                    last_writer,
                },
            );
        }
    }
    (objects, versions)
}

fn managed(cluster: &Cluster) -> BTreeMap<String, Obj> {
    managed_with_versions(cluster).0
}

/// What differs between two snapshots, one line per object.
fn changes(before: &BTreeMap<String, Obj>, after: &BTreeMap<String, Obj>) -> Vec<String> {
    let mut out = Vec::new();
    for (k, b) in before {
        match after.get(k) {
            None => out.push(format!("{k}: deleted")),
            Some(a) if a.uid != b.uid => out.push(format!("{k}: recreated ({})", a.last_writer)),
            Some(a) if a.rv != b.rv => out.push(format!(
                "{k}: resourceVersion {} -> {} (last write: {})",
                b.rv, a.rv, a.last_writer
            )),
            _ => {}
        }
    }
    for (k, a) in after {
        if !before.contains_key(k) {
            out.push(format!("{k}: created ({})", a.last_writer));
        }
    }
    out
}

/// Waits until no managed object has changed for `quiet` (controllers of
/// the cluster finish their own work: the HPA scales its Deployments, ...).
fn settle(cluster: &Cluster, quiet: Duration, max: Duration) -> BTreeMap<String, Obj> {
    let start = Instant::now();
    let mut last = managed(cluster);
    let mut since = Instant::now();
    loop {
        thread::sleep(Duration::from_secs(2));
        let now = managed(cluster);
        if now != last {
            if start.elapsed() > max {
                panic!(
                    "managed objects still change after {:.0} s:\n{}",
                    max.as_secs_f64(),
                    indent(&changes(&last, &now).join("\n"), "  ")
                );
            }
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= quiet {
            eprintln!(
                "[e2e] {} managed objects settled after {:.1} s",
                last.len(),
                start.elapsed().as_secs_f64()
            );
            return last;
        }
    }
}

/// A generated Secret: its uid, owners and data (base64 as stored).
#[derive(Clone, Debug, PartialEq, Eq)]
struct GeneratedSecret {
    uid: String,
    owners: Vec<String>,
    keys: Vec<String>,
    data: BTreeMap<String, String>,
}

fn generated_secrets(cluster: &Cluster) -> BTreeMap<String, GeneratedSecret> {
    let list = cluster.get_json(&["-n", NS, "secrets"]);
    let mut out = BTreeMap::new();
    for s in list["items"].as_array().into_iter().flatten() {
        let Some(keys) = s
            .pointer("/metadata/annotations")
            .and_then(|a| a.get(GENERATED_KEYS))
            .and_then(Value::as_str)
        else {
            continue;
        };
        let data = s["data"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                    .collect()
            })
            .unwrap_or_default();
        let owners = s
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .map(|os| os.iter().map(|o| text(o, "/uid").to_string()).collect())
            .unwrap_or_default();
        out.insert(
            text(s, "/metadata/name").to_string(),
            GeneratedSecret {
                uid: text(s, "/metadata/uid").into(),
                owners,
                keys: keys.split(',').map(|k| k.trim().to_string()).collect(),
                data,
            },
        );
    }
    out
}

fn hashes(secrets: &BTreeMap<String, GeneratedSecret>) -> String {
    secrets
        .iter()
        .map(|(n, s)| format!("{n} sha256:{}", &sha256_of_data(&s.data)[..16]))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Waits until the status describes the current spec with ValuesValid
/// False; returns its message.
fn wait_values_invalid(cluster: &Cluster, what: &str) -> (String, Duration) {
    wait_for(
        &format!("{what}: ValuesValid=False"),
        CHANGE_TIMEOUT,
        Duration::from_millis(250),
        || {
            let res = resource(cluster);
            match condition(&res, "ValuesValid") {
                Some(c) if observed(&res) && c["status"] == "False" => {
                    Ok(text(&c, "/message").to_string())
                }
                _ => Err(summary(&res)),
            }
        },
    )
}

/// The InvalidValues warnings about the WeightsAndBiases resource.
fn invalid_values_warnings(cluster: &Cluster) -> Vec<(String, String, String, i64)> {
    wandb_e2e::resource_events(cluster, NS)
        .into_iter()
        .filter(|(t, reason, _, _)| t == "Warning" && reason == "InvalidValues")
        .collect()
}

/// The uid of an object, `None` if it does not exist (or is being deleted).
fn uid_of(cluster: &Cluster, kind: &str, name: &str) -> Option<String> {
    uid_in(cluster, NS, kind, name)
}

/// Deletes an object by hand and waits until the operator has recreated it
/// (a new uid). Returns the new uid and the time since the deletion was sent.
fn delete_and_wait_repair(cluster: &Cluster, kind: &str, name: &str) -> (String, Duration) {
    let old = uid_of(cluster, kind, name).unwrap_or_else(|| panic!("{kind}/{name} does not exist"));
    let start = Instant::now();
    cluster.kubectl_ok(&["-n", NS, "delete", kind, name], None);
    let (new, _) = wait_for(
        &format!("{kind}/{name} recreated after being deleted"),
        REPAIR_BOUND,
        POLL,
        || match uid_of(cluster, kind, name) {
            Some(uid) if uid != old => Ok(uid),
            Some(_) => Err("the old object is still there".into()),
            None => Err("absent".into()),
        },
    );
    let took = start.elapsed();
    report(format!(
        "repair: {kind}/{name} deleted -> recreated in {}",
        secs(took)
    ));
    (new, took)
}

/// The (kind, name) of every object of a render, as `Kind/name`, test pods left out.
fn render_keys(extra: &[&str]) -> BTreeSet<String> {
    let bin = operator_binary();
    let host = format!("global.host={HOST}");
    let license = format!("global.license={LICENSE}");
    let mut args = vec![
        "--set",
        &host,
        "--set",
        &license,
        "--skip-tests",
        "--namespace",
        NS,
    ];
    args.extend_from_slice(extra);
    render(&bin, &args)
        .documents()
        .into_iter()
        .map(|d| d.id())
        .collect()
}

/// An operator's counters: (reconciles, API requests by verb).
fn counters(op: &Operator) -> (f64, BTreeMap<String, f64>) {
    let m = op
        .metrics()
        .unwrap_or_else(|e| panic!("metrics of '{}': {e}", op.identity));
    let reconciles = m.sum("wandb_operator_reconciles_total", &[]);
    let requests = m
        .samples("wandb_operator_api_requests_total")
        .into_iter()
        .map(|(l, v)| (l.get("verb").cloned().unwrap_or_default(), v))
        .collect();
    (reconciles, requests)
}

/// The API server's own count of requests, by (verb, resource, subresource).
fn apiserver_requests(cluster: &Cluster) -> BTreeMap<(String, String, String), f64> {
    let text = cluster.kubectl_ok(&["get", "--raw", "/metrics"], None);
    let m = wandb_e2e::Metrics { text };
    let mut out = BTreeMap::new();
    for (l, v) in m.samples("apiserver_request_total") {
        let key = (
            l.get("verb").cloned().unwrap_or_default(),
            l.get("resource").cloned().unwrap_or_default(),
            l.get("subresource").cloned().unwrap_or_default(),
        );
        *out.entry(key).or_insert(0.0) += v;
    }
    out
}

// ---------------------------------------------------------------- 1. ready

/// The default install (host and license only) reaches Ready, with one
/// `<Component>Ready` condition per component of the install, each True,
/// on kwok nodes; `kubectl wait --for=condition=Ready` returns 0.
#[test]
fn default_install_reaches_ready() {
    let _serial = serial();
    let t0 = Instant::now();
    let cluster = cluster("ready");
    let op = operator(&cluster, "ready", "e2e-operator");

    let took = install(&cluster);
    report(format!(
        "ready: default install Ready in {} (kubectl wait returned 0)",
        secs(took)
    ));

    let res = resource(&cluster);
    assert!(
        observed(&res),
        "status is not for the current spec: {}",
        summary(&res)
    );
    assert_eq!(
        condition_status(&res, "ValuesValid"),
        "True",
        "{}",
        summary(&res)
    );

    // One condition per component that has a workload, each True.
    let workloads = cluster.get_json(&["-n", NS, WORKLOADS, "-l", INSTANCE_LABEL]);
    let workloads = workloads["items"].as_array().cloned().unwrap_or_default();
    let expected: BTreeSet<String> = workloads
        .iter()
        .map(|w| {
            condition_type_of(text(
                w,
                &format!("/metadata/labels/{}", COMPONENT_LABEL.replace('/', "~1")),
            ))
        })
        .collect();
    let actual: BTreeSet<String> = conditions(&res)
        .iter()
        .map(|c| text(c, "/type").to_string())
        .filter(|t| t.ends_with("Ready") && t != "Ready")
        .collect();
    assert!(expected.len() >= 10, "too few components: {expected:?}");
    assert_eq!(
        actual, expected,
        "one <Component>Ready condition per component with a workload"
    );
    for t in &actual {
        let c = condition(&res, t).unwrap();
        assert_eq!(c["status"], "True", "{t}: {}", text(&c, "/message"));
        assert_eq!(
            int(&c, "/observedGeneration"),
            int(&res, "/metadata/generation"),
            "{t}"
        );
    }
    eprintln!(
        "[e2e] {} component conditions True: {}",
        actual.len(),
        actual.iter().cloned().collect::<Vec<_>>().join(", ")
    );

    // The workloads really are ready, their pods on kwok's nodes.
    for w in &workloads {
        let id = format!("{}/{}", text(w, "/kind"), text(w, "/metadata/name"));
        let ok = match text(w, "/kind") {
            "Deployment" => int(w, "/status/availableReplicas") >= int(w, "/spec/replicas").max(1),
            "StatefulSet" => int(w, "/status/readyReplicas") >= int(w, "/spec/replicas").max(1),
            "DaemonSet" => {
                int(w, "/status/numberReady") == int(w, "/status/desiredNumberScheduled")
                    && int(w, "/status/desiredNumberScheduled") > 0
            }
            "Job" => w["status"]["conditions"].as_array().is_some_and(|cs| {
                cs.iter()
                    .any(|c| c["type"] == "Complete" && c["status"] == "True")
            }),
            _ => true,
        };
        assert!(ok, "{id} is not ready: {}", w["status"]);
    }
    // Autoscaled Deployments start at their autoscaler's minimum (the HPA
    // controller would first raise them after its 15 s sync period), and the
    // operator's applies leave their replicas to the autoscaler.
    let hpas = cluster.get_json(&["-n", NS, "horizontalpodautoscalers"]);
    let hpas = hpas["items"].as_array().cloned().unwrap_or_default();
    assert!(!hpas.is_empty(), "the default install has no autoscaler");
    for hpa in &hpas {
        let min = int(hpa, "/spec/minReplicas");
        let target = text(hpa, "/spec/scaleTargetRef/name");
        let d = cluster.get_json(&["-n", NS, "deployment", target]);
        assert!(
            int(&d, "/status/availableReplicas") >= min && int(&d, "/spec/replicas") >= min,
            "Deployment/{target} is below its autoscaler's minimum {min} at Ready: {}",
            d["status"]
        );
        let replicas_owners: Vec<(&str, &str)> = d["metadata"]["managedFields"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["fieldsV1"]["f:spec"].get("f:replicas").is_some())
            .map(|m| (text(m, "/manager"), text(m, "/operation")))
            .collect();
        // An update, not an apply: a later apply would otherwise undo the
        // autoscaler's changes.
        assert_eq!(
            replicas_owners,
            [("wandb-operator", "Update")],
            "who owns Deployment/{target}'s replicas"
        );
    }
    let pods = cluster.get_json(&["-n", NS, "pods"]);
    let pods = pods["items"].as_array().cloned().unwrap_or_default();
    assert!(!pods.is_empty(), "no pods");
    let mut nodes = BTreeSet::new();
    for p in &pods {
        let name = text(p, "/metadata/name");
        let node = text(p, "/spec/nodeName");
        assert!(
            node.starts_with("kwok-node-"),
            "pod {name} is on node {node:?}"
        );
        nodes.insert(node.to_string());
        match text(p, "/status/phase") {
            "Succeeded" => {}
            "Running" => assert!(
                p["status"]["conditions"].as_array().is_some_and(|cs| cs
                    .iter()
                    .any(|c| c["type"] == "Ready" && c["status"] == "True")),
                "pod {name} is Running but not Ready"
            ),
            phase => panic!("pod {name} is {phase}"),
        }
    }
    // Everything in the inventory exists.
    let live = managed(&cluster);
    let inventory: Vec<String> = res["status"]["inventory"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(String::from))
        .collect();
    let missing: Vec<&String> = inventory
        .iter()
        .filter(|k| !live.contains_key(*k))
        .collect();
    assert!(
        missing.is_empty(),
        "in the inventory but not in the cluster: {missing:?}"
    );
    eprintln!(
        "[e2e] {} workloads ready, {} pods on {} kwok nodes, {} objects in the inventory, {} managed objects live",
        workloads.len(),
        pods.len(),
        nodes.len(),
        inventory.len(),
        live.len()
    );
    let (values, places) = secrets_not_revealed(&cluster, &op);
    eprintln!("[e2e] {values} secret values, none in {places}");
    report(format!(
        "test default_install_reaches_ready: {}",
        secs(t0.elapsed())
    ));
}

/// No value of a Secret of the install (generated passwords and keys, the
/// license) appears in the operator's log (debug level), the namespace's
/// Events or the resource's status. Returns how many values were looked for
/// and where.
fn secrets_not_revealed(cluster: &Cluster, op: &Operator) -> (usize, String) {
    use base64::Engine as _;
    let list = cluster.get_json(&["-n", NS, "secrets"]);
    let mut values = BTreeSet::from([LICENSE.to_string()]);
    for s in list["items"].as_array().into_iter().flatten() {
        for v in s["data"].as_object().into_iter().flat_map(|m| m.values()) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(v.as_str().unwrap_or(""))
                .unwrap_or_default();
            let decoded = String::from_utf8_lossy(&decoded).to_string();
            // Short values ("3306", "true") are not secrets and match anywhere.
            if decoded.len() >= 12 {
                values.insert(decoded);
            }
        }
    }
    assert!(values.len() >= 5, "too few secret values: {}", values.len());
    let log = std::fs::read_to_string(&op.log).unwrap_or_default();
    assert!(log.len() > 1000, "the operator's log is nearly empty");
    let events = cluster.kubectl_ok(&["-n", NS, "get", "events", "-o", "json"], None);
    let status = resource(cluster)["status"].to_string();
    for (place, text) in [
        ("the operator's log", &log),
        ("Events", &events),
        ("status", &status),
    ] {
        for v in &values {
            assert!(
                !text.contains(v.as_str()),
                "a secret value appears in {place}"
            );
        }
    }
    (
        values.len(),
        format!("the operator's log ({} bytes), Events, status", log.len()),
    )
}

// ---------------------------------------------------------------- 2. off and on

/// `weave.install=false` removes weave's objects, `true` brings them back,
/// and the generated Secrets keep their data byte for byte.
#[test]
fn a_component_turned_off_and_on_again() {
    let _serial = serial();
    let t0 = Instant::now();
    let cluster = cluster("toggle");
    let _op = operator(&cluster, "toggle", "e2e-operator");
    install(&cluster);

    // What the renderer says turning weave off removes.
    let on = render_keys(&[]);
    let off = render_keys(&["--set", "weave.install=false"]);
    let removed: BTreeSet<String> = on.difference(&off).cloned().collect();
    assert!(
        off.difference(&on).next().is_none(),
        "turning weave off adds objects? {:?}",
        off.difference(&on).collect::<Vec<_>>()
    );
    for k in ["Deployment/wandb-weave-bc", "Service/wandb-weave"] {
        assert!(
            removed.contains(k),
            "{k} is not among the objects weave.install=false removes: {removed:?}"
        );
    }
    eprintln!(
        "[e2e] weave.install=false removes {} objects: {}",
        removed.len(),
        removed.iter().cloned().collect::<Vec<_>>().join(", ")
    );

    let secrets_before = generated_secrets(&cluster);
    assert!(
        secrets_before.len() >= 4,
        "generated secrets: {:?}",
        secrets_before.keys()
    );
    for k in &removed {
        assert!(
            !k.starts_with("PersistentVolumeClaim/"),
            "weave holds a volume: {k}"
        );
        let name = k.strip_prefix("Secret/").unwrap_or("");
        assert!(
            !secrets_before.contains_key(name),
            "weave holds a generated secret: {k}"
        );
    }
    let before = managed(&cluster);
    for k in &removed {
        assert!(
            before.contains_key(k),
            "{k} is not in the cluster before weave is turned off"
        );
    }

    // Off.
    set_weave(&cluster, false);
    let (_, took_off) = wait_for(
        "weave's objects removed",
        CHANGE_TIMEOUT,
        Duration::from_millis(250),
        || {
            let res = resource(&cluster);
            let live = managed(&cluster);
            let left: Vec<&String> = removed.iter().filter(|k| live.contains_key(*k)).collect();
            let missing: Vec<&String> = off.iter().filter(|k| !live.contains_key(*k)).collect();
            if observed(&res)
                && condition_status(&res, "Ready") == "True"
                && left.is_empty()
                && missing.is_empty()
            {
                Ok(())
            } else {
                Err(format!(
                    "still there: {left:?}; missing: {missing:?}; {}",
                    summary(&res)
                ))
            }
        },
    );
    let res = resource(&cluster);
    assert_eq!(
        condition_status(&res, "WeaveReady"),
        "(absent)",
        "{}",
        summary(&res)
    );
    let inventory = res["status"]["inventory"].to_string();
    for k in &removed {
        assert!(
            !inventory.contains(&format!("\"{k}\"")),
            "{k} is still in the inventory"
        );
    }
    report(format!(
        "toggle: weave.install=false -> {} objects removed, Ready again in {}",
        removed.len(),
        secs(took_off)
    ));

    // On again.
    set_weave(&cluster, true);
    let (_, took_on) = wait_for(
        "weave's objects restored",
        CHANGE_TIMEOUT,
        Duration::from_millis(250),
        || {
            let res = resource(&cluster);
            let live = managed(&cluster);
            let missing: Vec<&String> = on.iter().filter(|k| !live.contains_key(*k)).collect();
            if observed(&res)
                && condition_status(&res, "Ready") == "True"
                && condition_status(&res, "WeaveReady") == "True"
                && missing.is_empty()
            {
                Ok(())
            } else {
                Err(format!("missing: {missing:?}; {}", summary(&res)))
            }
        },
    );
    let after = managed(&cluster);
    for k in &removed {
        assert_ne!(before[k].uid, after[k].uid, "{k} was not recreated");
    }
    report(format!(
        "toggle: weave.install=true -> {} objects restored, Ready in {}",
        removed.len(),
        secs(took_on)
    ));

    // The generated secrets did not change: same objects, same bytes.
    let secrets_after = generated_secrets(&cluster);
    assert_eq!(
        secrets_before.keys().collect::<Vec<_>>(),
        secrets_after.keys().collect::<Vec<_>>()
    );
    for (name, b) in &secrets_before {
        let a = &secrets_after[name];
        assert_eq!(b.uid, a.uid, "Secret/{name} was recreated");
        assert_eq!(
            sha256_of_data(&b.data),
            sha256_of_data(&a.data),
            "Secret/{name} changed"
        );
        assert_eq!(b.data, a.data, "Secret/{name} changed");
    }
    eprintln!(
        "[e2e] generated secrets unchanged: {}",
        hashes(&secrets_after)
    );
    report(format!(
        "test a_component_turned_off_and_on_again: {}",
        secs(t0.elapsed())
    ));
}

// ---------------------------------------------------------------- 3. repairs

/// Objects deleted or edited by hand are set back within 10 s.
#[test]
fn hand_made_changes_are_repaired() {
    let _serial = serial();
    let t0 = Instant::now();
    let cluster = cluster("repair");
    let _op = operator(&cluster, "repair", "e2e-operator");
    install(&cluster);
    let mut latencies = Vec::new();

    // Deleted: a Deployment, a Service, a plain Secret.
    for (kind, name) in [
        ("Deployment", "wandb-app-bc"),
        ("Service", "wandb-app"),
        ("Secret", "wandb-license"),
    ] {
        let before = cluster.get_json(&["-n", NS, kind, name]);
        let (_, took) = delete_and_wait_repair(&cluster, kind, name);
        latencies.push((format!("delete {kind}/{name}"), took));
        let after = cluster.get_json(&["-n", NS, kind, name]);
        if kind == "Secret" {
            assert_eq!(
                before["data"], after["data"],
                "{kind}/{name}: different data"
            );
        }
        assert_eq!(
            after
                .pointer("/metadata/ownerReferences/0/kind")
                .and_then(Value::as_str),
            Some("WeightsAndBiases"),
            "{kind}/{name}: not owned"
        );
    }

    // Deleted: a generated Secret. Its values cannot come back; the
    // operator generates new ones and says so with a Warning event.
    let name = "wandb-gorilla-session-key";
    let before = generated_secrets(&cluster)
        .remove(name)
        .unwrap_or_else(|| panic!("Secret/{name} is not a generated secret"));
    let (_, took) = delete_and_wait_repair(&cluster, "Secret", name);
    latencies.push((format!("delete Secret/{name} (generated)"), took));
    let after = generated_secrets(&cluster)
        .remove(name)
        .expect("recreated as a generated secret");
    for (key, value) in &before.data {
        let new = after
            .data
            .get(key)
            .unwrap_or_else(|| panic!("{name}: {key} is gone"));
        if before.keys.contains(key) {
            assert_ne!(
                new, value,
                "{name}: generated key {key} has its old value back?"
            );
            assert!(!new.is_empty(), "{name}: generated key {key} is empty");
            assert_eq!(
                new.len(),
                value.len(),
                "{name}: generated key {key} has another length"
            );
        } else {
            assert_eq!(new, value, "{name}: rendered key {key} changed");
        }
    }
    eprintln!(
        "[e2e] Secret/{name}: generated keys {:?} got new values; other keys kept",
        before.keys
    );
    let (event, _) = wait_for(
        "a Warning event about the regenerated secret",
        REPAIR_BOUND,
        Duration::from_millis(250),
        || {
            let events = wandb_e2e::resource_events(&cluster, NS);
            events
                .iter()
                .find(|(t, _, note, _)| t == "Warning" && note.contains(name))
                .cloned()
                .ok_or_else(|| format!("events: {events:?}"))
        },
    );
    eprintln!("[e2e] event: {} {}: {}", event.0, event.1, event.2);

    // Edited: replicas of a Deployment no autoscaler drives.
    let hpas = cluster.get_json(&["-n", NS, "horizontalpodautoscalers"]);
    let scaled: Vec<&str> = hpas["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| text(h, "/spec/scaleTargetRef/name"))
        .collect();
    let deploy = "wandb-app-bc";
    assert!(
        !scaled.contains(&deploy),
        "{deploy} is autoscaled: {scaled:?}"
    );
    let live = cluster.get_json(&["-n", NS, "deployment", deploy]);
    let replicas = int(&live, "/spec/replicas");
    let generation = int(&live, "/metadata/generation");
    let start = Instant::now();
    cluster.kubectl_ok(
        &[
            "-n",
            NS,
            "scale",
            "deployment",
            deploy,
            &format!("--replicas={}", replicas + 2),
        ],
        None,
    );
    wait_for(
        &format!("{deploy} scaled back to {replicas}"),
        REPAIR_BOUND,
        POLL,
        || {
            let d = cluster.get_json(&["-n", NS, "deployment", deploy]);
            match int(&d, "/spec/replicas") {
                r if r == replicas => Ok(()),
                r => Err(format!("replicas {r}")),
            }
        },
    );
    let took = start.elapsed();
    let now = cluster.get_json(&["-n", NS, "deployment", deploy]);
    assert_eq!(
        int(&now, "/metadata/generation"),
        generation + 2,
        "{deploy}: one change by hand, one back"
    );
    report(format!(
        "repair: scale Deployment/{deploy} {replicas} -> {} -> set back in {}",
        replicas + 2,
        secs(took)
    ));
    latencies.push((format!("scale Deployment/{deploy}"), took));

    // Edited: the value of an environment variable the render sets.
    let container = &live["spec"]["template"]["spec"]["containers"][0];
    let cname = text(container, "/name").to_string();
    let (var, value) = container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|e| {
            Some((
                e["name"].as_str()?.to_string(),
                e["value"].as_str()?.to_string(),
            ))
        })
        .expect("an env var with a literal value");
    let generation = int(&now, "/metadata/generation");
    let start = Instant::now();
    cluster.kubectl_ok(
        &[
            "-n",
            NS,
            "set",
            "env",
            &format!("deployment/{deploy}"),
            "-c",
            &cname,
            &format!("{var}=e2e-tampered"),
        ],
        None,
    );
    wait_for(
        &format!("{deploy}: env {var} set back"),
        REPAIR_BOUND,
        POLL,
        || {
            let d = cluster.get_json(&["-n", NS, "deployment", deploy]);
            let now = d["spec"]["template"]["spec"]["containers"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|c| c["name"] == cname.as_str())
                .and_then(|c| c["env"].as_array().cloned())
                .unwrap_or_default()
                .into_iter()
                .find(|e| e["name"] == var.as_str())
                .map(|e| text(&e, "/value").to_string());
            match now {
                Some(v) if v == value => Ok(()),
                other => Err(format!("{var}={other:?}")),
            }
        },
    );
    let took = start.elapsed();
    let now = cluster.get_json(&["-n", NS, "deployment", deploy]);
    assert_eq!(
        int(&now, "/metadata/generation"),
        generation + 2,
        "{deploy}: one change by hand, one back"
    );
    report(format!(
        "repair: env {var} of Deployment/{deploy} edited -> set back in {}",
        secs(took)
    ));
    latencies.push((format!("env edit Deployment/{deploy}"), took));

    // And the install is Ready again.
    wait_reconciled_ready(&cluster, "Ready after the repairs", CHANGE_TIMEOUT);
    let worst = latencies.iter().map(|(_, d)| *d).max().unwrap_or_default();
    report(format!(
        "repair latencies: {} (worst {})",
        latencies
            .iter()
            .map(|(w, d)| format!("{w} {}", secs(*d)))
            .collect::<Vec<_>>()
            .join("; "),
        secs(worst)
    ));
    report(format!(
        "test hand_made_changes_are_repaired: {}",
        secs(t0.elapsed())
    ));
}

// ---------------------------------------------------------------- 4. idle

/// With nothing changed, nothing managed changes: same resourceVersions
/// before and after, no watch event in between, while no-op reconciles are
/// forced by touching an annotation of the resource; and reports the API
/// requests each no-op reconcile makes.
#[test]
fn nothing_changes_while_idle() {
    let _serial = serial();
    let t0 = Instant::now();
    let idle = Duration::from_secs(
        std::env::var("WANDB_E2E_IDLE_SECONDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(120),
    );
    let cluster = cluster("idle");
    let op = operator(&cluster, "idle", "e2e-operator");
    install(&cluster);
    settle(&cluster, Duration::from_secs(20), Duration::from_secs(180));

    let (before, versions) = managed_with_versions(&cluster);
    let (reconciles_0, requests_0) = counters(&op);
    let server_0 = apiserver_requests(&cluster);
    let touches = (idle.as_secs() / 10).max(3);
    eprintln!(
        "[e2e] idle for {} s: watching {} managed objects of {} kinds; {touches} no-op reconciles forced by annotating the resource",
        idle.as_secs(),
        before.len(),
        KINDS.len()
    );
    let idle_start = Instant::now();
    let events = thread::scope(|s| {
        // One watch per kind from the resourceVersion of its list: any
        // change to a managed object after the snapshot is an event.
        let watches: Vec<_> = versions
            .iter()
            .map(|(kind, rv)| {
                let url = collection_url(
                    kind,
                    &format!(
                        "&watch=true&resourceVersion={rv}&timeoutSeconds={}",
                        idle.as_secs()
                    ),
                );
                let cluster = &cluster;
                s.spawn(move || {
                    let out = cluster.kubectl(
                        &["get", "--raw", &url],
                        None,
                        idle + Duration::from_secs(60),
                    );
                    (kind.2, out)
                })
            })
            .collect();
        for i in 0..touches {
            let at = idle * (i as u32 + 1) / (touches as u32 + 1);
            if let Some(wait) = at.checked_sub(idle_start.elapsed()) {
                thread::sleep(wait);
            }
            cluster.kubectl_ok(
                &[
                    "-n",
                    NS,
                    "annotate",
                    "wandb",
                    NAME,
                    "--overwrite",
                    &format!("e2e.wandb.com/touch={i}"),
                ],
                None,
            );
        }
        let mut events = Vec::new();
        for w in watches {
            let (kind, out) = w.join().expect("watch thread");
            assert!(
                out.success(),
                "watching {kind}s failed ({}): {}",
                out.describe_status(),
                out.stderr
            );
            for line in out.stdout.lines().filter(|l| !l.trim().is_empty()) {
                let e: Value = serde_json::from_str(line).unwrap_or(Value::Null);
                events.push(format!(
                    "{} {kind}/{} resourceVersion {}",
                    text(&e, "/type"),
                    text(&e, "/object/metadata/name"),
                    text(&e, "/object/metadata/resourceVersion")
                ));
            }
        }
        events
    });
    let idle_took = idle_start.elapsed();
    // The last touch's reconcile has had time to finish (watches ran on).
    let (reconciles_1, requests_1) = counters(&op);
    let server_1 = apiserver_requests(&cluster);
    let after = managed(&cluster);

    let reconciles = (reconciles_1 - reconciles_0) as u64;
    let by_verb: BTreeMap<&String, f64> = requests_1
        .iter()
        .map(|(verb, v)| (verb, v - requests_0.get(verb).copied().unwrap_or(0.0)))
        .filter(|(_, d)| *d > 0.0)
        .collect();
    let requests = by_verb.values().sum::<f64>() as u64;
    // The API server's side: writes to the managed kinds and to the resource.
    let resources: BTreeSet<&str> = KINDS
        .iter()
        .map(|k| k.1)
        .chain(["weightsandbiases"])
        .collect();
    let server_writes: BTreeMap<String, f64> = server_1
        .iter()
        .filter(|((verb, resource, _), _)| {
            resources.contains(resource.as_str())
                && matches!(verb.as_str(), "APPLY" | "PATCH" | "PUT" | "POST" | "DELETE")
        })
        .map(|(k, v)| (k, v - server_0.get(k).copied().unwrap_or(0.0)))
        .filter(|(_, d)| *d > 0.0)
        .map(|((verb, resource, sub), d)| {
            let sub = if sub.is_empty() {
                String::new()
            } else {
                format!("/{sub}")
            };
            (format!("{verb} {resource}{sub}"), d)
        })
        .collect();
    eprintln!("[e2e] API server writes during the idle period: {server_writes:?}");

    let changed = changes(&before, &after);
    assert!(
        events.is_empty() && changed.is_empty(),
        "managed objects changed while idle:\nwatch events:\n{}changes:\n{}",
        indent(&events.join("\n"), "  "),
        indent(&changed.join("\n"), "  ")
    );
    assert!(
        reconciles >= touches,
        "{touches} touches of the resource made only {reconciles} reconciles"
    );
    report(format!(
        "idle: {} s, {} managed objects, 0 watch events, 0 resourceVersion changes; {reconciles} no-op reconciles \
         ({touches} forced), {requests} API requests by the reconciler {by_verb:?} => {:.2} requests per no-op reconcile",
        idle_took.as_secs(),
        before.len(),
        requests as f64 / reconciles.max(1) as f64
    ));
    let expected_patches = touches as f64;
    assert_eq!(
        server_writes,
        BTreeMap::from([("PATCH weightsandbiases".to_string(), expected_patches)]),
        "the only writes while idle should be the test's own {touches} annotations"
    );
    assert_eq!(
        requests, 0,
        "no-op reconciles made API requests: {by_verb:?}"
    );
    report(format!(
        "test nothing_changes_while_idle: {}",
        secs(t0.elapsed())
    ));
}

// ---------------------------------------------------------------- 5. delete, create again

/// Deleting the resource removes the workloads and keeps the volumes and
/// generated Secrets; creating it again takes them up again.
#[test]
fn deleting_keeps_the_data_and_creating_again_reuses_it() {
    let _serial = serial();
    let t0 = Instant::now();
    let cluster = cluster("recreate");
    let crd_applied = Instant::now();
    let _op = operator(&cluster, "recreate", "e2e-operator");
    install(&cluster);
    let first_uid = text(&resource(&cluster), "/metadata/uid").to_string();

    let pvcs = |cluster: &Cluster| -> BTreeMap<String, (String, String)> {
        let list = cluster.get_json(&["-n", NS, "persistentvolumeclaims"]);
        list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    text(p, "/metadata/name").to_string(),
                    (
                        text(p, "/metadata/uid").to_string(),
                        text(p, "/spec/volumeName").to_string(),
                    ),
                )
            })
            .collect()
    };
    let pvcs_before = pvcs(&cluster);
    let secrets_before = generated_secrets(&cluster);
    assert!(pvcs_before.len() >= 5, "volumes: {:?}", pvcs_before.keys());
    assert!(
        secrets_before.len() >= 4,
        "generated secrets: {:?}",
        secrets_before.keys()
    );
    for (name, s) in &secrets_before {
        assert_eq!(
            s.owners,
            vec![first_uid.clone()],
            "Secret/{name} is not owned by the resource"
        );
    }
    let workloads_before = cluster.get_json(&["-n", NS, WORKLOADS, "-l", INSTANCE_LABEL]);
    let workloads_before = workloads_before["items"].as_array().map_or(0, Vec::len);
    eprintln!(
        "[e2e] before deletion: {workloads_before} workloads, {} volumes, generated secrets {}",
        pvcs_before.len(),
        hashes(&secrets_before)
    );

    // The garbage collector watches a new resource type only from its next
    // discovery resync (every 30 s): until then it does not see the
    // resource go, and the dependents stay until a retry with backoff
    // finds it gone (minutes). The CRD of a real install is older than that.
    let gc_sync = Duration::from_secs(40);
    if let Some(wait) = gc_sync.checked_sub(crd_applied.elapsed()) {
        eprintln!(
            "[e2e] waiting {:.0} s: the CRD must be {} s old for the garbage collector to watch its resources",
            wait.as_secs_f64(),
            gc_sync.as_secs()
        );
        thread::sleep(wait);
    }

    // Delete: the finalizer releases the data, the garbage collector takes the rest.
    let start = Instant::now();
    let out = cluster.kubectl(
        &["-n", NS, "delete", "wandb", NAME, "--timeout=60s"],
        None,
        Duration::from_secs(90),
    );
    assert!(
        out.success(),
        "deleting the resource: {}\n{}",
        out.describe_status(),
        out.stderr
    );
    let deleted_in = start.elapsed();
    let keep: BTreeSet<String> = pvcs_before
        .keys()
        .map(|n| format!("PersistentVolumeClaim/{n}"))
        .chain(secrets_before.keys().map(|n| format!("Secret/{n}")))
        .collect();
    let (_, gc_took) = wait_for(
        "the install's objects garbage collected",
        Duration::from_secs(90),
        Duration::from_millis(500),
        || {
            let workloads = cluster.get_json(&["-n", NS, WORKLOADS]);
            let workloads: Vec<String> = workloads["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|w| format!("{}/{}", text(w, "/kind"), text(w, "/metadata/name")))
                .collect();
            let left: Vec<String> = managed(&cluster)
                .into_keys()
                .filter(|k| !keep.contains(k))
                .collect();
            if workloads.is_empty() && left.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "workloads left: {workloads:?}; other objects left: {left:?}"
                ))
            }
        },
    );
    report(format!(
        "recreate: resource deleted in {} (finalizer), workloads and other objects garbage collected {} later",
        secs(deleted_in),
        secs(gc_took)
    ));
    // Cluster-scoped objects cannot have the resource as owner: the
    // garbage collector would complain about each, and keep it.
    let invalid = cluster.kubectl_ok(
        &[
            "get",
            "events",
            "-A",
            "--field-selector=reason=OwnerRefInvalidNamespace",
            "-o",
            "name",
        ],
        None,
    );
    assert!(
        invalid.trim().is_empty(),
        "the garbage collector found invalid owner references:\n{invalid}"
    );
    let pvcs_deleted = pvcs(&cluster);
    assert_eq!(
        pvcs_deleted, pvcs_before,
        "the volumes changed with the deletion"
    );
    let secrets_deleted = generated_secrets(&cluster);
    assert_eq!(
        secrets_deleted.keys().collect::<Vec<_>>(),
        secrets_before.keys().collect::<Vec<_>>(),
        "generated secrets kept"
    );
    for (name, b) in &secrets_before {
        let a = &secrets_deleted[name];
        assert_eq!(a.uid, b.uid, "Secret/{name} was recreated");
        assert_eq!(a.data, b.data, "Secret/{name} changed");
        assert!(
            a.owners.is_empty(),
            "Secret/{name} is still owned: {:?}",
            a.owners
        );
    }
    // The kept secrets are the only kept Secrets.
    let license = uid_of(&cluster, "secret", "wandb-license");
    assert!(
        license.is_none(),
        "Secret/wandb-license (not data) was kept"
    );

    // Create again.
    let took = install(&cluster);
    let second_uid = text(&resource(&cluster), "/metadata/uid").to_string();
    assert_ne!(first_uid, second_uid);
    let pvcs_after = pvcs(&cluster);
    assert_eq!(
        pvcs_after, pvcs_before,
        "the volumes are not the same (uid, volume) as before"
    );
    let secrets_after = generated_secrets(&cluster);
    assert_eq!(
        secrets_after.keys().collect::<Vec<_>>(),
        secrets_before.keys().collect::<Vec<_>>()
    );
    for (name, b) in &secrets_before {
        let a = &secrets_after[name];
        assert_eq!(a.uid, b.uid, "Secret/{name} was recreated");
        assert_eq!(
            sha256_of_data(&a.data),
            sha256_of_data(&b.data),
            "Secret/{name} has other data"
        );
        assert_eq!(
            a.owners,
            vec![second_uid.clone()],
            "Secret/{name} is not owned by the new resource"
        );
    }
    eprintln!(
        "[e2e] after creating again: same volumes, generated secrets {}",
        hashes(&secrets_after)
    );
    report(format!(
        "recreate: created again, Ready in {} with the same {} volumes and {} generated secrets",
        secs(took),
        pvcs_after.len(),
        secrets_after.len()
    ));
    report(format!(
        "test deleting_keeps_the_data_and_creating_again_reuses_it: {}",
        secs(t0.elapsed())
    ));
}

// ---------------------------------------------------------------- 6. bad values

/// A wrong type is refused at admission, naming the path; values the
/// schema accepts but the operator does not set ValuesValid=False naming
/// the key, and change nothing that runs.
#[test]
fn invalid_values_are_refused_and_change_nothing() {
    let _serial = serial();
    let t0 = Instant::now();
    let cluster = cluster("invalid");
    let _op = operator(&cluster, "invalid", "e2e-operator");
    install(&cluster);
    // Quiet for longer than the HPA controller's period (15 s), which
    // scales the autoscaled Deployments to their minimum after a while.
    let before = settle(&cluster, Duration::from_secs(20), Duration::from_secs(180));
    let generation = int(&resource(&cluster), "/metadata/generation");

    // A wrong type: refused by the API server (the CRD's schema), both ways.
    let mut values = base_values();
    values["app"] = json!({"replicaCount": "two"});
    for args in [
        &["apply", "-f", "-"][..],
        &["apply", "--server-side", "--field-manager=e2e", "-f", "-"][..],
    ] {
        let out = cluster.kubectl(args, Some(&manifest(&values)), Duration::from_secs(30));
        assert!(
            !out.success(),
            "`kubectl {}` accepted replicaCount \"two\"",
            args.join(" ")
        );
        assert!(
            out.stderr.contains("spec.values.app.replicaCount"),
            "`kubectl {}` error does not name spec.values.app.replicaCount:\n{}",
            args.join(" "),
            out.stderr
        );
        eprintln!(
            "[e2e] kubectl {} refused: {}",
            args.join(" "),
            out.stderr.trim()
        );
    }
    assert_eq!(
        int(&resource(&cluster), "/metadata/generation"),
        generation,
        "the spec changed"
    );

    // Values the schema takes and the operator refuses.
    let mut negative = base_values();
    negative["app"] = json!({"replicaCount": -1});
    let mut bad_kind = base_values();
    bad_kind["app"] = json!({"envFrom": {"my-config": "configMap"}});
    let cases = [
        (
            "app.replicaCount: -1",
            negative,
            vec!["spec.values.app.replicaCount"],
        ),
        (
            "an envFrom entry of no kind",
            bad_kind,
            vec![
                "spec.values.app.envFrom.my-config",
                "configMapRef or secretRef",
            ],
        ),
    ];
    for (what, values, keys) in &cases {
        apply(&cluster, values);
        let (message, took) = wait_values_invalid(&cluster, what);
        for key in keys {
            assert!(
                message.contains(key),
                "{what}: the message does not name {key}: {message}"
            );
        }
        let res = resource(&cluster);
        assert_eq!(
            condition_status(&res, "Ready"),
            "True",
            "{what}: the running install is still Ready"
        );
        // Give a wrong reconcile time to do harm.
        thread::sleep(Duration::from_secs(5));
        let now = managed(&cluster);
        let changed = changes(&before, &now);
        assert!(
            changed.is_empty(),
            "{what}: managed objects changed:\n{}",
            indent(&changed.join("\n"), "  ")
        );
        report(format!(
            "invalid: {what} -> ValuesValid=False in {}: {message:?}; nothing managed changed",
            secs(took)
        ));
    }
    // One warning event per refused spec, each with its own message (not
    // the first message counted twice).
    let warnings = invalid_values_warnings(&cluster);
    for (what, _, keys) in &cases {
        assert!(
            warnings
                .iter()
                .any(|(_, _, note, _)| keys.iter().all(|k| note.contains(k))),
            "{what}: no InvalidValues event names {keys:?}: {warnings:?}"
        );
    }
    eprintln!("[e2e] events: {warnings:?}");

    // The first refused spec again: the same message, counted on the
    // first event's series rather than created again.
    let (what, values, keys) = &cases[0];
    apply(&cluster, values);
    wait_values_invalid(&cluster, &format!("{what} again"));
    let repeats: Vec<_> = wait_for(
        &format!("{what} again: its event counted twice"),
        Duration::from_secs(30),
        Duration::from_millis(250),
        || {
            let same: Vec<_> = invalid_values_warnings(&cluster)
                .into_iter()
                .filter(|(_, _, note, _)| note.contains(keys[0]))
                .collect();
            if same.iter().any(|(_, _, _, count)| *count == 2) {
                Ok(same)
            } else {
                Err(format!("{same:?}"))
            }
        },
    )
    .0;
    assert_eq!(
        repeats.len(),
        1,
        "one event for the repeated message: {repeats:?}"
    );

    // Back to good values: valid again, and still nothing to change.
    apply(&cluster, &base_values());
    wait_for(
        "ValuesValid=True again",
        CHANGE_TIMEOUT,
        Duration::from_millis(250),
        || {
            let res = resource(&cluster);
            if observed(&res)
                && condition_status(&res, "ValuesValid") == "True"
                && condition_status(&res, "Ready") == "True"
            {
                Ok(())
            } else {
                Err(summary(&res))
            }
        },
    );
    thread::sleep(Duration::from_secs(3));
    let changed = changes(&before, &managed(&cluster));
    assert!(
        changed.is_empty(),
        "good values again: managed objects changed:\n{}",
        indent(&changed.join("\n"), "  ")
    );
    report(format!(
        "test invalid_values_are_refused_and_change_nothing: {}",
        secs(t0.elapsed())
    ));
}

// ---------------------------------------------------------------- 7. leader election

fn lease(cluster: &Cluster) -> (String, i64) {
    let l = cluster.get_json(&["-n", NS, "lease", "wandb-operator-leader"]);
    (
        text(&l, "/spec/holderIdentity").to_string(),
        int(&l, "/spec/leaseTransitions"),
    )
}

/// Of two operators, one leads; when it stops, the other takes over and
/// repairs. Then the same after a crash (SIGKILL: the lease must expire).
#[test]
fn a_standby_operator_takes_over() {
    let _serial = serial();
    let t0 = Instant::now();
    let cluster = cluster("leader");
    let mut a = operator(&cluster, "leader", "e2e-operator-a");
    let mut b = Operator::start(&cluster, NS, "e2e-operator-b", &log_dir("leader"));
    wait_for(
        "operator b ready (standing by)",
        Duration::from_secs(60),
        POLL,
        || {
            if b.ready() {
                Ok(())
            } else {
                Err("/readyz is not 200".into())
            }
        },
    );
    install(&cluster);

    // One leader at a time, and only the leader reconciles.
    for _ in 0..10 {
        let (la, lb) = (a.leading(), b.leading());
        assert!(la && !lb, "leader metrics: a {la}, b {lb}");
        thread::sleep(Duration::from_millis(500));
    }
    let (holder, transitions) = lease(&cluster);
    assert_eq!(holder, "e2e-operator-a");
    let bm = b.metrics().expect("metrics of b");
    assert_eq!(bm.value("wandb_operator_leader", &[]).unwrap_or(0.0), 0.0);
    assert_eq!(
        bm.sum("wandb_operator_reconciles_total", &[]),
        0.0,
        "the standby reconciled"
    );
    assert!(counters(&a).0 > 0.0, "the leader did not reconcile");
    eprintln!(
        "[e2e] a leads (lease held by {holder}, {transitions} transitions); b stands by with 0 reconciles"
    );

    // The leader stops; the standby takes over and repairs a deletion made meanwhile.
    let deploy = "wandb-console-bc";
    let old = uid_of(&cluster, "deployment", deploy).expect("deployment");
    let stopped = Instant::now();
    let (status, exit_took) = a.stop(Duration::from_secs(15));
    assert!(
        status.is_some_and(|s| s.success()),
        "a did not exit cleanly on SIGTERM: {status:?}"
    );
    cluster.kubectl_ok(&["-n", NS, "delete", "deployment", deploy], None);
    wait_for("b leads", TAKEOVER_BOUND, POLL, || {
        if b.leading() {
            Ok(())
        } else {
            Err(format!("b not leading; lease {:?}", lease(&cluster)))
        }
    });
    let takeover_since_stop = stopped.elapsed();
    wait_for(
        &format!("b repairs Deployment/{deploy}"),
        TAKEOVER_BOUND,
        POLL,
        || match uid_of(&cluster, "deployment", deploy) {
            Some(uid) if uid != old => Ok(()),
            other => Err(format!("uid {other:?}")),
        },
    );
    let repaired_since_stop = stopped.elapsed();
    assert!(
        repaired_since_stop <= TAKEOVER_BOUND,
        "repair took {}",
        secs(repaired_since_stop)
    );
    let (holder, transitions_b) = lease(&cluster);
    assert_eq!(holder, "e2e-operator-b");
    assert!(
        transitions_b > transitions,
        "leaseTransitions {transitions} -> {transitions_b}"
    );
    report(format!(
        "leader: SIGTERM to a -> a exited in {}, b leading {} after SIGTERM, Deployment/{deploy} repaired {} after SIGTERM",
        secs(exit_took),
        secs(takeover_since_stop),
        secs(repaired_since_stop)
    ));
    wait_reconciled_ready(&cluster, "Ready under b", CHANGE_TIMEOUT);

    // A crash: the lease is not released, a new standby waits for it to expire.
    let c = Operator::start(&cluster, NS, "e2e-operator-c", &log_dir("leader"));
    wait_for(
        "operator c ready (standing by)",
        Duration::from_secs(60),
        POLL,
        || {
            if c.ready() {
                Ok(())
            } else {
                Err("/readyz is not 200".into())
            }
        },
    );
    assert!(!c.leading(), "c leads while b holds the lease");
    let old = uid_of(&cluster, "deployment", deploy).expect("deployment");
    let killed = Instant::now();
    b.kill();
    cluster.kubectl_ok(&["-n", NS, "delete", "deployment", deploy], None);
    let bound = TAKEOVER_BOUND + Duration::from_secs(5);
    wait_for("c leads after b crashed", bound, POLL, || {
        if c.leading() {
            Ok(())
        } else {
            Err(format!("c not leading; lease {:?}", lease(&cluster)))
        }
    });
    let crash_takeover = killed.elapsed();
    wait_for(
        &format!("c repairs Deployment/{deploy}"),
        bound,
        POLL,
        || match uid_of(&cluster, "deployment", deploy) {
            Some(uid) if uid != old => Ok(()),
            other => Err(format!("uid {other:?}")),
        },
    );
    let crash_repaired = killed.elapsed();
    assert_eq!(lease(&cluster).0, "e2e-operator-c");
    assert!(
        crash_takeover <= TAKEOVER_BOUND,
        "takeover after a crash took {}",
        secs(crash_takeover)
    );
    report(format!(
        "leader: SIGKILL to b -> c leading {} after the kill (lease of 15 s expired), Deployment/{deploy} repaired {} after the kill",
        secs(crash_takeover),
        secs(crash_repaired)
    ));
    drop(a);
    report(format!(
        "test a_standby_operator_takes_over: {}",
        secs(t0.elapsed())
    ));
}

// ---------------------------------------------------------------- same name twice

/// A second resource named `wandb` in another namespace would share the
/// first one's cluster-wide objects (named after the resource, as
/// upstream's are after the release): it reports a Conflict naming them,
/// and the first install keeps them, unchanged, even when the second goes.
#[test]
fn a_second_install_of_the_same_name_reports_a_conflict() {
    let _serial = serial();
    let t0 = Instant::now();
    let cluster = cluster("conflict");
    let other = "wandb-2";
    cluster.restricted_namespace(other);
    let log = log_dir("conflict").join("e2e-operator.log");
    let _ = std::fs::remove_file(&log);
    let mut op = Operator::start_with(
        &cluster,
        &["--all-namespaces", "--lease-namespace", NS],
        "e2e-operator",
        &log,
    );
    op.wait_leading(Duration::from_secs(60));
    install(&cluster);
    let binding = |c: &Cluster| c.get_json(&["clusterrolebinding", "wandb-console"]);
    let before = binding(&cluster);
    assert_eq!(
        text(&before, "/metadata/annotations/apps.wandb.com~1owner"),
        "wandb/wandb"
    );

    let second = manifest(&base_values()).replace(
        &format!("\"namespace\":\"{NS}\""),
        &format!("\"namespace\":\"{other}\""),
    );
    assert!(second.contains(other), "{second}");
    cluster.kubectl_ok(&["apply", "-f", "-"], Some(&second));
    let (message, took) = wait_for(
        "the second install reports a conflict",
        Duration::from_secs(60),
        POLL,
        || {
            let res = cluster.get_json(&["-n", other, "weightsandbiases", NAME]);
            match condition(&res, "Ready") {
                Some(c) if c["reason"] == "Conflict" => Ok(text(&c, "/message").to_string()),
                _ => Err(summary(&res)),
            }
        },
    );
    assert!(
        message
            .contains("ClusterRoleBinding/wandb-console belongs to weightsandbiases wandb/wandb"),
        "{message}"
    );
    let events = cluster.kubectl_ok(
        &[
            "-n",
            other,
            "get",
            "events",
            "--field-selector",
            "reason=Conflict",
            "-o",
            "name",
        ],
        None,
    );
    assert!(!events.trim().is_empty(), "no Conflict event");
    // The first install is untouched, now and after the second is deleted.
    thread::sleep(Duration::from_secs(3));
    let res = resource(&cluster);
    assert_eq!(condition_status(&res, "Ready"), "True", "{}", summary(&res));
    let during = binding(&cluster);
    assert_eq!(
        text(&during, "/metadata/resourceVersion"),
        text(&before, "/metadata/resourceVersion"),
        "the first install's ClusterRoleBinding was written"
    );
    cluster.kubectl_ok(
        &[
            "-n",
            other,
            "delete",
            "weightsandbiases",
            NAME,
            "--wait=true",
        ],
        None,
    );
    let after = binding(&cluster);
    assert_eq!(
        text(&after, "/metadata/uid"),
        text(&before, "/metadata/uid"),
        "deleting the second install deleted the first one's ClusterRoleBinding"
    );
    report(format!(
        "conflict: a second `wandb` in namespace {other} reported Conflict {} after creation; \
         the first's cluster-wide objects unchanged and kept when it was deleted; test {}",
        secs(took),
        secs(t0.elapsed())
    ));
}

// ---------------------------------------------------------------- pause and stop

/// Deployments by name: (component, spec.replicas, status.replicas).
fn deployments(cluster: &Cluster) -> BTreeMap<String, (String, i64, i64)> {
    let list = cluster.get_json(&["-n", NS, "deployments"]);
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| {
            let component = d
                .pointer("/metadata/labels")
                .and_then(|l| l.get(COMPONENT_LABEL))
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            (
                text(d, "/metadata/name").to_string(),
                (
                    component,
                    int(d, "/spec/replicas"),
                    int(d, "/status/replicas"),
                ),
            )
        })
        .collect()
}

fn is_service(component: &str) -> bool {
    wandb_render::catalog::CATALOG.service(component).is_some()
}

/// The names and uids of a kind's objects in the namespace.
fn uids(cluster: &Cluster, kind: &str) -> BTreeMap<String, String> {
    let list = cluster.get_json(&["-n", NS, kind]);
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            (
                text(o, "/metadata/name").to_string(),
                text(o, "/metadata/uid").to_string(),
            )
        })
        .collect()
}

/// `spec.paused`: a Deployment deleted by hand stays deleted and the
/// operator makes no request meanwhile; resumed, it comes back within the
/// repair bound. `spec.stopped`: the W&B services at 0 replicas, their
/// autoscalers gone, the stores and exporters running, generated Secrets
/// and volumes the same objects with the same data; started again, the
/// replicas they had.
#[test]
fn an_install_paused_and_stopped() {
    let _serial = serial();
    let cluster = cluster("pause-stop");
    let op = operator(&cluster, "pause-stop", "e2e-operator");
    install(&cluster);

    // Paused.
    patch_spec(&cluster, json!({"paused": true}));
    wait_for(
        "Paused=True",
        CHANGE_TIMEOUT,
        Duration::from_millis(250),
        || {
            let res = resource(&cluster);
            if observed(&res) && condition_status(&res, "Paused") == "True" {
                Ok(())
            } else {
                Err(summary(&res))
            }
        },
    );
    let (_, requests_before) = counters(&op);
    let app = "wandb-app-bc";
    cluster.kubectl_ok(&["-n", NS, "delete", "deployment", app], None);
    let paused_for = Duration::from_secs(30);
    thread::sleep(paused_for);
    assert_eq!(
        uid_of(&cluster, "Deployment", app),
        None,
        "Deployment/{app} came back while paused"
    );
    let (_, requests_after) = counters(&op);
    assert_eq!(
        requests_after, requests_before,
        "the operator made requests while the install was paused"
    );
    report(format!(
        "pause: Deployment/{app} stayed deleted for {}, 0 API requests",
        secs(paused_for)
    ));

    // Resumed: repaired at once.
    let resumed = Instant::now();
    patch_spec(&cluster, json!({"paused": false}));
    wait_for(
        &format!("Deployment/{app} back after the resume"),
        REPAIR_BOUND,
        POLL,
        || uid_of(&cluster, "Deployment", app).ok_or_else(|| "absent".to_string()),
    );
    report(format!(
        "resume: Deployment/{app} back {} after the resume",
        secs(resumed.elapsed())
    ));
    wait_reconciled_ready(&cluster, "Ready after the resume", READY_TIMEOUT);

    // Stopped.
    let running = deployments(&cluster);
    let secrets = generated_secrets(&cluster);
    let volumes = uids(&cluster, "persistentvolumeclaims");
    assert!(!volumes.is_empty() && !secrets.is_empty());
    assert!(!uids(&cluster, "horizontalpodautoscalers").is_empty());
    patch_spec(&cluster, json!({"stopped": true}));
    let (_, took) = wait_for(
        "the W&B services at zero",
        CHANGE_TIMEOUT,
        Duration::from_millis(250),
        || {
            let res = resource(&cluster);
            let ready = condition(&res, "Ready").unwrap_or_default();
            let up: Vec<String> = deployments(&cluster)
                .into_iter()
                .filter(|(_, (c, spec, status))| is_service(c) && (*spec, *status) != (0, 0))
                .map(|(n, (_, spec, status))| format!("{n} {status}/{spec}"))
                .collect();
            if observed(&res) && ready["reason"] == "Stopped" && up.is_empty() {
                Ok(())
            } else {
                Err(format!("running: {up:?}; {}", summary(&res)))
            }
        },
    );
    report(format!(
        "stop: the W&B services at 0 replicas in {}",
        secs(took)
    ));
    assert_eq!(
        uids(&cluster, "horizontalpodautoscalers"),
        BTreeMap::new(),
        "autoscalers left while stopped"
    );
    for (name, (component, spec, _)) in deployments(&cluster) {
        if !is_service(&component) {
            assert_eq!(
                Some(&spec),
                running.get(&name).map(|r| &r.1),
                "{name} changed"
            );
        }
    }
    let stores = cluster.get_json(&["-n", NS, "statefulsets"]);
    for s in stores["items"].as_array().into_iter().flatten() {
        assert_eq!(
            int(s, "/status/readyReplicas"),
            int(s, "/spec/replicas"),
            "StatefulSet/{} is not ready while stopped",
            text(s, "/metadata/name")
        );
    }
    let after = generated_secrets(&cluster);
    for (name, s) in &secrets {
        let a = after
            .get(name)
            .unwrap_or_else(|| panic!("Secret/{name} gone"));
        assert_eq!(
            (&a.uid, &a.data),
            (&s.uid, &s.data),
            "Secret/{name} changed"
        );
    }
    assert_eq!(uids(&cluster, "persistentvolumeclaims"), volumes);

    // Started again: the replicas they had.
    patch_spec(&cluster, json!({"stopped": false}));
    let took = wait_reconciled_ready(&cluster, "Ready after the start", READY_TIMEOUT);
    report(format!("start: Ready again in {}", secs(took)));
    let started = deployments(&cluster);
    for (name, (component, spec, _)) in &running {
        assert_eq!(
            started.get(name).map(|s| s.1),
            Some(*spec),
            "{name} ({component}): not the replicas it had"
        );
    }
    assert!(!uids(&cluster, "horizontalpodautoscalers").is_empty());
}

// ---------------------------------------------------------------- upgrades

/// The default values at app version `tag`, with the migration Job
/// `app-rename-pre-hook` failing on kwok when `fail` (a stage of
/// hack/kwok/stages-test.yaml) and not retried (backoffLimit 0).
fn upgrade_values(tag: &str, fail: bool) -> Value {
    let mut values = base_values();
    values["app"] = json!({"image": {"tag": tag}});
    let annotations = if fail {
        json!({"e2e.wandb.test/fail": "true"})
    } else {
        json!({})
    };
    values["appRenamePreHook"] = json!({
        "podAnnotations": annotations,
        "jobs": {"app-rename-pre-hook": {"backoffLimit": 0}},
    });
    values
}

/// The app Deployment's pod template and ReplicaSets, to tell it untouched.
fn app_rollout(cluster: &Cluster) -> (Value, BTreeSet<String>) {
    let app = cluster.get_json(&["-n", NS, "deployment", "wandb-app-bc"]);
    let sets = cluster.get_json(&["-n", NS, "replicasets"]);
    let owned: BTreeSet<String> = sets["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|rs| rs.pointer("/metadata/ownerReferences/0/name") == Some(&json!("wandb-app-bc")))
        .map(|rs| text(rs, "/metadata/name").to_string())
        .collect();
    (app["spec"]["template"].clone(), owned)
}

/// An upgrade whose migration Job fails leaves the services as they ran
/// (same pod template, same ReplicaSet) and says why; fixed, it rolls
/// out; a downgrade below the migrated version is refused.
#[test]
fn a_failed_migration_holds_the_upgrade() {
    let _serial = serial();
    let cluster = cluster("upgrade");
    let _op = operator(&cluster, "upgrade", "e2e-operator");
    apply(&cluster, &upgrade_values("0.75.0", false));
    wait_reconciled_ready(&cluster, "Ready at 0.75.0", READY_TIMEOUT);
    let before = app_rollout(&cluster);
    assert_eq!(text(&resource(&cluster), "/status/version"), "0.75.0");

    apply(&cluster, &upgrade_values("0.76.0", true));
    let (message, took) = wait_for(
        "Ready=False with reason MigrationFailed",
        READY_TIMEOUT,
        Duration::from_millis(250),
        || {
            let res = resource(&cluster);
            match condition(&res, "Ready") {
                Some(c) if observed(&res) && c["reason"] == "MigrationFailed" => {
                    Ok(text(&c, "/message").to_string())
                }
                _ => Err(summary(&res)),
            }
        },
    );
    report(format!(
        "upgrade: MigrationFailed reported {} after the change",
        secs(took)
    ));
    assert!(
        message.contains("Job/wandb-app-rename-pre-hook"),
        "the Job is not named: {message}"
    );
    let res = resource(&cluster);
    assert_eq!(text(&res, "/status/version"), "0.75.0");
    assert_eq!(
        (
            text(&res, "/status/upgrade/from"),
            text(&res, "/status/upgrade/to"),
            text(&res, "/status/upgrade/stage")
        ),
        ("0.75.0", "0.76.0", "migrations")
    );
    let events = wandb_e2e::resource_events(&cluster, NS);
    assert!(
        events
            .iter()
            .any(|(t, reason, _, _)| t == "Warning" && reason == "MigrationFailed"),
        "no MigrationFailed event: {events:?}"
    );
    // Some time for a wrong rollout to show.
    thread::sleep(Duration::from_secs(5));
    assert_eq!(
        app_rollout(&cluster),
        before,
        "the app changed while its migration failed"
    );

    // Fixed: the Job runs again, then the services roll out.
    apply(&cluster, &upgrade_values("0.76.0", false));
    let took = wait_reconciled_ready(&cluster, "Ready at 0.76.0", READY_TIMEOUT);
    report(format!("upgrade: fixed, Ready at 0.76.0 in {}", secs(took)));
    let res = resource(&cluster);
    assert_eq!(text(&res, "/status/version"), "0.76.0");
    assert_eq!(text(&res, "/status/migratedVersion"), "0.76.0");
    assert!(
        res.pointer("/status/upgrade").is_none(),
        "{}",
        summary(&res)
    );
    let upgraded = app_rollout(&cluster);
    assert_ne!(upgraded.0, before.0, "the app did not roll out");
    // In order: the migration completed before the app's new ReplicaSet.
    let job = cluster.get_json(&["-n", NS, "job", "wandb-app-rename-pre-hook"]);
    let completed = text(&job, "/status/completionTime").to_string();
    let sets = cluster.get_json(&["-n", NS, "replicasets"]);
    let newest = sets["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|rs| {
            upgraded.1.contains(text(rs, "/metadata/name"))
                && !before.1.contains(text(rs, "/metadata/name"))
        })
        .map(|rs| text(rs, "/metadata/creationTimestamp").to_string())
        .max()
        .expect("a new ReplicaSet of the app");
    assert!(
        !completed.is_empty() && completed <= newest,
        "the app rolled out ({newest}) before its migration completed ({completed:?})"
    );

    // A downgrade is refused and changes nothing.
    apply(&cluster, &upgrade_values("0.75.0", false));
    wait_for(
        "Ready=False with reason DowngradeRefused",
        CHANGE_TIMEOUT,
        Duration::from_millis(250),
        || {
            let res = resource(&cluster);
            match condition(&res, "Ready") {
                Some(c) if observed(&res) && c["reason"] == "DowngradeRefused" => Ok(()),
                _ => Err(summary(&res)),
            }
        },
    );
    thread::sleep(Duration::from_secs(3));
    assert_eq!(
        app_rollout(&cluster).0,
        upgraded.0,
        "the app changed on a refused downgrade"
    );
}

// ---------------------------------------------------------------- backups

/// `wandb-operator backup ...` against the cluster.
fn backup_cli(cluster: &Cluster, args: &[&str]) -> wandb_e2e::Output {
    let mut cmd = std::process::Command::new(operator_binary());
    cmd.args(["backup", "--namespace", NS, "--timeout", "3m"])
        .args(args)
        .env("KUBECONFIG", &cluster.kubeconfig);
    wandb_e2e::run(cmd, None, Duration::from_secs(240))
}

/// The backup CronJob the values ask for is accepted by the API server;
/// `backup now --wait` runs its pod as a Job to completion; `backup restore`
/// stops the services (spec.stopped), runs the restore Job, and starts them
/// again; `backup list` says why it cannot read the list where there are no
/// logs (kwok). The script itself is tested against real servers
/// (crates/render/tests/backup_script.rs).
#[test]
fn backups_run_as_jobs_and_a_restore_stops_the_services() {
    let _serial = serial();
    let cluster = cluster("backup");
    let _op = operator(&cluster, "backup", "e2e-operator");
    let mut values = base_values();
    values["backup"] = json!({"install": true, "schedule": "15 3 * * *"});
    apply(&cluster, &values);
    wait_reconciled_ready(&cluster, "Ready with backups", READY_TIMEOUT);
    let cron = cluster.get_json(&["-n", NS, "cronjob", "wandb-mysql-backup"]);
    assert_eq!(text(&cron, "/spec/schedule"), "15 3 * * *");

    let out = backup_cli(&cluster, &["now", "--wait"]);
    assert!(
        out.success(),
        "backup now: {}\n{}{}",
        out.describe_status(),
        out.stdout,
        out.stderr
    );
    assert!(out.stdout.contains("completed"), "{}", out.stdout);

    let before = app_rollout(&cluster);
    let out = backup_cli(
        &cluster,
        &["restore", "wandb-mysql-20261202T030000Z.sql.gz", "--force"],
    );
    assert!(
        out.success(),
        "backup restore: {}\n{}{}",
        out.describe_status(),
        out.stdout,
        out.stderr
    );
    assert!(
        out.stdout.contains("stopping the W&B services"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("the services start again"),
        "{}",
        out.stdout
    );
    let res = resource(&cluster);
    assert_ne!(
        res.pointer("/spec/stopped"),
        Some(&json!(true)),
        "left stopped"
    );
    let took = wait_reconciled_ready(&cluster, "Ready after the restore", READY_TIMEOUT);
    report(format!(
        "backup: restore done, Ready again in {}",
        secs(took)
    ));
    assert_eq!(
        app_rollout(&cluster).0,
        before.0,
        "the app's template changed"
    );
    let restores = cluster.get_json(&["-n", NS, "jobs"]);
    let names: Vec<String> = restores["items"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|j| text(j, "/metadata/name").to_string())
        .filter(|n| n.starts_with("wandb-mysql-backup-"))
        .collect();
    assert!(
        names.iter().any(|n| n.contains("-restore-")) && names.len() >= 2,
        "{names:?}"
    );

    // Refused before anything happens: not a backup's name.
    let out = backup_cli(&cluster, &["restore", "../../etc/passwd"]);
    assert!(!out.success());
    assert!(
        out.stderr.contains("is not the name of a backup"),
        "{}",
        out.stderr
    );

    let out = backup_cli(&cluster, &["list"]);
    assert!(!out.success(), "kwok has no logs: {}", out.stdout);
    assert!(out.stderr.contains("could not be read"), "{}", out.stderr);
}
