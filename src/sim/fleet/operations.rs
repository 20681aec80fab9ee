//! What is done to the fleet from outside, by an operator, the admin API or a test (no I/O; writes through the store).
//!
//! Node readiness, cordons, taints, labels, nodes added or removed, image behaviours.

use serde_json::{Value, json};

use super::{ACTOR, Fleet, ImageBehaviour, nodes, text};
use crate::sim::cluster::{create, node_object};
use crate::sim::errors::ApiError;
use crate::sim::store::now_rfc3339;

/// Replaces the node's taints with `key` by one taint per effect (none removes them), as the node
/// lifecycle controller does for its condition taints.
fn replace_taints(node: &mut Value, key: &str, effects: &[&str]) {
    let mut taints: Vec<Value> = node
        .pointer("/spec/taints")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    taints.retain(|taint| text(taint, "/key") != key);
    for effect in effects {
        taints.push(json!({"key": key, "effect": effect, "timeAdded": now_rfc3339()}));
    }
    node["spec"]["taints"] = json!(taints);
}

impl Fleet {
    pub fn set_image_behaviour(&self, image: &str, behaviour: Option<ImageBehaviour>) {
        let mut config = self.config.lock();
        match behaviour {
            Some(behaviour) => config.images.insert(image.to_string(), behaviour),
            None => config.images.remove(image),
        };
    }

    fn edit_node(&self, name: &str, edit: impl FnOnce(&mut Value)) -> Result<(), ApiError> {
        self.store.write(nodes(), "", name, ACTOR, "update", |current, _| {
            let mut node = current.cloned().ok_or_else(|| ApiError::not_found(nodes(), name))?;
            edit(&mut node);
            Ok(Some(node))
        })?;
        Ok(())
    }

    /// Ready or NotReady, with the taints the node lifecycle controller adds for NotReady nodes.
    pub fn set_node_ready(&self, name: &str, ready: bool) -> Result<(), ApiError> {
        self.edit_node(name, |node| {
            if let Some(conditions) = node.pointer_mut("/status/conditions").and_then(Value::as_array_mut) {
                for condition in conditions.iter_mut().filter(|c| text(c, "/type") == "Ready") {
                    condition["status"] = json!(if ready { "True" } else { "Unknown" });
                    condition["reason"] = json!(if ready { "KubeletReady" } else { "NodeStatusUnknown" });
                    condition["lastTransitionTime"] = json!(now_rfc3339());
                }
            }
            let effects: &[&str] = if ready { &[] } else { &["NoSchedule", "NoExecute"] };
            replace_taints(node, "node.kubernetes.io/unreachable", effects);
        })
    }

    /// Cordons (or uncordons) a node: `spec.unschedulable` and the unschedulable taint.
    pub fn cordon(&self, name: &str, cordoned: bool) -> Result<(), ApiError> {
        self.edit_node(name, |node| {
            node["spec"]["unschedulable"] = json!(cordoned);
            let effects: &[&str] = if cordoned { &["NoSchedule"] } else { &[] };
            replace_taints(node, "node.kubernetes.io/unschedulable", effects);
        })
    }

    /// Adds (or replaces) a taint with this key and effect.
    pub fn taint(&self, name: &str, key: &str, value: &str, effect: &str) -> Result<(), ApiError> {
        self.edit_node(name, |node| {
            let mut taints: Vec<Value> = node
                .pointer("/spec/taints")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            taints.retain(|t| !(text(t, "/key") == key && text(t, "/effect") == effect));
            taints.push(json!({"key": key, "value": value, "effect": effect}));
            node["spec"]["taints"] = json!(taints);
        })
    }

    /// Removes every taint with this key.
    pub fn untaint(&self, name: &str, key: &str) -> Result<(), ApiError> {
        self.edit_node(name, |node| replace_taints(node, key, &[]))
    }

    /// Sets a label; `None` removes it.
    pub fn label(&self, name: &str, key: &str, value: Option<&str>) -> Result<(), ApiError> {
        self.edit_node(name, |node| match value {
            Some(value) => node["metadata"]["labels"][key] = json!(value),
            None => {
                if let Some(labels) = node.pointer_mut("/metadata/labels").and_then(Value::as_object_mut) {
                    labels.remove(key);
                }
            }
        })
    }

    pub fn add_node(&self, name: &str, index: usize) -> Result<(), ApiError> {
        create(&self.store, nodes(), "", node_object(name, index), ACTOR).map(|_| ())
    }

    /// Deletes a node; the pod garbage collector then deletes its pods.
    pub fn remove_node(&self, name: &str) -> Result<(), ApiError> {
        self.store
            .write(nodes(), "", name, ACTOR, "delete", |current, _| match current {
                Some(_) => Ok(None),
                None => Err(ApiError::not_found(nodes(), name)),
            })?;
        Ok(())
    }
}
