//! The write gate: whether this process may write to the API server (no I/O).
//!
//! Invariant: once closed by a lost or released lease, every request the gate guards is refused
//! before it is sent, including requests that were already waiting for a rate-limit token.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Whether this process may write; closed by default. Clones share one state (the elector sets it,
/// the API client and the Event sink read it).
#[derive(Clone, Debug, Default)]
pub struct WriteGate(Arc<AtomicBool>);

impl WriteGate {
    /// A gate that starts open: a single replica, without leader election.
    pub fn open() -> Self {
        let gate = WriteGate::default();
        gate.set(true);
        gate
    }

    pub fn is_open(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }

    /// Opens (this process leads) or closes (it does not) the gate.
    pub fn set(&self, open: bool) {
        self.0.store(open, Ordering::SeqCst);
    }
}
