//! What one DaemonSet answers about nodes and labels, compiled once per DaemonSet version, so that
//! a node or pod event is matched without parsing templates (pure).

use crate::planner::eligibility::EligibilityRules;
use crate::planner::selector::Selector;
use crate::planner::template::TemplateFields;
use crate::snapshot::{DaemonSetView, Labels, NodeView};

/// What a DaemonSet answers for nodes and labels, compiled once per DaemonSet version.
pub struct Matcher {
    pub uid: String,
    selector: Option<Selector>,
    rules: Option<EligibilityRules>,
    pub min_ready_seconds: i32,
}

impl Matcher {
    pub fn compile(view: &DaemonSetView) -> Self {
        let selector = view
            .selector
            .as_ref()
            .and_then(|s| Selector::compile(s).ok())
            .filter(|s| !s.is_empty());
        let rules = TemplateFields::read(&view.template)
            .ok()
            .map(|template| EligibilityRules::compile(&template));
        Matcher {
            uid: view.uid.clone(),
            selector,
            rules,
            min_ready_seconds: view.min_ready_seconds,
        }
    }

    pub fn selects(&self, labels: &Labels) -> bool {
        self.selector.as_ref().is_some_and(|s| s.matches(labels))
    }

    /// Upstream: nodeShouldRunDaemonPod's (shouldRun, shouldContinueRunning).
    pub fn answer(&self, node: &NodeView) -> (bool, bool) {
        match &self.rules {
            Some(rules) => {
                let eligibility = rules.evaluate(node);
                (eligibility.should_run(), eligibility.should_continue_running())
            }
            None => (false, false),
        }
    }
}
