//! The install as the cluster has it: expected objects, data, workloads, snapshots.

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use crate::*;

mod workloads;

pub use workloads::Workloads;

/// Label of every object the operator manages: the resource it belongs to.
pub const INSTANCE_LABEL: &str = "apps.wandb.com/instance";
/// Label of every object the operator manages: its component.
pub const COMPONENT_LABEL: &str = "apps.wandb.com/component";
/// Annotation of a Secret whose keys the operator generates once.
pub const GENERATED_KEYS: &str = "apps.wandb.com/generated-keys";

/// Every namespaced kind the operator manages, and the objects the
/// cluster's controllers make of them (ReplicaSets, Pods), for `kubectl get`.
const NAMESPACED_KINDS: &str = "secrets,configmaps,serviceaccounts,services,persistentvolumeclaims,\
    roles.rbac.authorization.k8s.io,rolebindings.rbac.authorization.k8s.io,deployments.apps,\
    statefulsets.apps,daemonsets.apps,jobs.batch,cronjobs.batch,\
    horizontalpodautoscalers.autoscaling,poddisruptionbudgets.policy,\
    ingresses.networking.k8s.io,networkpolicies.networking.k8s.io,replicasets.apps,pods";
const CLUSTER_KINDS: &str =
    "clusterroles.rbac.authorization.k8s.io,clusterrolebindings.rbac.authorization.k8s.io";

fn str_at<'a>(v: &'a serde_json::Value, pointer: &str) -> &'a str {
    v.pointer(pointer)
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
}

fn int_at(v: &serde_json::Value, pointer: &str) -> Option<i64> {
    v.pointer(pointer).and_then(serde_json::Value::as_i64)
}

fn label_of<'a>(v: &'a serde_json::Value, key: &str) -> &'a str {
    v.pointer("/metadata/labels")
        .and_then(|l| l.get(key))
        .and_then(serde_json::Value::as_str)
        .unwrap_or("")
}

fn annotation_of<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a str> {
    v.pointer("/metadata/annotations")
        .and_then(|l| l.get(key))
        .and_then(serde_json::Value::as_str)
}

fn terminating(v: &serde_json::Value) -> bool {
    v.pointer("/metadata/deletionTimestamp").is_some()
}

fn owner_uids(v: &serde_json::Value) -> Vec<&str> {
    v.pointer("/metadata/ownerReferences")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
        .map(|o| str_at(o, "/uid"))
        .collect()
}

fn has_condition(v: &serde_json::Value, type_: &str) -> bool {
    v.pointer("/status/conditions")
        .and_then(serde_json::Value::as_array)
        .is_some_and(|cs| {
            cs.iter()
                .any(|c| c["type"] == type_ && c["status"] == "True")
        })
}

/// `Kind/name`.
pub fn key_of(v: &serde_json::Value) -> String {
    format!("{}/{}", str_at(v, "/kind"), str_at(v, "/metadata/name"))
}

/// What a render of some values makes, as `Kind/name` (test pods left out).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Expected {
    pub namespaced: std::collections::BTreeSet<String>,
    pub cluster: std::collections::BTreeSet<String>,
}

/// `wandb-operator render` of `values` (as the resource's `spec.values`)
/// for the resource `name` in `namespace`.
pub fn expected_objects(values: &serde_json::Value, name: &str, namespace: &str) -> Expected {
    static COUNT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let file =
        std::env::temp_dir().join(format!("wandb-e2e-values-{}-{n}.yaml", std::process::id()));
    // JSON is YAML.
    std::fs::write(&file, values.to_string())
        .unwrap_or_else(|e| panic!("writing {}: {e}", file.display()));
    let out = render(
        &operator_binary_quiet(),
        &[
            "-f",
            file.to_str().expect("a UTF-8 path"),
            "--skip-tests",
            "--name",
            name,
            "--namespace",
            namespace,
        ],
    );
    let _ = std::fs::remove_file(&file);
    let mut expected = Expected::default();
    for d in out.documents() {
        if matches!(d.kind.as_str(), "ClusterRole" | "ClusterRoleBinding") {
            expected.cluster.insert(d.id());
        } else {
            expected.namespaced.insert(d.id());
        }
    }
    expected
}

/// A Secret's data by key, base64 as stored.
pub fn secret_data(secret: &serde_json::Value) -> BTreeMap<String, String> {
    secret["data"]
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or("").to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// sha256 of a Secret's data (`key=base64value` lines, sorted), by sha256sum(1).
pub fn sha256_of_data(data: &BTreeMap<String, String>) -> String {
    let input: String = data.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    let out = run(
        Command::new("sha256sum"),
        Some(input.as_bytes()),
        Duration::from_secs(10),
    );
    assert!(out.success(), "sha256sum: {}", out.describe_status());
    out.stdout
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string()
}

/// A generated Secret as it was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SecretPrint {
    pub uid: String,
    pub sha256: String,
    /// Generated keys (per the annotation) without a value.
    pub empty_keys: Vec<String>,
}

/// A volume claim as it was seen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PvcPrint {
    pub uid: String,
    pub phase: String,
    pub volume: String,
}

/// The data of an install: its generated Secrets and its volume claims.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Data {
    pub secrets: BTreeMap<String, SecretPrint>,
    pub pvcs: BTreeMap<String, PvcPrint>,
}

impl Data {
    /// What is wrong in itself: a generated key without a value, a volume
    /// claim not Bound.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for (n, s) in &self.secrets {
            if !s.empty_keys.is_empty() {
                out.push(format!(
                    "Secret/{n}: generated keys without a value: {:?}",
                    s.empty_keys
                ));
            }
        }
        for (n, p) in &self.pvcs {
            if p.phase != "Bound" {
                out.push(format!("PersistentVolumeClaim/{n} is {}", p.phase));
            }
        }
        out
    }

    /// What changed since `before`: every generated Secret and volume claim
    /// of `before` must still be there with the same uid (and the same data).
    /// New ones are fine (a component turned on).
    pub fn changes_since(&self, before: &Data) -> Vec<String> {
        let mut out = Vec::new();
        for (n, b) in &before.secrets {
            match self.secrets.get(n) {
                None => out.push(format!("Secret/{n} (generated) is gone")),
                Some(a) if a.uid != b.uid => out.push(format!(
                    "Secret/{n} (generated) was recreated: uid {} -> {}",
                    b.uid, a.uid
                )),
                Some(a) if a.sha256 != b.sha256 => out.push(format!(
                    "Secret/{n} (generated) has other data: sha256 {} -> {}",
                    &b.sha256[..12.min(b.sha256.len())],
                    &a.sha256[..12.min(a.sha256.len())]
                )),
                _ => {}
            }
        }
        for (n, b) in &before.pvcs {
            match self.pvcs.get(n) {
                None => out.push(format!("PersistentVolumeClaim/{n} is gone")),
                Some(a) if a.uid != b.uid => out.push(format!(
                    "PersistentVolumeClaim/{n} was recreated: uid {} -> {}",
                    b.uid, a.uid
                )),
                Some(a) if !b.volume.is_empty() && a.volume != b.volume => out.push(format!(
                    "PersistentVolumeClaim/{n} has another volume: {} -> {}",
                    b.volume, a.volume
                )),
                _ => {}
            }
        }
        out
    }

    /// Adds what `now` has that this has not yet; returns what changed of
    /// what this had (see [`Data::changes_since`]). For following the data
    /// through a series of faults during an install, as it appears.
    pub fn follow(&mut self, now: &Data) -> Vec<String> {
        let changed = now.changes_since(self);
        for (n, s) in &now.secrets {
            if s.empty_keys.is_empty() {
                self.secrets.entry(n.clone()).or_insert_with(|| s.clone());
            }
        }
        for (n, p) in &now.pvcs {
            if p.phase == "Bound" {
                self.pvcs.entry(n.clone()).or_insert_with(|| p.clone());
            }
        }
        changed
    }

    /// `name sha256:0123456789ab` of each Secret, for logs.
    pub fn describe(&self) -> String {
        let secrets: Vec<String> = self
            .secrets
            .iter()
            .map(|(n, s)| format!("{n} sha256:{}", &s.sha256[..12.min(s.sha256.len())]))
            .collect();
        format!(
            "{} generated secrets ({}), {} volume claims",
            self.secrets.len(),
            secrets.join(", "),
            self.pvcs.len()
        )
    }
}

/// The resources, the objects of their namespaces and the cluster-scoped
/// objects the operator manages, read in three kubectl calls.
pub struct Snapshot {
    pub resources: Vec<serde_json::Value>,
    pub objects: Vec<serde_json::Value>,
    pub cluster_objects: Vec<serde_json::Value>,
}

impl Snapshot {
    /// Of one namespace, or of all (`None`).
    pub fn take(cluster: &Cluster, namespace: Option<&str>) -> Snapshot {
        let scope: Vec<&str> = match namespace {
            Some(ns) => vec!["-n", ns],
            None => vec!["-A"],
        };
        let items = |mut args: Vec<&str>| -> Vec<serde_json::Value> {
            args.extend(["-o", "json", "--show-managed-fields"]);
            let mut all = vec!["get"];
            all.extend(args);
            let out = cluster.kubectl(&all, None, Duration::from_secs(120));
            assert!(
                out.success(),
                "{} failed:\n{}",
                out.describe_status(),
                out.stderr
            );
            let list: serde_json::Value = serde_json::from_str(&out.stdout)
                .unwrap_or_else(|e| panic!("`kubectl {}`: no JSON: {e}", all.join(" ")));
            list["items"].as_array().cloned().unwrap_or_default()
        };
        let mut args = vec!["weightsandbiases.apps.wandb.com"];
        args.extend(&scope);
        let resources = items(args);
        let mut args = vec![NAMESPACED_KINDS];
        args.extend(&scope);
        let objects = items(args);
        let cluster_objects = items(vec![CLUSTER_KINDS, "-l", INSTANCE_LABEL]);
        Snapshot {
            resources,
            objects,
            cluster_objects,
        }
    }

    fn in_ns<'a>(&'a self, ns: &'a str) -> impl Iterator<Item = &'a serde_json::Value> + 'a {
        self.objects
            .iter()
            .filter(move |o| str_at(o, "/metadata/namespace") == ns)
    }

    fn of_kind<'a>(
        &'a self,
        ns: &'a str,
        kind: &'a str,
    ) -> impl Iterator<Item = &'a serde_json::Value> + 'a {
        self.in_ns(ns).filter(move |o| str_at(o, "/kind") == kind)
    }

    pub fn resource(&self, ns: &str, name: &str) -> Option<&serde_json::Value> {
        self.resources
            .iter()
            .find(|r| str_at(r, "/metadata/namespace") == ns && str_at(r, "/metadata/name") == name)
    }

    /// The resource's status describes its spec (observedGeneration ==
    /// generation), Ready and every `<Component>Ready` condition are True,
    /// and there is one such condition per component with a workload.
    pub fn converged(&self, ns: &str, name: &str) -> Result<(), String> {
        let res = self
            .resource(ns, name)
            .ok_or_else(|| format!("WeightsAndBiases {ns}/{name} does not exist"))?;
        let generation = int_at(res, "/metadata/generation").unwrap_or(0);
        let observed = int_at(res, "/status/observedGeneration");
        let mut problems = Vec::new();
        if observed != Some(generation) {
            problems.push(format!(
                "observedGeneration {observed:?}, generation {generation}"
            ));
        }
        let conditions = res
            .pointer("/status/conditions")
            .and_then(serde_json::Value::as_array)
            .cloned()
            .unwrap_or_default();
        if !conditions
            .iter()
            .any(|c| c["type"] == "Ready" && c["status"] == "True")
        {
            let c = conditions.iter().find(|c| c["type"] == "Ready");
            problems.push(format!(
                "Ready is {}",
                c.map_or("absent".to_string(), |c| format!(
                    "{} ({})",
                    str_at(c, "/status"),
                    str_at(c, "/message")
                ))
            ));
        }
        let mut types = std::collections::BTreeSet::new();
        for c in &conditions {
            let t = str_at(c, "/type");
            if t.ends_with("Ready") {
                if t != "Ready" {
                    types.insert(t.to_string());
                }
                if c["status"] != "True" {
                    problems.push(format!(
                        "{t}={} ({})",
                        str_at(c, "/status"),
                        str_at(c, "/message")
                    ));
                }
                if int_at(c, "/observedGeneration") != Some(generation) {
                    problems.push(format!(
                        "{t} has observedGeneration {:?}",
                        int_at(c, "/observedGeneration")
                    ));
                }
            }
        }
        let components: std::collections::BTreeSet<String> = self
            .in_ns(ns)
            .filter(|o| {
                matches!(
                    str_at(o, "/kind"),
                    "Deployment" | "StatefulSet" | "DaemonSet" | "Job" | "CronJob"
                ) && label_of(o, INSTANCE_LABEL) == name
                    && !terminating(o)
            })
            .map(|o| condition_type_of(label_of(o, COMPONENT_LABEL)))
            .collect();
        if components != types {
            problems.push(format!(
                "component conditions {:?} but workloads of components {:?}",
                types.difference(&components).collect::<Vec<_>>(),
                components.difference(&types).collect::<Vec<_>>()
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(format!("{ns}/{name}: {}", problems.join("; ")))
        }
    }

    /// The generated Secrets and the volume claims of a namespace.
    pub fn data(&self, ns: &str) -> Data {
        let mut data = Data::default();
        for s in self.of_kind(ns, "Secret") {
            let Some(keys) = annotation_of(s, GENERATED_KEYS) else {
                continue;
            };
            let values = secret_data(s);
            let empty_keys = keys
                .split(',')
                .map(str::trim)
                .filter(|k| !k.is_empty() && values.get(*k).is_none_or(String::is_empty))
                .map(String::from)
                .collect();
            data.secrets.insert(
                str_at(s, "/metadata/name").to_string(),
                SecretPrint {
                    uid: str_at(s, "/metadata/uid").to_string(),
                    sha256: sha256_of_data(&values),
                    empty_keys,
                },
            );
        }
        for p in self.of_kind(ns, "PersistentVolumeClaim") {
            data.pvcs.insert(
                str_at(p, "/metadata/name").to_string(),
                PvcPrint {
                    uid: str_at(p, "/metadata/uid").to_string(),
                    phase: str_at(p, "/status/phase").to_string(),
                    volume: str_at(p, "/spec/volumeName").to_string(),
                },
            );
        }
        data
    }

    /// Exactly the objects of the render: none missing, none extra but data
    /// kept from earlier specs (volume claims, generated Secrets), no Secret
    /// the render does not make. Cluster-scoped objects: those of the render
    /// exist (with `strict_cluster`, no other carries the instance label).
    /// Returns how many managed objects there are.
    pub fn duplicates(
        &self,
        ns: &str,
        name: &str,
        expected: &Expected,
        strict_cluster: bool,
    ) -> Result<usize, String> {
        let mut problems = Vec::new();
        let mut live = std::collections::BTreeSet::new();
        for o in self.in_ns(ns) {
            let kind = str_at(o, "/kind");
            if matches!(kind, "Pod" | "ReplicaSet") || terminating(o) {
                continue;
            }
            let key = key_of(o);
            let labelled = label_of(o, INSTANCE_LABEL) == name;
            let data = kind == "PersistentVolumeClaim"
                || (kind == "Secret" && annotation_of(o, GENERATED_KEYS).is_some());
            if labelled {
                if !expected.namespaced.contains(&key) && !data {
                    problems.push(format!("{key} is not in the render"));
                }
                live.insert(key);
            } else if kind == "Secret" {
                problems.push(format!("{key} is a Secret without the instance label"));
            }
        }
        for k in expected.namespaced.difference(&live) {
            problems.push(format!("{k} is missing"));
        }
        let cluster: std::collections::BTreeSet<String> = self
            .cluster_objects
            .iter()
            .filter(|o| label_of(o, INSTANCE_LABEL) == name && !terminating(o))
            .map(key_of)
            .collect();
        for k in expected.cluster.difference(&cluster) {
            problems.push(format!("{k} (cluster-scoped) is missing"));
        }
        if strict_cluster {
            for k in cluster.difference(&expected.cluster) {
                problems.push(format!("{k} (cluster-scoped) is not in the render"));
            }
        }
        if problems.is_empty() {
            Ok(live.len() + expected.cluster.len())
        } else {
            Err(format!("{ns}: {}", problems.join("; ")))
        }
    }

    /// Managers of the managed objects of an install (and of the resource),
    /// by operation: `Apply wandb-operator`, `Update kube-controller-manager
    /// (status)`, ... with how many objects each is on.
    pub fn managers(&self, ns: &str, name: &str) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        let objects = self
            .in_ns(ns)
            .filter(|o| {
                !matches!(str_at(o, "/kind"), "Pod" | "ReplicaSet")
                    && label_of(o, INSTANCE_LABEL) == name
            })
            .chain(
                self.cluster_objects
                    .iter()
                    .filter(|o| label_of(o, INSTANCE_LABEL) == name),
            );
        for o in objects {
            let mut seen = std::collections::BTreeSet::new();
            for f in o
                .pointer("/metadata/managedFields")
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten()
            {
                let sub = match str_at(f, "/subresource") {
                    "" => String::new(),
                    s => format!(" ({s})"),
                };
                seen.insert(format!(
                    "{} {}{sub}",
                    str_at(f, "/operation"),
                    str_at(f, "/manager")
                ));
            }
            for m in seen {
                *out.entry(m).or_insert(0) += 1;
            }
        }
        out
    }
}

/// `flat-run-fields-updater` -> `FlatRunFieldsUpdaterReady`, as the operator names conditions.
pub fn condition_type_of(component: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in component.chars() {
        if matches!(c, '-' | '_' | '.') {
            upper = true;
        } else if upper {
            out.push(c.to_ascii_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out + "Ready"
}

/// One line about a resource's status: generations and what is not True.
pub fn status_line(res: &serde_json::Value) -> String {
    let mut s = format!(
        "generation {}, observedGeneration {}",
        int_at(res, "/metadata/generation").unwrap_or(0),
        int_at(res, "/status/observedGeneration").map_or("-".into(), |g| g.to_string())
    );
    for c in res
        .pointer("/status/conditions")
        .and_then(serde_json::Value::as_array)
        .into_iter()
        .flatten()
    {
        if c["status"] != "True" && c["type"] != "ValuesWarnings" {
            s += &format!(
                "; {}={} ({})",
                str_at(c, "/type"),
                str_at(c, "/status"),
                str_at(c, "/message")
            );
        }
    }
    s
}
