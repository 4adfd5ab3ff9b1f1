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
