//! A simulated Kubernetes API server and fleet that kubectl and kube-rs accept as real (I/O: HTTP, clock).
//!
//! Independence (ARCHITECTURE.md, "The simulator"): nothing here imports the controller's code
//! (planner, history, snapshot, controller, executor, ops); the simulator's API behaviour is written
//! from the Kubernetes sources, separately from the controller's, so a bug in the controller cannot be
//! hidden by the same bug in the cluster it is tested against.

pub mod access;
mod admin;
pub mod admission;
pub mod cluster;
pub mod discovery;
pub mod errors;
pub mod faults;
pub mod fleet;
pub mod gc;
pub mod meta_validation;
pub mod patch;
mod pod_admission;
mod protobuf;
pub mod requests;
pub mod resources;
mod response;
pub mod scheduling;
pub mod selectors;
pub mod server;
pub mod state;
pub mod store;
pub mod stored;
pub mod table;
mod validation;
mod verbs;
mod views;
pub mod watch;
