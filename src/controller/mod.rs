//! The controller's connection to a cluster and its sync bookkeeping (I/O). The reconcile loop lands
//! here with issue 4.

pub mod cache;
pub mod client;
pub mod expectations;
pub mod live;
