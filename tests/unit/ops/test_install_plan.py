"""The install use case and its plan, called as a library (no CLI): data in, data out."""

from __future__ import annotations

from typing import Any

import pytest

from meshctl import errors, objects
from meshctl.cli import options
from meshctl.kube import client as kclient
from meshctl.ops import configure
from meshctl.ops import install as ops_install
from meshctl.ops import plan as ops_plan
from tests.apiserver.server import ApiServer


def config(*sets: str) -> Any:
    return configure.effective_config(configure.config_input(files=None, sets=list(sets)), None)


def run(kube: kclient.RestClient, *sets: str, **opts: Any) -> ops_install.InstallResult:
    return ops_install.install(config(*sets), kube, ops_install.InstallOptions(wait=False, **opts))


def test_result_as_json_has_the_documented_shape(kube: kclient.RestClient) -> None:
    result = run(kube, "profile=minimal")
    data = result.as_json()
    assert set(data) == {"ok", "revision", "inventory", "objects"}
    assert data["ok"] is True
    assert data["revision"] == "default"
    assert data["inventory"] == ["meshctl-base", "meshctl-default"]
    assert {tuple(sorted(o)) for o in data["objects"]} == {
        ("action", "group", "kind", "name", "namespace", "version"),
        ("action", "group", "kind", "message", "name", "namespace", "version"),
    }
    assert {o["action"] for o in data["objects"]} == {"created"}
    assert result.created_namespaces == ("istio-system",)


def test_revision_install_leaves_base_alone_when_base_is_disabled(
    apiserver: ApiServer, kube: kclient.RestClient
) -> None:
    run(kube, "profile=minimal")
    result = run(kube, "profile=minimal", "revision=canary", "components.base.enabled=false")
    assert result.inventories == ("meshctl-canary",)
    assert not [o for o in result.objects if o.action == "pruned"]
    assert apiserver.objects.get("deployments", "istiod-canary", "istio-system") is not None
    assert apiserver.objects.get("deployments", "istiod", "istio-system") is not None
    assert apiserver.objects.get("customresourcedefinitions", "virtualservices.networking.istio.io") is not None


def test_prune_is_limited_to_inventory_members(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    run(kube, "profile=default")
    # An object with the Istio labels but no membership label is not meshctl's: never pruned.
    apiserver.objects.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "users", "namespace": "istio-system", "labels": {objects.COMPONENT_LABEL: "Pilot"}},
        }
    )
    result = run(kube, "profile=minimal")
    pruned = {(o.ref.kind, o.ref.name) for o in result.objects if o.action == "pruned"}
    assert ("Deployment", "istio-ingressgateway") in pruned
    assert ("ConfigMap", "users") not in pruned
    assert apiserver.objects.get("configmaps", "users", "istio-system") is not None


def test_a_declined_confirmation_writes_nothing_to_members(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    seen: list[ops_plan.Plan] = []

    def decline(plan: ops_plan.Plan) -> bool:
        seen.append(plan)
        return False

    with pytest.raises(errors.Aborted):
        ops_install.install(config(), kube, ops_install.InstallOptions(wait=False), confirm=decline)
    assert {p.action for p in seen[0].items} == {ops_plan.Action.CREATE}
    assert apiserver.objects.get("deployments", "istiod", "istio-system") is None
    assert apiserver.objects.get("leases", "meshctl-lock", "istio-system") is None  # released


def test_failed_apply_is_recorded_as_failed_and_the_rerun_completes(
    apiserver: ApiServer, kube: kclient.RestClient
) -> None:
    apiserver.faults.add_error(500, share=1.0, verbs="patch", resources="deployments")
    fast = kclient.RestClient(
        kube._configuration, kube.info, retry=kclient.RetryPolicy(budget=0.2), sleep=lambda s: None
    )
    with pytest.raises(errors.ClusterError):
        ops_install.install(config(), fast, ops_install.InstallOptions(wait=False))
    secret = apiserver.objects.get("secrets", "meshctl-default", "istio-system")
    from meshctl.kube import inventory

    assert inventory.decode(secret).state == "failed"
    apiserver.faults.clear()
    result = ops_install.install(config(), kube, ops_install.InstallOptions(wait=False))
    assert result.ok
    assert inventory.decode(apiserver.objects.get("secrets", "meshctl-default", "istio-system")).state == "deployed"


@pytest.mark.parametrize(
    ("text", "seconds"), [("5m", 300), ("1m30s", 90), ("90", 90), ("500ms", 0.5), ("1h", 3600), ("2.5s", 2.5)]
)
def test_durations(text: str, seconds: float) -> None:
    assert options.parse_duration(text, flag="--readiness-timeout") == seconds


@pytest.mark.parametrize("text", ["soon", "5x", "-1", "5m soon"])
def test_bad_durations_are_usage_errors(text: str) -> None:
    with pytest.raises(errors.UsageError):
        options.parse_duration(text, flag="--lock-timeout")
