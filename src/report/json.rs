//! The `daemonroll plan -o json` document, as ARCHITECTURE.md "The `plan -o json` contract" fixes it (pure).

use serde::Serialize;

use super::resulting_status;
use crate::planner::Plan;

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PlanDocument {
    /// Sorted by namespace, then name.
    pub daemon_sets: Vec<DaemonSetPlan>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DaemonSetPlan {
    pub namespace: String,
    pub name: String,
    pub update_revision: String,
    pub create_on_nodes: Vec<String>,
    pub delete_pods: Vec<String>,
    pub status: StatusDocument,
    pub nodes: Vec<NodeDocument>,
    pub rollout: RolloutDocument,
}

/// What the rollout controls do in this sync (ARCHITECTURE.md, "The `plan -o json` contract").
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RolloutDocument {
    /// Nodes on an old pod held by each control (`Hold::kind`), sorted by kind.
    pub held: std::collections::BTreeMap<&'static str, usize>,
    /// Annotations whose value does not parse, in words.
    pub problems: Vec<String>,
    pub conditions: Vec<ConditionDocument>,
    /// The revision number a failed rollout is rolled back to this sync.
    pub rollback_to_revision: Option<i64>,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionDocument {
    #[serde(rename = "type")]
    pub type_: &'static str,
    pub status: &'static str,
    pub reason: &'static str,
    pub message: String,
}

#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusDocument {
    pub desired_number_scheduled: i32,
    pub current_number_scheduled: i32,
    pub number_misscheduled: i32,
    pub number_ready: i32,
    pub updated_number_scheduled: i32,
    pub number_available: i32,
    pub number_unavailable: i32,
    pub observed_generation: i64,
}

#[derive(Debug, Serialize)]
pub struct NodeDocument {
    pub node: String,
    pub action: &'static str,
    pub reason: String,
}

impl DaemonSetPlan {
    pub fn from_plan(plan: &Plan<'_>) -> Self {
        let status = resulting_status(plan);
        let counts = status.counts;
        let mut create_on_nodes: Vec<String> = plan.creates.iter().map(|node| node.to_string()).collect();
        create_on_nodes.sort();
        let mut delete_pods: Vec<String> = plan.deletes.iter().map(|pod| pod.name.to_string()).collect();
        delete_pods.sort();
        DaemonSetPlan {
            namespace: plan.daemon_set.namespace.clone(),
            name: plan.daemon_set.name.clone(),
            update_revision: plan.update_revision.clone(),
            create_on_nodes,
            delete_pods,
            status: StatusDocument {
                desired_number_scheduled: counts.desired_number_scheduled,
                current_number_scheduled: counts.current_number_scheduled,
                number_misscheduled: counts.number_misscheduled,
                number_ready: counts.number_ready,
                updated_number_scheduled: counts.updated_number_scheduled,
                number_available: counts.number_available,
                number_unavailable: counts.number_unavailable,
                observed_generation: status.observed_generation,
            },
            nodes: plan
                .nodes
                .iter()
                .map(|note| NodeDocument {
                    node: note.node.to_string(),
                    action: note.action.as_str(),
                    reason: note.reason.to_string(),
                })
                .collect(),
            rollout: RolloutDocument {
                held: plan.rollout.held.clone(),
                problems: plan.rollout.problems.iter().map(ToString::to_string).collect(),
                conditions: plan
                    .rollout
                    .conditions
                    .iter()
                    .flatten()
                    .map(|condition| ConditionDocument {
                        type_: condition.type_,
                        status: condition.status,
                        reason: condition.reason,
                        message: condition.message.clone(),
                    })
                    .collect(),
                rollback_to_revision: plan.rollout.rollback.as_ref().map(|rollback| rollback.to.revision),
            },
        }
    }
}

impl PlanDocument {
    pub fn from_plans(plans: &[Plan<'_>]) -> Self {
        let mut daemon_sets: Vec<DaemonSetPlan> = plans.iter().map(DaemonSetPlan::from_plan).collect();
        daemon_sets.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        PlanDocument { daemon_sets }
    }
}
