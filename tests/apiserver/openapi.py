"""OpenAPI v3 documents: enough for kubectl (it checks that PATCH of each kind declares `fieldValidation`, and then
leaves validation to the server) and for tools that read schemas (components are the official definitions, or the
CRD's schema for custom resources)."""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

from tests.apiserver import schema
from tests.apiserver.resources import ResourceType

_QUERY = ("dryRun", "fieldManager", "fieldValidation", "force", "pretty")


def gv_path(rt: ResourceType) -> str:
    return f"apis/{rt.group}/{rt.version}" if rt.group else "api/v1"


def _param(name: str, where: str = "query") -> dict[str, Any]:
    return {"name": name, "in": where, "schema": {"type": "string", "uniqueItems": True}}


def _ref(rt: ResourceType) -> dict[str, Any]:
    return {"$ref": f"#/components/schemas/{_schema_name(rt)}"}


def _schema_name(rt: ResourceType) -> str:
    if rt.custom:
        reversed_group = ".".join(reversed(rt.group.split(".")))
        return f"{reversed_group}.{rt.version}.{rt.kind}"
    return schema.definition_for_kind(rt.group, rt.version, rt.kind) or rt.kind


def _operation(
    rt: ResourceType, action: str, params: tuple[str, ...], body: bool, kind_schema: dict[str, Any]
) -> dict[str, Any]:
    op: dict[str, Any] = {
        "operationId": f"{action}{rt.kind}",
        "parameters": [_param(p) for p in params],
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": kind_schema}}}},
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": rt.group, "version": rt.version, "kind": rt.kind},
    }
    if body:
        types = ["application/json"]
        if action == "patch":
            types = [
                "application/apply-patch+yaml",
                "application/json-patch+json",
                "application/merge-patch+json",
                "application/strategic-merge-patch+json",
            ]
        op["requestBody"] = {"content": {t: {"schema": kind_schema} for t in types}, "required": True}
    return op


def paths_for(rt: ResourceType) -> dict[str, Any]:
    prefix = "/" + gv_path(rt) + ("/namespaces/{namespace}" if rt.namespaced else "")
    item = _ref(rt)
    collection = f"{prefix}/{rt.plural}"
    named = f"{collection}/{{name}}"
    out = {
        collection: {
            "get": _operation(
                rt, "list", ("labelSelector", "fieldSelector", "limit", "continue", "watch"), False, item
            ),
            "post": _operation(rt, "post", _QUERY, True, item),
            "delete": _operation(rt, "deletecollection", ("labelSelector", "dryRun"), False, item),
        },
        named: {
            "get": _operation(rt, "get", ("pretty",), False, item),
            "put": _operation(rt, "put", _QUERY, True, item),
            "patch": _operation(rt, "patch", _QUERY, True, item),
            "delete": _operation(rt, "delete", ("dryRun", "propagationPolicy"), False, item),
        },
    }
    if rt.has_status:
        out[f"{named}/status"] = {
            "get": _operation(rt, "get", ("pretty",), False, item),
            "put": _operation(rt, "put", _QUERY, True, item),
            "patch": _operation(rt, "patch", _QUERY, True, item),
        }
    return out


def _to_openapi(node: Any) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                out[key] = "#/components/schemas/" + schema.ref_name(value)
            else:
                out[key] = _to_openapi(value)
        return out
    if isinstance(node, list):
        return [_to_openapi(v) for v in node]
    return node


def _reachable(names: list[str]) -> dict[str, Any]:
    defs = schema.definitions()
    seen: dict[str, Any] = {}
    stack = list(names)
    while stack:
        name = stack.pop()
        if name in seen or name not in defs:
            continue
        seen[name] = _to_openapi(defs[name])
        stack.extend(_refs(defs[name]))
    return seen


def _refs(node: Any) -> list[str]:
    out: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                out.append(schema.ref_name(value))
            else:
                out.extend(_refs(value))
    elif isinstance(node, list):
        for value in node:
            out.extend(_refs(value))
    return out


@functools.lru_cache(maxsize=64)
def _builtin_components(names: tuple[str, ...]) -> str:
    return json.dumps(_reachable(list(names)))


def document(types: list[ResourceType]) -> bytes:
    """The OpenAPI v3 document of one group/version."""
    paths: dict[str, Any] = {}
    builtin_names: list[str] = []
    custom: dict[str, Any] = {}
    for rt in types:
        paths.update(paths_for(rt))
        if rt.custom:
            body = dict(rt.crd_schema or {"type": "object", "x-kubernetes-preserve-unknown-fields": True})
            props = dict(body.get("properties", {}))
            props["metadata"] = {"$ref": "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
            body["properties"] = props
            body["x-kubernetes-group-version-kind"] = [{"group": rt.group, "version": rt.version, "kind": rt.kind}]
            custom[_schema_name(rt)] = body
            builtin_names.append("io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta")
        else:
            builtin_names.append(_schema_name(rt))
    components = json.loads(_builtin_components(tuple(sorted(set(builtin_names)))))
    components.update(custom)
    doc = {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": f"v{schema.KUBERNETES_VERSION}"},
        "paths": paths,
        "components": {"schemas": components},
    }
    return json.dumps(doc, separators=(",", ":")).encode()


def root(groups: dict[str, list[ResourceType]]) -> dict[str, Any]:
    """`/openapi/v3`: one entry per group/version with a content hash, as kube-apiserver serves it."""
    paths = {}
    for path, types in sorted(groups.items()):
        digest = hashlib.sha512(repr(sorted((t.plural, t.kind, str(t.crd_schema)) for t in types)).encode()).hexdigest()
        paths[path] = {"serverRelativeURL": f"/openapi/v3/{path}?hash={digest.upper()[:128]}"}
    return {"paths": paths}
