//! 5. Deleting keeps the data; creating again reuses it.

use super::*;

/// Deleting the resource removes the workloads and keeps the volumes and
/// generated Secrets; creating it again takes them up again.
#[test]
fn deleting_keeps_the_data_and_creating_again_reuses_it() {
    let _serial = serial();
    let t0 = Instant::now();
    let cluster = cluster("recreate");
    let crd_applied = Instant::now();
    let _op = operator(&cluster, "recreate", "e2e-operator");
    install(&cluster);
    let first_uid = text(&resource(&cluster), "/metadata/uid").to_string();

    let pvcs = |cluster: &Tenant| -> BTreeMap<String, (String, String)> {
        let list = cluster.get_json(&["-n", cluster.ns(), "persistentvolumeclaims"]);
        list["items"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| {
                (
                    text(p, "/metadata/name").to_string(),
                    (
                        text(p, "/metadata/uid").to_string(),
                        text(p, "/spec/volumeName").to_string(),
                    ),
                )
            })
            .collect()
    };
    let pvcs_before = pvcs(&cluster);
    let secrets_before = generated_secrets(&cluster);
    assert!(pvcs_before.len() >= 5, "volumes: {:?}", pvcs_before.keys());
    assert!(
        secrets_before.len() >= 4,
        "generated secrets: {:?}",
        secrets_before.keys()
    );
    for (name, s) in &secrets_before {
        assert_eq!(
            s.owners,
            vec![first_uid.clone()],
            "Secret/{name} is not owned by the resource"
        );
    }
    let workloads_before = cluster.get_json(&["-n", cluster.ns(), WORKLOADS, "-l", INSTANCE_LABEL]);
    let workloads_before = workloads_before["items"].as_array().map_or(0, Vec::len);
    eprintln!(
        "[e2e] before deletion: {workloads_before} workloads, {} volumes, generated secrets {}",
        pvcs_before.len(),
        hashes(&secrets_before)
    );

    // The garbage collector watches a new resource type only from its next
    // discovery resync (every 30 s): until then it does not see the
    // resource go, and the dependents stay until a retry with backoff
    // finds it gone (minutes). The CRD of a real install is older than that.
    let gc_sync = Duration::from_secs(40);
    if let Some(wait) = gc_sync.checked_sub(crd_applied.elapsed()) {
        eprintln!(
            "[e2e] waiting {:.0} s: the CRD must be {} s old for the garbage collector to watch its resources",
            wait.as_secs_f64(),
            gc_sync.as_secs()
        );
        thread::sleep(wait);
    }

    // Delete: the finalizer releases the data, the garbage collector takes the rest.
    let start = Instant::now();
    let out = cluster.kubectl(
        &["-n", cluster.ns(), "delete", "wandb", NAME, "--timeout=60s"],
        None,
        Duration::from_secs(90),
    );
    assert!(
        out.success(),
        "deleting the resource: {}\n{}",
        out.describe_status(),
        out.stderr
    );
    let deleted_in = start.elapsed();
    let keep: BTreeSet<String> = pvcs_before
        .keys()
        .map(|n| format!("PersistentVolumeClaim/{n}"))
        .chain(secrets_before.keys().map(|n| format!("Secret/{n}")))
        .collect();
    let (_, gc_took) = wait_for(
        "the install's objects garbage collected",
        Duration::from_secs(90),
        Duration::from_millis(500),
        || {
            let workloads = cluster.get_json(&["-n", cluster.ns(), WORKLOADS]);
            let workloads: Vec<String> = workloads["items"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|w| format!("{}/{}", text(w, "/kind"), text(w, "/metadata/name")))
                .collect();
            let left: Vec<String> = managed(&cluster)
                .into_keys()
                .filter(|k| !keep.contains(k))
                .collect();
            if workloads.is_empty() && left.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "workloads left: {workloads:?}; other objects left: {left:?}"
                ))
            }
        },
    );
    report(format!(
        "recreate: resource deleted in {} (finalizer), workloads and other objects garbage collected {} later",
        secs(deleted_in),
        secs(gc_took)
    ));
    // Cluster-scoped objects cannot have the resource as owner: the
    // garbage collector would complain about each, and keep it.
    let invalid = cluster.kubectl_ok(
        &[
            "get",
            "events",
            "-A",
            "--field-selector=reason=OwnerRefInvalidNamespace",
            "-o",
            "name",
        ],
        None,
    );
    assert!(
        invalid.trim().is_empty(),
        "the garbage collector found invalid owner references:\n{invalid}"
    );
    let pvcs_deleted = pvcs(&cluster);
    assert_eq!(
        pvcs_deleted, pvcs_before,
        "the volumes changed with the deletion"
    );
    let secrets_deleted = generated_secrets(&cluster);
    assert_eq!(
        secrets_deleted.keys().collect::<Vec<_>>(),
        secrets_before.keys().collect::<Vec<_>>(),
        "generated secrets kept"
    );
    for (name, b) in &secrets_before {
        let a = &secrets_deleted[name];
        assert_eq!(a.uid, b.uid, "Secret/{name} was recreated");
        assert_eq!(a.data, b.data, "Secret/{name} changed");
        assert!(
            a.owners.is_empty(),
            "Secret/{name} is still owned: {:?}",
            a.owners
        );
    }
    // The kept secrets are the only kept Secrets.
    let license = uid_of(&cluster, "secret", "wandb-license");
    assert!(
        license.is_none(),
        "Secret/wandb-license (not data) was kept"
    );

    // Create again.
    let took = install(&cluster);
    let second_uid = text(&resource(&cluster), "/metadata/uid").to_string();
    assert_ne!(first_uid, second_uid);
    let pvcs_after = pvcs(&cluster);
    assert_eq!(
        pvcs_after, pvcs_before,
        "the volumes are not the same (uid, volume) as before"
    );
    let secrets_after = generated_secrets(&cluster);
    assert_eq!(
        secrets_after.keys().collect::<Vec<_>>(),
        secrets_before.keys().collect::<Vec<_>>()
    );
    for (name, b) in &secrets_before {
        let a = &secrets_after[name];
        assert_eq!(a.uid, b.uid, "Secret/{name} was recreated");
        assert_eq!(
            sha256_of_data(&a.data),
            sha256_of_data(&b.data),
            "Secret/{name} has other data"
        );
        assert_eq!(
            a.owners,
            vec![second_uid.clone()],
            "Secret/{name} is not owned by the new resource"
        );
    }
    eprintln!(
        "[e2e] after creating again: same volumes, generated secrets {}",
        hashes(&secrets_after)
    );
    report(format!(
        "recreate: created again, Ready in {} with the same {} volumes and {} generated secrets",
        secs(took),
        pvcs_after.len(),
        secrets_after.len()
    ));
    report(format!(
        "test deleting_keeps_the_data_and_creating_again_reuses_it: {}",
        secs(t0.elapsed())
    ));
}
