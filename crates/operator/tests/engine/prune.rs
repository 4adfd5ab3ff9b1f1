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
