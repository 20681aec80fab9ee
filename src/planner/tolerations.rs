//! Tolerations: the implicit daemon tolerations and taint toleration (pure).

use crate::snapshot::Taint;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Toleration {
    pub key: String,
    /// `Exists`, `Equal` or empty (Equal).
    pub operator: String,
    pub value: String,
    /// Empty matches every effect.
    pub effect: String,
    pub toleration_seconds: Option<i64>,
}

pub const NO_SCHEDULE: &str = "NoSchedule";
pub const NO_EXECUTE: &str = "NoExecute";

impl Toleration {
    fn exists(key: &str, effect: &str) -> Self {
        Toleration {
            key: key.into(),
            operator: "Exists".into(),
            value: String::new(),
            effect: effect.into(),
            toleration_seconds: None,
        }
    }

    /// Upstream: core/v1 toleration.go ToleratesTaint. The alpha numeric operators (Gt/Lt,
    /// feature gate TaintTolerationComparisonOperators, off by default) tolerate nothing.
    pub fn tolerates(&self, taint: &Taint) -> bool {
        if !self.effect.is_empty() && self.effect != taint.effect {
            return false;
        }
        if !self.key.is_empty() && self.key != taint.key {
            return false;
        }
        match self.operator.as_str() {
            "" | "Equal" => self.value == taint.value,
            "Exists" => true,
            _ => false,
        }
    }

    /// Upstream: core/v1 toleration.go MatchToleration (tolerationSeconds is not compared).
    fn same_identity(&self, other: &Toleration) -> bool {
        self.key == other.key
            && self.operator == other.operator
            && self.value == other.value
            && self.effect == other.effect
    }
}

/// The tolerations every daemon pod gets, in upstream's order.
/// Upstream: util/daemonset_util.go AddOrUpdateDaemonPodTolerations.
pub fn implicit_daemon_tolerations(host_network: bool) -> Vec<Toleration> {
    let mut implicit = vec![
        Toleration::exists("node.kubernetes.io/not-ready", NO_EXECUTE),
        Toleration::exists("node.kubernetes.io/unreachable", NO_EXECUTE),
        Toleration::exists("node.kubernetes.io/disk-pressure", NO_SCHEDULE),
        Toleration::exists("node.kubernetes.io/memory-pressure", NO_SCHEDULE),
        Toleration::exists("node.kubernetes.io/pid-pressure", NO_SCHEDULE),
        Toleration::exists("node.kubernetes.io/unschedulable", NO_SCHEDULE),
    ];
    if host_network {
        implicit.push(Toleration::exists(
            "node.kubernetes.io/network-unavailable",
            NO_SCHEDULE,
        ));
    }
    implicit
}

/// Template tolerations with the implicit ones added or updated in place.
/// Upstream: pkg/apis/core/v1/helper/helpers.go AddOrUpdateTolerationInPodSpec, applied per implicit toleration.
pub fn daemon_pod_tolerations(template: &[Toleration], host_network: bool) -> Vec<Toleration> {
    let mut tolerations = template.to_vec();
    for implicit in implicit_daemon_tolerations(host_network) {
        if tolerations.contains(&implicit) {
            continue;
        }
        let mut replaced = false;
        for existing in tolerations.iter_mut() {
            if existing.same_identity(&implicit) {
                *existing = implicit.clone();
                replaced = true;
            }
        }
        if !replaced {
            tolerations.push(implicit);
        }
    }
    tolerations
}

/// The first taint with one of `effects` that no toleration tolerates.
/// Upstream: component-helpers scheduling/corev1/helpers.go FindMatchingUntoleratedTaint.
pub fn first_untolerated<'t>(taints: &'t [Taint], tolerations: &[Toleration], effects: &[&str]) -> Option<&'t Taint> {
    taints
        .iter()
        .filter(|taint| effects.contains(&taint.effect.as_str()))
        .find(|taint| !tolerations.iter().any(|toleration| toleration.tolerates(taint)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taint(key: &str, value: &str, effect: &str) -> Taint {
        Taint {
            key: key.into(),
            value: value.into(),
            effect: effect.into(),
        }
    }

    fn toleration(key: &str, operator: &str, value: &str, effect: &str) -> Toleration {
        Toleration {
            key: key.into(),
            operator: operator.into(),
            value: value.into(),
            effect: effect.into(),
            toleration_seconds: None,
        }
    }

    // Mirrors core/v1 toleration_test.go TestTolerationToleratesTaint.
    #[test]
    fn toleration_matches_taints_as_upstream_does() {
        let cases = [
            (toleration("", "Exists", "", ""), taint("any", "v", NO_EXECUTE), true),
            (
                toleration("", "Exists", "", NO_SCHEDULE),
                taint("any", "v", NO_EXECUTE),
                false,
            ),
            (toleration("k", "", "v", ""), taint("k", "v", NO_SCHEDULE), true),
            (
                toleration("k", "Equal", "v", NO_SCHEDULE),
                taint("k", "w", NO_SCHEDULE),
                false,
            ),
            (
                toleration("k", "Equal", "", NO_SCHEDULE),
                taint("k", "", NO_SCHEDULE),
                true,
            ),
            (
                toleration("k", "Exists", "", NO_SCHEDULE),
                taint("other", "", NO_SCHEDULE),
                false,
            ),
            (
                toleration("k", "Gt", "1", NO_SCHEDULE),
                taint("k", "2", NO_SCHEDULE),
                false,
            ),
        ];
        for (toleration, taint, expected) in cases {
            assert_eq!(toleration.tolerates(&taint), expected, "{toleration:?} vs {taint:?}");
        }
    }

    // Mirrors util/daemonset_util_test.go TestAddOrUpdateDaemonPodTolerations-style cases.
    #[test]
    fn implicit_tolerations_replace_matching_ones_and_append_the_rest() {
        let mut with_seconds = toleration("node.kubernetes.io/not-ready", "Exists", "", NO_EXECUTE);
        with_seconds.toleration_seconds = Some(300);
        let equal_unreachable = toleration("node.kubernetes.io/unreachable", "Equal", "", NO_EXECUTE);
        let merged = daemon_pod_tolerations(&[with_seconds, equal_unreachable.clone()], false);
        let keys: Vec<(&str, &str)> = merged.iter().map(|t| (t.key.as_str(), t.operator.as_str())).collect();
        assert_eq!(
            keys,
            vec![
                ("node.kubernetes.io/not-ready", "Exists"),
                ("node.kubernetes.io/unreachable", "Equal"),
                ("node.kubernetes.io/unreachable", "Exists"),
                ("node.kubernetes.io/disk-pressure", "Exists"),
                ("node.kubernetes.io/memory-pressure", "Exists"),
                ("node.kubernetes.io/pid-pressure", "Exists"),
                ("node.kubernetes.io/unschedulable", "Exists"),
            ]
        );
        assert_eq!(
            merged[0].toleration_seconds, None,
            "tolerationSeconds is replaced by the implicit toleration"
        );
        assert_eq!(merged[1], equal_unreachable);
        assert_eq!(
            daemon_pod_tolerations(&[], true).last().map(|t| t.key.as_str()),
            Some("node.kubernetes.io/network-unavailable")
        );
    }
}
