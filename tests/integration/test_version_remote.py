"""`meshctl version --remote` against a cluster: the lines of product.md §5 and the JSON shape of cluster.md §7."""

from __future__ import annotations

import json

import yaml

import meshctl
from tests.integration import install_helpers as h
from tests.integration.conftest import Backend
from tests.unit.ops.test_version import istiod, pod, seed

CLIENT_LINE = f"client version: {meshctl.ISTIO_VERSION} (meshctl {meshctl.__version__})"


def version(backend: Backend, *args: str) -> h.CliResult:
    result = h.run_unchecked("version", "--remote", *args, "--kubeconfig", str(backend.kubeconfig))
    assert result.exit_code == 0, result.stderr
    return result


def test_after_install_control_and_data_plane(backend: Backend) -> None:
    if backend.api is not None:
        backend.api.controllers.create_pods = True  # the real control plane's nodes run pods anyway
    backend.meshctl("install", "-y")
    result = version(backend)
    assert result.stdout.splitlines() == [
        CLIENT_LINE,
        "control plane version: 1.30.3",
        "data plane version: 1.30.3 (1 proxies)",  # the ingress gateway
    ]
    assert result.stderr == ""
    data = json.loads(version(backend, "-o", "json").stdout)
    assert data == {
        "clientVersion": {"version": "1.30.3", "istioVersion": "1.30.3", "meshctlVersion": meshctl.__version__},
        "meshVersion": [{"component": "istiod", "revision": "default", "version": "1.30.3", "pods": 1}],
        "dataPlaneVersion": [{"version": "1.30.3", "proxies": 1}],
    }
    assert yaml.safe_load(version(backend, "-o", "yaml").stdout) == data
    assert version(backend, "-o", "jsonpath={.meshVersion[0].version}").stdout == "1.30.3\n"
    assert version(backend, "--short").stdout == result.stdout


def test_several_data_plane_versions(backend: Backend) -> None:
    api = backend.require_apiserver()
    seed(
        api,
        istiod(),
        pod("shop", image="docker.io/istio/proxyv2:1.29.2"),
        pod("shop"),
        pod("shop"),
        pod("books", init=True),
    )
    assert version(backend).stdout.splitlines() == [
        CLIENT_LINE,
        "control plane version: 1.30.3",
        "data plane version: 1.29.2 (1 proxies), 1.30.3 (3 proxies)",
    ]


def test_two_control_plane_versions_and_no_proxies(backend: Backend) -> None:
    api = backend.require_apiserver()
    seed(api, istiod("1.30.3"), istiod("1.29.2", revision="old"))
    result = version(backend)
    assert result.stdout.splitlines()[1:] == ["control plane version: 1.29.2, 1.30.3", "data plane version: none"]
    meshes = json.loads(version(backend, "-o", "json").stdout)["meshVersion"]
    assert [(m["revision"], m["version"]) for m in meshes] == [("default", "1.30.3"), ("old", "1.29.2")]


def test_no_control_plane_prints_the_client_line_and_says_why(backend: Backend) -> None:
    result = version(backend)
    assert result.stdout == CLIENT_LINE + "\n"
    assert result.stderr == 'Istio is not present in the cluster: no running Istio pods in namespace "istio-system"\n'
    data = json.loads(version(backend, "-o", "json").stdout)
    assert data["meshVersion"] == []


def test_another_istio_namespace(backend: Backend) -> None:
    api = backend.require_apiserver()
    seed(api, pod("mesh", image="docker.io/istio/pilot:1.30.1", container="discovery", labels={"app": "istiod"}))
    assert version(backend, "-i", "mesh").stdout.splitlines()[1] == "control plane version: 1.30.1"
    missing = version(backend, "--istioNamespace", "istio-system")
    assert missing.stderr.endswith('no running Istio pods in namespace "istio-system"\n')


def test_without_remote_no_cluster_is_contacted(backend: Backend) -> None:
    backend.requests.clear()
    result = h.run_unchecked("version", "--kubeconfig", str(backend.kubeconfig))
    assert result.stdout == CLIENT_LINE + "\n"
    assert backend.requests.entries == []
