//! daemonroll: a Kubernetes DaemonSet controller with upstream semantics.
//!
//! The modules form a stack in which every import points down (ARCHITECTURE.md, checked by
//! `tests/architecture.rs`): `kube` and `history` at the bottom, then `snapshot`, `planner`,
//! `store` and `report`, `executor`, `controller`, `ops`. `sim` stands apart and imports none of
//! them.
pub mod controller;
pub mod executor;
pub mod history;
pub mod kube;
pub mod ops;
pub mod planner;
pub mod report;
pub mod sim;
pub mod snapshot;
pub mod store;
