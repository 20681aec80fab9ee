//! The controller's memory of the cluster: watch-fed slim caches indexed for syncs, the DaemonSets
//! each change triggers, expectations and failed-pod backoff records (pure: no I/O, no clock; the
//! watches feed it and times are passed in).

pub mod backoff;
pub mod cache;
pub mod expectations;
pub mod handlers;
pub mod kind;
pub mod matcher;
#[doc(hidden)]
pub mod replay;

pub use expectations::Expectations;
pub use handlers::{Store, Triggered};
pub use kind::Kind;
