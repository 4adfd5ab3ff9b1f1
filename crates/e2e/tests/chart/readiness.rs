//! Whether the release is Ready; its workloads, and what their pods refer to
//! that is missing.

use super::*;

/// Waits until WeightsAndBiases `name` is Ready for its current generation.
pub fn wait_ready(cluster: &Cluster, ns: &str) -> (i64, Duration) {
    wait_for(
        &format!("WeightsAndBiases {ns}/{RELEASE} Ready"),
        READY_TIMEOUT,
        POLL,
        || {
            let w = cluster
                .get_if_exists(&["-n", ns, "weightsandbiases", RELEASE])
                .ok_or("the resource does not exist")?;
            let generation = int(&w, "/metadata/generation");
            let ready = condition(&w, "Ready").unwrap_or(Value::Null);
            let fresh = int(&w, "/status/observedGeneration") == generation
                && int(&ready, "/observedGeneration") == generation;
            if fresh && ready["status"] == "True" {
                Ok(generation)
            } else {
                Err(format!(
                    "generation {generation}, observed {}, Ready={} ({})",
                    int(&w, "/status/observedGeneration"),
                    text(&ready, "/status"),
                    text(&ready, "/message")
                ))
            }
        },
    )
}

/// Whether the resource has a Ready=True condition (any generation).
pub fn is_ready(cluster: &Cluster, ns: &str) -> bool {
    cluster
        .get_if_exists(&["-n", ns, "weightsandbiases", RELEASE])
        .is_some_and(|w| condition_status(&w, "Ready") == "True")
}

/// Every workload and claim of the namespace, checked as `kubectl rollout
/// status` would: "Deployment 7/7, StatefulSet 6/6, ..." and the ones that
/// are not ready.
pub fn workloads(cluster: &Cluster, ns: &str) -> (String, Vec<String>) {
    let list = cluster
        .get_if_exists(&[
            "-n",
            ns,
            "deployments,statefulsets,daemonsets,jobs,persistentvolumeclaims",
        ])
        .unwrap();
    let mut counts: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut not_ready = Vec::new();
    for item in items(&list) {
        let kind = text(&item, "/kind").to_string();
        let name = text(&item, "/metadata/name");
        let observed =
            int(&item, "/status/observedGeneration") >= int(&item, "/metadata/generation");
        let ok = match kind.as_str() {
            "Deployment" => {
                let want = item
                    .pointer("/spec/replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(1);
                observed
                    && int(&item, "/status/updatedReplicas") == want
                    && int(&item, "/status/availableReplicas") == want
                    && int(&item, "/status/replicas") == want
            }
            "StatefulSet" => {
                let want = item
                    .pointer("/spec/replicas")
                    .and_then(Value::as_i64)
                    .unwrap_or(1);
                observed
                    && int(&item, "/status/readyReplicas") == want
                    && int(&item, "/status/updatedReplicas") == want
            }
            "DaemonSet" => {
                observed
                    && int(&item, "/status/numberReady")
                        == int(&item, "/status/desiredNumberScheduled")
                    && int(&item, "/status/desiredNumberScheduled") > 0
            }
            "Job" => condition_status(&item, "Complete") == "True",
            "PersistentVolumeClaim" => text(&item, "/status/phase") == "Bound",
            _ => true,
        };
        let e = counts.entry(kind.clone()).or_default();
        e.1 += 1;
        if ok {
            e.0 += 1;
        } else {
            not_ready.push(format!("{kind}/{name}"));
        }
    }
    let summary = counts
        .iter()
        .map(|(k, (ok, all))| format!("{k} {ok}/{all}"))
        .collect::<Vec<_>>()
        .join(", ");
    (summary, not_ready)
}

/// [`workloads`] once all are ready. The resource can be Ready a moment
/// before an autoscaler raises a Deployment to its minimum replicas (the
/// render leaves replicas to it), so this waits a little for that.
pub fn settled_workloads(cluster: &Cluster, ns: &str) -> String {
    let (summary, took) = wait_for(
        &format!("every workload of {ns} ready"),
        Duration::from_secs(60),
        POLL,
        || match workloads(cluster, ns) {
            (summary, not_ready) if not_ready.is_empty() => Ok(summary),
            (_, not_ready) => Err(format!("not ready: {not_ready:?}")),
        },
    );
    if took > Duration::from_secs(1) {
        format!("{summary} (settled {} after Ready)", secs(took))
    } else {
        summary
    }
}

/// Asserts that every Secret, ConfigMap, key and claim the pods of `ns`
/// need exists; returns how many they need.
pub fn assert_references_present(cluster: &Cluster, ns: &str) -> usize {
    let (refs, missing) = missing_references(cluster, ns);
    assert!(
        missing.is_empty(),
        "pods need what is not there:\n{}",
        missing.join("\n")
    );
    refs
}

/// What a kubelet would refuse to start a pod for and kwok does not check:
/// a Secret, ConfigMap or claim a pod of the namespace needs that does not
/// exist, or a key it needs that the Secret or ConfigMap lacks.
fn missing_references(cluster: &Cluster, ns: &str) -> (usize, Vec<String>) {
    let pods = items(&cluster.get_if_exists(&["-n", ns, "pods"]).unwrap());
    let secrets: BTreeMap<String, Value> =
        items(&cluster.get_if_exists(&["-n", ns, "secrets"]).unwrap())
            .into_iter()
            .map(|s| (text(&s, "/metadata/name").to_string(), s))
            .collect();
    let config_maps: BTreeMap<String, Value> =
        items(&cluster.get_if_exists(&["-n", ns, "configmaps"]).unwrap())
            .into_iter()
            .map(|s| (text(&s, "/metadata/name").to_string(), s))
            .collect();
    let claims: BTreeSet<String> = items(
        &cluster
            .get_if_exists(&["-n", ns, "persistentvolumeclaims"])
            .unwrap(),
    )
    .iter()
    .map(|s| text(s, "/metadata/name").to_string())
    .collect();
    let mut checked = 0;
    let mut missing = BTreeSet::new();
    let has_key = |obj: &Value, key: &str| {
        obj.pointer(&format!("/data/{key}")).is_some()
            || obj.pointer(&format!("/binaryData/{key}")).is_some()
    };
    for pod in &pods {
        if text(pod, "/status/phase") == "Succeeded" {
            continue;
        }
        let pod_name = text(pod, "/metadata/name");
        let mut need = |what: &str, name: &str, key: Option<&str>, optional: bool| {
            if optional || name.is_empty() {
                return;
            }
            checked += 1;
            if what == "PersistentVolumeClaim" {
                if !claims.contains(name) {
                    missing.insert(format!("{what} {name} (pod {pod_name})"));
                }
                return;
            }
            let store = if what == "Secret" {
                &secrets
            } else {
                &config_maps
            };
            match store.get(name) {
                None => {
                    missing.insert(format!("{what} {name} (pod {pod_name})"));
                }
                Some(obj) => {
                    if let Some(key) = key
                        && !has_key(obj, key)
                    {
                        missing.insert(format!("{what} {name} key {key} (pod {pod_name})"));
                    }
                }
            }
        };
        let spec = &pod["spec"];
        let containers = ["containers", "initContainers"]
            .iter()
            .flat_map(|k| spec[*k].as_array().cloned().unwrap_or_default());
        for c in containers {
            for e in c["env"].as_array().cloned().unwrap_or_default() {
                for (what, field) in [("Secret", "secretKeyRef"), ("ConfigMap", "configMapKeyRef")]
                {
                    let r = &e["valueFrom"][field];
                    if r.is_object() {
                        need(
                            what,
                            text(r, "/name"),
                            Some(text(r, "/key")),
                            r["optional"] == true,
                        );
                    }
                }
            }
            for e in c["envFrom"].as_array().cloned().unwrap_or_default() {
                for (what, field) in [("Secret", "secretRef"), ("ConfigMap", "configMapRef")] {
                    let r = &e[field];
                    if r.is_object() {
                        need(what, text(r, "/name"), None, r["optional"] == true);
                    }
                }
            }
        }
        for v in spec["volumes"].as_array().cloned().unwrap_or_default() {
            // The volume itself, then each source of a projected volume: a
            // volume names its Secret by `secretName`, a source by `name`.
            let projected = v["projected"]["sources"].as_array().cloned();
            let sources = std::iter::once((v.clone(), "secretName"))
                .chain(projected.into_iter().flatten().map(|s| (s, "name")));
            for (source, secret_name_at) in sources {
                for (what, field, name_at) in [
                    ("Secret", "secret", secret_name_at),
                    ("ConfigMap", "configMap", "name"),
                ] {
                    let r = &source[field];
                    if r.is_object() {
                        let name = r[name_at].as_str().unwrap_or("");
                        need(what, name, None, r["optional"] == true);
                    }
                }
            }
            need(
                "PersistentVolumeClaim",
                text(&v, "/persistentVolumeClaim/claimName"),
                None,
                false,
            );
        }
    }
    (checked, missing.into_iter().collect())
}
