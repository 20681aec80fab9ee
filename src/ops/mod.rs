//! Operating daemonroll: leader election, the admin server (health, readiness, metrics) (I/O).

pub mod admin;
pub mod leader;
pub mod metrics;
