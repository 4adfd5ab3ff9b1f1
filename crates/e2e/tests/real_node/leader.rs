//! Two replicas on the real node: the Lease moves when the leader's pod
//! goes, and a rollout restart stops each old pod with SIGTERM, exit 0.

use super::*;

#[test]
fn leadership_moves_and_rollouts_stop_each_pod_cleanly() {
    let _serial = serial();
    let Some(node) = real_node("leadership_moves_and_rollouts_stop_each_pod_cleanly") else {
        return;
    };
    let _took = Took::new("leadership_moves_and_rollouts_stop_each_pod_cleanly");
    let cluster = &node.cluster;
    Helm::V3.ok(
        &node.work.0,
        Some(&cluster.kubeconfig),
        &[
            "upgrade",
            RELEASE,
            "charts/operator-wandb",
            "-n",
            NS,
            "--reuse-values",
            "--set",
            "operator.replicaCount=2",
        ],
    );
    let pods = wait_two_ready(cluster);
    let (old_leader, _) = wait_for(
        "a leader",
        Duration::from_secs(60),
        Duration::from_millis(200),
        || {
            let holder = leader(cluster);
            pods.iter()
                .any(|p| name(p) == holder)
                .then_some(holder.clone())
                .ok_or(holder)
        },
    );

    // The leader's pod deleted as a user or a drained node would: SIGTERM,
    // the Lease given up, the standby leading.
    let lease = lease_duration(cluster);
    cluster.kubectl_ok(
        &["delete", "pod", &old_leader, "-n", NS, "--wait=false"],
        None,
    );
    let (new_leader, handover) = wait_for(
        "the other replica to lead",
        lease + Duration::from_secs(30),
        Duration::from_millis(100),
        || {
            let holder = leader(cluster);
            (!holder.is_empty() && holder != old_leader)
                .then_some(holder.clone())
                .ok_or(holder)
        },
    );
    assert!(
        handover <= lease,
        "leadership moved in {}, beyond the Lease's {}",
        secs(handover),
        secs(lease)
    );
    report(format!(
        "real node: leader pod deleted, {new_leader} leads after {} (Lease {})",
        secs(handover),
        secs(lease)
    ));
    converged(cluster, "the handover");

    // A rollout restart: each old pod gets SIGTERM and must exit 0 within
    // its grace period, saying so in its log.
    let old: Vec<String> = operator_pods(cluster)
        .iter()
        .map(|p| name(p).to_string())
        .collect();
    let grace = Duration::from_secs(
        cluster.get_json(&["deployment", DEPLOYMENT, "-n", NS])["spec"]["template"]["spec"]
            ["terminationGracePeriodSeconds"]
            .as_u64()
            .unwrap_or(30),
    );
    let watches: Vec<(String, Lines, Lines)> = old
        .iter()
        .map(|pod| {
            let status = stream(cluster, &["get", "pod", pod, "-n", NS, "-w", "-o",
                "jsonpath={.metadata.deletionTimestamp}|{.status.containerStatuses[0].state.terminated.exitCode}|{.status.containerStatuses[0].state.terminated.reason}{\"\\n\"}"]);
            let log = stream(cluster, &["logs", "-f", pod, "-n", NS]);
            (pod.clone(), status, log)
        })
        .collect();
    cluster.kubectl_ok(
        &["rollout", "restart", "deployment", DEPLOYMENT, "-n", NS],
        None,
    );
    for (pod, status, log) in watches {
        let ((deleted_at, exit_code, ended_at), _) = wait_for(
            &format!("{pod} to end after SIGTERM"),
            Duration::from_secs(240),
            Duration::from_millis(100),
            || {
                let lines = status.lines();
                let deleted = lines
                    .iter()
                    .find(|(_, l)| !l.starts_with('|'))
                    .map(|(t, _)| *t);
                let ended = lines.iter().find_map(|(t, l)| {
                    let code = l.split('|').nth(1).filter(|c| !c.is_empty())?;
                    Some((*t, code.to_string()))
                });
                match (deleted, ended) {
                    (Some(d), Some((e, code))) => Ok((d, code, e)),
                    _ => Err(format!(
                        "{:?}",
                        lines.iter().map(|(_, l)| l).collect::<Vec<_>>()
                    )),
                }
            },
        );
        let shutdown = ended_at.saturating_duration_since(deleted_at);
        assert_eq!(exit_code, "0", "{pod} exited {exit_code} on SIGTERM");
        assert!(
            shutdown < grace,
            "{pod} took {} to stop, beyond its grace period of {}",
            secs(shutdown),
            secs(grace)
        );
        let log_lines: Vec<String> = log.stop().into_iter().map(|(_, l)| l).collect();
        assert!(
            log_lines.iter().any(|l| l.contains("shutting down"))
                && log_lines.last().is_some_and(|l| l.contains("stopped")),
            "{pod} did not say it was shutting down and then stopped; its log ends:\n{}",
            log_lines
                .iter()
                .rev()
                .take(10)
                .rev()
                .cloned()
                .collect::<Vec<_>>()
                .join("\n")
        );
        report(format!(
            "real node: {pod} stopped on SIGTERM in {} (exit 0; grace {})",
            secs(shutdown),
            secs(grace)
        ));
    }
    converged(cluster, "the rollout");
}

/// Two operator pods Ready and the install Ready again, after `what`.
fn converged(cluster: &Cluster, what: &str) {
    wait_two_ready(cluster);
    wait_for(
        &format!("the install Ready after {what}"),
        Duration::from_secs(120),
        Duration::from_millis(500),
        || install_ready(cluster),
    );
}

fn wait_two_ready(cluster: &Cluster) -> Vec<Value> {
    wait_for(
        "two operator pods Ready",
        Duration::from_secs(180),
        Duration::from_millis(200),
        || ready_operator_pods(cluster, 2),
    )
    .0
}
