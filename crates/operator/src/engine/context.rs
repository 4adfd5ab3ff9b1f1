//! The [`Context`] a reconcile works with, and every request it makes of
//! the API through it: reads (from the caches where it can), applies,
//! scales, deletes, a Job's log and Events. Each request of the API is
//! counted in the metrics.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams, PropagationPolicy};
use kube::{Client, Resource};
use serde_json::{Value, json};
use tracing::warn;

use super::{Caches, Error};
use crate::crd::WeightsAndBiases;
use crate::desired::{DesiredObject, FIELD_MANAGER, owned_by_another};
use crate::events::{EventType, Recorder};
use crate::kinds::{self, KindInfo};
use crate::metrics::Metrics;
use crate::migration;

/// What a reconcile works with.
pub struct Context {
    pub client: Client,
    pub caches: Caches,
    pub metrics: Arc<Metrics>,
    pub recorder: Option<Recorder>,
    /// How often a ready install is checked again with nothing changed.
    pub resync: Duration,
    /// Consecutive failed reconciles, by `<namespace>/<name>`, for backoff.
    pub failures: std::sync::Mutex<BTreeMap<String, u32>>,
    /// Release documents read from ConfigMaps.
    pub documents: super::Documents,
    /// Release documents made from W&B's server manifests, and failed pulls.
    pub server_manifests: super::ServerManifests,
}

impl Context {
    fn api(&self, info: &KindInfo, namespace: Option<&str>) -> Api<DynamicObject> {
        let ar = info.api_resource();
        match namespace {
            Some(ns) if info.namespaced => Api::namespaced_with(self.client.clone(), ns, &ar),
            _ => Api::all_with(self.client.clone(), &ar),
        }
    }

    /// The live object, from the cache (or the API for kinds not watched).
    ///
    /// The caches hold only objects with our label. Data (a generated
    /// Secret, a volume) made by the upstream chart, by W&B's Go operator or
    /// by hand lacks it, so a miss is asked of the API: taking such a Secret
    /// for absent would give it new passwords over the ones in use.
    pub(super) async fn live(&self, o: &DesiredObject) -> Result<Option<Value>, Error> {
        let namespace = o.namespace.as_deref();
        let cached = self.live_at(&o.kind, &o.name, namespace).await?;
        match kinds::info(&o.kind) {
            Some(info) if cached.is_none() && o.holds_data() => {
                self.get(info, &o.name, namespace).await
            }
            _ => Ok(cached),
        }
    }

    async fn live_at(
        &self,
        kind: &str,
        name: &str,
        namespace: Option<&str>,
    ) -> Result<Option<Value>, Error> {
        let Some(info) = kinds::info(kind) else {
            return Ok(None);
        };
        if let Some(cache) = self.caches.get(info.kind) {
            let namespace = namespace.filter(|_| info.namespaced);
            return Ok(cache.get(namespace, name).map(|mut v| {
                // Objects from a watch's list carry no type; ours always do.
                v["apiVersion"] = info.api_version.into();
                v["kind"] = info.kind.into();
                v
            }));
        }
        self.get(info, name, namespace).await
    }

    /// The object as the API has it now.
    pub(super) async fn get(
        &self,
        info: &KindInfo,
        name: &str,
        namespace: Option<&str>,
    ) -> Result<Option<Value>, Error> {
        self.metrics.request("get");
        match self.api(info, namespace).get_opt(name).await {
            Ok(found) => Ok(found.map(|obj| serde_json::to_value(obj).unwrap_or(Value::Null))),
            // A kind whose CRD is missing reads as absent; applying it will say why.
            Err(kube::Error::Api(e)) if e.code == 404 => Ok(None),
            Err(source) => Err(Error::Kube {
                action: "get",
                object: format!("{}/{name}", info.kind),
                source,
            }),
        }
    }

    /// The resource (`<namespace>/<name>`) that owns a cluster-scoped object,
    /// when that is another than `mine`; `None` for namespaced objects.
    pub(super) async fn owned_by_another(
        &self,
        kind: &str,
        name: &str,
        mine: &str,
    ) -> Result<Option<String>, Error> {
        if kinds::info(kind).is_none_or(|i| i.namespaced) {
            return Ok(None);
        }
        let live = self.live_at(kind, name, None).await?;
        Ok(owned_by_another(live.as_ref(), mine).map(String::from))
    }

    /// Patches the object `o` names; `action` labels the request and any error.
    async fn patch<P: serde::Serialize + std::fmt::Debug>(
        &self,
        o: &DesiredObject,
        action: &'static str,
        params: &PatchParams,
        patch: &Patch<P>,
    ) -> Result<Value, Error> {
        let info = kinds::info(&o.kind).ok_or_else(|| Error::UnknownKind(o.key()))?;
        self.metrics.request(action);
        let patched = self
            .api(info, o.namespace.as_deref())
            .patch(&o.name, params, patch)
            .await
            .map_err(|source| Error::Kube {
                action,
                object: o.key(),
                source,
            })?;
        Ok(serde_json::to_value(patched).unwrap_or(Value::Null))
    }

    pub(super) async fn apply(&self, o: &DesiredObject) -> Result<Value, Error> {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let applied = self
            .patch(o, "apply", &params, &Patch::Apply(&o.body))
            .await?;
        self.metrics
            .applied
            .get_or_create(&crate::metrics::KindLabel {
                kind: o.kind.clone(),
            })
            .inc();
        Ok(applied)
    }

    /// Applies an object the render does not make (a pulled server
    /// manifest kept for the next start).
    pub(super) async fn apply_value(
        &self,
        kind: &str,
        name: &str,
        namespace: Option<&str>,
        body: &Value,
    ) -> Result<Value, Error> {
        let info = kinds::info(kind).ok_or_else(|| Error::UnknownKind(format!("{kind}/{name}")))?;
        self.metrics.request("apply");
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let applied = self
            .api(info, namespace)
            .patch(name, &params, &Patch::Apply(body))
            .await
            .map_err(|source| Error::Kube {
                action: "apply",
                object: format!("{kind}/{name}"),
                source,
            })?;
        Ok(serde_json::to_value(applied).unwrap_or(Value::Null))
    }

    /// Sets a workload's replicas as an update, not an apply, so that the
    /// operator's applies never own them and the autoscaler takes them over.
    pub(super) async fn scale(&self, o: &DesiredObject, replicas: i64) -> Result<Value, Error> {
        let params = PatchParams {
            field_manager: Some(FIELD_MANAGER.into()),
            ..Default::default()
        };
        let body = json!({"spec": {"replicas": replicas}});
        self.patch(o, "scale", &params, &Patch::Merge(&body)).await
    }

    /// Deletes an object; `false` when it was not there.
    pub(super) async fn delete(
        &self,
        kind: &str,
        name: &str,
        namespace: Option<&str>,
        policy: PropagationPolicy,
    ) -> Result<bool, Error> {
        let Some(info) = kinds::info(kind) else {
            return Ok(false);
        };
        self.metrics.request("delete");
        let params = DeleteParams {
            propagation_policy: Some(policy),
            ..Default::default()
        };
        match self.api(info, namespace).delete(name, &params).await {
            Ok(_) => {}
            Err(kube::Error::Api(e)) if e.code == 404 => return Ok(false),
            Err(source) => {
                return Err(Error::Kube {
                    action: "delete",
                    object: format!("{kind}/{name}"),
                    source,
                });
            }
        }
        self.metrics
            .deleted
            .get_or_create(&crate::metrics::KindLabel { kind: kind.into() })
            .inc();
        Ok(true)
    }

    /// The last lines of the log of a Job's newest pod.
    pub(super) async fn job_log(&self, job: &str, namespace: &str) -> Result<String, String> {
        let request = |verb: &str| self.metrics.request(verb);
        let tail = Some(migration::LOG_LINES);
        let read = crate::logs::job_log(&self.client, namespace, job, tail, &request);
        // The API server asks the node's kubelet, which may not answer.
        match tokio::time::timeout(Duration::from_secs(5), read).await {
            Ok(log) => log,
            Err(_) => Err("no answer within 5 s".into()),
        }
    }

    /// Publishes an Event on the resource; a failure to do so is logged, not fatal.
    pub async fn event(
        &self,
        wandb: &WeightsAndBiases,
        type_: EventType,
        reason: &str,
        action: &str,
        note: String,
    ) {
        let Some(recorder) = &self.recorder else {
            return;
        };
        self.metrics.request("publish-event");
        let regarding = wandb.object_ref(&());
        if let Err(e) = recorder
            .publish(&regarding, type_, reason, action, &note)
            .await
        {
            warn!(error = %e, "publishing an event failed");
        }
    }
}
