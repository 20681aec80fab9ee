//! Durations on the command line (CLI edge).

/// A year: longer durations are typos, and would overflow time arithmetic.
const MAX_MILLIS: u64 = 366 * 24 * 3_600_000;

/// `500ms`, `2s`, `1m`, `1h`: an integer and a unit.
pub fn parse_duration(text: &str) -> std::result::Result<std::time::Duration, String> {
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 500ms, 2s or 1m"))?;
    let scale = match unit {
        "ms" => 1,
        "s" | "" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(format!("{text:?}: unknown unit {unit:?}; use ms, s, m or h")),
    };
    let millis = value
        .checked_mul(scale)
        .filter(|millis| *millis <= MAX_MILLIS)
        .ok_or_else(|| format!("{text:?} is too long; at most a year"))?;
    Ok(std::time::Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_take_an_integer_and_a_unit() {
        assert_eq!(parse_duration("500ms"), Ok(std::time::Duration::from_millis(500)));
        assert_eq!(parse_duration("2"), Ok(std::time::Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(std::time::Duration::from_secs(60)));
        assert!(parse_duration("1.5s").is_err());
        assert!(parse_duration("3d").is_err());
        assert!(parse_duration("99999999999999999h").is_err(), "no overflow");
        assert!(parse_duration("9000h").is_err(), "more than a year");
    }
}
