//! Fault injection per verb and resource, decided by a seeded random generator (no I/O; the server applies it).
//!
//! Errors, latency, dropped watches and expired resumes; the same seed and requests repeat the same faults.

use std::collections::BTreeMap;
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
    /// Instead of every resume, this share (0–1) of them, drawn per watch request;
    /// `expire_watch_resumes` takes precedence.
    pub expire_watch_resume_rate: f64,
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
    errors: Mutex<BTreeMap<u16, u64>>,
    expired_resumes: AtomicU64,
    dropped_watches: AtomicU64,
}

/// How many faults were injected so far.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Injected {
    pub errors: u64,
    /// `errors` by HTTP status code.
    pub errors_by_code: BTreeMap<u16, u64>,
    pub expired_resumes: u64,
    pub dropped_watches: u64,
}

impl Faults {
    pub fn new(seed: u64) -> Self {
        Faults {
            rules: Mutex::new(Vec::new()),
            random: Mutex::new(fastrand::Rng::with_seed(seed)),
            errors: Mutex::new(BTreeMap::new()),
            expired_resumes: AtomicU64::new(0),
            dropped_watches: AtomicU64::new(0),
        }
    }

    pub fn injected(&self) -> Injected {
        let errors_by_code = self.errors.lock().clone();
        Injected {
            errors: errors_by_code.values().sum(),
            errors_by_code,
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

    /// Whether a draw falls below `rate` (no draw for a rate of 0, so rules without one leave the
    /// sequence of draws as it was).
    fn draw_below(&self, rate: f64) -> bool {
        rate > 0.0 && self.random.lock().f64() < rate
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
            decision.expire_resume |=
                rule.expire_watch_resumes || (verb == "watch" && self.draw_below(rule.expire_watch_resume_rate));
            if decision.error.is_none() && self.draw_below(rule.error_rate) {
                let code = if rule.error_code == 0 { 500 } else { rule.error_code };
                decision.error = Some(ApiError::status(
                    code,
                    format!("injected fault: {verb} {resource} failed with {code}"),
                ));
                *self.errors.lock().entry(code).or_default() += 1;
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

    #[test]
    fn a_resume_expiry_rate_expires_about_that_share_of_watches_and_counts_errors_by_code() {
        let faults = Faults::new(3);
        faults.set_rules(vec![
            FaultRule {
                verbs: vec!["watch".into()],
                expire_watch_resume_rate: 0.1,
                ..FaultRule::default()
            },
            FaultRule {
                verbs: vec!["patch".into()],
                error_rate: 1.0,
                error_code: 429,
                ..FaultRule::default()
            },
        ]);
        let expired = (0..1000)
            .filter(|_| faults.decide("watch", "pods").expire_resume)
            .count();
        assert!((60..=140).contains(&expired), "about 100 of 1000 expire, got {expired}");
        assert!(!faults.decide("get", "pods").expire_resume, "only watches resume");
        faults.decide("patch", "pods");
        faults.decide("patch", "nodes");
        let injected = faults.injected();
        assert_eq!(injected.errors, 2);
        assert_eq!(injected.errors_by_code, BTreeMap::from([(429, 2)]));
    }

    #[test]
    fn a_rule_written_before_the_rate_existed_still_reads() {
        let rule: FaultRule =
            serde_json::from_str(r#"{"verbs":["watch"],"expireWatchResumes":true}"#).expect("the old form parses");
        assert!(rule.expire_watch_resumes);
        assert_eq!(rule.expire_watch_resume_rate, 0.0);
        let faults = Faults::new(1);
        faults.set_rules(vec![rule]);
        assert!(faults.decide("watch", "pods").expire_resume, "every resume expires");
    }
}
