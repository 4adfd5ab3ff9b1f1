//! The engine (one reconcile, the cleanup before deletion, the retry
//! policy) against an API server in memory: which requests it makes for a
//! fresh install, a no-op, drift, an immutable field, a pruned component,
//! another install's object, a deleted resource, and API errors.

mod fake_api;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use fake_api::{FakeApi, Seen};
use http::Method;
use kube::runtime::controller::Action;
use serde_json::{Value, json};
use wandb_operator_core::conditions::{reasons, types};
use wandb_operator_core::crd::{WeightsAndBiases, WeightsAndBiasesStatus};
use wandb_operator_core::desired::{DesiredObject, INSTANCE_LABEL, OWNER_ANNOTATION, Stage};
use wandb_operator_core::engine::{self, Context, Error};
use wandb_operator_core::{controller, kinds};

const NS: &str = "wandb";
const RESOURCE: &str = "/apis/apps.wandb.com/v1/namespaces/wandb/weightsandbiases/wandb";

fn values() -> Value {
    json!({"global": {"host": "https://wandb.example.com", "license": "test"}})
}

fn resource(values: Value) -> WeightsAndBiases {
    serde_json::from_value(json!({
        "apiVersion": "apps.wandb.com/v1",
        "kind": "WeightsAndBiases",
        "metadata": {"name": "wandb", "namespace": NS, "uid": "resource-uid", "generation": 1},
        "spec": {"values": values},
    }))
    .expect("a WeightsAndBiases")
}

/// An API server that holds the resource; `ready`: workloads are ready
/// as soon as they are applied.
fn fake_for(wandb: &WeightsAndBiases, ready: bool) -> FakeApi {
    let fake = FakeApi::default();
    fake.insert(RESOURCE, serde_json::to_value(wandb).expect("JSON"));
    fake.state().ready_on_apply = ready;
    fake
}

fn context(fake: &FakeApi) -> Context {
    Context {
        client: fake.client(),
        caches: Default::default(),
        metrics: Arc::new(Default::default()),
        recorder: None,
        resync: Duration::from_secs(300),
        failures: Default::default(),
    }
}

/// What the values ask for, as the engine computes it.
fn desired(wandb: &WeightsAndBiases) -> Vec<DesiredObject> {
    let loaded =
        wandb_values::load::from_user_tree(wandb.spec.values.clone()).expect("valid values");
    wandb_operator_core::desired::desired(wandb, &loaded.values)
}

/// The API path of an object.
fn path_of(kind: &str, name: &str) -> String {
    let info = kinds::info(kind).unwrap_or_else(|| panic!("unknown kind {kind}"));
    let prefix = match info.api_version.split_once('/') {
        Some(_) => format!("/apis/{}", info.api_version),
        None => format!("/api/{}", info.api_version),
    };
    if info.namespaced {
        format!("{prefix}/namespaces/{NS}/{}/{name}", info.plural)
    } else {
        format!("{prefix}/{}/{name}", info.plural)
    }
}

fn path(o: &DesiredObject) -> String {
    path_of(&o.kind, &o.name)
}

/// The path of a component's object of a kind (names may carry a postfix).
fn path_of_component(wandb: &WeightsAndBiases, kind: &str, component: &str) -> String {
    desired(wandb)
        .iter()
        .find(|o| o.kind == kind && o.component == component)
        .map(path)
        .unwrap_or_else(|| panic!("no {kind} of {component}"))
}

/// Paths applied (server-side apply of an object, not a status).
fn applied(requests: &[Seen]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.method == Method::PATCH && r.patch == "apply" && !r.path.ends_with("/status"))
        .map(|r| r.path.clone())
        .collect()
}

fn deleted(requests: &[Seen]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.method == Method::DELETE)
        .map(|r| r.path.clone())
        .collect()
}

fn status_writes(requests: &[Seen]) -> usize {
    requests
        .iter()
        .filter(|r| r.method == Method::PATCH && r.path == format!("{RESOURCE}/status"))
        .count()
}

/// The status the engine last wrote.
fn status(fake: &FakeApi) -> WeightsAndBiasesStatus {
    let stored = fake.get(RESOURCE).expect("the status was written");
    serde_json::from_value(stored["status"].clone()).expect("a status")
}

fn condition(status: &WeightsAndBiasesStatus, type_: &str) -> (String, String, String) {
    let c = status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap_or_else(|| panic!("no {type_} condition: {:?}", status.conditions));
    (c.status.clone(), c.reason.clone(), c.message.clone())
}

/// The resource as the next reconcile sees it: with the status written.
fn with_status(mut wandb: WeightsAndBiases, fake: &FakeApi) -> WeightsAndBiases {
    wandb.status = Some(status(fake));
    wandb
}

/// A fresh install whose workloads are ready at once, reconciled once;
/// the requests are cleared.
async fn installed(values: Value) -> (FakeApi, Context, WeightsAndBiases) {
    let wandb = resource(values);
    let fake = fake_for(&wandb, true);
    let ctx = context(&fake);
    let action = engine::reconcile(&wandb, &ctx)
        .await
        .expect("the install reconciles");
    assert_eq!(
        action,
        Action::requeue(ctx.resync),
        "a ready install waits for its resync"
    );
    fake.take_requests();
    let wandb = with_status(wandb, &fake);
    (fake, ctx, wandb)
}

#[tokio::test]
async fn a_fresh_install_applies_each_object_once_in_stage_order() {
    let wandb = resource(values());
    let fake = fake_for(&wandb, true);
    let ctx = context(&fake);
    engine::reconcile(&wandb, &ctx).await.expect("reconciled");

    let requests = fake.take_requests();
    let applied = applied(&requests);
    let objects = desired(&wandb);
    let wanted: Vec<String> = objects.iter().map(path).collect();
    let unique: BTreeSet<&String> = applied.iter().collect();
    assert_eq!(
        unique.len(),
        applied.len(),
        "an object applied twice: {applied:?}"
    );
    assert_eq!(
        unique,
        wanted.iter().collect::<BTreeSet<_>>(),
        "applied other objects than desired"
    );
    // Stage order: no object is applied before one of an earlier stage.
    let stage_of = |p: &String| objects.iter().find(|o| path(o) == *p).map(|o| o.stage);
    let stages: Vec<Stage> = applied.iter().filter_map(stage_of).collect();
    assert!(
        stages.windows(2).all(|w| w[0] <= w[1]),
        "applied out of stage order: {stages:?}"
    );
    assert_eq!(deleted(&requests), Vec::<String>::new());
    assert_eq!(status_writes(&requests), 1);
    let s = status(&fake);
    assert_eq!(condition(&s, types::READY).0, "True");
    assert_eq!(condition(&s, types::VALUES_VALID).0, "True");
    assert_eq!(s.host.as_deref(), Some("https://wandb.example.com"));
    let metrics = ctx.metrics.encode();
    assert!(
        metrics.contains(r#"wandb_operator_install_ready{namespace="wandb",name="wandb"} 1"#),
        "{metrics}"
    );
    // The inventory is what it may prune later: never data.
    assert!(!s.inventory.is_empty());
    assert!(
        s.inventory
            .iter()
            .all(|k| !k.starts_with("PersistentVolumeClaim/")),
        "data in the inventory: {:?}",
        s.inventory
    );
}

#[tokio::test]
async fn stores_not_ready_hold_the_migrations_and_services() {
    let wandb = resource(values());
    let fake = fake_for(&wandb, false);
    let ctx = context(&fake);
    let action = engine::reconcile(&wandb, &ctx).await.expect("reconciled");
    assert_eq!(action, Action::requeue(Duration::from_secs(10)));

    let applied: BTreeSet<String> = applied(&fake.take_requests()).into_iter().collect();
    for o in desired(&wandb) {
        let expected = matches!(o.stage, Stage::Config | Stage::Stores);
        assert_eq!(
            applied.contains(&path(&o)),
            expected,
            "{} of stage {:?}: applied {}",
            o.key(),
            o.stage,
            !expected
        );
    }
    let (ready, reason, message) = condition(&status(&fake), types::READY);
    assert_eq!(
        (ready.as_str(), reason.as_str()),
        ("False", reasons::PROGRESSING)
    );
    assert!(message.contains("waiting for the stores"), "{message}");
}

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

/// The resource with its spec changed by `f`, as the next reconcile sees it.
fn edited(wandb: &WeightsAndBiases, f: impl FnOnce(&mut WeightsAndBiases)) -> WeightsAndBiases {
    let mut next = wandb.clone();
    next.metadata.generation = next.metadata.generation.map(|g| g + 1);
    f(&mut next);
    next
}

#[tokio::test]
async fn a_paused_install_is_left_alone_and_repaired_on_resume() {
    let (fake, ctx, wandb) = installed(values()).await;
    let paused = edited(&wandb, |w| w.spec.paused = true);
    let action = engine::reconcile(&paused, &ctx).await.expect("reconciled");
    assert_eq!(
        action,
        Action::await_change(),
        "a paused install is not requeued"
    );
    let requests = fake.take_requests();
    assert_eq!(
        requests,
        vec![Seen {
            method: Method::PATCH,
            path: format!("{RESOURCE}/status"),
            patch: "apply"
        }],
        "a pause writes its condition and nothing else"
    );
    let (is_paused, reason, message) = condition(&status(&fake), types::PAUSED);
    assert_eq!(
        (is_paused.as_str(), reason.as_str()),
        ("True", reasons::PAUSED)
    );
    assert!(message.contains("spec.paused"), "{message}");
    assert_eq!(condition(&status(&fake), types::READY).0, "True");

    // Someone deletes a Deployment by hand: nothing is read or written.
    let app = path_of_component(&wandb, "Deployment", "app");
    fake.state().objects.remove(&app);
    let paused = with_status(paused, &fake);
    engine::reconcile(&paused, &ctx).await.expect("reconciled");
    assert_eq!(fake.take_requests(), vec![], "requests while paused");
    assert!(fake.get(&app).is_none());

    // Resumed: the Deployment comes back.
    let resumed = edited(&paused, |w| w.spec.paused = false);
    engine::reconcile(&resumed, &ctx).await.expect("reconciled");
    assert_eq!(applied(&fake.take_requests()), vec![app.clone()]);
    assert!(fake.get(&app).is_some());
    assert_eq!(condition(&status(&fake), types::PAUSED).0, "False");
}

#[tokio::test]
async fn the_paused_annotation_pauses_as_the_spec_does() {
    let (fake, ctx, wandb) = installed(values()).await;
    let mut paused = wandb.clone();
    paused
        .metadata
        .annotations
        .get_or_insert_with(Default::default)
        .insert(
            wandb_operator_core::pause::PAUSED_ANNOTATION.into(),
            "true".into(),
        );
    let app = path_of_component(&wandb, "Deployment", "app");
    fake.state().objects.remove(&app);
    engine::reconcile(&paused, &ctx).await.expect("reconciled");
    assert!(applied(&fake.take_requests()).is_empty());
    let (is_paused, _, message) = condition(&status(&fake), types::PAUSED);
    assert_eq!(is_paused, "True");
    assert!(message.contains("apps.wandb.com/paused"), "{message}");
}

#[tokio::test]
async fn a_stopped_install_scales_the_services_to_zero_and_keeps_its_data() {
    let (fake, ctx, wandb) = installed(values()).await;
    let objects = desired(&wandb);
    let is_service = |o: &&DesiredObject| {
        o.kind == "Deployment"
            && wandb_render::catalog::CATALOG
                .service(&o.component)
                .is_some()
    };
    let services: Vec<&DesiredObject> = objects.iter().filter(is_service).collect();
    // The stores' exporters watch the stores, which keep running.
    let others: Vec<(String, Value)> = objects
        .iter()
        .filter(|o| o.kind == "Deployment" && !is_service(o))
        .map(|o| (path(o), fake.get(&path(o)).expect("a Deployment")))
        .collect();
    assert!(services.len() >= 4 && !others.is_empty(), "{services:?}");
    let autoscalers: BTreeSet<String> = objects
        .iter()
        .filter(|o| o.kind == "HorizontalPodAutoscaler")
        .map(path)
        .collect();
    assert!(
        !autoscalers.is_empty(),
        "the default install has autoscalers"
    );
    let data: Vec<(String, Value)> = fake
        .state()
        .objects
        .iter()
        .filter(|(p, _)| p.contains("/persistentvolumeclaims/") || p.contains("/secrets/"))
        .map(|(p, o)| (p.clone(), o.clone()))
        .collect();
    let stores: Vec<(String, Value)> = objects
        .iter()
        .filter(|o| o.stage == Stage::Stores)
        .map(|o| (path(o), fake.get(&path(o)).expect("a store")))
        .collect();

    let stopped = edited(&wandb, |w| w.spec.stopped = true);
    engine::reconcile(&stopped, &ctx).await.expect("reconciled");
    let requests = fake.take_requests();
    assert_eq!(
        deleted(&requests).into_iter().collect::<BTreeSet<_>>(),
        autoscalers,
        "the autoscalers are removed, and nothing else"
    );
    for o in &services {
        let live = fake.get(&path(o)).expect("the Deployment stays");
        assert_eq!(live["spec"]["replicas"], 0, "{}", o.key());
    }
    for (p, before) in stores.iter().chain(&others) {
        assert_eq!(fake.get(p).as_ref(), Some(before), "{p} changed");
    }
    for (p, before) in &data {
        assert_eq!(fake.get(p).as_ref(), Some(before), "{p} changed");
    }
    let (ready, reason, _) = condition(&status(&fake), types::READY);
    assert_eq!(
        (ready.as_str(), reason.as_str()),
        ("False", reasons::STOPPED)
    );

    // Started again: the values' replicas (an autoscaler's minimum, where
    // one has them) and the autoscalers are back.
    let started = edited(&with_status(stopped, &fake), |w| w.spec.stopped = false);
    engine::reconcile(&started, &ctx).await.expect("reconciled");
    fake.take_requests();
    let floors = wandb_operator_core::readiness::autoscaler_floors(
        objects.iter().map(|o| (o.kind.as_str(), &o.body)),
    );
    for o in &services {
        let live = fake.get(&path(o)).expect("the Deployment");
        let expected = o.body["spec"]["replicas"]
            .as_i64()
            .or_else(|| floors.get(&o.key()).copied())
            .expect("replicas or an autoscaler");
        assert_eq!(live["spec"]["replicas"], expected, "{}", o.key());
    }
    for p in &autoscalers {
        assert!(fake.get(p).is_some(), "{p} is not back");
    }
    assert_eq!(condition(&status(&fake), types::READY).0, "True");
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
