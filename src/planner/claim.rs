//! Which pods and revisions are the DaemonSet's: owned, adopted, released or ignored (pure).
//!
//! Upstream: controller_ref_manager.go ClaimPods, ClaimControllerRevisions, ClaimObject.

use std::sync::Arc;

use super::selector::Selector;
use crate::snapshot::{ControllerRef, DaemonSetView, Labels, PodView, RevisionView};

/// How an object relates to the DaemonSet. Upstream: controller_ref_manager.go ClaimObject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Controlled by the DaemonSet and matching its selector.
    Owned,
    /// An orphan matching the selector: adopted by this sync.
    Adopt,
    /// Controlled by the DaemonSet but no longer matching: released by this sync.
    Release,
    /// Not the DaemonSet's business.
    Ignore,
}

fn is_controlled_by(controller: &ControllerRef, daemon_set: &DaemonSetView) -> bool {
    // Upstream (newest) resolves the controller ref by kind, name and uid, not uid alone.
    controller.uid == daemon_set.uid && controller.kind == "DaemonSet" && controller.name == daemon_set.name
}

/// `controlled`: whether the controller reference points at this DaemonSet (pods and revisions
/// differ in how that is decided).
fn claim_with(
    daemon_set: &DaemonSetView,
    selector: &Selector,
    controller: Option<&ControllerRef>,
    controlled: bool,
    labels: &Labels,
    object_terminating: bool,
) -> Claim {
    let deleting = daemon_set.deletion_timestamp.is_some();
    match controller {
        Some(_) if controlled => {
            if selector.matches(labels) {
                Claim::Owned
            } else if deleting {
                Claim::Ignore
            } else {
                Claim::Release
            }
        }
        Some(_) => Claim::Ignore,
        None if deleting || object_terminating || !selector.matches(labels) => Claim::Ignore,
        None => Claim::Adopt,
    }
}

/// Claims a pod: its controller reference must name this DaemonSet by kind, name and uid (the newest
/// upstream resolves pods through an owner index keyed that way). Inlined: the node map calls it
/// once per pod, from another module (callgrind: a 10,000-node plan runs 1.8% more instructions
/// when it is not).
#[inline]
pub fn claim(
    daemon_set: &DaemonSetView,
    selector: &Selector,
    controller: Option<&ControllerRef>,
    labels: &Labels,
    object_terminating: bool,
) -> Claim {
    let controlled = controller.is_some_and(|c| is_controlled_by(c, daemon_set));
    claim_with(daemon_set, selector, controller, controlled, labels, object_terminating)
}

/// The DaemonSet's pods (owned and matching, or adopted), for the rare steps that need them all
/// (history dedup and cleanup); the node map claims on its own while it files pods.
pub fn claimed_pods<'s>(
    daemon_set: &DaemonSetView,
    selector: &Selector,
    candidates: &'s [Arc<PodView>],
) -> Vec<&'s PodView> {
    candidates
        .iter()
        .filter(|pod| {
            let claimed = claim(
                daemon_set,
                selector,
                pod.controller.as_ref(),
                &pod.labels,
                pod.is_terminating(),
            );
            matches!(claimed, Claim::Owned | Claim::Adopt)
        })
        .map(|pod| &**pod)
        .collect()
}

pub struct ClaimedRevisions<'s> {
    pub revisions: Vec<&'s RevisionView>,
    pub adopted: Vec<&'s RevisionView>,
    pub released: Vec<&'s RevisionView>,
}

pub fn claim_revisions<'s>(
    daemon_set: &DaemonSetView,
    selector: &Selector,
    candidates: &'s [RevisionView],
) -> ClaimedRevisions<'s> {
    let mut claimed = ClaimedRevisions {
        revisions: Vec::new(),
        adopted: Vec::new(),
        released: Vec::new(),
    };
    for revision in candidates {
        let terminating = revision.deletion_timestamp.is_some();
        // Upstream: controller_ref_manager.go ClaimObject compares the controller reference's uid only.
        let controlled = revision.controller.as_ref().is_some_and(|c| c.uid == daemon_set.uid);
        let controller = revision.controller.as_ref();
        match claim_with(
            daemon_set,
            selector,
            controller,
            controlled,
            &revision.labels,
            terminating,
        ) {
            Claim::Owned => claimed.revisions.push(revision),
            Claim::Adopt => {
                claimed.revisions.push(revision);
                claimed.adopted.push(revision);
            }
            Claim::Release => claimed.released.push(revision),
            Claim::Ignore => {}
        }
    }
    claimed
}
