//! What kubectl prints: the `meta.k8s.io/v1 Table` kube-apiserver answers `kubectl get` with,
//! kubectl's table output itself, and `kubectl create namespace` (a protobuf request body).

use serde_json::{Value, json};

use crate::backends::{Backends, Endpoint, Tolerated};
use crate::daemon_sets::{collection, daemon_set};
use crate::pods::bound_pod;

/// kubectl's output as rows of cells. Tolerated: ages (each server's clock; kubectl prints
/// `5s` or `12s`, which also shifts the column widths, so cells are compared, not spacing).
fn cells(output: &std::process::Output, api: &Endpoint) -> Value {
    assert!(
        output.status.success(),
        "{}: kubectl failed: {}",
        api.name,
        String::from_utf8_lossy(&output.stderr)
    );
    let is_age = |cell: &str| {
        !cell.is_empty()
            && cell
                .split_inclusive(['s', 'm', 'h', 'd', 'y'])
                .all(|part| part.len() > 1 && part[..part.len() - 1].chars().all(|c| c.is_ascii_digit()))
    };
    let rows = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let row: Vec<&str> = line
                .split_whitespace()
                .map(|cell| if is_age(cell) { "<age>" } else { cell })
                .collect();
            json!(row)
        })
        .collect();
    Value::Array(rows)
}

async fn two_daemon_sets(api: &Endpoint, namespace: &str) {
    for name in ["agent", "logs"] {
        api.create(&collection(namespace), &daemon_set(name)).await;
    }
}

pub async fn daemon_sets_as_a_table_have_kube_apiservers_columns(backends: &Backends) {
    let namespace = backends.namespace("tabled").await;
    let tolerated = [
        Tolerated {
            pointer: "/body/columnDefinitions/*/description",
            reason: "the simulator leaves column descriptions (OpenAPI field docs) empty; kubectl does not print them",
        },
        Tolerated {
            pointer: "/body/rows/*/cells/7",
            reason: "Age: each server's clock",
        },
    ];
    backends
        .compare_tolerating("LIST DaemonSets as a Table", &tolerated, async |api| {
            two_daemon_sets(api, &namespace).await;
            api.get_table(&collection(&namespace)).await.whole()
        })
        .await;
}

pub async fn kubectl_get_ds_wide_prints_the_same_table(backends: &Backends) {
    let namespace = backends.namespace("printed").await;
    backends
        .compare("kubectl get ds -o wide", async |api| {
            two_daemon_sets(api, &namespace).await;
            cells(&api.kubectl(&["get", "ds", "-o", "wide", "-n", &namespace]), api)
        })
        .await;
}

pub async fn kubectl_get_pods_prints_the_same_table(backends: &Backends) {
    let namespace = backends.namespace("running").await;
    let pods = format!("/api/v1/namespaces/{namespace}/pods");
    backends
        .real
        .wait_for(
            &format!("/api/v1/namespaces/{namespace}/serviceaccounts"),
            "the namespace's default ServiceAccount",
            |list| list["items"].as_array().is_some_and(|items| !items.is_empty()),
        )
        .await;
    backends
        .compare("kubectl get pods", async |api| {
            api.create(&pods, &bound_pod("agent", "node-001")).await;
            api.wait_for(&format!("{pods}/agent"), "the pod Ready", |pod| {
                pod["status"]["conditions"]
                    .as_array()
                    .is_some_and(|conditions| conditions.iter().any(|c| c["type"] == "Ready" && c["status"] == "True"))
            })
            .await;
            cells(&api.kubectl(&["get", "pods", "-n", &namespace]), api)
        })
        .await;
}

pub async fn kubectl_create_namespace_sends_protobuf_and_gets_the_same_namespace(backends: &Backends) {
    backends
        .compare("kubectl create namespace -o json", async |api| {
            let output = api.kubectl(&["create", "namespace", "by-kubectl", "-o", "json"]);
            assert!(
                output.status.success(),
                "{}: {}",
                api.name,
                String::from_utf8_lossy(&output.stderr)
            );
            serde_json::from_slice(&output.stdout).expect("kubectl prints JSON")
        })
        .await;
}
