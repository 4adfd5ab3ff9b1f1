//! The resource, the API in memory, and what a test reads of the requests
//! made.

use super::*;

pub fn values() -> Value {
    json!({"global": {"host": "https://wandb.example.com", "license": "test"}})
}

pub fn resource(values: Value) -> WeightsAndBiases {
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
pub fn fake_for(wandb: &WeightsAndBiases, ready: bool) -> FakeApi {
    let fake = FakeApi::default();
    fake.insert(RESOURCE, serde_json::to_value(wandb).expect("JSON"));
    fake.state().ready_on_apply = ready;
    fake
}

pub fn context(fake: &FakeApi) -> Context {
    Context {
        client: fake.client(),
        caches: Default::default(),
        metrics: Arc::new(Default::default()),
        recorder: None,
        resync: Duration::from_secs(300),
        failures: Default::default(),
        documents: Default::default(),
        server_manifests: Default::default(),
    }
}

/// What the values ask for, as the engine computes it.
pub fn desired(wandb: &WeightsAndBiases) -> Vec<DesiredObject> {
    let loaded =
        wandb_render::builtin::from_user_tree(wandb.spec.values.clone()).expect("valid values");
    let catalog = wandb_render::Catalog::builtin().expect("the built-in document");
    wandb_operator_core::desired::desired(wandb, catalog, &loaded.values)
}

/// The API path of an object.
pub fn path_of(kind: &str, name: &str) -> String {
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

pub fn path(o: &DesiredObject) -> String {
    path_of(&o.kind, &o.name)
}

/// The path of a component's object of a kind (names may carry a postfix).
pub fn path_of_component(wandb: &WeightsAndBiases, kind: &str, component: &str) -> String {
    desired(wandb)
        .iter()
        .find(|o| o.kind == kind && o.component == component)
        .map(path)
        .unwrap_or_else(|| panic!("no {kind} of {component}"))
}

/// Paths applied (server-side apply of an object, not a status).
pub fn applied(requests: &[Seen]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.method == Method::PATCH && r.patch == "apply" && !r.path.ends_with("/status"))
        .map(|r| r.path.clone())
        .collect()
}

pub fn deleted(requests: &[Seen]) -> Vec<String> {
    requests
        .iter()
        .filter(|r| r.method == Method::DELETE)
        .map(|r| r.path.clone())
        .collect()
}

pub fn status_writes(requests: &[Seen]) -> usize {
    requests
        .iter()
        .filter(|r| r.method == Method::PATCH && r.path == format!("{RESOURCE}/status"))
        .count()
}

/// The status the engine last wrote.
pub fn status(fake: &FakeApi) -> WeightsAndBiasesStatus {
    let stored = fake.get(RESOURCE).expect("the status was written");
    serde_json::from_value(stored["status"].clone()).expect("a status")
}

pub fn condition(status: &WeightsAndBiasesStatus, type_: &str) -> (String, String, String) {
    let c = status
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap_or_else(|| panic!("no {type_} condition: {:?}", status.conditions));
    (c.status.clone(), c.reason.clone(), c.message.clone())
}

/// The resource as the next reconcile sees it: with the status written.
pub fn with_status(mut wandb: WeightsAndBiases, fake: &FakeApi) -> WeightsAndBiases {
    wandb.status = Some(status(fake));
    wandb
}

/// A fresh install whose workloads are ready at once, reconciled once;
/// the requests are cleared.
pub async fn installed(values: Value) -> (FakeApi, Context, WeightsAndBiases) {
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

/// The resource with its spec changed by `f`, as the next reconcile sees it.
pub fn edited(wandb: &WeightsAndBiases, f: impl FnOnce(&mut WeightsAndBiases)) -> WeightsAndBiases {
    let mut next = wandb.clone();
    next.metadata.generation = next.metadata.generation.map(|g| g + 1);
    f(&mut next);
    next
}
