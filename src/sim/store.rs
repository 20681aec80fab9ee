//! The simulated cluster's object store: objects, resourceVersions, the watch log, the write timeline (no I/O).
//!
//! Invariants: every write takes the next resourceVersion (one counter for all types, as etcd's
//! revision); an event is logged and broadcast under the same lock that applied the write, so a
//! watcher that snapshots and subscribes under the lock sees every later change exactly once.
//! Objects are kept in their storage resource's form (`views`: events.k8s.io/v1 Events are stored
//! as core/v1 Events); every method takes the resource a request names and converts to and from it.
//! Each version is kept once, as text (`StoredObject`), shared by the objects, the watch log and
//! the timeline; methods that answer with trees parse outside the lock.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use chrono::{SecondsFormat, Utc};
use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::errors::ApiError;
use super::resources::Resource;
use super::stored::StoredObject;
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
    pub object: Arc<StoredObject>,
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
    /// The object after the write (before it for deletes), in its storage resource's form;
    /// `object.value()` parses it.
    pub object: Arc<StoredObject>,
}

type Key = (&'static str, &'static str, String, String);

fn key(resource: &'static Resource, namespace: &str, name: &str) -> Key {
    let stored = views::storage(resource);
    (stored.group, stored.plural, namespace.to_string(), name.to_string())
}

struct Inner {
    resource_version: u64,
    objects: BTreeMap<Key, Arc<StoredObject>>,
    /// Owner uid → the objects whose ownerReferences name it; kept with `objects`, so that garbage
    /// collection on each delete is a lookup, not a scan of every object.
    dependents: HashMap<String, BTreeSet<Key>>,
    log: VecDeque<Arc<Event>>,
    /// Watches may resume from any resourceVersion ≥ this; older ones get 410 Expired.
    oldest_resumable: u64,
    timeline: VecDeque<WriteRecord>,
}

/// How many events a watch may resume across; older resourceVersions are compacted.
pub const DEFAULT_LOG_CAPACITY: usize = 200_000;

/// How much history the store keeps besides the objects themselves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    /// Events a watch may resume across (at least 1); older resourceVersions answer 410 Expired.
    pub watch_log: usize,
    /// Writes the timeline keeps, the oldest dropped first; None keeps every write (tests and
    /// benchmarks replay whole runs).
    pub timeline: Option<usize>,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            watch_log: DEFAULT_LOG_CAPACITY,
            timeline: None,
        }
    }
}

pub struct Store {
    /// Never poisoned: a write's `change` runs before anything is modified, so a panic in it leaves
    /// the data as it was.
    inner: Mutex<Inner>,
    events: broadcast::Sender<Arc<Event>>,
    retention: Retention,
}

/// What a new watch starts from, taken atomically with its subscription.
pub struct WatchStart {
    /// Objects to announce as ADDED first (resourceVersion 0 or absent), in storage form.
    pub initial: Vec<Arc<StoredObject>>,
    /// Logged events after the requested resourceVersion.
    pub backlog: Vec<Arc<Event>>,
    pub receiver: broadcast::Receiver<Arc<Event>>,
    /// The store's resourceVersion when the watch started.
    pub resource_version: u64,
}

pub fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl Default for Store {
    fn default() -> Self {
        Store::new(Retention::default())
    }
}

impl Store {
    pub fn new(retention: Retention) -> Self {
        let (events, _) = broadcast::channel(65_536);
        Store {
            inner: Mutex::new(Inner {
                resource_version: 1000,
                objects: BTreeMap::new(),
                dependents: HashMap::new(),
                log: VecDeque::new(),
                oldest_resumable: 1000,
                timeline: VecDeque::new(),
            }),
            events,
            retention: Retention {
                watch_log: retention.watch_log.max(1),
                ..retention
            },
        }
    }

    pub fn resource_version(&self) -> u64 {
        self.inner.lock().resource_version
    }

    /// The object as `resource` serves it.
    pub fn get(&self, resource: &'static Resource, namespace: &str, name: &str) -> Option<Arc<Value>> {
        let stored = self.get_stored(resource, namespace, name)?;
        Some(Arc::new(views::to_view(resource, stored.value())))
    }

    /// The object as stored, in its storage resource's form (`views::view_json` serves it).
    pub fn get_stored(&self, resource: &'static Resource, namespace: &str, name: &str) -> Option<Arc<StoredObject>> {
        self.inner.lock().objects.get(&key(resource, namespace, name)).cloned()
    }

    /// Objects of a type (in one namespace, or all) as `resource` serves them, in namespace/name
    /// order, and the list's resourceVersion.
    pub fn list(&self, resource: &'static Resource, namespace: Option<&str>) -> (Vec<Arc<Value>>, u64) {
        let (stored, version) = self.list_stored(resource, namespace);
        let objects = stored
            .iter()
            .map(|object| Arc::new(views::to_view(resource, object.value())))
            .collect();
        (objects, version)
    }

    /// Objects of a type as stored (storage form), in namespace/name order, and the list's
    /// resourceVersion: for readers that filter on `StoredObject`'s fields before parsing.
    pub fn list_stored(&self, resource: &'static Resource, namespace: Option<&str>) -> (Vec<Arc<StoredObject>>, u64) {
        let inner = self.inner.lock();
        let objects = objects_of(&inner, resource, namespace).cloned().collect();
        (objects, inner.resource_version)
    }

    /// How many objects of a type there are (in one namespace, or all).
    pub fn count(&self, resource: &'static Resource, namespace: Option<&str>) -> usize {
        objects_of(&self.inner.lock(), resource, namespace).count()
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
        // A view differs from its storage form only outside metadata: its owner references are
        // the stored object's, for `index_owners`.
        let current_view = current.as_ref().map(|stored| views::to_view(resource, stored.value()));
        let Some(new_object) = change(current_view.as_ref(), next_version)? else {
            let Some(old) = current else {
                return Err(ApiError::not_found(resource, name));
            };
            let mut deleted = old.value();
            deleted["metadata"]["resourceVersion"] = json!(next_version.to_string());
            let deleted = Arc::new(encode(resource, name, &deleted)?);
            inner.resource_version = next_version;
            inner.objects.remove(&object_key);
            inner.index_owners(&object_key, current_view.as_ref(), None);
            self.record(&mut inner, stored_as, EventType::Deleted, deleted, actor, verb);
            return Ok(None);
        };
        let mut new_object = views::to_storage(resource, new_object);
        new_object["metadata"]["resourceVersion"] = json!(next_version.to_string());
        let stored = Arc::new(encode(resource, name, &new_object)?);
        inner.resource_version = next_version;
        inner.index_owners(&object_key, current_view.as_ref(), Some(&new_object));
        inner.objects.insert(object_key, Arc::clone(&stored));
        let event_type = if current.is_some() {
            EventType::Modified
        } else {
            EventType::Added
        };
        self.record(&mut inner, stored_as, event_type, stored, actor, verb);
        drop(inner);
        Ok(Some(Arc::new(views::to_view(resource, new_object))))
    }

    fn record(
        &self,
        inner: &mut Inner,
        resource: &'static Resource,
        event_type: EventType,
        object: Arc<StoredObject>,
        actor: &str,
        verb: &str,
    ) {
        let resource_version = inner.resource_version;
        inner.timeline.push_back(WriteRecord {
            resource_version,
            actor: actor.to_string(),
            verb: verb.to_string(),
            event: event_type,
            kind: resource.kind,
            namespace: object.namespace().to_string(),
            name: object.name().to_string(),
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
        if self
            .retention
            .timeline
            .is_some_and(|capacity| inner.timeline.len() > capacity)
        {
            inner.timeline.pop_front();
        }
        while inner.log.len() > self.retention.watch_log {
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
                initial: objects_of(&inner, resource, namespace).cloned().collect(),
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

    /// Every write so far, oldest first (the newest `Retention::timeline` of them when bounded).
    pub fn timeline(&self) -> Vec<WriteRecord> {
        self.inner.lock().timeline.iter().cloned().collect()
    }

    /// Objects whose ownerReferences name `owner_uid`, in their storage resource's form.
    pub fn dependents(&self, owner_uid: &str) -> Vec<(&'static Resource, Value)> {
        let found: Vec<(&'static Resource, Arc<StoredObject>)> = {
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
        };
        found
            .into_iter()
            .map(|(resource, object)| (resource, object.value()))
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

/// Objects of a type, in their storage resource's form.
fn objects_of<'i>(
    inner: &'i Inner,
    resource: &'static Resource,
    namespace: Option<&'i str>,
) -> impl Iterator<Item = &'i Arc<StoredObject>> {
    let stored = views::storage(resource);
    inner
        .objects
        .iter()
        .filter(move |((group, plural, ns, _), _)| {
            *group == stored.group && *plural == stored.plural && namespace.is_none_or(|n| n == ns)
        })
        .map(|(_, object)| object)
}

/// `object`'s stored form; a write that cannot be stored is refused, changing nothing.
fn encode(resource: &Resource, name: &str, object: &Value) -> Result<StoredObject, ApiError> {
    StoredObject::encode(object)
        .map_err(|error| ApiError::bad_request(format!("cannot store {} {name:?}: {error}", resource.plural)))
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
    fn the_timeline_keeps_each_version_as_written_and_a_delete_as_the_last_version() {
        let store = Store::default();
        put(&store, pod("a", &[]));
        put(&store, pod("a", &["ds-1"]));
        let deleted = store.write(pods(), "default", "a", "test", "delete", |_, _| Ok(None));
        assert!(deleted.is_ok(), "{deleted:?}");
        let versions: Vec<(EventType, Value)> = store
            .timeline()
            .iter()
            .map(|record| (record.event, record.object.value()))
            .collect();
        let version = |owners: &[&str], resource_version: &str| {
            let mut object = pod("a", owners);
            object["metadata"]["resourceVersion"] = json!(resource_version);
            object
        };
        assert_eq!(
            versions,
            [
                (EventType::Added, version(&[], "1001")),
                (EventType::Modified, version(&["ds-1"], "1002")),
                (EventType::Deleted, version(&["ds-1"], "1003")),
            ]
        );
    }

    #[test]
    fn a_write_that_cannot_be_stored_is_refused_and_changes_nothing() {
        let store = Store::default();
        put(&store, pod("a", &[]));
        let mut too_deep = json!("leaf");
        for _ in 0..super::super::stored::MAX_DEPTH {
            too_deep = json!([too_deep]);
        }
        let written = store.write(pods(), "default", "a", "test", "update", |current, _| {
            let mut updated = current.cloned().unwrap_or_default();
            updated["spec"] = too_deep;
            Ok(Some(updated))
        });
        assert_eq!(written.map_err(|error| error.code).err(), Some(400));
        assert_eq!((store.resource_version(), store.timeline().len()), (1001, 1));
        assert_eq!(
            store
                .get(pods(), "default", "a")
                .map(|p| p["metadata"]["resourceVersion"].clone()),
            Some(json!("1001"))
        );
    }

    #[test]
    fn a_bounded_timeline_keeps_the_newest_writes_and_every_object() {
        let store = Store::new(Retention {
            timeline: Some(2),
            ..Retention::default()
        });
        for name in ["a", "b", "c"] {
            put(&store, pod(name, &[]));
        }
        let written: Vec<String> = store.timeline().iter().map(|record| record.name.clone()).collect();
        assert_eq!(
            (written, store.count(pods(), None)),
            (vec!["b".to_string(), "c".to_string()], 3)
        );
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
