//! DaemonSets and the objects around them through kubectl: every output format, writes, rollouts,
//! watches, deletes, the fleet's pods and the shared fixtures.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use daemonroll::sim::cluster::create;
use daemonroll::sim::resources;
use daemonroll::sim::store::{EventType, Store};
use serde_json::{Value, json};

use crate::harness::{lines_of, manifest, set_status, start, stored};

#[test]
fn kubectl_reads_nodes_namespaces_and_objects_in_every_output_format() {
    let Some((_runtime, simulator, kubectl)) = start() else {
        return;
    };
    let nodes = kubectl.ok(&["get", "nodes"]);
    assert!(nodes.starts_with("NAME       STATUS   ROLES    AGE"), "{nodes}");
    assert_eq!(nodes.lines().filter(|l| l.contains(" Ready ")).count(), 3, "{nodes}");
    let wide = kubectl.ok(&["get", "no", "-o", "wide"]);
    assert!(wide.contains("INTERNAL-IP") && wide.contains("containerd://"), "{wide}");
    let namespaces = kubectl.ok(&["get", "ns", "-o", "name"]);
    assert_eq!(
        namespaces.lines().collect::<Vec<_>>(),
        vec![
            "namespace/default",
            "namespace/kube-node-lease",
            "namespace/kube-public",
            "namespace/kube-system"
        ]
    );

    kubectl.apply_stdin(&["create", "-f", "-"], &manifest("agent:1"));
    let all = kubectl.ok(&["get", "ds", "-A"]);
    assert!(
        all.contains("NAMESPACE") && all.lines().any(|l| l.starts_with("default") && l.contains("agent")),
        "{all}"
    );
    let yaml = kubectl.ok(&["get", "ds", "agent", "-o", "yaml"]);
    assert!(
        yaml.contains("type: RollingUpdate") && yaml.contains("deprecated.daemonset.template.generation: \"1\""),
        "{yaml}"
    );
    let object: Value = serde_json::from_str(&kubectl.ok(&["get", "ds", "agent", "-o", "json"])).expect("JSON");
    assert_eq!(
        object["spec"]["updateStrategy"]["rollingUpdate"],
        json!({"maxUnavailable": 1, "maxSurge": 0})
    );
    let missing = kubectl.run(&["get", "ds", "nope"]);
    assert!(
        String::from_utf8_lossy(&missing.stderr)
            .contains("Error from server (NotFound): daemonsets.apps \"nope\" not found")
    );
    let duplicate = kubectl.run(&["create", "-f", "-"]);
    assert!(!duplicate.status.success());
    drop(simulator);
}

#[test]
fn kubectl_writes_change_the_stored_daemon_set() {
    let Some((_runtime, simulator, kubectl)) = start() else {
        return;
    };
    let store = Arc::clone(&simulator.store);
    assert!(
        kubectl
            .apply_stdin(&["apply", "-f", "-"], &manifest("agent:1"))
            .contains("daemonset.apps/agent created")
    );
    assert!(
        kubectl
            .apply_stdin(&["apply", "-f", "-"], &manifest("agent:1"))
            .contains("unchanged")
    );
    assert!(
        kubectl
            .apply_stdin(&["apply", "-f", "-"], &manifest("agent:2"))
            .contains("configured")
    );
    let image = |store: &Store| {
        stored(store, "daemonsets", "apps", "agent")
            .map(|o| o["spec"]["template"]["spec"]["containers"][0]["image"].clone())
    };
    assert_eq!(image(&store), Some(json!("agent:2")));
    let generation =
        |store: &Store| stored(store, "daemonsets", "apps", "agent").map(|o| o["metadata"]["generation"].clone());
    assert_eq!(
        generation(&store),
        Some(json!(2)),
        "a template change bumps the generation"
    );

    assert!(
        kubectl
            .apply_stdin(
                &["apply", "--server-side", "--force-conflicts", "-f", "-"],
                &manifest("agent:3")
            )
            .contains("serverside-applied")
    );
    assert_eq!(image(&store), Some(json!("agent:3")));
    assert!(
        kubectl
            .ok(&["set", "image", "ds/agent", "agent=agent:4"])
            .contains("image updated")
    );
    assert_eq!(image(&store), Some(json!("agent:4")));
    assert!(kubectl.ok(&["label", "ds", "agent", "tier=node"]).contains("labeled"));
    assert!(
        kubectl
            .ok(&["annotate", "ds", "agent", "note=hello"])
            .contains("annotated")
    );
    let object = stored(&store, "daemonsets", "apps", "agent").expect("stored");
    assert_eq!(
        (
            object["metadata"]["labels"]["tier"].clone(),
            object["metadata"]["annotations"]["note"].clone()
        ),
        (json!("node"), json!("hello"))
    );
    let stale = kubectl.run(&["label", "ds", "agent", "tier=x", "--overwrite", "--resource-version=1"]);
    assert!(
        String::from_utf8_lossy(&stale.stderr).contains("Error from server (Conflict)"),
        "{}",
        String::from_utf8_lossy(&stale.stderr)
    );
    assert!(kubectl.ok(&["rollout", "restart", "ds/agent"]).contains("restarted"));
    let object = stored(&store, "daemonsets", "apps", "agent").expect("stored");
    assert!(object["spec"]["template"]["metadata"]["annotations"]["kubectl.kubernetes.io/restartedAt"].is_string());
    // Creation is generation 1; apply agent:2, server-side apply agent:3, set image, restart: 4 more.
    assert_eq!(
        object["metadata"]["annotations"]["deprecated.daemonset.template.generation"],
        "5"
    );
    let invalid = kubectl.run(&[
        "patch",
        "ds",
        "agent",
        "--type=merge",
        "-p",
        r#"{"spec":{"updateStrategy":{"rollingUpdate":{"maxSurge":"10%"}}}}"#,
    ]);
    assert!(
        String::from_utf8_lossy(&invalid.stderr).contains("is invalid"),
        "{}",
        String::from_utf8_lossy(&invalid.stderr)
    );
}

#[test]
fn kubectl_rollout_status_follows_status_changes() {
    let Some((_runtime, simulator, kubectl)) = start() else {
        return;
    };
    let store = Arc::clone(&simulator.store);
    kubectl.apply_stdin(&["create", "-f", "-"], &manifest("agent:1"));
    let waiting = kubectl.ok(&["rollout", "status", "ds/agent", "--watch=false"]);
    assert!(
        waiting.contains("Waiting for daemon set spec update to be observed"),
        "{waiting}"
    );

    let mut watcher = kubectl
        .command(&["rollout", "status", "ds/agent", "--timeout=30s"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl starts");
    let lines_rx = lines_of(&mut watcher);
    let next_line = || {
        lines_rx
            .recv_timeout(Duration::from_secs(15))
            .expect("kubectl prints a line")
    };
    assert!(next_line().contains("Waiting for daemon set spec update to be observed"));
    set_status(
        &store,
        json!({"observedGeneration": 1, "desiredNumberScheduled": 3, "currentNumberScheduled": 3, "updatedNumberScheduled": 1, "numberAvailable": 1, "numberReady": 1}),
    );
    assert_eq!(
        next_line(),
        "Waiting for daemon set \"agent\" rollout to finish: 1 out of 3 new pods have been updated..."
    );
    set_status(
        &store,
        json!({"observedGeneration": 1, "desiredNumberScheduled": 3, "currentNumberScheduled": 3, "updatedNumberScheduled": 3, "numberAvailable": 3, "numberReady": 3}),
    );
    assert_eq!(next_line(), "daemon set \"agent\" successfully rolled out");
    assert!(watcher.wait().expect("kubectl exits").success());
}

#[test]
fn kubectl_rollout_history_and_undo_use_the_controller_revisions() {
    let Some((_runtime, simulator, kubectl)) = start() else {
        return;
    };
    let store = Arc::clone(&simulator.store);
    kubectl.apply_stdin(&["create", "-f", "-"], &manifest("agent:2"));
    let ds = stored(&store, "daemonsets", "apps", "agent").expect("stored");
    let revisions = resources::find("apps", "v1", "controllerrevisions").expect("served");
    for (number, image) in [(1, "agent:1"), (2, "agent:2")] {
        let mut template = ds["spec"]["template"].clone();
        template["spec"]["containers"][0]["image"] = json!(image);
        template["$patch"] = json!("replace");
        let revision = json!({
            "apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": format!("agent-{number}"), "labels": {"app": "agent", "controller-revision-hash": format!("h{number}")},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": ds["metadata"]["uid"], "controller": true, "blockOwnerDeletion": true}]},
            "data": {"spec": {"template": template}},
            "revision": number,
        });
        create(&store, revisions, "default", revision, "test").expect("revision is created");
    }
    let history = kubectl.ok(&["rollout", "history", "ds/agent"]);
    assert!(
        history.contains("REVISION  CHANGE-CAUSE")
            && history.contains("1         <none>")
            && history.contains("2         <none>"),
        "{history}"
    );
    assert!(kubectl.ok(&["rollout", "undo", "ds/agent"]).contains("rolled back"));
    let image = stored(&store, "daemonsets", "apps", "agent")
        .map(|o| o["spec"]["template"]["spec"]["containers"][0]["image"].clone());
    assert_eq!(image, Some(json!("agent:1")), "undo applied revision 1's template");
}

#[test]
fn kubectl_get_watch_prints_changes() {
    let Some((_runtime, simulator, kubectl)) = start() else {
        return;
    };
    let store = Arc::clone(&simulator.store);
    kubectl.apply_stdin(&["create", "-f", "-"], &manifest("agent:1"));
    let mut watcher = kubectl
        .command(&["get", "ds", "agent", "-w", "--output-watch-events"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("starts");
    let lines_rx = lines_of(&mut watcher);
    let next_line = || {
        lines_rx
            .recv_timeout(Duration::from_secs(15))
            .expect("kubectl prints a line")
    };
    assert!(next_line().starts_with("EVENT"));
    assert!(next_line().starts_with("ADDED"));
    // kubectl starts its watch after printing the GET; a change made before that is folded into the
    // watch's initial (dropped) ADDED event, so change the status until a MODIFIED line shows up.
    let mut modified = None;
    for ready in 1..=10 {
        set_status(
            &store,
            json!({"desiredNumberScheduled": 3, "currentNumberScheduled": 2, "numberReady": ready}),
        );
        if let Ok(line) = lines_rx.recv_timeout(Duration::from_secs(1)) {
            modified = Some((ready, line));
            break;
        }
    }
    let (ready, line) = modified.expect("a MODIFIED event within 10 s");
    assert!(
        line.starts_with("MODIFIED") && line.contains(&format!("agent   3         2         {ready}")),
        "{line}"
    );
    let _ = watcher.kill();
    let _ = watcher.wait();
}

#[test]
fn kubectl_delete_honours_each_propagation_policy() {
    let Some((_runtime, simulator, kubectl)) = start() else {
        return;
    };
    let store = Arc::clone(&simulator.store);
    let pods = resources::find("", "v1", "pods").expect("served");
    for (cascade, pod_survives) in [("orphan", true), ("background", false), ("foreground", false)] {
        kubectl.apply_stdin(&["create", "-f", "-"], &manifest("agent:1"));
        let ds = stored(&store, "daemonsets", "apps", "agent").expect("stored");
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "agent-pod", "labels": {"app": "agent"},
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "uid": ds["metadata"]["uid"], "controller": true}]},
            "spec": {"containers": [{"name": "agent", "image": "agent:1"}]}});
        create(&store, pods, "default", pod, "test").expect("pod is created");
        let output = kubectl.ok(&["delete", "ds", "agent", &format!("--cascade={cascade}")]);
        assert!(
            output.contains("daemonset.apps \"agent\" deleted"),
            "{cascade}: {output}"
        );
        assert!(stored(&store, "daemonsets", "apps", "agent").is_none(), "{cascade}");
        let remaining = stored(&store, "pods", "", "agent-pod");
        assert_eq!(remaining.is_some(), pod_survives, "{cascade}");
        if let Some(pod) = remaining {
            assert_eq!(
                pod["metadata"]["ownerReferences"],
                json!([]),
                "orphaned pods lose the owner reference"
            );
            kubectl.ok(&["delete", "pod", "agent-pod"]);
        }
    }
    let timeline = store.timeline();
    let deletes = timeline
        .iter()
        .filter(|w| w.event == EventType::Deleted && w.kind == "Pod")
        .count();
    assert_eq!(
        deletes, 3,
        "the garbage collector deleted the pod twice; kubectl's graceful delete once"
    );
}

#[test]
fn kubectl_get_pods_shows_the_fleet_running_them() {
    let Some((_runtime, simulator, kubectl)) = start() else {
        return;
    };
    let store = Arc::clone(&simulator.store);
    let pods = resources::find("", "v1", "pods").expect("served");
    let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "agent-x1"},
        "spec": {"containers": [{"name": "agent", "image": "agent:1"}],
                 "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                     {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["node-002"]}]}]}}}}});
    create(&store, pods, "default", pod, "test").expect("pod is created");
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut listing = String::new();
    while std::time::Instant::now() < deadline {
        listing = kubectl.ok(&["get", "pods", "-o", "wide"]);
        if listing.contains("1/1") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    let row = listing.lines().find(|l| l.starts_with("agent-x1")).unwrap_or_default();
    let columns: Vec<&str> = row.split_whitespace().collect();
    assert_eq!(columns.get(1..3), Some(&["1/1", "Running"][..]), "{listing}");
    assert!(columns.contains(&"node-002"), "{listing}");
    let pod: Value = serde_json::from_str(&kubectl.ok(&["get", "po", "agent-x1", "-o", "json"])).expect("JSON");
    assert_eq!(pod["spec"]["nodeName"], "node-002");
}

/// The shared fixtures (real node-agent DaemonSets), beside the checkout as in CI.
fn fixtures() -> Option<Vec<PathBuf>> {
    let folder = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/daemonsets");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&folder)
        .ok()?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|ext| ext == "yaml"))
        .collect();
    files.sort();
    Some(files)
}

#[test]
fn every_fixture_daemon_set_is_accepted_and_kept_intact() {
    let Some((_runtime, simulator, kubectl)) = start() else {
        return;
    };
    let Some(files) = fixtures() else {
        eprintln!("SKIPPED: ../shared/fixtures/daemonsets is not beside this checkout");
        return;
    };
    assert!(files.len() >= 8, "{files:?}");
    // Create the namespaces the fixtures live in.
    let mut namespaces: Vec<String> = files
        .iter()
        .filter_map(|file| std::fs::read_to_string(file).ok())
        .flat_map(|text| {
            text.lines()
                .filter_map(|line| {
                    line.trim()
                        .strip_prefix("namespace:")
                        .map(|ns| ns.trim().trim_matches('"').to_string())
                })
                .collect::<Vec<_>>()
        })
        .filter(|ns| !ns.is_empty() && ns != "default" && ns != "kube-system")
        .collect();
    namespaces.sort();
    namespaces.dedup();
    for namespace in &namespaces {
        kubectl.apply_stdin(
            &["apply", "-f", "-"],
            &format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {namespace}\n"),
        );
    }
    for file in &files {
        let path = file.to_string_lossy().to_string();
        let output = kubectl.ok(&["apply", "-f", &path]);
        assert!(output.contains("created"), "{path}: {output}");
    }
    let listing = kubectl.ok(&["get", "ds", "-A", "-o", "json"]);
    let list: Value = serde_json::from_str(&listing).expect("JSON");
    assert_eq!(list["items"].as_array().map(Vec::len), Some(files.len()));
    // Fields the simulator does not model come back as they were applied (cilium's lifecycle hooks).
    let cilium = list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|ds| ds["metadata"]["name"] == "cilium")
        .expect("cilium");
    assert_eq!(
        cilium["spec"]["template"]["spec"]["containers"][0]["lifecycle"]["preStop"]["exec"]["command"],
        json!(["/cni-uninstall.sh"])
    );
    drop(simulator);
}

#[test]
fn fields_unknown_to_the_simulator_survive_a_round_trip() {
    let Some((_runtime, simulator, kubectl)) = start() else {
        return;
    };
    let manifest = manifest("agent:1").replace(
        "      containers:\n",
        "      futureSchedulingHint: {gpuClass: a100}\n      containers:\n",
    );
    kubectl.apply_stdin(&["apply", "--validate=false", "-f", "-"], &manifest);
    let stored = stored(&simulator.store, "daemonsets", "apps", "agent").expect("stored");
    assert_eq!(
        stored["spec"]["template"]["spec"]["futureSchedulingHint"],
        json!({"gpuClass": "a100"})
    );
    let printed: Value = serde_json::from_str(&kubectl.ok(&["get", "ds", "agent", "-o", "json"])).expect("JSON");
    assert_eq!(
        printed["spec"]["template"]["spec"]["futureSchedulingHint"]["gpuClass"],
        "a100"
    );
}
