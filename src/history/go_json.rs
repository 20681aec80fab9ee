//! Go `encoding/json`-compatible serialisation of generic JSON values (pure, no I/O).
//!
//! kube-controller-manager's `getPatch` (pkg/controller/daemon/update.go) decodes the
//! DaemonSet with `k8s.io/apimachinery/pkg/util/json.Unmarshal` into a
//! `map[string]interface{}` and re-encodes it with `json.Marshal` (which is plain
//! `encoding/json.Marshal`). That Unmarshal keeps a number as `int64` when its literal
//! parses with `strconv.ParseInt` (no `.`, no exponent, fits in int64) and makes every
//! other number a `float64`. The bytes here reproduce that pipeline:
//!
//! * objects: compact, keys sorted by byte order (Go sorts map keys with `strings.Compare`);
//! * strings: Go's `appendString` with `escapeHTML = true` as of Go 1.22+ (`\b` and `\f`
//!   use short escapes; older Go wrote `\u0008` and `\u000c`);
//! * integers that fit in `i64` (serde's `I64`, or `U64` up to `i64::MAX`): exact decimal;
//! * every other number: Go's `floatEncoder` for float64 — shortest round-trip digits in
//!   `'f'` notation, switching to `'e'` notation when `abs < 1e-6 || abs >= 1e21`, with
//!   the exponent written without zero padding (`1e-7`, `1e+21`). Rust's own shortest
//!   digits are used, except that exact ties between two equally short candidates are
//!   broken to an even last digit as Go's strconv does (Rust may round those up).
//!
//! Caveats, because a `serde_json::Value` keeps less than the literal text:
//! * serde_json parses the literal `-0` as the float `-0.0`. Go's Unmarshal turns `-0`
//!   into `int64(0)`, so negative zero is written `0`. A literal such as `-0.0` would be
//!   a float64 `-0` in Go and be written `-0`; serde cannot tell the two apart, and Go
//!   itself never emits `-0.0` (it writes a float64 negative zero as `-0`).
//! * Without serde_json's `float_roundtrip` feature, long float literals may be parsed
//!   one ulp away from Go's correctly rounded `strconv.ParseFloat`; the formatting here is
//!   exact for whatever `f64` the value holds.

use std::fmt::Write as _;

use serde_json::{Map, Number, Value};

/// Encodes `value` exactly as Go's `json.Marshal` would after apimachinery's
/// `json.Unmarshal` decoded the same JSON text into `interface{}`.
pub fn to_go_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    write_go_json(value, &mut out);
    out
}

/// Appends the Go `json.Marshal` encoding of `value` to `out` (see [`to_go_json`]).
pub fn write_go_json(value: &Value, out: &mut Vec<u8>) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(number) => write_number(number, out),
        Value::String(text) => write_string(text, out),
        Value::Array(items) => {
            out.push(b'[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_go_json(item, out);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (index, (key, item)) in sorted_entries(map).enumerate() {
                if index > 0 {
                    out.push(b',');
                }
                write_entry(key, item, out);
            }
            out.push(b'}');
        }
    }
}

/// Writes `"key":value` (no separator).
pub(crate) fn write_entry(key: &str, value: &Value, out: &mut Vec<u8>) {
    write_string(key, out);
    out.push(b':');
    write_go_json(value, out);
}

/// Entries of a JSON object in Go's map-key order (byte-wise `strings.Compare`).
pub(crate) enum SortedEntries<'a> {
    /// The map already iterates in byte order, which is always the case while serde_json
    /// is built without `preserve_order` (its `Map` is then a `BTreeMap<String, _>`).
    InOrder(serde_json::map::Iter<'a>),
    /// Fallback for a build where a dependency turned `preserve_order` on through feature
    /// unification: insertion order must not leak into the bytes.
    Sorted(std::vec::IntoIter<(&'a String, &'a Value)>),
}

impl<'a> Iterator for SortedEntries<'a> {
    type Item = (&'a String, &'a Value);

    fn next(&mut self) -> Option<Self::Item> {
        match self {
            SortedEntries::InOrder(iter) => iter.next(),
            SortedEntries::Sorted(iter) => iter.next(),
        }
    }
}

/// Iterates `map` in byte order of its keys without allocating when it is already sorted.
pub(crate) fn sorted_entries(map: &Map<String, Value>) -> SortedEntries<'_> {
    // `str`'s `Ord` is lexicographic on UTF-8 bytes, the same order as Go's
    // `strings.Compare`, so a sortedness check on the keys is all that is needed.
    if map.keys().is_sorted() {
        SortedEntries::InOrder(map.iter())
    } else {
        let mut entries: Vec<_> = map.iter().collect();
        entries.sort_unstable_by(|left, right| left.0.cmp(right.0));
        SortedEntries::Sorted(entries.into_iter())
    }
}

fn write_number(number: &Number, out: &mut Vec<u8>) {
    if let Some(int) = number.as_i64() {
        write_i64(int, out);
    } else if let Some(uint) = number.as_u64() {
        // Beyond int64, strconv.ParseInt fails and Go falls back to float64, losing
        // precision exactly like this conversion does.
        write_f64(uint as f64, out);
    } else if let Some(float) = number.as_f64() {
        write_f64(float, out);
    } else {
        // Unreachable without serde_json's `arbitrary_precision`; its own text is the
        // closest valid JSON we can offer.
        out.extend_from_slice(number.to_string().as_bytes());
    }
}

fn write_i64(value: i64, out: &mut Vec<u8>) {
    // 20 bytes hold u64::MAX, so every i64 magnitude fits.
    let mut digits = [0u8; 20];
    let mut pos = digits.len();
    let mut rest = value.unsigned_abs();
    loop {
        pos -= 1;
        digits[pos] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if value < 0 {
        out.push(b'-');
    }
    out.extend_from_slice(&digits[pos..]);
}

fn write_f64(value: f64, out: &mut Vec<u8>) {
    if value == 0.0 {
        // See the module docs: serde's `-0.0` stands for the literal `-0`, an int64 in Go.
        out.push(b'0');
        return;
    }
    let Some(decimal) = Shortest::of(value.abs()) else {
        // Only reachable if `f64`'s `LowerExp` output ever changed shape; plain `Display`
        // is still valid JSON for a finite value.
        out.extend_from_slice(value.to_string().as_bytes());
        return;
    };
    if value.is_sign_negative() {
        out.push(b'-');
    }
    let abs = value.abs();
    if (1e-6..1e21).contains(&abs) {
        decimal.write_positional(out);
    } else {
        decimal.write_exponential(out);
    }
}

/// The shortest decimal `d1.d2..dn × 10^exponent` that reads back as the same `f64`,
/// picked the way Go's strconv picks it (nearest, ties to an even last digit).
struct Shortest {
    /// Significant digits as ASCII, no leading or trailing zeros; at most 17 of them.
    digits: [u8; 17],
    len: usize,
    /// Decimal exponent of the first digit (`d1.d2..dn × 10^exponent`).
    exponent: i32,
}

impl Shortest {
    fn of(abs: f64) -> Option<Self> {
        // `LowerExp` without a precision prints Rust's shortest round-trip digits, e.g.
        // `8.954134469823923e14`; 17 digits, a point, `e`, a sign and 3 digits fit in 32.
        let mut text = StackText::<32>::new();
        write!(text, "{abs:e}").ok()?;
        let (mantissa, exponent) = text
            .as_bytes()
            .split_at(text.as_bytes().iter().position(|&b| b == b'e')?);
        let exponent: i32 = std::str::from_utf8(&exponent[1..]).ok()?.parse().ok()?;
        let mut shortest = Shortest {
            digits: [b'0'; 17],
            len: 0,
            exponent,
        };
        for &byte in mantissa.iter().filter(|byte| byte.is_ascii_digit()) {
            *shortest.digits.get_mut(shortest.len)? = byte;
            shortest.len += 1;
        }
        if shortest.len == 0 {
            return None;
        }
        if shortest.len >= 16 {
            shortest.round_ties_to_even(abs);
        }
        Some(shortest)
    }

    /// Rust breaks an exact tie between two equally short candidates differently from
    /// Go (e.g. -895413446982392.25 is `…392.3` in Rust, `…392.2` in Go and Python).
    /// A tie needs both neighbours inside the half-ulp rounding interval, which for a
    /// normal f64 needs at least 16 digits (10^n > 2^52) and never happens for a
    /// subnormal, hence the length gate in [`Shortest::of`].
    fn round_ties_to_even(&mut self, abs: f64) {
        // 800 fractional digits exceed the 767 significant digits an f64 can have, so
        // this is the exact value, with trailing zeros.
        let exact = format!("{abs:.800e}");
        let exact = exact.as_bytes();
        let Some(exact_digits_end) = exact.iter().position(|&b| b == b'e') else {
            return;
        };
        // `d.ddd…`: the first digit, then the rest after the point.
        let (Some(&first), Some(rest)) = (exact.first(), exact.get(2..exact_digits_end)) else {
            return;
        };
        let n = self.len;
        let is_tie = rest.get(n - 1) == Some(&b'5') && rest[n..].iter().all(|&d| d == b'0');
        if !is_tie {
            return;
        }
        // The candidates are the truncation and the truncation plus one in the last place.
        let mut chosen = [b'0'; 17];
        chosen[0] = first;
        chosen[1..n].copy_from_slice(&rest[..n - 1]);
        let mut exponent = self.exponent;
        if (chosen[n - 1] - b'0') % 2 == 1 {
            let mut index = n;
            loop {
                if index == 0 {
                    // All nines carried out: 99..9 + 1 = 100..0, one more decimal place.
                    chosen.copy_within(0..n - 1, 1);
                    chosen[0] = b'1';
                    exponent += 1;
                    break;
                }
                index -= 1;
                if chosen[index] == b'9' {
                    chosen[index] = b'0';
                } else {
                    chosen[index] += 1;
                    break;
                }
            }
        }
        let mut len = n;
        while len > 1 && chosen[len - 1] == b'0' {
            len -= 1;
        }
        self.digits = chosen;
        self.len = len;
        self.exponent = exponent;
    }

    fn digits(&self) -> &[u8] {
        &self.digits[..self.len]
    }

    /// strconv 'f' with precision -1: all integer digits, then the remaining digits.
    fn write_positional(&self, out: &mut Vec<u8>) {
        let digits = self.digits();
        if self.exponent < 0 {
            out.extend_from_slice(b"0.");
            for _ in 0..(-self.exponent - 1) {
                out.push(b'0');
            }
            out.extend_from_slice(digits);
            return;
        }
        // At most 21 integer digits here, as abs < 1e21.
        let integer_len = usize::try_from(self.exponent).unwrap_or(0) + 1;
        if digits.len() <= integer_len {
            out.extend_from_slice(digits);
            for _ in digits.len()..integer_len {
                out.push(b'0');
            }
        } else {
            out.extend_from_slice(&digits[..integer_len]);
            out.push(b'.');
            out.extend_from_slice(&digits[integer_len..]);
        }
    }

    /// strconv 'e' with precision -1, then encoding/json's `e-09` → `e-9` clean-up. Only
    /// exponents <= -7 and >= 21 reach here, so Go's two-digit padding never shows.
    fn write_exponential(&self, out: &mut Vec<u8>) {
        let digits = self.digits();
        out.push(digits[0]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits[1..]);
        }
        out.push(b'e');
        out.push(if self.exponent < 0 { b'-' } else { b'+' });
        write_i64(i64::from(self.exponent.unsigned_abs()), out);
    }
}

/// A fixed-capacity `fmt::Write` target, so formatting a float does not allocate.
struct StackText<const N: usize> {
    bytes: [u8; N],
    len: usize,
}

impl<const N: usize> StackText<N> {
    fn new() -> Self {
        StackText { bytes: [0; N], len: 0 }
    }

    fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }
}

impl<const N: usize> std::fmt::Write for StackText<N> {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        let end = self.len + text.len();
        let slot = self.bytes.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(text.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// How an ASCII byte is written inside a Go JSON string; `SAFE` bytes are copied.
const SAFE: u8 = 0;
/// `\u00XX` with lowercase hex.
const UNICODE: u8 = b'u';
/// Marks the UTF-8 lead byte of U+2028/U+2029 (E2 80 A8/A9) for a closer look.
const MAYBE_SEPARATOR: u8 = 1;

const ESCAPES: [u8; 256] = build_escapes();

const fn build_escapes() -> [u8; 256] {
    let mut table = [SAFE; 256];
    let mut byte = 0;
    while byte < 0x20 {
        table[byte] = UNICODE;
        byte += 1;
    }
    table[0x08] = b'b';
    table[0x0c] = b'f';
    table[b'\n' as usize] = b'n';
    table[b'\r' as usize] = b'r';
    table[b'\t' as usize] = b't';
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    // escapeHTML: json.Marshal always escapes these for safe embedding in HTML.
    table[b'<' as usize] = UNICODE;
    table[b'>' as usize] = UNICODE;
    table[b'&' as usize] = UNICODE;
    table[0xe2] = MAYBE_SEPARATOR;
    table
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// Writes `text` as a JSON string escaped like Go's `appendString(.., escapeHTML=true)`.
pub(crate) fn write_string(text: &str, out: &mut Vec<u8>) {
    let bytes = text.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    let mut start = 0;
    let mut index = 0;
    while index < bytes.len() {
        let byte = bytes[index];
        let escape = ESCAPES[byte as usize];
        if escape == SAFE {
            index += 1;
            continue;
        }
        if escape == MAYBE_SEPARATOR {
            // `text` is valid UTF-8, so E2 is a lead byte with two continuation bytes.
            let is_separator = bytes.get(index + 1) == Some(&0x80) && matches!(bytes.get(index + 2), Some(0xa8 | 0xa9));
            if !is_separator {
                index += 1;
                continue;
            }
            out.extend_from_slice(&bytes[start..index]);
            let last = if bytes[index + 2] == 0xa8 { b'8' } else { b'9' };
            out.extend_from_slice(b"\\u202");
            out.push(last);
            index += 3;
            start = index;
            continue;
        }
        out.extend_from_slice(&bytes[start..index]);
        if escape == UNICODE {
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(byte >> 4)]);
            out.push(HEX[usize::from(byte & 0x0f)]);
        } else {
            out.push(b'\\');
            out.push(escape);
        }
        index += 1;
        start = index;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn go(value: &Value) -> String {
        String::from_utf8(to_go_json(value)).expect("encoder output is UTF-8")
    }

    fn parsed(text: &str) -> String {
        go(&serde_json::from_str(text).expect("test literal is valid JSON"))
    }

    #[test]
    fn scalars_are_written_like_go() {
        assert_eq!(go(&Value::Null), "null");
        assert_eq!(go(&json!(true)), "true");
        assert_eq!(go(&json!(false)), "false");
        assert_eq!(go(&json!({})), "{}");
        assert_eq!(go(&json!([])), "[]");
        assert_eq!(go(&json!("")), r#""""#);
    }

    #[test]
    fn integers_that_fit_int64_are_exact() {
        assert_eq!(parsed("0"), "0");
        assert_eq!(parsed("-1"), "-1");
        assert_eq!(parsed("30"), "30");
        assert_eq!(parsed("9007199254740993"), "9007199254740993");
        assert_eq!(parsed("123456789012345678"), "123456789012345678");
        assert_eq!(parsed("9223372036854775807"), "9223372036854775807");
        assert_eq!(parsed("-9223372036854775808"), "-9223372036854775808");
    }

    #[test]
    fn integers_beyond_int64_become_float64() {
        // 'f' notation with shortest digits pads with zeros rather than printing the exact
        // binary value: 2^63 has the shortest form 9.223372036854776e18.
        assert_eq!(parsed("9223372036854775808"), "9223372036854776000");
        assert_eq!(parsed("18446744073709551615"), "18446744073709552000");
        assert_eq!(parsed("-9223372036854775809"), "-9223372036854776000");
    }

    #[test]
    fn negative_zero_literal_is_int64_zero() {
        assert_eq!(parsed("-0"), "0");
        assert_eq!(go(&json!(-0.0)), "0");
    }

    #[test]
    fn floats_use_f_notation_inside_the_es6_window() {
        assert_eq!(parsed("1.5"), "1.5");
        assert_eq!(parsed("0.1"), "0.1");
        assert_eq!(parsed("100.0"), "100");
        assert_eq!(parsed("1E3"), "1000");
        assert_eq!(parsed("1e20"), "100000000000000000000");
        assert_eq!(parsed("1e-6"), "0.000001");
        assert_eq!(parsed("-2.5"), "-2.5");
    }

    #[test]
    fn floats_use_unpadded_e_notation_outside_the_window() {
        assert_eq!(parsed("1e21"), "1e+21");
        assert_eq!(parsed("-1e21"), "-1e+21");
        assert_eq!(parsed("1e-7"), "1e-7");
        assert_eq!(parsed("2.5e-8"), "2.5e-8");
        assert_eq!(parsed("1e-10"), "1e-10");
        assert_eq!(parsed("1.5e300"), "1.5e+300");
        assert_eq!(go(&json!(f64::MAX)), "1.7976931348623157e+308");
    }

    #[test]
    fn exact_ties_between_shortest_candidates_round_to_even_like_go() {
        // Exactly ...392.25 (the sum is exact; a literal trips clippy::excessive_precision):
        // .2 and .3 are equally near and both read back.
        assert_eq!(go(&json!(-(895413446982392.0 + 0.25))), "-895413446982392.2");
        assert_eq!(go(&json!(895413446982392.0 + 0.75)), "895413446982392.8");
    }

    #[test]
    fn strings_escape_like_go_with_html_escaping() {
        assert_eq!(
            go(&json!("<a href=\"x\">&</a>")),
            r#""\u003ca href=\"x\"\u003e\u0026\u003c/a\u003e""#
        );
        assert_eq!(go(&json!("back\\slash/")), r#""back\\slash/""#);
        assert_eq!(go(&json!("\n\r\t\u{8}\u{c}")), r#""\n\r\t\b\f""#);
        // DEL (0x7f) is in Go's htmlSafeSet and stays raw.
        assert_eq!(go(&json!("\u{0}\u{1f}\u{7f}")), "\"\\u0000\\u001f\u{7f}\"");
        assert_eq!(go(&json!("a\u{2028}b\u{2029}c")), r#""a\u2028b\u2029c""#);
        assert_eq!(go(&json!("\u{2027}\u{202a}é日本😀")), "\"\u{2027}\u{202a}é日本😀\"");
    }

    #[test]
    fn every_control_character_gets_a_go_escape() {
        let text: String = (0u8..0x20).map(char::from).collect();
        let expected = concat!(
            r#"""#,
            r"\u0000\u0001\u0002\u0003\u0004\u0005\u0006\u0007\b\t\n\u000b\f\r\u000e\u000f",
            r"\u0010\u0011\u0012\u0013\u0014\u0015\u0016\u0017\u0018\u0019\u001a\u001b\u001c\u001d\u001e\u001f",
            r#"""#
        );
        assert_eq!(go(&Value::String(text)), expected);
    }

    #[test]
    fn object_keys_are_sorted_by_bytes_and_escaped() {
        let value = json!({"b": 1, "a": 2, "B": 3, "$": 4, "!x": 5, "é": 6, "10": 7, "2": 8, "<k>": 9});
        assert_eq!(
            go(&value),
            r#"{"!x":5,"$":4,"10":7,"2":8,"\u003ck\u003e":9,"B":3,"a":2,"b":1,"é":6}"#
        );
    }

    #[test]
    fn nested_containers_are_compact() {
        let value = json!({"z": [1, [2, []], {}], "a": {"y": null, "x": [true, {"k": "v"}]}});
        assert_eq!(go(&value), r#"{"a":{"x":[true,{"k":"v"}],"y":null},"z":[1,[2,[]],{}]}"#);
    }
}
