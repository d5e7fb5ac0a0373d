"""The scenario table: each entry is a function of a `harness.Run` (the same requests on both servers) and, for an
accepted deviation, the exact difference expected (`Deviation`), documented in tests/apiserver/README.md."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from tests.conformance.harness import Run

CM = "/api/v1/namespaces/{ns}/configmaps"
SVC = "/api/v1/namespaces/{ns}/services"
DEP = "/apis/apps/v1/namespaces/{ns}/deployments"
APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"
GROUP = "conformance.example.com"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


@dataclasses.dataclass(frozen=True)
class Deviation:
    reason: str  # as in tests/apiserver/README.md, "Accepted deviations from kube-apiserver"
    paths: tuple[str, ...]  # the JSON paths of the transcript that differ (exactly these)
    # The real side's answer depends on timing outside the test's control (an etcd compaction every 5 minutes):
    # the scenario may then agree completely; any other difference still fails it.
    may_agree: bool = False


@dataclasses.dataclass(frozen=True)
class Scenario:
    id: str
    run: Callable[[Run], None]

    @property
    def deviation(self) -> Deviation | None:
        return DEVIATIONS.get(self.id)


# Accepted deviations (tests/apiserver/README.md, "Accepted deviations from kube-apiserver"): the reason, and the
# exact transcript paths that differ — the scenario fails if either server changes.
REASONS = {
    "csa-upgrade": "no upgrade of client-side apply's managed fields and last-applied annotation on the first"
    " server-side apply",
    "go-wording": "decoding errors carry Python's parser wording, not Go's",
    "put-without-kind": "a PUT without kind answers the object with its managedFields (kube-apiserver drops them)",
    "deletion-finalizers": "Foreground and Orphan deletes act at once and answer a Status; kube-apiserver answers"
    " the object with the foregroundDeletion / orphan finalizer and lets the garbage collector finish",
    "watch-history": "a bounded event history gives 410 Expired; kube-apiserver serves from etcd until compaction"
    " (every 5 minutes)",
    "openapi": "OpenAPI v3 documents lack what `kubectl explain` renders (descriptions, operation details)",
    "protobuf": "JSON only: kubectl's generated-client commands (create <kind>, delete, auth can-i) send protobuf",
}


def _command_results(*steps: int) -> tuple[str, ...]:
    """The exit code, stderr and stdout of these (kubectl) steps of a transcript."""
    return tuple(f"[{step}].result.{part}" for step in steps for part in ("rc", "stderr", "stdout"))


#: A Foreground or Orphan delete (step 0) answered with a Status where kube-apiserver answers the object.
_STATUS_FOR_OBJECT = (
    "[0].result.body.details",
    "[0].result.body.kind",
    "[0].result.body.metadata.creationTimestamp",
    "[0].result.body.metadata.deletionGracePeriodSeconds",
    "[0].result.body.metadata.deletionTimestamp",
    "[0].result.body.metadata.finalizers",
    "[0].result.body.metadata.name",
    "[0].result.body.metadata.namespace",
    "[0].result.body.metadata.resourceVersion",
    "[0].result.body.metadata.uid",
    "[0].result.body.status",
)

DEVIATIONS: dict[str, Deviation] = {
    "delete-foreground-body": Deviation("deletion-finalizers", _STATUS_FOR_OBJECT),
    "gc-orphan": Deviation("deletion-finalizers", (*_STATUS_FOR_OBJECT, "[1].result.body.metadata.managedFields")),
    "kubectl-auth-can-i": Deviation("protobuf", _command_results(0)),
    "kubectl-create-configmap": Deviation("protobuf", _command_results(0, 1)),
    "kubectl-create-deployment": Deviation("protobuf", _command_results(0, 1)),
    "kubectl-create-dry-run-server": Deviation("protobuf", _command_results(0)),
    "kubectl-create-existing": Deviation("protobuf", (*_command_results(0), "[1].result.stderr")),
    "kubectl-delete": Deviation("protobuf", _command_results(0)),
    "kubectl-explain": Deviation("openapi", _command_results(0)),
    "malformed-json": Deviation(
        "go-wording",
        ("[0].result.body.message",),
    ),
    "paginate-bad-token": Deviation(
        "go-wording",
        ("[0].result.body.message",),
    ),
    "put-without-kind": Deviation(
        "put-without-kind",
        ("[0].result.body.metadata.managedFields",),
    ),
    "ssa-from-client-side-apply": Deviation(
        "csa-upgrade",
        (
            "[3].result",
            "[4].result.j",
        ),
    ),
    "watch-expired-410": Deviation(
        "watch-history",
        ("[0].result.events",),
        may_agree=True,  # after kube-apiserver's first compaction it answers 410 Expired as well
    ),
}


# --- helpers ---------------------------------------------------------------------------------------------------


def cm(name: str, data: dict[str, str] | None = None, **meta: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, **meta}}
    if data is not None:
        obj["data"] = data
    return obj


def deployment(name: str, replicas: int = 1, app: str | None = None) -> dict[str, Any]:
    app = app or name
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": app}},
            "template": {
                "metadata": {"labels": {"app": app}},
                "spec": {"containers": [{"name": "c", "image": "example.com/app:1"}]},
            },
        },
    }


def service(name: str, ports: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name},
        "spec": {"selector": {"app": name}, "ports": ports if ports is not None else [{"name": "http", "port": 80}]},
    }


def apply(run: Run, path: str, obj: dict[str, Any], manager: str = "m1", record: str | None = "", **q: str) -> Any:
    query = {"fieldManager": manager, **q}
    return run.req("PATCH", f"{path}/{obj['metadata']['name']}", obj, query=query, content_type=APPLY, record=record)


def managers(run: Run, path: str) -> None:
    """Record the managed fields of an object (times normalised away)."""
    body = run.req("GET", path, record=None).body
    run.record(f"managedFields {path}", body.get("metadata", {}).get("managedFields"))


def crd(run: Run, plural: str, *, columns: bool = False, status: bool = False) -> str:
    """Create a namespaced CRD `<plural>.conformance.example.com`, wait until Established; its collection path."""
    kind = plural[:-1].capitalize()
    schema = {
        "type": "object",
        "properties": {
            "spec": {
                "type": "object",
                "properties": {
                    "size": {"type": "integer", "minimum": 1, "maximum": 10},
                    "color": {"type": "string", "enum": ["red", "blue"], "default": "red"},
                    "items": {"type": "array", "items": {"type": "string"}},
                },
            },
            "status": {"type": "object", "properties": {"phase": {"type": "string"}}},
        },
    }
    version: dict[str, Any] = {"name": "v1", "served": True, "storage": True, "schema": {"openAPIV3Schema": schema}}
    if columns:
        version["additionalPrinterColumns"] = [
            {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
            {"name": "Color", "type": "string", "jsonPath": ".spec.color"},
        ]
    if status:
        version["subresources"] = {"status": {}}
    body = {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {"plural": plural, "singular": plural[:-1], "kind": kind, "listKind": f"{kind}List"},
            "versions": [version],
        },
    }
    run.req("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body, record=None)
    path = f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{plural}.{GROUP}"

    def established() -> bool:
        conditions = (run.req("GET", path, record=None).body.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)

    run.wait(established, f"CRD {plural} established")
    collection = f"/apis/{GROUP}/v1/namespaces/{{ns}}/{plural}"
    run.wait(lambda: run.req("GET", collection, record=None).status == 200, f"{plural} served")
    return collection


def cr(plural: str, name: str, spec: dict[str, Any], **meta: Any) -> dict[str, Any]:
    kind = plural[:-1].capitalize()
    return {"apiVersion": f"{GROUP}/v1", "kind": kind, "metadata": {"name": name, **meta}, "spec": spec}


# --- server-side apply -----------------------------------------------------------------------------------------


def ssa_create(run: Run) -> None:
    apply(run, CM, cm("a", {"k": "v"}))


def ssa_identical_reapply(run: Run) -> None:
    first = apply(run, CM, cm("a", {"k": "v"}))
    second = apply(run, CM, cm("a", {"k": "v"}))
    run.record(
        "same resourceVersion", first.body["metadata"]["resourceVersion"] == second.body["metadata"]["resourceVersion"]
    )


def ssa_field_removal(run: Run) -> None:
    apply(run, CM, cm("a", {"k": "v", "gone": "x"}, labels={"l1": "a", "l2": "b"}))
    apply(run, CM, cm("a", {"k": "v"}, labels={"l1": "a"}))


def ssa_list_map_merge(run: Run) -> None:
    apply(run, SVC, service("s", [{"name": "http", "port": 80}]), manager="a")
    body = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s"},
        "spec": {"ports": [{"name": "https", "port": 443}]},
    }
    apply(run, SVC, body, manager="b")
    managers(run, f"{SVC}/s")


def ssa_list_map_merge_containers(run: Run) -> None:
    apply(run, DEP, deployment("d"), manager="a")
    extra = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"template": {"spec": {"containers": [{"name": "side", "image": "example.com/side:1"}]}}},
    }
    reply = apply(run, DEP, extra, manager="b", record=None)
    run.record("containers", [c["name"] for c in reply.body["spec"]["template"]["spec"]["containers"]])


def ssa_conflict(run: Run) -> None:
    apply(run, CM, cm("a", {"k": "one"}), manager="a")
    apply(run, CM, cm("a", {"k": "two"}), manager="b")


def ssa_conflict_two_fields(run: Run) -> None:
    apply(run, CM, cm("a", {"k": "one", "j": "one"}, labels={"x": "1"}), manager="a")
    apply(run, CM, cm("a", {"k": "two", "j": "two"}, labels={"x": "2"}), manager="b")


def ssa_conflict_with_update(run: Run) -> None:
    run.req("POST", CM, cm("a", {"k": "one"}), query={"fieldManager": "editor"})
    apply(run, CM, cm("a", {"k": "two"}), manager="b")


def ssa_conflict_replicas(run: Run) -> None:
    apply(run, DEP, deployment("d", replicas=2), manager="a", record=None)
    apply(run, DEP, deployment("d", replicas=3), manager="b")


def ssa_force(run: Run) -> None:
    apply(run, CM, cm("a", {"k": "one", "j": "kept"}), manager="a")
    apply(run, CM, cm("a", {"k": "two"}), manager="b", force="true")
    managers(run, f"{CM}/a")


def ssa_shared_ownership(run: Run) -> None:
    apply(run, CM, cm("a", {"k": "same"}), manager="a")
    apply(run, CM, cm("a", {"k": "same"}), manager="b")
    managers(run, f"{CM}/a")


def ssa_no_field_manager(run: Run) -> None:
    run.req("PATCH", f"{CM}/a", cm("a", {"k": "v"}), content_type=APPLY)


def ssa_force_on_other_patch(run: Run) -> None:
    run.req("POST", CM, cm("a"))
    run.req("PATCH", f"{CM}/a", {"data": {"k": "v"}}, content_type=MERGE, query={"force": "true"})


def ssa_yaml_body(run: Run) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n"
    run.req("PATCH", f"{CM}/a", text, content_type=APPLY, query={"fieldManager": "m"})


def ssa_without_kind(run: Run) -> None:
    run.req(
        "PATCH",
        f"{CM}/a",
        {"apiVersion": "v1", "metadata": {"name": "a"}},
        content_type=APPLY,
        query={"fieldManager": "m"},
    )


def ssa_name_mismatch(run: Run) -> None:
    run.req("PATCH", f"{CM}/a", cm("b", {"k": "v"}), content_type=APPLY, query={"fieldManager": "m"})


def ssa_csa_to_ssa(run: Run) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n  j: w\n"
    run.kubectl("apply", "-f", "-", stdin=text)
    managers(run, f"{CM}/a")
    run.kubectl("apply", "--server-side", "-f", "-", stdin=text.replace("  j: w\n", ""))
    managers(run, f"{CM}/a")
    body = run.req("GET", f"{CM}/a", record=None).body
    run.record("data", body["data"])


def ssa_dry_run_create(run: Run) -> None:
    apply(run, CM, cm("a", {"k": "v"}), dryRun="All")
    run.req("GET", f"{CM}/a")


def ssa_status_ignored(run: Run) -> None:
    obj = deployment("d")
    obj["status"] = {"replicas": 5}
    reply = apply(run, DEP, obj, record=None)
    run.record("status", reply.body.get("status"))


# --- dry run ---------------------------------------------------------------------------------------------------


def dry_run_create(run: Run) -> None:
    run.req("POST", CM, cm("a", {"k": "v"}), query={"dryRun": "All"})
    run.req("GET", f"{CM}/a")


def dry_run_delete(run: Run) -> None:
    run.req("POST", CM, cm("a", {"k": "v"}))
    run.req("DELETE", f"{CM}/a", query={"dryRun": "All"})
    run.req("GET", f"{CM}/a")


def dry_run_update(run: Run) -> None:
    run.req("POST", CM, cm("a", {"k": "v"}))
    run.req("PUT", f"{CM}/a", cm("a", {"k": "changed"}), query={"dryRun": "All"})
    run.req("GET", f"{CM}/a")


def dry_run_bad_value(run: Run) -> None:
    run.req("POST", CM, cm("a"), query={"dryRun": "Yes"})


# --- defaulting ------------------------------------------------------------------------------------------------


def default_deployment(run: Run) -> None:
    run.req("POST", DEP, deployment("d"))


def default_service(run: Run) -> None:
    run.req("POST", SVC, service("s", [{"port": 80}]))


def default_service_nodeport_target(run: Run) -> None:
    run.req("POST", SVC, service("s", [{"name": "a", "port": 8080, "targetPort": "web"}]))


def default_secret(run: Run) -> None:
    run.req(
        "POST",
        "/api/v1/namespaces/{ns}/secrets",
        {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "stringData": {"a": "b"}},
    )


def default_daemonset(run: Run) -> None:
    body = deployment("ds")
    body["kind"] = "DaemonSet"
    del body["spec"]["replicas"]
    run.req("POST", "/apis/apps/v1/namespaces/{ns}/daemonsets", body)


def default_service_account(run: Run) -> None:
    run.req(
        "POST",
        "/api/v1/namespaces/{ns}/serviceaccounts",
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "sa"}},
    )


def default_role(run: Run) -> None:
    body = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": {"name": "r"},
        "rules": [{"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]}],
    }
    run.req("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/{ns}/roles", body)


# --- validation ------------------------------------------------------------------------------------------------


def immutable_selector(run: Run) -> None:
    run.req("POST", DEP, deployment("d"), record=None)
    patch = {
        "spec": {"selector": {"matchLabels": {"app": "other"}}, "template": {"metadata": {"labels": {"app": "other"}}}}
    }
    run.req("PATCH", f"{DEP}/d", patch, content_type=MERGE)


def immutable_cluster_ip(run: Run) -> None:
    run.req("POST", SVC, service("s"), record=None)
    run.req(
        "PATCH",
        f"{SVC}/s",
        {"spec": {"clusterIP": "10.96.200.200", "clusterIPs": ["10.96.200.200"]}},
        content_type=MERGE,
    )


def immutable_configmap(run: Run) -> None:
    run.req("POST", CM, {**cm("a", {"k": "v"}), "immutable": True})
    run.req("PATCH", f"{CM}/a", {"data": {"k": "changed"}}, content_type=MERGE)


def negative_replicas(run: Run) -> None:
    run.req("POST", DEP, deployment("d", replicas=-1))


def port_out_of_range(run: Run) -> None:
    run.req("POST", SVC, service("s", [{"name": "x", "port": 70000}]))


def service_without_ports(run: Run) -> None:
    run.req("POST", SVC, service("s", []))


def selector_mismatch(run: Run) -> None:
    body = deployment("d")
    body["spec"]["template"]["metadata"]["labels"] = {"app": "other"}
    run.req("POST", DEP, body)


def invalid_name(run: Run) -> None:
    run.req("POST", CM, cm("Not_Valid"))


def name_too_long(run: Run) -> None:
    run.req("POST", CM, cm("a" * 254))


def service_name_label_limit(run: Run) -> None:
    run.req("POST", SVC, service("s" * 64))


def annotation_too_large(run: Run) -> None:
    run.req("POST", CM, cm("a", annotations={"big": "x" * (256 * 1024)}))


def invalid_label_value(run: Run) -> None:
    run.req("POST", CM, cm("a", labels={"k": "not valid!"}))


def already_exists(run: Run) -> None:
    run.req("POST", CM, cm("a"))
    run.req("POST", CM, cm("a"))


def not_found(run: Run) -> None:
    run.req("GET", f"{CM}/missing")


def stale_update(run: Run) -> None:
    created = run.req("POST", CM, cm("a", {"k": "v"}), record=None).body
    run.req("PUT", f"{CM}/a", cm("a", {"k": "1"}), record=None)
    stale = cm("a", {"k": "2"})
    stale["metadata"]["resourceVersion"] = created["metadata"]["resourceVersion"]
    run.req("PUT", f"{CM}/a", stale)


def strict_unknown_field(run: Run) -> None:
    body = cm("a")
    body["bogus"] = 1
    run.req("POST", CM, body, query={"fieldValidation": "Strict"})


def put_name_mismatch(run: Run) -> None:
    run.req("POST", CM, cm("a"), record=None)
    run.req("PUT", f"{CM}/a", cm("b"))


def namespace_mismatch(run: Run) -> None:
    run.req("POST", CM, cm("a", namespace="elsewhere"))


def put_missing_object(run: Run) -> None:
    run.req("PUT", f"{CM}/nothere", cm("nothere", {"k": "v"}))


# --- content types and bodies ----------------------------------------------------------------------------------


def text_plain_415(run: Run) -> None:
    run.req("POST", CM, "name: a", content_type="text/plain")


def patch_json_415(run: Run) -> None:
    run.req("POST", CM, cm("a"), record=None)
    run.req("PATCH", f"{CM}/a", {"data": {"k": "v"}}, content_type="application/json")


def yaml_create(run: Run) -> None:
    run.req(
        "POST",
        CM,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n",
        content_type="application/yaml",
    )


def malformed_json(run: Run) -> None:
    run.req("POST", CM, b"{not json")


def create_without_kind(run: Run) -> None:
    run.req("POST", CM, {"metadata": {"name": "a"}, "data": {"k": "v"}})


def put_without_kind(run: Run) -> None:
    run.req("POST", CM, cm("a"), record=None)
    run.req("PUT", f"{CM}/a", {"metadata": {"name": "a"}, "data": {"k": "v"}})


def wrong_kind(run: Run) -> None:
    run.req("POST", CM, {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "a"}})


def json_patch(run: Run) -> None:
    run.req("POST", CM, cm("a", {"k": "v"}), record=None)
    ops = [{"op": "add", "path": "/data/j", "value": "w"}, {"op": "remove", "path": "/data/k"}]
    run.req("PATCH", f"{CM}/a", ops, content_type="application/json-patch+json")


def strategic_merge_patch(run: Run) -> None:
    run.req("POST", DEP, deployment("d"), record=None)
    patch = {"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "example.com/app:2"}]}}}}
    reply = run.req("PATCH", f"{DEP}/d", patch, content_type="application/strategic-merge-patch+json", record=None)
    run.record("containers", reply.body["spec"]["template"]["spec"]["containers"])


# --- DELETE ----------------------------------------------------------------------------------------------------


def delete_configmap(run: Run) -> None:
    run.req("POST", CM, cm("a"), record=None)
    run.req("DELETE", f"{CM}/a")


def delete_missing(run: Run) -> None:
    run.req("DELETE", f"{CM}/missing")


def delete_foreground_body(run: Run) -> None:
    run.req("POST", CM, cm("a"), record=None)
    run.req("DELETE", f"{CM}/a", {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"})
    run.gone(f"{CM}/a")


def delete_precondition(run: Run) -> None:
    run.req("POST", CM, cm("a"), record=None)
    body = {
        "kind": "DeleteOptions",
        "apiVersion": "v1",
        "preconditions": {"uid": "00000000-0000-0000-0000-000000000000"},
    }
    run.req("DELETE", f"{CM}/a", body)


def delete_collection(run: Run) -> None:
    for name in ("a", "b", "c"):
        run.req("POST", CM, cm(name, labels={"sel": "yes" if name != "c" else "no"}), record=None)
    run.req("DELETE", CM, query={"labelSelector": "sel=yes"})
    names = [i["metadata"]["name"] for i in run.req("GET", CM, record=None).body["items"]]
    run.record("left", sorted(n for n in names if n != "kube-root-ca.crt"))


def delete_with_finalizer(run: Run) -> None:
    run.req("POST", CM, cm("a", finalizers=["example.com/hold"]), record=None)
    run.req("DELETE", f"{CM}/a")
    run.req("PATCH", f"{CM}/a", {"metadata": {"finalizers": None}}, content_type=MERGE)
    run.gone(f"{CM}/a")


# --- garbage collection ----------------------------------------------------------------------------------------


def _owner_and_dependent(run: Run) -> None:
    owner = run.req("POST", CM, cm("owner"), record=None).body
    ref = {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": owner["metadata"]["uid"]}
    run.req("POST", CM, cm("dep", ownerReferences=[ref]), record=None)


def gc_background(run: Run) -> None:
    _owner_and_dependent(run)
    run.req("DELETE", f"{CM}/owner", {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"})
    run.gone(f"{CM}/dep")
    run.record("dependent gone", True)


def gc_foreground(run: Run) -> None:
    _owner_and_dependent(run)
    run.req("DELETE", f"{CM}/owner", {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"})
    run.gone(f"{CM}/owner")
    run.req("GET", f"{CM}/dep")


def gc_orphan(run: Run) -> None:
    _owner_and_dependent(run)
    run.req("DELETE", f"{CM}/owner", {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Orphan"})
    run.gone(f"{CM}/owner")
    run.wait(lambda: not run.req("GET", f"{CM}/dep", record=None).body["metadata"].get("ownerReferences"), "orphaned")
    run.req("GET", f"{CM}/dep")


def delete_deployment_foreground(run: Run) -> None:
    run.req("POST", DEP, deployment("d"), record=None)
    run.req(
        "DELETE",
        f"{DEP}/d",
        {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Foreground"},
        record=None,
    )
    run.gone(f"{DEP}/d")
    run.wait(
        lambda: not run.req("GET", "/apis/apps/v1/namespaces/{ns}/replicasets", record=None).body["items"], "no RS"
    )
    run.record("replicasets gone", True)


# --- namespaces ------------------------------------------------------------------------------------------------


def namespace_termination(run: Run) -> None:
    ns = f"{run.ns}-x"
    run.req(
        "POST", "/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}, record=None
    )
    run.req("POST", f"/api/v1/namespaces/{ns}/configmaps", cm("held", finalizers=["example.com/hold"]), record=None)
    reply = run.req("DELETE", f"/api/v1/namespaces/{ns}", record=None)
    run.record(
        "delete namespace",
        {"status": reply.status, "phase": reply.body["status"]["phase"], "finalizers": reply.body["spec"]},
    )
    run.req("POST", f"/api/v1/namespaces/{ns}/configmaps", cm("new"), record="create in terminating namespace")
    run.req(
        "PATCH",
        f"/api/v1/namespaces/{ns}/configmaps/held",
        {"metadata": {"finalizers": None}},
        content_type=MERGE,
        record=None,
    )
    run.gone(f"/api/v1/namespaces/{ns}", timeout=60)
    run.record("namespace gone", True)


def namespace_missing(run: Run) -> None:
    run.req("POST", "/api/v1/namespaces/does-not-exist-anywhere/configmaps", cm("a"))


def namespace_create_body(run: Run) -> None:
    reply = run.req(
        "POST",
        "/api/v1/namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": f"{run.ns}-n"}},
        record=None,
    )
    run.record(
        "namespace", {"status": reply.status, "spec": reply.body.get("spec"), "status.phase": reply.body.get("status")}
    )
    run.req("DELETE", f"/api/v1/namespaces/{run.ns}-n", record=None)


# --- CRDs and custom resources ---------------------------------------------------------------------------------


def crd_established(run: Run) -> None:
    crd(run, "widgets")
    body = run.req("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.{GROUP}", record=None).body
    run.record("conditions", sorted((c["type"], c["status"], c["reason"]) for c in body["status"]["conditions"]))
    run.record("acceptedNames", body["status"]["acceptedNames"])


def cr_create_defaults(run: Run) -> None:
    path = crd(run, "gadgets")
    run.req("POST", path, cr("gadgets", "g", {"size": 2}))


def cr_validation(run: Run) -> None:
    path = crd(run, "gizmos")
    reply = run.req("POST", path, cr("gizmos", "g", {"size": 20, "color": "green"}), record=None)
    # kube-apiserver's schema validation walks Go maps: its causes come in random order.
    causes = sorted(reply.body["details"]["causes"], key=lambda c: c["field"])
    run.record("invalid", {"status": reply.status, "reason": reply.body["reason"], "causes": causes})


def cr_pruning(run: Run) -> None:
    path = crd(run, "doodads")
    run.req("POST", path, cr("doodads", "d", {"size": 1, "unknown": "x"}))


def cr_delete_body(run: Run) -> None:
    path = crd(run, "thingies")
    run.req("POST", path, cr("thingies", "t", {"size": 1}), record=None)
    run.req("DELETE", f"{path}/t")


def cr_status_subresource(run: Run) -> None:
    path = crd(run, "sprockets", status=True)
    obj = cr("sprockets", "s", {"size": 1})
    obj["status"] = {"phase": "Ignored"}
    run.req("POST", path, obj)
    run.req("PATCH", f"{path}/s/status", {"status": {"phase": "Ready"}}, content_type=MERGE)


def cr_apply(run: Run) -> None:
    path = crd(run, "cogs")
    apply(run, path, cr("cogs", "c", {"size": 1, "items": ["a"]}), manager="a")
    apply(run, path, cr("cogs", "c", {"items": ["b"]}), manager="b")


def cr_table(run: Run) -> None:
    path = crd(run, "levers", columns=True)
    run.req("POST", path, cr("levers", "l", {"size": 3}), record=None)
    run.req("GET", path, accept=TABLE)


# --- watch -----------------------------------------------------------------------------------------------------


def watch_events(run: Run) -> None:
    rv = run.req("GET", CM, record=None).body["metadata"]["resourceVersion"]
    run.req("POST", CM, cm("w", {"k": "1"}, labels={"w": "e"}), record=None)
    run.req("PATCH", f"{CM}/w", {"data": {"k": "2"}}, content_type=MERGE, record=None)
    run.req("DELETE", f"{CM}/w", record=None)
    # The selector keeps out kube-root-ca.crt, which the real root-CA publisher writes whenever it gets to it.
    run.watch(CM, {"resourceVersion": rv, "labelSelector": "w=e"}, events=3)


def watch_label_selector(run: Run) -> None:
    rv = run.req("GET", CM, record=None).body["metadata"]["resourceVersion"]
    run.req("POST", CM, cm("no", labels={"pick": "no"}), record=None)
    run.req("POST", CM, cm("yes", labels={"pick": "yes"}), record=None)
    run.watch(CM, {"resourceVersion": rv, "labelSelector": "pick=yes"}, events=1)


def watch_field_selector(run: Run) -> None:
    rv = run.req("GET", CM, record=None).body["metadata"]["resourceVersion"]
    run.req("POST", CM, cm("a"), record=None)
    run.req("POST", CM, cm("b"), record=None)
    run.watch(CM, {"resourceVersion": rv, "fieldSelector": "metadata.name=b"}, events=1)


def watch_initial_events_bookmark(run: Run) -> None:
    run.req("POST", CM, cm("a", labels={"w": "x"}), record=None)
    query = {
        "sendInitialEvents": "true",
        "allowWatchBookmarks": "true",
        "resourceVersionMatch": "NotOlderThan",
        "resourceVersion": "",
        "labelSelector": "w=x",
    }
    run.watch(CM, query, events=2)


def watch_expired(run: Run) -> None:
    """A resourceVersion older than the history: 410 Expired (on the real side only after a compaction)."""
    run.watch(CM, {"resourceVersion": "1", "labelSelector": "w=none", "timeoutSeconds": "1"}, events=1)


def watch_bad_match(run: Run) -> None:
    run.watch(CM, {"sendInitialEvents": "true", "resourceVersion": ""}, events=1)


# --- lists, pagination, tables ---------------------------------------------------------------------------------


def _five(run: Run) -> None:
    for i in range(5):
        run.req("POST", CM, cm(f"p{i}", labels={"page": "yes"}), record=None)


def paginate(run: Run) -> None:
    _five(run)
    first = run.req("GET", CM, query={"limit": "2", "labelSelector": "page=yes"})
    second = run.req(
        "GET", CM, query={"limit": "2", "labelSelector": "page=yes", "continue": first.body["metadata"]["continue"]}
    )
    run.req(
        "GET", CM, query={"limit": "2", "labelSelector": "page=yes", "continue": second.body["metadata"]["continue"]}
    )


def paginate_bad_token(run: Run) -> None:
    run.req("GET", CM, query={"limit": "2", "continue": "not-a-token"})


def table_configmaps(run: Run) -> None:
    _five(run)
    run.req("GET", CM, query={"limit": "2", "labelSelector": "page=yes"}, accept=TABLE)


def table_namespace(run: Run) -> None:
    run.req("GET", f"/api/v1/namespaces/{run.ns}", accept=TABLE)


def list_kind(run: Run) -> None:
    run.req("POST", CM, cm("a"), record=None)
    reply = run.req("GET", CM, query={"labelSelector": "missing=label"})
    run.record("kind", reply.body["kind"])


# --- discovery, OpenAPI, access reviews ------------------------------------------------------------------------


def discovery_core(run: Run) -> None:
    body = run.req("GET", "/api", record=None).body
    run.record("/api", {"kind": body["kind"], "versions": body["versions"]})


def discovery_resource(run: Run) -> None:
    body = run.req("GET", "/apis/apps/v1", record=None).body
    entry = next(r for r in body["resources"] if r["name"] == "deployments")
    run.record("deployments", entry)


def discovery_groups(run: Run) -> None:
    body = run.req("GET", "/apis", record=None).body
    run.record("apps", next(g for g in body["groups"] if g["name"] == "apps"))


def openapi_v3(run: Run) -> None:
    body = run.req("GET", "/openapi/v3", record=None).body
    run.record("has apps/v1", "apis/apps/v1" in body["paths"])
    doc = run.req("GET", "/openapi/v3/apis/apps/v1", record=None).body
    schema = doc["components"]["schemas"]["io.k8s.api.apps.v1.DeploymentSpec"]
    run.record("DeploymentSpec.required", schema.get("required"))


def explain(run: Run) -> None:
    run.kubectl("explain", "deployment.spec.replicas")


def explain_cr(run: Run) -> None:
    crd(run, "explainers")
    run.wait(lambda: run.kubectl("explain", "explainers.spec.size", record=None).returncode == 0, "explain of the CR")
    run.kubectl("explain", "explainers.spec.size")


def ssar(run: Run) -> None:
    body = {
        "apiVersion": "authorization.k8s.io/v1",
        "kind": "SelfSubjectAccessReview",
        "spec": {"resourceAttributes": {"namespace": run.ns, "verb": "create", "resource": "configmaps"}},
    }
    run.req("POST", "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews", body)


def kubectl_auth_can_i(run: Run) -> None:
    run.kubectl("auth", "can-i", "delete", "deployments")


# --- kubectl ---------------------------------------------------------------------------------------------------


def kubectl_create_configmap(run: Run) -> None:
    run.kubectl("create", "configmap", "a", "--from-literal=k=v")
    run.kubectl("get", "configmap", "a", "-o", "jsonpath={.data}")


def kubectl_create_deployment(run: Run) -> None:
    run.kubectl("create", "deployment", "d", "--image=example.com/app:1")
    run.kubectl("get", "deployment", "d", "-o", "jsonpath={.spec.template.spec.containers[0].name}")


def kubectl_create_existing(run: Run) -> None:
    run.kubectl("create", "configmap", "a")
    run.kubectl("create", "configmap", "a")


def kubectl_create_dry_run_server(run: Run) -> None:
    run.kubectl("create", "configmap", "a", "--dry-run=server", "-o", "jsonpath={.metadata.name}")
    run.kubectl("get", "configmap", "a")


def kubectl_get_missing(run: Run) -> None:
    run.kubectl("get", "configmap", "missing")


def kubectl_get_watch(run: Run) -> None:
    run.req("POST", CM, cm("a"), record=None)
    run.kubectl_lines("get", "configmap", "a", "-w", "-o", "name", lines=1)


def kubectl_get_watch_table(run: Run) -> None:
    run.req("POST", CM, cm("a"), record=None)
    run.kubectl_lines("get", "configmap", "a", "-w", lines=2)


def kubectl_apply_server_side(run: Run) -> None:
    text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n"
    run.kubectl("apply", "--server-side", "-f", "-", stdin=text)
    run.kubectl("apply", "--server-side", "--field-manager", "other", "-f", "-", stdin=text.replace("k: v", "k: w"))


def kubectl_delete(run: Run) -> None:
    run.kubectl("create", "configmap", "a", record=None)
    run.kubectl("delete", "configmap", "a")


def kubectl_get_name(run: Run) -> None:
    run.req("POST", CM, cm("a"), record=None)
    run.kubectl("get", "configmaps", "-o", "name", "-l", "!missing")


def kubectl_validation_error(run: Run) -> None:
    text = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  replicas: -1\n"
        "  selector:\n    matchLabels: {a: b}\n  template:\n    metadata:\n      labels: {a: b}\n"
        "    spec:\n      containers: [{name: c, image: x}]\n"
    )
    run.kubectl("create", "-f", "-", stdin=text)


SCENARIOS: list[Scenario] = [
    Scenario("ssa-create", ssa_create),
    Scenario("ssa-identical-reapply", ssa_identical_reapply),
    Scenario("ssa-field-removal", ssa_field_removal),
    Scenario("ssa-list-map-merge-ports", ssa_list_map_merge),
    Scenario("ssa-list-map-merge-containers", ssa_list_map_merge_containers),
    Scenario("ssa-conflict", ssa_conflict),
    Scenario("ssa-conflict-two-fields", ssa_conflict_two_fields),
    Scenario("ssa-conflict-with-update-manager", ssa_conflict_with_update),
    Scenario("ssa-conflict-replicas", ssa_conflict_replicas),
    Scenario("ssa-force", ssa_force),
    Scenario("ssa-shared-ownership", ssa_shared_ownership),
    Scenario("ssa-no-field-manager", ssa_no_field_manager),
    Scenario("ssa-force-on-merge-patch", ssa_force_on_other_patch),
    Scenario("ssa-yaml-body", ssa_yaml_body),
    Scenario("ssa-without-kind", ssa_without_kind),
    Scenario("ssa-name-mismatch", ssa_name_mismatch),
    Scenario("ssa-from-client-side-apply", ssa_csa_to_ssa),
    Scenario("ssa-dry-run-create", ssa_dry_run_create),
    Scenario("ssa-status-ignored", ssa_status_ignored),
    Scenario("dry-run-create", dry_run_create),
    Scenario("dry-run-delete", dry_run_delete),
    Scenario("dry-run-update", dry_run_update),
    Scenario("dry-run-bad-value", dry_run_bad_value),
    Scenario("default-deployment", default_deployment),
    Scenario("default-service", default_service),
    Scenario("default-service-named-target-port", default_service_nodeport_target),
    Scenario("default-secret", default_secret),
    Scenario("default-daemonset", default_daemonset),
    Scenario("default-service-account", default_service_account),
    Scenario("default-role", default_role),
    Scenario("immutable-deployment-selector", immutable_selector),
    Scenario("immutable-service-cluster-ip", immutable_cluster_ip),
    Scenario("immutable-configmap", immutable_configmap),
    Scenario("range-negative-replicas", negative_replicas),
    Scenario("range-port", port_out_of_range),
    Scenario("service-without-ports", service_without_ports),
    Scenario("selector-template-mismatch", selector_mismatch),
    Scenario("name-invalid", invalid_name),
    Scenario("name-too-long", name_too_long),
    Scenario("name-service-label-limit", service_name_label_limit),
    Scenario("annotations-too-large", annotation_too_large),
    Scenario("label-value-invalid", invalid_label_value),
    Scenario("already-exists", already_exists),
    Scenario("not-found", not_found),
    Scenario("stale-update-conflict", stale_update),
    Scenario("strict-unknown-field", strict_unknown_field),
    Scenario("put-name-mismatch", put_name_mismatch),
    Scenario("namespace-mismatch", namespace_mismatch),
    Scenario("put-missing-object", put_missing_object),
    Scenario("content-type-415", text_plain_415),
    Scenario("patch-content-type-415", patch_json_415),
    Scenario("yaml-create", yaml_create),
    Scenario("malformed-json", malformed_json),
    Scenario("create-without-kind", create_without_kind),
    Scenario("put-without-kind", put_without_kind),
    Scenario("wrong-kind", wrong_kind),
    Scenario("json-patch", json_patch),
    Scenario("strategic-merge-patch", strategic_merge_patch),
    Scenario("delete-configmap-body", delete_configmap),
    Scenario("delete-missing", delete_missing),
    Scenario("delete-foreground-body", delete_foreground_body),
    Scenario("delete-precondition", delete_precondition),
    Scenario("delete-collection", delete_collection),
    Scenario("delete-with-finalizer", delete_with_finalizer),
    Scenario("gc-background", gc_background),
    Scenario("gc-foreground", gc_foreground),
    Scenario("gc-orphan", gc_orphan),
    Scenario("delete-deployment-foreground", delete_deployment_foreground),
    Scenario("namespace-termination", namespace_termination),
    Scenario("namespace-missing", namespace_missing),
    Scenario("namespace-create", namespace_create_body),
    Scenario("crd-established", crd_established),
    Scenario("cr-create-defaults", cr_create_defaults),
    Scenario("cr-validation", cr_validation),
    Scenario("cr-pruning", cr_pruning),
    Scenario("cr-delete-body", cr_delete_body),
    Scenario("cr-status-subresource", cr_status_subresource),
    Scenario("cr-apply", cr_apply),
    Scenario("cr-table", cr_table),
    Scenario("watch-events", watch_events),
    Scenario("watch-label-selector", watch_label_selector),
    Scenario("watch-field-selector", watch_field_selector),
    Scenario("watch-initial-events-bookmark", watch_initial_events_bookmark),
    Scenario("watch-expired-410", watch_expired),
    Scenario("watch-initial-events-without-match", watch_bad_match),
    Scenario("paginate", paginate),
    Scenario("paginate-bad-token", paginate_bad_token),
    Scenario("table-configmaps-paged", table_configmaps),
    Scenario("table-namespace", table_namespace),
    Scenario("list-kind", list_kind),
    Scenario("discovery-core", discovery_core),
    Scenario("discovery-resource", discovery_resource),
    Scenario("discovery-groups", discovery_groups),
    Scenario("openapi-v3", openapi_v3),
    Scenario("kubectl-explain", explain),
    Scenario("kubectl-explain-cr", explain_cr),
    Scenario("self-subject-access-review", ssar),
    Scenario("kubectl-auth-can-i", kubectl_auth_can_i),
    Scenario("kubectl-create-configmap", kubectl_create_configmap),
    Scenario("kubectl-create-deployment", kubectl_create_deployment),
    Scenario("kubectl-create-existing", kubectl_create_existing),
    Scenario("kubectl-create-dry-run-server", kubectl_create_dry_run_server),
    Scenario("kubectl-get-missing", kubectl_get_missing),
    Scenario("kubectl-get-watch-name", kubectl_get_watch),
    Scenario("kubectl-get-watch-table", kubectl_get_watch_table),
    Scenario("kubectl-apply-server-side", kubectl_apply_server_side),
    Scenario("kubectl-delete", kubectl_delete),
    Scenario("kubectl-get-name", kubectl_get_name),
    Scenario("kubectl-validation-error", kubectl_validation_error),
]
