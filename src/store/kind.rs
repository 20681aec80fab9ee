//! The kinds of object the controller watches (pure).

use serde_json::Value;

use crate::snapshot::ObjectKey;

/// A watched kind. Its API resource (group, version, plural) is the controller's business.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    DaemonSet,
    Pod,
    Node,
    ControllerRevision,
}

impl Kind {
    pub const ALL: [Kind; 4] = [Kind::DaemonSet, Kind::Pod, Kind::Node, Kind::ControllerRevision];

    pub fn name(self) -> &'static str {
        match self {
            Kind::DaemonSet => "DaemonSet",
            Kind::Pod => "Pod",
            Kind::Node => "Node",
            Kind::ControllerRevision => "ControllerRevision",
        }
    }

    /// Whether objects of this kind live in a namespace (nodes do not).
    pub fn is_namespaced(self) -> bool {
        self != Kind::Node
    }

    /// The key of an object of this kind as served (namespace defaulted for namespaced kinds).
    pub fn key(self, object: &Value) -> ObjectKey {
        if self.is_namespaced() {
            ObjectKey::namespaced(object)
        } else {
            ObjectKey::cluster_scoped(object)
        }
    }
}
