"""Object semantics: identity, resourceVersion, generation, namespaces, names, kinds, sizes, create/update, dry run,
status subresources, the fresh-cluster start state and errors as Status objects."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.apiserver.server import ApiServer
from tests.apiserver.testclient import CM, DEPLOY, Client, configmap, deployment


def _names(listed: dict[str, Any]) -> list[str]:
    """Names in a list, without the CA bundle every namespace gets."""
    return [o["metadata"]["name"] for o in listed["items"] if o["metadata"]["name"] != "kube-root-ca.crt"]


def test_fresh_cluster_state(client: Client) -> None:
    names = [n["metadata"]["name"] for n in client.get("/api/v1/namespaces").body["items"]]
    assert names == ["default", "kube-node-lease", "kube-public", "kube-system"]
    for ns in client.get("/api/v1/namespaces").body["items"]:
        assert ns["status"]["phase"] == "Active"
    nodes = client.get("/api/v1/nodes").body["items"]
    assert len(nodes) == 1
    assert {"type": "Ready", "status": "True"}.items() <= nodes[0]["status"]["conditions"][0].items()
    svc = client.get("/api/v1/namespaces/default/services/kubernetes").body
    assert svc["spec"]["clusterIP"] == "10.96.0.1"
    assert svc["spec"]["ports"][0]["port"] == 443


def test_create_sets_identity_and_resource_version(client: Client) -> None:
    first = client.post(CM, configmap("a"))
    second = client.post(CM, configmap("b"))
    assert first.status == 201
    meta = first.body["metadata"]
    assert re.fullmatch(r"[0-9a-f-]{36}", meta["uid"])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", meta["creationTimestamp"])
    assert int(second.rv) > int(first.rv)
    assert "generation" not in meta  # ConfigMaps have none, as in Kubernetes
    got = client.get(f"{CM}/a")
    assert got.body == first.body


def test_resource_version_is_global_and_monotonic(client: Client) -> None:
    seen = []
    for i in range(5):
        seen.append(int(client.post(CM, configmap(f"c{i}")).rv))
        seen.append(int(client.post(DEPLOY, deployment(f"d{i}")).rv))
    assert seen == sorted(seen)
    assert len(set(seen)) == len(seen)
    listed = client.get(CM)
    assert int(listed.rv) >= seen[-1]


def test_create_existing_is_409_already_exists(client: Client) -> None:
    client.post(CM, configmap("a"))
    reply = client.post(CM, configmap("a"))
    assert reply.status == 409
    assert reply.body["kind"] == "Status"
    assert reply.body["reason"] == "AlreadyExists"
    assert reply.body["details"] == {"name": "a", "kind": "configmaps"}  # an empty group is omitted
    assert reply.body["message"] == 'configmaps "a" already exists'


def test_get_missing_is_404_status(client: Client) -> None:
    reply = client.get(f"{DEPLOY}/nope")
    assert reply.status == 404
    assert reply.body == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": 'deployments.apps "nope" not found',
        "reason": "NotFound",
        "details": {"name": "nope", "group": "apps", "kind": "deployments"},
        "code": 404,
    }


def test_update_with_stale_resource_version_is_409(client: Client) -> None:
    created = client.post(CM, configmap("a")).body
    fresh = dict(created, data={"k": "v2"})
    assert client.put(f"{CM}/a", fresh).status == 200
    stale = dict(created, data={"k": "v3"})
    reply = client.put(f"{CM}/a", stale)
    assert reply.status == 409
    assert reply.body["reason"] == "Conflict"
    assert "the object has been modified" in reply.body["message"]
    assert client.get(f"{CM}/a").body["data"] == {"k": "v2"}


def test_update_without_resource_version_is_unconditional(client: Client) -> None:
    client.post(CM, configmap("a"))
    body = configmap("a", data={"x": "y"})
    reply = client.put(f"{CM}/a", body)
    assert reply.status == 200
    assert reply.body["data"] == {"x": "y"}


def test_update_that_changes_nothing_keeps_resource_version(client: Client) -> None:
    created = client.post(CM, configmap("a")).body
    again = client.put(f"{CM}/a", created)
    assert again.status == 200
    assert again.rv == created["metadata"]["resourceVersion"]


def test_update_changes_resource_version_and_keeps_uid(client: Client) -> None:
    created = client.post(CM, configmap("a")).body
    updated = client.put(f"{CM}/a", dict(created, data={"k": "other"})).body
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"]["resourceVersion"])
    assert updated["metadata"]["uid"] == created["metadata"]["uid"]
    assert updated["metadata"]["creationTimestamp"] == created["metadata"]["creationTimestamp"]


def test_update_of_missing_object_is_404(client: Client) -> None:
    assert client.put(f"{CM}/ghost", configmap("ghost")).status == 404


def test_generation_bumps_on_spec_change_only(client: Client) -> None:
    created = client.post(DEPLOY, deployment("web")).body
    assert created["metadata"]["generation"] == 1
    labelled = client.patch(f"{DEPLOY}/web", {"metadata": {"labels": {"a": "b"}}}).body
    assert labelled["metadata"]["generation"] == 1
    scaled = client.patch(f"{DEPLOY}/web", {"spec": {"replicas": 5}}).body
    assert scaled["metadata"]["generation"] == 2


def test_namespace_missing_is_404(client: Client) -> None:
    reply = client.post("/api/v1/namespaces/nowhere/configmaps", configmap("a", namespace="nowhere"))
    assert reply.status == 404
    assert reply.body["message"] == 'namespaces "nowhere" not found'
    assert reply.body["details"]["kind"] == "namespaces"


def test_namespace_terminating_is_403(apiserver: ApiServer, client: Client) -> None:
    client.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "doomed"}})
    client.post("/api/v1/namespaces/doomed/configmaps", configmap("keep", namespace="doomed", finalizers=["x/hold"]))
    apiserver.wait_idle()
    assert client.delete("/api/v1/namespaces/doomed").status == 200
    reply = client.post("/api/v1/namespaces/doomed/configmaps", configmap("new", namespace="doomed"))
    assert reply.status == 403
    assert reply.body["reason"] == "Forbidden"
    assert "because it is being terminated" in reply.body["message"]
    assert reply.body["details"]["causes"][0]["reason"] == "NamespaceTerminating"


@pytest.mark.parametrize(
    ("path", "name"),
    [(CM, "Bad_Name"), (CM, "x" * 254), ("/api/v1/namespaces", "dots.not.allowed"), (CM, "-leading")],
)
def test_invalid_names_are_422_with_causes(client: Client, path: str, name: str) -> None:
    body = configmap(name) if path == CM else {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
    reply = client.post(path, body)
    assert reply.status == 422
    assert reply.body["reason"] == "Invalid"
    causes = reply.body["details"]["causes"]
    assert causes[0]["field"] == "metadata.name"
    assert causes[0]["reason"] == "FieldValueInvalid"


def test_rbac_names_allow_colons(client: Client) -> None:
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "system:istio:reader"},
        "rules": [],
    }
    assert client.post("/apis/rbac.authorization.k8s.io/v1/clusterroles", role).status == 201


def test_missing_name_is_422_and_generate_name_works(client: Client) -> None:
    reply = client.post(CM, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {}})
    assert reply.status == 422
    assert "name or generateName is required" in reply.body["message"]
    made = client.post(CM, {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"generateName": "gen-"}})
    assert made.status == 201
    assert re.fullmatch(r"gen-[0-9a-f]{5}", made.body["metadata"]["name"])


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (dict(configmap("a"), kind="Secret"), 'Secret in version "v1" cannot be handled as a ConfigMap'),
        (dict(configmap("a"), apiVersion="apps/v1"), "the API version in the data (apps/v1) does not match"),
        (configmap("a", namespace="other"), "the namespace of the provided object does not match"),
    ],
)
def test_kind_api_version_and_namespace_checked_against_url(
    client: Client, body: dict[str, object], message: str
) -> None:
    reply = client.post(CM, body)
    assert reply.status == 400
    assert reply.body["reason"] == "BadRequest"
    assert message in reply.body["message"]


def test_cluster_scoped_object_has_no_namespace(client: Client) -> None:
    ns = client.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n1"}}).body
    assert "namespace" not in ns["metadata"]


def test_objects_over_limit_are_rejected(client: Client) -> None:
    big = configmap("big", data={f"k{i}": "x" * 100_000 for i in range(11)})
    reply = client.post(CM, big)
    assert reply.status == 422
    assert "Too long" in reply.body["message"]
    annotations = {f"a{i}": "y" * 200_000 for i in range(9)}
    reply = client.post(CM, configmap("huge", annotations=annotations))
    assert reply.status == 422  # annotations are limited to 256 KiB in all
    assert reply.body["details"]["causes"][0]["field"] == "metadata.annotations"
    huge = deployment("huge")
    huge["spec"]["template"]["spec"]["containers"][0]["args"] = ["y" * 200_000 for _ in range(9)]
    reply = client.post(DEPLOY, huge)
    assert reply.status == 413
    assert reply.body["reason"] == "RequestEntityTooLarge"


@pytest.mark.parametrize("verb", ["create", "update", "merge-patch", "apply", "delete", "deletecollection"])
def test_dry_run_never_writes(client: Client, verb: str) -> None:
    created = client.post(CM, configmap("a")).body
    before = client.get(CM).rv
    dry = "?dryRun=All"
    if verb == "create":
        reply = client.post(CM + dry, configmap("b"))
        assert reply.status == 201
        assert reply.body["metadata"]["uid"]
        assert "resourceVersion" not in reply.body["metadata"]
    elif verb == "update":
        reply = client.put(f"{CM}/a{dry}", dict(created, data={"k": "dry"}))
        assert reply.body["data"] == {"k": "dry"}
    elif verb == "merge-patch":
        reply = client.patch(f"{CM}/a{dry}", {"data": {"k": "dry"}})
        assert reply.body["data"] == {"k": "dry"}
    elif verb == "apply":
        reply = client.apply(f"{CM}/b", configmap("b"), extra="&dryRun=All")
        assert reply.status == 201  # as kube-apiserver: the apply would create
    elif verb == "delete":
        reply = client.delete(f"{CM}/a{dry}")
        assert reply.status == 200
    else:
        reply = client.delete(CM + dry)
        assert reply.status == 200
        assert _names(reply.body) == ["a"]
    assert reply.status < 300
    assert client.get(CM).rv == before
    assert _names(client.get(CM).body) == ["a"]
    assert client.get(f"{CM}/a").body["data"] == {"k": "v"}


def test_dry_run_unsupported_value_is_422(client: Client) -> None:
    reply = client.post(CM + "?dryRun=Some", configmap("b"))
    assert reply.status == 422
    assert reply.body["details"]["causes"][0]["field"] == "dryRun"


def test_status_subresource_separates_spec_and_status(apiserver: ApiServer, client: Client) -> None:
    apiserver.controllers.disable("Deployment")
    created = client.post(DEPLOY, dict(deployment("web"), status={"replicas": 99})).body
    assert "status" not in created or created["status"].get("replicas") != 99
    status_body = dict(created, status={"replicas": 7, "observedGeneration": 1}, spec=dict(created["spec"], replicas=9))
    after = client.put(f"{DEPLOY}/web/status", status_body).body
    assert after["status"]["replicas"] == 7
    assert after["spec"]["replicas"] == 2  # spec changes through /status are ignored
    main = client.patch(f"{DEPLOY}/web", {"status": {"replicas": 1}, "spec": {"replicas": 3}}).body
    assert main["status"]["replicas"] == 7  # status changes through the main resource are ignored
    assert main["spec"]["replicas"] == 3
    patched = client.patch(f"{DEPLOY}/web/status", {"status": {"readyReplicas": 3}}).body
    assert patched["status"]["readyReplicas"] == 3
    entry = next(m for m in patched["metadata"]["managedFields"] if m.get("subresource") == "status")
    assert "f:status" in entry["fieldsV1"]


def test_unknown_subresource_is_404(client: Client) -> None:
    client.post(CM, configmap("a"))
    assert client.get(f"{CM}/a/status").status == 404


def test_unknown_resource_is_404(client: Client) -> None:
    reply = client.get("/apis/example.com/v1/namespaces/default/widgets")
    assert reply.status == 404
    assert reply.body["reason"] == "NotFound"


def test_every_listed_builtin_resource_is_served(client: Client) -> None:
    expected = {
        "v1": {
            "namespaces",
            "configmaps",
            "secrets",
            "services",
            "serviceaccounts",
            "pods",
            "endpoints",
            "nodes",
            "events",
            "resourcequotas",
        },
        "apps/v1": {"deployments", "daemonsets", "statefulsets", "replicasets"},
        "rbac.authorization.k8s.io/v1": {"roles", "rolebindings", "clusterroles", "clusterrolebindings"},
        "admissionregistration.k8s.io/v1": {
            "mutatingwebhookconfigurations",
            "validatingwebhookconfigurations",
            "validatingadmissionpolicies",
            "validatingadmissionpolicybindings",
        },
        "apiextensions.k8s.io/v1": {"customresourcedefinitions"},
        "autoscaling/v2": {"horizontalpodautoscalers"},
        "policy/v1": {"poddisruptionbudgets"},
        "networking.k8s.io/v1": {"networkpolicies"},
        "discovery.k8s.io/v1": {"endpointslices"},
        "coordination.k8s.io/v1": {"leases"},
        "batch/v1": {"jobs"},
    }
    for group_version, plurals in expected.items():
        path = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
        listed = {r["name"] for r in client.get(path).body["resources"] if "/" not in r["name"]}
        assert plurals <= listed, group_version
        for plural in plurals:
            assert client.get(f"{path}/{plural}").status == 200, plural


def test_lease_create_and_renew(client: Client) -> None:
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": "meshctl-lock", "namespace": "default"},
        "spec": {"holderIdentity": "me", "leaseDurationSeconds": 15, "renewTime": "2026-01-01T00:00:00.000000Z"},
    }
    path = "/apis/coordination.k8s.io/v1/namespaces/default/leases"
    created = client.post(path, lease).body
    renewed = client.put(
        f"{path}/meshctl-lock", dict(created, spec=dict(lease["spec"], renewTime="2026-01-01T00:00:05.000000Z"))
    )
    assert renewed.status == 200
    stale = client.put(f"{path}/meshctl-lock", dict(created, spec=dict(lease["spec"], holderIdentity="thief")))
    assert stale.status == 409


def test_secret_with_applyset_labels(client: Client) -> None:
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "meshctl.io/installation",
        "metadata": {
            "name": "meshctl-default",
            "namespace": "default",
            "labels": {"applyset.kubernetes.io/id": "applyset-abc-v1"},
            "annotations": {"applyset.kubernetes.io/tooling": "meshctl/0.1.0"},
        },
        "data": {"state": "eyJ4IjogMX0="},
    }
    created = client.post("/api/v1/namespaces/default/secrets", secret)
    assert created.status == 201
    found = client.get("/api/v1/secrets?labelSelector=applyset.kubernetes.io/id%3Dapplyset-abc-v1").body["items"]
    assert [s["metadata"]["name"] for s in found] == ["meshctl-default"]
    assert found[0]["type"] == "meshctl.io/installation"
