//! `wandb-operator run`: watches `WeightsAndBiases` resources and the
//! objects they own, and reconciles each with the finalizer that applies the
//! retention policy when one is deleted.

use std::sync::Arc;
use std::time::Duration;

use futures::{StreamExt, future};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::reflector::store::Writer;
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use tokio::sync::watch;
use tracing::{error, info, warn};

use crate::crd::{self, WeightsAndBiases};
use crate::desired::{FIELD_MANAGER, INSTANCE_LABEL};
use crate::engine::{self, Caches, Context, Error};
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
pub async fn ensure_crd(client: &Client) -> Result<(), kube::Error> {
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd = crd::crd();
    let name = crd.name_any();
    crds.patch(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&crd),
    )
    .await?;
    // Wait (briefly) until the API serves it.
    for _ in 0..50 {
        if let Ok(c) = crds.get(&name).await {
            let established = c.status.and_then(|s| s.conditions).is_some_and(|cs| {
                cs.iter()
                    .any(|c| c.type_ == "Established" && c.status == "True")
            });
            if established {
                return Ok(());
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
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
        let writer = Writer::<DynamicObject>::new(ar.clone());
        caches.insert(info.kind, writer.as_reader());
        let stream =
            kube::runtime::reflector(writer, watcher(api, selector.clone()).default_backoff())
                .touched_objects()
                .boxed();
        streams.push((stream, ar));
    }
    (caches, streams)
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
    let mut controller = Controller::new(wandb_api, watcher::Config::default().any_semantic());
    for (stream, ar) in streams {
        controller = controller.watches_stream_with(stream, owner_of, ar);
    }
    controller
}

/// The resource that owns a managed object, from its owner references.
fn owner_of(obj: DynamicObject) -> Option<ObjectRef<WeightsAndBiases>> {
    let namespace = obj.namespace()?;
    obj.owner_references()
        .iter()
        .find(|o| o.kind == "WeightsAndBiases" && o.api_version.starts_with("apps.wandb.com/"))
        .map(|o| ObjectRef::new(&o.name).within(&namespace))
}

/// One reconcile of a resource, through the finalizer.
pub async fn reconcile(wandb: Arc<WeightsAndBiases>, ctx: Arc<Context>) -> Result<Action, Error> {
    // Decide on full caches, so a restart does not re-apply everything.
    for cache in ctx.caches.values() {
        let _ = cache.wait_until_ready().await;
    }
    let started = std::time::Instant::now();
    let api: Api<WeightsAndBiases> =
        Api::namespaced(ctx.client.clone(), &wandb.namespace().unwrap_or_default());
    let result = finalizer(&api, FINALIZER, wandb, |event| async {
        match event {
            FinalizerEvent::Apply(w) => engine::reconcile(&w, &ctx).await,
            FinalizerEvent::Cleanup(w) => engine::cleanup(&w, &ctx).await,
        }
    })
    .await
    .map_err(|e| match e {
        kube::runtime::finalizer::Error::ApplyFailed(e)
        | kube::runtime::finalizer::Error::CleanupFailed(e) => e,
        other => Error::Finalizer(other.to_string()),
    });
    ctx.metrics
        .reconcile_duration
        .observe(started.elapsed().as_secs_f64());
    let label = if result.is_ok() { "ok" } else { "error" };
    ctx.metrics
        .reconciles
        .get_or_create(&ResultLabel {
            result: label.into(),
        })
        .inc();
    result
}

/// Backs off on errors: 5 s, doubling per consecutive failure would need
/// state; kube's controller already spaces retries of a failing object.
pub fn error_policy(wandb: Arc<WeightsAndBiases>, error: &Error, ctx: Arc<Context>) -> Action {
    warn!(resource = %wandb.name_any(), error = %error, "reconcile failed");
    ctx.metrics
        .errors
        .get_or_create(&ErrorLabel {
            error: error.metric_label().into(),
        })
        .inc();
    Action::requeue(Duration::from_secs(5))
}

/// Runs the controller until `shutdown` fires.
pub async fn run(
    client: Client,
    scope: Scope,
    metrics: Arc<Metrics>,
    ready: watch::Sender<bool>,
    shutdown: impl future::Future<Output = ()> + Send + Sync + 'static,
) {
    let reporter = Reporter {
        controller: "wandb-operator".into(),
        instance: std::env::var("POD_NAME").ok(),
    };
    let recorder = Recorder::new(client.clone(), reporter);
    let (caches, streams) = caches(&client, &scope);
    let controller = controller(&client, &scope, streams);
    let ctx = Arc::new(Context {
        client,
        caches,
        metrics,
        recorder: Some(recorder),
        resync: Duration::from_secs(300),
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
