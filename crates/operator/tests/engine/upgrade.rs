//! Upgrades: migrations failed and done, their metrics, a refused downgrade.

use super::*;

#[tokio::test]
async fn a_failed_migration_is_reported_in_the_metrics() {
    let (fake, ctx, wandb) = installed(values()).await;
    let migration = desired(&wandb)
        .into_iter()
        .find(|o| o.kind == "Job" && o.stage == Stage::Migrations)
        .expect("a migration Job");
    let job = path(&migration);
    let mut live = fake.get(&job).expect("the Job");
    live["status"] = json!({"conditions": [{"type": "Failed", "status": "True"}]});
    fake.insert(&job, live);
    fake.state().ready_on_apply = false;
    engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    let metrics = ctx.metrics.encode();
    let failed = format!(
        r#"wandb_operator_component_failed{{namespace="wandb",name="wandb",component="{}"}} 1"#,
        migration.component
    );
    assert!(metrics.contains(&failed), "{failed} not in:\n{metrics}");
    assert!(metrics.contains(r#"wandb_operator_install_ready{namespace="wandb",name="wandb"} 0"#));
}

#[tokio::test]
async fn a_failed_migration_holds_the_upgrade_and_shows_its_log_masked() {
    let (fake, ctx, wandb) = installed(values()).await;
    let objects = desired(&wandb);
    let migration = objects
        .iter()
        .find(|o| o.kind == "Job" && o.stage == Stage::Migrations)
        .expect("a migration Job");
    let job = path(migration);
    let mut live = fake.get(&job).expect("the Job");
    live["status"] = json!({"conditions": [{"type": "Failed", "status": "True",
        "lastTransitionTime": "2026-12-01T10:00:00Z"}]});
    fake.insert(&job, live);
    fake.state().ready_on_apply = false;
    // Its pod printed a generated password, as a careless script might.
    let generated = objects
        .iter()
        .find(|o| !o.generated.is_empty())
        .expect("a generated Secret");
    let encoded = fake.get(&path(generated)).expect("the Secret")["data"]
        [&generated.generated[0].key]
        .as_str()
        .expect("a value")
        .to_string();
    use base64::Engine;
    let password = String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(&encoded)
            .expect("base64"),
    )
    .expect("UTF-8");
    let pod = path_of("Pod", &format!("{}-x7k2p", migration.name));
    fake.insert(
        &pod,
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {
            "name": format!("{}-x7k2p", migration.name), "namespace": NS,
            "creationTimestamp": "2026-12-01T09:59:00Z",
            "labels": {"batch.kubernetes.io/job-name": migration.name}}}),
    );
    fake.state().logs.insert(
        pod.clone(),
        format!("migrating\nError 1045: access denied with password {password}\n"),
    );

    // An upgrade of the app while the migration fails.
    let app = path_of_component(&wandb, "Deployment", "app");
    let app_before = fake.get(&app).expect("the app");
    let mut upgrade = values();
    upgrade["app"] = json!({"image": {"tag": "0.99.0"}});
    let mut next = resource(upgrade);
    next.status = wandb.status.clone();
    engine::reconcile(&next, &ctx).await.expect("reconciled");
    let requests = fake.take_requests();
    assert_eq!(
        fake.get(&app),
        Some(app_before),
        "the app changed while a migration failed"
    );
    assert!(
        requests.iter().any(|r| r.path == format!("{pod}/log")),
        "the log was not read: {requests:?}"
    );
    let (ready, reason, message) = condition(&status(&fake), types::READY);
    assert_eq!(
        (ready.as_str(), reason.as_str()),
        ("False", reasons::MIGRATION_FAILED)
    );
    assert!(
        message.contains(&format!("Job/{}", migration.name)),
        "{message}"
    );
    assert!(
        message.contains("access denied with password ****"),
        "{message}"
    );
    assert!(
        !message.contains(&password),
        "a secret in the status: {message}"
    );

    // The next reconcile keeps the message and does not read the log again.
    let next = with_status(next, &fake);
    engine::reconcile(&next, &ctx).await.expect("reconciled");
    let requests = fake.take_requests();
    assert!(
        !requests.iter().any(|r| r.path.ends_with("/log")),
        "the log read again: {requests:?}"
    );
    assert_eq!(condition(&status(&fake), types::READY).2, message);

    // Deleting the failed Job runs it again.
    fake.state().objects.remove(&job);
    engine::reconcile(&next, &ctx).await.expect("reconciled");
    assert!(applied(&fake.take_requests()).contains(&job));
}

fn with_tag(tag: &str) -> Value {
    let mut v = values();
    v["app"] = json!({"image": {"tag": tag}});
    v
}

/// What a Deployment's controller writes once it has rolled out.
fn rolled_out(fake: &FakeApi, path: &str) {
    let mut live = fake.get(path).expect("the Deployment");
    let replicas = live["spec"]["replicas"].as_i64().unwrap_or(1);
    live["status"] = json!({"observedGeneration": live["metadata"]["generation"],
        "replicas": replicas, "updatedReplicas": replicas, "availableReplicas": replicas});
    fake.insert(path, live);
}

#[tokio::test]
async fn an_upgrade_records_its_progress_and_a_downgrade_is_refused() {
    let (fake, ctx, wandb) = installed(with_tag("0.75.0")).await;
    let s = status(&fake);
    assert_eq!(
        (
            s.version.as_deref(),
            s.migrated_version.as_deref(),
            &s.upgrade
        ),
        (Some("0.75.0"), Some("0.75.0"), &None)
    );

    // The new version's services roll out.
    fake.state().ready_on_apply = false;
    let upgrade = edited(&wandb, |w| w.spec.values = with_tag("0.76.0"));
    engine::reconcile(&upgrade, &ctx).await.expect("reconciled");
    let s = status(&fake);
    assert_eq!(s.version.as_deref(), Some("0.75.0"), "the version running");
    assert_eq!(s.migrated_version.as_deref(), Some("0.76.0"));
    let progress = s.upgrade.clone().expect("an upgrade in progress");
    assert_eq!(
        (
            progress.from.as_str(),
            progress.to.as_str(),
            progress.stage.as_str()
        ),
        ("0.75.0", "0.76.0", "services")
    );

    // Rolled out.
    let app = path_of_component(&upgrade, "Deployment", "app");
    rolled_out(&fake, &app);
    let upgrade = with_status(upgrade, &fake);
    fake.state().ready_on_apply = true;
    for o in desired(&upgrade).iter().filter(|o| o.kind == "Deployment") {
        rolled_out(&fake, &path(o));
    }
    engine::reconcile(&upgrade, &ctx).await.expect("reconciled");
    let s = status(&fake);
    assert_eq!(condition(&s, types::READY).0, "True", "{:?}", s.conditions);
    assert_eq!((s.version.as_deref(), &s.upgrade), (Some("0.76.0"), &None));
    fake.take_requests();

    // Back to 0.75.0: refused, nothing applied.
    let upgrade = with_status(upgrade, &fake);
    let downgrade = edited(&upgrade, |w| w.spec.values = with_tag("0.75.0"));
    engine::reconcile(&downgrade, &ctx)
        .await
        .expect("reconciled");
    let requests = fake.take_requests();
    assert_eq!(applied(&requests), Vec::<String>::new());
    let s = status(&fake);
    let (ready, reason, message) = condition(&s, types::READY);
    assert_eq!(
        (ready.as_str(), reason.as_str()),
        ("False", reasons::DOWNGRADE_REFUSED)
    );
    assert!(message.contains("0.75.0 is below 0.76.0"), "{message}");
    assert_eq!(s.version.as_deref(), Some("0.76.0"));
    assert_eq!(
        condition(&s, "AppReady").0,
        "True",
        "the components' state is kept"
    );

    // Allowed by the annotation.
    let allowed = edited(&with_status(downgrade, &fake), |w| {
        w.metadata
            .annotations
            .get_or_insert_with(Default::default)
            .insert(
                wandb_operator_core::version::ALLOW_DOWNGRADE_ANNOTATION.into(),
                "true".into(),
            );
    });
    engine::reconcile(&allowed, &ctx).await.expect("reconciled");
    assert!(applied(&fake.take_requests()).contains(&app));
}
