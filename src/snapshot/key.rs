//! Which object a JSON document is: its namespace and name, as the API server defaults them (pure).

use std::fmt;

use serde_json::Value;

/// An object's namespace and name; the namespace is empty for cluster-scoped kinds (nodes).
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ObjectKey {
    pub namespace: String,
    pub name: String,
}

impl ObjectKey {
    pub fn new(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        ObjectKey {
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// The key of an object of a namespaced kind; an empty namespace reads as `default`, which is
    /// what the API server stores for a namespaced object sent without one.
    pub fn namespaced(object: &Value) -> Self {
        ObjectKey::new(namespace_of(object), metadata_string(object, "name"))
    }

    /// The key of an object of a cluster-scoped kind (namespace left empty).
    pub fn cluster_scoped(object: &Value) -> Self {
        ObjectKey::new("", metadata_string(object, "name"))
    }
}

/// `namespace/name`, or `name` for a cluster-scoped object: kubectl's and client-go's cache key.
impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.namespace.is_empty() {
            f.write_str(&self.name)
        } else {
            write!(f, "{}/{}", self.namespace, self.name)
        }
    }
}

/// The namespace of an object of a namespaced kind, `default` when absent or empty.
pub fn namespace_of(object: &Value) -> &str {
    match metadata_string(object, "namespace") {
        "" => "default",
        namespace => namespace,
    }
}

fn metadata_string<'v>(object: &'v Value, field: &str) -> &'v str {
    object
        .get("metadata")
        .and_then(|metadata| metadata.get(field))
        .and_then(Value::as_str)
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_namespaced_object_without_a_namespace_lives_in_default() {
        let pod = json!({"metadata": {"name": "p"}});
        assert_eq!(ObjectKey::namespaced(&pod), ObjectKey::new("default", "p"));
        assert_eq!(ObjectKey::namespaced(&pod).to_string(), "default/p");
        let node = json!({"metadata": {"name": "n1"}});
        assert_eq!(ObjectKey::cluster_scoped(&node).to_string(), "n1");
    }
}
