"""The version use case: image tags, grouping of control-plane pods and proxies, the JSON shape (cluster.md §7)."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

import meshctl
from meshctl.kube import client as kclient
from meshctl.ops import version as ops_version
from tests.apiserver.server import ApiServer

_names = itertools.count()


def pod(
    namespace: str,
    *,
    image: str = "docker.io/istio/proxyv2:1.30.3",
    container: str = "istio-proxy",
    labels: dict[str, str] | None = None,
    phase: str = "Running",
    ready: bool = True,
    init: bool = False,
    name: str = "",
) -> dict[str, Any]:
    """A pod as kubelet reports it: one container (or a native sidecar among init containers) next to the app."""
    proxy = {"name": container, "image": image}
    spec: dict[str, Any] = {"containers": [{"name": "app", "image": "docker.io/library/nginx:1.27"}]}
    if init:
        spec["initContainers"] = [{**proxy, "restartPolicy": "Always"}]
    else:
        spec["containers"].append(proxy)
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name or f"pod-{next(_names)}", "namespace": namespace, "labels": labels or {}},
        "spec": spec,
        "status": {
            "phase": phase,
            "conditions": [{"type": "Ready", "status": "True" if ready else "False"}],
        },
    }


def istiod(version: str = "1.30.3", revision: str = "", **kwargs: Any) -> dict[str, Any]:
    labels = {"app": "istiod", **({"istio.io/rev": revision} if revision else {})}
    return pod("istio-system", image=f"docker.io/istio/pilot:{version}", container="discovery", labels=labels, **kwargs)


def seed(api: ApiServer, *pods: dict[str, Any]) -> None:
    for namespace in sorted({p["metadata"]["namespace"] for p in pods}):
        if api.objects.get("namespaces", namespace) is None:
            api.objects.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
    for p in pods:
        api.objects.put(p)


@pytest.mark.parametrize(
    ("image", "version"),
    [
        ("docker.io/istio/proxyv2:1.30.3", "1.30.3"),
        ("docker.io/istio/proxyv2:1.29.2-distroless", "1.29.2"),
        ("gcr.io/istio-testing/proxyv2:1.31-alpha.abc123", "1.31-alpha.abc123"),
        ("localhost:5000/istio/pilot:1.30.0-debug", "1.30.0"),
        ("localhost:5000/istio/pilot", None),
        ("istio/pilot@sha256:" + "0" * 64, None),
        ("istio/pilot:1.30.3@sha256:" + "0" * 64, "1.30.3"),
        ("", None),
    ],
)
def test_image_version(image: str, version: str | None) -> None:
    assert ops_version.image_version(image) == version


def test_pod_version_falls_back_to_labels_then_unknown() -> None:
    untagged = {"name": "istio-proxy", "image": "registry.local/proxyv2"}
    labelled = pod("x", labels={"app.kubernetes.io/version": "1.28.1", "version": "v9"})
    assert ops_version.pod_version(labelled, untagged) == "1.28.1"
    assert ops_version.pod_version(pod("x", labels={"version": "1.27.0"}), untagged) == "1.27.0"
    assert ops_version.pod_version(pod("x"), untagged) == "unknown"
    assert ops_version.pod_version(pod("x"), None) == "unknown"


def test_versions_sort_numerically_with_names_last() -> None:
    versions = ["1.10.0", "unknown", "1.9.2", "1.30.3", "1.9.10"]
    assert sorted(versions, key=ops_version.version_key) == ["1.9.2", "1.9.10", "1.10.0", "1.30.3", "unknown"]


def test_client_version_and_json_without_a_cluster() -> None:
    assert ops_version.as_json(None) == {
        "clientVersion": {
            "version": meshctl.ISTIO_VERSION,
            "istioVersion": meshctl.ISTIO_VERSION,
            "meshctlVersion": meshctl.__version__,
        }
    }


def test_several_data_plane_versions_are_grouped_and_counted(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    seed(
        apiserver,
        istiod(),
        pod("istio-system", labels={"app": "istio-ingressgateway"}),  # a gateway is a proxy too
        pod("shop", image="docker.io/istio/proxyv2:1.29.2"),
        pod("shop"),
        pod("shop", init=True),  # a native sidecar
        pod("shop", image="docker.io/istio/proxyv2:1.30.3-distroless"),
        pod("shop", image="docker.io/istio/proxyv2:1.30.3", phase="Succeeded"),  # finished: not a proxy any more
        pod("shop", container="istio-init"),  # not the proxy
        pod("other", image="docker.io/istio/proxyv2:1.10.0", ready=False),  # running though not ready: counted
    )
    mesh = ops_version.remote_versions(kube)
    assert mesh.control_plane == (ops_version.ComponentVersion("istiod", "default", "1.30.3", 1),)
    assert mesh.data_plane == (
        ops_version.ProxyVersion("1.10.0", 1),
        ops_version.ProxyVersion("1.29.2", 1),
        ops_version.ProxyVersion("1.30.3", 4),
    )
    doc = ops_version.as_json(mesh)
    assert doc["meshVersion"] == [{"component": "istiod", "revision": "default", "version": "1.30.3", "pods": 1}]
    assert doc["dataPlaneVersion"][-1] == {"version": "1.30.3", "proxies": 4}


def test_control_plane_counts_ready_istiod_pods_per_revision_and_version(
    apiserver: ApiServer, kube: kclient.RestClient
) -> None:
    seed(
        apiserver,
        istiod(),
        istiod(),
        istiod("1.29.2", revision="old"),
        istiod("1.30.3", revision="canary", ready=False),  # not ready: not running the mesh
        istiod("1.30.3", phase="Pending", ready=False),
        pod("elsewhere", image="docker.io/istio/pilot:1.28.0", container="discovery", labels={"app": "istiod"}),
    )
    mesh = ops_version.remote_versions(kube)
    assert mesh.control_plane == (
        ops_version.ComponentVersion("istiod", "default", "1.30.3", 2),
        ops_version.ComponentVersion("istiod", "old", "1.29.2", 1),
    )
    assert mesh.control_plane_versions == ["1.29.2", "1.30.3"]
    assert mesh.data_plane == ()


def test_a_terminating_istiod_pod_is_not_counted(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    going = istiod(name="istiod-old")
    going["metadata"]["finalizers"] = ["test.meshctl.io/hold"]  # keeps it, terminating, after the delete
    seed(apiserver, going)
    apiserver.objects.delete("pods", "istiod-old", "istio-system")
    held = apiserver.objects.get("pods", "istiod-old", "istio-system")
    assert held is not None
    assert held["metadata"]["deletionTimestamp"]
    assert ops_version.remote_versions(kube).control_plane == ()


def test_no_control_plane(kube: kclient.RestClient) -> None:
    mesh = ops_version.remote_versions(kube, "istio-system")
    assert mesh.control_plane == ()
    assert mesh.data_plane == ()
    assert mesh.namespace == "istio-system"
    assert ops_version.as_json(mesh)["meshVersion"] == []


def test_another_istio_namespace(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    seed(apiserver, pod("mesh", image="docker.io/istio/pilot:1.30.1", container="discovery", labels={"app": "istiod"}))
    assert ops_version.remote_versions(kube, "istio-system").control_plane == ()
    assert ops_version.remote_versions(kube, "mesh").control_plane_versions == ["1.30.1"]


def test_remote_versions_cost_two_lists(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    seed(apiserver, istiod(), pod("shop"))
    ops_version.remote_versions(kube)
    apiserver.requests.clear()
    ops_version.remote_versions(kube)
    assert [(e.verb, e.resource, e.namespace) for e in apiserver.requests.entries] == [
        ("list", "pods", "istio-system"),
        ("list", "pods", ""),
    ]


def test_the_client_version_imports_no_cluster_code() -> None:
    """`meshctl version` without --remote is a start-up benchmark (B1): it must not load the client layer."""
    import subprocess
    import sys

    probe = (
        "import sys, contextlib, io\n"
        "from meshctl.cli import app\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    assert app.run(['version']) == 0\n"
        "print(sorted(m for m in sys.modules if m.startswith(('meshctl.kube', 'kubernetes'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out == "[]\n"
