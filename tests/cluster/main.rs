//! The cluster tier: daemonroll against a real control plane built from Go modules
//! (`tests/control-plane/`): kube-apiserver 1.37, etcd, kube-scheduler, kube-controller-manager
//! and KWOK's fake nodes. Each test starts its own control plane (about 7 s) and they run one at
//! a time. Where the binaries are not built (`tests/control-plane/build`, about 12 minutes once)
//! every test prints SKIPPED and passes, unless DAEMONROLL_REQUIRE_CONTROL_PLANE=1 (`.ci/run`).

#[path = "../controller/fixtures.rs"]
mod fixtures;
#[path = "../controller/plugin.rs"]
mod plugin;
#[path = "../controller/pod_fields.rs"]
mod pod_fields;

mod control_plane;
mod daemonroll;
mod recorder;
mod support;

mod apiserver;
mod coexist;
mod deletion;
mod ha;
mod kubectl;
mod nodes;
mod privilege;
mod rollout;
mod takeover;
