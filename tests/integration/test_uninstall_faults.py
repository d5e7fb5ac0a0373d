"""Uninstall against the test API server's controls: forbidden verbs, retried faults, the lock, request economy (B5)."""

from __future__ import annotations

import collections
from typing import Any

import pytest

from meshctl.kube import lock as klock
from tests.apiserver.server import ApiServer
from tests.helpers import CliResult
from tests.integration import install_helpers as h

ISTIO = "istio-system"


def meshctl(api: ApiServer, *args: str, expect: int = 0, kubeconfig: str = "") -> CliResult:
    result = h.run_unchecked(*args, "--kubeconfig", kubeconfig or str(api.kubeconfig_path))
    assert result.exit_code == expect, result.stderr
    return result


def test_forbidden_delete_is_exit_4_naming_verb_resource_and_user_and_a_rerun_completes(apiserver: ApiServer) -> None:
    api = apiserver
    meshctl(api, "install", "-y", "--no-wait", "--set", "profile=minimal")
    api.add_user("ci", token="ci-token-0123456789")
    api.faults.forbid("ci", verbs=["delete"], resources=["deployments"])
    path = api.write_kubeconfig(api.workdir / "ci-kubeconfig", user="ci")
    denied = meshctl(api, "uninstall", "--purge", "-y", expect=4, kubeconfig=str(path))
    assert 'hint: user "ci" may not delete deployments.apps' in denied.stderr
    assert "  Removed MutatingWebhookConfiguration/istio-sidecar-injector" in denied.stderr  # the phase before
    assert api.objects.get("deployments", "istiod", ISTIO) is not None
    assert set(h.inventories(api)) == {"meshctl-base", "meshctl-default"}  # nothing half-removed without a record
    assert api.objects.get("leases", klock.LOCK_NAME, ISTIO) is None  # released on the way out
    meshctl(api, "uninstall", "--purge", "-y")
    assert api.objects.get("deployments", "istiod", ISTIO) is None
    assert h.inventories(api) == {}


def test_retried_faults_do_not_fail_uninstall(apiserver: ApiServer) -> None:
    api = apiserver
    meshctl(api, "install", "-y", "--no-wait")
    api.faults.add_error(503, count=3, verbs="delete")
    api.faults.add_error(429, count=2, verbs="list", retry_after=0.05)
    meshctl(api, "uninstall", "--purge", "-y")
    assert h.inventories(api) == {}


def test_uninstall_waits_for_the_lock_of_a_running_install(apiserver: ApiServer) -> None:
    api = apiserver
    meshctl(api, "install", "-y", "--no-wait", "--set", "profile=minimal")
    lease = klock.lease_object(ISTIO, holder="ci-job-42", duration=3600)
    api.objects.create(lease)
    held = meshctl(api, "uninstall", "--purge", "-y", "--lock-timeout", "0.3s", expect=4)
    assert "- Waiting for the installation lock, held by ci-job-42" in held.stderr
    assert "error: the installation lock istio-system/meshctl-lock is held by ci-job-42" in held.stderr
    assert api.objects.get("deployments", "istiod", ISTIO) is not None


def test_uninstall_request_economy(apiserver: ApiServer) -> None:
    """B5 for uninstall: one DELETE per member, no read per object, a LIST (+ a WATCH while waiting) per kind."""
    api = apiserver
    meshctl(api, "install", "-y", "--no-wait")
    docs = h.generate()
    crds = [d for d in docs if d["kind"] == "CustomResourceDefinition"]
    kinds = {d["kind"] for d in docs}
    api.requests.clear()
    meshctl(api, "uninstall", "-r", "default", "-y")
    counts = collections.Counter(e.verb for e in api.requests.entries)
    deletes = collections.Counter((e.resource, e.name) for e in api.requests.entries if e.verb == "delete")
    assert max(deletes.values()) == 1
    assert counts["delete"] == len(docs) + 2 + 1  # members, two inventories, the lock
    assert counts["get"] == 0
    # Plan and wait: a LIST per kind each (the reader ServiceAccount, base's, is waited for after the revision's);
    # the CRD rule: a LIST of each CRD's objects for the plan and again right before the CRDs go; the inventories;
    # the proxies.
    assert counts["list"] <= 2 * len(kinds) + 1 + 2 * len(crds) + 2
    assert counts["watch"] <= len(kinds) + 1
    assert len(api.requests) <= 3 * len(docs)  # 113 for 39 objects (docs/decisions.md)


def test_terminal_progress_and_foreground_deletion(apiserver: ApiServer, monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib
    import io

    from meshctl.cli import app
    from meshctl.kube import client as kclient

    meshctl(apiserver, "install", "-y", "--no-wait", "--set", "profile=minimal")
    policies: list[str] = []
    delete = kclient.RestClient.delete

    def recording(self: kclient.RestClient, res: kclient.Resource, name: str, *args: Any, **kwargs: Any) -> bool:
        if res.kind not in ("Secret", "Lease"):
            policies.append(kwargs.get("propagation", "Background"))
        return delete(self, res, name, *args, **kwargs)

    monkeypatch.setattr(kclient.RestClient, "delete", recording)

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    err = Terminal()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = app.run(["uninstall", "--purge", "-y", "--kubeconfig", str(apiserver.kubeconfig_path)])
    assert code == 0, err.getvalue()
    text = err.getvalue()
    assert "Removed Deployment/istio-system/istiod" in text
    assert "✔ Uninstall complete" in text
    assert set(policies) == {"Foreground"}
    assert len(policies) == len(h.generate("--set", "profile=minimal"))
