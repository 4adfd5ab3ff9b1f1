//! Whether a workload is ready, from its live status. Pure.

use serde_json::Value;

/// A workload's state, for status and progress output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Readiness {
    pub ready: bool,
    pub desired: i64,
    pub ready_replicas: i64,
    /// Why it is not ready, or what it is doing.
    pub message: String,
}

fn int(v: &Value, path: &str) -> i64 {
    v.pointer(path).and_then(Value::as_i64).unwrap_or(0)
}

/// Readiness of a live object of `kind`. `None` live means not there yet.
pub fn of(kind: &str, live: Option<&Value>) -> Readiness {
    let Some(live) = live else {
        return Readiness {
            ready: false,
            desired: 0,
            ready_replicas: 0,
            message: "not created yet".into(),
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
    };
    match kind {
        "Deployment" => {
            let desired = live
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
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
            let desired = live
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
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
                r(false, 1, 0, "failed".into())
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
        assert!(of("Deployment", Some(&live)).ready);
        let stale = json!({"metadata": {"generation": 3}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 2}});
        assert!(!of("Deployment", Some(&stale)).ready);
        let rolling = json!({"metadata": {"generation": 2}, "spec": {"replicas": 2},
            "status": {"observedGeneration": 2, "replicas": 3, "updatedReplicas": 1, "availableReplicas": 2}});
        assert!(!of("Deployment", Some(&rolling)).ready);
        assert!(!of("Deployment", None).ready);
    }

    #[test]
    fn statefulsets_daemonsets_and_jobs() {
        let sts = json!({"metadata": {"generation": 1}, "spec": {"replicas": 1},
            "status": {"observedGeneration": 1, "readyReplicas": 1, "currentRevision": "a", "updateRevision": "a"}});
        assert!(of("StatefulSet", Some(&sts)).ready);
        let ds = json!({"status": {"desiredNumberScheduled": 3, "numberReady": 2}});
        assert_eq!(of("DaemonSet", Some(&ds)).message, "2/3 ready");
        let job = json!({"status": {"conditions": [{"type": "Complete", "status": "True"}]}});
        assert!(of("Job", Some(&job)).ready);
        let failed = json!({"status": {"conditions": [{"type": "Failed", "status": "True"}]}});
        assert_eq!(of("Job", Some(&failed)).message, "failed");
    }
}
