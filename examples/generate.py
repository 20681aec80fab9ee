#!/usr/bin/env python3
"""Writes the example dumps in this folder (`python3 examples/generate.py`; needs PyYAML).

Each dump is what `kubectl get ds,nodes,pods,controllerrevisions -A -o yaml` prints for a small
cluster at 2026-11-25T12:00:00Z. ControllerRevision data is the DaemonSet's template wrapped the
way kube-controller-manager stores it: {"spec":{"template":{"$patch":"replace", ...}}}.
"""
import copy
import pathlib
import sys

import yaml

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent
NOW = "2026-11-25T12:00:00Z"


def ts(seconds_before_now):
    from datetime import datetime, timedelta, timezone

    base = datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)
    return (base - timedelta(seconds=seconds_before_now)).strftime("%Y-%m-%dT%H:%M:%SZ")


def node(name, zone, ready=True, taints=None, labels=None):
    all_labels = {
        "kubernetes.io/hostname": name,
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64",
        "topology.kubernetes.io/zone": zone,
        "topology.kubernetes.io/region": "eu-west-1",
        "node.kubernetes.io/instance-type": "m6i.large",
    }
    all_labels.update(labels or {})
    status = "True" if ready else "Unknown"
    obj = {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": name, "uid": f"uid-{name}", "labels": all_labels, "creationTimestamp": ts(86400 * 30)},
        "spec": {},
        "status": {
            "conditions": [{"type": "Ready", "status": status, "lastTransitionTime": ts(600 if not ready else 86400)}],
            "nodeInfo": {"kubeletVersion": "v1.35.0"},
        },
    }
    if taints:
        obj["spec"]["taints"] = taints
    return obj


def template(app, image, extra_spec=None):
    spec = {
        "containers": [
            {
                "name": app,
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "ports": [{"containerPort": 9100, "name": "metrics", "protocol": "TCP"}],
                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
            }
        ],
        "dnsPolicy": "ClusterFirst",
        "restartPolicy": "Always",
        "schedulerName": "default-scheduler",
        "securityContext": {},
        "terminationGracePeriodSeconds": 30,
    }
    spec.update(extra_spec or {})
    return {"metadata": {"labels": {"app": app}}, "spec": spec}


def daemon_set(namespace, name, tmpl, generation, strategy, min_ready=0, status=None):
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "uid": f"uid-{name}",
            "generation": generation,
            "annotations": {"deprecated.daemonset.template.generation": str(generation)},
            "creationTimestamp": ts(86400 * 7),
        },
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": tmpl,
            "updateStrategy": strategy,
            "minReadySeconds": min_ready,
            "revisionHistoryLimit": 10,
        },
        "status": status or {},
    }


def revision(ds, number, hash_, tmpl):
    data_template = copy.deepcopy(tmpl)
    data_template["$patch"] = "replace"
    return {
        "apiVersion": "apps/v1",
        "kind": "ControllerRevision",
        "metadata": {
            "name": f"{ds['metadata']['name']}-{hash_}",
            "namespace": ds["metadata"]["namespace"],
            "uid": f"uid-rev-{hash_}",
            "labels": {"app": ds["metadata"]["name"], "controller-revision-hash": hash_},
            "ownerReferences": [owner(ds)],
        },
        "revision": number,
        "data": {"spec": {"template": data_template}},
    }


def owner(ds):
    return {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "name": ds["metadata"]["name"],
        "uid": ds["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def pod(ds, node_name, suffix, hash_, generation, tmpl, created, ready_since=None, phase="Running"):
    name = f"{ds['metadata']['name']}-{suffix}"
    conditions = []
    if ready_since is not None:
        conditions.append({"type": "Ready", "status": "True", "lastTransitionTime": ts(ready_since)})
    else:
        conditions.append({"type": "Ready", "status": "False", "lastTransitionTime": ts(min(created, 30))})
    spec = copy.deepcopy(tmpl["spec"])
    spec["nodeName"] = node_name
    spec["affinity"] = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node_name]}]}]
            }
        }
    }
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": ds["metadata"]["namespace"],
            "uid": f"uid-{name}",
            "labels": {
                "app": ds["metadata"]["name"],
                "controller-revision-hash": hash_,
                "pod-template-generation": str(generation),
            },
            "ownerReferences": [owner(ds)],
            "creationTimestamp": ts(created),
        },
        "spec": spec,
        "status": {"phase": phase, "conditions": conditions},
    }


def rolling_12_nodes():
    """node-exporter rolling from v1.8.0 to v1.8.1 with maxUnavailable 2; worker-07 is NotReady."""
    old_t = template("node-exporter", "quay.io/prometheus/node-exporter:v1.8.0")
    new_t = template("node-exporter", "quay.io/prometheus/node-exporter:v1.8.1")
    ds = daemon_set(
        "monitoring",
        "node-exporter",
        new_t,
        2,
        {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 2, "maxSurge": 0}},
        status={"desiredNumberScheduled": 11, "currentNumberScheduled": 11, "numberMisscheduled": 1,
                "numberReady": 10, "updatedNumberScheduled": 5, "numberAvailable": 10,
                "numberUnavailable": 1, "observedGeneration": 2},
    )
    zones = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    not_ready_taints = [
        {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule", "timeAdded": ts(590)},
        {"key": "node.kubernetes.io/unreachable", "effect": "NoExecute", "timeAdded": ts(580)},
    ]
    items = []
    for i in range(1, 13):
        name = f"worker-{i:02d}"
        items.append(node(name, zones[i % 3], ready=(i != 7), taints=not_ready_taints if i == 7 else None))
    items += [ds, revision(ds, 1, "5f7c8d9b4", old_t), revision(ds, 2, "6b49d8c7f5", new_t)]
    for i in range(1, 13):
        name = f"worker-{i:02d}"
        if i <= 4:
            items.append(pod(ds, name, f"n{i:02d}x", "6b49d8c7f5", 2, new_t, created=240 - i * 20, ready_since=200 - i * 20))
        elif i == 5:
            items.append(pod(ds, name, "n05x", "6b49d8c7f5", 2, new_t, created=8))
        elif i == 7:
            items.append(pod(ds, name, "o07y", "5f7c8d9b4", 1, old_t, created=86400))
        else:
            items.append(pod(ds, name, f"o{i:02d}y", "5f7c8d9b4", 1, old_t, created=86400, ready_since=86000))
    return items


def surge_rollout():
    """log-agent rolling with maxSurge 25% (maxUnavailable 0) and minReadySeconds 10 on 8 nodes."""
    old_t = template("log-agent", "registry.example.com/log-agent:2.3.0")
    new_t = template("log-agent", "registry.example.com/log-agent:2.4.0")
    ds = daemon_set(
        "logging",
        "log-agent",
        new_t,
        5,
        {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": "25%"}},
        min_ready=10,
        status={"desiredNumberScheduled": 8, "currentNumberScheduled": 8, "numberReady": 8,
                "updatedNumberScheduled": 2, "numberAvailable": 8, "observedGeneration": 5},
    )
    items = [node(f"node-{i}", ["a", "b"][i % 2]) for i in range(1, 9)]
    items += [ds, revision(ds, 4, "7f9b5c64d8", old_t), revision(ds, 5, "85d6f4c9b", new_t)]
    for i in range(1, 9):
        name = f"node-{i}"
        if i <= 2:
            items.append(pod(ds, name, f"new{i}", "85d6f4c9b", 5, new_t, created=120, ready_since=100))
            continue
        items.append(pod(ds, name, f"old{i}", "7f9b5c64d8", 4, old_t, created=86400, ready_since=86000))
        if i == 3:
            items.append(pod(ds, name, "new3", "85d6f4c9b", 5, new_t, created=20, ready_since=5))
        if i == 4:
            items.append(pod(ds, name, "new4", "85d6f4c9b", 5, new_t, created=40, ready_since=12))
    return items


def fresh_install():
    """flannel and fluent-bit (from shared/fixtures) on a new 5-node cluster with a control-plane node."""
    fixtures = ROOT.parent / "shared" / "fixtures" / "daemonsets"
    items = [
        node("cp-1", "a", taints=[{"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}],
             labels={"node-role.kubernetes.io/control-plane": ""}),
        node("worker-1", "a"),
        node("worker-2", "b"),
        node("worker-3", "c", taints=[{"key": "dedicated", "value": "gpu", "effect": "NoExecute"}]),
        node("win-1", "a", labels={"kubernetes.io/os": "windows"}),
    ]
    for fixture in ["flannel.yaml", "fluent-bit.yaml"]:
        text = (fixtures / fixture).read_text()
        for doc in yaml.safe_load_all(text):
            if doc and doc.get("kind") == "DaemonSet":
                doc["metadata"].setdefault("uid", f"uid-{doc['metadata']['name']}")
                doc["metadata"].setdefault("generation", 1)
                items.append(doc)
    return items


def write(name, items, comment):
    body = yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": items}, sort_keys=False, width=120)
    (HERE / name).write_text(f"# {comment}\n# Generated by examples/generate.py; `now` is {NOW}.\n" + body)


if __name__ == "__main__":
    write("rolling-12-nodes.yaml", rolling_12_nodes(), rolling_12_nodes.__doc__)
    write("surge-rollout.yaml", surge_rollout(), surge_rollout.__doc__)
    try:
        write("fresh-install.yaml", fresh_install(), fresh_install.__doc__)
    except FileNotFoundError as error:
        sys.exit(f"shared fixtures not found beside the checkout: {error}")
