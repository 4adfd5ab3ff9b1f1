//! What a reconcile leaves alone and reports: another install's object,
//! invalid values, an API error (with its back-off).

use super::*;

#[tokio::test]
async fn another_installs_cluster_object_is_left_alone_and_reported() {
    let wandb = resource(values());
    let fake = fake_for(&wandb, true);
    let theirs = desired(&wandb)
        .into_iter()
        .find(|o| o.namespace.is_none())
        .expect("a cluster-scoped object");
    let their_path = path(&theirs);
    fake.insert(
        &their_path,
        json!({"apiVersion": theirs.api_version, "kind": theirs.kind,
               "metadata": {"name": theirs.name,
                            "annotations": {OWNER_ANNOTATION: "other/wandb"}}}),
    );
    let ctx = context(&fake);
    engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    let requests = fake.take_requests();
    assert!(
        !applied(&requests).contains(&their_path),
        "took over {their_path}"
    );
    let s = status(&fake);
    let (ready, reason, message) = condition(&s, types::READY);
    assert_eq!(
        (ready.as_str(), reason.as_str()),
        ("False", reasons::CONFLICT)
    );
    assert!(message.contains("other/wandb"), "{message}");
    assert!(!s.inventory.contains(&theirs.key()));
}

#[tokio::test]
async fn invalid_values_change_nothing_and_say_why() {
    let mut bad = values();
    bad["app"] = json!({"replicaCount": -1});
    let wandb = resource(bad);
    let fake = fake_for(&wandb, false);
    let ctx = context(&fake);
    let action = engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    assert_eq!(action, Action::await_change());
    let requests = fake.take_requests();
    assert!(applied(&requests).is_empty());
    assert_eq!(status_writes(&requests), 1);
    let (valid, reason, message) = condition(&status(&fake), types::VALUES_VALID);
    assert_eq!(
        (valid.as_str(), reason.as_str()),
        ("False", reasons::INVALID_VALUES)
    );
    assert!(
        message.contains("spec.values.app.replicaCount"),
        "{message}"
    );
}

#[tokio::test]
async fn an_api_error_fails_the_reconcile_and_retries_back_off() {
    let wandb = Arc::new(resource(values()));
    let fake = fake_for(&wandb, false);
    fake.fail(Method::GET, "/secrets/wandb-mysql", 500, 10);
    let ctx = Arc::new(context(&fake));
    let err = engine::reconcile(&wandb, &ctx)
        .await
        .expect_err("a 500 fails the reconcile");
    assert!(matches!(&err, Error::Kube { action: "get", .. }), "{err}");
    let delays: Vec<Action> = (0..8)
        .map(|_| controller::error_policy(wandb.clone(), &err, ctx.clone()))
        .collect();
    let secs = [5, 10, 20, 40, 80, 160, 300, 300];
    let expected: Vec<Action> = secs
        .iter()
        .map(|s| Action::requeue(Duration::from_secs(*s)))
        .collect();
    assert_eq!(delays, expected);
}

/// The design keeps the last valid spec running (Ready stays True), so a
/// refused spec must be visible: `ValuesValid` False saying so, and
/// `status.refused` (the `kubectl get wandb` column) saying why, until a
/// valid spec clears it.
#[tokio::test]
async fn a_refused_spec_is_visible_while_the_last_valid_one_keeps_running() {
    let (fake, ctx, wandb) = installed(values()).await;
    assert_eq!(status(&fake).refused, None);
    let bad = edited(&wandb, |w| {
        w.spec.values["global"]["host"] = json!("wandb.example.com");
    });
    engine::reconcile(&bad, &ctx).await.expect("reconciled");
    assert!(applied(&fake.take_requests()).is_empty());
    let s = status(&fake);
    assert_eq!(
        condition(&s, types::READY).0,
        "True",
        "the last valid spec runs"
    );
    let (valid, reason, message) = condition(&s, types::VALUES_VALID);
    assert_eq!(
        (valid.as_str(), reason.as_str()),
        ("False", reasons::INVALID_VALUES)
    );
    assert!(message.contains("the spec is refused"), "{message}");
    let refused = s.refused.clone().expect("status.refused");
    assert!(refused.starts_with("global.host: "), "{refused}");
    assert!(
        !refused.contains('\n'),
        "one line for a column: {refused:?}"
    );
    assert_eq!(s.observed_generation, Some(2));

    let fixed = edited(&with_status(bad, &fake), |w| {
        w.spec.values["global"]["host"] = json!("https://wandb.example.com");
    });
    engine::reconcile(&fixed, &ctx).await.expect("reconciled");
    let s = status(&fake);
    assert_eq!(s.refused, None, "a valid spec clears it");
    assert_eq!(condition(&s, types::VALUES_VALID).0, "True");
}

/// Several problems: the column names the first and counts the others.
#[tokio::test]
async fn a_refusal_with_several_problems_counts_them_on_one_line() {
    let mut bad = values();
    bad["global"]["size"] = json!("huge");
    bad["app"] = json!({"replicaCount": -1});
    let wandb = resource(bad);
    let fake = fake_for(&wandb, false);
    engine::reconcile(&wandb, &context(&fake))
        .await
        .expect("reconciled");
    let refused = status(&fake).refused.expect("status.refused");
    assert!(refused.ends_with(" (and 1 more)"), "{refused}");
    let (_, _, message) = condition(&status(&fake), types::VALUES_VALID);
    assert!(
        message.contains("spec.values.global.size: \"huge\" is not a known size"),
        "{message}"
    );
}
