//! What the API server does to an object before storing it (no I/O; the caller supplies time and names).
//!
//! Metadata, defaults, generation bumps and status/spec separation; validation is in `validation.rs`.
//! Follows kube-apiserver's packages pkg/apis/apps/v1 and pkg/apis/core/v1 (defaults) and
//! pkg/registry/apps/daemonset (the DaemonSet strategy: generation and template-generation bumps,
//! status handling).

use serde_json::{Map, Value, json};

use super::errors::ApiError;
use super::pod_admission::admit_pod;
use super::resources::Resource;
use super::validation::{go_selector_json, validate};

const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
pub const TEMPLATE_GENERATION_ANNOTATION: &str = "deprecated.daemonset.template.generation";

/// A generateName suffix: five characters from apimachinery's safe alphabet.
pub fn random_suffix(random: &mut fastrand::Rng) -> String {
    (0..5)
        .map(|_| char::from(NAME_ALPHABET[random.usize(..NAME_ALPHABET.len())]))
        .collect()
}

fn object_mut(value: &mut Value) -> &mut Map<String, Value> {
    if !value.is_object() {
        *value = json!({});
    }
    match value {
        Value::Object(map) => map,
        _ => unreachable!("made an object above"),
    }
}

fn child<'v>(parent: &'v mut Value, key: &str) -> &'v mut Map<String, Value> {
    object_mut(object_mut(parent).entry(key).or_insert_with(|| json!({})))
}

fn set_default(map: &mut Map<String, Value>, key: &str, value: Value) {
    if map.get(key).is_none_or(Value::is_null) {
        map.insert(key.into(), value);
    }
}

/// Pod spec defaults (core/v1 SetDefaults_PodSpec, SetDefaults_Container).
fn default_pod_spec(spec: &mut Value) {
    let spec = object_mut(spec);
    set_default(spec, "restartPolicy", json!("Always"));
    set_default(spec, "dnsPolicy", json!("ClusterFirst"));
    set_default(spec, "schedulerName", json!("default-scheduler"));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default(spec, "securityContext", json!({}));
    // core/v1 conversion: `serviceAccount` is the deprecated alias of `serviceAccountName`.
    match (
        spec.get("serviceAccountName").cloned(),
        spec.get("serviceAccount").cloned(),
    ) {
        (Some(Value::String(name)), _) if !name.is_empty() => {
            spec.insert("serviceAccount".into(), json!(name));
        }
        (_, Some(Value::String(alias))) if !alias.is_empty() => {
            spec.insert("serviceAccountName".into(), json!(alias));
        }
        _ => {}
    }
    for list in ["containers", "initContainers"] {
        if let Some(Value::Array(containers)) = spec.get_mut(list) {
            for container in containers {
                let image = container
                    .get("image")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let container = object_mut(container);
                let tag = image
                    .rsplit('/')
                    .next()
                    .and_then(|last| last.split_once(':'))
                    .map(|(_, tag)| tag);
                let pull = if image.contains('@') || tag.is_some_and(|t| t != "latest") {
                    "IfNotPresent"
                } else {
                    "Always"
                };
                set_default(container, "imagePullPolicy", json!(pull));
                set_default(container, "terminationMessagePath", json!("/dev/termination-log"));
                set_default(container, "terminationMessagePolicy", json!("File"));
                set_default(container, "resources", json!({}));
                if let Some(Value::Array(ports)) = container.get_mut("ports") {
                    for port in ports {
                        set_default(object_mut(port), "protocol", json!("TCP"));
                    }
                }
            }
        }
    }
}

/// apps/v1 SetDefaults_DaemonSet plus the pod template defaults.
fn default_daemon_set(object: &mut Value) {
    let spec = child(object, "spec");
    let strategy = object_mut(spec.entry("updateStrategy").or_insert_with(|| json!({})));
    set_default(strategy, "type", json!("RollingUpdate"));
    if strategy.get("type").and_then(Value::as_str) == Some("RollingUpdate") {
        let rolling = object_mut(strategy.entry("rollingUpdate").or_insert_with(|| json!({})));
        set_default(rolling, "maxUnavailable", json!(1));
        set_default(rolling, "maxSurge", json!(0));
    }
    set_default(spec, "revisionHistoryLimit", json!(10));
    let template = object_mut(spec.entry("template").or_insert_with(|| json!({})));
    let template_metadata = object_mut(template.entry("metadata").or_insert_with(|| json!({})));
    // kube-apiserver ≥ 1.33 omits a zero template creationTimestamp (`omitzero`), including the
    // null that clients built with older Go types send.
    if template_metadata.get("creationTimestamp").is_some_and(Value::is_null) {
        template_metadata.remove("creationTimestamp");
    }
    default_pod_spec(template.entry("spec").or_insert_with(|| json!({})));
}

/// kube-apiserver always serialises a DaemonSetStatus's four counters without `omitempty`
/// (k8s.io/api apps/v1 DaemonSetStatus), so they read 0 from the first response on, and a status
/// write that leaves one out stores 0.
fn complete_daemon_set_status(object: &mut Value) {
    let status = child(object, "status");
    for counter in [
        "currentNumberScheduled",
        "numberMisscheduled",
        "desiredNumberScheduled",
        "numberReady",
    ] {
        set_default(status, counter, json!(0));
    }
}

/// Whether kube-apiserver's strategy for `kind` keeps `metadata.generation` (PrepareForCreate sets
/// it to 1, spec changes bump it); the other kinds served here have none.
fn tracks_generation(kind: &str) -> bool {
    matches!(kind, "DaemonSet" | "Deployment" | "Pod" | "PodDisruptionBudget")
}

/// core/v1 SetDefaults_Namespace: the `kubernetes.io/metadata.name` label is always the name.
fn default_namespace(object: &mut Value, name: &str) {
    let metadata = child(object, "metadata");
    let labels = object_mut(metadata.entry("labels").or_insert_with(|| json!({})));
    labels.insert("kubernetes.io/metadata.name".into(), json!(name));
}

/// core/v1 SetDefaults_Secret: a Secret without a type is Opaque.
fn default_secret(object: &mut Value) {
    set_default(object_mut(object), "type", json!("Opaque"));
}

/// Fills the server-owned metadata and defaults of a new object. `name` is final (generateName resolved).
pub fn prepare_create(
    resource: &'static Resource,
    namespace: &str,
    name: &str,
    mut object: Value,
    uid: &str,
    now: &str,
) -> Result<Value, ApiError> {
    let root = object_mut(&mut object);
    root.insert("apiVersion".into(), json!(resource.api_version()));
    root.insert("kind".into(), json!(resource.kind));
    let metadata = child(&mut object, "metadata");
    metadata.insert("name".into(), json!(name));
    if resource.namespaced {
        metadata.insert("namespace".into(), json!(namespace));
    } else {
        metadata.remove("namespace");
    }
    metadata.insert("uid".into(), json!(uid));
    metadata.insert("creationTimestamp".into(), json!(now));
    if tracks_generation(resource.kind) {
        metadata.insert("generation".into(), json!(1));
    } else {
        metadata.remove("generation");
    }
    for server_owned in [
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "resourceVersion",
        "selfLink",
    ] {
        metadata.remove(server_owned);
    }
    match resource.kind {
        "DaemonSet" => {
            // The DaemonSet strategy's PrepareForCreate: template generation 1, status cleared.
            let metadata = child(&mut object, "metadata");
            let annotations = object_mut(metadata.entry("annotations").or_insert_with(|| json!({})));
            annotations.insert(TEMPLATE_GENERATION_ANNOTATION.into(), json!("1"));
            object_mut(&mut object).insert("status".into(), json!({}));
            complete_daemon_set_status(&mut object);
            default_daemon_set(&mut object);
        }
        "Pod" => {
            default_pod_spec(object_mut(&mut object).entry("spec").or_insert_with(|| json!({})));
            admit_pod(object_mut(&mut object), uid);
            let status = child(&mut object, "status");
            set_default(status, "phase", json!("Pending"));
        }
        "Secret" => default_secret(&mut object),
        "Namespace" => {
            default_namespace(&mut object, name);
            let status = child(&mut object, "status");
            set_default(status, "phase", json!("Active"));
            child(&mut object, "spec")
                .entry("finalizers")
                .or_insert(json!(["kubernetes"]));
        }
        _ => {}
    }
    validate(resource, &object)?;
    Ok(object)
}

/// Checks a `metadata.resourceVersion` precondition carried by an update or patch.
pub fn check_precondition(resource: &Resource, current: &Value, requested: &Value) -> Result<(), ApiError> {
    let name = current
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match requested.pointer("/metadata/resourceVersion").and_then(Value::as_str) {
        Some(wanted) if !wanted.is_empty() => {
            let have = current
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if wanted != have {
                return Err(ApiError::stale(resource, name));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The object to store for an update of `current` with `requested` (already patched, if a patch).
/// `status_only`: a write to the status subresource (only status changes); otherwise status is kept.
pub fn prepare_update(
    resource: &'static Resource,
    current: &Value,
    mut requested: Value,
    status_only: bool,
) -> Result<Value, ApiError> {
    let name = current
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    check_uid_precondition(resource, &name, current, &requested)?;
    if status_only {
        let mut updated = current.clone();
        updated["status"] = requested.get("status").cloned().unwrap_or(json!({}));
        if resource.kind == "DaemonSet" {
            complete_daemon_set_status(&mut updated);
        }
        return Ok(updated);
    }
    let root = object_mut(&mut requested);
    root.insert("apiVersion".into(), json!(resource.api_version()));
    root.insert("kind".into(), json!(resource.kind));
    // Server-owned metadata stays as stored.
    for field in [
        "uid",
        "creationTimestamp",
        "namespace",
        "name",
        "deletionTimestamp",
        "generation",
    ] {
        match current.get("metadata").and_then(|m| m.get(field)) {
            Some(value) => {
                child(&mut requested, "metadata").insert(field.into(), value.clone());
            }
            None => {
                child(&mut requested, "metadata").remove(field);
            }
        }
    }
    if resource.has_status && resource.kind != "Namespace" {
        match current.get("status") {
            Some(status) => object_mut(&mut requested).insert("status".into(), status.clone()),
            None => object_mut(&mut requested).remove("status"),
        };
    }
    if resource.kind == "Secret" {
        default_secret(&mut requested);
    }
    if resource.kind == "Namespace" {
        default_namespace(&mut requested, &name);
    }
    if resource.kind == "DaemonSet" {
        default_daemon_set(&mut requested);
    }
    validate(resource, &requested)?;
    if resource.kind == "DaemonSet" {
        if current.pointer("/spec/selector") != requested.pointer("/spec/selector") {
            return Err(ApiError::invalid(
                resource,
                &name,
                &[(
                    "spec.selector".into(),
                    format!(
                        "Invalid value: {}: field is immutable",
                        go_selector_json(requested.pointer("/spec/selector").unwrap_or(&Value::Null))
                    ),
                )],
            ));
        }
        bump_daemon_set_generations(current, &mut requested);
    } else if tracks_generation(resource.kind)
        && current.get("spec") != requested.get("spec")
        && current.get("spec").is_some()
    {
        let generation = current
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        requested["metadata"]["generation"] = json!(generation + 1);
    }
    Ok(requested)
}

/// kube-apiserver (registry/generic Store.Update): a uid in the request is a precondition.
fn check_uid_precondition(resource: &Resource, name: &str, current: &Value, requested: &Value) -> Result<(), ApiError> {
    let requested_uid = requested
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let current_uid = current
        .pointer("/metadata/uid")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if !requested_uid.is_empty() && requested_uid != current_uid {
        let why =
            format!("Precondition failed: UID in precondition: {requested_uid}, UID in object meta: {current_uid}");
        return Err(ApiError::conflict(resource, name, &why));
    }
    Ok(())
}

/// The DaemonSet strategy's PrepareForUpdate: a template change bumps both generations; other spec
/// changes only generation.
fn bump_daemon_set_generations(current: &Value, requested: &mut Value) {
    let generation = current
        .pointer("/metadata/generation")
        .and_then(Value::as_i64)
        .unwrap_or(1);
    let template_generation = current
        .pointer(&format!(
            "/metadata/annotations/{}",
            TEMPLATE_GENERATION_ANNOTATION.replace('/', "~1")
        ))
        .and_then(Value::as_str)
        .and_then(|g| g.parse::<i64>().ok())
        .unwrap_or(1);
    let template_changed = current.pointer("/spec/template") != requested.pointer("/spec/template");
    let spec_changed = current.get("spec") != requested.get("spec");
    let (generation, template_generation) = match (template_changed, spec_changed) {
        (true, _) => (generation + 1, template_generation + 1),
        (false, true) => (generation + 1, template_generation),
        (false, false) => (generation, template_generation),
    };
    requested["metadata"]["generation"] = json!(generation);
    if !requested["metadata"].get("annotations").is_some_and(Value::is_object) {
        requested["metadata"]["annotations"] = json!({});
    }
    requested["metadata"]["annotations"][TEMPLATE_GENERATION_ANNOTATION] = json!(template_generation.to_string());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::resources::find;

    fn ds(body: Value) -> Result<Value, ApiError> {
        let resource = find("apps", "v1", "daemonsets").expect("served");
        prepare_create(resource, "default", "foo", body, "uid-1", "2026-11-25T12:00:00Z")
    }

    fn minimal() -> Value {
        json!({"spec": {"selector": {"matchLabels": {"app": "foo"}},
                        "template": {"metadata": {"labels": {"app": "foo"}}, "spec": {"containers": [{"name": "c", "image": "img:1"}]}}}})
    }

    #[test]
    fn a_created_daemon_set_gets_the_api_server_defaults() {
        let created = ds(minimal()).expect("valid");
        assert_eq!(
            created["spec"]["updateStrategy"],
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}})
        );
        assert_eq!(created["spec"]["revisionHistoryLimit"], 10);
        assert_eq!(created["metadata"]["annotations"][TEMPLATE_GENERATION_ANNOTATION], "1");
        assert_eq!(created["metadata"]["generation"], 1);
        assert_eq!(
            created["spec"]["template"]["metadata"].get("creationTimestamp"),
            None,
            "omitted, as kube-apiserver 1.33 and later omit it"
        );
        assert_eq!(
            created["spec"]["template"]["spec"]["containers"][0]["imagePullPolicy"],
            "IfNotPresent"
        );
        assert_eq!(created["spec"]["template"]["spec"]["dnsPolicy"], "ClusterFirst");
    }

    #[test]
    fn a_daemon_set_status_always_carries_its_four_required_counters() {
        let created = ds(minimal()).expect("valid");
        assert_eq!(
            created["status"],
            json!({"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0, "numberReady": 0})
        );
        let resource = find("apps", "v1", "daemonsets").expect("served");
        let partial = json!({"metadata": {"name": "foo"}, "status": {"numberReady": 2, "observedGeneration": 1}});
        let written = prepare_update(resource, &created, partial, true).expect("valid");
        assert_eq!(
            written["status"],
            json!({"currentNumberScheduled": 0, "numberMisscheduled": 0, "desiredNumberScheduled": 0,
                   "numberReady": 2, "observedGeneration": 1}),
            "a status write that leaves a counter out stores 0"
        );
    }

    #[test]
    fn invalid_daemon_sets_are_rejected_with_causes() {
        let mut mismatched = minimal();
        mismatched["spec"]["selector"] = json!({"matchLabels": {"app": "bar"}});
        let mut both = minimal();
        both["spec"]["updateStrategy"] =
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": "10%"}});
        let mut bad_percent = minimal();
        bad_percent["spec"]["updateStrategy"] =
            json!({"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "ten"}});
        for (name, body, field) in [
            ("selector mismatch", mismatched, "spec.template.metadata.labels"),
            ("both budgets", both, "spec.updateStrategy.rollingUpdate.maxUnavailable"),
            (
                "bad intstr",
                bad_percent,
                "spec.updateStrategy.rollingUpdate.maxUnavailable",
            ),
        ] {
            let error = ds(body).expect_err(name);
            assert_eq!(error.code, 422, "{name}");
            assert!(
                error.to_status()["details"]["causes"][0]["field"] == field,
                "{name}: {:?}",
                error.to_status()
            );
        }
    }

    #[test]
    fn template_changes_bump_generation_and_template_generation() {
        let resource = find("apps", "v1", "daemonsets").expect("served");
        let current = ds(minimal()).expect("valid");
        let mut changed = current.clone();
        changed["spec"]["template"]["spec"]["containers"][0]["image"] = json!("img:2");
        let updated = prepare_update(resource, &current, changed, false).expect("valid");
        assert_eq!(
            (
                updated["metadata"]["generation"].clone(),
                updated["metadata"]["annotations"][TEMPLATE_GENERATION_ANNOTATION].clone()
            ),
            (json!(2), json!("2"))
        );
        let mut other = current.clone();
        other["spec"]["minReadySeconds"] = json!(5);
        let updated = prepare_update(resource, &current, other, false).expect("valid");
        assert_eq!(
            (
                updated["metadata"]["generation"].clone(),
                updated["metadata"]["annotations"][TEMPLATE_GENERATION_ANNOTATION].clone()
            ),
            (json!(2), json!("1"))
        );
        let mut relabelled = current.clone();
        relabelled["metadata"]["labels"] = json!({"x": "y"});
        let updated = prepare_update(resource, &current, relabelled, false).expect("valid");
        assert_eq!(
            updated["metadata"]["generation"], 1,
            "metadata-only changes bump nothing"
        );
    }

    #[test]
    fn a_uid_in_an_update_is_a_precondition() {
        let resource = crate::sim::resources::find("apps", "v1", "daemonsets").expect("served");
        let current = json!({"metadata": {"name": "foo", "uid": "uid-1"}, "spec": {}});
        let mismatched = json!({"metadata": {"name": "foo", "uid": "uid-2"}, "spec": {}});
        let error = prepare_update(resource, &current, mismatched, true).expect_err("refused");
        assert_eq!(error.code, 409);
        let matching = json!({"metadata": {"name": "foo", "uid": "uid-1"}, "status": {"numberReady": 1}});
        assert!(prepare_update(resource, &current, matching, true).is_ok());
    }
}
