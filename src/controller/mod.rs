//! The controller's connection to a cluster (I/O). The reconcile loop lands here with issue 4.

pub mod client;
pub mod live;
