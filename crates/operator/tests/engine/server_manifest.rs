//! A W&B Server version from a server manifest (`serverManifest.*`): read
//! from a ConfigMap or pulled from a registry (in memory, on loopback);
//! pulled once across reconciles and restarts; a failed pull applies
//! nothing and names the reference; an upgrade runs the new manifest's
//! migrations before any Deployment changes; a downgrade is refused.

use super::manifests;
use super::registry::{Layout, Registry};
use super::*;
use wandb_operator_core::engine::{PULLED_FROM_ANNOTATION, kept_name};

fn with_manifest(server_manifest: Value) -> Value {
    let mut v = values();
    v["serverManifest"] = server_manifest;
    v
}

async fn registry_with(versions: &[&str]) -> Registry {
    let registry = Registry::start().await;
    for version in versions {
        let owned = manifests::files(version);
        let files: Vec<(&str, &str)> = owned.iter().map(|(n, t)| (*n, t.as_str())).collect();
        registry.push(version, &files, Layout::Files);
    }
    registry
}

fn pulling(registry: &Registry, version: &str) -> Value {
    with_manifest(json!({"version": version, "repository": registry.repository()}))
}

/// The image of the app's Deployment (the manifest's `api`, legacyKey `app`).
fn app_image(fake: &FakeApi) -> String {
    let deployments = fake.paths_with("/deployments/");
    let app = deployments
        .iter()
        .find(|p| p.contains("/deployments/wandb-app"))
        .unwrap_or_else(|| panic!("no app Deployment in {deployments:?}"));
    let live = fake.get(app).expect("the Deployment");
    live["spec"]["template"]["spec"]["containers"][0]["image"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn a_manifest_in_a_config_map_is_run() {
    let wandb = resource(with_manifest(json!({"configMap": "wandb-manifest"})));
    let fake = fake_for(&wandb, true);
    let mut data = serde_json::Map::new();
    for (name, text) in manifests::files("0.83.0") {
        data.insert(name.into(), text.into());
    }
    fake.insert(
        "/api/v1/namespaces/wandb/configmaps/wandb-manifest",
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "wandb-manifest", "namespace": NS, "resourceVersion": "1"},
               "data": data}),
    );
    let ctx = context(&fake);
    engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    assert_eq!(app_image(&fake), "example.com/wandb/megabinary:0.83.0");
    assert_eq!(status(&fake).version.as_deref(), Some("0.83.0"));
    let (ready, reason, _) = condition(&status(&fake), types::READY);
    assert_eq!((ready.as_str(), reason.as_str()), ("True", reasons::READY));
}

#[tokio::test]
async fn a_config_map_without_sizing_yaml_names_the_key() {
    let wandb = resource(with_manifest(json!({"configMap": "wandb-manifest"})));
    let fake = fake_for(&wandb, true);
    fake.insert(
        "/api/v1/namespaces/wandb/configmaps/wandb-manifest",
        json!({"apiVersion": "v1", "kind": "ConfigMap",
               "metadata": {"name": "wandb-manifest", "namespace": NS, "resourceVersion": "1"},
               "data": {"manifest.yaml": manifests::manifest("0.83.0")}}),
    );
    let ctx = context(&fake);
    engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    let (_, reason, message) = condition(&status(&fake), types::READY);
    assert_eq!(reason, reasons::INVALID_CATALOG);
    assert_eq!(
        message,
        "spec.values.serverManifest.configMap: ConfigMap wandb/wandb-manifest has no key \"sizing.yaml\""
    );
}

#[tokio::test]
async fn a_version_is_pulled_once_across_reconciles_and_restarts() {
    let registry = registry_with(&["0.83.0"]).await;
    let wandb = resource(pulling(&registry, "0.83.0"));
    let fake = fake_for(&wandb, true);
    let ctx = context(&fake);
    engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    assert_eq!(app_image(&fake), "example.com/wandb/megabinary:0.83.0");
    assert_eq!(registry.manifest_gets(), 1);
    // Kept in a ConfigMap the resource owns, for a restarted operator.
    let kept = fake
        .get(&path_of("ConfigMap", &kept_name("wandb", "0.83.0")))
        .expect("the pulled manifest kept");
    assert_eq!(
        kept["metadata"]["annotations"][PULLED_FROM_ANNOTATION],
        format!("{}:0.83.0", registry.repository())
    );
    assert_eq!(
        kept["metadata"]["ownerReferences"][0]["uid"],
        "resource-uid"
    );
    assert_eq!(kept["data"]["sizing.yaml"], manifests::SIZING);

    let wandb = with_status(wandb, &fake);
    for _ in 0..3 {
        engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    }
    assert_eq!(registry.manifest_gets(), 1, "pulled again");
    assert_eq!(
        ctx.server_manifests
            .pulls
            .load(std::sync::atomic::Ordering::Relaxed),
        1
    );

    // A restarted operator (nothing in memory) reads the kept ConfigMap.
    let restarted = context(&fake);
    fake.take_requests();
    engine::reconcile(&wandb, &restarted)
        .await
        .expect("reconciled");
    assert_eq!(registry.manifest_gets(), 1, "pulled after a restart");
    assert!(applied(&fake.take_requests()).is_empty(), "nothing changed");
    assert_eq!(condition(&status(&fake), types::READY).0, "True");
}

#[tokio::test]
async fn pull_secrets_are_used_and_never_shown() {
    let registry = registry_with(&["0.83.0"]).await;
    registry.state().auth = super::registry::Auth::Bearer;
    let mut values = pulling(&registry, "0.83.0");
    values["global"]["imagePullSecrets"] = json!([{"name": "registry-creds"}]);
    let wandb = resource(values);
    let fake = fake_for(&wandb, true);
    let ctx = context(&fake);
    // Without the Secret: unauthorized, said without any credential.
    engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    let (_, reason, message) = condition(&status(&fake), types::READY);
    assert_eq!(reason, reasons::INVALID_CATALOG);
    assert!(message.contains("getting a token from"), "{message}");

    use base64::Engine;
    let config = json!({"auths": {registry.host.clone(): {"auth":
        base64::engine::general_purpose::STANDARD.encode(
            format!("{}:{}", super::registry::USER, super::registry::PASSWORD))}}});
    let encoded = base64::engine::general_purpose::STANDARD.encode(config.to_string());
    fake.insert(
        "/api/v1/namespaces/wandb/secrets/registry-creds",
        json!({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/dockerconfigjson",
               "metadata": {"name": "registry-creds", "namespace": NS},
               "data": {".dockerconfigjson": encoded}}),
    );
    // A new generation tries at once, past the backoff.
    let wandb = edited(&with_status(wandb, &fake), |_| {});
    engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    assert_eq!(app_image(&fake), "example.com/wandb/megabinary:0.83.0");
    let stored = serde_json::to_string(&fake.get(RESOURCE)).unwrap_or_default();
    assert!(!stored.contains(super::registry::PASSWORD) && !stored.contains("token-7f3a"));
}

#[tokio::test]
async fn a_failed_pull_applies_nothing_names_the_reference_and_backs_off() {
    // Installed with the built-in document, then asked for a version the
    // registry does not have.
    let registry = registry_with(&["0.83.0"]).await;
    let (fake, ctx, wandb) = installed(values()).await;
    let before = fake.get(&path_of("Deployment", "wandb-app-bc"));
    let wandb = edited(&wandb, |w| {
        w.spec.values = pulling(&registry, "0.99.0");
    });
    let action = engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    assert_eq!(action, Action::requeue(Duration::from_secs(30)));
    let requests = fake.take_requests();
    assert!(applied(&requests).is_empty(), "{:?}", applied(&requests));
    assert!(deleted(&requests).is_empty(), "nothing pruned");
    assert_eq!(fake.get(&path_of("Deployment", "wandb-app-bc")), before);
    let (ready, reason, message) = condition(&status(&fake), types::READY);
    assert_eq!(
        (ready.as_str(), reason.as_str()),
        ("False", reasons::INVALID_CATALOG)
    );
    assert_eq!(
        message,
        format!(
            "spec.values.serverManifest.version: pulling {}:0.99.0: manifest unknown (404)",
            registry.repository()
        )
    );
    // The next reconciles within the backoff do not pull again.
    let wandb = with_status(wandb, &fake);
    engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    assert_eq!(registry.manifest_gets(), 1);
    assert!(applied(&fake.take_requests()).is_empty());
}

#[tokio::test]
async fn an_upgrade_runs_the_new_migrations_before_any_deployment_changes() {
    let registry = registry_with(&["0.83.0", "0.84.0"]).await;
    let (fake, ctx, wandb) = installed(pulling(&registry, "0.83.0")).await;
    assert_eq!(app_image(&fake), "example.com/wandb/megabinary:0.83.0");
    assert_eq!(status(&fake).migrated_version.as_deref(), Some("0.83.0"));

    // 0.84.0; workloads now take their time, as in a cluster. The
    // migration Job keeps its name, and the API refuses a change of a
    // Job's template: the Job is replaced.
    fake.state().ready_on_apply = false;
    let job = path_of("Job", "wandb-migrate-gorilla");
    fake.fail(Method::PATCH, "/jobs/wandb-migrate-gorilla", 422, 1);
    let wandb = edited(&wandb, |w| w.spec.values = pulling(&registry, "0.84.0"));
    engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    let requests = fake.take_requests();
    assert_eq!(
        deleted(&requests),
        std::slice::from_ref(&job),
        "the old Job replaced"
    );
    let no_deployment = |applied: &[String]| !applied.iter().any(|p| p.contains("/deployments/"));
    assert!(
        no_deployment(&applied(&requests)),
        "a Deployment changed before the migrations completed: {:?}",
        applied(&requests)
    );

    // The next reconcile makes the new Job; the services still wait.
    let wandb = with_status(wandb, &fake);
    engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    let applied_now = applied(&fake.take_requests());
    assert!(applied_now.contains(&job), "{applied_now:?}");
    assert!(no_deployment(&applied_now), "{applied_now:?}");
    assert_eq!(app_image(&fake), "example.com/wandb/megabinary:0.83.0");
    let live = fake.get(&job).expect("the Job");
    let image = &live["spec"]["template"]["spec"]["containers"][0]["image"];
    assert_eq!(image, "example.com/wandb/megabinary:0.84.0");
    let upgrade = status(&fake).upgrade.expect("an upgrade under way");
    assert_eq!(
        (
            upgrade.from.as_str(),
            upgrade.to.as_str(),
            upgrade.stage.as_str()
        ),
        ("0.83.0", "0.84.0", "migrations")
    );

    // The migrations complete: the services follow.
    let mut live = fake.get(&job).expect("the Job");
    live["status"] = json!({"succeeded": 1,
        "conditions": [{"type": "Complete", "status": "True"}]});
    fake.insert(&job, live);
    let wandb = with_status(wandb, &fake);
    engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    assert_eq!(app_image(&fake), "example.com/wandb/megabinary:0.84.0");
    assert_eq!(status(&fake).migrated_version.as_deref(), Some("0.84.0"));
    assert_eq!(registry.manifest_gets(), 2, "each version pulled once");

    // Back to 0.83.0: below the migrated version, refused.
    fake.take_requests();
    let wandb = edited(&with_status(wandb, &fake), |w| {
        w.spec.values = pulling(&registry, "0.83.0")
    });
    engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    assert!(applied(&fake.take_requests()).is_empty());
    let (_, reason, message) = condition(&status(&fake), types::READY);
    assert_eq!(reason, reasons::DOWNGRADE_REFUSED);
    assert!(
        message.starts_with(
            "spec.values.serverManifest.version: 0.83.0 is below 0.84.0, whose migrations already ran"
        ),
        "{message}"
    );
}

#[tokio::test]
async fn spec_catalog_and_a_server_manifest_together_are_refused() {
    let registry = registry_with(&["0.83.0"]).await;
    let wandb = edited(&resource(pulling(&registry, "0.83.0")), |w| {
        w.spec.catalog = serde_json::from_value(
            json!({"configMap": {"name": "wandb-release", "key": "release.yaml"}}),
        )
        .expect("a catalog source");
    });
    let fake = fake_for(&wandb, true);
    let ctx = context(&fake);
    engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    assert!(applied(&fake.take_requests()).is_empty());
    assert_eq!(registry.manifest_gets(), 0);
    let (_, reason, message) = condition(&status(&fake), types::READY);
    assert_eq!(reason, reasons::INVALID_CATALOG);
    assert!(
        message.starts_with("spec.catalog and spec.values.serverManifest.version are both set"),
        "{message}"
    );
}
