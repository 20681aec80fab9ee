//! API-server behaviour over HTTP through kube-rs: pagination, dry runs, every patch type,
//! optimistic concurrency, delete preconditions, finalizers, generateName, watch semantics, and
//! Events served as core/v1 and events.k8s.io/v1 from one store.

use std::time::Duration;

use daemonroll::sim::cluster::{SimConfig, Simulator};
use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::{DeleteParams, ListParams, PostParams, Preconditions, WatchEvent, WatchParams};
use serde_json::{Value, json};

async fn setup() -> (Simulator, kube::Client, Api<Pod>) {
    // No nodes: pods stay unscheduled, so only the test changes them.
    let simulator = Simulator::start(SimConfig {
        nodes: 0,
        ..SimConfig::default()
    })
    .await
    .expect("starts");
    let client = kube::Client::try_from(kube::Config::new(simulator.url().parse().expect("URL"))).expect("client");
    let pods = Api::namespaced(client.clone(), "default");
    (simulator, client, pods)
}

fn pod(name: &str, labels: Value) -> Pod {
    serde_json::from_value(json!({"metadata": {"name": name, "labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "i:1"}]}}))
    .expect("pod JSON")
}

async fn raw(
    client: &kube::Client,
    method: &str,
    path: &str,
    content_type: &str,
    body: Value,
) -> Result<Value, kube::Error> {
    let request = http::Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type)
        .body(serde_json::to_vec(&body).expect("JSON"))
        .expect("request");
    client
        .request_text(request)
        .await
        .map(|text| serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn code(error: &kube::Error) -> Option<u16> {
    match error {
        kube::Error::Api(status) => Some(status.code),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lists_page_with_limit_and_continue() {
    let (_simulator, _client, pods) = setup().await;
    for i in 0..7 {
        pods.create(&PostParams::default(), &pod(&format!("p{i}"), json!({"app": "a"})))
            .await
            .expect("create");
    }
    let mut names = Vec::new();
    let mut params = ListParams::default().limit(3);
    let mut pages = 0;
    loop {
        let page = pods.list(&params).await.expect("list");
        pages += 1;
        names.extend(page.items.iter().filter_map(|p| p.metadata.name.clone()));
        match page.metadata.continue_.filter(|c| !c.is_empty()) {
            Some(token) => params = ListParams::default().limit(3).continue_token(&token),
            None => break,
        }
    }
    assert_eq!((pages, names.len()), (3, 7));
    let selected = pods
        .list(
            &ListParams::default()
                .labels("app in (a,b),!missing")
                .fields("metadata.name=p3"),
        )
        .await
        .expect("list");
    assert_eq!(selected.items.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_honour_dry_run_generate_name_and_resource_versions() {
    let (simulator, client, pods) = setup().await;
    let dry = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    let previewed = pods
        .create(&dry, &pod("ghost", json!({})))
        .await
        .expect("dry-run create");
    assert_eq!(previewed.metadata.name.as_deref(), Some("ghost"));
    assert!(
        pods.get_opt("ghost").await.expect("get").is_none(),
        "a dry run stores nothing"
    );

    let generated: Pod = serde_json::from_value(json!({"metadata": {"generateName": "agent-"},
        "spec": {"containers": [{"name": "c", "image": "i:1"}]}}))
    .expect("JSON");
    let created = pods.create(&PostParams::default(), &generated).await.expect("create");
    let name = created.metadata.name.clone().unwrap_or_default();
    assert!(name.starts_with("agent-") && name.len() == "agent-".len() + 5, "{name}");

    // Optimistic concurrency: a replace with a stale resourceVersion is refused with 409.
    let mut stale = created.clone();
    pods.patch(
        &name,
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"metadata": {"labels": {"x": "1"}}})),
    )
    .await
    .expect("patch");
    stale.metadata.labels = Some([("y".to_string(), "2".to_string())].into());
    let conflict = pods
        .replace(&name, &PostParams::default(), &stale)
        .await
        .expect_err("stale replace");
    assert_eq!(code(&conflict), Some(409));

    // JSON patch, over raw HTTP.
    let path = format!("/api/v1/namespaces/default/pods/{name}");
    let ops = json!([{"op": "add", "path": "/metadata/labels/z", "value": "3"}]);
    let patched = raw(&client, "PATCH", &path, "application/json-patch+json", ops)
        .await
        .expect("JSON patch");
    assert_eq!(patched["metadata"]["labels"], json!({"x": "1", "z": "3"}));
    let failing = json!([{"op": "test", "path": "/metadata/labels/x", "value": "nope"}]);
    let error = raw(&client, "PATCH", &path, "application/json-patch+json", failing)
        .await
        .expect_err("failed test op");
    assert_eq!(code(&error), Some(422));
    // The simulated scheduler also writes (the pod is unschedulable: no nodes); count the client's writes.
    let client_writes = simulator
        .store
        .timeline()
        .iter()
        .filter(|w| w.name == name && !w.actor.starts_with("sim-"))
        .count();
    assert_eq!(
        client_writes, 3,
        "create, merge patch, JSON patch: the refused writes wrote nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletes_check_preconditions_and_wait_for_finalizers() {
    let (_simulator, _client, pods) = setup().await;
    let mut guarded = pod("guarded", json!({}));
    guarded.metadata.finalizers = Some(vec!["example.com/hold".into()]);
    pods.create(&PostParams::default(), &guarded).await.expect("create");
    let wrong_uid = DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some("not-the-uid".into()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    let refused = pods.delete("guarded", &wrong_uid).await.expect_err("precondition");
    assert_eq!(code(&refused), Some(409));

    pods.delete("guarded", &DeleteParams::default())
        .await
        .expect("delete is accepted");
    let held = pods.get("guarded").await.expect("still there");
    assert!(
        held.metadata.deletion_timestamp.is_some(),
        "marked for deletion while a finalizer holds it"
    );
    pods.patch(
        "guarded",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"metadata": {"finalizers": null}})),
    )
    .await
    .expect("remove the finalizer");
    assert!(
        pods.get_opt("guarded").await.expect("get").is_none(),
        "gone once the last finalizer is removed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_journaled_with_the_identity_a_write_named_and_their_answer() {
    let (simulator, _client, pods) = setup().await;
    let created = pods
        .create(&PostParams::default(), &pod("p", json!({})))
        .await
        .expect("create");
    let uid = created.metadata.uid.clone().unwrap_or_default();
    let by_uid = |uid: &str| DeleteParams {
        preconditions: Some(Preconditions {
            uid: Some(uid.into()),
            resource_version: None,
        }),
        ..DeleteParams::default()
    };
    pods.delete("p", &by_uid("not-the-uid"))
        .await
        .expect_err("precondition");
    pods.patch(
        "p",
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(json!({"metadata": {"uid": uid, "labels": {"a": "b"}}})),
    )
    .await
    .expect("patch naming the uid");
    pods.get("p").await.expect("get");
    pods.delete("p", &DeleteParams::default()).await.expect("delete");
    let journal: Vec<_> = simulator
        .requests
        .entries()
        .into_iter()
        .map(|w| (w.verb, w.resource, w.name, w.uid, w.code))
        .collect();
    let pods = || "pods".to_string();
    assert_eq!(
        journal,
        vec![
            ("create", pods(), String::new(), None, 201),
            ("delete", pods(), "p".into(), Some("not-the-uid".into()), 409),
            ("patch", pods(), "p".into(), Some(uid), 200),
            ("get", pods(), "p".into(), None, 200),
            ("delete", pods(), "p".into(), None, 200),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_follow_selectors_and_send_bookmarks() {
    let (_simulator, _client, pods) = setup().await;
    pods.create(&PostParams::default(), &pod("w1", json!({"app": "a"})))
        .await
        .expect("create");
    let version = pods
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .unwrap_or_default();
    let params = WatchParams::default().labels("app=a").timeout(30);
    let mut stream = pods.watch(&params, &version).await.expect("watch").boxed();
    let relabel = |value: &str| json!({"metadata": {"labels": {"app": value}}});
    pods.patch("w1", &Default::default(), &kube::api::Patch::Merge(relabel("b")))
        .await
        .expect("patch");
    pods.patch("w1", &Default::default(), &kube::api::Patch::Merge(relabel("a")))
        .await
        .expect("patch");
    pods.create(&PostParams::default(), &pod("w2", json!({"app": "other"})))
        .await
        .expect("create");
    pods.delete("w1", &DeleteParams::default()).await.expect("delete");
    let mut kinds = Vec::new();
    while kinds.len() < 3 {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
            .await
            .expect("an event in time")
            .expect("stream");
        match event {
            Some(WatchEvent::Added(p)) => kinds.push(format!("ADDED {}", p.metadata.name.unwrap_or_default())),
            Some(WatchEvent::Modified(p)) => kinds.push(format!("MODIFIED {}", p.metadata.name.unwrap_or_default())),
            Some(WatchEvent::Deleted(p)) => kinds.push(format!("DELETED {}", p.metadata.name.unwrap_or_default())),
            _ => {}
        }
    }
    // Leaving the selector reads as DELETED, coming back as ADDED; w2 never matches.
    assert_eq!(kinds, vec!["DELETED w1", "ADDED w1", "DELETED w1"]);

    let bookmarks = WatchParams {
        bookmarks: true,
        ..WatchParams::default()
    }
    .timeout(30);
    let current = pods
        .list(&ListParams::default())
        .await
        .expect("list")
        .metadata
        .resource_version
        .unwrap_or_default();
    let mut stream = pods.watch(&bookmarks, &current).await.expect("watch").boxed();
    let event = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
        .await
        .expect("a bookmark in time")
        .expect("stream");
    assert!(matches!(event, Some(WatchEvent::Bookmark(_))), "{event:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binding_subresource_assigns_a_node_once() {
    let (simulator, client, pods) = setup().await;
    // A real node (a pod bound to a missing node is collected), and a nodeSelector no node has, so
    // that the simulated scheduler leaves the binding to this test.
    simulator.fleet.add_node("node-7", 7).expect("node");
    let mut unschedulable = pod("b1", json!({}));
    if let Some(spec) = unschedulable.spec.as_mut() {
        spec.node_selector = Some([("pool".to_string(), "none".to_string())].into());
    }
    pods.create(&PostParams::default(), &unschedulable)
        .await
        .expect("create");
    let path = "/api/v1/namespaces/default/pods/b1/binding";
    let binding = json!({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": "b1"}, "target": {"kind": "Node", "name": "node-7"}});
    raw(&client, "POST", path, "application/json", binding.clone())
        .await
        .expect("bind");
    assert_eq!(
        pods.get("b1")
            .await
            .expect("get")
            .spec
            .and_then(|s| s.node_name)
            .as_deref(),
        Some("node-7")
    );
    let again = raw(&client, "POST", path, "application/json", binding)
        .await
        .expect_err("already bound");
    assert_eq!(code(&again), Some(409));
}

fn core_event(name: &str, uid: &str) -> k8s_openapi::api::core::v1::Event {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default"},
        "involvedObject": {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "namespace": "default", "uid": uid},
        "reason": "SuccessfulCreate", "message": "Created pod: agent-x", "type": "Normal",
        "source": {"component": "daemonset-controller"}, "count": 1,
    }))
    .expect("core/v1 Event JSON")
}

fn events_k8s_io_event(name: &str, uid: &str) -> k8s_openapi::api::events::v1::Event {
    serde_json::from_value(json!({
        "metadata": {"name": name, "namespace": "default"},
        "eventTime": "2026-12-05T10:00:00.000000Z", "reportingController": "daemonroll", "reportingInstance": "daemonroll-0",
        "action": "Create", "reason": "SuccessfulCreate", "note": "Created pod: agent-y", "type": "Normal",
        "regarding": {"apiVersion": "apps/v1", "kind": "DaemonSet", "name": "agent", "namespace": "default", "uid": uid},
    }))
    .expect("events.k8s.io/v1 Event JSON")
}

/// The next ADDED object of a watch, within 10 s.
async fn next_added<K>(stream: &mut (impl futures::Stream<Item = kube::Result<WatchEvent<K>>> + Unpin)) -> K {
    loop {
        let event = tokio::time::timeout(Duration::from_secs(10), stream.try_next())
            .await
            .expect("an event in time")
            .expect("stream");
        if let Some(WatchEvent::Added(object)) = event {
            return object;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watches_of_either_event_view_see_events_written_through_the_other() {
    let (_simulator, client, _pods) = setup().await;
    let core: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client.clone(), "default");
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client, "default");
    let params = WatchParams::default().timeout(30);
    let mut core_watch = core.watch(&params, "0").await.expect("watch").boxed();
    let mut events_watch = events.watch(&params, "0").await.expect("watch").boxed();

    core.create(&PostParams::default(), &core_event("written-as-core", "u1"))
        .await
        .expect("create");
    let seen = next_added(&mut events_watch).await;
    assert_eq!(
        (seen.metadata.name.as_deref(), seen.note.as_deref()),
        (Some("written-as-core"), Some("Created pod: agent-x"))
    );
    assert_eq!(
        seen.deprecated_source.and_then(|s| s.component).as_deref(),
        Some("daemonset-controller")
    );

    events
        .create(&PostParams::default(), &events_k8s_io_event("written-as-events", "u1"))
        .await
        .expect("create");
    let mut seen = next_added(&mut core_watch).await;
    if seen.metadata.name.as_deref() == Some("written-as-core") {
        seen = next_added(&mut core_watch).await;
    }
    assert_eq!(
        (
            seen.metadata.name.as_deref(),
            seen.message.as_deref(),
            seen.reporting_component.as_deref(),
            seen.involved_object.name.as_deref()
        ),
        (
            Some("written-as-events"),
            Some("Created pod: agent-y"),
            Some("daemonroll"),
            Some("agent")
        )
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_describes_field_selectors_find_events_written_through_events_k8s_io() {
    let (_simulator, client, _pods) = setup().await;
    let core: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client.clone(), "default");
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client, "default");
    events
        .create(&PostParams::default(), &events_k8s_io_event("about-u1", "u1"))
        .await
        .expect("create");
    events
        .create(&PostParams::default(), &events_k8s_io_event("about-u2", "u2"))
        .await
        .expect("create");
    let names = |list: kube::core::ObjectList<k8s_openapi::api::core::v1::Event>| -> Vec<String> {
        list.items.into_iter().filter_map(|e| e.metadata.name).collect()
    };
    let describe = "involvedObject.name=agent,involvedObject.namespace=default,involvedObject.kind=DaemonSet,involvedObject.uid=u1";
    let found = core.list(&ListParams::default().fields(describe)).await.expect("list");
    assert_eq!(names(found), ["about-u1"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_patch_through_events_k8s_io_changes_the_core_view() {
    let (_simulator, client, _pods) = setup().await;
    let core: Api<k8s_openapi::api::core::v1::Event> = Api::namespaced(client.clone(), "default");
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(client, "default");
    events
        .create(&PostParams::default(), &events_k8s_io_event("repeated", "u1"))
        .await
        .expect("create");
    // kube-runtime's recorder records a repeat this way.
    let series = json!({"series": {"count": 2, "lastObservedTime": "2026-12-05T10:01:00.000000Z"}, "note": "again"});
    events
        .patch("repeated", &Default::default(), &kube::api::Patch::Merge(series))
        .await
        .expect("patch");
    let read = core.get("repeated").await.expect("get");
    assert_eq!(
        (
            read.series.and_then(|s| s.count),
            read.message.as_deref(),
            read.involved_object.uid.as_deref()
        ),
        (Some(2), Some("again"), Some("u1"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_kube_apiserver_refuses_is_refused_with_its_causes_and_nothing_written() {
    let (simulator, _client, pods) = setup().await;
    let huge_annotation = json!({"metadata": {"name": "annotated", "annotations": {"example.com/blob": "x".repeat(1 << 20)}},
                                 "spec": {"containers": [{"name": "c", "image": "i:1"}]}});
    let refused = pods
        .create(
            &PostParams::default(),
            &serde_json::from_value(huge_annotation).expect("pod JSON"),
        )
        .await
        .expect_err("a 1 MiB annotation");
    let kube::Error::Api(status) = &refused else {
        panic!("an API error, not {refused:?}");
    };
    assert_eq!(
        (status.code, status.reason.as_str(), status.message.as_str()),
        (
            422,
            "Invalid",
            "Pod \"annotated\" is invalid: metadata.annotations: Too long: must have at most 262144 bytes"
        )
    );
    pods.create(&PostParams::default(), &pod("labelled", json!({"app": "a"})))
        .await
        .expect("a valid pod");
    let long_value = json!({"metadata": {"labels": {"app": "v".repeat(64)}}});
    let error = pods
        .patch(
            "labelled",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(long_value),
        )
        .await
        .expect_err("a 64-character label value");
    assert_eq!(code(&error), Some(422));
    let stored = pods.get("labelled").await.expect("still there");
    assert_eq!(
        stored
            .metadata
            .labels
            .and_then(|labels| labels.get("app").cloned())
            .as_deref(),
        Some("a")
    );
    let written: Vec<String> = simulator
        .store
        .timeline()
        .iter()
        .filter(|w| w.kind == "Pod" && !w.actor.starts_with("sim-"))
        .map(|w| format!("{} {}", w.verb, w.name))
        .collect();
    assert_eq!(written, ["create labelled"], "the refused writes wrote nothing");
}
