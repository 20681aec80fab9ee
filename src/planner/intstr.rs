//! Resolution of maxSurge/maxUnavailable against the desired node count (pure).

use std::fmt;

use crate::snapshot::brief::Brief;
use crate::snapshot::{IntOrString, UpdateStrategy};

/// Why an int-or-percent string does not resolve; `text` is the value as served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PercentError<'s> {
    /// No trailing `%`.
    NotAPercentage { text: &'s str },
    /// The part before `%` is not an integer.
    NotAnInteger { text: &'s str, number: &'s str },
}

impl fmt::Display for PercentError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PercentError::NotAPercentage { text } => {
                write!(
                    f,
                    "invalid value {}: a string must be a percentage like \"10%\"",
                    Brief(text)
                )
            }
            PercentError::NotAnInteger { text, number } => {
                write!(f, "invalid value {}: {} is not an integer", Brief(text), Brief(number))
            }
        }
    }
}

/// Why the rolling-update budgets do not resolve (upstream: update.go updatedDesiredNodeCounts fails).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BudgetError<'s> {
    MaxSurge(PercentError<'s>),
    MaxUnavailable(PercentError<'s>),
    /// `rollingUpdate` is set but `maxUnavailable` is not.
    MaxUnavailableUnset,
}

impl fmt::Display for BudgetError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BudgetError::MaxSurge(error) => write!(f, "maxSurge: {error}"),
            BudgetError::MaxUnavailable(error) => write!(f, "maxUnavailable: {error}"),
            BudgetError::MaxUnavailableUnset => write!(f, "maxUnavailable: nil value for IntOrString"),
        }
    }
}

/// Upstream: apimachinery util/intstr GetScaledValueFromIntOrPercent with roundUp = true.
/// A string must be `<integer>%` (Go strconv.Atoi accepts a sign); ints are used as they are.
pub fn scaled_value_round_up(value: &IntOrString, total: i64) -> Result<i64, PercentError<'_>> {
    match value {
        IntOrString::Int(value) => Ok(*value),
        IntOrString::String(text) => {
            let Some(number) = text.strip_suffix('%') else {
                return Err(PercentError::NotAPercentage { text });
            };
            let percent: i64 = number
                .parse()
                .map_err(|_| PercentError::NotAnInteger { text, number })?;
            // Go computes math.Ceil(float64(value) * float64(total) / 100).
            Ok((percent as f64 * total as f64 / 100.0).ceil() as i64)
        }
    }
}

/// maxSurge resolved against `desired`; 0 when the strategy is not RollingUpdate or surge is unset.
/// Upstream: util/daemonset_util.go SurgeCount.
pub fn surge_count(strategy: &UpdateStrategy, desired: i64) -> Result<i64, BudgetError<'_>> {
    match strategy {
        UpdateStrategy::RollingUpdate(Some(params)) => match &params.max_surge {
            Some(value) => scaled_value_round_up(value, desired).map_err(BudgetError::MaxSurge),
            None => Ok(0),
        },
        _ => Ok(0),
    }
}

/// maxUnavailable resolved against `desired`. Upstream: util/daemonset_util.go UnavailableCount.
pub fn unavailable_count(strategy: &UpdateStrategy, desired: i64) -> Result<i64, BudgetError<'_>> {
    match strategy {
        UpdateStrategy::RollingUpdate(Some(params)) => match &params.max_unavailable {
            Some(value) => scaled_value_round_up(value, desired).map_err(BudgetError::MaxUnavailable),
            None => Err(BudgetError::MaxUnavailableUnset),
        },
        _ => Ok(0),
    }
}

/// Whether manage keeps a second pod on a node while surging: maxSurge resolves to more than 0
/// for one node (a negative value disables surge). Upstream: util/daemonset_util.go AllowsSurge.
pub fn allows_surge(strategy: &UpdateStrategy) -> bool {
    surge_count(strategy, 1).is_ok_and(|surge| surge > 0)
}

/// The two rolling-update budgets over the desired nodes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budgets {
    pub max_surge: i64,
    pub max_unavailable: i64,
}

/// The budgets for a rolling update over `desired` nodes, with the "neither set → maxUnavailable 1"
/// rule. Upstream: update.go updatedDesiredNodeCounts.
pub fn rolling_budgets(strategy: &UpdateStrategy, desired: i64) -> Result<Budgets, BudgetError<'_>> {
    let max_unavailable = unavailable_count(strategy, desired)?;
    let max_surge = surge_count(strategy, desired)?;
    if desired > 0 && max_unavailable == 0 && max_surge == 0 {
        return Ok(Budgets {
            max_surge: 0,
            max_unavailable: 1,
        });
    }
    Ok(Budgets {
        max_surge,
        max_unavailable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::RollingUpdateParams;

    fn percent(p: &str) -> IntOrString {
        IntOrString::String(p.into())
    }

    // Mirrors apimachinery intstr_test.go TestGetScaledValueFromIntOrPercent (roundUp cases).
    #[test]
    fn percentages_round_up_and_ints_pass_through() {
        let cases = [
            (percent("30%"), 5, Ok(2)),
            (percent("25%"), 5, Ok(2)),
            (percent("1%"), 1, Ok(1)),
            (percent("0%"), 10, Ok(0)),
            (percent("100%"), 7, Ok(7)),
            (percent("10%"), 0, Ok(0)),
            (IntOrString::Int(7), 3, Ok(7)),
            (percent("+5%"), 100, Ok(5)),
        ];
        for (value, total, expected) in cases {
            assert_eq!(scaled_value_round_up(&value, total), expected, "{value} of {total}");
        }
        let message = |value: &str| scaled_value_round_up(&percent(value), 5).map_err(|e| e.to_string());
        assert_eq!(
            message("10"),
            Err(r#"invalid value "10": a string must be a percentage like "10%""#.to_string())
        );
        assert_eq!(
            message("ten%"),
            Err(r#"invalid value "ten%": "ten" is not an integer"#.to_string())
        );
        assert!(message("1.5%").is_err());
    }

    #[test]
    fn both_budgets_zero_means_one_unavailable_when_nodes_exist() {
        let strategy = UpdateStrategy::RollingUpdate(Some(RollingUpdateParams {
            max_unavailable: Some(IntOrString::Int(0)),
            max_surge: Some(percent("0%")),
        }));
        let budgets = |max_surge, max_unavailable| {
            Ok(Budgets {
                max_surge,
                max_unavailable,
            })
        };
        assert_eq!(rolling_budgets(&strategy, 3), budgets(0, 1));
        assert_eq!(rolling_budgets(&strategy, 0), budgets(0, 0));
        assert!(!allows_surge(&strategy));
        let surge = UpdateStrategy::RollingUpdate(Some(RollingUpdateParams {
            max_unavailable: Some(IntOrString::Int(0)),
            max_surge: Some(percent("1%")),
        }));
        assert!(allows_surge(&surge), "1% of one node rounds up to 1");
        assert_eq!(rolling_budgets(&UpdateStrategy::RollingUpdate(None), 4), budgets(0, 1));
        assert_eq!(
            rolling_budgets(
                &UpdateStrategy::RollingUpdate(Some(RollingUpdateParams {
                    max_unavailable: None,
                    max_surge: None
                })),
                4
            )
            .map_err(|e| e.to_string()),
            Err("maxUnavailable: nil value for IntOrString".to_string())
        );
    }
}
