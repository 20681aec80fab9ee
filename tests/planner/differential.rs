//! Differential test: an independent model of ONE upstream sync, written from kube-controller-manager's Go code
//! (not from `src/planner/`), compared with `planner::plan` over thousands of seeded random snapshots.
//!
//! Upstream sources the model follows, function by function:
//! - daemon_controller.go: syncDaemonSet / updateDaemonSet (manage first; rollingUpdate only when manage
//!   set no expectations, i.e. wrote nothing), getNodesToDaemonPods (claimed pods grouped by target node,
//!   terminal pods that are being deleted left out), podsShouldBeOnNode, getUnscheduledPodsWithoutNode,
//!   updateDaemonSetStatus / storeDaemonSetStatus, NodeShouldRunDaemonPod, predicates, NewPod,
//!   podByCreationTimestampAndPhase;
//! - update.go: rollingUpdate (both branches, including the should-not-run handling of the surge branch),
//!   findUpdatedPodsOnNode, updatedDesiredNodeCounts;
//! - util/daemonset_util.go: IsPodUpdated, SurgeCount, UnavailableCount, AllowsSurge,
//!   AddOrUpdateDaemonPodTolerations, GetTemplateGeneration;
//! - pkg/api/v1/pod/util.go IsPodReady / IsPodAvailable (`lastTransitionTime + minReadySeconds <= now`);
//! - component-helpers nodeaffinity (GetRequiredNodeAffinity, LazyErrorNodeSelector) and
//!   FindMatchingUntoleratedTaint, core/v1 Toleration.ToleratesTaint;
//! - apimachinery intstr GetScaledValueFromIntOrPercent (percentages rounded up; a string without `%`
//!   is an error); controller_ref_manager ClaimObject (adopt matching orphans, release mismatching pods).
//!
//! Where upstream's choice follows Go map order (which candidates rollingUpdate takes, which failed pod
//! of a node the per-node backoff lets through), the model yields a group and a count: the planner must
//! take exactly that many members of the group, and nothing outside the fixed part and the groups.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;

use daemonroll::planner;
use daemonroll::snapshot::{
    ControllerRef, IntOrString, NodeView, PodPhase, PodView, REVISION_HASH_LABEL, ReadyCondition, RollingUpdateParams,
    Snapshot, StatusCounts, TEMPLATE_GENERATION_ANNOTATION, TEMPLATE_GENERATION_LABEL, Timestamp, UpdateStrategy,
};
use serde_json::{Map, Value, json};

use crate::support::*;

/// Seeds per run; `DIFFERENTIAL_SEEDS=N` runs N seeds instead (and `DIFFERENTIAL_FIRST_SEED` moves the start).
const SEEDS: u64 = 3000;

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

// ================================================================ the model

/// What a DaemonSet pod needs from a node: the parts of the template NodeShouldRunDaemonPod reads.
struct Placement {
    template_node_name: String,
    node_selector: Vec<(String, String)>,
    /// requiredDuringSchedulingIgnoredDuringExecution's terms, when that selector is present.
    required_terms: Option<Vec<Value>>,
    /// The template's tolerations plus the daemon defaults (AddOrUpdateDaemonPodTolerations).
    tolerations: Vec<Toleration>,
}

struct Toleration {
    key: String,
    operator: String,
    value: String,
    effect: String,
}

fn text(value: &Value, key: &str) -> String {
    value.get(key).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|items| items.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default()
}

fn placement_of(template: &Value) -> Placement {
    let spec = &template["spec"];
    let node_selector = spec
        .get("nodeSelector")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default();
    let required = spec
        .pointer("/affinity/nodeAffinity/requiredDuringSchedulingIgnoredDuringExecution")
        .filter(|v| !v.is_null());
    let required_terms = required.map(|r| {
        r.get("nodeSelectorTerms")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default()
    });
    let mut tolerations: Vec<Toleration> = spec
        .get("tolerations")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|t| Toleration {
                    key: text(t, "key"),
                    operator: text(t, "operator"),
                    value: text(t, "value"),
                    effect: text(t, "effect"),
                })
                .collect()
        })
        .unwrap_or_default();
    // util.AddOrUpdateDaemonPodTolerations: an equal toleration is replaced, any other is appended; either way
    // each of these is present afterwards.
    let mut defaults = vec![
        ("node.kubernetes.io/not-ready", "NoExecute"),
        ("node.kubernetes.io/unreachable", "NoExecute"),
        ("node.kubernetes.io/disk-pressure", "NoSchedule"),
        ("node.kubernetes.io/memory-pressure", "NoSchedule"),
        ("node.kubernetes.io/pid-pressure", "NoSchedule"),
        ("node.kubernetes.io/unschedulable", "NoSchedule"),
    ];
    if spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
        defaults.push(("node.kubernetes.io/network-unavailable", "NoSchedule"));
    }
    for (key, effect) in defaults {
        tolerations.push(Toleration {
            key: key.into(),
            operator: "Exists".into(),
            value: String::new(),
            effect: effect.into(),
        });
    }
    Placement {
        template_node_name: text(spec, "nodeName"),
        node_selector,
        required_terms,
        tolerations,
    }
}

/// core/v1 Toleration.ToleratesTaint.
fn tolerates(t: &Toleration, key: &str, value: &str, effect: &str) -> bool {
    if !t.effect.is_empty() && t.effect != effect {
        return false;
    }
    if !t.key.is_empty() && t.key != key {
        return false;
    }
    match t.operator.as_str() {
        "" | "Equal" => t.value == value,
        "Exists" => true,
        _ => false,
    }
}

/// FindMatchingUntoleratedTaint restricted to taints whose effect is in `effects`: is there one?
fn has_untolerated_taint(node: &NodeView, tolerations: &[Toleration], effects: &[&str]) -> bool {
    node.taints
        .iter()
        .filter(|taint| effects.contains(&taint.effect.as_str()))
        .any(|taint| {
            !tolerations
                .iter()
                .any(|t| tolerates(t, &taint.key, &taint.value, &taint.effect))
        })
}

/// One label requirement of a node selector term: Ok(matches) or Err(parse error).
fn label_requirement(req: &Value, node: &NodeView) -> Result<bool, ()> {
    let key = text(req, "key");
    let values = strings(req.get("values"));
    let label = node.labels.get(&key);
    match text(req, "operator").as_str() {
        "In" | "NotIn" if values.is_empty() => Err(()),
        "In" => Ok(label.is_some_and(|l| values.iter().any(|v| v == l))),
        "NotIn" => Ok(label.is_none_or(|l| !values.iter().any(|v| v == l))),
        "Exists" | "DoesNotExist" if !values.is_empty() => Err(()),
        "Exists" => Ok(label.is_some()),
        "DoesNotExist" => Ok(label.is_none()),
        op @ ("Gt" | "Lt") => {
            if values.len() != 1 {
                return Err(());
            }
            let bound: i64 = values[0].parse().map_err(|_| ())?;
            let Some(have) = label.and_then(|l| l.parse::<i64>().ok()) else {
                return Ok(false);
            };
            Ok(if op == "Gt" { have > bound } else { have < bound })
        }
        _ => Err(()),
    }
}

/// One field requirement (only metadata.name is a node field): Ok(matches) or Err(parse error).
fn field_requirement(req: &Value, node: &NodeView) -> Result<bool, ()> {
    let values = strings(req.get("values"));
    if values.len() != 1 {
        return Err(());
    }
    let key = text(req, "key");
    let field = if key == "metadata.name" { node.name.as_str() } else { "" };
    match text(req, "operator").as_str() {
        "In" => Ok(field == values[0]),
        "NotIn" => Ok(field != values[0]),
        _ => Err(()),
    }
}

/// nodeaffinity LazyErrorNodeSelector.Match: empty terms are dropped; a term that fails to parse never
/// matches; otherwise the node must satisfy every expression and every field requirement of some term.
fn terms_match(terms: &[Value], node: &NodeView) -> bool {
    terms.iter().any(|term| {
        let exprs = term
            .get("matchExpressions")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let fields = term
            .get("matchFields")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if exprs.is_empty() && fields.is_empty() {
            return false;
        }
        let labels: Result<Vec<bool>, ()> = exprs.iter().map(|r| label_requirement(r, node)).collect();
        let fields: Result<Vec<bool>, ()> = fields.iter().map(|r| field_requirement(r, node)).collect();
        match (labels, fields) {
            (Ok(l), Ok(f)) => l.iter().chain(f.iter()).all(|m| *m),
            _ => false,
        }
    })
}

/// daemon_controller.go NodeShouldRunDaemonPod: (shouldRun, shouldContinueRunning).
fn should_run(p: &Placement, node: &NodeView) -> (bool, bool) {
    if !p.template_node_name.is_empty() && p.template_node_name != node.name {
        return (false, false);
    }
    let selector_fits = p
        .node_selector
        .iter()
        .all(|(k, v)| node.labels.get(k) == Some(v.as_str()));
    let affinity_fits = selector_fits && p.required_terms.as_ref().is_none_or(|terms| terms_match(terms, node));
    if !affinity_fits {
        return (false, false);
    }
    if has_untolerated_taint(node, &p.tolerations, &["NoExecute", "NoSchedule"]) {
        return (false, !has_untolerated_taint(node, &p.tolerations, &["NoExecute"]));
    }
    (true, true)
}

/// IsPodReady.
fn ready(pod: &PodView) -> bool {
    pod.ready.is_some_and(|c| c.is_true)
}

/// IsPodAvailable (newest: inclusive boundary).
fn available(pod: &PodView, min_ready_seconds: i32, now: Timestamp) -> bool {
    let Some(c) = pod.ready.filter(|c| c.is_true) else {
        return false;
    };
    min_ready_seconds == 0
        || c.last_transition_time
            .is_some_and(|t| t + chrono::TimeDelta::seconds(min_ready_seconds.into()) <= now)
}

/// podByCreationTimestampAndPhase: scheduled pods first, then older creationTimestamp, then name.
fn sort_oldest_first(pods: &mut [&PodView]) {
    pods.sort_by(|a, b| {
        (a.node_name.is_empty(), a.creation_timestamp, &a.name).cmp(&(
            b.node_name.is_empty(),
            b.creation_timestamp,
            &b.name,
        ))
    });
}

/// intstr.GetScaledValueFromIntOrPercent(value, total, roundUp = true).
fn scaled(value: Option<&IntOrString>, total: i64) -> Result<i64, String> {
    match value {
        None => Err("nil value for IntOrString".into()),
        Some(IntOrString::Int(v)) => Ok(*v),
        Some(IntOrString::String(s)) => {
            let Some(number) = s.strip_suffix('%') else {
                return Err(format!("{s:?} is not a percentage"));
            };
            let percent: i64 = number.parse().map_err(|_| format!("invalid value {s:?}"))?;
            Ok((percent as f64 * total as f64 / 100.0).ceil() as i64)
        }
    }
}

fn rolling_params(strategy: &UpdateStrategy) -> Option<Option<&RollingUpdateParams>> {
    match strategy {
        UpdateStrategy::RollingUpdate(params) => Some(params.as_ref()),
        _ => None,
    }
}

/// util.SurgeCount.
fn surge_count(strategy: &UpdateStrategy, total: i64) -> Result<i64, String> {
    match rolling_params(strategy) {
        Some(Some(r)) if r.max_surge.is_some() => scaled(r.max_surge.as_ref(), total),
        _ => Ok(0),
    }
}

/// util.UnavailableCount.
fn unavailable_count(strategy: &UpdateStrategy, total: i64) -> Result<i64, String> {
    match rolling_params(strategy) {
        Some(Some(r)) => scaled(r.max_unavailable.as_ref(), total),
        _ => Ok(0),
    }
}

/// util.AllowsSurge.
fn allows_surge(strategy: &UpdateStrategy) -> bool {
    surge_count(strategy, 1).is_ok_and(|n| n > 0)
}

/// A choice upstream leaves to Go map order: exactly `take` members of `from`.
#[derive(Debug, Clone)]
struct Group {
    from: BTreeSet<String>,
    take: usize,
}

/// Writes of one sync: a fixed part plus groups.
#[derive(Debug, Default)]
struct Writes {
    by: &'static str,
    creates: Vec<String>,
    create_groups: Vec<Group>,
    deletes: Vec<String>,
    delete_groups: Vec<Group>,
}

impl Writes {
    fn is_empty(&self) -> bool {
        self.creates.is_empty()
            && self.deletes.is_empty()
            && self.create_groups.iter().all(|g| g.take == 0)
            && self.delete_groups.iter().all(|g| g.take == 0)
    }
}

#[derive(Debug)]
struct Expected {
    counts: StatusCounts,
    changed: bool,
    observed_generation: i64,
    writes: Writes,
    rolling_error: Option<String>,
}

struct World<'s> {
    snapshot: &'s Snapshot,
    placement: Placement,
    hash: String,
    template_generation: Option<i64>,
    /// getNodesToDaemonPods(includeDeletedTerminal = false).
    by_node: BTreeMap<String, Vec<&'s PodView>>,
}

impl<'s> World<'s> {
    fn new(snapshot: &'s Snapshot) -> Self {
        let ds = &snapshot.daemon_set;
        let selector = ds.selector.as_ref().expect("generated DaemonSets have a selector");
        assert!(
            selector.match_expressions.is_empty(),
            "the generator only uses matchLabels"
        );
        let selects = |pod: &PodView| selector.match_labels.iter().all(|(k, v)| pod.labels.get(k) == Some(v));
        let mut by_node: BTreeMap<String, Vec<&PodView>> = BTreeMap::new();
        for pod in &snapshot.pods {
            // ClaimPods: ours if our controllerRef and the selector matches; orphans are adopted when the
            // selector matches and neither side is being deleted; pods of other controllers are ignored.
            let claimed = match &pod.controller {
                Some(owner) => owner.uid == ds.uid.as_str() && selects(pod),
                None => selects(pod) && pod.deletion_timestamp.is_none() && ds.deletion_timestamp.is_none(),
            };
            if !claimed || (pod.phase.is_terminal() && pod.deletion_timestamp.is_some()) {
                continue;
            }
            // GetTargetNodeName: no target → skipped.
            if let Some(target) = &pod.target_node {
                by_node.entry(target.to_string()).or_default().push(pod);
            }
        }
        World {
            snapshot,
            placement: placement_of(&ds.template),
            hash: current_hash(ds),
            template_generation: ds
                .annotations
                .get(TEMPLATE_GENERATION_ANNOTATION)
                .and_then(|v| v.parse::<i64>().ok()),
            by_node,
        }
    }

    fn min_ready(&self) -> i32 {
        self.snapshot.daemon_set.min_ready_seconds
    }

    fn available(&self, pod: &PodView) -> bool {
        available(pod, self.min_ready(), self.snapshot.now)
    }

    /// util.IsPodUpdated.
    fn updated(&self, pod: &PodView) -> bool {
        let by_hash = !self.hash.is_empty() && pod.labels.get(REVISION_HASH_LABEL) == Some(self.hash.as_str());
        let by_generation = self
            .template_generation
            .is_some_and(|g| pod.labels.get(TEMPLATE_GENERATION_LABEL) == Some(g.to_string().as_str()));
        by_hash || by_generation
    }

    fn node(&self, name: &str) -> Option<&NodeView> {
        self.snapshot.nodes.iter().find(|n| n.name == name)
    }

    /// daemon_controller.go manage (podsShouldBeOnNode per node, then getUnscheduledPodsWithoutNode).
    fn manage(&self) -> Writes {
        let strategy = &self.snapshot.daemon_set.update_strategy;
        let mut w = Writes {
            by: "manage",
            ..Writes::default()
        };
        for node in self.snapshot.nodes.iter() {
            let (run, keep_running) = should_run(&self.placement, node);
            let pods = self.by_node.get(node.name.as_str());
            if run && pods.is_none() {
                w.creates.push(node.name.to_string());
            } else if keep_running {
                let mut running = Vec::new();
                let mut failed = BTreeSet::new();
                for pod in pods.into_iter().flatten() {
                    if pod.deletion_timestamp.is_some() {
                        continue;
                    }
                    match pod.phase {
                        // The backoff key is per node; with no entries the first failed pod gets through and
                        // starts the backoff, so exactly one failed pod of the node (lister order) is deleted.
                        PodPhase::Failed => {
                            failed.insert(pod.name.to_string());
                        }
                        PodPhase::Succeeded => w.deletes.push(pod.name.to_string()),
                        _ => running.push(*pod),
                    }
                }
                if !failed.is_empty() {
                    w.delete_groups.push(Group { from: failed, take: 1 });
                }
                if !allows_surge(strategy) {
                    if running.len() > 1 {
                        sort_oldest_first(&mut running);
                        w.deletes.extend(running[1..].iter().map(|p| p.name.to_string()));
                    }
                    continue;
                }
                if running.len() <= 1 {
                    if running.is_empty() && run {
                        w.creates.push(node.name.to_string());
                    }
                    continue;
                }
                sort_oldest_first(&mut running);
                let mut oldest_new: Option<&PodView> = None;
                let mut oldest_old: Option<&PodView> = None;
                for pod in running {
                    // Only the hash label counts here (not the template generation).
                    let slot = if pod.labels.get(REVISION_HASH_LABEL) == Some(self.hash.as_str()) {
                        &mut oldest_new
                    } else {
                        &mut oldest_old
                    };
                    if slot.is_none() {
                        *slot = Some(pod);
                    } else {
                        w.deletes.push(pod.name.to_string());
                    }
                }
                if let (Some(new), Some(old)) = (oldest_new, oldest_old)
                    && (!ready(old) || self.available(new))
                {
                    w.deletes.push(old.name.to_string());
                }
            } else if let Some(pods) = pods {
                w.deletes.extend(
                    pods.iter()
                        .filter(|p| p.deletion_timestamp.is_none())
                        .map(|p| p.name.to_string()),
                );
            }
        }
        for (target, pods) in &self.by_node {
            if self.node(target).is_none() {
                w.deletes.extend(
                    pods.iter()
                        .filter(|p| p.node_name.is_empty())
                        .map(|p| p.name.to_string()),
                );
            }
        }
        w
    }

    /// update.go findUpdatedPodsOnNode: (new, old), or None when there are two of either.
    fn split<'p>(&self, pods: &[&'p PodView]) -> Option<(Option<&'p PodView>, Option<&'p PodView>)> {
        let (mut new, mut old) = (None, None);
        for pod in pods.iter().filter(|p| p.deletion_timestamp.is_none()) {
            let slot = if self.updated(pod) { &mut new } else { &mut old };
            if slot.is_some() {
                return None;
            }
            *slot = Some(*pod);
        }
        Some((new, old))
    }

    /// update.go rollingUpdate (with updatedDesiredNodeCounts).
    fn rolling_update(&self) -> Result<Writes, String> {
        let strategy = &self.snapshot.daemon_set.update_strategy;
        let mut pods_by_node: BTreeMap<String, Vec<&PodView>> = self.by_node.clone();
        let mut desired = 0i64;
        for node in self.snapshot.nodes.iter() {
            if should_run(&self.placement, node).0 {
                desired += 1;
                pods_by_node.entry(node.name.to_string()).or_default();
            }
        }
        let mut max_unavailable = unavailable_count(strategy, desired)?;
        let max_surge = surge_count(strategy, desired)?;
        if desired > 0 && max_unavailable == 0 && max_surge == 0 {
            max_unavailable = 1;
        }
        let mut w = Writes {
            by: "rolling update",
            ..Writes::default()
        };
        // Candidates are collected whatever the running count; upstream stops collecting once the budget
        // is spent, but then the number it takes is 0 anyway, so only the count below matters.
        let mut candidates = BTreeSet::new();
        if max_surge == 0 {
            let mut unavailable = 0i64;
            for pods in pods_by_node.values() {
                match self.split(pods) {
                    None | Some((None, None)) | Some((Some(_), Some(_))) => unavailable += 1,
                    Some((Some(new), None)) => {
                        if !self.available(new) {
                            unavailable += 1;
                        }
                    }
                    Some((None, Some(old))) => {
                        if !self.available(old) {
                            w.deletes.push(old.name.to_string());
                            unavailable += 1;
                        } else {
                            candidates.insert(old.name.to_string());
                        }
                    }
                }
            }
            let take = (max_unavailable - unavailable).clamp(0, candidates.len() as i64) as usize;
            w.delete_groups.push(Group { from: candidates, take });
            return Ok(w);
        }
        let mut surging = 0i64;
        let mut available_nodes = 0i64;
        let mut should_not_run = BTreeSet::new();
        for (node_name, pods) in &pods_by_node {
            let Some((new, old)) = self.split(pods) else {
                surging += 1;
                continue;
            };
            let counted = old.or(new);
            if counted.is_some_and(|p| self.available(p)) {
                available_nodes += 1;
            }
            match (new, old) {
                (_, None) => {}
                (None, Some(old)) => {
                    let node = self
                        .node(node_name)
                        .ok_or_else(|| format!("couldn't get node for nodeName {node_name:?}"))?;
                    let run = should_run(&self.placement, node).0;
                    if !self.available(old) {
                        if run {
                            w.creates.push(node_name.clone());
                        } else {
                            w.deletes.push(old.name.to_string());
                        }
                    } else if !run {
                        should_not_run.insert(old.name.to_string());
                    } else {
                        candidates.insert(node_name.clone());
                    }
                }
                (Some(new), Some(old)) => {
                    if self.available(new) {
                        w.deletes.push(old.name.to_string());
                    } else {
                        surging += 1;
                    }
                }
            }
        }
        let deletable = (available_nodes - desired).clamp(0, should_not_run.len() as i64) as usize;
        w.delete_groups.push(Group {
            from: should_not_run,
            take: deletable,
        });
        let take = (max_surge - surging).clamp(0, candidates.len() as i64) as usize;
        w.create_groups.push(Group { from: candidates, take });
        Ok(w)
    }

    /// updateDaemonSetStatus over the snapshot as given.
    fn counts(&self) -> StatusCounts {
        let mut c = StatusCounts::default();
        for node in self.snapshot.nodes.iter() {
            let (run, _) = should_run(&self.placement, node);
            let mut pods = self.by_node.get(node.name.as_str()).cloned().unwrap_or_default();
            if !run {
                if !pods.is_empty() {
                    c.number_misscheduled += 1;
                }
                continue;
            }
            c.desired_number_scheduled += 1;
            if pods.is_empty() {
                continue;
            }
            c.current_number_scheduled += 1;
            sort_oldest_first(&mut pods);
            let first = pods[0];
            if ready(first) {
                c.number_ready += 1;
                if self.available(first) {
                    c.number_available += 1;
                }
            }
            if self.updated(first) {
                c.updated_number_scheduled += 1;
            }
        }
        c.number_unavailable = c.desired_number_scheduled - c.number_available;
        c
    }
}

/// The model's answer for one sync with expectations satisfied.
fn model(snapshot: &Snapshot) -> Expected {
    let world = World::new(snapshot);
    let ds = &snapshot.daemon_set;
    let counts = world.counts();
    // storeDaemonSetStatus: skip the write when nothing changed and observedGeneration is current.
    let changed = counts != ds.status.counts || ds.status.observed_generation < ds.generation;
    // syncDaemonSet: while expectations are pending only the status is refreshed (updateObservedGen = false).
    if !snapshot.expectations_satisfied {
        return Expected {
            counts,
            changed,
            observed_generation: ds.status.observed_generation,
            writes: Writes {
                by: "expectations pending",
                ..Writes::default()
            },
            rolling_error: None,
        };
    }
    let observed_generation = if changed {
        ds.generation
    } else {
        ds.status.observed_generation
    };
    let mut writes = world.manage();
    let mut rolling_error = None;
    if writes.is_empty() && matches!(ds.update_strategy, UpdateStrategy::RollingUpdate(_)) {
        match world.rolling_update() {
            Ok(w) => writes = w,
            Err(e) => rolling_error = Some(e),
        }
    }
    Expected {
        counts,
        changed,
        observed_generation,
        writes,
        rolling_error,
    }
}

// ================================================================ comparison

/// `got` must hold every fixed item, exactly `take` items of each group and nothing else, without repeats.
fn conforms(what: &str, got: &[String], fixed: &[String], groups: &[Group]) -> Result<(), String> {
    let got_set: BTreeSet<&String> = got.iter().collect();
    if got_set.len() != got.len() {
        return Err(format!("{what}: repeated entries in {got:?}"));
    }
    let fixed_set: BTreeSet<&String> = fixed.iter().collect();
    assert_eq!(
        fixed_set.len(),
        fixed.len(),
        "model bug: repeated fixed {what}: {fixed:?}"
    );
    if let Some(missing) = fixed.iter().find(|f| !got_set.contains(f)) {
        return Err(format!("{what}: {missing} is missing"));
    }
    let mut rest: BTreeSet<&String> = got_set.difference(&fixed_set).copied().collect();
    for group in groups {
        let chosen: Vec<&String> = group.from.iter().filter(|m| rest.contains(m)).collect();
        if chosen.len() != group.take {
            return Err(format!(
                "{what}: took {chosen:?} from {:?}, expected exactly {} of them",
                group.from, group.take
            ));
        }
        for m in chosen {
            rest.remove(m);
        }
    }
    if !rest.is_empty() {
        return Err(format!("{what}: unexpected {rest:?}"));
    }
    Ok(())
}

fn compare(snapshot: &Snapshot, expected: &Expected) -> Result<(), String> {
    let plan = planner::plan(snapshot);
    let status = plan.status.as_ref().ok_or("no status update")?;
    let mut problems = Vec::new();
    if status.status.counts != expected.counts {
        problems.push(format!(
            "counts: planner {:?}, model {:?}",
            status.status.counts, expected.counts
        ));
    }
    if (status.changed, status.status.observed_generation) != (expected.changed, expected.observed_generation) {
        problems.push(format!(
            "(changed, observedGeneration): planner {:?}, model {:?}",
            (status.changed, status.status.observed_generation),
            (expected.changed, expected.observed_generation)
        ));
    }
    let creates: Vec<String> = plan.creates.iter().map(|n| n.to_string()).collect();
    let deletes: Vec<String> = plan.deletes.iter().map(|p| p.name.to_string()).collect();
    let w = &expected.writes;
    if let Err(e) = conforms("creates", &creates, &w.creates, &w.create_groups) {
        problems.push(e);
    }
    if let Err(e) = conforms("deletes", &deletes, &w.deletes, &w.delete_groups) {
        problems.push(e);
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{}\n  planner: creates {creates:?}, deletes {deletes:?}, status {:?} (changed {})",
        problems.join("\n  "),
        status.status,
        status.changed
    ))
}

// ================================================================ the generator

fn chance(rng: &mut fastrand::Rng, percent: u32) -> bool {
    rng.u32(0..100) < percent
}

fn pick<T: Copy>(rng: &mut fastrand::Rng, items: &[T]) -> T {
    items[rng.usize(0..items.len())]
}

const TAINT_KEYS: [&str; 8] = [
    "node.kubernetes.io/not-ready",
    "node.kubernetes.io/unreachable",
    "node.kubernetes.io/unschedulable",
    "node.kubernetes.io/disk-pressure",
    "node.kubernetes.io/network-unavailable",
    "node.kubernetes.io/memory-pressure",
    "dedicated",
    "gpu",
];
const EFFECTS: [&str; 3] = ["NoSchedule", "NoExecute", "PreferNoSchedule"];
const TAINT_VALUES: [&str; 3] = ["", "true", "infra"];

fn gen_nodes(rng: &mut fastrand::Rng) -> Vec<NodeBuilder> {
    let count = rng.usize(1..=12);
    (0..count)
        .map(|i| {
            let mut n = node(&format!("node-{i}"));
            if chance(rng, 80) {
                n = n.label("zone", pick(rng, &["a", "b", "c"]));
            }
            if chance(rng, 60) {
                n = n.label("disk", pick(rng, &["ssd", "hdd"]));
            }
            match rng.u32(0..10) {
                0..=5 => n = n.label("cores", &rng.u32(1..=16).to_string()),
                6 => n = n.label("cores", "many"),
                _ => {}
            }
            let taints = match rng.u32(0..10) {
                0..=4 => 0,
                5..=8 => 1,
                _ => 2,
            };
            for _ in 0..taints {
                n = n.taint(pick(rng, &TAINT_KEYS), pick(rng, &TAINT_VALUES), pick(rng, &EFFECTS));
            }
            n
        })
        .collect()
}

fn gen_expression(rng: &mut fastrand::Rng) -> Value {
    let some_zones = |rng: &mut fastrand::Rng| -> Vec<&str> {
        let mut zones = vec![pick(rng, &["a", "b", "c"])];
        if chance(rng, 40) {
            zones.push(pick(rng, &["a", "b", "c"]));
        }
        zones
    };
    let bound = |rng: &mut fastrand::Rng| -> String {
        if chance(rng, 5) {
            "x".into()
        } else {
            rng.u32(1..=16).to_string()
        }
    };
    match rng.u32(0..9) {
        0 => json!({"key": "zone", "operator": "In", "values": some_zones(rng)}),
        1 => json!({"key": "zone", "operator": "NotIn", "values": some_zones(rng)}),
        2 => json!({"key": "disk", "operator": pick(rng, &["In", "NotIn"]), "values": [pick(rng, &["ssd", "hdd"])]}),
        3 => json!({"key": pick(rng, &["zone", "disk", "cores", "gpu"]), "operator": "Exists"}),
        4 => json!({"key": pick(rng, &["zone", "disk", "cores", "gpu"]), "operator": "DoesNotExist"}),
        5 => json!({"key": "cores", "operator": "Gt", "values": [bound(rng)]}),
        6 => json!({"key": "cores", "operator": "Lt", "values": [bound(rng)]}),
        7 => json!({"key": "cores", "operator": "In", "values": ["4", "8", "many"]}),
        _ => json!({"key": "disk", "operator": "In", "values": []}),
    }
}

fn gen_term(rng: &mut fastrand::Rng, node_count: usize) -> Value {
    let mut term = Map::new();
    if chance(rng, 2) {
        return Value::Object(term);
    }
    let exprs = rng.usize(0..=2);
    let with_field = exprs == 0 || chance(rng, 25);
    if exprs > 0 {
        term.insert(
            "matchExpressions".into(),
            Value::Array((0..exprs).map(|_| gen_expression(rng)).collect()),
        );
    }
    if with_field {
        let name = if chance(rng, 85) {
            format!("node-{}", rng.usize(0..node_count))
        } else {
            "node-x".into()
        };
        term.insert(
            "matchFields".into(),
            json!([{"key": "metadata.name", "operator": pick(rng, &["In", "NotIn"]), "values": [name]}]),
        );
    }
    Value::Object(term)
}

fn gen_toleration(rng: &mut fastrand::Rng) -> Value {
    let key = pick(rng, &TAINT_KEYS);
    let value = pick(rng, &TAINT_VALUES);
    let mut t = match rng.u32(0..4) {
        0 => json!({"operator": "Exists"}),
        1 => json!({"key": key, "operator": "Exists"}),
        2 => json!({"key": key, "operator": "Equal", "value": value}),
        _ => json!({"key": key, "value": value}),
    };
    let effect = pick(rng, &["", "", "NoSchedule", "NoExecute", "PreferNoSchedule"]);
    if !effect.is_empty() {
        t["effect"] = json!(effect);
    }
    t
}

fn gen_budget(rng: &mut fastrand::Rng, non_zero: bool) -> IntOrString {
    match (non_zero, rng.u32(0..2)) {
        (true, 0) => IntOrString::Int(rng.i64(1..=3)),
        (true, _) => IntOrString::String(format!("{}%", pick(rng, &[1, 10, 25, 33, 50, 100]))),
        (false, 0) => IntOrString::Int(0),
        (false, _) => IntOrString::String("0%".into()),
    }
}

fn gen_strategy(rng: &mut fastrand::Rng) -> UpdateStrategy {
    let params = |mu, ms| {
        UpdateStrategy::RollingUpdate(Some(RollingUpdateParams {
            max_unavailable: mu,
            max_surge: ms,
        }))
    };
    match rng.u32(0..100) {
        0..=29 => UpdateStrategy::OnDelete,
        30..=31 => UpdateStrategy::Other("Foo".into()),
        32..=34 => UpdateStrategy::RollingUpdate(None),
        35..=64 => {
            let surge = match rng.u32(0..3) {
                0 => None,
                _ => Some(gen_budget(rng, false)),
            };
            params(Some(gen_budget(rng, true)), surge)
        }
        65..=87 => params(Some(gen_budget(rng, false)), Some(gen_budget(rng, true))),
        88..=92 => params(Some(gen_budget(rng, false)), Some(gen_budget(rng, false))),
        93..=97 => {
            let bad = IntOrString::String(pick(rng, &["ten", "ten%", "5"]).to_string());
            if chance(rng, 50) {
                {
                    let non_zero = rng.bool();
                    params(Some(bad), Some(gen_budget(rng, non_zero)))
                }
            } else {
                {
                    let non_zero = rng.bool();
                    params(Some(gen_budget(rng, non_zero)), Some(bad))
                }
            }
        }
        _ => {
            let non_zero = rng.bool();
            params(None, Some(gen_budget(rng, non_zero)))
        }
    }
}

#[derive(Clone, Copy)]
enum Tweak {
    /// creationTimestamp absent (Go's zero time).
    NoCreationTimestamp,
    /// Neither spec.nodeName nor a pinning affinity.
    NoTarget,
}

fn gen_pod(
    rng: &mut fastrand::Rng,
    name: &str,
    target: &str,
    generation: i64,
    hash: &str,
    tweaks: &mut Vec<(String, Tweak)>,
) -> PodBuilder {
    let mut p = pod(name);
    p = if chance(rng, 85) {
        p.on(target)
    } else {
        p.pinned_to(target)
    };
    let gen_label = generation.to_string();
    p = match rng.u32(0..20) {
        0..=6 => p.new_revision(),
        7..=13 => p.old(),
        14..=15 => p.unlabelled(),
        16..=17 => p
            .unlabelled()
            .label(REVISION_HASH_LABEL, OLD_HASH)
            .label(TEMPLATE_GENERATION_LABEL, &gen_label),
        18 => p.unlabelled().label(REVISION_HASH_LABEL, hash),
        _ => p.unlabelled().label(TEMPLATE_GENERATION_LABEL, &gen_label),
    };
    let ready_offset = pick(rng, &[0i64, 1, 4, 5, 6, 29, 30, 31, 3600, -5]);
    p = match rng.u32(0..20) {
        0..=3 => p.pending(),
        4..=7 => p.not_ready(),
        8 => p.ready_without_time(),
        _ => p.ready_since(ago(ready_offset)),
    };
    let phase = match rng.u32(0..50) {
        0..=26 => PodPhase::Running,
        27..=32 => PodPhase::Pending,
        33..=40 => PodPhase::Failed,
        41..=44 => PodPhase::Succeeded,
        45..=47 => PodPhase::Other,
        _ => PodPhase::Unknown,
    };
    p = p.phase(phase);
    if chance(rng, 12) {
        p = p.terminating();
    }
    if chance(rng, 5) {
        tweaks.push((name.into(), Tweak::NoCreationTimestamp));
    } else {
        p = p.created(ago(pick(rng, &[7200, 3600, 600, 600, 60, 5])));
    }
    match rng.u32(0..100) {
        0..=5 => p.orphan(),
        6..=7 => p.owned_by_other(),
        8..=9 => p.not_matching_selector(),
        _ => p,
    }
}

/// Applies the model's manage writes to the snapshot (deleted pods vanish, created pods appear, running or
/// pending, of a random revision) a few times over, so that manage usually has nothing left to do.
fn settle(rng: &mut fastrand::Rng, snapshot: &mut Snapshot, generation: i64) {
    let hash = current_hash(&snapshot.daemon_set);
    for round in 0..4 {
        let manage = World::new(snapshot).manage();
        if manage.is_empty() {
            return;
        }
        let gone: BTreeSet<String> = manage
            .deletes
            .iter()
            .cloned()
            .chain(manage.delete_groups.iter().flat_map(|g| g.from.iter().cloned()))
            .collect();
        snapshot.pods.retain(|p| !gone.contains(p.name.as_str()));
        for (i, node) in manage.creates.iter().enumerate() {
            let mut labels = snapshot
                .daemon_set
                .selector
                .as_ref()
                .expect("selector")
                .match_labels
                .clone();
            match rng.u32(0..4) {
                0 | 1 => {
                    labels.insert(REVISION_HASH_LABEL, hash.as_str());
                    labels.insert(TEMPLATE_GENERATION_LABEL, generation.to_string());
                }
                2 => {
                    labels.insert(REVISION_HASH_LABEL, OLD_HASH);
                    labels.insert(TEMPLATE_GENERATION_LABEL, (generation - 1).to_string());
                }
                _ => {}
            }
            let name = format!("{}-s{round}-{i}", pick(rng, &["a", "b", "c", "d"]));
            let ready = match rng.u32(0..4) {
                0 => None,
                1 => Some(ReadyCondition {
                    is_true: false,
                    last_transition_time: Some(ago(60)),
                }),
                _ => Some(ReadyCondition {
                    is_true: true,
                    last_transition_time: Some(ago(pick(rng, &[0, 5, 30, 31, 3600]))),
                }),
            };
            let owner = snapshot.daemon_set.clone();
            snapshot.pods.push(Arc::new(PodView {
                uid: format!("uid-{name}").into(),
                name: name.into(),
                labels,
                controller: Some(ControllerRef {
                    api_version: "apps/v1".into(),
                    kind: "DaemonSet".into(),
                    name: owner.name.as_str().into(),
                    uid: owner.uid.as_str().into(),
                }),
                node_name: node.as_str().into(),
                target_node: Some(node.as_str().into()),
                phase: pick(rng, &[PodPhase::Running, PodPhase::Running, PodPhase::Pending]),
                ready,
                creation_timestamp: Some(ago(pick(rng, &[600, 60, 5]))),
                deletion_timestamp: None,
            }));
        }
    }
}

struct Generated {
    snapshot: Snapshot,
    /// Whether the stored status counts are to be set to the model's counts (exercises the write skip).
    stored_counts_current: bool,
}

fn generate(seed: u64) -> Generated {
    let rng = &mut fastrand::Rng::with_seed(seed);
    let nodes = gen_nodes(rng);
    let node_count = nodes.len();

    let mut ds = daemon_set("ds");
    if chance(rng, 30) {
        ds = ds.node_selector("zone", pick(rng, &["a", "b", "c"]));
        if chance(rng, 30) {
            ds = ds.node_selector("disk", pick(rng, &["ssd", "hdd"]));
        }
    }
    if chance(rng, 35) {
        let terms: Vec<Value> = (0..rng.usize(1..=2)).map(|_| gen_term(rng, node_count)).collect();
        ds = ds.required_affinity(Value::Array(terms));
    } else if chance(rng, 2) {
        ds = ds.required_affinity(json!([]));
    }
    if chance(rng, 40) {
        let tolerations: Vec<Value> = (0..rng.usize(1..=3)).map(|_| gen_toleration(rng)).collect();
        ds = ds.tolerations(Value::Array(tolerations));
    }
    if chance(rng, 20) {
        ds = ds.host_network();
    }
    if chance(rng, 3) {
        ds = ds.template_node_name(&format!("node-{}", rng.usize(0..node_count)));
    }
    ds = ds.strategy(gen_strategy(rng));
    ds = ds.min_ready_seconds(pick(rng, &[0, 5, 30]));
    let generation = rng.i64(1..=4);
    ds = ds.generation(generation);
    // The template-generation annotation: 0..=2 absent, 3 unparsable, otherwise the generation.
    let annotation = rng.u32(0..20);
    if annotation <= 2 {
        ds = ds.without_template_generation();
    }
    let observed = pick(rng, &[0, generation - 1, generation, generation, generation + 1]);
    let stored = counts([0, 1, 2, 3, 4, 5, 6].map(|_| rng.i32(0..=3)));
    ds = ds.status(stored, observed);

    let mut c = cluster(ds).nodes(nodes);
    let hash = current_hash(c.daemon_set());
    let mut tweaks = Vec::new();
    let mut pods = Vec::new();
    let mut serial = 0;
    let mut next_name = |rng: &mut fastrand::Rng| {
        serial += 1;
        format!("{}-{serial}", pick(rng, &["a", "b", "c", "d"]))
    };
    for i in 0..node_count {
        let per_node = match rng.u32(0..20) {
            0..=4 => 0,
            5..=13 => 1,
            14..=17 => 2,
            _ => 3,
        };
        for _ in 0..per_node {
            let name = next_name(rng);
            pods.push(gen_pod(
                rng,
                &name,
                &format!("node-{i}"),
                generation,
                &hash,
                &mut tweaks,
            ));
        }
    }
    if chance(rng, 20) {
        for _ in 0..rng.usize(1..=2) {
            let name = next_name(rng);
            let target = pick(rng, &["gone-a", "gone-b"]);
            pods.push(gen_pod(rng, &name, target, generation, &hash, &mut tweaks));
        }
    }
    if chance(rng, 3) {
        let name = next_name(rng);
        pods.push(gen_pod(rng, &name, "node-0", generation, &hash, &mut tweaks));
        tweaks.push((name, Tweak::NoTarget));
    }
    c = c.pods(pods);
    let mut snapshot = c.snapshot();

    if annotation == 3 {
        snapshot
            .daemon_set
            .annotations
            .insert(TEMPLATE_GENERATION_ANNOTATION, "abc");
    }
    for (name, tweak) in tweaks {
        let pod = snapshot
            .pods
            .iter_mut()
            .find(|p| p.name == name)
            .expect("tweaked pod exists");
        let pod = Arc::make_mut(pod);
        match tweak {
            Tweak::NoCreationTimestamp => pod.creation_timestamp = None,
            Tweak::NoTarget => {
                pod.node_name.clear();
                pod.target_node = None;
            }
        }
    }
    // Half the seeds settle the cluster first, so that manage has nothing left to do and the rolling update runs.
    if chance(rng, 50) {
        settle(rng, &mut snapshot, generation);
    }
    // Order does not change the plan (snapshot contract): shuffle sometimes.
    if chance(rng, 30) {
        rng.shuffle(&mut snapshot.pods);
    }
    if chance(rng, 20) {
        let mut nodes = snapshot.nodes.to_vec();
        rng.shuffle(&mut nodes);
        snapshot.nodes = Arc::from(nodes);
    }
    snapshot.expectations_satisfied = !chance(rng, 4);
    Generated {
        snapshot,
        stored_counts_current: chance(rng, 40),
    }
}

// ================================================================ reporting

fn describe(snapshot: &Snapshot) -> String {
    let ds = &snapshot.daemon_set;
    let now = snapshot.now;
    let secs = |t: Option<Timestamp>| t.map_or("zero".into(), |t| format!("-{}s", (now - t).num_seconds()));
    let hash = current_hash(ds);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "  ds: generation {}, annotations {:?}, strategy {:?}, minReadySeconds {}, status {:?}",
        ds.generation, ds.annotations, ds.update_strategy, ds.min_ready_seconds, ds.status
    );
    let spec = &ds.template["spec"];
    let _ = writeln!(
        out,
        "  template: nodeName {} nodeSelector {} affinity {} tolerations {} hostNetwork {}",
        spec["nodeName"], spec["nodeSelector"], spec["affinity"], spec["tolerations"], spec["hostNetwork"]
    );
    for n in snapshot.nodes.iter() {
        let taints: Vec<String> = n
            .taints
            .iter()
            .map(|t| format!("{}={}:{}", t.key, t.value, t.effect))
            .collect();
        let _ = writeln!(out, "  node {}: labels {:?} taints {:?}", n.name, n.labels, taints);
    }
    for p in &snapshot.pods {
        let revision = match p.labels.get(REVISION_HASH_LABEL) {
            Some(h) if h == hash => "new-hash",
            Some(_) => "old-hash",
            None => "no-hash",
        };
        let ready = p.ready.map_or("ready:absent".into(), |c| {
            format!("ready:{}@{}", c.is_true, secs(c.last_transition_time))
        });
        let owner = p
            .controller
            .as_ref()
            .map_or("orphan".to_string(), |c| format!("{}/{}", c.kind, c.name));
        let _ = writeln!(
            out,
            "  pod {}: target {:?} nodeName {:?} {revision} gen {:?} {:?} {ready} created {} {} owner {owner} selector-labels {:?}",
            p.name,
            p.target_node.as_deref(),
            p.node_name.as_str(),
            p.labels.get(TEMPLATE_GENERATION_LABEL),
            p.phase,
            secs(p.creation_timestamp),
            if p.deletion_timestamp.is_some() { "DELETING" } else { "" },
            p.labels.get("app"),
        );
    }
    out
}

// ================================================================ the test

/// Which paths of the model a seed exercises (for the generator's coverage check).
fn coverage(snapshot: &Snapshot, expected: &Expected) -> Vec<(&'static str, bool)> {
    let w = &expected.writes;
    let by = |name| w.by == name && !w.is_empty();
    let surge = allows_surge(&snapshot.daemon_set.update_strategy);
    let map_order_choice = |groups: &[Group]| groups.iter().any(|g| g.take > 0 && g.take < g.from.len());
    vec![
        ("manage writes", by("manage")),
        ("manage writes with surge", by("manage") && surge),
        (
            "manage deletes one failed pod of several",
            by("manage") && w.delete_groups.iter().any(|g| g.from.len() > 1),
        ),
        ("rolling update idle", w.by == "rolling update" && w.is_empty()),
        ("rolling update deletes", by("rolling update") && !surge),
        (
            "rolling update surges",
            by("rolling update")
                && surge
                && (w.creates.len() + w.create_groups.iter().map(|g| g.take).sum::<usize>()) > 0,
        ),
        (
            "rolling update surge deletes",
            by("rolling update") && surge && !w.deletes.is_empty(),
        ),
        (
            "rolling update sunsets",
            w.delete_groups.iter().any(|g| g.take > 0) && surge,
        ),
        (
            "rolling update map-order choice",
            map_order_choice(&w.delete_groups) || map_order_choice(&w.create_groups),
        ),
        ("rolling update error", expected.rolling_error.is_some()),
        (
            "rolling update error: missing node",
            expected
                .rolling_error
                .as_ref()
                .is_some_and(|e| e.contains("couldn't get node")),
        ),
        ("expectations pending", !snapshot.expectations_satisfied),
        ("status write skipped", !expected.changed),
        (
            "some pods available, some not",
            expected.counts.number_available > 0 && expected.counts.number_unavailable > 0,
        ),
        ("misscheduled", expected.counts.number_misscheduled > 0),
    ]
}

#[test]
fn differential_planner_matches_an_independent_model_of_one_upstream_sync() {
    let mut failures = Vec::new();
    let mut exercised = BTreeMap::<&str, usize>::new();
    let seeds = env_u64("DIFFERENTIAL_SEEDS", SEEDS);
    let first = env_u64("DIFFERENTIAL_FIRST_SEED", 0);
    for seed in first..first + seeds {
        let Generated {
            mut snapshot,
            stored_counts_current,
        } = generate(seed);
        if stored_counts_current {
            let counts = model(&snapshot).counts;
            snapshot.daemon_set.status.counts = counts;
        }
        let expected = model(&snapshot);
        for (path, hit) in coverage(&snapshot, &expected) {
            *exercised.entry(path).or_default() += usize::from(hit);
        }
        if let Err(problem) = compare(&snapshot, &expected) {
            failures.push(format!(
                "seed {seed}: {problem}\n  model: {expected:?}\n{}",
                describe(&snapshot)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {seeds} seeds differ (rerun one with DIFFERENTIAL_FIRST_SEED=<seed> DIFFERENTIAL_SEEDS=1); first ones:\n{}",
        failures.len(),
        failures.iter().take(3).cloned().collect::<Vec<_>>().join("\n")
    );

    // The generator must reach every path the comparison is about (checked on full runs only).
    eprintln!("paths exercised in {seeds} seeds: {exercised:?}");
    for (path, count) in exercised.iter().filter(|_| seeds >= 1000) {
        assert!(
            *count * 300 >= seeds as usize,
            "generator too narrow: {path} exercised {count} times"
        );
    }
}
