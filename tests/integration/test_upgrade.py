"""`meshctl upgrade` against a cluster (`backend`): install plus checks (cluster.md §4), quality.md scenario 14.

An installation must exist; the version skew is at most one minor version ahead and never behind; the plan, with
every deletion, is printed before it proceeds; upgrading default → minimal prunes exactly the ingress gateway's
objects; the inventory keeps the last 10 runs.
"""

from __future__ import annotations

import json
import pathlib

from tests.integration import install_helpers as h
from tests.integration import lifecycle_helpers as lh
from tests.integration.conftest import Backend


def test_upgrade_without_an_installation_is_exit_3_with_the_hint_to_install(backend: Backend) -> None:
    backend.requests.clear()
    result = backend.meshctl("upgrade", "-y", expect=3)
    assert result.stderr.splitlines() == [
        "error: there is no installation to upgrade: no inventory meshctl-default (revision default) in namespace "
        "istio-system",
        "hint: use 'meshctl install' to install it",
    ]
    assert [e for e in backend.requests.entries if e.is_write] == []
    assert backend.objects.get("namespaces", "istio-system") is None


def test_upgrade_of_another_revision_names_the_installations_found(backend: Backend) -> None:
    backend.meshctl("install", "-y", "--no-wait", "--set", "profile=minimal")
    result = backend.meshctl("upgrade", "-y", "--revision", "canary", expect=3)
    assert "error: there is no installation to upgrade: no inventory meshctl-canary (revision canary)" in result.stderr
    assert "  installations found: meshctl-default" in result.stderr.splitlines()


def test_version_skew_more_than_one_minor_is_refused_unless_skipped(backend: Backend) -> None:
    backend.meshctl("install", "-y", "--no-wait", "--set", "profile=minimal", "--set", "tag=1.28.4")
    backend.requests.clear()
    refused = backend.meshctl("upgrade", "-y", "--set", "profile=minimal", expect=3)
    assert refused.stderr.splitlines() == [
        "error: cannot upgrade: 1.30.3 is more than one minor version ahead of the installed 1.28.4",
        "hint: upgrade one minor version at a time (e.g. to 1.29.x), or pass --skip-version-check to upgrade anyway",
    ]
    assert [e for e in backend.requests.entries if e.is_write] == []

    one_minor = backend.meshctl("upgrade", "-y", "--no-wait", "--set", "profile=minimal", "--set", "tag=1.29.0")
    assert "✔ Upgrade complete" in one_minor.stderr
    assert h.inventories(backend)["meshctl-default"].istio_version == "1.29.0"

    skipped = backend.meshctl(
        "upgrade", "-y", "--no-wait", "--set", "profile=minimal", "--set", "tag=1.31.1", "--skip-version-check"
    )
    assert (
        "warning: version check skipped: 1.31.1 is more than one minor version ahead of the installed 1.29.0"
        in skipped.stderr
    )
    assert h.inventories(backend)["meshctl-default"].istio_version == "1.31.1"


def test_downgrade_is_refused_and_a_tag_that_is_no_version_is_a_warning(backend: Backend) -> None:
    backend.meshctl("install", "-y", "--no-wait", "--set", "profile=minimal")
    refused = backend.meshctl("upgrade", "-y", "--set", "profile=minimal", "--set", "tag=1.29.9", expect=3)
    assert refused.stderr.splitlines() == [
        "error: cannot upgrade: 1.29.9 is older than the installed 1.30.3 (a downgrade)",
        "hint: pass --skip-version-check to upgrade anyway",
    ]
    forced = backend.meshctl(
        "upgrade", "-y", "--no-wait", "--set", "profile=minimal", "--set", "tag=1.29.9", "--skip-version-check"
    )
    assert "warning: version check skipped: 1.29.9 is older than the installed 1.30.3 (a downgrade)" in forced.stderr
    latest = backend.meshctl("upgrade", "-y", "--no-wait", "--set", "profile=minimal", "--set", "tag=latest")
    assert "warning: the tag 'latest' is not a version: the version skew check is skipped" in latest.stderr
    assert backend.objects.get("deployments", "istiod", lh.ISTIO)["spec"]["template"]["spec"]["containers"][0][
        "image"
    ].endswith(":latest")


def test_upgrade_dry_run_shows_the_deletions_and_writes_nothing(backend: Backend) -> None:
    backend.meshctl("install", "-y", "--no-wait")
    backend.requests.clear()
    plan = json.loads(backend.meshctl("upgrade", "--dry-run", "--set", "profile=minimal", "-o", "json").stdout)
    prunes = {o["name"] for o in plan["objects"] if o["action"] == "prune"}
    assert prunes == {"istio-ingressgateway", "istio-ingressgateway-service-account", "istio-ingressgateway-sds"}
    assert [e for e in backend.requests.entries if e.is_write] == []
    text = backend.meshctl("upgrade", "--dry-run", "--set", "profile=minimal").stdout
    assert "  prune      Deployment/istio-system/istio-ingressgateway" in text.splitlines()


def test_upgrade_without_a_terminal_or_yes_is_exit_7_before_touching_the_cluster(backend: Backend) -> None:
    backend.requests.clear()
    result = backend.meshctl("upgrade", expect=7)
    assert result.stderr.splitlines() == [
        "error: confirmation is needed, but stdin is not a terminal",
        "hint: pass --skip-confirmation (-y) to proceed without a prompt",
    ]
    assert len(backend.requests) == 0


def test_upgrade_prompt_on_a_terminal_follows_the_plan(backend: Backend) -> None:
    backend.meshctl("install", "-y", "--no-wait")
    args = ("upgrade", "--no-wait", "--set", "profile=minimal", "--kubeconfig", str(backend.kubeconfig))
    declined = h.run_unchecked(*args, stdin="n\n", tty=True)
    assert declined.exit_code == 7
    question = (
        'This will upgrade the Istio installation "default" from 1.30.3 to 1.30.3 (profile "minimal"). Proceed? (y/N) '
    )
    assert question in declined.stderr
    assert declined.stderr.index("  prune      Deployment/istio-system/istio-ingressgateway") < (
        declined.stderr.index(question)
    )
    assert "error: installation cancelled: nothing was applied" in declined.stderr
    assert backend.objects.get("deployments", "istio-ingressgateway", lh.ISTIO) is not None
    accepted = h.run_unchecked(*args, stdin="y\n", tty=True)
    assert accepted.exit_code == 0, accepted.stderr
    assert backend.objects.get("deployments", "istio-ingressgateway", lh.ISTIO) is None


def test_inventory_history_keeps_the_last_ten_runs(backend: Backend) -> None:
    backend.meshctl("install", "-y", "--no-wait", "--set", "profile=minimal")
    for replicas in range(1, 12):
        backend.meshctl(
            "upgrade", "-y", "-q", "--no-wait", "--set", "profile=minimal",
            "--set", f"components.pilot.k8s.replicaCount={replicas % 3 + 1}",
        )  # fmt: skip
    inventories = h.inventories(backend)
    history = inventories["meshctl-default"].history
    assert len(history) == 10
    assert [run["result"] for run in history] == ["deployed"] * 10
    assert len({run["configDigest"] for run in history}) == 3
    assert len(inventories["meshctl-base"].history) == 10


def test_a_member_taken_over_is_not_pruned(backend: Backend) -> None:
    backend.meshctl("install", "-y", "--no-wait")
    backend.kubectl(
        "-n", lh.ISTIO, "label", "deployment", "istio-ingressgateway", "applyset.kubernetes.io/part-of-"
    )  # a user takes the gateway over: it is no longer meshctl's
    result = backend.meshctl("upgrade", "-y", "--no-wait", "--set", "profile=minimal", "-o", "json")
    assert (
        "warning: Deployment/istio-system/istio-ingressgateway is a member of meshctl-default, but it now carries no "
        "membership label; not pruned"
    ) in result.stderr.splitlines()
    pruned = {(o["kind"], o["name"]) for o in json.loads(result.stdout)["objects"] if o["action"] == "pruned"}
    assert ("Service", "istio-ingressgateway") in pruned
    assert ("Deployment", "istio-ingressgateway") not in pruned
    assert backend.objects.get("deployments", "istio-ingressgateway", lh.ISTIO) is not None
    assert backend.objects.get("services", "istio-ingressgateway", lh.ISTIO) is None


def test_upgrade_does_not_overwrite_an_unmanaged_object_without_force_conflicts(
    backend: Backend, tmp_path: pathlib.Path
) -> None:
    backend.meshctl("install", "-y", "--no-wait", "--set", "profile=minimal")
    mine = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": {"name": "istio-ingressgateway-service-account", "namespace": lh.ISTIO, "labels": {"team": "me"}},
    }
    lh.kubectl_apply(backend, tmp_path, mine)
    backend.requests.clear()
    refused = h.run_unchecked("upgrade", "-y", "--no-wait", "--kubeconfig", str(backend.kubeconfig))
    assert refused.exit_code == 8
    lines = refused.stderr.splitlines()
    assert "error: 1 object is owned by another manager or installation" in lines
    assert (
        "  ServiceAccount/istio-system/istio-ingressgateway-service-account: exists and was not installed by meshctl "
        "(managers: kubectl)"
    ) in lines
    assert lines[-1] == "hint: pass --force-conflicts to take them over (the plan shows them as 'adopt')"
    assert [e for e in backend.requests.entries if e.is_write and e.resource not in ("leases",)] == []
    assert backend.objects.get("deployments", "istio-ingressgateway", lh.ISTIO) is None

    forced = backend.meshctl("upgrade", "-y", "--no-wait", "--force-conflicts", "-o", "json")
    adopted = {o["name"] for o in json.loads(forced.stdout)["objects"] if o["action"] == "adopted"}
    assert adopted == {"istio-ingressgateway-service-account"}
    assert "  adopt      ServiceAccount/istio-system/istio-ingressgateway-service-account" in forced.stderr
