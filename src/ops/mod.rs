//! Operating daemonroll: leader election, the admin server (health, readiness, metrics), and the
//! lifecycle that ties them to the controller (I/O).

pub mod admin;
pub mod leader;
pub mod lifecycle;
