//! Caches of the managed objects, one per kind, filled by watches.
//!
//! An object is kept as its JSON text. Parsed, an object is a tree of maps
//! and strings several times the size of its text, and the caches hold
//! every managed object of every install: most of the operator's memory
//! with many installs. A reconcile parses only the objects it reads.

use std::collections::HashMap;
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use kube::ResourceExt;
use kube::api::DynamicObject;
use kube::runtime::watcher::Event;
use serde_json::Value;

/// (namespace, name); no namespace for cluster-scoped objects.
type Key = (Option<String>, String);

#[derive(Default)]
struct State {
    objects: HashMap<Key, Box<str>>,
    /// Objects of a relist under way; they replace `objects` when it ends.
    relisting: Option<HashMap<Key, Box<str>>>,
    /// Whether a first list has completed.
    ready: bool,
}

/// The objects of one kind; clones share the same objects.
#[derive(Clone, Default)]
pub struct Cache {
    state: Arc<RwLock<State>>,
}

fn key_of(obj: &DynamicObject) -> Key {
    (obj.namespace(), obj.name_any())
}

fn text_of(obj: &DynamicObject) -> Option<Box<str>> {
    serde_json::to_string(obj).ok().map(String::into_boxed_str)
}

impl Cache {
    // A panic while the lock is held cannot leave the maps half-changed (each
    // change is one insert or remove), so a poisoned lock is still usable.
    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// The object, parsed; `None` when it does not exist (or is not yet
    /// known: see [`Cache::is_ready`]).
    pub fn get(&self, namespace: Option<&str>, name: &str) -> Option<Value> {
        let key = (namespace.map(String::from), name.to_string());
        let state = self.read();
        let text = state.objects.get(&key)?;
        serde_json::from_str(text).ok()
    }

    /// Whether the cache has been filled by a first list.
    pub fn is_ready(&self) -> bool {
        self.read().ready
    }

    /// How many objects it holds.
    pub fn len(&self) -> usize {
        self.read().objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Takes in one event of a watch of the kind.
    pub fn apply(&self, event: &Event<DynamicObject>) {
        let mut state = self.write();
        match event {
            Event::Init => state.relisting = Some(HashMap::new()),
            Event::InitApply(obj) => {
                if let Some(text) = text_of(obj) {
                    state
                        .relisting
                        .get_or_insert_with(HashMap::new)
                        .insert(key_of(obj), text);
                }
            }
            Event::InitDone => {
                if let Some(listed) = state.relisting.take() {
                    state.objects = listed;
                }
                state.ready = true;
            }
            Event::Apply(obj) => {
                if let Some(text) = text_of(obj) {
                    state.objects.insert(key_of(obj), text);
                }
            }
            Event::Delete(obj) => {
                state.objects.remove(&key_of(obj));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::api::ApiResource;
    use kube::core::GroupVersionKind;

    fn secret(ns: &str, name: &str, value: &str) -> DynamicObject {
        let ar = ApiResource::from_gvk(&GroupVersionKind::gvk("", "v1", "Secret"));
        let mut obj = DynamicObject::new(name, &ar).within(ns);
        obj.data = serde_json::json!({"data": {"k": value}});
        obj
    }

    #[test]
    fn holds_what_the_watch_says_and_relists_replace_it() {
        let cache = Cache::default();
        assert!(!cache.is_ready());
        cache.apply(&Event::Init);
        cache.apply(&Event::InitApply(secret("a", "s1", "v1")));
        cache.apply(&Event::InitApply(secret("b", "s1", "v2")));
        assert!(
            cache.get(Some("a"), "s1").is_none(),
            "visible before the list ended"
        );
        cache.apply(&Event::InitDone);
        assert!(cache.is_ready());
        assert_eq!(cache.get(Some("a"), "s1").unwrap()["data"]["k"], "v1");
        assert_eq!(cache.get(Some("b"), "s1").unwrap()["data"]["k"], "v2");
        assert!(cache.get(None, "s1").is_none());

        cache.apply(&Event::Apply(secret("a", "s1", "v3")));
        assert_eq!(cache.get(Some("a"), "s1").unwrap()["data"]["k"], "v3");
        cache.apply(&Event::Delete(secret("b", "s1", "v2")));
        assert!(cache.get(Some("b"), "s1").is_none());

        // A relist (after a watch error) replaces everything when it ends.
        cache.apply(&Event::Init);
        cache.apply(&Event::InitApply(secret("c", "s9", "v9")));
        assert_eq!(cache.len(), 1, "the old objects stay until the relist ends");
        cache.apply(&Event::InitDone);
        assert!(cache.get(Some("a"), "s1").is_none());
        assert_eq!(cache.get(Some("c"), "s9").unwrap()["data"]["k"], "v9");
        assert!(cache.is_ready());
    }
}
