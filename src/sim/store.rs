//! The simulated cluster's object store: objects, resourceVersions, the watch log, the write timeline (no I/O).
//!
//! Invariants: every write takes the next resourceVersion (one counter for all types, as etcd's
//! revision); an event is logged and broadcast under the same lock that applied the write, so a
//! watcher that snapshots and subscribes under the lock sees every later change exactly once.
//! Objects are kept in their storage resource's form (`views`: events.k8s.io/v1 Events are stored
//! as core/v1 Events); every method takes the resource a request names and converts to and from it.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use chrono::{SecondsFormat, Utc};
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::errors::ApiError;
use super::resources::Resource;
use super::views;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

/// One change, as stored: watchers of a view convert `object` (`views::to_view`).
#[derive(Debug)]
pub struct Event {
    pub resource_version: u64,
    /// The storage resource (`views::storage`), whichever view the write came through.
    pub resource: &'static Resource,
    pub event_type: EventType,
    pub object: Arc<Value>,
}

/// One write, for tests and benchmarks to inspect.
#[derive(Clone, Debug, PartialEq)]
pub struct WriteRecord {
    pub resource_version: u64,
    /// `User-Agent`-derived caller name ("daemonroll", "kubectl", "sim-kubelet", …).
    pub actor: String,
    /// create, update, patch, delete, status (status subresource writes), bind.
    pub verb: String,
    /// What watchers saw: a graceful delete is a MODIFIED (deletionTimestamp set) before the DELETED.
    pub event: EventType,
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    pub time: chrono::DateTime<Utc>,
    /// The object after the write (before it for deletes), in its storage resource's form.
    pub object: Arc<Value>,
}

type Key = (&'static str, &'static str, String, String);

fn key(resource: &'static Resource, namespace: &str, name: &str) -> Key {
    let stored = views::storage(resource);
    (stored.group, stored.plural, namespace.to_string(), name.to_string())
}

struct Inner {
    resource_version: u64,
    objects: BTreeMap<Key, Arc<Value>>,
    /// Owner uid → the objects whose ownerReferences name it; kept with `objects`, so that garbage
    /// collection on each delete is a lookup, not a scan of every object.
    dependents: HashMap<String, BTreeSet<Key>>,
    log: VecDeque<Arc<Event>>,
    /// Watches may resume from any resourceVersion ≥ this; older ones get 410 Expired.
    oldest_resumable: u64,
    timeline: Vec<WriteRecord>,
}

/// How many events a watch may resume across; older resourceVersions are compacted.
pub const DEFAULT_LOG_CAPACITY: usize = 200_000;

pub struct Store {
    /// Never poisoned: a write's `change` runs before anything is modified, so a panic in it leaves
    /// the data as it was.
    inner: Mutex<Inner>,
    events: broadcast::Sender<Arc<Event>>,
    log_capacity: usize,
}

/// What a new watch starts from, taken atomically with its subscription.
pub struct WatchStart {
    /// Objects to announce as ADDED first (resourceVersion 0 or absent).
    pub initial: Vec<Arc<Value>>,
    /// Logged events after the requested resourceVersion.
    pub backlog: Vec<Arc<Event>>,
    pub receiver: broadcast::Receiver<Arc<Event>>,
    /// The store's resourceVersion when the watch started.
    pub resource_version: u64,
}

pub fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn meta<'v>(object: &'v Value, field: &str) -> Option<&'v str> {
    object
        .get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
}

impl Default for Store {
    fn default() -> Self {
        Store::new(DEFAULT_LOG_CAPACITY)
    }
}

impl Store {
    pub fn new(log_capacity: usize) -> Self {
        let (events, _) = broadcast::channel(65_536);
        Store {
            inner: Mutex::new(Inner {
                resource_version: 1000,
                objects: BTreeMap::new(),
                dependents: HashMap::new(),
                log: VecDeque::new(),
                oldest_resumable: 1000,
                timeline: Vec::new(),
            }),
            events,
            log_capacity: log_capacity.max(1),
        }
    }

    pub fn resource_version(&self) -> u64 {
        self.inner.lock().resource_version
    }

    pub fn get(&self, resource: &'static Resource, namespace: &str, name: &str) -> Option<Arc<Value>> {
        let stored = self
            .inner
            .lock()
            .objects
            .get(&key(resource, namespace, name))
            .cloned()?;
        Some(views::to_view(resource, &stored))
    }

    /// Objects of a type (in one namespace, or all), in namespace/name order, and the list's resourceVersion.
    pub fn list(&self, resource: &'static Resource, namespace: Option<&str>) -> (Vec<Arc<Value>>, u64) {
        let inner = self.inner.lock();
        (objects_of(&inner, resource, namespace), inner.resource_version)
    }

    /// Applies one write. `change` receives the current object (None if absent) and the next
    /// resourceVersion, and returns the new object (None deletes it) or an error (nothing written);
    /// both objects are in `resource`'s form, as is the object returned.
    pub fn write<F>(
        &self,
        resource: &'static Resource,
        namespace: &str,
        name: &str,
        actor: &str,
        verb: &str,
        change: F,
    ) -> Result<Option<Arc<Value>>, ApiError>
    where
        F: FnOnce(Option<&Value>, u64) -> Result<Option<Value>, ApiError>,
    {
        let mut inner = self.inner.lock();
        let object_key = key(resource, namespace, name);
        let current = inner.objects.get(&object_key).cloned();
        let next_version = inner.resource_version + 1;
        let stored_as = views::storage(resource);
        let current_view = current.as_ref().map(|stored| views::to_view(resource, stored));
        let Some(new_object) = change(current_view.as_deref(), next_version)? else {
            let Some(old) = current else {
                return Err(ApiError::not_found(resource, name));
            };
            inner.resource_version = next_version;
            inner.objects.remove(&object_key);
            inner.index_owners(&object_key, Some(&old), None);
            let mut deleted = (*old).clone();
            deleted["metadata"]["resourceVersion"] = json!(next_version.to_string());
            let deleted = Arc::new(deleted);
            self.record(
                &mut inner,
                stored_as,
                EventType::Deleted,
                Arc::clone(&deleted),
                actor,
                verb,
            );
            return Ok(None);
        };
        inner.resource_version = next_version;
        let mut new_object = views::to_storage(resource, new_object);
        new_object["metadata"]["resourceVersion"] = json!(next_version.to_string());
        let new_object = Arc::new(new_object);
        inner.index_owners(&object_key, current.as_deref(), Some(&new_object));
        inner.objects.insert(object_key, Arc::clone(&new_object));
        let event_type = if current.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.record(&mut inner, stored_as, event_type, Arc::clone(&new_object), actor, verb);
        Ok(Some(views::to_view(resource, &new_object)))
    }

    fn record(
        &self,
        inner: &mut Inner,
        resource: &'static Resource,
        event_type: EventType,
        object: Arc<Value>,
        actor: &str,
        verb: &str,
    ) {
        let resource_version = inner.resource_version;
        inner.timeline.push(WriteRecord {
            resource_version,
            actor: actor.to_string(),
            verb: verb.to_string(),
            event: event_type,
            kind: resource.kind,
            namespace: meta(&object, "namespace").unwrap_or_default().to_string(),
            name: meta(&object, "name").unwrap_or_default().to_string(),
            time: Utc::now(),
            object: Arc::clone(&object),
        });
        let event = Arc::new(Event {
            resource_version,
            resource,
            event_type,
            object,
        });
        inner.log.push_back(Arc::clone(&event));
        while inner.log.len() > self.log_capacity {
            if let Some(dropped) = inner.log.pop_front() {
                inner.oldest_resumable = dropped.resource_version;
            }
        }
        // No receivers is fine: nobody is watching.
        let _ = self.events.send(event);
    }

    /// Starts a watch on `resource` from `resource_version` (None or 0: announce current objects first).
    /// Fails with 410 Expired when that version has been compacted. Subscribing under the lock that
    /// every write holds while it broadcasts means the receiver sees exactly the later events.
    pub fn watch(
        &self,
        resource: &'static Resource,
        namespace: Option<&str>,
        resource_version: Option<u64>,
    ) -> Result<WatchStart, ApiError> {
        let inner = self.inner.lock();
        let receiver = self.events.subscribe();
        let current = inner.resource_version;
        match resource_version.filter(|rv| *rv > 0) {
            None => Ok(WatchStart {
                initial: objects_of(&inner, resource, namespace),
                backlog: Vec::new(),
                receiver,
                resource_version: current,
            }),
            Some(from) if from < inner.oldest_resumable => Err(ApiError::expired(from, inner.oldest_resumable)),
            Some(from) => {
                let backlog = inner
                    .log
                    .iter()
                    .filter(|event| {
                        event.resource_version > from && std::ptr::eq(event.resource, views::storage(resource))
                    })
                    .cloned()
                    .collect();
                Ok(WatchStart {
                    initial: Vec::new(),
                    backlog,
                    receiver,
                    resource_version: current,
                })
            }
        }
    }

    /// Every later change, for the simulated fleet's controllers.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.events.subscribe()
    }

    /// Every write so far, oldest first.
    pub fn timeline(&self) -> Vec<WriteRecord> {
        self.inner.lock().timeline.clone()
    }

    /// Objects whose ownerReferences name `owner_uid`.
    pub fn dependents(&self, owner_uid: &str) -> Vec<(&'static Resource, Arc<Value>)> {
        let inner = self.inner.lock();
        let Some(keys) = inner.dependents.get(owner_uid) else {
            return Vec::new();
        };
        keys.iter()
            .filter_map(|key| {
                let object = inner.objects.get(key)?;
                let (group, plural, _, _) = key;
                super::resources::RESOURCES
                    .iter()
                    .find(|r| r.group == *group && r.plural == *plural)
                    .map(|r| (r, Arc::clone(object)))
            })
            .collect()
    }
}

impl Inner {
    /// Moves `key` from the owners `old` names to those `new` names.
    fn index_owners(&mut self, key: &Key, old: Option<&Value>, new: Option<&Value>) {
        let old_owners = owner_uids(old);
        let new_owners = owner_uids(new);
        if old_owners == new_owners {
            return;
        }
        for owner in old_owners.iter().filter(|owner| !new_owners.contains(owner)) {
            if let Some(keys) = self.dependents.get_mut(*owner) {
                keys.remove(key);
                if keys.is_empty() {
                    self.dependents.remove(*owner);
                }
            }
        }
        for owner in new_owners.iter().filter(|owner| !old_owners.contains(owner)) {
            self.dependents
                .entry((*owner).to_string())
                .or_default()
                .insert(key.clone());
        }
    }
}

fn owner_uids(object: Option<&Value>) -> Vec<&str> {
    object
        .and_then(|o| o.pointer("/metadata/ownerReferences"))
        .and_then(Value::as_array)
        .map(|references| {
            references
                .iter()
                .filter_map(|r| r.get("uid").and_then(Value::as_str))
                .collect()
        })
        .unwrap_or_default()
}

/// Objects of a type, in `resource`'s form.
fn objects_of(inner: &Inner, resource: &'static Resource, namespace: Option<&str>) -> Vec<Arc<Value>> {
    let stored = views::storage(resource);
    inner
        .objects
        .iter()
        .filter(|((group, plural, ns, _), _)| {
            *group == stored.group && *plural == stored.plural && namespace.is_none_or(|n| n == ns)
        })
        .map(|(_, object)| views::to_view(resource, object))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::resources;

    fn pods() -> &'static Resource {
        resources::builtin("", "pods")
    }

    fn pod(name: &str, owners: &[&str]) -> Value {
        let references: Vec<Value> = owners
            .iter()
            .map(|uid| json!({"uid": uid, "kind": "DaemonSet"}))
            .collect();
        json!({"apiVersion": "v1", "kind": "Pod",
               "metadata": {"name": name, "namespace": "default", "ownerReferences": references}})
    }

    fn put(store: &Store, object: Value) {
        let name = object["metadata"]["name"].as_str().unwrap_or_default().to_string();
        let written = store.write(pods(), "default", &name, "test", "update", |_, _| Ok(Some(object)));
        assert!(written.is_ok(), "{written:?}");
    }

    fn dependent_names(store: &Store, owner: &str) -> Vec<String> {
        store
            .dependents(owner)
            .iter()
            .map(|(_, object)| object["metadata"]["name"].as_str().unwrap_or_default().to_string())
            .collect()
    }

    #[test]
    fn dependents_are_the_objects_whose_owner_references_name_the_owner() {
        let store = Store::default();
        put(&store, pod("a", &["ds-1"]));
        put(&store, pod("b", &["ds-1", "ds-2"]));
        put(&store, pod("c", &["ds-2"]));
        assert_eq!(dependent_names(&store, "ds-1"), ["a", "b"]);
        assert_eq!(dependent_names(&store, "ds-2"), ["b", "c"]);
        assert!(dependent_names(&store, "ds-3").is_empty());
    }

    #[test]
    fn a_released_or_deleted_object_is_no_longer_a_dependent() {
        let store = Store::default();
        put(&store, pod("a", &["ds-1"]));
        put(&store, pod("b", &["ds-1"]));
        put(&store, pod("a", &[]));
        let deleted = store.write(pods(), "default", "b", "test", "delete", |_, _| Ok(None));
        assert!(deleted.is_ok(), "{deleted:?}");
        assert!(dependent_names(&store, "ds-1").is_empty());
    }
}
