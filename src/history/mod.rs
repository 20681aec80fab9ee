//! Revision data bytes and hashes compatible with kube-controller-manager (pure, no I/O).

pub mod go_json;
pub mod hash;
pub mod patch;
