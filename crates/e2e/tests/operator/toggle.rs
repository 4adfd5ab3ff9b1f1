//! 2. A component turned off and on again.

use super::*;

/// The (kind, name) of every object of a render, as `Kind/name`, test pods left out.
fn render_keys(ns: &str, extra: &[&str]) -> BTreeSet<String> {
    let bin = operator_binary();
    let host = format!("global.host={HOST}");
    let license = format!("global.license={LICENSE}");
    let mut args = vec![
        "--set",
        &host,
        "--set",
        &license,
        "--skip-tests",
        "--namespace",
        ns,
    ];
    args.extend_from_slice(extra);
    render(&bin, &args)
        .documents()
        .into_iter()
        .map(|d| d.id())
        .collect()
}

/// `weave.install=false` removes weave's objects, `true` brings them back,
/// and the generated Secrets keep their data byte for byte.
#[test]
fn a_component_turned_off_and_on_again() {
    let _serial = serial();
    let t0 = Instant::now();
    let cluster = cluster("toggle");
    let _op = operator(&cluster, "toggle", "e2e-operator");
    install(&cluster);

    // What the renderer says turning weave off removes.
    let on = render_keys(cluster.ns(), &[]);
    let off = render_keys(cluster.ns(), &["--set", "weave.install=false"]);
    let removed: BTreeSet<String> = on.difference(&off).cloned().collect();
    assert!(
        off.difference(&on).next().is_none(),
        "turning weave off adds objects? {:?}",
        off.difference(&on).collect::<Vec<_>>()
    );
    for k in ["Deployment/wandb-weave-bc", "Service/wandb-weave"] {
        assert!(
            removed.contains(k),
            "{k} is not among the objects weave.install=false removes: {removed:?}"
        );
    }
    eprintln!(
        "[e2e] weave.install=false removes {} objects: {}",
        removed.len(),
        removed.iter().cloned().collect::<Vec<_>>().join(", ")
    );

    let secrets_before = generated_secrets(&cluster);
    assert!(
        secrets_before.len() >= 4,
        "generated secrets: {:?}",
        secrets_before.keys()
    );
    for k in &removed {
        assert!(
            !k.starts_with("PersistentVolumeClaim/"),
            "weave holds a volume: {k}"
        );
        let name = k.strip_prefix("Secret/").unwrap_or("");
        assert!(
            !secrets_before.contains_key(name),
            "weave holds a generated secret: {k}"
        );
    }
    let before = managed(&cluster);
    for k in &removed {
        assert!(
            before.contains_key(k),
            "{k} is not in the cluster before weave is turned off"
        );
    }

    // Off.
    set_weave(&cluster, false);
    let (_, took_off) = wait_for(
        "weave's objects removed",
        CHANGE_TIMEOUT,
        Duration::from_millis(250),
        || {
            let res = resource(&cluster);
            let live = managed(&cluster);
            let left: Vec<&String> = removed.iter().filter(|k| live.contains_key(*k)).collect();
            let missing: Vec<&String> = off.iter().filter(|k| !live.contains_key(*k)).collect();
            if observed(&res)
                && condition_status(&res, "Ready") == "True"
                && left.is_empty()
                && missing.is_empty()
            {
                Ok(())
            } else {
                Err(format!(
                    "still there: {left:?}; missing: {missing:?}; {}",
                    summary(&res)
                ))
            }
        },
    );
    let res = resource(&cluster);
    assert_eq!(
        condition_status(&res, "WeaveReady"),
        "(absent)",
        "{}",
        summary(&res)
    );
    let inventory = res["status"]["inventory"].to_string();
    for k in &removed {
        assert!(
            !inventory.contains(&format!("\"{k}\"")),
            "{k} is still in the inventory"
        );
    }
    report(format!(
        "toggle: weave.install=false -> {} objects removed, Ready again in {}",
        removed.len(),
        secs(took_off)
    ));

    // On again.
    set_weave(&cluster, true);
    let (_, took_on) = wait_for(
        "weave's objects restored",
        CHANGE_TIMEOUT,
        Duration::from_millis(250),
        || {
            let res = resource(&cluster);
            let live = managed(&cluster);
            let missing: Vec<&String> = on.iter().filter(|k| !live.contains_key(*k)).collect();
            if observed(&res)
                && condition_status(&res, "Ready") == "True"
                && condition_status(&res, "WeaveReady") == "True"
                && missing.is_empty()
            {
                Ok(())
            } else {
                Err(format!("missing: {missing:?}; {}", summary(&res)))
            }
        },
    );
    let after = managed(&cluster);
    for k in &removed {
        assert_ne!(before[k].uid, after[k].uid, "{k} was not recreated");
    }
    report(format!(
        "toggle: weave.install=true -> {} objects restored, Ready in {}",
        removed.len(),
        secs(took_on)
    ));

    // The generated secrets did not change: same objects, same bytes.
    let secrets_after = generated_secrets(&cluster);
    assert_eq!(
        secrets_before.keys().collect::<Vec<_>>(),
        secrets_after.keys().collect::<Vec<_>>()
    );
    for (name, b) in &secrets_before {
        let a = &secrets_after[name];
        assert_eq!(b.uid, a.uid, "Secret/{name} was recreated");
        assert_eq!(
            sha256_of_data(&b.data),
            sha256_of_data(&a.data),
            "Secret/{name} changed"
        );
        assert_eq!(b.data, a.data, "Secret/{name} changed");
    }
    eprintln!(
        "[e2e] generated secrets unchanged: {}",
        hashes(&secrets_after)
    );
    report(format!(
        "test a_component_turned_off_and_on_again: {}",
        secs(t0.elapsed())
    ));
}
