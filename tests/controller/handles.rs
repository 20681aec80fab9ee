//! Handles the tests change the cluster and wait through: a node of the fleet, and a wait on a
//! DaemonSet's pod counts.

use super::*;

/// A node of the simulated fleet, changed as an operator or the node lifecycle controller would.
pub struct NodeHandle<'c> {
    pub(super) cluster: &'c Cluster,
    pub(super) name: String,
}

impl NodeHandle<'_> {
    pub fn label(&self, key: &str, value: &str) {
        self.cluster
            .sim
            .fleet
            .label(&self.name, key, Some(value))
            .expect("node labelled");
    }

    pub fn taint(&self, key: &str, value: &str, effect: &str) {
        self.cluster
            .sim
            .fleet
            .taint(&self.name, key, value, effect)
            .expect("node tainted");
    }

    /// NotReady, with the unreachable NoSchedule and NoExecute taints of the node lifecycle.
    pub fn become_not_ready(&self) {
        self.cluster
            .sim
            .fleet
            .set_node_ready(&self.name, false)
            .expect("node NotReady");
    }

    pub fn become_ready(&self) {
        self.cluster
            .sim
            .fleet
            .set_node_ready(&self.name, true)
            .expect("node Ready");
    }

    /// Deleted; the simulator's pod garbage collector then deletes its pods.
    pub fn remove(&self) {
        self.cluster.sim.fleet.remove_node(&self.name).expect("node removed");
    }
}

#[derive(Clone, Copy, Debug)]
pub(super) enum Goal {
    /// The rollout of the current generation is complete with this many pods.
    RolledOut,
    /// At least this many pods run the current template.
    Updated,
}

/// A wait on a DaemonSet's pod counts, still missing how many pods.
pub struct PodCountWait<'c> {
    pub(super) cluster: &'c Cluster,
    pub(super) name: String,
    pub(super) goal: Goal,
}

impl<'c> PodCountWait<'c> {
    pub fn pods(self, pods: i64) -> PodCountWaitFor<'c> {
        PodCountWaitFor { wait: self, pods }
    }
}

/// A wait on a DaemonSet's pod counts, ready to run `within` a time limit.
pub struct PodCountWaitFor<'c> {
    wait: PodCountWait<'c>,
    pods: i64,
}

impl PodCountWaitFor<'_> {
    /// Polls every 50 ms; returns the DaemonSet once its status meets the goal, or panics after
    /// `limit` with the last status.
    pub async fn within(self, limit: Duration) -> Value {
        let PodCountWait { cluster, name, goal } = self.wait;
        let pods = self.pods;
        let deadline = Instant::now() + limit;
        loop {
            let ds = cluster.get_daemon_set(&name).await;
            let status = &ds["status"];
            let count = |field: &str| status[field].as_i64().unwrap_or(0);
            let done = match goal {
                Goal::RolledOut => {
                    status["observedGeneration"].as_i64() >= ds["metadata"]["generation"].as_i64()
                        && count("desiredNumberScheduled") == pods
                        && count("updatedNumberScheduled") == pods
                        && count("numberAvailable") == pods
                        && count("currentNumberScheduled") == pods
                        && count("numberMisscheduled") == 0
                }
                Goal::Updated => count("updatedNumberScheduled") >= pods,
            };
            if done {
                return ds;
            }
            assert!(
                Instant::now() < deadline,
                "{name} not {goal:?} with {pods} pods within {limit:?}: {status}"
            );
            tokio::time::sleep(millis(50)).await;
        }
    }
}
