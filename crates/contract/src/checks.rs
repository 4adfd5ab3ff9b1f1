//! The deep comparison of an upstream render with ours.
//!
//! Every object the upstream chart renders is looked up in ours by kind and
//! name, and what W&B's containers and existing installs depend on is
//! compared: each comparison is one [`Check`] in a [`Category`]. Extra
//! objects, env vars or keys in ours are not counted. Security contexts,
//! Helm's own labels, checksum annotations, generated secret values and
//! scripts are left out: ours differ on purpose (stricter pods, our own
//! scripts, tested by running them).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

use crate::docs::Objects;

/// What a check is about; the report scores each one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Category {
    Objects,
    Labels,
    Annotations,
    ConfigMapValues,
    ConfigMapFiles,
    Replicas,
    Schedule,
    Scheduling,
    ServiceAccounts,
    Containers,
    Images,
    CommandArgs,
    Env,
    EnvFrom,
    Ports,
    Resources,
    VolumeMounts,
    Probes,
    Services,
    Secrets,
    Autoscaling,
    Disruption,
    Rbac,
    Ingress,
}

impl Category {
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Objects => "objects",
            Category::Labels => "labels",
            Category::Annotations => "annotations",
            Category::ConfigMapValues => "configmap-values",
            Category::ConfigMapFiles => "configmap-files",
            Category::Replicas => "replicas",
            Category::Schedule => "schedule",
            Category::Scheduling => "scheduling",
            Category::ServiceAccounts => "service-accounts",
            Category::Containers => "containers",
            Category::Images => "images",
            Category::CommandArgs => "command-args",
            Category::Env => "env",
            Category::EnvFrom => "env-from",
            Category::Ports => "ports",
            Category::Resources => "resources",
            Category::VolumeMounts => "volume-mounts",
            Category::Probes => "probes",
            Category::Services => "services",
            Category::Secrets => "secrets",
            Category::Autoscaling => "autoscaling",
            Category::Disruption => "disruption",
            Category::Rbac => "rbac",
            Category::Ingress => "ingress",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One comparison: `what` says what upstream renders, `found` what ours has
/// when it differs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    pub category: Category,
    pub what: String,
    pub ok: bool,
    pub found: Option<String>,
}

impl Check {
    /// `[category] what`, the form the ledger's patterns match.
    pub fn label(&self) -> String {
        format!("[{}] {}", self.category, self.what)
    }
}

/// Labels that Helm or the chart's plumbing set, not the user's values.
const HELM_LABELS: &[&str] = &[
    "helm.sh/chart",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/version",
    "chart",
    "heritage",
    "release",
];

const WORKLOADS: &[&str] = &["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob"];

/// Every check of `upstream` against `ours`, in a stable order.
pub fn compare(upstream: &Objects, ours: &Objects) -> Vec<Check> {
    let mut out = Checks::default();
    for ((kind, name), up) in upstream {
        let id = format!("{kind}/{name}");
        let Some(mine) = ours.get(&(kind.clone(), name.clone())) else {
            out.push(Category::Objects, format!("{id} present"), false, None);
            continue;
        };
        out.push(Category::Objects, format!("{id} present"), true, None);
        out.metadata(&id, &up["metadata"], &mine["metadata"], "");
        match kind.as_str() {
            "ConfigMap" => out.config_map(&id, up, mine),
            "Secret" => out.secret(&id, up, mine),
            "Service" => out.service(&id, (up, upstream), (mine, ours)),
            "HorizontalPodAutoscaler" => out.autoscaler(&id, up, mine),
            "PodDisruptionBudget" => out.disruption_budget(&id, up, mine),
            "Role" | "ClusterRole" => out.rbac(&id, up, mine),
            "Ingress" => out.ingress(&id, up, mine),
            k if WORKLOADS.contains(&k) => out.workload(&id, kind, up, mine),
            _ => {}
        }
    }
    out.0
}

#[derive(Default)]
struct Checks(Vec<Check>);

impl Checks {
    fn push(&mut self, category: Category, what: String, ok: bool, found: Option<String>) {
        self.0.push(Check {
            category,
            what,
            ok,
            found: if ok { None } else { found },
        });
    }

    /// A check that two values are equal in canonical form.
    fn same(&mut self, category: Category, what: String, up: &Value, mine: &Value) {
        let (u, m) = (canon(up), canon(mine));
        let found = m.as_ref().map(short).unwrap_or_else(|| "nothing".into());
        self.push(category, what, u == m, Some(found));
    }

    /// The labels and annotations the values set (`prefix` is "" for the
    /// object, "pod " for a pod template).
    fn metadata(&mut self, id: &str, up: &Value, mine: &Value, prefix: &str) {
        for (k, v) in user_entries(&up["labels"]) {
            let have = &mine["labels"][k];
            self.push(
                Category::Labels,
                format!("{id} {prefix}label {k}={}", text(v)),
                text(have) == text(v),
                Some(text(have)),
            );
        }
        for (k, v) in user_entries(&up["annotations"]) {
            if k.starts_with("helm.sh/") || k.contains("checksum") {
                continue;
            }
            self.same(
                Category::Annotations,
                format!("{id} {prefix}annotation {k}"),
                v,
                &mine["annotations"][k],
            );
        }
    }

    fn config_map(&mut self, id: &str, up: &Value, mine: &Value) {
        let empty = Map::new();
        let data = up["data"].as_object().unwrap_or(&empty);
        for (key, value) in data {
            let value = text(value);
            let have = mine["data"].get(key).map(text);
            if value.trim().contains('\n') {
                if is_script(key, &value) {
                    continue; // ours are our own, tested by running them
                }
                let same = have.as_deref().is_some_and(|h| same_file(key, h, &value));
                self.push(
                    Category::ConfigMapFiles,
                    format!("{id} file {key}"),
                    same,
                    Some(have.map(|h| short_text(&h)).unwrap_or("nothing".into())),
                );
            } else {
                let same = have.as_deref().map(str::trim) == Some(value.trim());
                self.push(
                    Category::ConfigMapValues,
                    format!("{id} {key} = {}", short_text(&value)),
                    same,
                    Some(have.map(|h| short_text(&h)).unwrap_or("nothing".into())),
                );
            }
        }
    }

    fn secret(&mut self, id: &str, up: &Value, mine: &Value) {
        let keys = |o: &Value| -> BTreeSet<String> {
            ["data", "stringData"]
                .iter()
                .filter_map(|f| o[*f].as_object())
                .flat_map(|m| m.keys().cloned())
                .collect()
        };
        let have = keys(mine);
        for key in keys(up) {
            self.push(
                Category::Secrets,
                format!("{id} key {key}"),
                have.contains(&key),
                None,
            );
        }
    }

    /// A Service, with the renders its selector picks pods from: a named
    /// target port is compared as the container port it names.
    fn service(
        &mut self,
        id: &str,
        (up, theirs): (&Value, &Objects),
        (mine, ours): (&Value, &Objects),
    ) {
        let (us, ms) = (&up["spec"], &mine["spec"]);
        let kind = |s: &Value| s["type"].as_str().unwrap_or("ClusterIP").to_string();
        self.push(
            Category::Services,
            format!("{id} type {}", kind(us)),
            kind(us) == kind(ms),
            Some(kind(ms)),
        );
        self.same(
            Category::Services,
            format!("{id} selector"),
            &us["selector"],
            &ms["selector"],
        );
        let ports = |s: &Value| -> BTreeMap<String, Value> {
            s["ports"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|p| (text(&p["port"]), p.clone()))
                .collect()
        };
        let mine_ports = ports(ms);
        for (port, p) in ports(us) {
            let m = mine_ports.get(&port);
            self.push(
                Category::Services,
                format!("{id} port {port}"),
                m.is_some(),
                None,
            );
            let Some(m) = m else { continue };
            let target = resolve_target(theirs, &us["selector"], &p);
            let have = resolve_target(ours, &ms["selector"], m);
            self.push(
                Category::Services,
                format!("{id} port {port} targetPort {target}"),
                target == have,
                Some(have),
            );
            if !p["nodePort"].is_null() {
                self.same(
                    Category::Services,
                    format!("{id} port {port} nodePort"),
                    &p["nodePort"],
                    &m["nodePort"],
                );
            }
        }
    }

    fn autoscaler(&mut self, id: &str, up: &Value, mine: &Value) {
        for field in ["minReplicas", "maxReplicas", "metrics"] {
            self.same(
                Category::Autoscaling,
                format!("{id} {field}"),
                &up["spec"][field],
                &mine["spec"][field],
            );
        }
    }

    fn disruption_budget(&mut self, id: &str, up: &Value, mine: &Value) {
        for field in ["minAvailable", "maxUnavailable"] {
            if !up["spec"][field].is_null() {
                self.same(
                    Category::Disruption,
                    format!("{id} {field}"),
                    &up["spec"][field],
                    &mine["spec"][field],
                );
            }
        }
    }

    fn rbac(&mut self, id: &str, up: &Value, mine: &Value) {
        let (u, m) = (rules(up), rules(mine));
        let found = format!("{m:?}");
        self.push(Category::Rbac, format!("{id} rules"), u == m, Some(found));
    }

    fn ingress(&mut self, id: &str, up: &Value, mine: &Value) {
        let (us, ms) = (&up["spec"], &mine["spec"]);
        self.same(
            Category::Ingress,
            format!("{id} class"),
            &us["ingressClassName"],
            &ms["ingressClassName"],
        );
        self.same(
            Category::Ingress,
            format!("{id} tls"),
            &us["tls"],
            &ms["tls"],
        );
        let theirs = routes(us);
        let ours = routes(ms);
        for (route, backend) in theirs {
            let have = ours.get(&route);
            self.push(
                Category::Ingress,
                format!("{id} {} {} -> {backend}", route.0, route.1),
                have == Some(&backend),
                Some(have.cloned().unwrap_or("nothing".into())),
            );
        }
    }

    fn workload(&mut self, id: &str, kind: &str, up: &Value, mine: &Value) {
        if kind == "Deployment" || kind == "StatefulSet" {
            let replicas = |o: &Value| match text(&o["spec"]["replicas"]) {
                r if r.is_empty() => "1".to_string(),
                r => r,
            };
            self.push(
                Category::Replicas,
                format!("{id} replicas {}", replicas(up)),
                replicas(up) == replicas(mine),
                Some(replicas(mine)),
            );
        }
        if kind == "CronJob" {
            self.same(
                Category::Schedule,
                format!("{id} schedule"),
                &up["spec"]["schedule"],
                &mine["spec"]["schedule"],
            );
        }
        let (ut, mt) = (template(up), template(mine));
        let (ups, mps) = (&ut["spec"], &mt["spec"]);
        for field in [
            "nodeSelector",
            "tolerations",
            "affinity",
            "priorityClassName",
            "imagePullSecrets",
            "hostAliases",
            "topologySpreadConstraints",
        ] {
            if canon(&ups[field]).is_some() || canon(&mps[field]).is_some() {
                self.same(
                    Category::Scheduling,
                    format!("{id} {field}"),
                    &ups[field],
                    &mps[field],
                );
            }
        }
        let account = |s: &Value| {
            s["serviceAccountName"]
                .as_str()
                .or(s["serviceAccount"].as_str())
                .unwrap_or("default")
                .to_string()
        };
        self.push(
            Category::ServiceAccounts,
            format!("{id} serviceAccountName {}", account(ups)),
            account(ups) == account(mps),
            Some(account(mps)),
        );
        self.metadata(id, &ut["metadata"], &mt["metadata"], "pod ");
        let ours = containers(mps);
        for uc in containers(ups).values() {
            let name = text(&uc["name"]);
            let at = format!("{id}[{name}]");
            match ours.get(&name) {
                None => self.push(Category::Containers, format!("{at} present"), false, None),
                Some(mc) => {
                    self.push(Category::Containers, format!("{at} present"), true, None);
                    self.container(&at, (ups, uc), (mps, mc));
                }
            }
        }
    }

    /// One container, with the pod specs its volumes come from.
    fn container(&mut self, at: &str, (ups, uc): (&Value, &Value), (mps, mc): (&Value, &Value)) {
        self.push(
            Category::Images,
            format!("{at} image {}", text(&uc["image"])),
            uc["image"] == mc["image"],
            Some(text(&mc["image"])),
        );
        for field in ["command", "args"] {
            self.same(
                Category::CommandArgs,
                format!("{at} {field}"),
                &uc[field],
                &mc[field],
            );
        }
        let my_env = env(mc);
        for (name, source) in env(uc) {
            let have = my_env.get(&name);
            self.push(
                Category::Env,
                format!("{at} env {name} = {source}"),
                have == Some(&source),
                Some(have.cloned().unwrap_or("nothing".into())),
            );
        }
        let (ue, me) = (env_from(uc), env_from(mc));
        self.push(
            Category::EnvFrom,
            format!("{at} envFrom {ue:?}"),
            ue == me,
            Some(format!("{me:?}")),
        );
        let my_ports = ports(mc);
        for port in ports(uc) {
            self.push(
                Category::Ports,
                format!("{at} port {port}"),
                my_ports.contains(&port),
                None,
            );
        }
        let my_resources = resources(mc);
        for (key, amount) in resources(uc) {
            let have = my_resources.get(&key);
            self.push(
                Category::Resources,
                format!("{at} {key}={amount}"),
                have == Some(&amount),
                Some(have.cloned().unwrap_or("nothing".into())),
            );
        }
        let my_mounts = mounts(mps, mc);
        for (path, source) in mounts(ups, uc) {
            let have = my_mounts.get(&path);
            self.push(
                Category::VolumeMounts,
                format!("{at} mount {path} <- {source}"),
                have == Some(&source),
                Some(have.cloned().unwrap_or("nothing".into())),
            );
        }
        for field in ["livenessProbe", "readinessProbe", "startupProbe"] {
            if let Some(probe) = probe(&uc[field]) {
                let have = self::probe(&mc[field]);
                self.push(
                    Category::Probes,
                    format!("{at} {field} {probe}"),
                    have.as_ref() == Some(&probe),
                    Some(have.unwrap_or("nothing".into())),
                );
            }
        }
    }
}

/// The canonical form compared: empty values (null, "", [], {}) are absent,
/// scalars are text (so `1`, `"1"` and `true`, `"true"` are equal), maps
/// keep only present entries.
pub fn canon(v: &Value) -> Option<Value> {
    match v {
        Value::Null => None,
        Value::String(s) if s.is_empty() => None,
        Value::String(_) => Some(v.clone()),
        Value::Bool(b) => Some(Value::String(b.to_string())),
        Value::Number(n) => Some(Value::String(n.to_string())),
        Value::Array(items) if items.is_empty() => None,
        Value::Array(items) => Some(Value::Array(
            items
                .iter()
                .map(|i| canon(i).unwrap_or(Value::Null))
                .collect(),
        )),
        Value::Object(map) => {
            let kept: Map<String, Value> = map
                .iter()
                .filter_map(|(k, v)| canon(v).map(|c| (k.clone(), c)))
                .collect();
            (!kept.is_empty()).then_some(Value::Object(kept))
        }
    }
}

/// A scalar as text; anything else as compact JSON.
fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn short(v: &Value) -> String {
    short_text(&text(v))
}

fn short_text(s: &str) -> String {
    const MAX: usize = 60;
    let one: String = s.trim().replace('\n', "\\n");
    if one.chars().count() > MAX {
        format!("{:?}…", one.chars().take(MAX).collect::<String>())
    } else {
        format!("{one:?}")
    }
}

/// The container port a Service port sends to: its targetPort (or port)
/// when a number; the number of the named port of a pod the selector picks
/// when a name; else the name.
fn resolve_target(objects: &Objects, selector: &Value, port: &Value) -> String {
    let target = text(&or_value(&port["targetPort"], &port["port"]));
    if target.parse::<u16>().is_ok() {
        return target;
    }
    let Some(selector) = selector.as_object().filter(|s| !s.is_empty()) else {
        return target;
    };
    let picks = |pod_labels: &Value| selector.iter().all(|(k, v)| pod_labels[k] == *v);
    objects
        .values()
        .filter(|o| picks(&template(o)["metadata"]["labels"]))
        .flat_map(|o| containers(&template(o)["spec"]).into_values())
        .flat_map(|c| c["ports"].as_array().cloned().unwrap_or_default())
        .find(|p| text(&p["name"]) == target)
        .map(|p| text(&p["containerPort"]))
        .unwrap_or(target)
}

fn or_value(v: &Value, fallback: &Value) -> Value {
    if v.is_null() { fallback } else { v }.clone()
}

/// The entries of a labels or annotations map that the values set.
fn user_entries(map: &Value) -> impl Iterator<Item = (&String, &Value)> {
    map.as_object()
        .into_iter()
        .flatten()
        .filter(|(k, _)| !HELM_LABELS.contains(&k.as_str()))
}

fn is_script(key: &str, value: &str) -> bool {
    key.ends_with(".sh") || key.ends_with(".py") || value.trim_start().starts_with("#!")
}

/// Files compared as data when they are YAML or JSON, else as their
/// non-blank lines without trailing space.
fn same_file(key: &str, ours: &str, theirs: &str) -> bool {
    let data = [".yaml", ".yml", ".json"].iter().any(|e| key.ends_with(e));
    if data && let (Some(a), Some(b)) = (parse_data(ours), parse_data(theirs)) {
        return canon(&a) == canon(&b);
    }
    lines(ours) == lines(theirs)
}

fn parse_data(text: &str) -> Option<Value> {
    serde_saphyr::from_str::<Value>(text).ok()
}

fn lines(text: &str) -> Vec<&str> {
    text.lines()
        .map(str::trim_end)
        .filter(|l| !l.is_empty())
        .collect()
}

/// The pod template of a workload (a CronJob's is inside its job template).
fn template(o: &Value) -> &Value {
    if o["kind"] == "CronJob" {
        &o["spec"]["jobTemplate"]["spec"]["template"]
    } else {
        &o["spec"]["template"]
    }
}

/// Init containers and containers, by name.
fn containers(pod: &Value) -> BTreeMap<String, &Value> {
    ["initContainers", "containers"]
        .iter()
        .filter_map(|f| pod[*f].as_array())
        .flatten()
        .map(|c| (text(&c["name"]), c))
        .collect()
}

/// Each env var and where its value comes from.
fn env(c: &Value) -> BTreeMap<String, String> {
    c["env"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| (text(&e["name"]), env_source(e)))
        .collect()
}

fn env_source(e: &Value) -> String {
    let from = &e["valueFrom"];
    let r = |key: &str| &from[key];
    if !r("secretKeyRef").is_null() {
        let s = r("secretKeyRef");
        format!("secret {}/{}", text(&s["name"]), text(&s["key"]))
    } else if !r("configMapKeyRef").is_null() {
        let s = r("configMapKeyRef");
        format!("configmap {}/{}", text(&s["name"]), text(&s["key"]))
    } else if !r("fieldRef").is_null() {
        format!("field {}", text(&r("fieldRef")["fieldPath"]))
    } else if !r("resourceFieldRef").is_null() {
        format!("resource {}", text(&r("resourceFieldRef")["resource"]))
    } else {
        format!("{:?}", text(&e["value"]))
    }
}

fn env_from(c: &Value) -> BTreeSet<String> {
    c["envFrom"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|e| {
            [("configMapRef", "configmap"), ("secretRef", "secret")]
                .into_iter()
                .filter(|(f, _)| !e[*f].is_null())
                .map(|(f, k)| format!("{k} {}", text(&e[f]["name"])))
        })
        .collect()
}

fn ports(c: &Value) -> BTreeSet<String> {
    c["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| text(&p["containerPort"]))
        .collect()
}

/// Requests and limits, as numbers: `500m` and `0.5` are equal.
fn resources(c: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for kind in ["requests", "limits"] {
        for (name, amount) in c["resources"][kind].as_object().into_iter().flatten() {
            out.insert(format!("{kind}.{name}"), quantity(&text(amount)));
        }
    }
    out
}

/// A Kubernetes quantity in base units, or the text when it is not one.
pub fn quantity(q: &str) -> String {
    let q = q.trim();
    let split = q
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(q.len());
    let (number, unit) = q.split_at(split);
    let factor = match unit {
        "" => 1.0,
        "m" => 1e-3,
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        _ => return q.to_string(),
    };
    match number.parse::<f64>() {
        Ok(n) => format!("{}", (n * factor * 1e6).round() / 1e6),
        Err(_) => q.to_string(),
    }
}

/// Each mount path and the kind and name of the volume behind it.
fn mounts(pod: &Value, c: &Value) -> BTreeMap<String, String> {
    let volumes: BTreeMap<String, String> = pod["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|v| (text(&v["name"]), volume_source(v)))
        .collect();
    c["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            let source = volumes
                .get(&text(&m["name"]))
                .cloned()
                .unwrap_or("a missing volume".into());
            (text(&m["mountPath"]), source)
        })
        .collect()
}

fn volume_source(v: &Value) -> String {
    const KINDS: &[&str] = &[
        "configMap",
        "secret",
        "persistentVolumeClaim",
        "emptyDir",
        "projected",
        "csi",
        "hostPath",
        "ephemeral",
        "downwardAPI",
    ];
    let Some(kind) = KINDS.iter().find(|k| !v[**k].is_null()) else {
        return "other".into();
    };
    let s = &v[*kind];
    let reference = if *kind == "projected" {
        let sources: BTreeSet<&String> = s["sources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .flat_map(Map::keys)
            .collect();
        sources.into_iter().cloned().collect::<Vec<_>>().join(",")
    } else {
        ["name", "secretName", "claimName", "driver"]
            .iter()
            .map(|f| text(&s[*f]))
            .find(|r| !r.is_empty())
            .unwrap_or_default()
    };
    format!("{kind} {reference}").trim_end().to_string()
}

/// What a probe checks: its handler and target, not its timings.
fn probe(p: &Value) -> Option<String> {
    canon(p)?;
    Some(if !p["httpGet"].is_null() {
        let h = &p["httpGet"];
        format!("http {} {}", text(&h["path"]), text(&h["port"]))
    } else if !p["tcpSocket"].is_null() {
        format!("tcp {}", text(&p["tcpSocket"]["port"]))
    } else if !p["exec"].is_null() {
        let command: Vec<String> = p["exec"]["command"]
            .as_array()
            .into_iter()
            .flatten()
            .map(text)
            .collect();
        format!("exec {}", command.join(" "))
    } else if !p["grpc"].is_null() {
        format!("grpc {}", text(&p["grpc"]["port"]))
    } else {
        "other".into()
    })
}

/// RBAC rules as sorted, comparable text.
fn rules(o: &Value) -> Vec<String> {
    let sorted = |v: &Value| -> Vec<String> {
        let mut items: Vec<String> = v.as_array().into_iter().flatten().map(text).collect();
        items.sort();
        items
    };
    let mut out: Vec<String> = o["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            format!(
                "groups {:?} resources {:?} verbs {:?} names {:?}",
                sorted(&r["apiGroups"]),
                sorted(&r["resources"]),
                sorted(&r["verbs"]),
                sorted(&r["resourceNames"])
            )
        })
        .collect();
    out.sort();
    out
}

/// Ingress routes: (host, path) -> `service:port`.
fn routes(spec: &Value) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for rule in spec["rules"].as_array().into_iter().flatten() {
        for path in rule["http"]["paths"].as_array().into_iter().flatten() {
            let service = &path["backend"]["service"];
            let port = or_value(&service["port"]["number"], &service["port"]["name"]);
            out.insert(
                (text(&rule["host"]), text(&path["path"])),
                format!("{}:{}", text(&service["name"]), text(&port)),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::docs::parse_objects;

    const UPSTREAM: &str = r#"
apiVersion: v1
kind: ConfigMap
metadata: {name: wandb-app-config, labels: {team: ml, helm.sh/chart: x}}
data:
  GORILLA_LIMIT: "10"
  config.yaml: |
    a: 1
    b: [x, y]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: wandb-app}
spec:
  replicas: 2
  template:
    metadata: {labels: {app: wandb}}
    spec:
      serviceAccountName: wandb-app
      nodeSelector: {pool: gpu}
      volumes:
        - {name: cfg, configMap: {name: wandb-app-config}}
      containers:
        - name: app
          image: wandb/local:0.1
          env:
            - {name: HOST, value: "https://x"}
            - name: PASSWORD
              valueFrom: {secretKeyRef: {name: wandb-mysql, key: MYSQL_PASSWORD}}
          ports: [{containerPort: 8080}]
          resources: {requests: {cpu: 500m, memory: 1Gi}}
          volumeMounts: [{name: cfg, mountPath: /etc/cfg}]
          readinessProbe: {httpGet: {path: /ready, port: http}, periodSeconds: 5}
"#;

    fn upstream() -> Objects {
        parse_objects("upstream", UPSTREAM).unwrap()
    }

    fn failed(ours: &Objects) -> Vec<String> {
        compare(&upstream(), ours)
            .into_iter()
            .filter(|c| !c.ok)
            .map(|c| c.label())
            .collect()
    }

    #[test]
    fn a_render_equal_but_for_form_passes_every_check() {
        // Same data, other forms: quoted numbers, 0.5 for 500m, a reordered
        // file, other probe timings, extra env, Helm's labels missing.
        let ours = UPSTREAM
            .replace("replicas: 2", "replicas: \"2\"")
            .replace("cpu: 500m", "cpu: \"0.5\"")
            .replace("a: 1\n    b: [x, y]", "b: [x, y]\n    a: 1")
            .replace("periodSeconds: 5", "periodSeconds: 10")
            .replace(", helm.sh/chart: x", "")
            .replace(
                "- {name: HOST",
                "- {name: EXTRA, value: y}\n            - {name: HOST",
            );
        let ours = parse_objects("ours", &ours).unwrap();
        assert_eq!(failed(&ours), Vec::<String>::new());
        assert!(compare(&upstream(), &ours).len() > 15);
    }

    #[test]
    fn a_changed_config_map_value_fails_naming_the_config_map_and_key() {
        let ours = parse_objects("ours", &UPSTREAM.replace("\"10\"", "\"11\"")).unwrap();
        assert_eq!(
            failed(&ours),
            ["[configmap-values] ConfigMap/wandb-app-config GORILLA_LIMIT = \"10\""]
        );
    }

    #[test]
    fn each_part_of_a_pod_is_compared() {
        let cases = [
            ("wandb/local:0.1", "wandb/local:0.2", "[images]"),
            ("value: \"https://x\"", "value: \"https://y\"", "[env]"),
            ("key: MYSQL_PASSWORD", "key: PASSWORD", "[env]"),
            ("containerPort: 8080", "containerPort: 8081", "[ports]"),
            ("memory: 1Gi", "memory: 2Gi", "[resources]"),
            (
                "mountPath: /etc/cfg",
                "mountPath: /etc/other",
                "[volume-mounts]",
            ),
            ("path: /ready", "path: /healthz", "[probes]"),
            ("pool: gpu", "pool: cpu", "[scheduling]"),
            (
                "serviceAccountName: wandb-app",
                "serviceAccountName: x",
                "[service-accounts]",
            ),
            ("replicas: 2", "replicas: 3", "[replicas]"),
            ("labels: {app: wandb}", "labels: {app: other}", "[labels]"),
            ("team: ml", "team: ai", "[labels]"),
            ("b: [x, y]", "b: [x]", "[configmap-files]"),
            ("- name: app\n", "- name: main\n", "[containers]"),
        ];
        for (from, to, category) in cases {
            let changed = UPSTREAM.replace(from, to);
            assert_ne!(changed, UPSTREAM, "{from} is in the fixture");
            let ours = parse_objects("ours", &changed).unwrap();
            let failed = failed(&ours);
            assert!(
                !failed.is_empty() && failed.iter().all(|f| f.starts_with(category)),
                "{from} -> {to}: {failed:?}"
            );
        }
    }

    #[test]
    fn a_missing_object_is_one_failed_check() {
        let mut ours = upstream();
        ours.remove(&("Deployment".into(), "wandb-app".into()));
        assert_eq!(failed(&ours), ["[objects] Deployment/wandb-app present"]);
    }

    #[test]
    fn quantities_are_compared_as_numbers() {
        assert_eq!(quantity("500m"), quantity("0.5"));
        assert_eq!(quantity("1Gi"), quantity("1073741824"));
        assert_ne!(quantity("1G"), quantity("1Gi"));
        assert_eq!(quantity("lots"), "lots");
    }
}
