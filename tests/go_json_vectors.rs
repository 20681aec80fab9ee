//! Checks `history::go_json` and `history::patch` against bytes produced by real Go
//! (`tests/go_json_vectors/gen.go`; see the README beside it to regenerate).

use daemonroll::history::go_json::to_go_json;
use daemonroll::history::patch::template_patch;
use serde_json::{Number, Value};

struct Vector {
    name: String,
    kind: String,
    input: Value,
    bits: Option<u64>,
    expected: String,
}

fn load() -> (String, Vec<Vector>) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/go_json_vectors/vectors.json");
    let text = std::fs::read_to_string(path).expect("vectors.json is readable");
    let doc: Value = serde_json::from_str(&text).expect("vectors.json is valid JSON");
    let go_version = doc["go_version"]
        .as_str()
        .expect("vectors.json names its Go version")
        .to_owned();
    let vectors = doc["vectors"]
        .as_array()
        .expect("vectors.json has a vectors array")
        .iter()
        .map(|entry| Vector {
            name: entry["name"].as_str().expect("every vector has a name").to_owned(),
            kind: entry["kind"].as_str().expect("every vector has a kind").to_owned(),
            input: entry.get("input").cloned().unwrap_or(Value::Null),
            bits: entry
                .get("bits")
                .and_then(Value::as_str)
                .map(|bits| bits.parse().expect("bits is a decimal u64")),
            expected: entry["expected"]
                .as_str()
                .expect("every vector has expected bytes")
                .to_owned(),
        })
        .collect();
    (go_version, vectors)
}

fn actual(vector: &Vector) -> Vec<u8> {
    match vector.kind.as_str() {
        "encode" => to_go_json(&vector.input),
        "patch" => {
            let template = vector.input.pointer("/spec/template").unwrap_or(&Value::Null);
            template_patch(template)
        }
        "float_bits" => {
            let bits = vector.bits.expect("float_bits vectors carry bits");
            let number = Number::from_f64(f64::from_bits(bits)).expect("generator emits finite floats");
            to_go_json(&Value::Number(number))
        }
        other => panic!("vector {:?} has unknown kind {other:?}", vector.name),
    }
}

fn check_kinds(kinds: &[&str]) -> usize {
    let (go_version, vectors) = load();
    let mut checked = 0;
    let mut failures = Vec::new();
    for vector in vectors.iter().filter(|vector| kinds.contains(&vector.kind.as_str())) {
        checked += 1;
        let actual = actual(vector);
        if actual != vector.expected.as_bytes() {
            failures.push(format!(
                "vector {:?} ({})\n  expected: {}\n  actual:   {}",
                vector.name,
                vector.kind,
                vector.expected,
                String::from_utf8_lossy(&actual)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} vectors differ from {go_version}:\n{}",
        failures.len(),
        failures.join("\n")
    );
    checked
}

#[test]
fn encoder_matches_go_for_every_vector() {
    let checked = check_kinds(&["encode"]);
    assert!(
        checked >= 50,
        "expected the hand-written encoder vectors, found {checked}"
    );
}

#[test]
fn float_formatting_matches_go_for_every_bit_pattern() {
    let checked = check_kinds(&["float_bits"]);
    assert!(checked >= 500, "expected the generated float vectors, found {checked}");
}

#[test]
fn template_patch_matches_go_get_patch_for_every_vector() {
    let checked = check_kinds(&["patch"]);
    assert!(
        checked >= 10,
        "expected the patch vectors including fixtures, found {checked}"
    );
}

#[test]
fn every_vector_has_a_known_kind_and_a_unique_name() {
    let (_, vectors) = load();
    let mut names = std::collections::BTreeSet::new();
    for vector in &vectors {
        assert!(
            matches!(vector.kind.as_str(), "encode" | "patch" | "float_bits"),
            "vector {:?} has unknown kind {:?}",
            vector.name,
            vector.kind
        );
        assert!(
            names.insert(vector.name.as_str()),
            "duplicate vector name {:?}",
            vector.name
        );
    }
}
