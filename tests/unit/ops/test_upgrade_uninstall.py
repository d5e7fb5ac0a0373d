"""The upgrade and uninstall use cases called as a library (no CLI): version rules, prompts, confirmations, the CRD
rule re-checked right before the CRDs go, and waiting until deleted objects are gone."""

from __future__ import annotations

from typing import Any

import pytest

from meshctl import errors, objects
from meshctl.kube import client as kclient
from meshctl.kube import inventory, wait
from meshctl.ops import configure
from meshctl.ops import install as ops_install
from meshctl.ops import plan as ops_plan
from meshctl.ops import uninstall as ops_uninstall
from meshctl.ops import upgrade as ops_upgrade
from tests.apiserver.server import ApiServer

VS_CRD = "virtualservices.networking.istio.io"


def config(*sets: str) -> Any:
    return configure.effective_config(configure.config_input(files=None, sets=list(sets)), None)


def install(kube: kclient.RestClient, *sets: str) -> ops_install.InstallResult:
    return ops_install.install(config(*sets), kube, ops_install.InstallOptions(wait=False))


def virtual_service(name: str = "reviews") -> dict[str, Any]:
    return {
        "apiVersion": "networking.istio.io/v1",
        "kind": "VirtualService",
        "metadata": {"name": name, "namespace": "default"},
        "spec": {"hosts": [name]},
    }


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("1.30.3", (1, 30, 3)), ("v1.31.0", (1, 31, 0)), ("1.29", (1, 29, 0)), ("1.30.3-distroless", (1, 30, 3)),
     ("latest", None), ("", None), ("1.x", None)],
)  # fmt: skip
def test_parse_version(text: str, parsed: tuple[int, int, int] | None) -> None:
    assert ops_upgrade.parse_version(text) == parsed


@pytest.mark.parametrize(
    ("installed", "target", "allowed"),
    [("1.30.3", "1.30.3", True), ("1.30.3", "1.30.4", True), ("1.30.3", "1.31.0", True),
     ("1.30.3", "1.32.0", False), ("1.30.3", "2.0.0", False), ("1.30.3", "1.30.2", False),
     ("1.30.3", "1.29.9", False), ("1.30.3-distroless", "1.31.1-distroless", True)],
)  # fmt: skip
def test_version_skew_rules(installed: str, target: str, allowed: bool) -> None:
    if allowed:
        assert ops_upgrade.check_version(installed, target) == []
    else:
        with pytest.raises(errors.InputError) as caught:
            ops_upgrade.check_version(installed, target)
        assert caught.value.exit_code == 3
        assert "--skip-version-check" in (caught.value.hint or "")
        assert ops_upgrade.check_version(installed, target, skip=True)[0].startswith("version check skipped: ")


def test_an_unknown_recorded_version_skips_the_check_with_a_warning() -> None:
    assert ops_upgrade.check_version("", "1.30.3") == [
        "the installation records no comparable Istio version (''): the version check is skipped"
    ]


def test_target_version_is_the_tag_else_meshctls_istio_version() -> None:
    assert ops_install.target_version(config()) == "1.30.3"
    assert ops_install.target_version(config("tag=1.31.0")) == "1.31.0"
    assert ops_install.target_version(config("values.global.tag=1.29.1")) == "1.29.1"


def test_upgrade_refused_under_the_lock_writes_nothing_to_members(
    apiserver: ApiServer, kube: kclient.RestClient
) -> None:
    install(kube, "profile=minimal")
    before = apiserver.objects.get("deployments", "istiod", "istio-system")["metadata"]["resourceVersion"]
    calls: list[str] = []

    def confirm(plan: Any) -> bool:
        calls.append("asked")
        return True

    with pytest.raises(errors.InputError):
        ops_upgrade.upgrade(config("profile=minimal", "tag=1.33.0"), kube, confirm=confirm)
    assert calls == []
    assert apiserver.objects.get("deployments", "istiod", "istio-system")["metadata"]["resourceVersion"] == before


def test_upgrade_dry_run_plans_the_prunes(kube: kclient.RestClient) -> None:
    install(kube)
    result = ops_upgrade.upgrade(config("profile=minimal"), kube, ops_install.InstallOptions(dry_run=True))
    assert result.dry_run
    assert {o.ref.name for o in result.objects if o.action == "prune"} == {
        "istio-ingressgateway", "istio-ingressgateway-service-account", "istio-ingressgateway-sds",
    }  # fmt: skip


def test_prompts_and_descriptions(kube: kclient.RestClient) -> None:
    install(kube, "profile=minimal")
    plan = ops_uninstall._Uninstall(
        kube, "istio-system", ops_uninstall.UninstallOptions(), ops_install.NullReporter(), None, None
    ).make_plan()
    assert ops_uninstall.prompt_text(plan) == (
        f'This will remove the Istio installation "default" and the shared base ({len(plan.removals)} objects) from '
        "the cluster. Proceed?"
    )
    assert len(plan.removals) > 1
    assert plan.targets == ["meshctl-default", "meshctl-base"]
    purge = ops_uninstall._Uninstall(
        kube, "istio-system", ops_uninstall.UninstallOptions(purge=True), ops_install.NullReporter(), None, None
    ).make_plan()
    assert ops_uninstall.prompt_text(purge) == "All Istio resources will be removed from the cluster. Proceed?"
    held = ops_uninstall.HeldCrd(objects.ObjectRef("", "v1", "X", "", "x"), (("VirtualService", 2), ("Gateway", 1)))
    assert held.describe() == "2 VirtualServices, 1 Gateway"
    assert ops_uninstall.revision_of("meshctl-canary") == "canary"
    found = inventory.read_all(kube, "istio-system")
    upgrade_plan = ops_plan.Plan(items=[], previous=found, installations={})
    assert ops_upgrade.prompt_text(config("profile=demo", "tag=1.31.0"), upgrade_plan) == (
        'This will upgrade the Istio installation "default" from 1.30.3 to 1.31.0 (profile "demo"). Proceed?'
    )
    assert ops_upgrade.prompt_text(config("revision=canary"), upgrade_plan) == (
        'This will upgrade the Istio installation "canary" from an unknown version to 1.30.3 (profile "default"). '
        "Proceed?"
    )


def test_declined_confirmations_remove_nothing(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    install(kube, "profile=minimal")
    apiserver.objects.create(virtual_service())
    options = ops_uninstall.UninstallOptions(purge=True, delete_user_config=True)
    with pytest.raises(errors.Aborted, match="nothing was removed"):
        ops_uninstall.uninstall(kube, "istio-system", options, confirm=lambda plan: False)
    asked: list[list[str]] = []

    def second(held: Any) -> bool:
        asked.append([f"{h.ref.name}: {h.describe()}" for h in held])
        return False

    with pytest.raises(errors.Aborted):
        ops_uninstall.uninstall(kube, "istio-system", options, confirm=lambda plan: True, confirm_user_config=second)
    assert asked == [[f"{VS_CRD}: 1 VirtualService"]]
    assert apiserver.objects.get("deployments", "istiod", "istio-system") is not None
    assert apiserver.objects.get("leases", "meshctl-lock", "istio-system") is None  # released


def test_a_user_object_created_after_the_plan_keeps_its_crd(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    install(kube, "profile=minimal")

    def user_acts_meanwhile(plan: ops_uninstall.UninstallPlan) -> bool:
        assert plan.held == []  # no user objects when the plan was made
        apiserver.objects.create(virtual_service("late"))
        return True

    result = ops_uninstall.uninstall(
        kube, "istio-system", ops_uninstall.UninstallOptions(purge=True), confirm=user_acts_meanwhile
    )
    assert [(k.ref.name, k.describe()) for k in result.kept] == [(VS_CRD, "1 VirtualService")]
    assert apiserver.objects.get("customresourcedefinitions", VS_CRD) is not None
    assert apiserver.objects.get("virtualservices", "late", "default") is not None
    assert apiserver.objects.get("customresourcedefinitions", "gateways.networking.istio.io") is None


def test_nothing_installed_and_no_namespace(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    warnings: list[str] = []

    class Collect(ops_install.NullReporter):
        def warn(self, text: str) -> None:
            warnings.append(text)

    result = ops_uninstall.uninstall(
        kube, "istio-system", ops_uninstall.UninstallOptions(purge=True), reporter=Collect()
    )
    assert result.nothing
    assert result.ok
    assert result.as_json() == {"ok": True, "revision": None, "inventory": [], "objects": []}
    assert warnings == ["no meshctl installation in namespace istio-system; nothing to remove"]
    assert apiserver.objects.get("namespaces", "istio-system") is None


def test_wait_deleted_times_out_naming_the_finalizers(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    apiserver.objects.create(
        {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "held", "namespace": "default", "finalizers": ["example.com/hold"]},
        }
    )
    res = kube.resource_for("v1", "ConfigMap")
    assert res is not None
    assert kube.delete(res, "held", "default", propagation="Foreground")
    gone: list[objects.ObjectRef] = []
    ref = objects.ObjectRef("", "v1", "ConfigMap", "default", "held")
    with pytest.raises(errors.ReadinessTimeout) as caught:
        wait.wait_deleted(kube, [wait.Target(ref, res)], timeout=0.3, on_gone=gone.append)
    assert caught.value.context == ("ConfigMap/default/held: being deleted (finalizers: example.com/hold)",)
    assert gone == []
    live = apiserver.objects.get("configmaps", "held", "default")
    kube.replace(res, {**live, "metadata": {**live["metadata"], "finalizers": []}})  # the finalizer's owner is done
    wait.wait_deleted(kube, [wait.Target(ref, res)], timeout=30, on_gone=gone.append)
    assert gone == [ref]
