//! One version of an object as the store keeps it: compact JSON text, parsed on demand, and the
//! few fields read without parsing (no I/O).
//!
//! Why text: a pod of 3 KB of JSON is about 26 KB as a `serde_json::Value` tree (every small
//! object is a B-tree node with room for 11 entries), and the store keeps every version of every
//! object. As text, a version costs its JSON and a few short strings; GET, LIST and watches write
//! the text out as it is. Numbers parse back to the values written: serde_json's
//! `float_roundtrip` is on (Cargo.toml); without it some floats come back one unit off.

use std::fmt;

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};

/// The deepest nesting of arrays and objects a stored object may have: serde_json's parser
/// refuses a 128th level, and every stored text must parse back (`StoredObject::value`).
pub const MAX_DEPTH: usize = 127;

/// Why an object cannot be stored.
#[derive(Debug, thiserror::Error)]
pub enum StoreEncodingError {
    /// A write (a patch, say) nested values deeper than the text could be parsed back.
    #[error("the object nests arrays and objects {depth} levels deep; at most {MAX_DEPTH} are stored")]
    TooDeep { depth: usize },
    /// The object is a JSON array, string, number, boolean or null.
    #[error("only JSON objects are stored")]
    NotAnObject,
    /// serde_json could not write it (it writes every `Value`; kept for its `Result`).
    #[error("cannot encode the object")]
    Encode(#[source] serde_json::Error),
}

/// One version of an object, immutable once stored.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredObject {
    /// serde_json's compact text of the object, except that `apiVersion` and `kind` come first
    /// (as kube-apiserver writes them).
    json: Box<str>,
    /// Where the fields after `apiVersion` and `kind` start in `json`: a list item is `{` and
    /// the text from here (kube-apiserver leaves the type to the list).
    rest: usize,
    namespace: Box<str>,
    name: Box<str>,
    uid: Box<str>,
    /// `spec.nodeName` (pods), empty when unset: the fleet finds a node's pods without parsing.
    node_name: Box<str>,
}

impl StoredObject {
    /// Encodes `object`; fails, storing nothing, when the text would not parse back.
    pub fn encode(object: &Value) -> Result<StoredObject, StoreEncodingError> {
        let Value::Object(fields) = object else {
            return Err(StoreEncodingError::NotAnObject);
        };
        let depth = depth(object);
        if depth > MAX_DEPTH {
            return Err(StoreEncodingError::TooDeep { depth });
        }
        let json = serde_json::to_string(&TypeFirst(fields)).map_err(StoreEncodingError::Encode)?;
        let text = |pointer: &str| -> Box<str> {
            object
                .pointer(pointer)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .into()
        };
        Ok(StoredObject {
            rest: rest_offset(fields).map_err(StoreEncodingError::Encode)?,
            json: json.into_boxed_str(),
            namespace: text("/metadata/namespace"),
            name: text("/metadata/name"),
            uid: text("/metadata/uid"),
            node_name: text("/spec/nodeName"),
        })
    }

    /// The object as a tree, parsed from its text.
    pub fn value(&self) -> Value {
        // `encode` stored only serde_json's own text of an object no deeper than the parser
        // accepts, so this does not fail; were it to, readers see an empty object, not a panic.
        serde_json::from_str(&self.json).unwrap_or_else(|error| {
            tracing::error!(%error, name = %self.name, "a stored object does not parse back");
            Value::Object(Map::new())
        })
    }

    /// The object's JSON text.
    pub fn json(&self) -> &str {
        &self.json
    }

    /// Appends the object as a list item: without `apiVersion` and `kind`.
    pub fn write_list_item(&self, out: &mut String) {
        out.push('{');
        out.push_str(&self.json[self.rest..]);
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// `spec.nodeName`, empty when unset.
    pub fn node_name(&self) -> &str {
        &self.node_name
    }
}

impl fmt::Debug for StoredObject {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.json)
    }
}

const TYPE_FIELDS: [&str; 2] = ["apiVersion", "kind"];

/// An object's fields with `apiVersion` and `kind` first, the rest in the map's order.
struct TypeFirst<'a>(&'a Map<String, Value>);

impl Serialize for TypeFirst<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let typed = TYPE_FIELDS.iter().filter_map(|field| self.0.get_key_value(*field));
        let rest = self.0.iter().filter(|(key, _)| !TYPE_FIELDS.contains(&key.as_str()));
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (key, value) in typed.chain(rest) {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

/// The offset in `TypeFirst(fields)`'s text where the fields after the type fields start.
fn rest_offset(fields: &Map<String, Value>) -> Result<usize, serde_json::Error> {
    let typed: Map<String, Value> = TYPE_FIELDS
        .iter()
        .filter_map(|field| fields.get_key_value(*field))
        .map(|(key, value)| (key.clone(), value.clone()))
        .collect();
    if typed.is_empty() {
        return Ok(1);
    }
    // `{"apiVersion":…,"kind":…}`: the rest follows a comma in place of the `}`, or is the `}`.
    let typed_len = serde_json::to_string(&typed)?.len();
    Ok(if typed.len() == fields.len() {
        typed_len - 1
    } else {
        typed_len
    })
}

/// Levels of arrays and objects, as serde_json's parser counts them against its limit.
fn depth(value: &Value) -> usize {
    match value {
        Value::Array(items) => 1 + items.iter().map(depth).max().unwrap_or(0),
        Value::Object(fields) => 1 + fields.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn nested(levels: usize) -> Value {
        let mut value = json!("leaf");
        for _ in 1..levels {
            value = json!([value]);
        }
        json!({"data": value})
    }

    fn list_item(stored: &StoredObject) -> Value {
        let mut text = String::new();
        stored.write_list_item(&mut text);
        serde_json::from_str(&text).unwrap_or_default()
    }

    #[test]
    fn a_stored_object_parses_back_to_the_object() {
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "data": {"a": [1, 2.5, null, true]},
                         "metadata": {"name": "p", "namespace": "ns", "uid": "u1"}, "spec": {"nodeName": "n1"}});
        let stored = StoredObject::encode(&pod).map_err(|e| e.to_string());
        let stored = stored.as_ref().map(StoredObject::value);
        assert_eq!(stored, Ok(pod));
    }

    #[test]
    fn a_number_parses_back_to_the_same_number() {
        // Without serde_json's `float_roundtrip` these two parse back one unit in the last place off.
        let object = json!({"spec": {"large": 2.017351698988807e285, "small": -5.181469492581746e-160, "count": 3}});
        let stored = StoredObject::encode(&object).map(|stored| stored.value());
        assert_eq!(stored.map_err(|error| error.to_string()), Ok(object));
    }

    #[test]
    fn the_type_fields_come_first_and_a_list_item_leaves_them_out() {
        let event = json!({"action": "Create", "apiVersion": "v1", "kind": "Event", "metadata": {"name": "e"}});
        let Ok(stored) = StoredObject::encode(&event) else {
            panic!("an Event is stored");
        };
        assert_eq!(
            stored.json(),
            r#"{"apiVersion":"v1","kind":"Event","action":"Create","metadata":{"name":"e"}}"#
        );
        assert_eq!(
            list_item(&stored),
            json!({"action": "Create", "metadata": {"name": "e"}})
        );
    }

    #[test]
    fn a_list_item_of_an_object_with_only_some_or_no_type_fields_is_well_formed() {
        for (object, item) in [
            (json!({"apiVersion": "v1", "kind": "Pod"}), json!({})),
            (json!({"kind": "Pod", "spec": {}}), json!({"spec": {}})),
            (json!({"spec": {}}), json!({"spec": {}})),
            (json!({}), json!({})),
        ] {
            let stored = StoredObject::encode(&object).map_err(|e| e.to_string());
            assert_eq!(stored.as_ref().map(list_item), Ok(item), "{object}");
        }
    }

    #[test]
    fn the_metadata_read_without_parsing_is_the_objects() {
        let pod = json!({"metadata": {"name": "p", "namespace": "ns", "uid": "u1"}, "spec": {"nodeName": "n1"}});
        let stored = StoredObject::encode(&pod).map_err(|e| e.to_string());
        let fields = stored.map(|s| {
            [
                s.namespace().to_string(),
                s.name().into(),
                s.uid().into(),
                s.node_name().into(),
            ]
        });
        assert_eq!(fields, Ok(["ns".into(), "p".into(), "u1".into(), "n1".into()]));
    }

    #[test]
    fn an_object_nested_as_deep_as_the_parser_accepts_is_stored_and_deeper_is_refused() {
        let deepest = StoredObject::encode(&nested(MAX_DEPTH)).map(|stored| stored.value());
        assert!(matches!(deepest, Ok(value) if value == nested(MAX_DEPTH)));
        let too_deep = StoredObject::encode(&nested(MAX_DEPTH + 1));
        assert!(
            matches!(too_deep, Err(StoreEncodingError::TooDeep { depth: 128 })),
            "{too_deep:?}"
        );
        let parsed_back: Result<Value, _> = serde_json::from_str(&nested(MAX_DEPTH + 1).to_string());
        assert!(parsed_back.is_err(), "serde_json's limit moved: update MAX_DEPTH");
    }

    #[test]
    fn only_objects_are_stored() {
        assert!(matches!(
            StoredObject::encode(&json!([1])),
            Err(StoreEncodingError::NotAnObject)
        ));
    }
}
