//! Label requirements, DaemonSet label selectors and node selectors, compiled once per plan (pure).

use crate::snapshot::brief::Brief;
use crate::snapshot::{LabelSelector, Labels, NodeView};

/// One parsed label requirement. Upstream: apimachinery labels.Requirement (Matches).
#[derive(Clone, Debug, PartialEq)]
pub enum Requirement {
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
    GreaterThan(String, i64),
    LessThan(String, i64),
}

impl Requirement {
    /// Upstream: apimachinery labels.NewRequirement — value counts, integer values for Gt/Lt, and
    /// label syntax for the key and every value (API validation does not check node-affinity values,
    /// so a template can carry values such as "-3" that make the requirement invalid here).
    fn parse(key: &str, operator: &str, values: &[String], allow_numeric: bool) -> Result<Self, String> {
        if !is_qualified_name(key) {
            return Err(format!("invalid label key {}", Brief(key)));
        }
        if let Some(bad) = values.iter().find(|value| !is_label_value(value)) {
            return Err(format!("invalid label value {} for key {}", Brief(bad), Brief(key)));
        }
        let key = key.to_string();
        let one_integer = |values: &[String]| match values {
            [value] => value.parse::<i64>().map_err(|_| {
                format!(
                    "operator {operator} on {key:?} needs an integer value, got {}",
                    Brief(value)
                )
            }),
            _ => Err(format!("operator {operator} on {key:?} needs exactly one value")),
        };
        match operator {
            "In" | "NotIn" if values.is_empty() => {
                Err(format!("operator {operator} on {key:?} needs at least one value"))
            }
            "In" => Ok(Requirement::In(key, values.to_vec())),
            "NotIn" => Ok(Requirement::NotIn(key, values.to_vec())),
            "Exists" | "DoesNotExist" if !values.is_empty() => {
                Err(format!("operator {operator} on {key:?} takes no values"))
            }
            "Exists" => Ok(Requirement::Exists(key)),
            "DoesNotExist" => Ok(Requirement::DoesNotExist(key)),
            "Gt" if allow_numeric => Ok(Requirement::GreaterThan(key.clone(), one_integer(values)?)),
            "Lt" if allow_numeric => Ok(Requirement::LessThan(key.clone(), one_integer(values)?)),
            other => Err(format!("unsupported operator {} on {key:?}", Brief(other))),
        }
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        match self {
            Requirement::In(key, values) => labels.get(key).is_some_and(|v| values.iter().any(|x| x == v)),
            Requirement::NotIn(key, values) => labels.get(key).is_none_or(|v| !values.iter().any(|x| x == v)),
            Requirement::Exists(key) => labels.contains_key(key),
            Requirement::DoesNotExist(key) => !labels.contains_key(key),
            // A label that does not parse as int64 never matches.
            Requirement::GreaterThan(key, bound) => labels
                .get(key)
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v > *bound),
            Requirement::LessThan(key, bound) => labels
                .get(key)
                .and_then(|v| v.parse::<i64>().ok())
                .is_some_and(|v| v < *bound),
        }
    }
}

/// `(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?`, at most `max` bytes.
fn is_name_part(text: &str, max: usize) -> bool {
    let bytes = text.as_bytes();
    let alphanumeric = |b: &u8| b.is_ascii_alphanumeric();
    text.len() <= max
        && (bytes.is_empty()
            || (bytes.first().is_some_and(alphanumeric)
                && bytes.last().is_some_and(alphanumeric)
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))))
}

/// Upstream: apimachinery validation IsValidLabelValue.
fn is_label_value(value: &str) -> bool {
    is_name_part(value, 63)
}

/// Upstream: apimachinery validation IsQualifiedName (optional DNS-subdomain prefix, then a name).
pub(crate) fn is_qualified_name(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((prefix, name)) => (Some(prefix), name),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(|p| {
        !p.is_empty()
            && p.len() <= 253
            && p.split('.').all(|label| {
                let bytes = label.as_bytes();
                !label.is_empty()
                    && bytes
                        .iter()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
                    && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
                    && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
            })
    });
    prefix_ok && !name.is_empty() && is_name_part(name, 63)
}

/// A DaemonSet's `spec.selector`. Upstream: metav1.LabelSelectorAsSelector.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selector {
    requirements: Vec<Requirement>,
}

impl Selector {
    pub fn compile(selector: &LabelSelector) -> Result<Self, String> {
        // matchLabels pass the same key and value checks as expressions (upstream: selection.Equals).
        let mut requirements: Vec<Requirement> = selector
            .match_labels
            .iter()
            .map(|(key, value)| Requirement::parse(key, "In", &[value.to_string()], false))
            .collect::<Result<_, _>>()?;
        for expression in &selector.match_expressions {
            requirements.push(Requirement::parse(
                &expression.key,
                &expression.operator,
                &expression.values,
                false,
            )?);
        }
        Ok(Selector { requirements })
    }

    /// A selector in kubectl's syntax: `k=v`, `k==v`, `k!=v`, `k in (a,b)`, `k notin (a,b)`, `k`, `!k`,
    /// joined by commas. Upstream: apimachinery labels.Parse (set-based requirements only; `Gt`/`Lt`
    /// are not part of the string syntax).
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut requirements = Vec::new();
        for term in split_terms(text)? {
            requirements.push(parse_term(term)?);
        }
        if requirements.is_empty() {
            return Err("an empty selector matches every node; name at least one requirement".into());
        }
        Ok(Selector { requirements })
    }

    /// True when the selector has no requirement and so would select every pod.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }

    pub fn matches(&self, labels: &Labels) -> bool {
        self.requirements.iter().all(|requirement| requirement.matches(labels))
    }
}

/// The comma-separated terms of a selector string; commas inside `( )` belong to a value list.
fn split_terms(text: &str) -> Result<Vec<&str>, String> {
    let mut terms = Vec::new();
    let (mut depth, mut start) = (0usize, 0usize);
    for (at, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| format!("unbalanced ')' in {}", Brief(text)))?
            }
            ',' if depth == 0 => {
                terms.push(text[start..at].trim());
                start = at + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(format!("unbalanced '(' in {}", Brief(text)));
    }
    terms.push(text[start..].trim());
    if terms.len() > 1 && terms.iter().any(|term| term.is_empty()) {
        return Err(format!("empty requirement in {}", Brief(text)));
    }
    Ok(terms.into_iter().filter(|term| !term.is_empty()).collect())
}

fn parse_term(term: &str) -> Result<Requirement, String> {
    let values_of = |list: &str| -> Result<Vec<String>, String> {
        let inner = list
            .trim()
            .strip_prefix('(')
            .and_then(|rest| rest.strip_suffix(')'))
            .ok_or_else(|| format!("{}: values must be in parentheses, like (a,b)", Brief(term)))?;
        Ok(inner.split(',').map(|value| value.trim().to_string()).collect())
    };
    if let Some(key) = term.strip_prefix('!') {
        return Requirement::parse(key.trim(), "DoesNotExist", &[], false);
    }
    if let Some((key, value)) = term.split_once("!=") {
        return Requirement::parse(key.trim(), "NotIn", &[value.trim().to_string()], false);
    }
    if let Some((key, value)) = term.split_once("==").or_else(|| term.split_once('=')) {
        return Requirement::parse(key.trim(), "In", &[value.trim().to_string()], false);
    }
    let mut words = term.splitn(2, char::is_whitespace);
    let key = words.next().unwrap_or_default();
    let rest = words.next().unwrap_or_default().trim_start();
    if let Some(list) = rest.strip_prefix("notin") {
        return Requirement::parse(key, "NotIn", &values_of(list)?, false);
    }
    if let Some(list) = rest.strip_prefix("in") {
        return Requirement::parse(key, "In", &values_of(list)?, false);
    }
    if rest.is_empty() {
        return Requirement::parse(key, "Exists", &[], false);
    }
    Err(format!(
        "{} is not a requirement (k=v, k!=v, k in (a,b), k notin (a,b), k, !k)",
        Brief(term)
    ))
}

/// One `matchFields` requirement: only the node name is a field; other keys read as "".
#[derive(Clone, Debug, PartialEq)]
enum FieldRequirement {
    Equals(String, String),
    NotEquals(String, String),
}

impl FieldRequirement {
    fn matches(&self, node_name: &str) -> bool {
        let field = |key: &str| if key == "metadata.name" { node_name } else { "" };
        match self {
            FieldRequirement::Equals(key, value) => field(key) == value,
            FieldRequirement::NotEquals(key, value) => field(key) != value,
        }
    }
}

/// A node selector term; a term that failed to parse never matches.
/// Upstream: component-helpers nodeaffinity.go newNodeSelectorTerm / nodeSelectorTerm.match.
#[derive(Clone, Debug, PartialEq)]
struct Term {
    labels: Vec<Requirement>,
    fields: Vec<FieldRequirement>,
    parse_error: Option<String>,
}

impl Term {
    fn matches(&self, node: &NodeView) -> bool {
        self.parse_error.is_none()
            && self.labels.iter().all(|r| r.matches(&node.labels))
            && (node.name.is_empty() || self.fields.iter().all(|r| r.matches(&node.name)))
    }
}

/// `spec.nodeSelector` AND required node affinity. Upstream: nodeaffinity.go GetRequiredNodeAffinity.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeRequirements {
    node_selector: Vec<(String, String)>,
    /// None when no required affinity is set; Some(empty) matches no node.
    required_terms: Option<Vec<Term>>,
}

/// A node selector term as read from the template.
#[derive(Clone, Debug, Default)]
pub struct NodeSelectorTermSpec {
    pub match_expressions: Vec<crate::snapshot::SelectorRequirement>,
    pub match_fields: Vec<crate::snapshot::SelectorRequirement>,
}

impl NodeRequirements {
    pub fn compile(node_selector: &Labels, required_terms: Option<&[NodeSelectorTermSpec]>) -> Self {
        let required_terms = required_terms.map(|terms| {
            terms
                .iter()
                // Upstream: an empty term selects nothing and is dropped.
                .filter(|term| !(term.match_expressions.is_empty() && term.match_fields.is_empty()))
                .map(compile_term)
                .collect()
        });
        NodeRequirements {
            node_selector: node_selector
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            required_terms,
        }
    }

    pub fn matches(&self, node: &NodeView) -> bool {
        let selector_matches = self
            .node_selector
            .iter()
            .all(|(key, value)| node.labels.get(key) == Some(value));
        selector_matches
            && match &self.required_terms {
                None => true,
                Some(terms) => terms.iter().any(|term| term.matches(node)),
            }
    }

    /// Parse errors of required terms, for explanations (upstream ignores them silently).
    pub fn parse_errors(&self) -> Vec<&str> {
        self.required_terms
            .iter()
            .flatten()
            .filter_map(|term| term.parse_error.as_deref())
            .collect()
    }
}

fn compile_term(spec: &NodeSelectorTermSpec) -> Term {
    let mut errors = Vec::new();
    let mut labels = Vec::new();
    for requirement in &spec.match_expressions {
        match Requirement::parse(&requirement.key, &requirement.operator, &requirement.values, true) {
            Ok(parsed) => labels.push(parsed),
            Err(error) => errors.push(error),
        }
    }
    let mut fields = Vec::new();
    for requirement in &spec.match_fields {
        match (requirement.operator.as_str(), requirement.values.as_slice()) {
            ("In", [value]) => fields.push(FieldRequirement::Equals(requirement.key.clone(), value.clone())),
            ("NotIn", [value]) => fields.push(FieldRequirement::NotEquals(requirement.key.clone(), value.clone())),
            ("In" | "NotIn", _) => errors.push(format!(
                "matchFields {} {} must have exactly one value",
                requirement.key, requirement.operator
            )),
            (other, _) => errors.push(format!("unsupported matchFields operator {}", Brief(other))),
        }
    }
    Term {
        labels,
        fields,
        parse_error: (!errors.is_empty()).then(|| errors.join("; ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    // Mirrors apimachinery labels selector_test.go TestRequirementMatches-style cases.
    #[test]
    fn requirements_match_as_labels_requirement_does() {
        let node_labels = labels(&[("zone", "a"), ("cores", "8"), ("bad", "x8")]);
        let cases = [
            (Requirement::In("zone".into(), vec!["a".into(), "b".into()]), true),
            (Requirement::In("missing".into(), vec!["a".into()]), false),
            (Requirement::NotIn("zone".into(), vec!["b".into()]), true),
            (Requirement::NotIn("zone".into(), vec!["a".into()]), false),
            (Requirement::NotIn("missing".into(), vec!["a".into()]), true),
            (Requirement::Exists("zone".into()), true),
            (Requirement::DoesNotExist("zone".into()), false),
            (Requirement::GreaterThan("cores".into(), 4), true),
            (Requirement::GreaterThan("cores".into(), 8), false),
            (Requirement::LessThan("cores".into(), 9), true),
            (Requirement::GreaterThan("bad".into(), 1), false),
            (Requirement::LessThan("missing".into(), 1), false),
        ];
        for (requirement, expected) in cases {
            assert_eq!(requirement.matches(&node_labels), expected, "{requirement:?}");
        }
    }

    #[test]
    fn requirement_parsing_enforces_value_counts() {
        let values = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(Requirement::parse("k", "In", &[], true).is_err());
        assert!(Requirement::parse("k", "Exists", &values(&["x"]), true).is_err());
        assert!(Requirement::parse("k", "Gt", &values(&["1", "2"]), true).is_err());
        assert!(Requirement::parse("k", "Gt", &values(&["one"]), true).is_err());
        assert!(Requirement::parse("k", "Gt", &values(&["1"]), false).is_err());
        assert_eq!(
            Requirement::parse("k", "Lt", &values(&["3"]), true),
            Ok(Requirement::LessThan("k".into(), 3))
        );
        // "-3" is an integer but not a valid label value (labels.NewRequirement validateLabelValue).
        assert!(Requirement::parse("k", "Lt", &values(&["-3"]), true).is_err());
        assert!(Requirement::parse("k", "In", &values(&["has space"]), true).is_err());
        assert!(Requirement::parse("bad key!", "Exists", &[], true).is_err());
        assert!(Requirement::parse("example.com/zone", "In", &values(&["a.b-c_d"]), true).is_ok());
        assert!(
            Requirement::parse("k", "In", &values(&[""]), true).is_ok(),
            "the empty value is valid"
        );
    }
}
