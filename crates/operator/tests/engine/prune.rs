//! A component turned off is pruned, its data kept.

use super::*;

#[tokio::test]
async fn a_component_turned_off_is_pruned_and_its_data_kept() {
    let (fake, ctx, wandb) = installed(values()).await;
    let before = desired(&wandb);
    let mut off = values();
    off["weave"] = json!({"install": false});
    let mut next = resource(off);
    next.status = wandb.status.clone();
    let after: BTreeSet<String> = desired(&next).iter().map(path).collect();
    let gone: BTreeSet<String> = before
        .iter()
        .filter(|o| !o.holds_data())
        .map(path)
        .filter(|p| !after.contains(p))
        .collect();
    let weave = path_of_component(&wandb, "Deployment", "weave");
    assert!(
        gone.contains(&weave),
        "weave's Deployment is not among the objects turned off: {gone:?}"
    );

    engine::reconcile(&next, &ctx).await.expect("reconciled");
    let requests = fake.take_requests();
    let deleted: BTreeSet<String> = deleted(&requests).into_iter().collect();
    assert_eq!(deleted, gone);
    assert!(applied(&requests).is_empty(), "{:?}", applied(&requests));
    let (_, weave_name) = weave.rsplit_once('/').unwrap();
    assert!(
        !status(&fake)
            .inventory
            .contains(&format!("Deployment/{weave_name}"))
    );
}

#[tokio::test]
async fn a_pruned_cluster_object_another_install_took_is_left_alone() {
    // The console's ClusterRole and binding are pruned when its role turns
    // namespaced; meanwhile another install of the same name took the
    // ClusterRole (cluster-scoped names come from the resource's name).
    let (fake, ctx, wandb) = installed(values()).await;
    let cluster_role = path_of("ClusterRole", "wandb-console");
    let binding = path_of("ClusterRoleBinding", "wandb-console");
    let mut live = fake.get(&cluster_role).expect("the console's ClusterRole");
    live["metadata"]["annotations"][OWNER_ANNOTATION] = json!("other/wandb");
    fake.insert(&cluster_role, live);

    let mut namespaced = values();
    namespaced["console"] = json!({"role": {"type": "Role"}});
    let mut next = resource(namespaced);
    next.status = wandb.status.clone();
    engine::reconcile(&next, &ctx).await.expect("reconciled");
    let deleted = deleted(&fake.take_requests());
    assert!(deleted.contains(&binding), "{deleted:?}");
    assert!(
        !deleted.contains(&cluster_role),
        "deleted another install's {cluster_role}"
    );
}
