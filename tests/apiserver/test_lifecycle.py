"""Lifecycles: CRD establishment (and custom resources served only after it), CRD deletion, namespace termination,
finalizers, deletion options, deletecollection and ownerReference garbage collection."""

from __future__ import annotations

from typing import Any

from tests.apiserver.server import ApiServer
from tests.apiserver.testclient import CM, CRDS, DEPLOY, WIDGETS, Client, configmap, crd, deployment, widget


def _established(obj: dict[str, Any] | None) -> bool:
    conditions = (obj or {}).get("status", {}).get("conditions", [])
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


def test_custom_resource_404_until_crd_established(apiserver: ApiServer, client: Client) -> None:
    apiserver.controllers.set_delay("CustomResourceDefinition", 3600)
    created = client.post(CRDS, crd()).body
    assert not _established(created)
    assert client.post(WIDGETS, widget()).status == 404
    assert client.get(WIDGETS).status == 404
    groups = [g["name"] for g in client.get("/apis").body["groups"]]
    assert "example.com" not in groups
    apiserver.controllers.set_delay("CustomResourceDefinition", 0)
    client.patch(f"{CRDS}/widgets.example.com", {"metadata": {"labels": {"nudge": "1"}}})
    apiserver.objects.wait_for("customresourcedefinitions", "widgets.example.com", condition=_established)
    assert client.post(WIDGETS, widget()).status == 201
    assert "example.com" in [g["name"] for g in client.get("/apis").body["groups"]]


def test_crd_establishment_conditions(apiserver: ApiServer, client: Client) -> None:
    client.post(CRDS, crd())
    found = apiserver.objects.wait_for("customresourcedefinitions", "widgets.example.com", condition=_established)
    assert found is not None
    types = {c["type"]: c["status"] for c in found["status"]["conditions"]}
    assert types == {"NamesAccepted": "True", "Established": "True"}
    assert found["status"]["acceptedNames"]["kind"] == "Widget"
    assert found["status"]["storedVersions"] == ["v1"]


def test_custom_resource_semantics(apiserver: ApiServer, client: Client) -> None:
    client.post(CRDS, crd())
    apiserver.wait_idle()
    created = client.post(WIDGETS, widget(color="red"))
    assert created.status == 201
    assert created.body["spec"] == {"color": "red", "size": 1}  # schema default
    assert created.body["metadata"]["generation"] == 1
    assert client.post(WIDGETS, widget("w2", color="green")).status == 422  # enum
    strict = client.request("POST", f"{WIDGETS}?fieldValidation=Strict", widget("w3", colour="red"))
    assert strict.status == 400
    pruned = client.post(WIDGETS, widget("w4", colour="red", free={"any": {"thing": 1}}))
    assert pruned.body["spec"] == {"size": 1, "free": {"any": {"thing": 1}}}
    status = client.patch(f"{WIDGETS}/w1/status", {"status": {"phase": "Ready"}}).body
    assert status["status"] == {"phase": "Ready"}
    assert status["metadata"]["generation"] == 1
    listed = client.get(WIDGETS).body
    assert listed["kind"] == "WidgetList"
    table = client.request("GET", WIDGETS, headers={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}).body
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Size"]  # printer columns replace Age
    deleted = client.delete(f"{WIDGETS}/w1")
    assert deleted.body["kind"] == "Status"  # as for built-ins (kube-apiserver)
    assert deleted.body["details"]["kind"] == "widgets"


def test_cluster_scoped_crd(apiserver: ApiServer, client: Client) -> None:
    client.post(CRDS, crd("gadgets", "example.com", "Gadget", scope="Cluster"))
    apiserver.wait_idle()
    body = {"apiVersion": "example.com/v1", "kind": "Gadget", "metadata": {"name": "g"}, "spec": {}}
    created = client.post("/apis/example.com/v1/gadgets", body)
    assert created.status == 201
    assert "namespace" not in created.body["metadata"]


def test_deleting_crd_deletes_its_custom_resources(apiserver: ApiServer, client: Client) -> None:
    client.post(CRDS, crd())
    apiserver.wait_idle()
    client.post(WIDGETS, widget("a"))
    client.post(WIDGETS, widget("b"))
    reply = client.delete(f"{CRDS}/widgets.example.com")
    assert reply.status == 200
    apiserver.objects.wait_for("customresourcedefinitions", "widgets.example.com", condition=lambda o: o is None)
    assert apiserver.cluster.store.list(("example.com", "widgets")) == []
    assert client.get(WIDGETS).status == 404


def test_namespace_termination(apiserver: ApiServer, client: Client) -> None:
    apiserver.options.namespace_delete_delay = 0.05
    client.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "t"}})
    client.post("/api/v1/namespaces/t/configmaps", configmap("a", namespace="t"))
    reply = client.delete("/api/v1/namespaces/t")
    assert reply.status == 200
    assert reply.body["status"]["phase"] == "Terminating"
    assert reply.body["metadata"]["deletionTimestamp"]
    apiserver.objects.wait_for("namespaces", "t", condition=lambda o: o is None)
    assert apiserver.objects.list("configmaps", "t") == []


def test_namespace_waits_for_finalizers_of_its_contents(apiserver: ApiServer, client: Client) -> None:
    client.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "t"}})
    client.post("/api/v1/namespaces/t/configmaps", configmap("held", namespace="t", finalizers=["example.com/hold"]))
    client.delete("/api/v1/namespaces/t")
    apiserver.wait_idle()
    assert apiserver.objects.get("namespaces", "t") is not None
    held = client.get("/api/v1/namespaces/t/configmaps/held").body
    assert held["metadata"]["deletionTimestamp"]
    client.patch("/api/v1/namespaces/t/configmaps/held", {"metadata": {"finalizers": None}})
    apiserver.objects.wait_for("namespaces", "t", condition=lambda o: o is None)


def test_finalizers_hold_deletion_until_removed(client: Client) -> None:
    client.post(CM, configmap("a", finalizers=["example.com/hold"]))
    first = client.delete(f"{CM}/a")
    assert first.status == 200
    assert first.body["metadata"]["deletionTimestamp"]
    assert client.get(f"{CM}/a").status == 200
    rejected = client.patch(f"{CM}/a", {"metadata": {"finalizers": ["example.com/hold", "new"]}})
    assert rejected.status == 422
    client.patch(f"{CM}/a", {"metadata": {"finalizers": []}})
    assert client.get(f"{CM}/a").status == 404


def test_delete_preconditions(client: Client) -> None:
    created = client.post(CM, configmap("a")).body
    wrong_uid = client.delete(f"{CM}/a", {"preconditions": {"uid": "nope"}})
    assert wrong_uid.status == 409
    wrong_rv = client.delete(f"{CM}/a", {"preconditions": {"resourceVersion": "1"}})
    assert wrong_rv.status == 409
    right = client.delete(f"{CM}/a", {"preconditions": {"uid": created["metadata"]["uid"]}})
    assert right.status == 200
    assert right.body["status"] == "Success"
    assert right.body["details"]["name"] == "a"


def test_delete_missing_is_404(client: Client) -> None:
    assert client.delete(f"{CM}/ghost").status == 404


def test_deletecollection_with_selector(client: Client) -> None:
    client.post(CM, configmap("a", labels={"app": "x"}))
    client.post(CM, configmap("b", labels={"app": "x"}))
    client.post(CM, configmap("c", labels={"app": "y"}))
    reply = client.delete(f"{CM}?labelSelector=app%3Dx")
    assert reply.status == 200
    assert [o["metadata"]["name"] for o in reply.body["items"]] == ["a", "b"]
    remaining = [o["metadata"]["name"] for o in client.get(CM).body["items"]]
    assert remaining == ["c", "kube-root-ca.crt"]


def _owned(name: str, owner: dict[str, Any], block: bool = False) -> dict[str, Any]:
    body = configmap(name)
    body["metadata"]["ownerReferences"] = [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"],
            "blockOwnerDeletion": block,
        }
    ]
    return body


def test_garbage_collection_background(apiserver: ApiServer, client: Client) -> None:
    owner = client.post(DEPLOY, deployment("web")).body
    client.post(CM, _owned("dep", owner))
    client.delete(f"{DEPLOY}/web")
    apiserver.objects.wait_for("configmaps", "dep", "default", condition=lambda o: o is None)


def test_garbage_collection_keeps_dependents_with_a_live_owner(apiserver: ApiServer, client: Client) -> None:
    one = client.post(DEPLOY, deployment("one")).body
    two = client.post(DEPLOY, deployment("two")).body
    body = _owned("dep", one)
    body["metadata"]["ownerReferences"] += _owned("x", two)["metadata"]["ownerReferences"]
    client.post(CM, body)
    client.delete(f"{DEPLOY}/one")
    apiserver.wait_idle()
    assert apiserver.objects.get("configmaps", "dep", "default") is not None


def test_garbage_collection_foreground(apiserver: ApiServer, client: Client) -> None:
    apiserver.controllers.disable("GarbageCollector")
    owner = client.post(DEPLOY, deployment("web")).body
    client.post(CM, _owned("dep", owner, block=True))
    reply = client.request("DELETE", f"{DEPLOY}/web", {"propagationPolicy": "Foreground"})
    assert reply.status == 200
    assert "foregroundDeletion" in reply.body["metadata"]["finalizers"]
    apiserver.wait_idle()
    assert apiserver.objects.get("deployments", "web", "default") is not None  # the dependent blocks it
    apiserver.controllers.enable("GarbageCollector")
    client.patch(f"{DEPLOY}/web", {"metadata": {"labels": {"nudge": "1"}}})
    apiserver.objects.wait_for("configmaps", "dep", "default", condition=lambda o: o is None)
    apiserver.objects.wait_for("deployments", "web", "default", condition=lambda o: o is None)


def test_orphan_propagation_keeps_dependents(apiserver: ApiServer, client: Client) -> None:
    owner = client.post(DEPLOY, deployment("web")).body
    client.post(CM, _owned("dep", owner))
    client.delete(f"{DEPLOY}/web?propagationPolicy=Orphan")
    apiserver.wait_idle()
    dependent = apiserver.objects.get("configmaps", "dep", "default")
    assert dependent is not None
    assert "ownerReferences" not in dependent["metadata"]
