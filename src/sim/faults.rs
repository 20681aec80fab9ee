//! Fault injection per verb and resource, decided by a seeded random generator (no I/O; the server applies it).
//!
//! Errors, latency, dropped watches and expired resumes; the same seed and requests repeat the same faults.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use super::errors::ApiError;

/// One fault rule; empty `verbs`/`resources` match every verb/resource.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct FaultRule {
    /// get, list, watch, create, update, patch, delete.
    pub verbs: Vec<String>,
    /// Plural resource names: pods, daemonsets, ….
    pub resources: Vec<String>,
    /// Probability (0–1) that a matching request fails with `error_code`.
    pub error_rate: f64,
    /// 409, 429, 500 or 503.
    pub error_code: u16,
    /// Added before the request is served.
    pub latency_ms: u64,
    /// Watches end after this long (the client must resume).
    pub drop_watch_after_ms: Option<u64>,
    /// A watch that resumes from a resourceVersion gets 410 Expired (the client must relist).
    pub expire_watch_resumes: bool,
}

impl FaultRule {
    fn matches(&self, verb: &str, resource: &str) -> bool {
        (self.verbs.is_empty() || self.verbs.iter().any(|v| v == verb))
            && (self.resources.is_empty() || self.resources.iter().any(|r| r == resource))
    }
}

/// What the server does to one request.
#[derive(Debug, Default, PartialEq)]
pub struct Decision {
    pub latency: Duration,
    pub error: Option<ApiError>,
    pub drop_watch_after: Option<Duration>,
    pub expire_resume: bool,
}

pub struct Faults {
    rules: Mutex<Vec<FaultRule>>,
    random: Mutex<fastrand::Rng>,
    errors: AtomicU64,
    expired_resumes: AtomicU64,
    dropped_watches: AtomicU64,
}

/// How many faults were injected so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Injected {
    pub errors: u64,
    pub expired_resumes: u64,
    pub dropped_watches: u64,
}

impl Faults {
    pub fn new(seed: u64) -> Self {
        Faults {
            rules: Mutex::new(Vec::new()),
            random: Mutex::new(fastrand::Rng::with_seed(seed)),
            errors: AtomicU64::new(0),
            expired_resumes: AtomicU64::new(0),
            dropped_watches: AtomicU64::new(0),
        }
    }

    pub fn injected(&self) -> Injected {
        Injected {
            errors: self.errors.load(Ordering::Relaxed),
            expired_resumes: self.expired_resumes.load(Ordering::Relaxed),
            dropped_watches: self.dropped_watches.load(Ordering::Relaxed),
        }
    }

    /// Records that the server expired a watch resume (it only knows whether the watch resumed).
    pub fn note_expired_resume(&self) {
        self.expired_resumes.fetch_add(1, Ordering::Relaxed);
    }

    /// Records that a watch was started with an injected end.
    pub fn note_dropped_watch(&self) {
        self.dropped_watches.fetch_add(1, Ordering::Relaxed);
    }

    pub fn set_rules(&self, rules: Vec<FaultRule>) {
        *self.rules.lock() = rules;
    }

    pub fn rules(&self) -> Vec<FaultRule> {
        self.rules.lock().clone()
    }

    /// The combined effect of every matching rule on a request.
    pub fn decide(&self, verb: &str, resource: &str) -> Decision {
        let rules = self.rules.lock();
        let mut decision = Decision::default();
        for rule in rules.iter().filter(|rule| rule.matches(verb, resource)) {
            decision.latency += Duration::from_millis(rule.latency_ms);
            if let Some(after) = rule.drop_watch_after_ms {
                let after = Duration::from_millis(after);
                decision.drop_watch_after = Some(decision.drop_watch_after.map_or(after, |d| d.min(after)));
            }
            decision.expire_resume |= rule.expire_watch_resumes;
            if decision.error.is_none() && rule.error_rate > 0.0 {
                let draw = self.random.lock().f64();
                if draw < rule.error_rate {
                    let code = if rule.error_code == 0 { 500 } else { rule.error_code };
                    decision.error = Some(ApiError::status(
                        code,
                        format!("injected fault: {verb} {resource} failed with {code}"),
                    ));
                    self.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        decision
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_match_by_verb_and_resource_and_repeat_with_the_seed() {
        let rule = FaultRule {
            verbs: vec!["create".into()],
            resources: vec!["pods".into()],
            error_rate: 0.5,
            error_code: 503,
            latency_ms: 5,
            ..FaultRule::default()
        };
        let draws = |seed| {
            let faults = Faults::new(seed);
            faults.set_rules(vec![rule.clone()]);
            (0..64)
                .map(|_| faults.decide("create", "pods").error.is_some())
                .collect::<Vec<_>>()
        };
        let first = draws(7);
        assert_eq!(first, draws(7), "the same seed gives the same faults");
        let failures = first.iter().filter(|f| **f).count();
        assert!((16..=48).contains(&failures), "about half of 64 fail, got {failures}");
        let faults = Faults::new(7);
        faults.set_rules(vec![rule]);
        assert_eq!(
            faults.decide("get", "pods"),
            Decision::default(),
            "other verbs are untouched"
        );
        assert_eq!(
            faults.decide("create", "nodes"),
            Decision::default(),
            "other resources are untouched"
        );
    }
}
