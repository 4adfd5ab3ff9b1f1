//! What a reconcile of an install applies again: nothing when nothing
//! changed, a drifted or deleted object, a workload to replace.

use super::*;

#[tokio::test]
async fn a_second_reconcile_with_nothing_changed_makes_no_change() {
    let (fake, ctx, wandb) = installed(values()).await;
    engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    let requests = fake.take_requests();
    assert_eq!(applied(&requests), Vec::<String>::new());
    assert_eq!(deleted(&requests), Vec::<String>::new());
    assert_eq!(status_writes(&requests), 0, "the same status written again");
    assert!(
        requests.iter().all(|r| r.method == Method::GET),
        "not only reads: {requests:?}"
    );
}

#[tokio::test]
async fn a_drifted_object_is_applied_again_and_only_it() {
    let (fake, ctx, wandb) = installed(values()).await;
    let app = path_of_component(&wandb, "Deployment", "app");
    let mut live = fake.get(&app).expect("the app's Deployment");
    live["spec"]["template"]["spec"]["containers"][0]["image"] = json!("someone/else:1");
    fake.insert(&app, live);

    engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    assert_eq!(applied(&fake.take_requests()), vec![app.clone()]);
    let repaired = fake.get(&app).expect("still there");
    assert_ne!(
        repaired["spec"]["template"]["spec"]["containers"][0]["image"],
        "someone/else:1"
    );
}

#[tokio::test]
async fn a_field_no_longer_set_is_applied_away() {
    let mut with = values();
    with["app"] = json!({"podAnnotations": {"example.com/team": "ml"}});
    let (fake, ctx, wandb) = installed(with).await;
    let app = path_of_component(&wandb, "Deployment", "app");
    let next = edited(&wandb, |w| w.spec.values = values());
    engine::reconcile(&next, &ctx).await.expect("reconciled");
    assert_eq!(applied(&fake.take_requests()), vec![app.clone()]);
    let live = fake.get(&app).expect("the app");
    assert!(
        live.pointer("/spec/template/metadata/annotations/example.com~1team")
            .is_none(),
        "{live}"
    );
}

#[tokio::test]
async fn a_deleted_object_is_created_again() {
    let (fake, ctx, wandb) = installed(values()).await;
    let config = path_of("ConfigMap", "wandb-global-configmap");
    assert!(fake.get(&config).is_some());
    fake.state().objects.remove(&config);

    engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    assert_eq!(applied(&fake.take_requests()), vec![config.clone()]);
    assert!(fake.get(&config).is_some());
}

#[tokio::test]
async fn a_workload_whose_immutable_field_changed_is_replaced() {
    let (fake, ctx, wandb) = installed(values()).await;
    let mysql = path_of("StatefulSet", "wandb-mysql");
    let mut live = fake.get(&mysql).expect("MySQL's StatefulSet");
    live["spec"]["serviceName"] = json!("changed");
    fake.insert(&mysql, live);
    fake.fail(Method::PATCH, "/statefulsets/wandb-mysql", 422, 1);

    engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    let requests = fake.take_requests();
    assert!(applied(&requests).contains(&mysql));
    assert_eq!(
        deleted(&requests),
        vec![mysql.clone()],
        "replaced by delete, then apply"
    );
    // Its volumes stay: a replaced StatefulSet keeps its claims.
    assert!(
        deleted(&requests)
            .iter()
            .all(|p| !p.contains("persistentvolumeclaims"))
    );
}

#[tokio::test]
async fn an_invalid_object_that_is_no_workload_is_an_error() {
    let (fake, ctx, wandb) = installed(values()).await;
    let config = path_of("ConfigMap", "wandb-global-configmap");
    fake.state().objects.remove(&config);
    fake.fail(Method::PATCH, "/configmaps/wandb-global-configmap", 422, 1);

    let err = engine::reconcile(&wandb, &ctx)
        .await
        .expect_err("a refused ConfigMap fails the reconcile");
    match err {
        Error::Kube { action, object, .. } => {
            assert_eq!(
                (action, object.as_str()),
                ("apply", "ConfigMap/wandb-global-configmap")
            );
        }
        other => panic!("another error: {other}"),
    }
    assert_eq!(deleted(&fake.take_requests()), Vec::<String>::new());
}
