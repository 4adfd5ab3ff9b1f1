//! Upgrades: a failed migration holds the upgrade.

use super::*;

/// The default values at app version `tag`, with the migration Job
/// `app-rename-pre-hook` failing on kwok when `fail` (a stage of
/// hack/kwok/stages-test.yaml) and not retried (backoffLimit 0).
fn upgrade_values(tag: &str, fail: bool) -> Value {
    let mut values = base_values();
    values["app"] = json!({"image": {"tag": tag}});
    let annotations = if fail {
        json!({"e2e.wandb.test/fail": "true"})
    } else {
        json!({})
    };
    values["appRenamePreHook"] = json!({
        "podAnnotations": annotations,
        "jobs": {"app-rename-pre-hook": {"backoffLimit": 0}},
    });
    values
}

/// An upgrade whose migration Job fails leaves the services as they ran
/// (same pod template, same ReplicaSet) and says why; fixed, it rolls
/// out; a downgrade below the migrated version is refused.
#[test]
fn a_failed_migration_holds_the_upgrade() {
    let _serial = serial();
    let cluster = cluster("upgrade");
    let _op = operator(&cluster, "upgrade", "e2e-operator");
    apply(&cluster, &upgrade_values("0.75.0", false));
    wait_reconciled_ready(&cluster, "Ready at 0.75.0", READY_TIMEOUT);
    let before = app_rollout(&cluster);
    assert_eq!(text(&resource(&cluster), "/status/version"), "0.75.0");

    apply(&cluster, &upgrade_values("0.76.0", true));
    let (message, took) = wait_for(
        "Ready=False with reason MigrationFailed",
        READY_TIMEOUT,
        Duration::from_millis(250),
        || {
            let res = resource(&cluster);
            match condition(&res, "Ready") {
                Some(c) if observed(&res) && c["reason"] == "MigrationFailed" => {
                    Ok(text(&c, "/message").to_string())
                }
                _ => Err(summary(&res)),
            }
        },
    );
    report(format!(
        "upgrade: MigrationFailed reported {} after the change",
        secs(took)
    ));
    assert!(
        message.contains("Job/wandb-app-rename-pre-hook"),
        "the Job is not named: {message}"
    );
    let res = resource(&cluster);
    assert_eq!(text(&res, "/status/version"), "0.75.0");
    assert_eq!(
        (
            text(&res, "/status/upgrade/from"),
            text(&res, "/status/upgrade/to"),
            text(&res, "/status/upgrade/stage")
        ),
        ("0.75.0", "0.76.0", "migrations")
    );
    let events = wandb_e2e::resource_events(&cluster, cluster.ns());
    assert!(
        events
            .iter()
            .any(|(t, reason, _, _)| t == "Warning" && reason == "MigrationFailed"),
        "no MigrationFailed event: {events:?}"
    );
    // Some time for a wrong rollout to show.
    thread::sleep(Duration::from_secs(5));
    assert_eq!(
        app_rollout(&cluster),
        before,
        "the app changed while its migration failed"
    );

    // Fixed: the Job runs again, then the services roll out.
    apply(&cluster, &upgrade_values("0.76.0", false));
    let took = wait_reconciled_ready(&cluster, "Ready at 0.76.0", READY_TIMEOUT);
    report(format!("upgrade: fixed, Ready at 0.76.0 in {}", secs(took)));
    let res = resource(&cluster);
    assert_eq!(text(&res, "/status/version"), "0.76.0");
    assert_eq!(text(&res, "/status/migratedVersion"), "0.76.0");
    assert!(
        res.pointer("/status/upgrade").is_none(),
        "{}",
        summary(&res)
    );
    let upgraded = app_rollout(&cluster);
    assert_ne!(upgraded.0, before.0, "the app did not roll out");
    // In order: the migration completed before the app's new ReplicaSet.
    let job = cluster.get_json(&["-n", cluster.ns(), "job", "wandb-app-rename-pre-hook"]);
    let completed = text(&job, "/status/completionTime").to_string();
    let sets = cluster.get_json(&["-n", cluster.ns(), "replicasets"]);
    let newest = sets["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|rs| {
            upgraded.1.contains(text(rs, "/metadata/name"))
                && !before.1.contains(text(rs, "/metadata/name"))
        })
        .map(|rs| text(rs, "/metadata/creationTimestamp").to_string())
        .max()
        .expect("a new ReplicaSet of the app");
    assert!(
        !completed.is_empty() && completed <= newest,
        "the app rolled out ({newest}) before its migration completed ({completed:?})"
    );

    // A downgrade is refused and changes nothing.
    apply(&cluster, &upgrade_values("0.75.0", false));
    wait_for(
        "Ready=False with reason DowngradeRefused",
        CHANGE_TIMEOUT,
        Duration::from_millis(250),
        || {
            let res = resource(&cluster);
            match condition(&res, "Ready") {
                Some(c) if observed(&res) && c["reason"] == "DowngradeRefused" => Ok(()),
                _ => Err(summary(&res)),
            }
        },
    );
    thread::sleep(Duration::from_secs(3));
    assert_eq!(
        app_rollout(&cluster).0,
        upgraded.0,
        "the app changed on a refused downgrade"
    );
}
