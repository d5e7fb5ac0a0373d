"""Waiting by watch: readiness with fail-fast reasons, persistence of ErrImagePull, heartbeats, timeouts."""

from __future__ import annotations

from typing import Any

import pytest

from meshctl import errors, objects
from meshctl.kube import client as kclient
from meshctl.kube import wait
from tests.apiserver.server import ApiServer


def deployment(name: str) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "default", "labels": {"x": "y"}},
        "spec": {
            "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels}, "spec": {"containers": [{"name": "c", "image": "img:1"}]}},
        },
    }


def target(kube: kclient.RestClient, obj: dict[str, Any]) -> wait.Target:
    ref = objects.ObjectRef.from_object(obj)
    res = kube.resource_for(ref.api_version, ref.kind)
    assert res is not None
    return wait.Target(ref, res)


def test_crash_loop_fails_fast_naming_object_reason_and_message(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    apiserver.controllers.fail("Deployment", "web", reason="CrashLoopBackOff")
    obj = deployment("web")
    apiserver.objects.create(obj)
    with pytest.raises(errors.ReadinessFailed) as caught:
        wait.wait_ready(kube, [target(kube, obj)], timeout=60, label_selector="x=y")
    assert caught.value.message.startswith("Deployment/default/web is not ready: CrashLoopBackOff (pod web-")
    assert caught.value.reason == "CrashLoopBackOff"
    assert "back-off" in caught.value.detail
    assert caught.value.exit_code == errors.ExitCode.TIMEOUT


def test_err_image_pull_fails_only_once_it_persists_and_heartbeats_name_it(
    apiserver: ApiServer, kube: kclient.RestClient
) -> None:
    apiserver.controllers.disable("Deployment")
    obj = deployment("web")
    apiserver.objects.create(obj)
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web-1", "namespace": "default", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "c", "image": "img:1"}]},
        "status": {
            "containerStatuses": [{"name": "c", "state": {"waiting": {"reason": "ErrImagePull", "message": "nope"}}}]
        },
    }
    apiserver.objects.put(pod)
    beats: list[list[wait.Pending]] = []
    with pytest.raises(errors.ReadinessFailed) as caught:
        wait.wait_ready(
            kube, [target(kube, obj)], timeout=30, heartbeat=0.05, pull_grace=0.3, on_heartbeat=beats.append
        )
    assert caught.value.reason == "ErrImagePull"
    assert beats
    assert beats[0][0].why == "ErrImagePull: nope"


def test_timeout_lists_what_is_pending(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    apiserver.controllers.disable("Deployment")
    obj = deployment("slow")
    apiserver.objects.create(obj)
    ready: list[objects.ObjectRef] = []
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "namespace": "default"}}
    with pytest.raises(errors.ReadinessTimeout) as caught:
        wait.wait_ready(kube, [target(kube, cm), target(kube, obj)], timeout=0.3, on_ready=ready.append)
    assert caught.value.message == "1 object not ready after 0.3s"
    assert caught.value.context == ("Deployment/default/slow: waiting for the controller to observe the latest spec",)
    assert [r.kind for r in ready] == ["ConfigMap"]  # kinds without readiness are ready at once


def test_ready_workloads_and_established_crds(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    obj = deployment("fine")
    apiserver.objects.create(obj)
    ready: list[objects.ObjectRef] = []
    wait.wait_ready(kube, [target(kube, obj)], timeout=30, on_ready=ready.append)
    assert [r.name for r in ready] == ["fine"]
    wait.wait_established(kube, [])
    apiserver.controllers.disable("CustomResourceDefinition")
    crd = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": "things.example.com"},
        "spec": {
            "group": "example.com",
            "scope": "Namespaced",
            "names": {"plural": "things", "singular": "thing", "kind": "Thing"},
            "versions": [
                {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": {"type": "object"}}}
            ],
        },
    }
    apiserver.objects.create(crd)
    with pytest.raises(errors.ReadinessTimeout, match=r"not established after 0\.2s"):
        wait.wait_established(kube, ["things.example.com"], timeout=0.2)
    apiserver.controllers.enable("CustomResourceDefinition")
    crd["metadata"]["name"] = "others.example.com"
    crd["spec"]["names"] = {"plural": "others", "singular": "other", "kind": "Other"}
    apiserver.objects.create(crd)
    wait.wait_established(kube, ["others.example.com"], timeout=10)
