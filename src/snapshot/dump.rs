//! Reads a kubectl dump (a `List`, multi-document YAML, or JSON) into Snapshots (pure: parses text it is given).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::from_json::{ObjectError, daemon_set_from_json, node_from_json, pod_from_json, revision_from_json};
use super::key::namespace_of;
use super::{DaemonSetView, NodeView, PodView, RevisionView, Snapshot, Timestamp};

#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// The text is neither JSON nor YAML.
    #[error("document {document} is not valid YAML")]
    Yaml {
        document: usize,
        #[source]
        source: yaml_serde::Error,
    },
    /// The text starts like JSON but does not parse as JSON.
    #[error("not valid JSON")]
    Json {
        #[source]
        source: serde_json::Error,
    },
    /// An object of a kind the planner reads is malformed.
    #[error("document {document}")]
    Object {
        document: usize,
        #[source]
        source: ObjectError,
    },
}

/// The objects of a dump that the planner reads; other kinds are ignored.
#[derive(Debug, Default)]
pub struct Dump {
    pub daemon_sets: Vec<DaemonSetView>,
    pub nodes: Vec<NodeView>,
    /// Pods by namespace.
    pub pods: BTreeMap<String, Vec<Arc<PodView>>>,
    /// ControllerRevisions by namespace.
    pub revisions: BTreeMap<String, Vec<RevisionView>>,
}

impl Dump {
    /// Parses dump text. JSON is recognised by its first non-blank character; anything else is YAML.
    pub fn parse(text: &str) -> Result<Dump, DumpError> {
        let mut dump = Dump::default();
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            for (index, document) in serde_json::Deserializer::from_str(text)
                .into_iter::<Value>()
                .enumerate()
            {
                let document = document.map_err(|source| DumpError::Json { source })?;
                dump.add_document(index + 1, document, None)?;
            }
        } else {
            for (index, document) in yaml_serde::Deserializer::from_str(text).enumerate() {
                let value = Value::deserialize(document).map_err(|source| DumpError::Yaml {
                    document: index + 1,
                    source,
                })?;
                dump.add_document(index + 1, value, None)?;
            }
        }
        dump.finish();
        Ok(dump)
    }

    /// A dump of objects already decoded (e.g. listed from an API server); each must carry its kind.
    pub fn from_objects(objects: Vec<Value>) -> Result<Dump, DumpError> {
        let mut dump = Dump::default();
        for (index, object) in objects.into_iter().enumerate() {
            dump.add_document(index + 1, object, None)?;
        }
        dump.finish();
        Ok(dump)
    }

    /// Orders nodes and DaemonSets by name, as the planner's fast path expects.
    fn finish(&mut self) {
        self.nodes.sort_by(|a, b| a.name.cmp(&b.name));
        self.daemon_sets
            .sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
    }

    fn add_document(&mut self, document: usize, value: Value, item_kind: Option<&str>) -> Result<(), DumpError> {
        let wrap = |source| DumpError::Object { document, source };
        match value {
            Value::Null => Ok(()),
            Value::Array(items) => {
                for item in items {
                    self.add_document(document, item, item_kind)?;
                }
                Ok(())
            }
            value => {
                let kind = value
                    .get("kind")
                    .and_then(Value::as_str)
                    .or(item_kind)
                    .unwrap_or_default();
                if let Some(items) = value.get("items").filter(|_| kind.ends_with("List")) {
                    // A typed list (PodList, ...) may omit each item's kind.
                    let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
                    let items = items.as_array().cloned().unwrap_or_default();
                    for item in items {
                        self.add_document(document, item, item_kind)?;
                    }
                    return Ok(());
                }
                match kind {
                    "DaemonSet" => self.daemon_sets.push(daemon_set_from_json(&value).map_err(wrap)?),
                    "Node" => self.nodes.push(node_from_json(&value).map_err(wrap)?),
                    "Pod" => {
                        let pod = pod_from_json(&value).map_err(wrap)?;
                        self.pods
                            .entry(namespace_of(&value).to_string())
                            .or_default()
                            .push(Arc::new(pod));
                    }
                    "ControllerRevision" => {
                        let revision = revision_from_json(&value).map_err(wrap)?;
                        self.revisions
                            .entry(namespace_of(&value).to_string())
                            .or_default()
                            .push(revision);
                    }
                    _ => {}
                }
                Ok(())
            }
        }
    }

    /// One Snapshot per DaemonSet, in namespace/name order, sharing one node list.
    pub fn snapshots(&self, now: Timestamp) -> Vec<Snapshot> {
        let nodes: Arc<[NodeView]> = Arc::from(self.nodes.clone());
        self.daemon_sets
            .iter()
            .map(|daemon_set| {
                let namespace = &daemon_set.namespace;
                Snapshot::assemble(
                    daemon_set.clone(),
                    Arc::clone(&nodes),
                    self.pods.get(namespace).into_iter().flatten(),
                    self.revisions.get(namespace).cloned().unwrap_or_default(),
                    now,
                )
            })
            .collect()
    }
}
