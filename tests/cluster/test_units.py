"""The parts of tests/cluster that need no control plane: pins, cache key, go-missing and CI rules, request
classification of the fault proxy, KWOK configuration, socket audit and egress proxy."""

from __future__ import annotations

import os
import pathlib
import re
import socket

import pytest
import yaml

from tests.cluster import build, egress, fixtures, kwok, netaudit
from tests.cluster.faultproxy import request_info

GO_MAX = (1, 26, 8)


def _go_directive(path: pathlib.Path) -> tuple[int, ...]:
    match = re.search(r"^go (\d+)\.(\d+)(?:\.(\d+))?$", path.read_text(), re.M)
    assert match, f"{path} has no go directive"
    return tuple(int(part or 0) for part in match.groups())


@pytest.mark.parametrize("module", build.MODULES, ids=lambda m: m.directory)
def test_modules_fit_the_machines_go_and_are_pinned(module: build.Module) -> None:
    go_mod = module.path / "go.mod"
    assert _go_directive(go_mod) <= GO_MAX, "a newer go directive would make `go` fetch another toolchain"
    assert "toolchain" not in go_mod.read_text()
    assert (module.path / "go.sum").stat().st_size > 0
    for _, package in module.packages:
        assert re.search(rf"^(tool )?\s*{re.escape(package)}$", go_mod.read_text(), re.M), f"no `tool {package}` line"


def test_every_kubernetes_staging_module_is_pinned_to_the_matching_release() -> None:
    go_mod = (build.GO_DIR / "kubernetes" / "go.mod").read_text()
    assert re.search(r"^\s*(require )?k8s\.io/kubernetes v1\.37\.2\b", go_mod, re.M)
    at_zero = set(re.findall(r"^\s*(k8s\.io/[\w.\-/]+) v0\.0\.0(?: //.*)?$", go_mod, re.M))
    replaced = dict(re.findall(r"^\s*(k8s\.io/[\w.\-/]+) => \S+ (v\S+)$", go_mod, re.M))
    assert at_zero, "k8s.io/kubernetes names its staging modules at v0.0.0"
    assert at_zero <= replaced.keys()
    assert set(replaced.values()) == {"v0.37.2"}


def test_cache_key_names_the_pins_and_lives_outside_the_repository(
    monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path
) -> None:
    go = build.find_go()
    if go is None:
        pytest.skip("the cache key includes the Go version: `go` is not installed")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    directory = build.binaries_dir(go)
    assert directory.parent == tmp_path / "meshctl-test"
    assert re.fullmatch(r"etcd-v3\.6\.\d+_k8s-v1\.37\.2_kwok-v0\.8\.0_[0-9a-f]{12}", directory.name)
    assert build.cached_binaries() is None  # nothing built in an empty cache


def test_without_go_the_real_cluster_is_skipped_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build, "find_go", lambda: None)
    with pytest.raises(build.BuildError, match="`go` command is not installed"):
        build.ensure_binaries()
    with pytest.raises(pytest.skip.Exception, match="need the `go` command"):
        fixtures.binaries_or_skip(lambda _line: None)


def _failing_build(_say: object = None) -> build.Binaries:
    raise build.BuildError("go build in go/kubernetes failed: (simulated)")


def test_a_failed_build_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build, "find_go", lambda: "/usr/local/go/bin/go")
    monkeypatch.setattr(build, "ensure_binaries", _failing_build)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="simulated"):
        fixtures.binaries_or_skip(lambda _line: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match=r"CI=true.*simulated"):
        fixtures.binaries_or_skip(lambda _line: None)


@pytest.mark.parametrize(
    ("method", "path", "query", "expected"),
    [
        ("GET", "/api/v1/namespaces/ns/pods", {}, ("list", "pods", "ns", "")),
        ("GET", "/api/v1/namespaces/ns/pods", {"watch": "1"}, ("watch", "pods", "ns", "")),
        ("GET", "/api/v1/namespaces/ns/pods/p/log", {}, ("get", "pods/log", "ns", "p")),
        ("PATCH", "/apis/apps/v1/namespaces/ns/deployments/d", {}, ("patch", "deployments", "ns", "d")),
        ("PUT", "/apis/apps/v1/namespaces/ns/deployments/d/status", {}, ("update", "deployments/status", "ns", "d")),
        ("DELETE", "/api/v1/namespaces/ns/configmaps", {}, ("deletecollection", "configmaps", "ns", "")),
        ("GET", "/api/v1/namespaces/ns", {}, ("get", "namespaces", "", "ns")),
        ("PUT", "/api/v1/namespaces/ns/finalize", {}, ("update", "namespaces/finalize", "", "ns")),
        ("POST", "/api/v1/namespaces", {}, ("create", "namespaces", "", "")),
        (
            "GET",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            {},
            ("list", "customresourcedefinitions", "", ""),
        ),
        ("GET", "/apis/apps/v1", {}, ("", "", "", "")),
        ("GET", "/version", {}, ("", "", "", "")),
    ],
)
def test_the_fault_proxy_classifies_requests_as_kube_apiserver_does(
    method: str, path: str, query: dict[str, str], expected: tuple[str, str, str, str]
) -> None:
    assert request_info(method, path, query) == expected


def test_kwok_configuration_keeps_failing_pods_from_getting_ready(tmp_path: pathlib.Path) -> None:
    stage = {
        "apiVersion": "kwok.x-k8s.io/v1alpha1",
        "kind": "Stage",
        "metadata": {"name": "pod-ready"},
        "spec": {"resourceRef": {"apiGroup": "v1", "kind": "Pod"}, "selector": {"matchExpressions": []}, "next": {}},
    }
    (tmp_path / "pod-ready.yaml").write_text(yaml.safe_dump(stage))
    docs = kwok.configuration([tmp_path / "pod-ready.yaml"])
    by_name = {doc["metadata"]["name"]: doc for doc in docs[1:]}
    assert docs[0]["kind"] == "KwokConfiguration"
    assert docs[0]["options"]["manageNodesWithAnnotationSelector"] == "kwok.x-k8s.io/node=fake"
    ready = by_name["pod-ready"]["spec"]["selector"]["matchExpressions"]
    assert [e["operator"] for e in ready] == ["NotIn", "NotIn"]
    assert "ImagePullBackOff" in ready[0]["key"]
    assert "crashloopbackoff" in ready[1]["key"]
    pull = by_name["meshctl-pod-image-pull-backoff"]["spec"]["selector"]["matchExpressions"]
    assert pull[-1]["operator"] == "In"
    assert "imagepullbackoff" in pull[-1]["key"]


def test_socket_audit_sees_loopback_peers_and_flags_anything_else() -> None:
    with socket.create_server(("127.0.0.1", 0)) as server, socket.create_connection(server.getsockname()) as client:
        accepted, _ = server.accept()
        with accepted:
            found = netaudit.endpoints([("pytest", os.getpid())])
            port = client.getsockname()[1]
            mine = [e for e in found if e.local == f"127.0.0.1:{port}"]
            assert mine
            assert mine[0].remote == f"127.0.0.1:{server.getsockname()[1]}"
            assert any(e.listening and e.local == f"127.0.0.1:{server.getsockname()[1]}" for e in found)
            assert netaudit.beyond_loopback(found) == []
    outside = [
        netaudit.Endpoint("x", "tcp", "127.0.0.1:5000", "10.96.0.10:443", False),
        netaudit.Endpoint("x", "tcp", "0.0.0.0:10250", "0.0.0.0:0", True),
        netaudit.Endpoint("x", "tcp6", "[::1]:5000", "[::ffff:127.0.0.1]:443", False),
    ]
    assert netaudit.beyond_loopback(outside) == outside[:2]


def _connect(path: pathlib.Path, target: str) -> socket.socket:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(str(path))
    conn.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    return conn


def test_egress_proxies_refuse_beyond_loopback_tunnel_loopback_and_log_every_dial(tmp_path: pathlib.Path) -> None:
    proxy = egress.EgressProxy(tmp_path).start()
    cluster = proxy.listeners["cluster"].path
    controlplane = proxy.listeners["controlplane"].path
    try:
        for path, target in ((cluster, "10.96.12.34:443"), (cluster, "127.0.0.1:1"), (controlplane, "192.168.1.1:443")):
            with _connect(path, target) as conn:
                assert conn.makefile("rb").read().startswith(b"HTTP/1.1 403 Forbidden")
        with socket.create_server(("127.0.0.1", 0)) as server:
            port = server.getsockname()[1]
            with _connect(controlplane, f"127.0.0.1:{port}") as conn:
                reader = conn.makefile("rb")
                assert reader.readline() == b"HTTP/1.1 200 Connection established\r\n"
                assert reader.readline() == b"\r\n"
                accepted, _ = server.accept()
                with accepted:
                    conn.sendall(b"ping")
                    assert accepted.recv(4) == b"ping"
                    accepted.sendall(b"pong")
                    assert reader.read(4) == b"pong"
        assert [(a.selection, a.target, a.allowed) for a in proxy.attempts] == [
            ("cluster", "10.96.12.34:443", False),
            ("cluster", "127.0.0.1:1", False),
            ("controlplane", "192.168.1.1:443", False),
            ("controlplane", f"127.0.0.1:{port}", True),
        ]
        selections = {s["name"]: s["connection"] for s in proxy.config()["egressSelections"]}  # type: ignore[attr-defined]
        assert selections["cluster"]["transport"]["uds"]["udsName"] == str(cluster)
        assert selections["etcd"] == {"proxyProtocol": "Direct"}
    finally:
        proxy.stop()
    assert not cluster.exists()
    assert not controlplane.exists()
