//! `/version`, legacy discovery and the minimal OpenAPI v3 documents kubectl needs (no I/O).
//!
//! kubectl 1.32 accepts legacy discovery, needs shortNames, and with default validation reads
//! `/openapi/v3` only to learn that the server supports `fieldValidation`.

use serde_json::{Value, json};

use super::resources::{RESOURCES, Resource, group_versions, verbs};

/// `minor: "32"` keeps the kubectl dispatcher on its built-in v1.32.
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.4-daemonroll-sim",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2026-11-25T00:00:00Z",
        "goVersion": "go1.23.0",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]
    })
}

pub fn api_group_list() -> Value {
    let groups: Vec<Value> = group_versions()
        .into_iter()
        .filter(|(group, _)| !group.is_empty())
        .map(|(group, version)| {
            let group_version = json!({"groupVersion": format!("{group}/{version}"), "version": version});
            json!({"name": group, "versions": [group_version.clone()], "preferredVersion": group_version})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

fn resource_entry(resource: &Resource) -> Value {
    json!({
        "name": resource.plural,
        "singularName": resource.singular,
        "namespaced": resource.namespaced,
        "kind": resource.kind,
        "verbs": verbs(),
        "shortNames": resource.short_names,
        "categories": if matches!(resource.kind, "Pod" | "DaemonSet") { json!(["all"]) } else { json!([]) },
    })
}

/// `APIResourceList` for one group/version, or None if not served.
pub fn api_resource_list(group: &str, version: &str) -> Option<Value> {
    let mut entries = Vec::new();
    for resource in RESOURCES.iter().filter(|r| r.group == group && r.version == version) {
        entries.push(resource_entry(resource));
        if resource.has_status {
            entries.push(json!({"name": format!("{}/status", resource.plural), "singularName": "",
                                "namespaced": resource.namespaced, "kind": resource.kind, "verbs": ["get", "patch", "update"]}));
        }
        if resource.kind == "Pod" {
            entries.push(json!({"name": "pods/binding", "singularName": "", "namespaced": true,
                                "kind": "Binding", "verbs": ["create"]}));
        }
    }
    if entries.is_empty() {
        return None;
    }
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": entries}))
}

fn openapi_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// The `/openapi/v3` index: one document per group/version.
pub fn openapi_index() -> Value {
    let paths: serde_json::Map<String, Value> = group_versions()
        .into_iter()
        .map(|(group, version)| {
            let path = openapi_path(group, version);
            let url = format!("/openapi/v3/{path}?hash=daemonroll-sim");
            (path, json!({"serverRelativeURL": url}))
        })
        .collect();
    json!({"paths": paths})
}

/// The document for one group/version: a `patch` operation per kind, declaring `fieldValidation`.
pub fn openapi_document(path: &str) -> Option<Value> {
    let path = path.trim_matches('/');
    let mut paths = serde_json::Map::new();
    for resource in RESOURCES.iter().filter(|r| openapi_path(r.group, r.version) == path) {
        let item = if resource.namespaced {
            format!("/{path}/namespaces/{{namespace}}/{}/{{name}}", resource.plural)
        } else {
            format!("/{path}/{}/{{name}}", resource.plural)
        };
        let gvk = json!({"group": resource.group, "version": resource.version, "kind": resource.kind});
        let operation = json!({"x-kubernetes-group-version-kind": gvk,
                               "parameters": [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}}]});
        paths.insert(item, json!({"patch": operation, "put": operation}));
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.4"}, "paths": paths}))
}
