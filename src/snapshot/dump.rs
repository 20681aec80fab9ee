//! Reads a kubectl dump (a `List`, multi-document YAML, or JSON) into Snapshots (pure: parses text it is given).
//!
//! Invariants of a read dump: it holds at most one object per kind, namespace and name (an API
//! server cannot hold two, and two nodes of one name would each seem to need a pod); its nodes
//! and DaemonSets are sorted by name.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use serde_json::Value;

use super::brief;
use super::from_json::{ObjectError, daemon_set_from_json, node_from_json, pod_from_json, revision_from_json};
use super::key::namespace_of;
use super::{DaemonSetView, NodeView, PodView, RevisionView, Snapshot, Timestamp};

/// Where an object sits in a dump: its document (1-based; each value of a JSON stream is one) and,
/// inside a list, its item (1-based).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub document: usize,
    pub item: Option<usize>,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.item {
            None => write!(f, "document {}", self.document),
            Some(item) => write!(f, "document {}, item {item}", self.document),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    /// The bytes are not UTF-8 (a dump is YAML or JSON text; kubectl prints UTF-8).
    #[error("byte {offset} (line {line}, column {column}) is not valid UTF-8: a dump is UTF-8 text")]
    NotUtf8 {
        /// 0-based offset of the first byte that does not begin a valid UTF-8 character.
        offset: usize,
        line: usize,
        /// 1-based, counted in characters.
        column: usize,
    },
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
    #[error("{position}")]
    Object {
        position: Position,
        #[source]
        source: ObjectError,
    },
    /// The same object appears twice: not one cluster's state, which holds one object per kind,
    /// namespace and name.
    #[error("{position}: {kind} {name} appears twice in the dump (first at {first}); a cluster holds one")]
    Duplicate {
        kind: &'static str,
        /// `namespace/name`, or `name` for a node.
        name: String,
        first: Position,
        position: Position,
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
    /// Parses dump bytes, which must be UTF-8 text; then as `parse`.
    pub fn parse_bytes(bytes: &[u8]) -> Result<Dump, DumpError> {
        match std::str::from_utf8(bytes) {
            Ok(text) => Dump::parse(text),
            Err(error) => Err(not_utf8(bytes, error.valid_up_to())),
        }
    }

    /// Parses dump text. JSON is recognised by its first non-blank character; anything else is YAML.
    pub fn parse(text: &str) -> Result<Dump, DumpError> {
        let mut reader = DumpReader::default();
        let trimmed = text.trim_start();
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            for (index, document) in serde_json::Deserializer::from_str(text)
                .into_iter::<Value>()
                .enumerate()
            {
                let document = document.map_err(|source| DumpError::Json { source })?;
                reader.add_document(index + 1, document)?;
            }
        } else {
            for (index, document) in yaml_serde::Deserializer::from_str(text).enumerate() {
                let value = Value::deserialize(document).map_err(|source| DumpError::Yaml {
                    document: index + 1,
                    source,
                })?;
                reader.add_document(index + 1, value)?;
            }
        }
        Ok(reader.finish())
    }

    /// A dump of objects already decoded (e.g. listed from an API server); each must carry its kind.
    pub fn from_objects(objects: Vec<Value>) -> Result<Dump, DumpError> {
        let mut reader = DumpReader::default();
        for (index, object) in objects.into_iter().enumerate() {
            reader.add_document(index + 1, object)?;
        }
        Ok(reader.finish())
    }

    /// One Snapshot per DaemonSet, in namespace/name order, sharing one node list.
    pub fn snapshots(&self, now: Timestamp) -> Vec<Snapshot> {
        let nodes = Arc::new(self.nodes.clone());
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

/// The error for bytes that are UTF-8 up to `valid_up_to` and not at it.
fn not_utf8(bytes: &[u8], valid_up_to: usize) -> DumpError {
    let valid = String::from_utf8_lossy(&bytes[..valid_up_to]);
    let line_start = valid.rfind('\n').map_or(0, |newline| newline + 1);
    DumpError::NotUtf8 {
        offset: valid_up_to,
        line: valid.matches('\n').count() + 1,
        column: valid[line_start..].chars().count() + 1,
    }
}

/// A dump being read: the objects so far, and where each was found (a duplicate names both places).
#[derive(Default)]
struct DumpReader {
    dump: Dump,
    seen: BTreeMap<(&'static str, String, String), Position>,
}

impl DumpReader {
    /// Orders nodes and DaemonSets by name, as the planner's fast path expects.
    fn finish(mut self) -> Dump {
        let dump = &mut self.dump;
        dump.nodes.sort_by(|a, b| a.name.cmp(&b.name));
        dump.daemon_sets
            .sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        self.dump
    }

    fn add_document(&mut self, document: usize, value: Value) -> Result<(), DumpError> {
        let position = Position { document, item: None };
        match value {
            Value::Array(items) => self.add_items(document, items, None),
            value => self.add_object(position, value, None),
        }
    }

    fn add_items(&mut self, document: usize, items: Vec<Value>, item_kind: Option<&str>) -> Result<(), DumpError> {
        for (index, item) in items.into_iter().enumerate() {
            let position = Position {
                document,
                item: Some(index + 1),
            };
            self.add_object(position, item, item_kind)?;
        }
        Ok(())
    }

    fn add_object(&mut self, position: Position, mut value: Value, item_kind: Option<&str>) -> Result<(), DumpError> {
        if value.is_null() {
            return Ok(());
        }
        let kind = value
            .get("kind")
            .and_then(Value::as_str)
            .or(item_kind)
            .unwrap_or_default()
            .to_string();
        let wrap = |source| DumpError::Object { position, source };
        if kind.ends_with("List")
            && let Some(items) = value.get_mut("items").map(Value::take)
        {
            // A typed list (PodList, ...) may omit each item's kind.
            let item_kind = kind.strip_suffix("List").filter(|k| !k.is_empty());
            return match items {
                Value::Array(items) => self.add_items(position.document, items, item_kind),
                Value::Null => Ok(()),
                other => Err(wrap(ObjectError {
                    kind: "List",
                    name: brief::name(&kind),
                    problem: format!("items must be a list, found {}", json_type(&other)),
                })),
            };
        }
        match kind.as_str() {
            "DaemonSet" => {
                let daemon_set = daemon_set_from_json(&value).map_err(wrap)?;
                self.first_sighting("DaemonSet", &daemon_set.namespace, &daemon_set.name, position)?;
                self.dump.daemon_sets.push(daemon_set);
            }
            "Node" => {
                let node = node_from_json(&value).map_err(wrap)?;
                self.first_sighting("Node", "", &node.name, position)?;
                self.dump.nodes.push(node);
            }
            "Pod" => {
                let pod = pod_from_json(&value).map_err(wrap)?;
                let namespace = namespace_of(&value);
                self.first_sighting("Pod", namespace, &pod.name, position)?;
                let pods = self.dump.pods.entry(namespace.to_string()).or_default();
                pods.push(Arc::new(pod));
            }
            "ControllerRevision" => {
                let revision = revision_from_json(&value).map_err(wrap)?;
                let namespace = namespace_of(&value);
                self.first_sighting("ControllerRevision", namespace, &revision.name, position)?;
                let revisions = self.dump.revisions.entry(namespace.to_string()).or_default();
                revisions.push(revision);
            }
            _ => {}
        }
        Ok(())
    }

    /// Records where `kind` `namespace/name` was found (namespace empty for nodes); a second
    /// sighting is an error naming both places.
    fn first_sighting(
        &mut self,
        kind: &'static str,
        namespace: &str,
        name: &str,
        position: Position,
    ) -> Result<(), DumpError> {
        match self.seen.entry((kind, namespace.to_string(), name.to_string())) {
            Entry::Vacant(entry) => {
                entry.insert(position);
                Ok(())
            }
            Entry::Occupied(entry) => Err(DumpError::Duplicate {
                kind,
                name: match namespace {
                    "" => brief::name(name),
                    namespace => format!("{}/{}", brief::name(namespace), brief::name(name)),
                },
                first: *entry.get(),
                position,
            }),
        }
    }
}

/// A JSON value's type, for error messages that must not echo a large value.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}
