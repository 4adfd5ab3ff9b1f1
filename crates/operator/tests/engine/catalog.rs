//! The release document a resource names (`spec.catalog`): rendered when it
//! reads; when it does not, nothing is applied and `Ready` names the place.

use super::*;

const DOCUMENT: &str = "/api/v1/namespaces/wandb/configmaps/wandb-release";

/// A resource that names the ConfigMap `wandb-release`, key `release.yaml`.
fn naming_a_document() -> WeightsAndBiases {
    edited(&resource(values()), |w| {
        w.spec.catalog = serde_json::from_value(
            json!({"configMap": {"name": "wandb-release", "key": "release.yaml"}}),
        )
        .expect("a catalog source");
    })
}

fn config_map(text: &str) -> Value {
    json!({"apiVersion": "v1", "kind": "ConfigMap",
           "metadata": {"name": "wandb-release", "namespace": NS, "resourceVersion": "1"},
           "data": {"release.yaml": text}})
}

#[tokio::test]
async fn the_named_document_is_rendered() {
    let wandb = naming_a_document();
    let fake = fake_for(&wandb, true);
    // The built-in document with one env var more for the app.
    let text = wandb_render::catalog::BUILTIN_YAML.replace(
        "      GORILLA_LICENSE_CERT_PATH: /var/app/jwks.json\n",
        "      GORILLA_LICENSE_CERT_PATH: /var/app/jwks.json\n      FROM_THE_DOCUMENT: \"yes\"\n",
    );
    assert_ne!(text, wandb_render::catalog::BUILTIN_YAML);
    fake.insert(DOCUMENT, config_map(&text));
    let ctx = context(&fake);
    engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    let app = fake
        .get(&path_of("Deployment", "wandb-app-bc"))
        .expect("the app applied");
    let env = &app["spec"]["template"]["spec"]["containers"][0]["env"];
    assert!(
        env.as_array()
            .is_some_and(|e| e.iter().any(|v| v["name"] == "FROM_THE_DOCUMENT")),
        "{env}"
    );
    let (ready, reason, _) = condition(&status(&fake), types::READY);
    assert_ne!(reason, reasons::INVALID_CATALOG, "{ready}");
}

#[tokio::test]
async fn a_broken_document_applies_nothing_and_names_its_place() {
    let wandb = naming_a_document();
    let fake = fake_for(&wandb, true);
    let text = wandb_render::catalog::BUILTIN_YAML.replace(
        "{name: BUCKET, fact: bucketUrl}",
        "{name: BUCKET, fact: bucketUrI}",
    );
    assert_ne!(text, wandb_render::catalog::BUILTIN_YAML);
    fake.insert(DOCUMENT, config_map(&text));
    let ctx = context(&fake);
    let action = engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    // Fixing the ConfigMap wakes no reconcile: the engine looks again.
    assert_eq!(action, Action::requeue(Duration::from_secs(30)));
    let requests = fake.take_requests();
    assert!(applied(&requests).is_empty(), "{:?}", applied(&requests));
    let (ready, reason, message) = condition(&status(&fake), types::READY);
    assert_eq!(
        (ready.as_str(), reason.as_str()),
        ("False", reasons::INVALID_CATALOG)
    );
    assert!(
        message.starts_with(
            "spec.catalog: ConfigMap wandb/wandb-release, key \"release.yaml\": envGroups.bucket.env[3]: BUCKET: fact: \"bucketUrI\" is not a fact"
        ),
        "{message}"
    );
    // `kubectl get wandb` shows it in its REFUSED column.
    let refused = status(&fake).refused.unwrap_or_default();
    assert!(refused.starts_with("spec.catalog: ConfigMap"), "{refused}");
}

#[tokio::test]
async fn a_missing_document_keeps_the_install_as_it_runs() {
    // Installed with the built-in document, then pointed at one not there.
    let (fake, ctx, wandb) = installed(values()).await;
    let before = fake.get(&path_of("Deployment", "wandb-app-bc"));
    let wandb = edited(&wandb, |w| {
        w.spec.catalog = naming_a_document().spec.catalog
    });
    fake.take_requests();
    engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    let requests = fake.take_requests();
    assert!(applied(&requests).is_empty());
    assert!(deleted(&requests).is_empty(), "nothing pruned");
    assert_eq!(fake.get(&path_of("Deployment", "wandb-app-bc")), before);
    let (_, reason, message) = condition(&status(&fake), types::READY);
    assert_eq!(reason, reasons::INVALID_CATALOG);
    assert_eq!(
        message,
        "spec.catalog: ConfigMap wandb/wandb-release not found"
    );
}
