//! Events on `WeightsAndBiases` resources (events.k8s.io/v1).
//!
//! As kube's `Recorder` does, an event repeated within six minutes is not
//! created again: the first one's `series` counts it. Unlike kube's, whose
//! series are keyed by reason and action only, a repeat must also have the
//! same note: with kube's, a second, different InvalidValues message showed
//! up as the first one's text with a count of 2.

use std::collections::HashMap;
use std::sync::Mutex;

use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Client;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

/// How long a published event takes repeats into its series.
const SERIES_WINDOW: SignedDuration = SignedDuration::from_mins(6);
/// Notes are cut to this many characters (the API server's limit is 1 kB).
const NOTE_CHARS: usize = 1000;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

/// What one event says, about whom.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct SeriesKey {
    /// The regarding object's namespace, name and uid.
    regarding: (Option<String>, Option<String>, Option<String>),
    type_: EventType,
    reason: String,
    action: String,
    note: String,
}

/// An event already created, which repeats are counted on.
#[derive(Clone, Debug, PartialEq)]
struct Published {
    namespace: String,
    name: String,
    count: i32,
    last: Timestamp,
}

/// Publishes events, counting repeats of the same event in its series.
pub struct Recorder {
    client: Client,
    controller: String,
    /// The pod's name, or the controller's when not in a pod.
    instance: String,
    published: Mutex<HashMap<SeriesKey, Published>>,
}

impl Recorder {
    pub fn new(client: Client, controller: &str, instance: Option<String>) -> Recorder {
        Recorder {
            client,
            controller: controller.into(),
            instance: instance.unwrap_or_else(|| controller.into()),
            published: Mutex::default(),
        }
    }

    /// Creates the event, or counts it on the same event published within
    /// the last six minutes.
    pub async fn publish(
        &self,
        regarding: &ObjectReference,
        type_: EventType,
        reason: &str,
        action: &str,
        note: &str,
    ) -> Result<(), kube::Error> {
        let now = Timestamp::now();
        let note: String = note.chars().take(NOTE_CHARS).collect();
        let key = SeriesKey {
            regarding: (
                regarding.namespace.clone(),
                regarding.name.clone(),
                regarding.uid.clone(),
            ),
            type_,
            reason: reason.into(),
            action: action.into(),
            note,
        };
        let repeat = {
            let mut published = self.published.lock().unwrap_or_else(|e| e.into_inner());
            published.retain(|_, p| now.duration_since(p.last) < SERIES_WINDOW);
            published.get(&key).cloned()
        };
        let published = match repeat {
            Some(p) => match self.count_repeat(&p, now).await {
                Ok(p) => p,
                // Deleted meanwhile (by hand, or the API server's event TTL).
                Err(kube::Error::Api(e)) if e.code == 404 => {
                    self.create(&key, regarding, now).await?
                }
                Err(e) => return Err(e),
            },
            None => self.create(&key, regarding, now).await?,
        };
        self.published
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key, published);
        Ok(())
    }

    async fn create(
        &self,
        key: &SeriesKey,
        regarding: &ObjectReference,
        now: Timestamp,
    ) -> Result<Published, kube::Error> {
        let event = new_event(&self.controller, &self.instance, key, regarding, now);
        let namespace = event.metadata.namespace.clone().unwrap_or_default();
        let api: Api<Event> = Api::namespaced(self.client.clone(), &namespace);
        let created = api.create(&PostParams::default(), &event).await?;
        Ok(Published {
            namespace,
            name: created.metadata.name.unwrap_or_default(),
            count: 1,
            last: now,
        })
    }

    async fn count_repeat(&self, p: &Published, now: Timestamp) -> Result<Published, kube::Error> {
        let api: Api<Event> = Api::namespaced(self.client.clone(), &p.namespace);
        let next = repeated(p, now);
        api.patch(
            &p.name,
            &PatchParams::default(),
            &Patch::Merge(series_patch(&next)),
        )
        .await?;
        Ok(next)
    }
}

/// A new event, named as kubectl and kube's recorder name theirs.
fn new_event(
    controller: &str,
    instance: &str,
    key: &SeriesKey,
    regarding: &ObjectReference,
    now: Timestamp,
) -> Event {
    let namespace = regarding
        .namespace
        .clone()
        .unwrap_or_else(|| "default".into());
    let name = regarding.name.as_deref().unwrap_or(controller);
    Event {
        metadata: ObjectMeta {
            namespace: Some(namespace),
            name: Some(format!("{name}.{:x}", now.as_nanosecond())),
            ..Default::default()
        },
        event_time: Some(MicroTime(now)),
        type_: Some(key.type_.as_str().into()),
        reason: Some(key.reason.clone()),
        action: Some(key.action.clone()),
        note: Some(key.note.clone()),
        regarding: Some(regarding.clone()),
        reporting_controller: Some(controller.into()),
        reporting_instance: Some(instance.into()),
        ..Default::default()
    }
}

/// The event after one more repeat.
fn repeated(p: &Published, now: Timestamp) -> Published {
    Published {
        count: p.count + 1,
        last: now,
        ..p.clone()
    }
}

/// The merge patch that records `p`'s count on its event.
fn series_patch(p: &Published) -> Value {
    json!({
        "series": {
            "count": p.count,
            "lastObservedTime": MicroTime(p.last),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(note: &str) -> SeriesKey {
        SeriesKey {
            regarding: (
                Some("ns".into()),
                Some("wandb".into()),
                Some("uid-1".into()),
            ),
            type_: EventType::Warning,
            reason: crate::conditions::reasons::INVALID_VALUES.into(),
            action: "Validate".into(),
            note: note.into(),
        }
    }

    fn regarding() -> ObjectReference {
        ObjectReference {
            api_version: Some("apps.wandb.com/v1".into()),
            kind: Some("WeightsAndBiases".into()),
            namespace: Some("ns".into()),
            name: Some("wandb".into()),
            uid: Some("uid-1".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_different_note_is_a_different_event() {
        assert_ne!(
            key("spec.values.app.replicaCount: -1"),
            key("spec.values.global.license: twice")
        );
        assert_eq!(key("same"), key("same"));
    }

    #[test]
    fn a_new_event_says_what_happened_to_whom() {
        let now = Timestamp::from_second(1_800_000_000).expect("a valid time");
        let ev = new_event(
            "wandb-operator",
            "pod-1",
            &key("bad value"),
            &regarding(),
            now,
        );
        assert_eq!(ev.metadata.namespace.as_deref(), Some("ns"));
        assert!(
            ev.metadata
                .name
                .as_deref()
                .is_some_and(|n| n.starts_with("wandb."))
        );
        assert_eq!(ev.type_.as_deref(), Some("Warning"));
        assert_eq!(ev.reason.as_deref(), Some("InvalidValues"));
        assert_eq!(ev.action.as_deref(), Some("Validate"));
        assert_eq!(ev.note.as_deref(), Some("bad value"));
        assert_eq!(ev.reporting_controller.as_deref(), Some("wandb-operator"));
        assert_eq!(ev.reporting_instance.as_deref(), Some("pod-1"));
        assert_eq!(ev.regarding, Some(regarding()));
        assert!(ev.series.is_none(), "a first event has no series");
    }

    #[test]
    fn a_repeat_counts_on_the_series() {
        let t0 = Timestamp::from_second(1_800_000_000).expect("a valid time");
        let first = Published {
            namespace: "ns".into(),
            name: "wandb.1".into(),
            count: 1,
            last: t0,
        };
        let t1 = t0 + SignedDuration::from_secs(30);
        let second = repeated(&first, t1);
        assert_eq!(
            (second.count, second.last, second.name.as_str()),
            (2, t1, "wandb.1")
        );
        let patch = series_patch(&second);
        assert_eq!(patch["series"]["count"], 2);
        assert_eq!(
            patch["series"]["lastObservedTime"],
            serde_json::to_value(MicroTime(t1)).expect("a time serializes")
        );
        assert_eq!(repeated(&second, t1).count, 3);
    }
}
