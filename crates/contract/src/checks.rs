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

mod config;
mod container;
mod ingress;
mod metadata;
mod rbac;
mod scaling;
mod service;
mod workload;

pub use container::quantity;

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

fn or_value(v: &Value, fallback: &Value) -> Value {
    if v.is_null() { fallback } else { v }.clone()
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
