//! User values shortened for messages: a problem report stays readable, and fits an Event's note
//! (1 KiB), whatever size the value it quotes (pure).

use std::fmt;

use serde_json::Value;

/// At most this many characters of a value are quoted.
pub const QUOTED_CHARS: usize = 64;

/// `text` as `{:?}` quotes it, cut after `QUOTED_CHARS` characters with `…` and its full length.
#[derive(Clone, Copy, Debug)]
pub struct Brief<'a>(pub &'a str);

impl fmt::Display for Brief<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.char_indices().nth(QUOTED_CHARS) {
            None => write!(f, "{:?}", self.0),
            Some((cut, _)) => write!(f, "{:?}… ({} bytes)", &self.0[..cut], self.0.len()),
        }
    }
}

/// A name as it is, or quoted and cut as `Brief` does when it is too long to show whole (the API
/// server caps names at 253 bytes; a dump need not).
pub fn name(text: &str) -> String {
    if text.chars().nth(QUOTED_CHARS).is_some() {
        Brief(text).to_string()
    } else {
        text.to_string()
    }
}

/// A JSON value as compact JSON, cut as `Brief` cuts text.
pub fn brief_json(value: &Value) -> String {
    let text = value.to_string();
    match text.char_indices().nth(QUOTED_CHARS) {
        None => text,
        Some((cut, _)) => format!("{}… ({} bytes)", &text[..cut], text.len()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_cut_and_short_ones_kept() {
        assert_eq!(Brief("zone-a").to_string(), "\"zone-a\"");
        let long = "é".repeat(100);
        assert_eq!(
            Brief(&long).to_string(),
            format!("{:?}… (200 bytes)", "é".repeat(QUOTED_CHARS))
        );
        assert_eq!(brief_json(&serde_json::json!([1, 2])), "[1,2]");
        assert!(brief_json(&serde_json::json!("x".repeat(5000))).ends_with("… (5002 bytes)"));
    }
}
