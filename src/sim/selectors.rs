//! Label and field selectors as query parameters (`labelSelector=`, `fieldSelector=`) (no I/O).
//!
//! Written independently of the controller's planner, which has its own selector matching: the
//! simulator imports none of the controller's code (ARCHITECTURE.md, "The simulator"). Follows
//! apimachinery `labels.Parse` and `fields.ParseSelector`.

use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
enum LabelTerm {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    NotExists(String),
}

/// A parsed `labelSelector` (terms are ANDed).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelQuery(Vec<LabelTerm>);

/// Splits on commas that are not inside parentheses.
fn split_terms(text: &str) -> Vec<&str> {
    let mut terms = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    for (index, ch) in text.char_indices() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                terms.push(&text[start..index]);
                start = index + 1;
            }
            _ => {}
        }
    }
    terms.push(&text[start..]);
    terms.into_iter().map(str::trim).filter(|t| !t.is_empty()).collect()
}

fn value_set(text: &str) -> Result<Vec<String>, String> {
    let inner = text
        .trim()
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .ok_or_else(|| format!("expected a parenthesised value list, found {text:?}"))?;
    Ok(inner.split(',').map(|v| v.trim().to_string()).collect())
}

impl LabelQuery {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut terms = Vec::new();
        for term in split_terms(text) {
            let parsed = if let Some(key) = term.strip_prefix('!') {
                LabelTerm::NotExists(key.trim().to_string())
            } else if let Some((key, value)) = term.split_once("!=") {
                LabelTerm::NotEquals(key.trim().into(), value.trim().into())
            } else if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
                LabelTerm::Equals(key.trim().into(), value.trim().into())
            } else if let Some((key, values)) = term.split_once(" notin ") {
                LabelTerm::NotIn(key.trim().into(), value_set(values)?)
            } else if let Some((key, values)) = term.split_once(" in ") {
                LabelTerm::In(key.trim().into(), value_set(values)?)
            } else if term.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c)) {
                LabelTerm::Exists(term.to_string())
            } else {
                return Err(format!("unable to parse requirement: {term:?}"));
            };
            terms.push(parsed);
        }
        Ok(LabelQuery(terms))
    }

    /// Whether every object matches (no terms).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `labels` is the object's `metadata.labels` (absent = no labels).
    pub fn matches(&self, labels: Option<&Value>) -> bool {
        let get = |key: &str| labels.and_then(|l| l.get(key)).and_then(Value::as_str);
        self.0.iter().all(|term| match term {
            LabelTerm::Equals(k, v) => get(k) == Some(v.as_str()),
            LabelTerm::NotEquals(k, v) => get(k) != Some(v.as_str()),
            LabelTerm::In(k, vs) => get(k).is_some_and(|x| vs.iter().any(|v| v == x)),
            LabelTerm::NotIn(k, vs) => get(k).is_none_or(|x| !vs.iter().any(|v| v == x)),
            LabelTerm::Exists(k) => get(k).is_some(),
            LabelTerm::NotExists(k) => get(k).is_none(),
        })
    }
}

/// A parsed `fieldSelector`: `path=value` / `path==value` / `path!=value` terms, ANDed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldQuery(Vec<(Vec<String>, String, bool)>);

impl FieldQuery {
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut terms = Vec::new();
        for term in text.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            let (path, value, equal) = if let Some((p, v)) = term.split_once("!=") {
                (p, v, false)
            } else if let Some((p, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
                (p, v, true)
            } else {
                return Err(format!("invalid field selector term {term:?}"));
            };
            terms.push((
                path.trim().split('.').map(String::from).collect(),
                value.trim().to_string(),
                equal,
            ));
        }
        Ok(FieldQuery(terms))
    }

    /// Whether every object matches (no terms).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn matches(&self, object: &Value) -> bool {
        self.0.iter().all(|(path, value, equal)| {
            let mut current = Some(object);
            for segment in path {
                current = current.and_then(|v| v.get(segment));
            }
            let actual = match current {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Bool(b)) => b.to_string(),
                Some(Value::Number(n)) => n.to_string(),
                _ => String::new(),
            };
            (actual == *value) == *equal
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors_support_equality_and_set_forms() {
        let labels = json!({"app": "foo", "tier": "web"});
        let cases = [
            ("app=foo", true),
            ("app==foo,tier=web", true),
            ("app!=foo", false),
            ("app in (foo, bar)", true),
            ("tier notin (web)", false),
            ("missing notin (x)", true),
            ("app", true),
            ("!app", false),
            ("app=foo,tier in (db)", false),
            ("", true),
        ];
        for (selector, expected) in cases {
            let query = LabelQuery::parse(selector).expect("parses");
            assert_eq!(query.matches(Some(&labels)), expected, "{selector}");
        }
        assert!(LabelQuery::parse("app in foo").is_err());
    }

    #[test]
    fn field_selectors_read_dotted_paths() {
        let pod = json!({"metadata": {"name": "p1", "namespace": "ns"}, "spec": {"nodeName": "n1"}});
        for (selector, expected) in [
            ("metadata.name=p1", true),
            ("metadata.name==p2", false),
            ("spec.nodeName=n1,metadata.namespace=ns", true),
            ("spec.nodeName!=n1", false),
            ("spec.nodeName=", false),
        ] {
            assert_eq!(
                FieldQuery::parse(selector).expect("parses").matches(&pod),
                expected,
                "{selector}"
            );
        }
    }
}
