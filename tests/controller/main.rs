//! End to end: daemonroll (in-process or the real binary) against the simulator over HTTP, with the
//! ARCHITECTURE.md invariants checked on the simulator's timeline of writes.

mod fixtures;
mod invariants;
mod plugin;
mod pod_fields;
mod replicas;
mod support;

mod backoff;
mod claims;
mod controls;
mod demo;
mod events;
mod failures;
mod ha;
mod history;
mod hostile;
mod nodes;
mod restart;
mod rollout;
mod scoping;
mod sigterm;
mod takeover;
