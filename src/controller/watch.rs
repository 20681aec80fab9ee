//! One watch per kind: every event goes to the store, whose answer is which DaemonSets to
//! reconcile; DaemonSet events also go to the Controller's own store of DaemonSets (I/O).
//!
//! Invariants: an object missing from a re-list (deleted while the watch was down) is handled as a
//! deletion, so the store never keeps an object the API server no longer has; every DaemonSet of a
//! re-list is triggered again once the Controller's store of DaemonSets shows the re-list.

use std::collections::HashSet;
use std::sync::Arc;

use futures::StreamExt;
use kube::api::{Api, DynamicObject};
use kube::runtime::reflector::store::Writer;
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::Value;
use tokio::task::JoinHandle;

use super::raw::{RawObject, Served};
use super::{Controller, api_resource};
use crate::executor::events::{DaemonSetEvent, daemon_set_reference};
use crate::snapshot::ObjectKey;
use crate::store::{Kind, Triggered};

impl Controller {
    /// Starts one watch per kind; the tasks run until aborted. Followers run them too, so that
    /// their caches are warm when they take over.
    pub fn start_watches(self: &Arc<Self>, client: &kube::Client) -> Vec<JoinHandle<()>> {
        Kind::ALL
            .into_iter()
            .map(|kind| match kind {
                // kube-runtime's Controller reads DaemonSets from a reflector of DynamicObjects.
                Kind::DaemonSet => {
                    let writer = self.daemon_set_writer.lock().take();
                    tokio::spawn(Arc::clone(self).watch::<DynamicObject>(client.clone(), kind, writer))
                }
                _ => tokio::spawn(Arc::clone(self).watch::<RawObject>(client.clone(), kind, None)),
            })
            .collect()
    }

    fn api<K: Served>(&self, client: kube::Client, kind: Kind) -> Api<K> {
        let resource = api_resource(kind);
        match &self.options.namespace {
            Some(namespace) if kind.is_namespaced() => Api::namespaced_with(client, namespace, &resource),
            _ => Api::all_with(client, &resource),
        }
    }

    async fn watch<K: Served>(self: Arc<Self>, client: kube::Client, kind: Kind, mut writer: Option<Writer<K>>) {
        let mut config = watcher::Config::default();
        if kind == Kind::DaemonSet {
            config.label_selector = self.options.selector.clone();
        }
        let mut stream = watcher(self.api(client, kind), config).default_backoff().boxed();
        let mut listed: Option<HashSet<ObjectKey>> = None;
        let mut synced = false;
        while let Some(event) = stream.next().await {
            let event = match event {
                Ok(event) => event,
                Err(error) => {
                    tracing::warn!(kind = kind.name(), %error, "watch failed; retrying with backoff");
                    continue;
                }
            };
            if let Some(writer) = &mut writer {
                writer.apply_watcher_event(&event);
            }
            match event {
                watcher::Event::Init => listed = Some(HashSet::new()),
                watcher::Event::InitApply(object) => {
                    let value = object.served_json();
                    if let Some(listed) = &mut listed {
                        listed.insert(kind.key(&value));
                    }
                    self.on_applied(kind, &value);
                }
                watcher::Event::InitDone => {
                    let listed = listed.take().unwrap_or_default();
                    if kind == Kind::DaemonSet {
                        // The Controller's store shows a re-list only from here on: a DaemonSet
                        // first seen in it was skipped when its own trigger came.
                        let relisted = Triggered {
                            now: listed.iter().cloned().collect(),
                            later: Vec::new(),
                        };
                        self.triggers.send(relisted);
                    }
                    self.forget_unlisted(kind, listed);
                    if !synced {
                        synced = true;
                        self.synced_kinds.send_modify(|count| *count += 1);
                        tracing::info!(kind = kind.name(), "store synced");
                    }
                }
                watcher::Event::Apply(object) => self.on_applied(kind, &object.served_json()),
                watcher::Event::Delete(object) => self.on_deleted(kind, &kind.key(&object.served_json())),
            }
        }
    }

    /// Objects missing from a re-list were deleted while the watch was down.
    fn forget_unlisted(&self, kind: Kind, listed: HashSet<ObjectKey>) {
        let cached = self.store.lock().cache().keys(kind);
        for key in cached.iter().filter(|key| !listed.contains(key)) {
            self.on_deleted(kind, key);
        }
    }

    fn on_applied(&self, kind: Kind, object: &Value) {
        let result = self.store.lock().applied(kind, object, &self.expectations);
        match result {
            Ok(triggered) => self.triggers.send(triggered),
            Err(error) => {
                let key = kind.key(object);
                tracing::warn!(kind = kind.name(), namespace = %key.namespace, name = %key.name, %error,
                    "ignoring a malformed object");
                if kind == Kind::DaemonSet {
                    let uid = object.pointer("/metadata/uid").and_then(Value::as_str);
                    self.executor.events().send(DaemonSetEvent {
                        warning: true,
                        reason: "InvalidDaemonSet".into(),
                        message: format!("daemonroll cannot read this DaemonSet and leaves it alone: {error}"),
                        regarding: daemon_set_reference(&key, uid),
                        related: None,
                    });
                }
            }
        }
    }

    fn on_deleted(&self, kind: Kind, key: &ObjectKey) {
        let triggered = self.store.lock().deleted(kind, key, &self.expectations);
        if kind == Kind::DaemonSet {
            self.forget(key);
        }
        self.triggers.send(triggered);
    }
}
