//! One container: image, command, env, ports, resources, mounts, probes.

use super::*;

impl Checks {
    /// One container, with the pod specs its volumes come from.
    pub(super) fn container(
        &mut self,
        at: &str,
        (ups, uc): (&Value, &Value),
        (mps, mc): (&Value, &Value),
    ) {
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

/// Each env var and where its value comes from.
pub(super) fn env(c: &Value) -> BTreeMap<String, String> {
    c["env"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| (text(&e["name"]), env_source(e)))
        .collect()
}

pub(super) fn env_source(e: &Value) -> String {
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

pub(super) fn env_from(c: &Value) -> BTreeSet<String> {
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

pub(super) fn ports(c: &Value) -> BTreeSet<String> {
    c["ports"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| text(&p["containerPort"]))
        .collect()
}

/// Requests and limits, as numbers: `500m` and `0.5` are equal.
pub(super) fn resources(c: &Value) -> BTreeMap<String, String> {
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
pub(super) fn mounts(pod: &Value, c: &Value) -> BTreeMap<String, String> {
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

pub(super) fn volume_source(v: &Value) -> String {
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
pub(super) fn probe(p: &Value) -> Option<String> {
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
