//! `wandb-operator run`: watches `WeightsAndBiases` resources and the
//! objects they own, and reconciles each with the finalizer that applies the
//! retention policy when one is deleted.

use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, TryStreamExt, future};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::reflector::store::Writer;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use tokio::sync::watch;
use tracing::{error, info, warn};

use crate::cache::Cache;
use crate::crd::{self, WeightsAndBiases};
use crate::desired::{FIELD_MANAGER, INSTANCE_LABEL};
use crate::engine::{self, Caches, Context, Error};
use crate::events::{EventType, Recorder};
use crate::kinds;
use crate::metrics::{ErrorLabel, Metrics, ResultLabel};

/// The finalizer that runs the retention policy.
pub const FINALIZER: &str = "apps.wandb.com/retention";

/// Where the operator looks.
#[derive(Debug, Clone)]
pub struct Scope {
    /// `None`: every namespace.
    pub namespace: Option<String>,
}

/// Applies the operator's own CRD, so that upgrading the operator upgrades
/// the CRD too (Helm does not upgrade CRDs).
///
/// The CRD is written while it is sent, and of the answers only the status
/// is read: as a tree, the CRD took megabytes, which the operator's heap
/// kept long after it was applied.
pub async fn ensure_crd(client: &Client) -> Result<(), kube::Error> {
    let request = kube::core::Request::new(format!(
        "/apis/{}/customresourcedefinitions",
        <CustomResourceDefinition as kube::Resource>::api_version(&())
    ));
    let values_schema = wandb_values::check::full_schema();
    // A no-op apply of this megabyte costs the API server a second or more
    // (four on a busy node), at every start, before the operator is ready:
    // the CRD this operator applied before says so by its digest.
    let digest = crd::digest(&values_schema);
    let read = request
        .get_metadata(crd::NAME, &Default::default())
        .map_err(kube::Error::BuildRequest)?;
    if let Ok(live) = client.request::<CrdMetadata>(read).await
        && digest.is_some()
        && live
            .metadata
            .annotations
            .as_ref()
            .and_then(|a| a.get(crd::DIGEST_ANNOTATION))
            == digest.as_ref()
    {
        info!("the CRD is this operator's already");
        // The document written for its digest is freed.
        crate::memory::release_free_pages();
        return Ok(());
    }
    let apply = {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        request.patch(
            crd::NAME,
            &params,
            &Patch::Apply(crd::document(&values_schema, digest.as_deref())),
        )
    }
    .map_err(kube::Error::BuildRequest)?;
    let mut crd: CrdStatus = client.request(apply).await?;
    // The CRD as sent and as answered (a megabyte each) are freed.
    crate::memory::release_free_pages();
    // Wait (briefly) until the API serves it.
    for _ in 0..50 {
        if crd.established() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        let get = request
            .get(crd::NAME, &Default::default())
            .map_err(kube::Error::BuildRequest)?;
        if let Ok(read) = client.request(get).await {
            crd = read;
        }
    }
    Ok(())
}

/// What [`ensure_crd`] reads first of the CRD: its metadata alone.
#[derive(serde::Deserialize, Default)]
struct CrdMetadata {
    #[serde(default)]
    metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
}

/// What [`ensure_crd`] reads of the CRD: its conditions, the rest skipped.
#[derive(serde::Deserialize, Default)]
struct CrdStatus {
    #[serde(default)]
    status: Option<CrdConditions>,
}

#[derive(serde::Deserialize, Default)]
struct CrdConditions {
    /// `null` in a CRD just created.
    #[serde(default)]
    conditions: Option<Vec<CrdCondition>>,
}

#[derive(serde::Deserialize)]
struct CrdCondition {
    #[serde(rename = "type")]
    type_: String,
    status: String,
}

impl CrdStatus {
    fn established(&self) -> bool {
        self.status.as_ref().is_some_and(|s| {
            s.conditions
                .iter()
                .flatten()
                .any(|c| c.type_ == "Established" && c.status == "True")
        })
    }
}

/// A watch of one managed kind that fills its cache as it is polled.
pub type WatchStream = futures::stream::BoxStream<'static, Result<DynamicObject, watcher::Error>>;

/// One cache per managed kind, and the watch streams that fill them (to be
/// driven by the controller, or by whoever else reconciles).
pub fn caches(
    client: &Client,
    scope: &Scope,
) -> (Caches, Vec<(WatchStream, kube::api::ApiResource)>) {
    let mut caches = Caches::new();
    let mut streams = Vec::new();
    let selector = watcher::Config::default()
        .labels(INSTANCE_LABEL)
        .any_semantic();
    for info in kinds::watched() {
        let ar = info.api_resource();
        let api: Api<DynamicObject> = match (&scope.namespace, info.namespaced) {
            (Some(ns), true) => Api::namespaced_with(client.clone(), ns, &ar),
            _ => Api::all_with(client.clone(), &ar),
        };
        let cache = Cache::default();
        caches.insert(info.kind, cache.clone());
        let stream = watcher(api, selector.clone())
            .default_backoff()
            .modify(forget_bookkeeping)
            .inspect_ok(move |event| cache.apply(event))
            .touched_objects()
            .boxed();
        streams.push((stream, ar));
    }
    (caches, streams)
}

/// Drops what the operator never reads from a cached object: its managed
/// fields (often the larger part of a small object) and kubectl's
/// last-applied annotation. The caches hold every managed object of every
/// install, so this is most of the operator's memory.
fn forget_bookkeeping(obj: &mut DynamicObject) {
    obj.metadata.managed_fields = None;
    if let Some(annotations) = obj.metadata.annotations.as_mut() {
        annotations.remove("kubectl.kubernetes.io/last-applied-configuration");
    }
}

/// The controller over `WeightsAndBiases`, woken by changes to the
/// objects it owns.
pub fn controller(
    client: &Client,
    scope: &Scope,
    streams: Vec<(WatchStream, kube::api::ApiResource)>,
) -> Controller<WeightsAndBiases> {
    let wandb_api: Api<WeightsAndBiases> = match &scope.namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    };
    let writer = Writer::<WeightsAndBiases>::default();
    let reader = writer.as_reader();
    let main = kube::runtime::reflector(
        writer,
        watcher(wandb_api, watcher::Config::default().any_semantic()).default_backoff(),
    )
    .applied_objects()
    .boxed();
    assemble(main, reader, streams)
}

/// How many resources are reconciled at once. Each reconcile holds its
/// whole render (a few MB for a default install) until it ends, so this
/// bounds the operator's memory with many resources; a reconcile mostly
/// waits on the API server, so a few at once keep the CPU busy.
const RECONCILES_AT_ONCE: u16 = 4;

/// A watch stream of the resources themselves.
type ResourceStream = futures::stream::BoxStream<'static, Result<WeightsAndBiases, watcher::Error>>;

/// The controller from its watch streams, each of which backs off on its
/// own errors.
///
/// The controller's own backoff is off: it pauses the merged stream of all
/// watches, so every cache, for any one watch's error. After an API server
/// restart each of the 19 watches fails once (its resourceVersion is older
/// than the new server's watch cache), and with kube's default backoff
/// (growing to 30 s per error) the caches stayed stale, the installs
/// frozen, for minutes.
fn assemble(
    main: ResourceStream,
    reader: kube::runtime::reflector::Store<WeightsAndBiases>,
    streams: Vec<(WatchStream, kube::api::ApiResource)>,
) -> Controller<WeightsAndBiases> {
    let mut controller = Controller::for_stream(main, reader)
        .trigger_backoff(NoPause)
        .with_config(kube::runtime::controller::Config::default().concurrency(RECONCILES_AT_ONCE));
    for (stream, ar) in streams {
        controller = controller.watches_stream_with(stream, owner_of, ar);
    }
    controller
}

/// No pause after an error (see [`assemble`]).
struct NoPause;

impl Iterator for NoPause {
    type Item = Duration;
    fn next(&mut self) -> Option<Duration> {
        Some(Duration::ZERO)
    }
}

impl kube::runtime::utils::Backoff for NoPause {
    fn reset(&mut self) {}
}

/// The resource that owns a managed object, from its owner references.
fn owner_of(obj: DynamicObject) -> Option<ObjectRef<WeightsAndBiases>> {
    let namespace = obj.namespace()?;
    obj.owner_references()
        .iter()
        .find(|o| o.kind == "WeightsAndBiases" && o.api_version.starts_with("apps.wandb.com/"))
        .map(|o| ObjectRef::new(&o.name).within(&namespace))
}

/// Waits until every cache has been filled by its first list.
///
/// By asking and sleeping in between, so that any number of reconciles can
/// wait at once. (kube's `Store::wait_until_ready` keeps the waker of only
/// the last of its concurrent waiters: with several resources at start, all
/// but one reconcile waited for good.)
pub async fn wait_for_caches(caches: &Caches) {
    while !caches.values().all(Cache::is_ready) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One reconcile of a resource, through the finalizer.
pub async fn reconcile(wandb: Arc<WeightsAndBiases>, ctx: Arc<Context>) -> Result<Action, Error> {
    // Decide on full caches, so a restart does not re-apply everything.
    wait_for_caches(&ctx.caches).await;
    let started = std::time::Instant::now();
    let api: Api<WeightsAndBiases> =
        Api::namespaced(ctx.client.clone(), &wandb.namespace().unwrap_or_default());
    let key = key_of(&wandb);
    let result = without_v1_finalizer_if_deleted(wandb, &ctx).await;
    let result = match result {
        Ok(wandb) => finalizer(&api, FINALIZER, wandb, |event| async {
            match event {
                FinalizerEvent::Apply(w) => engine::reconcile(&w, &ctx).await,
                FinalizerEvent::Cleanup(w) => engine::cleanup(&w, &ctx).await,
            }
        })
        .await
        .or_else(gone_is_done),
        Err(e) => Err(e),
    };
    ctx.metrics
        .reconcile_duration
        .observe(started.elapsed().as_secs_f64());
    if result.is_ok() {
        failures(&ctx).remove(&key);
    }
    let label = if result.is_ok() { "ok" } else { "error" };
    ctx.metrics
        .reconciles
        .get_or_create(&ResultLabel {
            result: label.into(),
        })
        .inc();
    // What the reconcile read and rendered is freed now (see `memory`).
    crate::memory::release_free_pages();
    result
}

/// The finalizer's outcome as the engine's. Removing the finalizer of a
/// resource that is already gone (another reconcile of it removed the
/// finalizer, and the API server deleted it) is what was wanted: done.
fn gone_is_done(error: kube::runtime::finalizer::Error<Error>) -> Result<Action, Error> {
    use kube::runtime::finalizer::Error as Finalizer;
    match error {
        Finalizer::ApplyFailed(e) | Finalizer::CleanupFailed(e) => Err(e),
        Finalizer::RemoveFinalizer(kube::Error::Api(status)) if status.code == 404 => {
            Ok(Action::await_change())
        }
        other => Err(Error::Finalizer(other.to_string())),
    }
}

/// A resource being deleted loses the finalizer of W&B's Go operator v1
/// first: v1 no longer runs, and nothing else would ever remove it.
async fn without_v1_finalizer_if_deleted(
    wandb: Arc<WeightsAndBiases>,
    ctx: &Context,
) -> Result<Arc<WeightsAndBiases>, Error> {
    if wandb.metadata.deletion_timestamp.is_none() {
        return Ok(wandb);
    }
    match engine::remove_v1_finalizer(&wandb, ctx).await? {
        Some(patched) => {
            info!(resource = %wandb.name_any(), finalizer = crate::v1::FINALIZER, "removed W&B's Go operator v1's finalizer");
            let note = format!(
                "removed the finalizer {} of W&B's Go operator v1, which no longer runs this install",
                crate::v1::FINALIZER
            );
            ctx.event(&wandb, EventType::Normal, "TookOverFromV1", "Cleanup", note)
                .await;
            Ok(Arc::new(patched))
        }
        None => Ok(wandb),
    }
}

/// Retries a failing resource with exponential backoff: 5 s after its
/// first failure, doubling with each one after, at most 5 minutes apart.
pub fn error_policy(wandb: Arc<WeightsAndBiases>, error: &Error, ctx: Arc<Context>) -> Action {
    let failed = {
        let mut failures = failures(&ctx);
        let n = failures.entry(key_of(&wandb)).or_insert(0);
        *n = n.saturating_add(1);
        *n
    };
    let delay = retry_delay(failed);
    warn!(resource = %wandb.name_any(), error = %error, failed, retry_in = ?delay, "reconcile failed");
    ctx.metrics
        .errors
        .get_or_create(&ErrorLabel {
            error: error.metric_label().into(),
        })
        .inc();
    Action::requeue(delay)
}

/// The wait before retrying after `failed` consecutive failures.
fn retry_delay(failed: u32) -> Duration {
    let doublings = failed.saturating_sub(1).min(6);
    (Duration::from_secs(5) * 2u32.pow(doublings)).min(Duration::from_secs(300))
}

fn key_of(wandb: &WeightsAndBiases) -> String {
    format!(
        "{}/{}",
        wandb.namespace().unwrap_or_default(),
        wandb.name_any()
    )
}

fn failures(ctx: &Context) -> std::sync::MutexGuard<'_, std::collections::BTreeMap<String, u32>> {
    // A counter map cannot be left inconsistent by a panic.
    ctx.failures.lock().unwrap_or_else(|e| e.into_inner())
}

/// Runs the controller until `shutdown` fires.
pub async fn run(
    client: Client,
    scope: Scope,
    metrics: Arc<Metrics>,
    ready: watch::Sender<bool>,
    shutdown: impl future::Future<Output = ()> + Send + Sync + 'static,
) {
    let recorder = Recorder::new(
        client.clone(),
        "wandb-operator",
        std::env::var("POD_NAME").ok(),
    );
    let (caches, streams) = caches(&client, &scope);
    let controller = controller(&client, &scope, streams);
    let ctx = Arc::new(Context {
        client,
        caches,
        metrics,
        recorder: Some(recorder),
        resync: Duration::from_secs(300),
        failures: Default::default(),
        documents: Default::default(),
        server_manifests: Default::default(),
    });
    let _ = ready.send(true);
    info!(namespace = ?scope.namespace, "reconciling");
    controller
        .graceful_shutdown_on(shutdown)
        .run(reconcile, error_policy, ctx)
        .for_each(|result| async move {
            if let Err(e) = result {
                match e {
                    // Reported by the error policy already.
                    kube::runtime::controller::Error::ReconcilerFailed(..) => {}
                    // A resource deleted while its reconcile was queued.
                    kube::runtime::controller::Error::ObjectNotFound(obj) => {
                        tracing::debug!(object = %obj, "gone before its reconcile")
                    }
                    other => error!(error = %other, "controller"),
                }
            }
        })
        .await;
    info!("controller stopped");
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::stream::FuturesUnordered;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// The API server's answer to applying a new CRD has `conditions: null`
    /// (reading it as a list stopped the operator at start).
    #[test]
    fn a_crd_status_is_read_with_or_without_conditions() {
        let read =
            |v: serde_json::Value| serde_json::from_value::<CrdStatus>(v).map(|s| s.established());
        let new = serde_json::json!({"kind": "CustomResourceDefinition", "spec": {"big": [1, 2]},
            "status": {"conditions": null, "acceptedNames": {"kind": ""}}});
        assert!(matches!(read(new), Ok(false)));
        assert!(matches!(read(serde_json::json!({})), Ok(false)));
        let established = serde_json::json!({"status": {"conditions": [
            {"type": "NamesAccepted", "status": "True", "reason": "NoConflicts"},
            {"type": "Established", "status": "True"}]}});
        assert!(matches!(read(established), Ok(true)));
        let not_yet = serde_json::json!({"status": {"conditions": [
            {"type": "Established", "status": "False"}]}});
        assert!(matches!(read(not_yet), Ok(false)));
    }

    #[test]
    fn retries_back_off_exponentially_up_to_five_minutes() {
        let delays: Vec<u64> = (1..=9).map(|n| retry_delay(n).as_secs()).collect();
        assert_eq!(delays, [5, 10, 20, 40, 80, 160, 300, 300, 300]);
        assert_eq!(retry_delay(u32::MAX), Duration::from_secs(300));
    }

    /// A watch that keeps failing does not hold up the others: a resource
    /// that appears meanwhile is reconciled at once (with kube's default
    /// backoff on the merged watches, only after seconds, then minutes).
    #[tokio::test]
    async fn one_failing_watch_does_not_hold_up_the_others() {
        let (reader, mut writer) = kube::runtime::reflector::store::<WeightsAndBiases>();
        writer.apply_watcher_event(&watcher::Event::Init);
        writer.apply_watcher_event(&watcher::Event::InitDone);
        let mut wandb = WeightsAndBiases::new("wandb", Default::default());
        wandb.metadata.namespace = Some("ns".into());
        // The resource shows up a second in ...
        let shown = wandb.clone();
        let appears = tokio::time::Instant::now() + Duration::from_secs(1);
        let main = futures::stream::once(async move {
            tokio::time::sleep_until(appears).await;
            writer.apply_watcher_event(&watcher::Event::Apply(shown.clone()));
            Ok(shown)
        })
        .chain(futures::stream::pending())
        .boxed();
        // ... while another watch fails every 10 ms.
        let failing: WatchStream = futures::stream::unfold((), |()| async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            Some((Err(watcher::Error::NoResourceVersion), ()))
        })
        .boxed();
        let ar = kinds::info("Secret").unwrap().api_resource();
        let reconciled = Arc::new(AtomicUsize::new(0));
        let controller = assemble(main, reader, vec![(failing, ar)]);
        let count = reconciled.clone();
        let when = Arc::new(std::sync::Mutex::new(None));
        let at = when.clone();
        let run = controller.run(
            move |_, _: Arc<()>| {
                count.fetch_add(1, Ordering::SeqCst);
                at.lock()
                    .unwrap()
                    .get_or_insert(tokio::time::Instant::now());
                async { Ok::<_, Error>(Action::await_change()) }
            },
            |_, _, _| Action::await_change(),
            Arc::new(()),
        );
        let _ = tokio::time::timeout(Duration::from_secs(3), async {
            let mut run = std::pin::pin!(run);
            while run.next().await.is_some() {
                if reconciled.load(Ordering::SeqCst) > 0 {
                    break;
                }
            }
        })
        .await;
        assert_eq!(
            reconciled.load(Ordering::SeqCst),
            1,
            "the resource was not reconciled"
        );
        let after = when.lock().unwrap().expect("reconciled") - appears;
        assert!(
            after < Duration::from_millis(500),
            "reconciled {after:?} after it appeared"
        );
    }

    /// Several reconciles waiting for the caches at once, polled from one
    /// task as the controller's runner polls them, all go on once the
    /// caches are filled (they used to wait for good, all but one).
    #[tokio::test]
    async fn concurrent_reconciles_all_go_on_once_the_caches_are_filled() {
        let mut caches = Caches::new();
        for info in kinds::watched().take(3) {
            caches.insert(info.kind, Cache::default());
        }
        let mut waiting: FuturesUnordered<_> = (0..5).map(|_| wait_for_caches(&caches)).collect();
        // They wait while the caches are empty.
        let early = tokio::time::timeout(Duration::from_millis(100), waiting.next()).await;
        assert!(
            early.is_err(),
            "a reconcile went on before the caches were filled"
        );
        for cache in caches.values() {
            cache.apply(&watcher::Event::Init);
            cache.apply(&watcher::Event::InitDone);
        }
        let mut done = 0;
        while tokio::time::timeout(Duration::from_secs(5), waiting.next())
            .await
            .expect("a reconcile still waits for the filled caches")
            .is_some()
        {
            done += 1;
        }
        assert_eq!(done, 5);
    }
}
