"""Install against the test API server's controls: slow CRDs, workloads that fail or never get ready, the lock,
and what install prints (heartbeats, redaction). No sleeps: the tests wait for conditions.
"""

from __future__ import annotations

import pathlib
import threading
from typing import Any

import pytest

from meshctl.kube import lock as klock
from tests.apiserver.server import ApiServer
from tests.integration import install_helpers as h

REPO = pathlib.Path(__file__).resolve().parents[2]


def meshctl(api: ApiServer, *args: str, expect: int = 0) -> Any:
    result = h.run_unchecked(*args, "--kubeconfig", str(api.kubeconfig_path))
    assert result.exit_code == expect, result.stderr
    return result


def _wait_until(condition: Any, timeout: float = 60.0) -> None:
    """Wait for a condition that only the request log shows (it has no notification)."""
    pause = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        pause.wait(0.01)
    raise TimeoutError("condition not met")


def test_plain_timeout_lists_everything_pending_and_why(apiserver: ApiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    apiserver.controllers.disable("Deployment")
    monkeypatch.setenv("MESHCTL_HEARTBEAT", "0.2")
    result = meshctl(apiserver, "install", "-y", "--readiness-timeout", "1s", expect=5)
    lines = result.stderr.splitlines()
    assert "error: 2 objects not ready after 1s" in lines
    assert "  Deployment/istio-system/istio-ingressgateway: waiting for the controller to observe the latest spec" in (
        lines
    )
    assert "  Deployment/istio-system/istiod: waiting for the controller to observe the latest spec" in lines
    # Without a terminal, a heartbeat line names what is still pending.
    beats = [line for line in lines if line.startswith("- Still waiting for Deployment/istio-system/istiod")]
    assert len(beats) >= 2
    # The objects are applied and recorded; only readiness failed.
    assert h.inventories(apiserver)["meshctl-default"].state == "deployed"


def test_live_holder_beyond_lock_timeout_is_exit_4_naming_it(apiserver: ApiServer) -> None:
    apiserver.objects.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}})
    lease = klock.lease_object("istio-system", holder="ci-job-42", duration=3600)
    apiserver.objects.create(lease)
    result = meshctl(apiserver, "install", "-y", "--lock-timeout", "0.3s", expect=4)
    assert "- Waiting for the installation lock, held by ci-job-42" in result.stderr
    assert "error: the installation lock istio-system/meshctl-lock is held by ci-job-42" in result.stderr
    assert apiserver.objects.get("deployments", "istiod", "istio-system") is None


def test_token_never_appears_in_output_at_vvv_nor_in_errors(apiserver: ApiServer) -> None:
    token = apiserver.token
    ok = meshctl(apiserver, "install", "-y", "-vvv")
    assert "request body:" in ok.stderr  # -vvv shows bodies…
    assert "<redacted>" in ok.stderr  # …with the inventory Secret's data masked
    assert token not in ok.stdout + ok.stderr
    # An error path: a user who may not create Leases, with a known token.
    known = "sekret-token-0123456789"
    apiserver.add_user("ci", token=known)
    apiserver.faults.forbid("ci", verbs=["create"], resources=["leases"])
    path = apiserver.write_kubeconfig(apiserver.workdir / "ci-kubeconfig", user="ci")
    denied = h.run_unchecked("install", "-y", "-vvv", "--kubeconfig", str(path))
    assert denied.exit_code == 4
    assert 'hint: user "ci" may not create leases.coordination.k8s.io' in denied.stderr
    assert known not in denied.stdout + denied.stderr


def test_watches_resume_when_the_server_drops_them(apiserver: ApiServer) -> None:
    apiserver.options.rollout_delay = 0.5
    done = threading.Event()

    def drop_when_waiting() -> None:
        # Once install watches Deployments, drop every connection once.
        while not done.is_set():
            if apiserver.requests.count(verb="watch", resource="deployments"):
                apiserver.down(0.1)
                return
            done.wait(0.01)

    dropper = threading.Thread(target=drop_when_waiting)
    dropper.start()
    try:
        meshctl(apiserver, "install", "-y")
    finally:
        done.set()
        dropper.join()
    assert apiserver.requests.count(verb="watch", resource="deployments") >= 2


def test_terminal_progress_is_rich_and_ends_with_the_component_lines(apiserver: ApiServer) -> None:
    import contextlib
    import io

    from meshctl.cli import app

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    err = Terminal()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = app.run(["install", "-y", "--kubeconfig", str(apiserver.kubeconfig_path)])
    assert code == 0, err.getvalue()
    text = err.getvalue()
    for line in (
        "✔ Istio core installed",
        "✔ Istiod installed",
        "✔ Ingress gateways installed",
        "✔ Installation complete",
    ):
        assert line in text


def test_crds_that_never_get_established_end_on_the_readiness_timeout(apiserver: ApiServer) -> None:
    apiserver.controllers.disable("CustomResourceDefinition")
    result = meshctl(apiserver, "install", "-y", "--readiness-timeout", "0.5s", expect=5)
    assert "error: CustomResourceDefinitions not established after 0.5s" in result.stderr
    assert "  CustomResourceDefinition virtualservices.networking.istio.io: not established yet" in result.stderr
    # Nothing after the CRD phase was sent.
    assert apiserver.objects.get("deployments", "istiod", "istio-system") is None
    assert h.inventories(apiserver)["meshctl-default"].state == "failed"


def test_waiting_for_a_slow_rollout_costs_a_handful_of_requests(apiserver: ApiServer) -> None:
    meshctl(apiserver, "install", "-y", "--no-wait")
    apiserver.options.rollout_delay = 1.5
    apiserver.requests.clear()
    meshctl(apiserver, "install", "-y", "--set", "components.pilot.k8s.replicaCount=2")
    waiting = [
        e
        for e in apiserver.requests.entries
        if e.resource in ("deployments", "pods") and e.verb in ("list", "watch", "get")
    ]
    # One LIST and one WATCH each for Deployments and Pods, however long the rollout takes (B6: ≤ 10).
    assert len(waiting) <= 6, waiting


def test_failed_component_line_in_process(apiserver: ApiServer) -> None:
    apiserver.controllers.fail("Deployment", "istio-ingressgateway", reason="Unschedulable")
    result = meshctl(apiserver, "install", "-y", "--readiness-timeout", "60s", expect=5)
    assert "✘ Ingress gateways encountered an error: Deployment/istio-system/istio-ingressgateway is not ready: " in (
        result.stderr
    )
    assert "0/1 nodes are available" in result.stderr


def test_a_bad_heartbeat_setting_is_a_usage_error(apiserver: ApiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHCTL_HEARTBEAT", "often")
    result = meshctl(apiserver, "install", "-y", expect=2)
    assert "MESHCTL_HEARTBEAT='often' is not a number of seconds" in result.stderr


def test_dry_run_plan_mentions_strays(apiserver: ApiServer) -> None:
    meshctl(apiserver, "install", "-y", "--no-wait")
    parent = h.inventories(apiserver)["meshctl-default"]
    apiserver.objects.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {
                "name": "left-over",
                "namespace": "istio-system",
                "labels": {"applyset.kubernetes.io/part-of": parent.applyset_id},
            },
        }
    )
    plan = meshctl(apiserver, "install", "--dry-run").stdout
    assert "  note: ConfigMap/istio-system/left-over carries meshctl's label but is in no inventory" in plan
