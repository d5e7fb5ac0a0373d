"""Helpers of the upgrade and uninstall tests: user objects created with the real kubectl (on either backend), and
what the cluster holds of a rendering."""

from __future__ import annotations

import os
import pathlib
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

import yaml

from meshctl import objects
from tests.integration import install_helpers as h
from tests.integration.conftest import Backend

ISTIO = "istio-system"
VS_CRD = "virtualservices.networking.istio.io"


def kubectl_apply(backend: Backend, tmp_path: pathlib.Path, *docs: dict[str, Any], name: str = "user.yaml") -> None:
    """Create objects as a user would: `kubectl apply --server-side` (field manager kubectl)."""
    path = tmp_path / name
    path.write_text(yaml.safe_dump_all(list(docs)))
    backend.kubectl("apply", "--server-side", "-f", str(path))


def virtual_service(namespace: str, name: str = "reviews") -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"hosts": [name], "http": [{"route": [{"destination": {"host": name}}]}]},
    }


def config_map(name: str, namespace: str = ISTIO, labels: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "namespace": namespace}
    if labels:
        meta["labels"] = labels
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": {"owner": "user"}}


def proxy_pod(namespace: str, name: str, revision: str) -> dict[str, Any]:
    """A pod that looks injected by ``revision`` (its proxy container and revision label). It opts out of injection
    (``sidecar.istio.io/inject: "false"``) so that the real API server's injector webhook, which nothing serves in
    the tests, is not called."""
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app": name, "istio.io/rev": revision, "sidecar.istio.io/inject": "false"},
        },
        "spec": {
            "containers": [
                {"name": "app", "image": "docker.io/library/nginx:1.27"},
                {"name": "istio-proxy", "image": "docker.io/istio/proxyv2:1.30.3"},
            ]
        },
    }


def user_objects(backend: Backend, tmp_path: pathlib.Path) -> dict[tuple[str, str, str], str]:
    """A user's VirtualService (in the test's namespace) and an unmanaged ConfigMap in istio-system; returns their
    resourceVersions by (resource, namespace, name), to check later that nothing touched them."""
    kubectl_apply(backend, tmp_path, virtual_service(backend.raw.namespace), config_map("users-own-settings"))
    return live_versions(
        backend, [("virtualservices", backend.raw.namespace, "reviews"), ("configmaps", ISTIO, "users-own-settings")]
    )


def live_versions(backend: Backend, keys: list[tuple[str, str, str]]) -> dict[tuple[str, str, str], str]:
    found = {}
    for resource, namespace, name in keys:
        obj = backend.objects.get(resource, name, namespace)
        assert obj is not None, (resource, namespace, name)
        found[(resource, namespace, name)] = obj["metadata"]["resourceVersion"]
    return found


def assert_untouched(backend: Backend, versions: dict[tuple[str, str, str], str]) -> None:
    assert live_versions(backend, list(versions)) == versions


def present(backend: Backend, docs: list[dict[str, Any]]) -> set[h.Identity]:
    """Which of ``docs`` exist (a kind the cluster no longer serves has none)."""
    from meshctl.kube import client as kclient

    client = kclient.connect(kubeconfig=str(backend.kubeconfig), discovery_cache=False)
    try:
        found = set()
        for doc in docs:
            ref = objects.ObjectRef.from_object(doc)
            res = client.resource_for(ref.api_version, ref.kind)
            if res is not None and client.get(res, ref.name, ref.namespace) is not None:
                found.add(h.identity(doc))
        return found
    finally:
        client.close()


def assert_holds_exactly(backend: Backend, docs: list[dict[str, Any]], tmp_path: pathlib.Path) -> None:
    """The inventories list exactly ``docs`` and every rendered field is live with its rendered value."""
    members = h.inventory_members(backend)
    assert set().union(*members.values()) == {h.identity(d) for d in docs}
    assert {inv.state for inv in h.inventories(backend).values()} == {"deployed"}
    live = h.read_back(backend, docs, tmp_path)
    assert set(live) == {h.identity(d) for d in docs}
    problems = {h.identity(d): h.missing_fields(d, live[h.identity(d)]) for d in docs}
    assert not {k: v for k, v in problems.items() if v}


REPO = pathlib.Path(__file__).resolve().parents[2]


def spawn(backend: Backend, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """``meshctl ARGS --kubeconfig …`` in a process of its own (stdout discarded, stderr kept)."""
    return subprocess.Popen(
        [sys.executable, "-m", "meshctl", *args, "--kubeconfig", str(backend.kubeconfig)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=REPO,
    )


def at_request(
    backend: Backend, args: tuple[str, ...], requests: int, action: Callable[[subprocess.Popen[str]], None]
) -> tuple[subprocess.Popen[str], bool]:
    """Start ``meshctl ARGS`` in its own process and call ``action(process)`` once the cluster has seen
    ``requests`` of its requests (the request log, cleared first): faults land at a point of the run counted in
    requests — in every phase, without timing guesses. Returns the process (still running, or finished) and whether
    the action ran (False: meshctl finished first)."""
    backend.requests.clear()
    proc = spawn(backend, *args)
    pause = threading.Event()
    try:
        while proc.poll() is None and len(backend.requests) < requests:
            pause.wait(0.002)  # the request log has no notification; this waits for a condition, not a time
        if proc.poll() is not None:
            return proc, False
        action(proc)
        return proc, True
    except BaseException:  # pragma: no cover - only when the test itself fails
        proc.kill()
        proc.communicate(timeout=30)
        raise


def kill_at(backend: Backend, args: tuple[str, ...], requests: int) -> int | None:
    """Run ``meshctl ARGS`` and SIGKILL it once the cluster has seen ``requests`` of its requests; its exit code
    if it finished first (None when it was killed)."""
    proc, killed = at_request(backend, args, requests, lambda p: p.send_signal(signal.SIGKILL))
    proc.communicate(timeout=120)
    return None if killed else proc.returncode
