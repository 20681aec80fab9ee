//! What legitimately differs between two API servers answering the same requests, replaced by
//! placeholders (so a field's presence is still compared) or removed, each with its reason.

use serde_json::Value;

/// Keys whose values are server-generated and unique per object or per write: `uid` (a random
/// UUID, also inside ownerReferences and Status details) and `resourceVersion` (each server's own
/// write counter, also a list's and a watch event's).
const GENERATED: &[&str] = &["uid", "resourceVersion"];

/// Fields removed on both sides, with why:
/// - `managedFields`: server-side field ownership is not modelled by the simulator (README,
///   "Limits:"); the real one records each writer's fields with its own timestamps.
const REMOVED: &[&str] = &["managedFields"];

const TOKEN_VOLUME: &str = "kube-api-access-";

/// The answer as both servers could give it:
/// - `uid`, `resourceVersion` become `<uid>`, `<resourceVersion>`;
/// - every RFC 3339 timestamp becomes `<time>` (creation, deletion, conditions, Events: each
///   server's clock);
/// - a name made from `generateName` keeps its prefix and ends in `<generated>` (random suffix);
/// - a list's `continue` token becomes `<continue>` when present (each server's own encoding);
/// - the ServiceAccount plugin's token volume `kube-api-access-` + 5 random characters becomes
///   `kube-api-access-<generated>`;
/// - `managedFields` is removed (see REMOVED).
pub fn normalise(mut value: Value) -> Value {
    walk(&mut value);
    value
}

fn walk(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for key in REMOVED {
                map.remove(*key);
            }
            let generate_name = map.get("generateName").and_then(Value::as_str).map(String::from);
            if let (Some(prefix), Some(Value::String(name))) = (generate_name, map.get_mut("name"))
                && name.starts_with(&prefix)
            {
                *name = format!("{prefix}<generated>");
            }
            for (key, field) in map.iter_mut() {
                match field {
                    Value::String(text) if GENERATED.contains(&key.as_str()) && !text.is_empty() => {
                        *text = format!("<{key}>");
                    }
                    Value::String(text) if key == "continue" && !text.is_empty() => *text = "<continue>".into(),
                    _ => walk(field),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(walk),
        Value::String(text) if chrono::DateTime::parse_from_rfc3339(text).is_ok() => *text = "<time>".into(),
        Value::String(text) if text.starts_with(TOKEN_VOLUME) && text.len() == TOKEN_VOLUME.len() + 5 => {
            *text = format!("{TOKEN_VOLUME}<generated>");
        }
        _ => {}
    }
}
