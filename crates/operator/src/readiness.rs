//! Whether a workload is ready, from its live status. Pure.

use std::collections::BTreeMap;

use serde_json::Value;

/// A workload's state, for status and progress output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    pub ready: bool,
    pub desired: i64,
    pub ready_replicas: i64,
    /// Why it is not ready, or what it is doing.
    pub message: String,
    /// It ended in failure (a Job that failed): waiting will not help.
    pub failed: bool,
}

fn int(v: &Value, path: &str) -> i64 {
    v.pointer(path).and_then(Value::as_i64).unwrap_or(0)
}

/// A workload's `spec.replicas`, 1 when unset as the API server defaults it.
fn spec_replicas(v: &Value) -> i64 {
    v.pointer("/spec/replicas")
        .and_then(Value::as_i64)
        .unwrap_or(1)
}

/// The fewest replicas an autoscaler keeps each workload at, by `Kind/name`
/// of its target, from the objects the values ask for: a HorizontalPodAutoscaler's
/// `minReplicas` (1 if unset) or a KEDA ScaledObject's `minReplicaCount` (0).
pub fn autoscaler_floors<'a>(
    objects: impl IntoIterator<Item = (&'a str, &'a Value)>,
) -> BTreeMap<String, i64> {
    let mut floors = BTreeMap::new();
    for (kind, body) in objects {
        let (field, default) = match kind {
            "HorizontalPodAutoscaler" => ("/spec/minReplicas", 1),
            "ScaledObject" => ("/spec/minReplicaCount", 0),
            _ => continue,
        };
        let target = |f: &str| {
            body.pointer(&format!("/spec/scaleTargetRef/{f}"))
                .and_then(Value::as_str)
        };
        let Some(name) = target("name") else {
            continue;
        };
        // KEDA's scaleTargetRef.kind defaults to Deployment.
        let target_kind = target("kind").unwrap_or("Deployment");
        let min = body
            .pointer(field)
            .and_then(Value::as_i64)
            .unwrap_or(default);
        floors.insert(format!("{target_kind}/{name}"), min);
    }
    floors
}

/// The replicas to raise a just-applied workload to, when an autoscaler's
/// minimum is above what it runs and the applied object leaves its replicas
/// to the autoscaler. A new Deployment starts at 1 and the
/// HorizontalPodAutoscaler controller first looks at it after its sync
/// period (15 s by default): starting at the minimum saves that wait.
pub fn raise_to_floor(applied_body: &Value, live: &Value, floor: Option<i64>) -> Option<i64> {
    let floor = floor?;
    if applied_body.pointer("/spec/replicas").is_some() {
        return None;
    }
    (spec_replicas(live) < floor).then_some(floor)
}

/// Readiness of a live object of `kind`. `None` live means not there yet.
/// `floor` is the fewest replicas an autoscaler keeps it at: a Deployment
/// created with fewer is not ready until the autoscaler has raised it, so
/// that Ready does not turn False again moments after an install.
pub fn of(kind: &str, live: Option<&Value>, floor: Option<i64>) -> Readiness {
    let Some(live) = live else {
        return Readiness {
            ready: false,
            desired: 0,
            ready_replicas: 0,
            message: "not created yet".into(),
            failed: false,
        };
    };
    let generation = int(live, "/metadata/generation");
    let observed = int(live, "/status/observedGeneration");
    let stale = kind != "Job" && kind != "CronJob" && observed < generation;
    let r = |ready: bool, desired: i64, got: i64, message: String| Readiness {
        ready: ready && !stale,
        desired,
        ready_replicas: got,
        message: if stale && ready {
            "rolling out".into()
        } else {
            message
        },
        failed: false,
    };
    // Replicated workloads want their replicas, and at least the autoscaler's minimum.
    let wanted = || spec_replicas(live).max(floor.unwrap_or(0));
    match kind {
        "Deployment" => {
            let desired = wanted();
            let available = int(live, "/status/availableReplicas");
            let updated = int(live, "/status/updatedReplicas");
            let total = int(live, "/status/replicas");
            // Rolled out: every replica updated and available, none left over.
            let ready = available >= desired && updated >= desired && total <= desired.max(updated);
            r(
                ready,
                desired,
                available,
                format!("{available}/{desired} available"),
            )
        }
        "StatefulSet" => {
            let desired = wanted();
            let ready_replicas = int(live, "/status/readyReplicas");
            let current = live
                .pointer("/status/currentRevision")
                .and_then(Value::as_str);
            let update = live
                .pointer("/status/updateRevision")
                .and_then(Value::as_str);
            let rolled = current.is_none()
                || update.is_none()
                || current == update
                || int(live, "/status/updatedReplicas") >= desired;
            r(
                ready_replicas >= desired && rolled,
                desired,
                ready_replicas,
                format!("{ready_replicas}/{desired} ready"),
            )
        }
        "DaemonSet" => {
            let desired = int(live, "/status/desiredNumberScheduled");
            let ready_n = int(live, "/status/numberReady");
            r(
                ready_n >= desired,
                desired,
                ready_n,
                format!("{ready_n}/{desired} ready"),
            )
        }
        "Job" => {
            let conditions = live.pointer("/status/conditions").and_then(Value::as_array);
            let has = |t: &str| {
                conditions
                    .is_some_and(|cs| cs.iter().any(|c| c["type"] == t && c["status"] == "True"))
            };
            if has("Failed") {
                Readiness {
                    failed: true,
                    ..r(false, 1, 0, "failed".into())
                }
            } else if has("Complete") {
                r(true, 1, 1, "complete".into())
            } else {
                r(false, 1, 0, "running".into())
            }
        }
        _ => r(true, 0, 0, "present".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_deployment_is_ready_when_rolled_out() {
        let live = json!({"metadata": {"generation": 2}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}});
        assert!(of("Deployment", Some(&live), None).ready);
        let stale = json!({"metadata": {"generation": 3}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}});
        assert!(!of("Deployment", Some(&stale), None).ready);
        let rolling = json!({"metadata": {"generation": 2}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1, "availableReplicas": 2}});
        assert!(!of("Deployment", Some(&rolling), None).ready);
        assert!(!of("Deployment", None, None).ready);
    }

    #[test]
    fn statefulsets_daemonsets_and_jobs() {
        let sts = json!({"metadata": {"generation": 1}, "spec": {"replicas": 1},
            "status": {"observedGeneration": 1, "readyReplicas": 1, "currentRevision": "a", "updateRevision": "a"}});
        assert!(of("StatefulSet", Some(&sts), None).ready);
        let ds = json!({"status": {"desiredNumberScheduled": 3, "numberReady": 2}});
        assert_eq!(of("DaemonSet", Some(&ds), None).message, "2/3 ready");
        let job = json!({"status": {"conditions": [{"type": "Complete", "status": "True"}]}});
        assert!(of("Job", Some(&job), None).ready);
        let failed = json!({"status": {"conditions": [{"type": "Failed", "status": "True"}]}});
        assert_eq!(of("Job", Some(&failed), None).message, "failed");
    }

    #[test]
    fn an_autoscaled_deployment_is_ready_at_the_autoscalers_minimum() {
        let at = |replicas: i64| {
            json!({"metadata": {"generation": 1}, "spec": {"replicas": replicas},
                "status": {"observedGeneration": 1, "replicas": replicas,
                    "updatedReplicas": replicas, "availableReplicas": replicas}})
        };
        let created = of("Deployment", Some(&at(1)), Some(2));
        assert!(!created.ready);
        assert_eq!(created.message, "1/2 available");
        assert!(of("Deployment", Some(&at(2)), Some(2)).ready);
        // Scaled above the minimum: the replicas asked for count.
        assert!(of("Deployment", Some(&at(5)), Some(2)).ready);
        assert!(of("Deployment", Some(&at(1)), Some(0)).ready);
    }

    #[test]
    fn floors_come_from_autoscalers_by_their_target() {
        let hpa = json!({"spec": {"minReplicas": 3, "scaleTargetRef":
            {"apiVersion": "apps/v1", "kind": "Deployment", "name": "w-app"}}});
        let hpa_default =
            json!({"spec": {"scaleTargetRef": {"kind": "StatefulSet", "name": "w-db"}}});
        let keda = json!({"spec": {"minReplicaCount": 2, "scaleTargetRef": {"name": "w-parquet"}}});
        let other = json!({"spec": {"replicas": 9, "scaleTargetRef": {"name": "w-x"}}});
        let floors = autoscaler_floors([
            ("HorizontalPodAutoscaler", &hpa),
            ("HorizontalPodAutoscaler", &hpa_default),
            ("ScaledObject", &keda),
            ("Deployment", &other),
        ]);
        assert_eq!(
            floors,
            BTreeMap::from([
                ("Deployment/w-app".to_string(), 3),
                ("Deployment/w-parquet".to_string(), 2),
                ("StatefulSet/w-db".to_string(), 1),
            ])
        );
    }

    #[test]
    fn a_workload_left_to_its_autoscaler_starts_at_the_minimum() {
        let body = json!({"spec": {"template": {}}});
        let live = |n: i64| json!({"spec": {"replicas": n}});
        assert_eq!(raise_to_floor(&body, &live(1), Some(2)), Some(2));
        assert_eq!(raise_to_floor(&body, &live(2), Some(2)), None);
        // Scaled up by the autoscaler: left alone.
        assert_eq!(raise_to_floor(&body, &live(4), Some(2)), None);
        assert_eq!(raise_to_floor(&body, &live(1), None), None);
        // The values set the replicas themselves: theirs count.
        let fixed = json!({"spec": {"replicas": 1}});
        assert_eq!(raise_to_floor(&fixed, &live(1), Some(2)), None);
    }
}
