//! The controller's connection to a cluster: client configuration, watch-fed stores, triggers,
//! expectations, the work queue and the sync loop (I/O).

pub mod cache;
pub mod client;
pub mod expectations;
pub mod live;
pub mod queue;
pub mod run;
pub mod stores;
