"""`meshctl verify-install` against a cluster: the lines of product.md §5, exit 6, `-o json|yaml|jsonpath`.

Tests that need the test API server's controls (a workload told to fail) take `backend.require_apiserver()`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from meshctl import objects
from tests.integration import install_helpers as h
from tests.integration.conftest import Backend

LINE = re.compile(r"^(✔ (?P<ok>.+) checked successfully|✘ (?P<bad>[^:]+: [^:]+): (?P<why>.+))$")


def verify(backend: Backend, *args: str, expect: int = 0) -> h.CliResult:
    result = h.run_unchecked("verify-install", *args, "--kubeconfig", str(backend.kubeconfig))
    assert result.exit_code == expect, result.stderr + result.stdout
    return result


def test_after_install_every_object_is_checked_successfully(backend: Backend) -> None:
    backend.meshctl("install", "-y")
    docs = h.generate()
    result = verify(backend)
    lines = result.stdout.splitlines()
    names = [objects.ObjectRef.from_object(d).describe() for d in docs]
    assert lines[: len(docs)] == [f"✔ {name} checked successfully" for name in names]  # manifest order
    assert lines[len(docs) :] == [
        "Checked 15 custom resource definitions",
        "Checked 2 Istio Deployments",
        "✔ Istio is installed and verified successfully",
    ]
    assert "✔ CustomResourceDefinition: virtualservices.networking.istio.io checked successfully" in lines
    assert "✔ Deployment: istiod.istio-system checked successfully" in lines  # <Kind>: <name>.<namespace>
    assert "✔ ClusterRole: istiod-clusterrole-istio-system checked successfully" in lines  # <Kind>: <name>
    assert result.stderr == ""


@pytest.mark.parametrize("fmt", ["json", "yaml"])
def test_output_formats_are_one_document(backend: Backend, fmt: str) -> None:
    backend.meshctl("install", "-y", "--set", "profile=minimal")
    out = verify(backend, "-o", fmt).stdout
    data = json.loads(out) if fmt == "json" else yaml.safe_load(out)
    assert data["ok"] is True
    assert data["summary"]["checked"] == len(data["objects"]) == len(h.generate("--set", "profile=minimal"))
    assert data["summary"]["deployments"] == 1
    assert {"kind": "Deployment", "namespace": "istio-system", "name": "istiod", "ok": True, "message": "ready"} in (
        data["objects"]
    )


def test_jsonpath_selects(backend: Backend) -> None:
    backend.meshctl("install", "-y", "--set", "profile=minimal")
    out = verify(backend, "-o", "jsonpath={.objects[?(@.kind=='Deployment')].name}").stdout
    assert out == "istiod\n"
    assert verify(backend, "-o", "jsonpath={.summary.customResourceDefinitions}").stdout == "15\n"


def test_a_missing_object_is_a_cross_line_and_exit_6(backend: Backend) -> None:
    backend.meshctl("install", "-y")
    backend.kubectl("-n", "istio-system", "delete", "deployment", "istio-ingressgateway")
    backend.kubectl("delete", "mutatingwebhookconfiguration", "istio-sidecar-injector")
    result = verify(backend, expect=6)
    failed = [line for line in result.stdout.splitlines() if line.startswith("✘")]
    assert failed == [
        "✘ Deployment: istio-ingressgateway.istio-system: not found",
        "✘ MutatingWebhookConfiguration: istio-sidecar-injector: not found",
    ]
    assert "Checked 2 Istio Deployments" in result.stdout
    assert "verified successfully" not in result.stdout
    assert result.stderr.splitlines() == [
        "error: Istio installation verification failed: 2 of 39 objects missing",
        "hint: see the ✘ lines; 'meshctl install' completes an incomplete installation",
    ]
    # -o json: the same verdict, a valid document, and exit 6 too.
    data = json.loads(verify(backend, "-o", "json", expect=6).stdout)
    assert data["ok"] is False
    assert data["summary"]["missing"] == 2
    assert {(o["name"], o["message"]) for o in data["objects"] if not o["ok"]} == {
        ("istio-ingressgateway", "not found"),
        ("istio-sidecar-injector", "not found"),
    }


def test_an_unready_deployment_fails_with_its_reason(backend: Backend) -> None:
    api = backend.require_apiserver()
    api.controllers.fail("Deployment", "istiod", reason="CrashLoopBackOff")
    backend.meshctl("install", "-y", "--no-wait")
    api.wait_idle()
    result = verify(backend, expect=6)
    [failed] = [line for line in result.stdout.splitlines() if line.startswith("✘")]
    assert failed.startswith("✘ Deployment: istiod.istio-system: not ready: CrashLoopBackOff: back-off 2m40s")
    assert result.stderr.startswith("error: Istio installation verification failed: 1 of 39 objects not ready\n")
    every = [LINE.match(line) for line in result.stdout.splitlines()[:39]]
    assert all(every), result.stdout


def test_no_installation_checks_the_default_rendering_and_says_so(backend: Backend) -> None:
    result = verify(backend, expect=6)
    assert result.stderr.splitlines()[0] == (
        'no meshctl installation meshctl-default in namespace "istio-system": checking the objects that installing '
        "this configuration would create"
    )
    assert "error: Istio installation verification failed: 39 of 39 objects missing" in result.stderr
    assert "✘ Deployment: istiod.istio-system: not found" in result.stdout


def test_with_set_it_checks_that_configuration(backend: Backend) -> None:
    backend.meshctl("install", "-y", "--set", "profile=minimal")
    # The installation has no gateway; the default profile has one: verify-install with --set sees it missing.
    result = verify(backend, "--set", "profile=default", expect=6)
    failed = [line for line in result.stdout.splitlines() if line.startswith("✘")]
    assert "✘ Deployment: istio-ingressgateway.istio-system: not found" in failed
    assert "✘ Service: istio-ingressgateway.istio-system: not found" in failed
    assert result.stderr.startswith("error: ")  # no fallback note: the configuration was chosen
    # Without --set it checks the inventory: the minimal installation is complete.
    assert verify(backend).stdout.splitlines()[-1] == "✔ Istio is installed and verified successfully"


def test_a_revision(backend: Backend) -> None:
    backend.meshctl("install", "-y", "--set", "profile=minimal", "--revision", "canary")
    result = verify(backend, "--revision", "canary")
    assert "✔ Deployment: istiod-canary.istio-system checked successfully" in result.stdout
    assert result.stdout.splitlines()[-1] == "✔ Istio is installed and verified successfully"


def test_a_forbidden_read_is_a_cluster_error_naming_verb_resource_and_user(backend: Backend, tmp_path: Any) -> None:
    api = backend.require_apiserver()
    backend.meshctl("install", "-y", "--set", "profile=minimal")
    api.add_user("auditor")
    api.faults.forbid("auditor", verbs=["list"], resources=["deployments"])
    kubeconfig = api.write_kubeconfig(tmp_path / "auditor.kubeconfig", user="auditor")
    result = h.run_unchecked("verify-install", "--kubeconfig", str(kubeconfig))
    assert result.exit_code == 4
    assert result.stdout == ""  # no verdict on a partial read
    first = result.stderr.splitlines()[0]
    assert first.startswith("error: ")
    assert "deployments" in result.stderr
    assert "auditor" in result.stderr
    assert "list" in result.stderr
