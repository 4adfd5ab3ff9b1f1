//! 6. Invalid values are refused and change nothing.

use super::*;

/// Waits until the status describes the current spec with ValuesValid
/// False; returns its message.
fn wait_values_invalid(cluster: &Tenant, what: &str) -> (String, Duration) {
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

/// `wandb-operator status` (with `--wait` when `wait`): its exit code,
/// stdout and how long it took.
fn status_command(cluster: &Tenant, wait: bool) -> (Option<i32>, String, Duration) {
    let mut cmd = std::process::Command::new(operator_binary());
    cmd.args(["status", "--name", NAME, "-n", cluster.ns()])
        .env("KUBECONFIG", &cluster.kubeconfig);
    if wait {
        cmd.args(["--wait", "--timeout", "90s"]);
    }
    let out = wandb_e2e::run(cmd, None, Duration::from_secs(120));
    (out.status.and_then(|s| s.code()), out.stdout, out.elapsed)
}

/// What a script sees of a refused spec while the last valid one keeps
/// running: `kubectl get wandb` shows READY True and, in REFUSED, the key;
/// `status` and `status --wait` exit 1 at once.
fn assert_refusal_shown(cluster: &Tenant, what: &str, key: &str) {
    let table = cluster.kubectl_ok(&["-n", cluster.ns(), "get", "wandb", NAME], None);
    let mut lines = table.lines();
    let header: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(
        &header[..3],
        ["NAME", "READY", "REFUSED"],
        "{what}: {table}"
    );
    let row = lines.next().unwrap_or_default();
    // The column names the key as the user wrote it, without `spec.values.`.
    let column_key = key.strip_prefix("spec.values.").unwrap_or(key);
    assert!(
        row.split_whitespace().nth(1) == Some("True") && row.contains(column_key),
        "{what}: `kubectl get wandb` does not show READY True and {key} refused:\n{table}"
    );
    let (code, stdout, _) = status_command(cluster, false);
    assert_eq!(
        code,
        Some(1),
        "{what}: `status` exit code; stdout:\n{stdout}"
    );
    assert!(
        stdout.contains(key),
        "{what}: `status` does not name {key}:\n{stdout}"
    );
    let (code, _, took) = status_command(cluster, true);
    assert_eq!(code, Some(1), "{what}: `status --wait` exit code");
    assert!(
        took < Duration::from_secs(30),
        "{what}: `status --wait` waited {took:?} on a refused spec"
    );
    eprintln!("[e2e] {what}: kubectl get wandb:\n{table}");
}

/// The InvalidValues warnings about the WeightsAndBiases resource.
fn invalid_values_warnings(cluster: &Tenant) -> Vec<(String, String, String, i64)> {
    wandb_e2e::resource_events(cluster, cluster.ns())
        .into_iter()
        .filter(|(t, reason, _, _)| t == "Warning" && reason == "InvalidValues")
        .collect()
}

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
        let out = cluster.kubectl(
            args,
            Some(&manifest(&cluster, &values)),
            Duration::from_secs(30),
        );
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
        assert_refusal_shown(&cluster, what, keys[0]);
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
    let (code, stdout, _) = status_command(&cluster, false);
    assert_eq!(code, Some(0), "`status` of good values again:\n{stdout}");
    let table = cluster.kubectl_ok(&["-n", cluster.ns(), "get", "wandb", NAME], None);
    assert!(
        !table.contains("spec.values"),
        "REFUSED not cleared:\n{table}"
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
