//! Kinds of the named groups from protobuf: events.k8s.io Event, Lease, RBAC, PodDisruptionBudget (no I/O).
//!
//! Go field types, and so which zero values are absent, follow k8s.io/api's types.go of each group.

use k8s_openapi::api::coordination::v1 as coordination;
use k8s_openapi::api::events::v1 as events;
use k8s_openapi::api::policy::v1 as policy;
use k8s_openapi::api::rbac::v1 as rbac;
use k8s_pb::api::coordination::v1 as pb_coordination;
use k8s_pb::api::events::v1 as pb_events;
use k8s_pb::api::policy::v1 as pb_policy;
use k8s_pb::api::rbac::v1 as pb_rbac;
use serde_json::Value;

use super::core::{event_source, object_reference};
use super::meta::{
    condition, int_or_string, label_selector, list, map, micro_time, nonzero, object_meta, required, required_time,
    text, time, try_list,
};
use super::{ProtobufError, message};

pub fn event(raw: &[u8]) -> Result<Value, ProtobufError> {
    const KIND: &str = "Event";
    let pb_events::Event {
        metadata,
        event_time,
        series,
        reporting_controller,
        reporting_instance,
        action,
        reason,
        regarding,
        related,
        note,
        r#type,
        deprecated_source,
        deprecated_first_timestamp,
        deprecated_last_timestamp,
        deprecated_count,
    } = message(KIND, raw)?;
    let series = match series {
        None => None,
        Some(pb_events::EventSeries {
            count,
            last_observed_time,
        }) => {
            let field = "series.lastObservedTime";
            Some(events::EventSeries {
                count: count.unwrap_or_default(),
                last_observed_time: required_time(KIND, field, micro_time(KIND, field, last_observed_time)?)?,
            })
        }
    };
    let event = events::Event {
        metadata: object_meta(KIND, metadata)?,
        event_time: micro_time(KIND, "eventTime", event_time)?,
        series,
        reporting_controller: text(reporting_controller),
        reporting_instance: text(reporting_instance),
        action: text(action),
        reason: text(reason),
        regarding: regarding.map(object_reference),
        related: related.map(object_reference),
        note: text(note),
        type_: text(r#type),
        deprecated_source: deprecated_source.map(event_source),
        deprecated_first_timestamp: time(KIND, "deprecatedFirstTimestamp", deprecated_first_timestamp)?,
        deprecated_last_timestamp: time(KIND, "deprecatedLastTimestamp", deprecated_last_timestamp)?,
        deprecated_count: nonzero(deprecated_count),
    };
    super::json(KIND, &event)
}

pub fn lease(raw: &[u8]) -> Result<Value, ProtobufError> {
    const KIND: &str = "Lease";
    let pb_coordination::Lease { metadata, spec } = message(KIND, raw)?;
    let spec = match spec {
        None => None,
        // Every LeaseSpec field is a Go pointer: what was sent is kept.
        Some(pb_coordination::LeaseSpec {
            holder_identity,
            lease_duration_seconds,
            acquire_time,
            renew_time,
            lease_transitions,
            strategy,
            preferred_holder,
        }) => Some(coordination::LeaseSpec {
            holder_identity,
            lease_duration_seconds,
            acquire_time: micro_time(KIND, "spec.acquireTime", acquire_time)?,
            renew_time: micro_time(KIND, "spec.renewTime", renew_time)?,
            lease_transitions,
            strategy,
            preferred_holder,
        }),
    };
    let lease = coordination::Lease {
        metadata: object_meta(KIND, metadata)?,
        spec,
    };
    super::json(KIND, &lease)
}

fn policy_rule(value: pb_rbac::PolicyRule) -> rbac::PolicyRule {
    let pb_rbac::PolicyRule {
        verbs,
        api_groups,
        resources,
        resource_names,
        non_resource_ur_ls,
    } = value;
    rbac::PolicyRule {
        verbs,
        api_groups: list(api_groups, |g| g),
        resources: list(resources, |r| r),
        resource_names: list(resource_names, |n| n),
        non_resource_urls: list(non_resource_ur_ls, |u| u),
    }
}

fn subject(value: pb_rbac::Subject) -> rbac::Subject {
    let pb_rbac::Subject {
        kind,
        api_group,
        name,
        namespace,
    } = value;
    rbac::Subject {
        kind: required(kind),
        api_group: text(api_group),
        name: required(name),
        namespace: text(namespace),
    }
}

fn role_ref(value: Option<pb_rbac::RoleRef>) -> rbac::RoleRef {
    let pb_rbac::RoleRef { api_group, kind, name } = value.unwrap_or_default();
    rbac::RoleRef {
        api_group: required(api_group),
        kind: required(kind),
        name: required(name),
    }
}

pub fn role(raw: &[u8]) -> Result<Value, ProtobufError> {
    const KIND: &str = "Role";
    let pb_rbac::Role { metadata, rules } = message(KIND, raw)?;
    let role = rbac::Role {
        metadata: object_meta(KIND, metadata)?,
        rules: list(rules, policy_rule),
    };
    super::json(KIND, &role)
}

pub fn cluster_role(raw: &[u8]) -> Result<Value, ProtobufError> {
    const KIND: &str = "ClusterRole";
    let pb_rbac::ClusterRole {
        metadata,
        rules,
        aggregation_rule,
    } = message(KIND, raw)?;
    let aggregation_rule =
        aggregation_rule.map(
            |pb_rbac::AggregationRule { cluster_role_selectors }| rbac::AggregationRule {
                cluster_role_selectors: list(cluster_role_selectors, label_selector),
            },
        );
    let role = rbac::ClusterRole {
        metadata: object_meta(KIND, metadata)?,
        rules: list(rules, policy_rule),
        aggregation_rule,
    };
    super::json(KIND, &role)
}

pub fn role_binding(raw: &[u8]) -> Result<Value, ProtobufError> {
    const KIND: &str = "RoleBinding";
    let pb_rbac::RoleBinding {
        metadata,
        subjects,
        role_ref: reference,
    } = message(KIND, raw)?;
    let binding = rbac::RoleBinding {
        metadata: object_meta(KIND, metadata)?,
        subjects: list(subjects, subject),
        role_ref: role_ref(reference),
    };
    super::json(KIND, &binding)
}

pub fn cluster_role_binding(raw: &[u8]) -> Result<Value, ProtobufError> {
    const KIND: &str = "ClusterRoleBinding";
    let pb_rbac::ClusterRoleBinding {
        metadata,
        subjects,
        role_ref: reference,
    } = message(KIND, raw)?;
    let binding = rbac::ClusterRoleBinding {
        metadata: object_meta(KIND, metadata)?,
        subjects: list(subjects, subject),
        role_ref: role_ref(reference),
    };
    super::json(KIND, &binding)
}

pub fn pod_disruption_budget(raw: &[u8]) -> Result<Value, ProtobufError> {
    const KIND: &str = "PodDisruptionBudget";
    let pb_policy::PodDisruptionBudget { metadata, spec, status } = message(KIND, raw)?;
    let spec = spec.map(
        |pb_policy::PodDisruptionBudgetSpec {
             min_available,
             selector,
             max_unavailable,
             unhealthy_pod_eviction_policy,
         }| policy::PodDisruptionBudgetSpec {
            min_available: min_available.map(int_or_string),
            selector: selector.map(label_selector),
            max_unavailable: max_unavailable.map(int_or_string),
            unhealthy_pod_eviction_policy,
        },
    );
    let status = match status {
        None => None,
        Some(pb_policy::PodDisruptionBudgetStatus {
            observed_generation,
            disrupted_pods,
            disruptions_allowed,
            current_healthy,
            desired_healthy,
            expected_pods,
            conditions,
        }) => {
            let mut disrupted = std::collections::BTreeMap::new();
            for (pod, since) in disrupted_pods {
                if let Some(since) = time(KIND, "status.disruptedPods", Some(since))? {
                    disrupted.insert(pod, since);
                }
            }
            Some(policy::PodDisruptionBudgetStatus {
                observed_generation: nonzero(observed_generation),
                disrupted_pods: map(disrupted),
                disruptions_allowed: disruptions_allowed.unwrap_or_default(),
                current_healthy: current_healthy.unwrap_or_default(),
                desired_healthy: desired_healthy.unwrap_or_default(),
                expected_pods: expected_pods.unwrap_or_default(),
                conditions: try_list(conditions, |c| condition(KIND, c))?,
            })
        }
    };
    let budget = policy::PodDisruptionBudget {
        metadata: object_meta(KIND, metadata)?,
        spec,
        status,
    };
    super::json(KIND, &budget)
}
