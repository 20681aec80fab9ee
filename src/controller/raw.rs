//! A watched object kept as the JSON the API server sent: the store reads JSON, so decoding into
//! `DynamicObject` (serde's buffered `Content` for its flattened fields, a typed `ObjectMeta`) and
//! re-encoding it as JSON did the work twice. BENCHMARKS.md ("Per-event cost") has the figures.

use std::borrow::Cow;
use std::fmt::Debug;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::api::{ApiResource, DynamicObject};
use kube::core::{DynamicResourceScope, Resource};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// An object as served, with the identity kube-runtime's watcher reads from its metadata.
#[derive(Clone, Debug)]
pub struct RawObject {
    /// Name, namespace, uid and resourceVersion only: the rest stays in `json`.
    metadata: ObjectMeta,
    json: Value,
}

impl RawObject {
    pub fn json(&self) -> &Value {
        &self.json
    }
}

impl<'de> Deserialize<'de> for RawObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = Value::deserialize(deserializer)?;
        let field = |name: &str| {
            json.get("metadata")
                .and_then(|metadata| metadata.get(name))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let metadata = ObjectMeta {
            name: field("name"),
            namespace: field("namespace"),
            uid: field("uid"),
            resource_version: field("resourceVersion"),
            ..ObjectMeta::default()
        };
        Ok(RawObject { metadata, json })
    }
}

impl Resource for RawObject {
    type DynamicType = ApiResource;
    type Scope = DynamicResourceScope;

    fn group(resource: &ApiResource) -> Cow<'_, str> {
        DynamicObject::group(resource)
    }

    fn version(resource: &ApiResource) -> Cow<'_, str> {
        DynamicObject::version(resource)
    }

    fn kind(resource: &ApiResource) -> Cow<'_, str> {
        DynamicObject::kind(resource)
    }

    fn api_version(resource: &ApiResource) -> Cow<'_, str> {
        DynamicObject::api_version(resource)
    }

    fn plural(resource: &ApiResource) -> Cow<'_, str> {
        DynamicObject::plural(resource)
    }

    fn meta(&self) -> &ObjectMeta {
        &self.metadata
    }

    fn meta_mut(&mut self) -> &mut ObjectMeta {
        &mut self.metadata
    }
}

/// An object type a watch decodes into, read by the store as the JSON the API server served.
pub trait Served:
    Resource<DynamicType = ApiResource, Scope = DynamicResourceScope>
    + Clone
    + DeserializeOwned
    + Debug
    + Send
    + Sync
    + 'static
{
    fn served_json(&self) -> Cow<'_, Value>;
}

impl Served for RawObject {
    fn served_json(&self) -> Cow<'_, Value> {
        Cow::Borrowed(self.json())
    }
}

impl Served for DynamicObject {
    /// A DynamicObject always serializes.
    fn served_json(&self) -> Cow<'_, Value> {
        Cow::Owned(serde_json::to_value(self).unwrap_or(Value::Null))
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_object_is_kept_whole_and_its_identity_read_for_the_watcher() {
        let served = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "agent-x", "namespace": "default", "uid": "u1", "resourceVersion": "42",
                         "labels": {"app": "agent"}},
            "spec": {"nodeName": "node-1"}, "status": {"phase": "Running"}});
        let raw: RawObject = serde_json::from_value(served.clone()).unwrap_or_else(|error| panic!("{error}"));
        assert_eq!(raw.json(), &served);
        let meta = raw.meta();
        assert_eq!(
            (
                meta.name.as_deref(),
                meta.namespace.as_deref(),
                meta.uid.as_deref(),
                meta.resource_version.as_deref()
            ),
            (Some("agent-x"), Some("default"), Some("u1"), Some("42"))
        );
    }

    #[test]
    fn a_watch_line_decodes_into_it() {
        let line = br#"{"type":"MODIFIED","object":{"metadata":{"name":"n","resourceVersion":"7"},"spec":{}}}"#;
        let event: kube::core::WatchEvent<RawObject> =
            serde_json::from_slice(line).unwrap_or_else(|error| panic!("{error}"));
        let kube::core::WatchEvent::Modified(object) = event else {
            panic!("a MODIFIED event");
        };
        assert_eq!(object.meta().resource_version.as_deref(), Some("7"));
        assert_eq!(object.json()["spec"], json!({}));
    }
}
