//! Which nodes should run a daemon pod, and which may keep one (pure).
//!
//! Upstream: daemon_controller.go NodeShouldRunDaemonPod and predicates.
//! Invariants: the answer depends only on the node's name, labels and taints and on the template;
//! node conditions, `unschedulable`, resources and other pods are the scheduler's business.

use super::selector::NodeRequirements;
use super::template::TemplateFields;
use super::tolerations::{NO_EXECUTE, NO_SCHEDULE, Toleration, daemon_pod_tolerations, first_untolerated};
use crate::snapshot::{NodeView, Taint};

/// (shouldRun, shouldContinueRunning) for one node, with the reason when not both true.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eligibility<'n> {
    /// Should run a pod and may keep one.
    Eligible,
    /// `template.spec.nodeName` names another node: no pod, and existing pods go.
    OtherNodeName,
    /// nodeSelector or required node affinity does not match: no pod, existing pods go.
    AffinityMismatch,
    /// An untolerated NoSchedule taint (every NoExecute taint tolerated): keep, do not create.
    UntoleratedNoSchedule(&'n Taint),
    /// An untolerated NoExecute taint: existing pods go.
    UntoleratedNoExecute(&'n Taint),
}

impl Eligibility<'_> {
    pub fn should_run(self) -> bool {
        matches!(self, Eligibility::Eligible)
    }

    pub fn should_continue_running(self) -> bool {
        matches!(self, Eligibility::Eligible | Eligibility::UntoleratedNoSchedule(_))
    }
}

/// A DaemonSet template compiled for evaluating many nodes.
#[derive(Clone, Debug)]
pub struct EligibilityRules {
    /// The node `template.spec.nodeName` names, if any.
    node_name: Option<String>,
    requirements: NodeRequirements,
    /// Template tolerations plus the implicit daemon tolerations (as on the synthetic pod).
    tolerations: Vec<Toleration>,
}

impl EligibilityRules {
    pub fn compile(template: &TemplateFields) -> Self {
        EligibilityRules {
            node_name: template.node_name.clone(),
            requirements: NodeRequirements::compile(&template.node_selector, template.required_node_terms.as_deref()),
            tolerations: daemon_pod_tolerations(&template.tolerations, template.host_network),
        }
    }

    /// Parse errors in required node-affinity terms (such terms match no node).
    pub fn affinity_errors(&self) -> Vec<&str> {
        self.requirements.parse_errors()
    }

    pub fn evaluate<'n>(&self, node: &'n NodeView) -> Eligibility<'n> {
        if self.node_name.as_ref().is_some_and(|name| *name != node.name) {
            return Eligibility::OtherNodeName;
        }
        if !self.requirements.matches(node) {
            return Eligibility::AffinityMismatch;
        }
        if node.taints.is_empty() {
            return Eligibility::Eligible;
        }
        if let Some(taint) = first_untolerated(&node.taints, &self.tolerations, &[NO_EXECUTE]) {
            return Eligibility::UntoleratedNoExecute(taint);
        }
        match first_untolerated(&node.taints, &self.tolerations, &[NO_SCHEDULE]) {
            Some(taint) => Eligibility::UntoleratedNoSchedule(taint),
            None => Eligibility::Eligible,
        }
    }
}
