//! `deploy/`: kustomize renders it, the simulator accepts it (`kubectl apply -k`), and its RBAC
//! rules are exactly the requests daemonroll made in an end-to-end run (no more, no less).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use daemonroll::kube::{ApiClient, PatchKind};
use daemonroll::sim::cluster::{SimConfig, Simulator};
use daemonroll::sim::fleet::FleetConfig;
use serde::Deserialize;
use serde_json::{Value, json};

fn kubectl_installed() -> bool {
    Command::new("kubectl")
        .args(["version", "--client"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn deploy_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

fn kubectl(kubeconfig: Option<&Path>, args: &[&str]) -> Output {
    let mut command = Command::new("kubectl");
    if let Some(kubeconfig) = kubeconfig {
        command.arg("--kubeconfig").arg(kubeconfig);
    }
    command.args(args).output().expect("kubectl runs")
}

fn ok(output: Output, what: &str) -> String {
    assert!(
        output.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn rendered() -> Vec<Value> {
    let text = ok(
        kubectl(None, &["kustomize", &deploy_dir().to_string_lossy()]),
        "kubectl kustomize deploy/",
    );
    yaml_serde::Deserializer::from_str(&text)
        .map(|document| Value::deserialize(document).expect("rendered YAML"))
        .filter(|v| !v.is_null())
        .collect()
}

fn find<'v>(objects: &'v [Value], kind: &str) -> Vec<&'v Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

/// (apiGroup, resource, verb) for every rule of the rendered roles.
fn granted(objects: &[Value]) -> BTreeSet<(String, String, String)> {
    let mut granted = BTreeSet::new();
    for role in find(objects, "ClusterRole").into_iter().chain(find(objects, "Role")) {
        for rule in role["rules"].as_array().into_iter().flatten() {
            let strings = |field: &str| -> Vec<String> {
                rule[field]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            };
            for group in strings("apiGroups") {
                for resource in strings("resources") {
                    for verb in strings("verbs") {
                        granted.insert((group.clone(), resource.clone(), verb));
                    }
                }
            }
        }
    }
    granted
}

#[test]
fn kustomize_renders_a_hardened_two_replica_deployment() {
    if !kubectl_installed() {
        eprintln!("kubectl is not installed: skipping");
        return;
    }
    let objects = rendered();
    let kinds: BTreeSet<&str> = objects.iter().filter_map(|o| o["kind"].as_str()).collect();
    assert_eq!(
        kinds,
        BTreeSet::from([
            "ClusterRole",
            "ClusterRoleBinding",
            "Deployment",
            "Namespace",
            "PodDisruptionBudget",
            "Role",
            "RoleBinding",
            "ServiceAccount"
        ])
    );
    let deployment = find(&objects, "Deployment")[0];
    assert_eq!(deployment["metadata"]["namespace"], "daemonroll-system");
    assert_eq!(deployment["spec"]["replicas"], 2);
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["seccompProfile"]["type"], "RuntimeDefault");
    assert!(pod["affinity"]["podAntiAffinity"].is_object());
    let container = &pod["containers"][0];
    assert_eq!(container["image"], "ghcr.io/daemonroll/daemonroll:0.1.0");
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(container["securityContext"]["allowPrivilegeEscalation"], false);
    assert_eq!(container["securityContext"]["capabilities"]["drop"], json!(["ALL"]));
    assert_eq!(container["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(container["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert!(container["resources"]["requests"]["memory"].is_string());
    let binding = find(&objects, "ClusterRoleBinding")[0];
    assert_eq!(binding["subjects"][0]["namespace"], "daemonroll-system");
    let pdb = find(&objects, "PodDisruptionBudget")[0];
    assert_eq!(pdb["spec"]["minAvailable"], 1);
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn wait_for(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn rolled_out(api: &ApiClient, image: &str) -> bool {
    let Ok(ds) = api.get("/apis/apps/v1/namespaces/default/daemonsets/agent").await else {
        return false;
    };
    let status = &ds["status"];
    let pods = api.get("/api/v1/namespaces/default/pods").await.unwrap_or_default();
    let images_ok = pods["items"]
        .as_array()
        .is_some_and(|items| items.len() == 3 && items.iter().all(|p| p["spec"]["containers"][0]["image"] == image));
    status["observedGeneration"].as_i64() >= ds["metadata"]["generation"].as_i64()
        && status["updatedNumberScheduled"] == 3
        && status["numberAvailable"] == 3
        && images_ok
}

#[test]
fn the_deployment_applies_to_the_simulator_and_its_rbac_is_exactly_what_daemonroll_uses() {
    if !kubectl_installed() {
        eprintln!("kubectl is not installed: skipping");
        return;
    }
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let simulator = runtime
        .block_on(Simulator::start(SimConfig {
            nodes: 3,
            fleet: FleetConfig {
                ready_after: Duration::from_millis(200),
                terminate_after: Duration::from_millis(50),
                ..FleetConfig::default()
            },
            ..SimConfig::default()
        }))
        .expect("simulator");
    let dir = std::env::temp_dir().join(format!("daemonroll-deploy-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let kubeconfig = dir.join("kubeconfig");
    simulator.write_kubeconfig(&kubeconfig).expect("kubeconfig");

    let applied = ok(
        kubectl(Some(&kubeconfig), &["apply", "-k", &deploy_dir().to_string_lossy()]),
        "kubectl apply -k deploy/",
    );
    for object in [
        "namespace/daemonroll-system created",
        "serviceaccount/daemonroll created",
        "clusterrole.rbac.authorization.k8s.io/daemonroll created",
        "deployment.apps/daemonroll created",
        "poddisruptionbudget.policy/daemonroll created",
    ] {
        assert!(applied.contains(object), "{object} in:\n{applied}");
    }
    let stored = ok(
        kubectl(
            Some(&kubeconfig),
            &[
                "get",
                "deployment",
                "daemonroll",
                "-n",
                "daemonroll-system",
                "-o",
                "json",
            ],
        ),
        "get deployment",
    );
    let stored: Value = serde_json::from_str(&stored).expect("json");
    assert_eq!(stored["spec"]["replicas"], 2);

    // Every kind of request daemonroll makes: creates, a rolling update, pruning, adoption, an undo
    // (revision renumbering), repeated warnings (event patches), leader election and its release,
    // and the DaemonSet patch of `on-failure: rollback` (the last-complete-revision mark).
    let mut api_config = kube::Config::new(simulator.url().parse().expect("url"));
    api_config
        .headers
        .push((http::header::USER_AGENT, http::HeaderValue::from_static("e2e-test/1")));
    let _runtime_context = runtime.enter();
    let api = ApiClient::new(kube::Client::try_from(api_config).expect("client"));
    let log = std::fs::File::create(dir.join("run.log")).expect("log");
    let mut running = Running(
        Command::new(env!("CARGO_BIN_EXE_daemonroll"))
            .args(["run", "--kubeconfig"])
            .arg(&kubeconfig)
            .args([
                "--leader-elect",
                "--leader-elect-retry-period",
                "500ms",
                "--admin-addr",
                "off",
            ])
            .env("POD_NAME", "rbac-check")
            .env("POD_NAMESPACE", "daemonroll-system")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("daemonroll starts"),
    );
    runtime.block_on(async {
        let orphan = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "orphan-1", "namespace": "default",
                         "labels": {"app": "agent", "pod-template-generation": "1"}},
            "spec": {"nodeName": "node-002", "containers": [{"name": "agent", "image": "agent:1"}]}});
        api.create("/api/v1/namespaces/default/pods", &orphan).await.expect("orphan");
        let ds = json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": "agent", "namespace": "default",
                         "annotations": {"daemonroll.io/on-failure": "rollback"}},
            "spec": {"selector": {"matchLabels": {"app": "agent"}}, "revisionHistoryLimit": 1,
                     "template": {"metadata": {"labels": {"app": "agent"}},
                                  "spec": {"containers": [{"name": "agent", "image": "agent:1"}],
                                           // The first term is invalid (Gt needs a non-negative integer): a warning on every sync.
                                           "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                                               {"matchExpressions": [{"key": "rank", "operator": "Gt", "values": ["-1"]}]},
                                               {"matchExpressions": [{"key": "kubernetes.io/os", "operator": "In", "values": ["linux"]}]}]}}}}}}});
        api.create("/apis/apps/v1/namespaces/default/daemonsets", &ds).await.expect("DaemonSet");
        wait_for("agent:1 rolled out", Duration::from_secs(20), async || rolled_out(&api, "agent:1").await).await;
        for image in ["agent:2", "agent:3"] {
            let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "agent", "image": image}]}}}});
            api.patch("/apis/apps/v1/namespaces/default/daemonsets/agent", PatchKind::Merge, &patch)
                .await
                .expect("image change");
            wait_for(image, Duration::from_secs(20), async || rolled_out(&api, image).await).await;
        }
    });
    ok(
        kubectl(Some(&kubeconfig), &["rollout", "undo", "ds/agent"]),
        "rollout undo",
    );
    runtime.block_on(wait_for("the undo rolled out", Duration::from_secs(20), async || {
        rolled_out(&api, "agent:2").await
    }));
    let pid = running.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill")
            .success()
    );
    let exit = running.0.wait().expect("exits");
    assert!(exit.success(), "{exit:?}");

    let used: BTreeSet<(String, String, String)> = simulator
        .access
        .entries()
        .into_iter()
        .filter(|(access, _)| access.actor.starts_with("daemonroll"))
        .map(|(access, _)| (access.group.to_string(), access.resource, access.verb.to_string()))
        .collect();
    let mut granted = granted(&rendered());
    // Checked by an admission plugin, never requested (see deploy/rbac.yaml).
    assert!(granted.remove(&("apps".into(), "daemonsets/finalizers".into(), "update".into())));
    let unused: Vec<_> = granted.difference(&used).collect();
    let missing: Vec<_> = used.difference(&granted).collect();
    assert!(
        unused.is_empty() && missing.is_empty(),
        "granted but never used: {unused:?}\nused but not granted: {missing:?}"
    );
    runtime.block_on(simulator.stop());
    let _ = std::fs::remove_dir_all(&dir);
}
