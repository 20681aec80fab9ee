#!/usr/bin/env python3
"""Writes the committed seed corpus of the fuzz targets (`python3 fuzz/make_seeds.py`; needs PyYAML).

fuzz/seeds/dump_reader/    `daemonroll plan -f` dumps: slices of examples/, the shared DaemonSet
                           fixtures with a node, and hostile shapes in small sizes.
fuzz/seeds/json_snapshot/  watch streams (`{"type": "ADDED", "object": ...}` one after another).

Seeds stay small (a few KB each): libFuzzer mutates short inputs far faster, and its -max_len
defaults to the largest seed. Files named crash-* are inputs a fuzz run once crashed on; they are
kept by hand, not written here. `tests/fuzz_corpus.rs` replays every file in `cargo test`.
"""
import copy
import json
import pathlib

import yaml

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
FIXTURES = ROOT.parent / "shared" / "fixtures" / "daemonsets"
if not FIXTURES.is_dir():
    FIXTURES = pathlib.Path("/work/shared/fixtures/daemonsets")
DUMPS = HERE / "seeds" / "dump_reader"
WATCHES = HERE / "seeds" / "json_snapshot"


def example(name):
    return yaml.safe_load((ROOT / "examples" / name).read_text())["items"]


def of_kind(items, kind, count=None):
    found = [item for item in items if item["kind"] == kind]
    return found if count is None else found[:count]


def slim(items, nodes, pods):
    """The DaemonSets and revisions of an example with its first nodes and the pods on them."""
    kept_nodes = of_kind(items, "Node", nodes)
    names = {node["metadata"]["name"] for node in kept_nodes}
    kept_pods = [pod for pod in of_kind(items, "Pod") if pod["spec"].get("nodeName") in names][:pods]
    return kept_nodes + of_kind(items, "DaemonSet") + of_kind(items, "ControllerRevision") + kept_pods


def as_list(items):
    return {"apiVersion": "v1", "kind": "List", "items": items}


def node(name, **extra):
    obj = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": {"kubernetes.io/os": "linux"}},
           "status": {"conditions": [{"type": "Ready", "status": "True"}]}}
    obj.update(extra)
    return obj


def daemon_set(name, template_spec=None, **metadata):
    spec = template_spec or {"containers": [{"name": "agent", "image": "agent:1"}]}
    return {"apiVersion": "apps/v1", "kind": "DaemonSet",
            "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "generation": 1, **metadata},
            "spec": {"selector": {"matchLabels": {"app": name}},
                     "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}


def pod(name, node_name, app, owner=None, owner_kind="DaemonSet"):
    obj = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": name, "namespace": "default", "uid": f"uid-{name}", "labels": {"app": app},
                        "creationTimestamp": "2026-11-25T10:00:00Z"},
           "spec": {"nodeName": node_name, "containers": [{"name": "agent", "image": "agent:1"}]},
           "status": {"phase": "Running",
                      "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-25T11:00:00Z"}]}}
    if owner:
        obj["metadata"]["ownerReferences"] = [
            {"apiVersion": "apps/v1", "kind": owner_kind, "name": owner, "uid": f"uid-{owner}", "controller": True}]
    return obj


def write(folder, name, data):
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (folder / name).write_bytes(data)


def yaml_docs(*objects):
    return "---\n".join(yaml.safe_dump(obj, default_flow_style=None, width=200) for obj in objects)


def hostile():
    """Small versions of the hostile shapes (the full sizes are in tests/hostile_dump.rs)."""
    tolerations = [{"key": f"k{i}", "operator": "Exists", "effect": "NoSchedule"} for i in range(40)]
    future_spec = {
        "containers": [{"name": "agent", "image": "agent:1", "futureContainerField": {"x": 1},
                        "resizePolicy": [{"resourceName": "cpu", "restartPolicy": "NotRequired"}]}],
        "ephemeralContainers": [{"name": "debug", "image": "busybox", "targetContainerName": "agent"}],
        "futurePodField": [1, "two", None],
    }
    return {
        "duplicate-node.yaml": yaml_docs(node("n1"), node("n1"), daemon_set("agent")),
        "duplicate-pod.json": json.dumps(as_list([node("n1"), daemon_set("agent"),
                                                   pod("agent-a", "n1", "agent", "agent"),
                                                   pod("agent-a", "n1", "agent", "agent")])),
        "long-label-value.yaml": yaml_docs(node("n1", metadata={"name": "n1", "labels": {"zone": "z" * 300}}),
                                           daemon_set("agent")),
        "many-tolerations.yaml": yaml_docs(
            node("n1", spec={"taints": [{"key": "k7", "effect": "NoSchedule"}]}),
            daemon_set("agent", {"containers": [{"name": "a", "image": "a"}], "tolerations": tolerations})),
        "large-annotation.json": json.dumps(as_list([node("n1"), daemon_set(
            "agent", annotations={"example.com/blob": "x" * 2000, "daemonroll.io/partition": "y" * 200})])),
        "future-template-fields.json": json.dumps(as_list([node("n1"), daemon_set("agent", future_spec)])),
        "selector-matches-foreign-pods.yaml": yaml_docs(
            node("n1"), node("n2"), daemon_set("agent"),
            pod("web-1", "n1", "agent", "web", "ReplicaSet"), pod("other-ds-1", "n2", "agent", "other")),
        "not-utf8.yaml": b"kind: Node\nmetadata:\n  name: n\xff1\n",
        "anchors.yaml": "kind: List\nitems:\n- &n {kind: Node, metadata: {name: a}}\n- *n\n- {kind: Node, metadata: {name: b}}\n",
        "typed-pod-list.json": json.dumps({"kind": "PodList", "items": [
            {k: v for k, v in pod("p1", "n1", "agent").items() if k != "kind"}]}),
        "json-stream.json": json.dumps(node("n1")) + json.dumps(daemon_set("agent")) + "\n"
                            + json.dumps([pod("agent-x", "n1", "agent", "agent"), None]),
        "coexist-on-delete.yaml": yaml_docs(node("n1"), node("n2"), {
            **daemon_set("agent", annotations={"daemonroll.io/rollout": "managed", "daemonroll.io/rollout-node-selector": "zone=a"}),
            "spec": {**daemon_set("agent")["spec"],
                     "updateStrategy": {"type": "OnDelete", "rollingUpdate": {"maxUnavailable": "50%"}}},
            "status": {"observedGeneration": 1}}, pod("agent-old", "n1", "agent", "agent")),
    }


def dump_seeds():
    rolling = example("rolling-12-nodes.yaml")
    surge = example("surge-rollout.yaml")
    fresh = example("fresh-install.yaml")
    write(DUMPS, "rolling-slice.yaml", yaml.safe_dump(as_list(slim(rolling, 3, 3)), width=200))
    write(DUMPS, "surge-slice.json", json.dumps(as_list(slim(surge, 2, 3))))
    write(DUMPS, "fresh-install-slice.yaml", yaml_docs(*slim(fresh, 3, 0)))
    for fixture in ["flannel.yaml", "fluent-bit.yaml", "nginx-ingress.yaml", "node-problem-detector.yaml"]:
        text = (FIXTURES / fixture).read_text()
        extra = yaml_docs(node("n1", spec={"taints": [{"key": "node-role.kubernetes.io/control-plane",
                                                       "effect": "NoSchedule"}]}))
        write(DUMPS, f"fixture-{fixture}", text.rstrip("\n") + "\n---\n" + extra)
    for name, data in hostile().items():
        write(DUMPS, name, data)


def events(*pairs):
    return "\n".join(json.dumps({"type": kind, "object": obj}) for kind, obj in pairs) + "\n"


def watch_seeds():
    rolling = slim(example("rolling-12-nodes.yaml"), 3, 3)
    write(WATCHES, "rolling-slice.json", events(*[("ADDED", obj) for obj in rolling]))
    ready_pod = of_kind(rolling, "Pod")[0]
    not_ready = copy.deepcopy(ready_pod)
    not_ready["status"]["conditions"][0]["status"] = "False"
    write(WATCHES, "pod-flaps-and-goes.json", events(
        *[("ADDED", obj) for obj in rolling], ("MODIFIED", not_ready), ("MODIFIED", ready_pod),
        ("DELETED", ready_pod), ("BOOKMARK", {"kind": "Pod", "metadata": {"resourceVersion": "9"}}),
        ("DELETED", of_kind(rolling, "Node")[0])))
    fixture = yaml.safe_load((FIXTURES / "kube-router.yaml").read_text())
    write(WATCHES, "fixture-kube-router.json", events(("ADDED", node("n1")), ("ADDED", fixture)))
    for name, data in hostile().items():
        if isinstance(data, bytes):
            write(WATCHES, name.replace(".yaml", ".json"), b'{"type": "ADDED", "object": ' + data + b"}")
            continue
        docs = list(yaml.safe_load_all(data)) if name.endswith(".yaml") else None
        if docs is None:
            try:
                docs = [json.loads(data)]
            except json.JSONDecodeError:
                continue
        objects = []
        for doc in docs:
            if isinstance(doc, dict) and doc.get("kind") == "List":
                objects.extend(doc["items"])
            elif isinstance(doc, dict):
                objects.append(doc)
        stem = name.rsplit(".", 1)[0]
        write(WATCHES, f"{stem}.json", events(*[("ADDED", obj) for obj in objects]))


if __name__ == "__main__":
    dump_seeds()
    watch_seeds()
