//! Object metadata validation as kube-apiserver does it for every kind (apimachinery
//! `ValidateObjectMeta`: label keys and values, annotation keys and their total size), so that a
//! write the real API server refuses is refused here too, with the same causes (no I/O).

use serde_json::{Map, Value};

/// apimachinery `TotalAnnotationSizeLimitB`: the sum of every annotation's key and value length.
pub const ANNOTATIONS_LIMIT_BYTES: usize = 256 * 1024;
/// A label value, and the name part of a qualified key (`IsQualifiedName`, `IsValidLabelValue`).
const NAME_LIMIT: usize = 63;
/// The optional prefix of a qualified key, a DNS subdomain (`IsDNS1123Subdomain`).
const PREFIX_LIMIT: usize = 253;

/// Causes (field, message) for the object's own metadata and, where it has one, its pod
/// template's labels (`spec.template.metadata.labels`).
pub fn metadata_causes(object: &Value) -> Vec<(String, String)> {
    let mut causes = Vec::new();
    if let Some(labels) = object.pointer("/metadata/labels").and_then(Value::as_object) {
        causes.extend(label_causes("metadata.labels", labels));
    }
    if let Some(labels) = object
        .pointer("/spec/template/metadata/labels")
        .and_then(Value::as_object)
    {
        causes.extend(label_causes("spec.template.metadata.labels", labels));
    }
    if let Some(annotations) = object.pointer("/metadata/annotations").and_then(Value::as_object) {
        causes.extend(annotation_causes("metadata.annotations", annotations));
    }
    causes
}

/// apimachinery `ValidateLabels`: every key a qualified name, every value a label value.
fn label_causes(field: &str, labels: &Map<String, Value>) -> Vec<(String, String)> {
    let mut causes = Vec::new();
    for (key, value) in labels {
        if let Some(problem) = qualified_name_problem(key) {
            causes.push((field.to_string(), format!("Invalid value: {}: {problem}", quoted(key))));
        }
        let value = value.as_str().unwrap_or_default();
        if let Some(problem) = label_value_problem(value) {
            causes.push((
                field.to_string(),
                format!("Invalid value: {}: {problem}", quoted(value)),
            ));
        }
    }
    causes
}

/// apimachinery `ValidateAnnotations`: keys are qualified names, and all of them together stay
/// within 256 KiB.
fn annotation_causes(field: &str, annotations: &Map<String, Value>) -> Vec<(String, String)> {
    let mut causes = Vec::new();
    let mut total = 0usize;
    for (key, value) in annotations {
        if let Some(problem) = qualified_name_problem(&key.to_ascii_lowercase()) {
            causes.push((field.to_string(), format!("Invalid value: {}: {problem}", quoted(key))));
        }
        total += key.len() + value.as_str().map_or(0, str::len);
    }
    if total > ANNOTATIONS_LIMIT_BYTES {
        causes.push((
            field.to_string(),
            format!("Too long: must have at most {ANNOTATIONS_LIMIT_BYTES} bytes"),
        ));
    }
    causes
}

/// apimachinery `IsQualifiedName`: `[prefix/]name`, the prefix a DNS subdomain.
fn qualified_name_problem(key: &str) -> Option<String> {
    let (prefix, name) = match key.split_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    if name.is_empty() {
        return Some("name part must be non-empty".into());
    }
    if name.len() > NAME_LIMIT {
        return Some(format!("name part must be no more than {NAME_LIMIT} characters"));
    }
    if !is_label_token(name) || name.contains('/') {
        return Some(
            "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end \
             with an alphanumeric character"
                .into(),
        );
    }
    match prefix {
        Some("") => Some("prefix part must be non-empty".into()),
        Some(prefix) if prefix.len() > PREFIX_LIMIT => {
            Some(format!("prefix part must be no more than {PREFIX_LIMIT} characters"))
        }
        Some(prefix) if !is_dns_subdomain(prefix) => Some(
            "prefix part a lowercase RFC 1123 subdomain must consist of lower case alphanumeric \
             characters, '-' or '.', and must start and end with an alphanumeric character"
                .into(),
        ),
        _ => None,
    }
}

/// apimachinery `IsValidLabelValue`: empty, or a label token of at most 63 characters.
fn label_value_problem(value: &str) -> Option<String> {
    if value.len() > NAME_LIMIT {
        return Some(format!("must be no more than {NAME_LIMIT} characters"));
    }
    if !value.is_empty() && !is_label_token(value) {
        return Some(
            "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or \
             '.', and must start and end with an alphanumeric character"
                .into(),
        );
    }
    None
}

/// `([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]`
fn is_label_token(text: &str) -> bool {
    let bytes = text.as_bytes();
    let (Some(first), Some(last)) = (bytes.first(), bytes.last()) else {
        return false;
    };
    first.is_ascii_alphanumeric()
        && last.is_ascii_alphanumeric()
        && bytes
            .iter()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.'))
}

/// RFC 1123 subdomain: dot-separated lowercase labels of alphanumerics and '-', each starting and
/// ending with an alphanumeric.
fn is_dns_subdomain(text: &str) -> bool {
    text.split('.').all(|label| {
        let bytes = label.as_bytes();
        match (bytes.first(), bytes.last()) {
            (Some(first), Some(last)) => {
                is_lower_alphanumeric(*first)
                    && is_lower_alphanumeric(*last)
                    && bytes.iter().all(|byte| is_lower_alphanumeric(*byte) || *byte == b'-')
            }
            _ => false,
        }
    })
}

fn is_lower_alphanumeric(byte: u8) -> bool {
    byte.is_ascii_lowercase() || byte.is_ascii_digit()
}

/// The value as Go's `%q` shows it, cut short: a cause never repeats a megabyte.
fn quoted(text: &str) -> String {
    const SHOWN: usize = 80;
    match text.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{:?}", format!("{}...", &text[..cut])),
        None => format!("{text:?}"),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn causes_for(metadata: Value) -> Vec<(String, String)> {
        metadata_causes(&json!({"metadata": metadata}))
    }

    #[test]
    fn ordinary_labels_and_annotations_pass() {
        let causes = causes_for(json!({
            "labels": {"app.kubernetes.io/name": "fluent-bit", "tier": "", "k8s-app": "v1.2_3"},
            "annotations": {"deprecated.daemonset.template.generation": "3",
                            "daemonroll.dev/partition": "50%", "Free-Form": "any text / at all"}
        }));
        assert_eq!(causes, Vec::<(String, String)>::new());
    }

    #[test]
    fn a_label_value_over_63_characters_is_invalid() {
        let causes = causes_for(json!({"labels": {"app": "a".repeat(64)}}));
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].0, "metadata.labels");
        assert!(
            causes[0].1.ends_with("must be no more than 63 characters"),
            "{causes:?}"
        );
    }

    #[test]
    fn label_keys_and_values_must_be_label_tokens() {
        let causes = causes_for(json!({"labels": {"-app": "ok", "Example.com/app": "ok", "app": "no spaces"}}));
        let messages: Vec<&str> = causes.iter().map(|(_, message)| message.as_str()).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(messages.iter().any(|m| m.contains("\"-app\": name part must consist")));
        assert!(messages.iter().any(|m| m.contains("\"Example.com/app\": prefix part")));
        assert!(messages.iter().any(|m| m.contains("\"no spaces\": a valid label")));
    }

    #[test]
    fn annotations_over_256_kib_together_are_too_long_and_the_cause_does_not_repeat_them() {
        let causes = causes_for(json!({"annotations": {"a": "x".repeat(200 * 1024), "b": "y".repeat(57 * 1024)}}));
        assert_eq!(
            causes,
            [(
                "metadata.annotations".to_string(),
                "Too long: must have at most 262144 bytes".to_string()
            )]
        );
    }

    #[test]
    fn a_template_label_is_checked_like_the_objects_own() {
        let causes = metadata_causes(&json!({"spec": {"template": {"metadata": {"labels": {"app": "b".repeat(70)}}}}}));
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].0, "spec.template.metadata.labels");
        assert!(
            causes[0].1.len() < 200,
            "a long value is shown cut short: {}",
            causes[0].1
        );
    }
}
