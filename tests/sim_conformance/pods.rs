//! Pods: the answer to creating a pod already bound to a node, as a DaemonSet controller creates
//! them (before any kubelet has touched it).

use serde_json::{Value, json};

use crate::backends::{Backends, Tolerated};

pub fn bound_pod(name: &str, node: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"nodeName": node, "containers": [{"name": "agent", "image": "agent:1"}]}
    })
}

pub async fn a_pod_bound_to_a_node_is_defaulted_as_kube_apiserver_defaults_it(backends: &Backends) {
    let tolerated = [
        Tolerated {
            pointer: "/body/spec/tolerations",
            reason: "DefaultTolerationSeconds is not modelled: the simulated fleet ignores tolerationSeconds",
        },
        Tolerated {
            pointer: "/body/metadata/labels/topology.kubernetes.io~1zone",
            reason: "PodTopologyLabels is not modelled (and the two clusters' nodes are in different zones)",
        },
        Tolerated {
            pointer: "/body/metadata/labels/topology.kubernetes.io~1region",
            reason: "PodTopologyLabels is not modelled (and the two clusters' nodes are in different regions)",
        },
    ];
    backends
        .compare_tolerating("POST a Pod bound to a node", &tolerated, async |api| {
            api.post("/api/v1/namespaces/default/pods", &bound_pod("bound", "node-001"))
                .await
                .whole()
        })
        .await;
}
