//! Every request the simulated API server answered, by caller, verb and resource (no I/O).
//!
//! What an RBAC role for a caller must allow, reads included, which the write timeline does not show.

use std::collections::BTreeMap;

use parking_lot::Mutex;

/// One kind of request, as RBAC names it: verb, API group and resource (`pods`, `daemonsets/status`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Access {
    pub actor: String,
    pub verb: &'static str,
    pub group: &'static str,
    pub resource: String,
}

#[derive(Debug, Default)]
pub struct AccessLog {
    counts: Mutex<BTreeMap<Access, u64>>,
}

impl AccessLog {
    pub fn record(&self, access: Access) {
        let mut counts = self.counts.lock();
        *counts.entry(access).or_default() += 1;
    }

    /// Each kind of request with how often it came, sorted.
    pub fn entries(&self) -> Vec<(Access, u64)> {
        let counts = self.counts.lock();
        counts.iter().map(|(access, count)| (access.clone(), *count)).collect()
    }
}
