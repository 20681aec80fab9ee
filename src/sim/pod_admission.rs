//! What kube-apiserver adds to a new pod beyond its spec defaults (no I/O; the caller supplies the uid).
//!
//! As in kube-apiserver 1.37 with its default admission plugins: SetDefaults_Pod
//! (`enableServiceLinks`), the ServiceAccount plugin (`serviceAccountName` and the projected
//! `kube-api-access-…` token volume), the Priority plugin (no default PriorityClass: priority 0,
//! `PreemptLowerPriority`) and the pod strategy's PrepareForCreate (`status.qosClass`). Not
//! modelled (README, "Differences from kube-apiserver"): DefaultTolerationSeconds, whose
//! `tolerationSeconds` the simulated fleet does not honour, and PodTopologyLabels.

use serde_json::{Map, Value, json};

/// Where the ServiceAccount plugin mounts the token volume.
const TOKEN_MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// The alphabet of apimachinery's random name suffixes.
const NAME_ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";

/// Admits a new pod whose spec defaults are already applied; `uid` seeds the volume's name suffix.
pub fn admit_pod(pod: &mut Map<String, Value>, uid: &str) {
    let spec = match pod.entry("spec").or_insert_with(|| json!({})) {
        Value::Object(spec) => spec,
        _ => return,
    };
    spec.entry("enableServiceLinks").or_insert(json!(true));
    if spec
        .get("serviceAccountName")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        spec.insert("serviceAccountName".into(), json!("default"));
        spec.insert("serviceAccount".into(), json!("default"));
    }
    mount_service_account_token(spec, uid);
    spec.entry("priority").or_insert(json!(0));
    spec.entry("preemptionPolicy").or_insert(json!("PreemptLowerPriority"));
    let qos = qos_class(spec);
    if let Value::Object(status) = pod.entry("status").or_insert_with(|| json!({})) {
        status.insert("qosClass".into(), json!(qos));
    }
}

/// The ServiceAccount plugin's projected token volume, mounted read-only in every container,
/// unless the pod opts out or already mounts something at the token path.
fn mount_service_account_token(spec: &mut Map<String, Value>, uid: &str) {
    if spec.get("automountServiceAccountToken") == Some(&json!(false)) {
        return;
    }
    let containers = ["initContainers", "containers", "ephemeralContainers"];
    let mounted = containers.iter().any(|list| {
        spec.get(*list).and_then(Value::as_array).is_some_and(|containers| {
            containers.iter().any(|container| {
                container["volumeMounts"]
                    .as_array()
                    .is_some_and(|mounts| mounts.iter().any(|mount| mount["mountPath"] == TOKEN_MOUNT_PATH))
            })
        })
    });
    if mounted {
        return;
    }
    let name = format!("kube-api-access-{}", suffix(uid));
    let volume = json!({"name": name, "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"items": [{"key": "ca.crt", "path": "ca.crt"}], "name": "kube-root-ca.crt"}},
        {"downwardAPI": {"items": [{"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}, "path": "namespace"}]}}
    ]}});
    if let Value::Array(volumes) = spec.entry("volumes").or_insert_with(|| json!([])) {
        volumes.push(volume);
    }
    let mount = json!({"mountPath": TOKEN_MOUNT_PATH, "name": name, "readOnly": true});
    for list in ["initContainers", "containers"] {
        if let Some(Value::Array(containers)) = spec.get_mut(list) {
            for container in containers.iter_mut().filter_map(Value::as_object_mut) {
                if let Value::Array(mounts) = container.entry("volumeMounts").or_insert_with(|| json!([])) {
                    mounts.push(mount.clone());
                }
            }
        }
    }
}

/// Five characters of the name alphabet, derived from the pod's uid (random, as upstream's are).
fn suffix(uid: &str) -> String {
    uid.bytes()
        .filter(u8::is_ascii_hexdigit)
        .take(5)
        .map(|byte| char::from(NAME_ALPHABET[usize::from(byte) % NAME_ALPHABET.len()]))
        .collect()
}

/// GetPodQOS: Guaranteed when every container limits CPU and memory and requests what it
/// limits; BestEffort when none requests or limits either; Burstable otherwise.
fn qos_class(spec: &Map<String, Value>) -> &'static str {
    let containers: Vec<&Value> = ["initContainers", "containers"]
        .iter()
        .filter_map(|list| spec.get(*list).and_then(Value::as_array))
        .flatten()
        .collect();
    let amount = |container: &Value, kind: &str, resource: &str| {
        container
            .pointer(&format!("/resources/{kind}/{resource}"))
            .filter(|value| !value.is_null())
            .cloned()
    };
    let any = containers.iter().any(|container| {
        ["requests", "limits"].iter().any(|kind| {
            ["cpu", "memory"]
                .iter()
                .any(|resource| amount(container, kind, resource).is_some())
        })
    });
    if !any {
        return "BestEffort";
    }
    let guaranteed = containers.iter().all(|container| {
        ["cpu", "memory"].iter().all(|resource| {
            let limit = amount(container, "limits", resource);
            let request = amount(container, "requests", resource).or_else(|| limit.clone());
            limit.is_some() && request == limit
        })
    });
    if guaranteed { "Guaranteed" } else { "Burstable" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admitted(spec: Value) -> Value {
        let mut pod = json!({"metadata": {"name": "p"}, "spec": spec});
        admit_pod(
            pod.as_object_mut().expect("an object"),
            "8d8f8c57-0a8c-4b39-9d0e-5b1f6a1e2c3d",
        );
        pod
    }

    #[test]
    fn a_pod_gets_the_default_service_account_and_its_token_volume() {
        let pod = admitted(json!({"containers": [{"name": "c", "image": "i:1"}]}));
        assert_eq!(pod["spec"]["serviceAccountName"], "default");
        assert_eq!(pod["spec"]["serviceAccount"], "default");
        let volume = pod["spec"]["volumes"][0]["name"].as_str().expect("a volume");
        assert!(volume.starts_with("kube-api-access-") && volume.len() == 21, "{volume}");
        assert_eq!(
            pod["spec"]["containers"][0]["volumeMounts"],
            json!([{"mountPath": TOKEN_MOUNT_PATH, "name": volume, "readOnly": true}])
        );
        assert_eq!(
            (pod["spec"]["priority"].clone(), pod["spec"]["preemptionPolicy"].clone()),
            (json!(0), json!("PreemptLowerPriority"))
        );
        assert_eq!(pod["spec"]["enableServiceLinks"], true);
    }

    #[test]
    fn a_pod_that_opts_out_gets_no_token_volume() {
        let pod = admitted(json!({"automountServiceAccountToken": false, "containers": [{"name": "c"}]}));
        assert_eq!(pod["spec"].get("volumes"), None);
        assert_eq!(pod["spec"]["containers"][0].get("volumeMounts"), None);
    }

    #[test]
    fn the_qos_class_follows_requests_and_limits() {
        let class = |resources: Value| {
            admitted(json!({"containers": [{"name": "c", "resources": resources}]}))["status"]["qosClass"].clone()
        };
        assert_eq!(class(json!({})), "BestEffort");
        assert_eq!(class(json!({"requests": {"cpu": "100m"}})), "Burstable");
        assert_eq!(class(json!({"limits": {"cpu": "1", "memory": "1Gi"}})), "Guaranteed");
    }
}
