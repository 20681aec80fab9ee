//! Owner-reference garbage collection when an owner is deleted (no I/O; writes through the store).

use serde_json::{Value, json};

use super::errors::ApiError;
use super::store::Store;

/// Deletes the dependents of a deleted owner (Background, Foreground; recursively) or releases them
/// (Orphan). Dependents with other owners left are kept, without the reference to this one.
pub fn collect_garbage(store: &Store, owner_uid: &str, propagation: &str) {
    for (resource, dependent) in store.dependents(owner_uid) {
        let namespace = dependent
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let name = dependent
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let references = dependent
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let remaining: Vec<Value> = references
            .into_iter()
            .filter(|r| r.get("uid").and_then(Value::as_str) != Some(owner_uid))
            .collect();
        if propagation == "Orphan" || !remaining.is_empty() {
            let _ = store.write(
                resource,
                &namespace,
                &name,
                "garbage-collector",
                "update",
                |current, _| {
                    let Some(current) = current else { return Ok(None) };
                    let mut released = current.clone();
                    released["metadata"]["ownerReferences"] = json!(remaining);
                    Ok(Some(released))
                },
            );
            continue;
        }
        let uid = dependent
            .pointer("/metadata/uid")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        collect_garbage(store, &uid, propagation);
        let _ = store.write(
            resource,
            &namespace,
            &name,
            "garbage-collector",
            "delete",
            |current, _| match current {
                Some(_) => Ok(None),
                None => Err(ApiError::not_found(resource, &name)),
            },
        );
    }
}
