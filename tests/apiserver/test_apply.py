"""Server-side apply: managed fields per manager and field, list semantics, removal of fields a manager stops
applying, conflicts (409 listing fields and managers), force, and re-applies that change nothing."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.apiserver import apply, resources
from tests.apiserver.testclient import CM, DEPLOY, Client, configmap, deployment

pytestmark = pytest.mark.controllers_off("Deployment")  # status writes would move resourceVersions under the tests


def _manager(obj: dict[str, Any], name: str, operation: str = "Apply") -> dict[str, Any]:
    entries = [m for m in obj["metadata"]["managedFields"] if m["manager"] == name and m["operation"] == operation]
    assert len(entries) == 1, obj["metadata"]["managedFields"]
    return entries[0]


def test_apply_creates_when_absent_with_managed_fields(client: Client) -> None:
    reply = client.apply(f"{DEPLOY}/web", deployment("web"), manager="meshctl")
    assert reply.status == 201
    entry = _manager(reply.body, "meshctl")
    assert entry["apiVersion"] == "apps/v1"
    assert entry["fieldsType"] == "FieldsV1"
    fields = entry["fieldsV1"]
    assert fields["f:spec"]["f:replicas"] == {}
    container = fields["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"app"}']
    assert container["."] == {}
    assert container["f:image"] == {}
    assert 'k:{"containerPort":8080,"protocol":"TCP"}' in container["f:ports"]
    # defaulted fields are not owned by the applier
    assert "f:revisionHistoryLimit" not in fields["f:spec"]
    assert reply.body["spec"]["revisionHistoryLimit"] == 10


def test_identical_reapply_keeps_resource_version(client: Client) -> None:
    first = client.apply(f"{DEPLOY}/web", deployment("web"))
    second = client.apply(f"{DEPLOY}/web", deployment("web"))
    assert second.status == 200
    assert second.rv == first.rv
    assert second.body["metadata"]["managedFields"] == first.body["metadata"]["managedFields"]


def test_changed_reapply_moves_resource_version(client: Client) -> None:
    first = client.apply(f"{DEPLOY}/web", deployment("web", replicas=2))
    second = client.apply(f"{DEPLOY}/web", deployment("web", replicas=3))
    assert int(second.rv) > int(first.rv)
    assert second.body["spec"]["replicas"] == 3
    assert second.body["metadata"]["generation"] == 2


def test_field_removed_when_manager_stops_applying_it(client: Client) -> None:
    client.apply(f"{CM}/a", configmap("a", data={"keep": "1", "drop": "2"}, labels={"x": "1", "y": "2"}))
    after = client.apply(f"{CM}/a", configmap("a", data={"keep": "1"}, labels={"x": "1"})).body
    assert after["data"] == {"keep": "1"}
    assert after["metadata"]["labels"] == {"x": "1"}
    assert "f:drop" not in _manager(after, "test")["fieldsV1"]["f:data"]


def test_field_kept_when_another_manager_also_owns_it(client: Client) -> None:
    client.apply(f"{CM}/a", configmap("a", data={"shared": "1", "mine": "2"}), manager="one")
    client.apply(f"{CM}/a", configmap("a", data={"shared": "1"}), manager="two")
    after = client.apply(f"{CM}/a", configmap("a", data={"mine": "2"}), manager="one").body
    assert after["data"] == {"shared": "1", "mine": "2"}


def test_removed_list_item_goes_and_other_items_stay(client: Client) -> None:
    body = deployment("web")
    containers = body["spec"]["template"]["spec"]["containers"]
    containers.append({"name": "sidecar", "image": "proxy:1"})
    containers[0]["env"] = [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]
    client.apply(f"{DEPLOY}/web", body)
    smaller = deployment("web")
    smaller["spec"]["template"]["spec"]["containers"][0]["env"] = [{"name": "A", "value": "1"}]
    after = client.apply(f"{DEPLOY}/web", smaller).body
    live = after["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in live] == ["app"]
    assert live[0]["env"] == [{"name": "A", "value": "1"}]


def test_keyed_lists_merge_per_key_between_managers(client: Client) -> None:
    client.apply(f"{DEPLOY}/web", deployment("web"), manager="one")
    sidecar = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "sidecar", "image": "proxy:1"}]},
            },
        },
    }
    after = client.apply(f"{DEPLOY}/web", sidecar, manager="two").body
    names = [c["name"] for c in after["spec"]["template"]["spec"]["containers"]]
    assert names == ["app", "sidecar"]


def test_service_ports_keyed_by_port_and_protocol(client: Client) -> None:
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s", "namespace": "default"},
        "spec": {
            "ports": [
                {"port": 53, "protocol": "UDP", "name": "dns"},
                {"port": 53, "protocol": "TCP", "name": "dns-tcp"},
            ]
        },
    }
    created = client.apply("/api/v1/namespaces/default/services/s", svc).body
    ports = _manager(created, "test")["fieldsV1"]["f:spec"]["f:ports"]
    assert set(ports) == {'k:{"port":53,"protocol":"TCP"}', 'k:{"port":53,"protocol":"UDP"}'}
    svc["spec"]["ports"] = [svc["spec"]["ports"][1]]
    after = client.apply("/api/v1/namespaces/default/services/s", svc).body
    assert [(p["port"], p["protocol"]) for p in after["spec"]["ports"]] == [(53, "TCP")]


def test_atomic_list_is_replaced_whole(client: Client) -> None:
    body = deployment("web")
    body["spec"]["template"]["spec"]["containers"][0]["args"] = ["--a", "--b"]
    client.apply(f"{DEPLOY}/web", body, manager="one")
    body["spec"]["template"]["spec"]["containers"][0]["args"] = ["--c"]
    after = client.apply(f"{DEPLOY}/web", body, manager="one").body
    assert after["spec"]["template"]["spec"]["containers"][0]["args"] == ["--c"]
    fields = _manager(after, "one")["fieldsV1"]["f:spec"]["f:template"]["f:spec"]["f:containers"]
    assert fields['k:{"name":"app"}']["f:args"] == {}


def test_conflict_lists_fields_and_manager(client: Client) -> None:
    client.apply(f"{DEPLOY}/web", deployment("web", replicas=2), manager="helm")
    reply = client.apply(f"{DEPLOY}/web", deployment("web", replicas=5, image="nginx:2"), manager="meshctl")
    assert reply.status == 409
    assert reply.body["reason"] == "Conflict"
    causes = reply.body["details"]["causes"]
    fields = {c["field"] for c in causes}
    assert ".spec.replicas" in fields
    assert '.spec.template.spec.containers[name="app"].image' in fields
    assert all(c["reason"] == "FieldManagerConflict" for c in causes)
    assert all(c["message"] == 'conflict with "helm"' for c in causes)  # an Apply manager: by name only
    assert reply.body["message"].startswith('Apply failed with 2 conflicts: conflicts with "helm":\n- ')
    assert client.get(f"{DEPLOY}/web").body["spec"]["replicas"] == 2


def test_conflict_with_update_manager(client: Client) -> None:
    client.apply(f"{CM}/a", configmap("a", data={"k": "v"}), manager="meshctl")
    client.patch(f"{CM}/a?fieldManager=kubectl-edit", {"data": {"k": "edited"}})
    reply = client.apply(f"{CM}/a", configmap("a", data={"k": "v"}), manager="meshctl")
    assert reply.status == 409
    assert reply.body["details"]["causes"] == [
        {"reason": "FieldManagerConflict", "message": 'conflict with "kubectl-edit" using v1', "field": ".data.k"}
    ]


def test_same_value_from_two_managers_is_shared_not_a_conflict(client: Client) -> None:
    client.apply(f"{CM}/a", configmap("a", data={"k": "v"}), manager="one")
    reply = client.apply(f"{CM}/a", configmap("a", data={"k": "v"}), manager="two")
    assert reply.status == 200
    assert {m["manager"] for m in reply.body["metadata"]["managedFields"]} == {"one", "two"}


def test_force_takes_ownership(client: Client) -> None:
    client.apply(f"{DEPLOY}/web", deployment("web", replicas=2), manager="helm")
    reply = client.apply(f"{DEPLOY}/web", deployment("web", replicas=5), manager="meshctl", force=True)
    assert reply.status == 200
    assert reply.body["spec"]["replicas"] == 5
    helm = _manager(reply.body, "helm")["fieldsV1"]
    assert "f:replicas" not in helm["f:spec"]
    assert "f:replicas" in _manager(reply.body, "meshctl")["fieldsV1"]["f:spec"]


def test_field_manager_is_required(client: Client) -> None:
    reply = client.request("PATCH", f"{CM}/a", configmap("a"), "application/apply-patch+yaml")
    assert reply.status == 422
    assert "fieldManager: Required value" in reply.body["message"]


def test_apply_accepts_yaml(client: Client) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n  namespace: default\ndata:\n  a: b\n"
    reply = client.request("PATCH", f"{CM}/y?fieldManager=m", text, "application/apply-patch+yaml")
    assert reply.status == 201
    assert reply.body["data"] == {"a": "b"}


def test_apply_with_stale_resource_version_is_conflict(client: Client) -> None:
    created = client.apply(f"{CM}/a", configmap("a")).body
    client.apply(f"{CM}/a", configmap("a", data={"k": "2"}))
    body = configmap("a", data={"k": "3"})
    body["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
    assert client.apply(f"{CM}/a", body).status == 409


def test_apply_rejects_managed_fields_in_body(client: Client) -> None:
    body = configmap("a")
    body["metadata"]["managedFields"] = [{"manager": "x"}]
    assert client.apply(f"{CM}/a", body).status == 400


def test_update_operations_are_tracked(client: Client) -> None:
    created = client.post(f"{CM}?fieldManager=creator", configmap("a", data={"a": "1"})).body
    entry = _manager(created, "creator", "Update")
    assert entry["fieldsV1"]["f:data"] == {".": {}, "f:a": {}}  # the map it created is its own, too
    patched = client.patch(f"{CM}/a", {"data": {"b": "2"}}, "application/merge-patch+json").body
    # default manager from the User-Agent (Python-urllib / http.client sends none: "unknown")
    other = [m for m in patched["metadata"]["managedFields"] if m["manager"] != "creator"]
    assert other[0]["fieldsV1"]["f:data"] == {"f:b": {}}


def test_apply_to_status_subresource(client: Client) -> None:
    client.apply(f"{DEPLOY}/web", deployment("web"))
    status = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "namespace": "default"}}
    status["status"] = {"replicas": 2, "readyReplicas": 2}
    after = client.apply(f"{DEPLOY}/web/status", status, manager="ctl").body
    assert after["status"]["readyReplicas"] == 2
    entry = next(m for m in after["metadata"]["managedFields"] if m["manager"] == "ctl")
    assert entry["subresource"] == "status"


# --- unit tests of field sets ----------------------------------------------------------------------------------------


def test_fieldset_round_trips_through_fields_v1() -> None:
    root = resources.builtin("apps", "deployments").root()
    obj = deployment("web")
    paths = apply.fieldset(obj, root)
    trie = apply.to_fields_v1(paths)
    assert apply.from_fields_v1(trie) == paths
    assert ("f:metadata", "f:name") not in paths
    assert ("f:spec", "f:selector") in paths  # LabelSelector is an atomic struct: one leaf


def test_apply_unit_removal_and_conflict() -> None:
    root = resources.builtin("", "configmaps").root()
    first = apply.apply(None, configmap("a", data={"x": "1", "y": "2"}), root, "m", False, "v1", "t")
    live = copy.deepcopy(first.obj)
    apply.write_managers(live, first.managers)
    second = apply.apply(live, configmap("a", data={"x": "1"}), root, "m", False, "v1", "t")
    assert second.obj["data"] == {"x": "1"}
    apply.write_managers(second.obj, second.managers)
    with pytest.raises(Exception, match="conflict"):
        apply.apply(second.obj, configmap("a", data={"x": "9"}), root, "other", False, "v1", "t")
