//! A fresh install: each object once, in stage order; stores not ready hold
//! the rest.

use super::*;

#[tokio::test]
async fn a_fresh_install_applies_each_object_once_in_stage_order() {
    let wandb = resource(values());
    let fake = fake_for(&wandb, true);
    let ctx = context(&fake);
    engine::reconcile(&wandb, &ctx).await.expect("reconciled");

    let requests = fake.take_requests();
    let applied = applied(&requests);
    let objects = desired(&wandb);
    let wanted: Vec<String> = objects.iter().map(path).collect();
    let unique: BTreeSet<&String> = applied.iter().collect();
    assert_eq!(
        unique.len(),
        applied.len(),
        "an object applied twice: {applied:?}"
    );
    assert_eq!(
        unique,
        wanted.iter().collect::<BTreeSet<_>>(),
        "applied other objects than desired"
    );
    // Stage order: no object is applied before one of an earlier stage.
    let stage_of = |p: &String| objects.iter().find(|o| path(o) == *p).map(|o| o.stage);
    let stages: Vec<Stage> = applied.iter().filter_map(stage_of).collect();
    assert!(
        stages.windows(2).all(|w| w[0] <= w[1]),
        "applied out of stage order: {stages:?}"
    );
    assert_eq!(deleted(&requests), Vec::<String>::new());
    assert_eq!(status_writes(&requests), 1);
    let s = status(&fake);
    assert_eq!(condition(&s, types::READY).0, "True");
    assert_eq!(condition(&s, types::VALUES_VALID).0, "True");
    assert_eq!(s.host.as_deref(), Some("https://wandb.example.com"));
    let metrics = ctx.metrics.encode();
    assert!(
        metrics.contains(r#"wandb_operator_install_ready{namespace="wandb",name="wandb"} 1"#),
        "{metrics}"
    );
    // The inventory is what it may prune later: never data.
    assert!(!s.inventory.is_empty());
    assert!(
        s.inventory
            .iter()
            .all(|k| !k.starts_with("PersistentVolumeClaim/")),
        "data in the inventory: {:?}",
        s.inventory
    );
}

#[tokio::test]
async fn stores_not_ready_hold_the_migrations_and_services() {
    let wandb = resource(values());
    let fake = fake_for(&wandb, false);
    let ctx = context(&fake);
    let action = engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    assert_eq!(action, Action::requeue(Duration::from_secs(10)));

    let applied: BTreeSet<String> = applied(&fake.take_requests()).into_iter().collect();
    for o in desired(&wandb) {
        // What starts with the stores goes with them (the app-rename
        // pre-upgrade hook, a migration that touches no store).
        let expected = matches!(o.start, Stage::Config | Stage::Stores);
        assert_eq!(
            applied.contains(&path(&o)),
            expected,
            "{} of stage {:?} starting with {:?}: applied {}",
            o.key(),
            o.stage,
            o.start,
            !expected
        );
    }
    assert!(applied.contains(&path_of("Job", "wandb-app-rename-pre-hook")));
    let (ready, reason, message) = condition(&status(&fake), types::READY);
    assert_eq!(
        (ready.as_str(), reason.as_str()),
        ("False", reasons::PROGRESSING)
    );
    assert!(message.contains("waiting for the stores"), "{message}");
}

/// A stage's RoleBindings go to the API once their Roles are there: the API
/// refuses a binding to a Role it does not hold (NotFound, for the
/// operator's ServiceAccount, which may not escalate). Found on a real
/// node, where the first reconcile failed on the app-rename hook's binding.
/// Roles answer late here, so that a binding sent beside its Role would
/// arrive first.
#[tokio::test]
async fn roles_are_applied_before_the_bindings_that_name_them() {
    let wandb = resource(values());
    let fake = fake_for(&wandb, true);
    fake.delay("/roles/", Duration::from_millis(50));
    let ctx = context(&fake);
    engine::reconcile(&wandb, &ctx)
        .await
        .expect("reconciled with no binding refused");

    let applied = applied(&fake.take_requests());
    let bindings: Vec<&String> = applied
        .iter()
        .filter(|p| p.contains("/rolebindings/"))
        .collect();
    assert!(
        !bindings.is_empty(),
        "the install has no RoleBinding: {applied:?}"
    );
    for binding in bindings {
        let role = binding.replace("/rolebindings/", "/roles/");
        let at = |p: &String| applied.iter().position(|a| a == p);
        if let Some(role_at) = at(&role) {
            assert!(
                role_at < at(binding).unwrap_or(0),
                "{binding} applied before {role}"
            );
        }
    }
}

/// A Job that starts with an earlier stage runs beside it, and its own
/// stage still waits for it: the app-rename pre-upgrade hook (a migration
/// that touches no store) goes with the stores and holds the services until
/// it completes; the post-upgrade hook, whose script waits for each new
/// Deployment itself, goes with the services, and Ready waits for it.
#[tokio::test]
async fn hooks_that_start_early_run_beside_the_stage_they_start_with() {
    let wandb = resource(values());
    let fake = fake_for(&wandb, false);
    let ctx = context(&fake);
    let pre = path_of("Job", "wandb-app-rename-pre-hook");
    let post = path_of("Job", "wandb-app-rename-post-hook");
    let services: Vec<String> = desired(&wandb)
        .iter()
        .filter(|o| o.stage == Stage::Services && o.kind == "Deployment")
        .map(path)
        .collect();
    assert!(!services.is_empty());

    // Stores not ready: the pre-upgrade hook runs beside them.
    engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    let applied_now = applied(&fake.take_requests());
    assert!(applied_now.contains(&pre), "{applied_now:?}");
    assert!(!applied_now.contains(&post), "{applied_now:?}");
    assert!(!services.iter().any(|s| applied_now.contains(s)));

    // Stores ready, the hook still running: the services wait for it.
    let wandb = with_status(wandb, &fake);
    fake.roll_out_all();
    let mut hook = fake.get(&pre).expect("the hook's Job");
    hook["status"] = json!({"active": 1});
    fake.insert(&pre, hook);
    engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    let applied_now = applied(&fake.take_requests());
    assert!(
        !services.iter().any(|s| applied_now.contains(s)),
        "{applied_now:?}"
    );
    let (_, _, message) = condition(&status(&fake), types::READY);
    assert!(message.contains("waiting for the migrations"), "{message}");

    // The hook complete: the services and the post-upgrade hook go at once,
    // and Ready waits for both.
    let wandb = with_status(wandb, &fake);
    fake.roll_out_all();
    engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    let applied_now = applied(&fake.take_requests());
    for s in services.iter().chain([&post]) {
        assert!(applied_now.contains(s), "{s} not applied: {applied_now:?}");
    }
    let (ready, _, message) = condition(&status(&fake), types::READY);
    assert_eq!(ready, "False");
    assert!(message.contains("waiting for the services"), "{message}");
    assert!(message.contains("appRenamePostHook"), "{message}");
}
