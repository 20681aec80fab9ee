//! kubectl's generator commands (`kubectl create namespace`, `create configmap` …), which send
//! their objects as protobuf: what each stores, and the answer for a kind the simulator cannot decode.

use daemonroll::sim::store::Store;
use serde_json::{Value, json};

use crate::harness::{start, stored_in};

/// The stored object without the fields the server fills in on every create.
fn as_created(store: &Store, plural: &str, group: &str, namespace: &str, name: &str) -> Value {
    let mut object = stored_in(store, plural, group, namespace, name)
        .map(|o| (*o).clone())
        .unwrap_or_else(|| panic!("{plural} {namespace}/{name} is stored"));
    if let Some(metadata) = object["metadata"].as_object_mut() {
        for server_owned in ["uid", "resourceVersion", "creationTimestamp", "generation"] {
            metadata.remove(server_owned);
        }
    }
    object
}

/// One generator command and the object it leaves in the store.
struct Case {
    command: &'static [&'static str],
    /// (plural, group, namespace, name) of the stored object.
    stored: (&'static str, &'static str, &'static str, &'static str),
    expected: Value,
}

#[test]
fn kubectl_generator_commands_store_the_objects_they_describe() {
    let Some((_runtime, simulator, kubectl)) = start() else {
        return;
    };
    let store = &simulator.store;
    assert_eq!(
        kubectl.ok(&["create", "namespace", "monitoring"]),
        "namespace/monitoring created\n",
        "kubectl reads the JSON answer to its protobuf request"
    );
    const RBAC: &str = "rbac.authorization.k8s.io";
    let cases = [
        Case {
            // Created above.
            command: &[],
            stored: ("namespaces", "", "", "monitoring"),
            expected: json!({"apiVersion": "v1", "kind": "Namespace",
                   "metadata": {"name": "monitoring", "labels": {"kubernetes.io/metadata.name": "monitoring"}},
                   "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}}),
        },
        Case {
            command: &["create", "configmap", "x", "--from-literal=a=b", "-n", "monitoring"],
            stored: ("configmaps", "", "monitoring", "x"),
            expected: json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "monitoring"},
                   "data": {"a": "b"}}),
        },
        Case {
            command: &[
                "create",
                "secret",
                "generic",
                "s",
                "--from-literal=password=hunter2",
                "-n",
                "monitoring",
            ],
            stored: ("secrets", "", "monitoring", "s"),
            expected: json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s", "namespace": "monitoring"},
                   "data": {"password": "aHVudGVyMg=="}, "type": "Opaque"}),
        },
        Case {
            command: &["create", "serviceaccount", "agent", "-n", "monitoring"],
            stored: ("serviceaccounts", "", "monitoring", "agent"),
            expected: json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "agent", "namespace": "monitoring"}}),
        },
        Case {
            command: &[
                "create",
                "role",
                "reader",
                "--verb=get,list",
                "--resource=pods",
                "-n",
                "monitoring",
            ],
            stored: ("roles", RBAC, "monitoring", "reader"),
            expected: json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                   "metadata": {"name": "reader", "namespace": "monitoring"},
                   "rules": [{"apiGroups": [""], "resources": ["pods"], "verbs": ["get", "list"]}]}),
        },
        Case {
            command: &[
                "create",
                "rolebinding",
                "agent-reads",
                "--role=reader",
                "--serviceaccount=monitoring:agent",
                "-n",
                "monitoring",
            ],
            stored: ("rolebindings", RBAC, "monitoring", "agent-reads"),
            expected: json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                   "metadata": {"name": "agent-reads", "namespace": "monitoring"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "reader"},
                   "subjects": [{"kind": "ServiceAccount", "name": "agent", "namespace": "monitoring"}]}),
        },
        Case {
            command: &["create", "clusterrole", "aggregate", "--aggregation-rule=team=infra"],
            stored: ("clusterroles", RBAC, "", "aggregate"),
            expected: json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "aggregate"},
                   "aggregationRule": {"clusterRoleSelectors": [{"matchLabels": {"team": "infra"}}]}}),
        },
        Case {
            command: &[
                "create",
                "clusterrolebinding",
                "ops",
                "--clusterrole=aggregate",
                "--group=ops",
            ],
            stored: ("clusterrolebindings", RBAC, "", "ops"),
            expected: json!({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": "ops"},
                   "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "aggregate"},
                   "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "ops"}]}),
        },
        Case {
            command: &[
                "create",
                "poddisruptionbudget",
                "agent",
                "--selector=app=agent",
                "--min-available=50%",
                "-n",
                "monitoring",
            ],
            stored: ("poddisruptionbudgets", "policy", "monitoring", "agent"),
            expected: json!({"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
                   "metadata": {"name": "agent", "namespace": "monitoring"},
                   "spec": {"minAvailable": "50%", "selector": {"matchLabels": {"app": "agent"}}},
                   "status": {"currentHealthy": 0, "desiredHealthy": 0, "disruptionsAllowed": 0, "expectedPods": 0}}),
        },
    ];
    for Case {
        command,
        stored: (plural, group, namespace, name),
        expected,
    } in cases
    {
        if !command.is_empty() {
            let output = kubectl.ok(command);
            assert!(output.ends_with(&format!("/{name} created\n")), "{command:?}: {output}");
        }
        assert_eq!(
            as_created(store, plural, group, namespace, name),
            expected,
            "{command:?}"
        );
    }
}

#[test]
fn kubectl_create_deployment_is_refused_with_415_naming_the_kind() {
    let Some((_runtime, simulator, kubectl)) = start() else {
        return;
    };
    let refused = kubectl.run(&["create", "deployment", "web", "--image=nginx", "-v=6"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success());
    assert!(stderr.contains("415 Unsupported Media Type"), "{stderr}");
    assert!(
        stderr.contains("the simulator cannot decode protobuf for apps/v1 Deployment"),
        "{stderr}"
    );
    assert!(stored_in(&simulator.store, "deployments", "apps", "default", "web").is_none());
}
