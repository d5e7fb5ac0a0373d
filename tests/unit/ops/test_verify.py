"""The verify use case as a library: which objects it checks, and its verdict on each (cluster.md §6)."""

from __future__ import annotations

from typing import Any

import pytest

from meshctl import objects
from meshctl.kube import client as kclient
from meshctl.kube import inventory
from meshctl.ops import configure
from meshctl.ops import install as ops_install
from meshctl.ops import verify as ops_verify
from tests.apiserver.server import ApiServer
from tests.integration.install_helpers import NAD_CRD


def config(*sets: str) -> Any:
    return configure.effective_config(configure.config_input(files=None, sets=list(sets)), None)


def install(api: ApiServer, kube: kclient.RestClient, *sets: str) -> None:
    ops_install.install(config(*sets), kube, ops_install.InstallOptions(wait=False))
    api.wait_idle()  # the simulated controllers roll the workloads out


def verify(
    kube: kclient.RestClient, *sets: str, use_inventory: bool = True
) -> tuple[ops_verify.VerifyResult, list[str]]:
    notes: list[str] = []
    result = ops_verify.verify(config(*sets), kube, use_inventory=use_inventory, note=notes.append)
    return result, notes


def by_name(result: ops_verify.VerifyResult) -> dict[tuple[str, str], ops_verify.Check]:
    return {(c.ref.kind, c.ref.name): c for c in result.checks}


@pytest.mark.parametrize(("profile", "deployments", "daemonsets"), [("default", 2, 0), ("ambient", 1, 2)])
def test_an_installed_profile_checks_every_member_and_passes(
    apiserver: ApiServer, kube: kclient.RestClient, profile: str, deployments: int, daemonsets: int
) -> None:
    install(apiserver, kube, f"profile={profile}")
    result, notes = verify(kube, f"profile={profile}")
    assert notes == []
    assert result.ok
    assert result.source == ops_verify.SOURCE_INVENTORY
    assert result.installations == ("meshctl-base", "meshctl-default")
    members = {m for inv in inventory.read_all(kube, "istio-system").values() for m in inv.members}
    assert {c.ref for c in result.checks} == members
    assert result.count("CustomResourceDefinition") == 15
    assert result.count("Deployment") == deployments
    assert result.count("DaemonSet") == daemonsets
    messages = {c.ref.kind: c.message for c in result.checks}
    assert messages["CustomResourceDefinition"] == "established"
    assert messages["Deployment"] == "ready"
    assert messages["ConfigMap"] == "exists"
    # The one output order: CRDs first, admission webhooks last.
    kinds = [c.ref.kind for c in result.checks]
    assert kinds[0] == "CustomResourceDefinition"
    assert kinds[-1] in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")


def test_json_has_the_documented_shape(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    install(apiserver, kube, "profile=minimal")
    data = verify(kube)[0].as_json()
    assert set(data) == {"objects", "summary", "ok"}
    assert data["ok"] is True
    assert {tuple(sorted(o)) for o in data["objects"]} == {("kind", "message", "name", "namespace", "ok")}
    assert data["summary"] == {
        "source": "inventory",
        "installations": ["meshctl-base", "meshctl-default"],
        "checked": len(data["objects"]),
        "ok": len(data["objects"]),
        "missing": 0,
        "notReady": 0,
        "customResourceDefinitions": 15,
        "deployments": 1,
    }


def test_without_an_inventory_it_checks_the_rendering_and_says_so(kube: kclient.RestClient) -> None:
    result, notes = verify(kube)
    assert notes == [
        'no meshctl installation meshctl-default in namespace "istio-system": checking the objects that installing '
        "this configuration would create"
    ]
    assert result.source == ops_verify.SOURCE_FALLBACK
    assert result.installations == ()
    assert not result.ok
    assert all(c.missing and c.message == "not found" for c in result.checks)
    assert result.summary()["missing"] == len(result.checks) == 39


def test_a_missing_member_fails_alone(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    install(apiserver, kube)
    apiserver.objects.delete("configmaps", "istio", "istio-system")
    apiserver.objects.delete("clusterroles", "istiod-clusterrole-istio-system")
    result, _ = verify(kube)
    failed = {(c.ref.kind, c.ref.name): c.message for c in result.failed}
    assert failed == {
        ("ConfigMap", "istio"): "not found",
        ("ClusterRole", "istiod-clusterrole-istio-system"): "not found",
    }
    assert result.summary()["missing"] == 2
    assert result.summary()["notReady"] == 0


def test_an_unready_deployment_is_explained_by_its_pods(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    apiserver.controllers.fail("Deployment", "istiod", reason="ImagePullBackOff")
    install(apiserver, kube)
    result, _ = verify(kube)
    [failed] = result.failed
    assert (failed.ref.kind, failed.ref.namespace, failed.ref.name) == ("Deployment", "istio-system", "istiod")
    assert not failed.missing
    assert failed.message.startswith("not ready: ImagePullBackOff: Back-off pulling image")
    assert '"docker.io/istio/pilot:1.30.3' in failed.message
    assert result.summary()["notReady"] == 1


def test_an_unready_deployment_without_pods_says_what_its_status_lacks(
    apiserver: ApiServer, kube: kclient.RestClient
) -> None:
    apiserver.controllers.disable("Deployment", "istio-ingressgateway")
    install(apiserver, kube)
    result, _ = verify(kube)
    [failed] = result.failed
    assert failed.ref.name == "istio-ingressgateway"
    assert failed.message == "not ready: waiting for the controller to observe the latest spec"


def test_a_crd_that_is_not_established_fails(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    install(apiserver, kube, "profile=minimal")
    crd = apiserver.objects.get("customresourcedefinitions", "telemetries.telemetry.istio.io")
    assert crd is not None
    crd["status"]["conditions"] = [c for c in crd["status"]["conditions"] if c["type"] != "Established"]
    apiserver.controllers.disable("CustomResourceDefinition")  # else it establishes the CRD again
    apiserver.objects.put(crd)
    result, _ = verify(kube, "profile=minimal")
    assert [(c.ref.name, c.message) for c in result.failed] == [
        ("telemetries.telemetry.istio.io", "not ready: not established yet")
    ]


def test_a_kind_the_cluster_does_not_serve_is_missing(kube: kclient.RestClient) -> None:
    # The openshift profile's CNI renders a NetworkAttachmentDefinition, whose CRD only a cluster with Multus has.
    result, _ = verify(kube, "profile=openshift", use_inventory=False)
    [nad] = [c for c in result.checks if c.ref.kind == "NetworkAttachmentDefinition"]
    assert nad.missing
    assert nad.message == "not found: the cluster does not serve k8s.cni.cncf.io/v1 NetworkAttachmentDefinition"
    assert result.source == ops_verify.SOURCE_CONFIGURATION


def test_a_served_custom_kind_is_checked_like_any_object(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    apiserver.objects.create(NAD_CRD)
    apiserver.wait_idle()
    install(apiserver, kube, "profile=openshift")
    result, _ = verify(kube, "profile=openshift")
    assert result.ok, result.failed
    assert by_name(result)[("NetworkAttachmentDefinition", "istio-cni")].message == "exists"


def test_with_a_configuration_it_checks_what_that_configuration_renders(
    apiserver: ApiServer, kube: kclient.RestClient
) -> None:
    install(apiserver, kube)
    result, notes = verify(kube, "revision=canary", use_inventory=False)
    assert notes == []
    assert result.source == ops_verify.SOURCE_CONFIGURATION
    failed = {(c.ref.kind, c.ref.name) for c in result.failed}
    assert ("Deployment", "istiod-canary") in failed
    assert ("CustomResourceDefinition", "virtualservices.networking.istio.io") not in failed


def test_a_revision_uses_its_own_inventory_and_base(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    install(apiserver, kube, "revision=canary", "profile=minimal")
    result, notes = verify(kube, "revision=canary")
    assert notes == []
    assert result.installations == ("meshctl-base", "meshctl-canary")
    assert ("Deployment", "istiod-canary") in by_name(result)
    # The default revision has no installation: the fallback, which finds the default istiod missing.
    default, notes = verify(kube)
    assert default.source == ops_verify.SOURCE_FALLBACK
    assert len(notes) == 1
    assert not by_name(default)[("Deployment", "istiod")].ok


def test_an_object_without_the_membership_label_is_found_by_name(
    apiserver: ApiServer, kube: kclient.RestClient
) -> None:
    install(apiserver, kube, "profile=minimal")
    name = "istiod-clusterrole-istio-system"
    role = apiserver.objects.get("clusterroles", name)
    assert role is not None
    del role["metadata"]["labels"][objects.PART_OF_LABEL]
    apiserver.objects.put(role)
    apiserver.requests.clear()
    result, _ = verify(kube, "profile=minimal")
    assert result.ok
    # Read by name because the label did not find it; every other object came from a LIST.
    gets = [e for e in apiserver.requests.entries if e.verb == "get" and e.resource == "clusterroles"]
    assert [e.name for e in gets] == [name]


def test_reads_are_one_list_per_kind_and_namespace(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    install(apiserver, kube)
    apiserver.requests.clear()
    result, _ = verify(kube)
    assert result.ok
    entries = [e for e in apiserver.requests.entries if e.resource]  # discovery documents have no resource
    assert {e.verb for e in entries} == {"list"}
    slots = {(c.ref.api_version, c.ref.kind, c.ref.namespace) for c in result.checks}
    assert ("v1", "Secret", "istio-system") not in slots
    assert len(entries) == len(slots) + 1  # and the one LIST of the inventories (Secrets)


def test_an_inventory_recorded_as_failed_is_noted(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    install(apiserver, kube, "profile=minimal")

    def fail(inv: inventory.Inventory) -> None:
        inv.state = inventory.FAILED
        inv.error = "the server went away"

    inventory.update(kube, "istio-system", "meshctl-default", fail)
    result, notes = verify(kube, "profile=minimal")
    assert notes == ["the installation meshctl-default is recorded as failed: the server went away"]
    assert result.notes == tuple(notes)
    assert result.ok  # every member is there: the record is stale, the objects are fine


class _NoPods:
    """A client whose cluster serves no Pods (an aggregated or restricted API): verify still explains by status."""

    def __init__(self, inner: kclient.RestClient) -> None:
        self._inner = inner

    def resource_for(self, api_version: str, kind: str) -> kclient.Resource | None:
        return None if kind == "Pod" else self._inner.resource_for(api_version, kind)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_without_pods_an_unready_workload_is_explained_by_its_status(
    apiserver: ApiServer, kube: kclient.RestClient
) -> None:
    apiserver.controllers.disable("Deployment", "istiod")
    install(apiserver, kube, "profile=minimal")
    apiserver.requests.clear()
    result = ops_verify.verify(config("profile=minimal"), _NoPods(kube))  # type: ignore[arg-type]
    [failed] = result.failed
    assert failed.message == "not ready: waiting for the controller to observe the latest spec"
    assert apiserver.requests.count(resource="pods") == 0
