//! What `daemonroll run` manages and how hard it works (no I/O).

use std::time::Duration;

use crate::snapshot::DEFAULT_BURST_REPLICAS;

/// Which controller daemonroll is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Mode {
    /// The DaemonSet controller, upstream's semantics (kube-controller-manager's is off).
    #[default]
    Replace,
    /// Beside kube-controller-manager's: opted-in OnDelete DaemonSets, deletes only.
    Coexist,
}

#[derive(Clone, Debug)]
pub struct Options {
    pub mode: Mode,
    /// Coexist mode: how long kube-controller-manager may take to recreate a deleted pod.
    pub recreate_wait: Duration,
    /// Only DaemonSets (and their pods and revisions) in this namespace.
    pub namespace: Option<String>,
    /// Only DaemonSets whose labels match this selector.
    pub selector: Option<String>,
    /// DaemonSets synced in parallel.
    pub workers: u16,
    /// Creates (and deletes) one sync may issue.
    pub burst_replicas: usize,
    /// Least time between two status writes of one DaemonSet; a deferred status is written when it ends.
    pub status_interval: Duration,
    /// Distinguishes this replica in Events.
    pub instance: Option<String>,
    /// Client-side limit on API requests of the executor: (queries per second, burst).
    pub api_rate_limit: Option<(f64, u32)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mode: Mode::Replace,
            recreate_wait: crate::snapshot::DEFAULT_RECREATE_WAIT,
            namespace: None,
            selector: None,
            workers: 2,
            burst_replicas: DEFAULT_BURST_REPLICAS,
            status_interval: Duration::from_secs(1),
            instance: None,
            api_rate_limit: None,
        }
    }
}
