//! Backups run as Jobs; a restore stops the services.

use super::*;

/// `wandb-operator backup ...` against the cluster.
fn backup_cli(cluster: &Tenant, args: &[&str]) -> wandb_e2e::Output {
    let mut cmd = std::process::Command::new(operator_binary());
    cmd.args(["backup", "--namespace", cluster.ns(), "--timeout", "3m"])
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
    let cron = cluster.get_json(&["-n", cluster.ns(), "cronjob", "wandb-mysql-backup"]);
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
    let restores = cluster.get_json(&["-n", cluster.ns(), "jobs"]);
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
