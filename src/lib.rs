//! daemonroll: a Kubernetes DaemonSet controller with upstream semantics.
pub mod controller;
pub mod executor;
pub mod history;
pub mod ops;
pub mod planner;
pub mod report;
pub mod sim;
pub mod snapshot;
