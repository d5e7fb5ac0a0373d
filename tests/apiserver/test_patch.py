"""Merge patch, JSON patch and strategic merge patch."""

from __future__ import annotations

import pytest

from tests.apiserver import patch, resources
from tests.apiserver.server import ApiServer
from tests.apiserver.testclient import CM, DEPLOY, WIDGETS, Client, configmap, deployment

SMP = "application/strategic-merge-patch+json"


pytestmark = pytest.mark.controllers_off("Deployment")


def test_merge_patch_sets_and_deletes_keys(client: Client) -> None:
    client.post(CM, configmap("a", data={"x": "1", "y": "2"}))
    after = client.patch(f"{CM}/a", {"data": {"x": None, "z": "3"}}).body
    assert after["data"] == {"y": "2", "z": "3"}


def test_merge_patch_replaces_lists(client: Client) -> None:
    body = deployment("web")
    body["spec"]["template"]["spec"]["containers"].append({"name": "b", "image": "b:1"})
    client.post(DEPLOY, body)
    containers = [{"name": "only", "image": "o:1"}]
    after = client.patch(f"{DEPLOY}/web", {"spec": {"template": {"spec": {"containers": containers}}}}).body
    assert [c["name"] for c in after["spec"]["template"]["spec"]["containers"]] == ["only"]


def test_json_patch_operations(client: Client) -> None:
    client.post(CM, configmap("a", data={"x": "1"}))
    ops = [
        {"op": "add", "path": "/data/y", "value": "2"},
        {"op": "replace", "path": "/data/x", "value": "9"},
        {"op": "test", "path": "/data/x", "value": "9"},
        {"op": "copy", "from": "/data/x", "path": "/data/z"},
        {"op": "remove", "path": "/data/y"},
        {"op": "add", "path": "/metadata/labels", "value": {"l": "v"}},
    ]
    after = client.patch(f"{CM}/a", ops, "application/json-patch+json").body
    assert after["data"] == {"x": "9", "z": "9"}
    assert after["metadata"]["labels"] == {"l": "v"}


def test_json_patch_failed_test_is_422_and_changes_nothing(client: Client) -> None:
    created = client.post(CM, configmap("a")).body
    reply = client.patch(f"{CM}/a", [{"op": "test", "path": "/data/k", "value": "nope"}], "application/json-patch+json")
    assert reply.status == 422
    assert client.get(f"{CM}/a").rv == created["metadata"]["resourceVersion"]


def test_json_patch_resource_version_precondition(client: Client) -> None:
    client.post(CM, configmap("a"))
    ops = [
        {"op": "replace", "path": "/metadata/resourceVersion", "value": "1"},
        {"op": "add", "path": "/data/q", "value": "1"},
    ]
    reply = client.patch(f"{CM}/a", ops, "application/json-patch+json")
    assert reply.status == 409


def test_strategic_merge_patch_merges_containers_by_name(client: Client) -> None:
    client.post(DEPLOY, deployment("web"))
    body = {
        "spec": {
            "template": {
                "spec": {"containers": [{"name": "sidecar", "image": "proxy:1"}, {"name": "app", "image": "nginx:2"}]}
            }
        }
    }
    after = client.patch(f"{DEPLOY}/web", body, SMP).body
    containers = after["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("app", "nginx:2"), ("sidecar", "proxy:1")]
    assert containers[0]["ports"] == [{"containerPort": 8080, "protocol": "TCP"}]


def test_strategic_merge_patch_env_ports_volumes_and_delete_directive(client: Client) -> None:
    body = deployment("web")
    spec = body["spec"]["template"]["spec"]
    spec["containers"][0]["env"] = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    spec["volumes"] = [{"name": "v1", "emptyDir": {}}]
    client.post(DEPLOY, body)
    change = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "app",
                            "env": [{"name": "B", "$patch": "delete"}, {"name": "C", "value": "3"}],
                            "ports": [{"containerPort": 9090}],
                        }
                    ],
                    "volumes": [{"name": "v2", "configMap": {"name": "cm"}}],
                }
            }
        }
    }
    after = client.patch(f"{DEPLOY}/web", change, SMP).body
    container = after["spec"]["template"]["spec"]["containers"][0]
    assert [e["name"] for e in container["env"]] == ["A", "C"]
    assert [p["containerPort"] for p in container["ports"]] == [8080, 9090]
    assert [v["name"] for v in after["spec"]["template"]["spec"]["volumes"]] == ["v1", "v2"]


def test_strategic_merge_patch_unsupported_for_custom_resources(apiserver: ApiServer, client: Client) -> None:
    from tests.apiserver.testclient import CRDS, crd, widget

    client.post(CRDS, crd())
    apiserver.wait_idle()
    client.post(WIDGETS, widget())
    reply = client.patch(f"{WIDGETS}/w1", {"spec": {"size": 2}}, SMP)
    assert reply.status == 415
    assert reply.body["reason"] == "UnsupportedMediaType"
    assert client.patch(f"{WIDGETS}/w1", {"spec": {"size": 2}}).body["spec"]["size"] == 2


def test_patch_of_missing_object_is_404(client: Client) -> None:
    assert client.patch(f"{CM}/ghost", {"data": {"a": "b"}}).status == 404


def test_unknown_patch_type_is_415(client: Client) -> None:
    client.post(CM, configmap("a"))
    assert client.patch(f"{CM}/a", {"data": {}}, "application/weird").status == 415


def test_smp_unit_replace_directive_and_finalizers() -> None:
    root = resources.builtin("", "configmaps").root()
    target = {"metadata": {"finalizers": ["a"], "labels": {"x": "1", "y": "2"}}}
    result = patch.strategic_merge_patch(
        target, {"metadata": {"finalizers": ["b"], "labels": {"$patch": "replace", "z": "3"}}}, root
    )
    assert result["metadata"]["finalizers"] == ["a", "b"]
    assert result["metadata"]["labels"] == {"z": "3"}
