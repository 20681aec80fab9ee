//! Field-by-field comparison of two normalised answers, reported one line per difference:
//! `path: sim value vs real value`.

use serde_json::Value;

use crate::normalise::normalise;

/// Panics, listing every differing field, unless `sim` and `real` are the same after
/// normalising.
pub fn assert_same(what: &str, sim: &Value, real: &Value, tolerated: &[String]) {
    let (sim, real) = (normalise(sim.clone()), normalise(real.clone()));
    let mut differences = Vec::new();
    differ("", &sim, &real, &mut differences);
    assert!(
        differences.is_empty(),
        "{what}: the simulator differs from kube-apiserver at {} field(s):\n  {}\n(not compared: {})\n\nsim (normalised):  {sim}\nreal (normalised): {real}",
        differences.len(),
        differences.join("\n  "),
        if tolerated.is_empty() {
            "nothing beyond normalise.rs".to_string()
        } else {
            tolerated.join("; ")
        }
    );
}

/// The difference lines between `sim` and `real` under `path`.
pub fn differ(path: &str, sim: &Value, real: &Value, differences: &mut Vec<String>) {
    match (sim, real) {
        (Value::Object(sim), Value::Object(real)) => {
            let mut keys: Vec<&String> = sim.keys().chain(real.keys()).collect();
            keys.sort();
            keys.dedup();
            for key in keys {
                let path = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                match (sim.get(key), real.get(key)) {
                    (Some(sim), Some(real)) => differ(&path, sim, real, differences),
                    (sim, real) => differences.push(line(&path, sim, real)),
                }
            }
        }
        (Value::Array(sim), Value::Array(real)) => {
            for index in 0..sim.len().max(real.len()) {
                let path = format!("{path}[{index}]");
                match (sim.get(index), real.get(index)) {
                    (Some(sim), Some(real)) => differ(&path, sim, real, differences),
                    (sim, real) => differences.push(line(&path, sim, real)),
                }
            }
        }
        _ if sim == real => {}
        _ => differences.push(line(path, Some(sim), Some(real))),
    }
}

fn line(path: &str, sim: Option<&Value>, real: Option<&Value>) -> String {
    let shown = |value: Option<&Value>| value.map_or_else(|| "(absent)".to_string(), Value::to_string);
    format!("{path}: {} vs {}", shown(sim), shown(real))
}
