//! Which ControllerRevision is current, what to create, renumber, relabel and prune (pure).
//!
//! Upstream: pkg/controller/daemon/update.go constructHistory, Match, snapshot, dedupCurHistories,
//! cleanupHistory. Invariants: a revision is current iff its data equals the template patch byte
//! for byte; the update hash is the current revision's hash label (its name for unlabelled legacy
//! revisions); a revision whose hash a live pod carries is never pruned.

use std::collections::HashSet;

use crate::history::go_json::to_go_json;
use crate::history::hash::revision_hash;
use crate::snapshot::{DaemonSetView, PodView, REVISION_HASH_LABEL, RevisionView};

/// A revision to create for the current template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewRevision {
    pub name: String,
    pub hash: String,
    pub revision: i64,
    /// The template patch: exactly the bytes kube-controller-manager compares.
    pub data: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CurrentRevision<'s> {
    /// An existing revision holds the current template; `renumber_to` is set when it must move to the top.
    Existing {
        name: &'s str,
        /// Names the revision in the renumbering patch, so that a same-named successor is left alone.
        uid: &'s str,
        renumber_to: Option<i64>,
    },
    Create(NewRevision),
    /// `name` is taken by a revision holding another template: the sync stops after bumping
    /// status.collisionCount to `next_collision_count` (the next sync hashes with it).
    Collision {
        name: String,
        next_collision_count: i32,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HistoryPlan<'s> {
    /// The hash pods of the current template carry. Empty in the collision case, and when the
    /// current revision is an unlabelled one found by name (upstream reads the missing label as "").
    pub update_hash: String,
    pub current: CurrentRevision<'s>,
    /// Owned revisions lacking a hash label: they get their own name as hash (update.go constructHistory).
    pub label_with_name: Vec<&'s RevisionView>,
    /// Further revisions matching the template, deleted in favour of `current` (update.go dedupCurHistories).
    pub duplicates: Vec<&'s RevisionView>,
    /// Old revisions, ascending by revision number.
    pub old: Vec<&'s RevisionView>,
    /// The number of the existing current revision, when there is one.
    pub current_number: Option<i64>,
}

impl HistoryPlan<'_> {
    /// The current revision's number once this sync's history writes are done; None on a collision.
    pub fn current_number(&self) -> Option<i64> {
        match &self.current {
            CurrentRevision::Existing {
                renumber_to: Some(number),
                ..
            } => Some(*number),
            CurrentRevision::Existing { .. } => self.current_number,
            CurrentRevision::Create(new) => Some(new.revision),
            CurrentRevision::Collision { .. } => None,
        }
    }
}

/// The hash a revision stands for: its label, or its name when unlabelled.
pub fn hash_of(revision: &RevisionView) -> &str {
    revision
        .labels
        .get(REVISION_HASH_LABEL)
        .unwrap_or(revision.name.as_str())
}

/// Upstream: update.go Match — data bytes equal the template patch.
pub fn matches(revision: &RevisionView, patch: &[u8]) -> bool {
    to_go_json(&revision.data) == patch
}

/// Splits claimed revisions into current and old and decides the current one.
/// `claimed` keeps the snapshot's list order (it breaks ties between duplicates, as upstream's lister order does);
/// `namespace_revisions` is every revision of the namespace (names matter for collisions).
pub fn construct<'s>(
    daemon_set: &DaemonSetView,
    claimed: &[&'s RevisionView],
    namespace_revisions: &'s [RevisionView],
    patch: &[u8],
) -> HistoryPlan<'s> {
    let label_with_name = claimed
        .iter()
        .copied()
        .filter(|revision| !revision.labels.contains_key(REVISION_HASH_LABEL))
        .collect();
    let (current, mut old): (Vec<&RevisionView>, Vec<&RevisionView>) =
        claimed.iter().copied().partition(|revision| matches(revision, patch));
    old.sort_by(|a, b| a.revision.cmp(&b.revision).then_with(|| a.name.cmp(&b.name)));
    let next_revision = old.iter().map(|revision| revision.revision).max().unwrap_or(0) + 1;

    // Upstream keeps the highest revision; on ties the last one listed wins.
    let keeper = current.iter().copied().reduce(|kept, candidate| {
        if candidate.revision >= kept.revision {
            candidate
        } else {
            kept
        }
    });
    let Some(keeper) = keeper else {
        let (update_hash, current) = current_for_template(daemon_set, namespace_revisions, patch, next_revision);
        return HistoryPlan {
            update_hash,
            current,
            label_with_name,
            duplicates: Vec::new(),
            old,
            current_number: None,
        };
    };
    let duplicates = current
        .iter()
        .copied()
        .filter(|revision| revision.name != keeper.name)
        .collect();
    HistoryPlan {
        update_hash: hash_of(keeper).to_string(),
        current: CurrentRevision::Existing {
            name: keeper.name.as_str(),
            uid: keeper.uid.as_str(),
            renumber_to: (keeper.revision < next_revision).then_some(next_revision),
        },
        label_with_name,
        duplicates,
        old,
        current_number: Some(keeper.revision),
    }
}

/// The current revision when no claimed revision holds the template: a new one named after the
/// template's hash, unless that name is taken (reused when its data matches, a collision otherwise).
/// Returns it with the update hash.
fn current_for_template<'s>(
    daemon_set: &DaemonSetView,
    namespace_revisions: &'s [RevisionView],
    patch: &[u8],
    next_revision: i64,
) -> (String, CurrentRevision<'s>) {
    let hash = revision_hash(patch, daemon_set.status.collision_count);
    let name = format!("{}-{}", daemon_set.name, hash);
    match namespace_revisions.iter().find(|revision| revision.name == name) {
        None => (
            hash.clone(),
            CurrentRevision::Create(NewRevision {
                name,
                hash,
                revision: next_revision,
                data: patch.to_vec(),
            }),
        ),
        // Upstream: update.go snapshot — an existing revision with the same data is used as it is.
        Some(existing) if matches(existing, patch) => (
            existing.labels.get(REVISION_HASH_LABEL).unwrap_or_default().to_string(),
            CurrentRevision::Existing {
                name: existing.name.as_str(),
                uid: existing.uid.as_str(),
                renumber_to: None,
            },
        ),
        Some(_) => (
            String::new(),
            CurrentRevision::Collision {
                name,
                next_collision_count: daemon_set.status.collision_count.unwrap_or(0).saturating_add(1),
            },
        ),
    }
}

/// Old revisions beyond `limit` to delete, oldest first, skipping those a live pod's hash uses.
/// Upstream: update.go cleanupHistory (live hashes include deleted terminal pods).
pub fn prune<'s>(old: &[&'s RevisionView], limit: i32, live_hashes: &HashSet<&str>) -> Vec<&'s RevisionView> {
    let mut to_kill = old.len() as i64 - i64::from(limit);
    let mut pruned = Vec::new();
    for revision in old {
        if to_kill <= 0 {
            break;
        }
        if live_hashes.contains(hash_of(revision)) {
            continue;
        }
        pruned.push(*revision);
        to_kill -= 1;
    }
    pruned
}

/// Hash labels of every claimed pod with a target node, deleted terminal pods included.
/// Upstream: update.go cleanupHistory (getNodesToDaemonPods with includeDeletedTerminal).
pub fn live_hashes<'s>(pods: &[&'s PodView]) -> HashSet<&'s str> {
    pods.iter()
        .filter(|pod| pod.target_node.is_some())
        .filter_map(|pod| pod.revision_hash())
        .filter(|hash| !hash.is_empty())
        .collect()
}
