"""Compatibility with the real kubernetes Python client: typed APIs, server-side apply, watch and DynamicClient."""

from __future__ import annotations

from collections.abc import Iterator

import kubernetes.client
import kubernetes.config
import kubernetes.dynamic
import kubernetes.watch
import pytest

from tests.apiserver.server import ApiServer
from tests.apiserver.testclient import configmap, crd, deployment, widget


@pytest.fixture
def k8s(apiserver: ApiServer) -> Iterator[kubernetes.client.ApiClient]:
    client = kubernetes.config.new_client_from_config(config_file=str(apiserver.kubeconfig_path), persist_config=False)
    with client:
        yield client


def test_typed_core_and_apps(k8s: kubernetes.client.ApiClient) -> None:
    core = kubernetes.client.CoreV1Api(k8s)
    apps = kubernetes.client.AppsV1Api(k8s)
    core.create_namespace({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}})
    created = core.create_namespaced_config_map("istio-system", configmap("mesh", namespace="istio-system"))
    assert created.metadata.uid
    patched = core.patch_namespaced_config_map("mesh", "istio-system", {"data": {"k": "v2"}})
    assert patched.data == {"k": "v2"}
    deploy = apps.create_namespaced_deployment("istio-system", deployment("istiod", namespace="istio-system"))
    assert deploy.spec.strategy.type == "RollingUpdate"
    listed = apps.list_namespaced_deployment("istio-system", label_selector="")
    assert [d.metadata.name for d in listed.items] == ["istiod"]
    status = core.delete_namespaced_config_map("mesh", "istio-system")
    assert (status["status"] if isinstance(status, dict) else status.status) == "Success"
    with pytest.raises(kubernetes.client.ApiException) as info:
        core.read_namespaced_config_map("mesh", "istio-system")
    assert info.value.status == 404


def test_typed_server_side_apply_and_dry_run(apiserver: ApiServer, k8s: kubernetes.client.ApiClient) -> None:
    apiserver.controllers.disable("Deployment")
    apps = kubernetes.client.AppsV1Api(k8s)
    body = deployment("web")
    first = apps.patch_namespaced_deployment(
        "web", "default", body, field_manager="meshctl", _content_type="application/apply-patch+yaml"
    )
    again = apps.patch_namespaced_deployment(
        "web", "default", body, field_manager="meshctl", _content_type="application/apply-patch+yaml"
    )
    assert again.metadata.resource_version == first.metadata.resource_version
    body["spec"]["replicas"] = 4
    dry = apps.patch_namespaced_deployment(
        "web", "default", body, field_manager="meshctl", dry_run="All", _content_type="application/apply-patch+yaml"
    )
    assert dry.spec.replicas == 4
    assert apps.read_namespaced_deployment("web", "default").spec.replicas == 2


def test_watch_stream(apiserver: ApiServer, k8s: kubernetes.client.ApiClient) -> None:
    core = kubernetes.client.CoreV1Api(k8s)
    start = core.list_namespaced_config_map("default").metadata.resource_version
    core.create_namespaced_config_map("default", configmap("w"))
    watcher = kubernetes.watch.Watch()
    events = []
    for event in watcher.stream(core.list_namespaced_config_map, "default", resource_version=start, timeout_seconds=5):
        events.append((event["type"], event["object"].metadata.name))
        watcher.stop()
    assert events == [("ADDED", "w")]


def test_dynamic_client_with_crd_and_custom_resources(apiserver: ApiServer, k8s: kubernetes.client.ApiClient) -> None:
    dynamic = kubernetes.dynamic.DynamicClient(k8s)
    crds = dynamic.resources.get(api_version="apiextensions.k8s.io/v1", kind="CustomResourceDefinition")
    crds.create(body=crd())
    apiserver.objects.wait_for(
        "customresourcedefinitions",
        "widgets.example.com",
        condition=lambda o: any(c["type"] == "Established" for c in (o or {}).get("status", {}).get("conditions", [])),
    )
    dynamic.resources.invalidate_cache()
    widgets = dynamic.resources.get(api_version="example.com/v1", kind="Widget")
    created = widgets.create(body=widget("w1", color="blue"), namespace="default")
    assert created.spec.size == 1
    applied = widgets.server_side_apply(
        body=widget("w1", color="red"), namespace="default", field_manager="meshctl", force_conflicts=True
    )
    assert applied.spec.color == "red"
    listed = widgets.get(namespace="default")
    assert [i.metadata.name for i in listed.items] == ["w1"]
    configmaps = dynamic.resources.get(api_version="v1", kind="ConfigMap")
    assert configmaps.get(name="kube-root-ca.crt", namespace="default").data["ca.crt"].startswith("-----BEGIN")
    widgets.delete(name="w1", namespace="default")
    assert widgets.get(namespace="default").items == []
