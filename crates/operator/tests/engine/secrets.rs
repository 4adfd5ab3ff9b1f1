//! Generated Secrets get their values once and keep them.

use super::*;

#[tokio::test]
async fn generated_secrets_get_values_once_and_keep_them() {
    let (fake, ctx, wandb) = installed(values()).await;
    let generated: Vec<DesiredObject> = desired(&wandb)
        .into_iter()
        .filter(|o| !o.generated.is_empty())
        .collect();
    assert!(
        !generated.is_empty(),
        "the default install generates no secret"
    );
    for o in &generated {
        let live = fake.get(&path(o)).expect("created");
        for key in &o.generated {
            let value = live["data"][&key.key].as_str().unwrap_or_default();
            assert!(!value.is_empty(), "{}: {} is empty", o.key(), key.key);
        }
    }
    let first: Vec<Value> = generated
        .iter()
        .map(|o| fake.get(&path(o)).unwrap()["data"].clone())
        .collect();

    // A drifted Secret is applied again with the values it holds.
    let secret = path(&generated[0]);
    let mut live = fake.get(&secret).unwrap();
    live["metadata"]["labels"]["drift"] = json!("yes");
    live["type"] = json!("Opaque");
    live["immutable"] = json!(false);
    fake.insert(&secret, live);
    engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    let now: Vec<Value> = generated
        .iter()
        .map(|o| fake.get(&path(o)).unwrap()["data"].clone())
        .collect();
    assert_eq!(first, now, "generated values changed");
}

#[tokio::test]
async fn a_secret_made_before_the_operator_keeps_its_values() {
    let wandb = resource(values());
    let generated = desired(&wandb)
        .into_iter()
        .find(|o| !o.generated.is_empty())
        .expect("a generated secret");
    // As the upstream chart or W&B's Go operator left it: none of our labels.
    let data: serde_json::Map<String, Value> = generated
        .generated
        .iter()
        .map(|k| (k.key.clone(), json!("cGFzc3dvcmQtaW4tdXNl")))
        .collect();
    let fake = fake_for(&wandb, false);
    fake.insert(
        &path(&generated),
        json!({"apiVersion": "v1", "kind": "Secret",
               "metadata": {"name": generated.name, "namespace": NS}, "data": data}),
    );
    let ctx = context(&fake);
    engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    let live = fake.get(&path(&generated)).expect("still there");
    for key in &generated.generated {
        assert_eq!(
            live["data"][&key.key], "cGFzc3dvcmQtaW4tdXNl",
            "{}: the value in use was replaced",
            key.key
        );
    }
}
