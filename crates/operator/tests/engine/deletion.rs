//! The cleanup of a deleted resource, by its retention policy.

use super::*;

/// A resource being deleted, with the objects and data of an install.
async fn deleting(retention: Value) -> (FakeApi, Context, WeightsAndBiases) {
    let (fake, ctx, wandb) = installed(values()).await;
    let mut gone = serde_json::to_value(&wandb).unwrap();
    gone["spec"]["retention"] = retention;
    let wandb: WeightsAndBiases = serde_json::from_value(gone).unwrap();
    fake.insert(
        &path_of("PersistentVolumeClaim", "data-wandb-mysql-0"),
        json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
               "metadata": {"name": "data-wandb-mysql-0", "namespace": NS,
                            "labels": {"app.kubernetes.io/instance": "wandb"}}}),
    );
    (fake, ctx, wandb)
}

fn generated_secret_paths(fake: &FakeApi) -> Vec<String> {
    fake.state()
        .objects
        .iter()
        .filter(|(_, o)| {
            o["kind"] == "Secret"
                && o["metadata"]["labels"][INSTANCE_LABEL] == "wandb"
                && o["metadata"]["annotations"][wandb_render::objects::GENERATED_KEYS_ANNOTATION]
                    .is_string()
        })
        .map(|(p, _)| p.clone())
        .collect()
}

#[tokio::test]
async fn deleting_keeps_volumes_and_generated_secrets_by_default() {
    let (fake, ctx, wandb) = deleting(json!({})).await;
    let secrets = generated_secret_paths(&fake);
    assert!(!secrets.is_empty());
    engine::cleanup(&wandb, &ctx).await.expect("cleaned up");
    let requests = fake.take_requests();
    let deleted = deleted(&requests);
    assert!(
        deleted
            .iter()
            .all(|p| !secrets.contains(p) && !p.contains("persistentvolumeclaims")),
        "data deleted: {deleted:?}"
    );
    // Released: their owner reference removed, so the garbage collector keeps them.
    let released: BTreeSet<String> = requests
        .iter()
        .filter(|r| r.method == Method::PATCH && r.patch == "merge")
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(released, secrets.iter().cloned().collect());
    for s in &secrets {
        assert!(
            fake.get(s).unwrap()["metadata"]
                .get("ownerReferences")
                .is_none()
        );
    }
    // The inventory goes now.
    let inventory = wandb.status.as_ref().unwrap().inventory.len();
    assert_eq!(deleted.len(), inventory);
}

#[tokio::test]
async fn deleting_with_a_retention_policy_that_deletes_data_deletes_it() {
    let (fake, ctx, wandb) =
        deleting(json!({"deleteVolumes": true, "deleteGeneratedSecrets": true})).await;
    let secrets = generated_secret_paths(&fake);
    engine::cleanup(&wandb, &ctx).await.expect("cleaned up");
    let deleted: BTreeSet<String> = deleted(&fake.take_requests()).into_iter().collect();
    for s in &secrets {
        assert!(deleted.contains(s), "{s} kept");
    }
    assert!(deleted.contains(&path_of("PersistentVolumeClaim", "data-wandb-mysql-0")));
}

#[tokio::test]
async fn deleting_leaves_another_installs_cluster_objects() {
    let (fake, ctx, wandb) = deleting(json!({})).await;
    let cluster_scoped = wandb
        .status
        .as_ref()
        .unwrap()
        .inventory
        .iter()
        .find(|k| {
            k.split_once('/')
                .and_then(|(kind, _)| kinds::info(kind))
                .is_some_and(|i| !i.namespaced)
        })
        .cloned()
        .expect("a cluster-scoped object in the inventory");
    let (kind, name) = cluster_scoped.split_once('/').unwrap();
    let their = path_of(kind, name);
    let mut live = fake.get(&their).unwrap();
    live["metadata"]["annotations"][OWNER_ANNOTATION] = json!("other/wandb");
    fake.insert(&their, live);
    engine::cleanup(&wandb, &ctx).await.expect("cleaned up");
    assert!(!deleted(&fake.take_requests()).contains(&their));
}

/// `helm uninstall --wait`: a resource whose finalizer another reconcile
/// already removed is gone when this one removes it. That is the wanted
/// end, not an error (it was logged as a WARN and retried).
#[tokio::test]
async fn removing_the_finalizer_of_a_resource_already_gone_is_done() {
    let (fake, ctx, wandb) = deleting(json!({})).await;
    let mut gone = serde_json::to_value(&wandb).unwrap();
    gone["metadata"]["deletionTimestamp"] = json!("2025-01-01T00:00:00Z");
    gone["metadata"]["finalizers"] = json!([controller::FINALIZER]);
    let wandb: WeightsAndBiases = serde_json::from_value(gone).unwrap();
    fake.insert(RESOURCE, serde_json::to_value(&wandb).unwrap());
    fake.fail(Method::PATCH, "/weightsandbiases/wandb", 404, 1);
    let action = controller::reconcile(Arc::new(wandb), Arc::new(ctx))
        .await
        .expect("an object already gone is success");
    assert_eq!(action, Action::await_change());
    let failed_removal = fake
        .take_requests()
        .iter()
        .any(|r| r.method == Method::PATCH && r.path == RESOURCE);
    assert!(failed_removal, "the finalizer's removal was tried");
}
