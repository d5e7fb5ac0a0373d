"""Structural view of object schemas: the official Kubernetes definitions (from kubernetes-validate) and CRD schemas.

One small interface (`Node`) answers what the rest of the server needs to know about a field: is it a struct, a map,
a list (atomic, set or map with keys) or a scalar, which field names it declares, and whether unknown fields are
kept. Server-side apply, strategic merge patch, pruning of unknown fields and the OpenAPI documents are all built on
it, so that list semantics come from the same source as in kube-apiserver: the `x-kubernetes-*` extensions.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from typing import Any

import kubernetes_validate

KUBERNETES_VERSION = "1.37.0"

_LOCAL_REF_PREFIX = "#/$defs/"
_FILE_REF_PREFIX = "/api/_definitions.json#/$defs/"


@functools.cache
def definitions() -> dict[str, Any]:
    """All definitions of the configured Kubernetes version, keyed by their OpenAPI name (loaded once)."""
    import importlib.resources

    base = importlib.resources.files(kubernetes_validate).joinpath("kubernetes-json-schema")
    path = base.joinpath(f"v{KUBERNETES_VERSION}-local", "_definitions.json")
    data: dict[str, Any] = json.loads(path.read_text())
    return dict(data["$defs"])


@functools.cache
def definition_for_kind(group: str, version: str, kind: str) -> str | None:
    """The definition name declaring the group/version/kind, or None when the version has no such kind."""
    for name, body in definitions().items():
        for gvk in body.get("x-kubernetes-group-version-kind", ()):
            if gvk.get("group", "") == group and gvk["version"] == version and gvk["kind"] == kind:
                return name
    return None


def ref_name(ref: str) -> str:
    for prefix in (_LOCAL_REF_PREFIX, _FILE_REF_PREFIX):
        if ref.startswith(prefix):
            return ref[len(prefix) :]
    raise ValueError(f"unsupported $ref {ref!r}")


class Node:
    """One schema node, with `$ref`, `allOf` and nullable wrappers resolved."""

    __slots__ = ("raw",)

    def __init__(self, raw: dict[str, Any]) -> None:
        while True:
            if "$ref" in raw:
                raw = definitions()[ref_name(raw["$ref"])]
            elif "allOf" in raw and len(raw["allOf"]) == 1 and "properties" not in raw:
                raw = raw["allOf"][0]
            else:
                break
        self.raw = raw

    @property
    def types(self) -> set[str]:
        kind = self.raw.get("type")
        if kind is None:
            return set()
        return {kind} if isinstance(kind, str) else set(kind) - {"null"}

    @property
    def is_any(self) -> bool:
        """A node that accepts any value (RawExtension, JSON, preserve-unknown-fields without structure)."""
        if self.raw.get("x-kubernetes-int-or-string") or "oneOf" in self.raw or "anyOf" in self.raw:
            return False
        return not self.types and "properties" not in self.raw and "items" not in self.raw

    @property
    def kind(self) -> str:
        """'struct', 'map', 'list', 'scalar' or 'any'."""
        types = self.types
        if "array" in types or "items" in self.raw:
            return "list"
        if "object" in types or "properties" in self.raw or "additionalProperties" in self.raw:
            if "properties" in self.raw:
                return "struct"
            if isinstance(self.raw.get("additionalProperties"), dict):
                return "map"
            return "any"
        if types or self.raw.get("x-kubernetes-int-or-string") or "oneOf" in self.raw or "anyOf" in self.raw:
            return "scalar"
        return "any"

    @property
    def atomic(self) -> bool:
        if self.kind == "list":
            return self.list_type == "atomic"
        return self.raw.get("x-kubernetes-map-type") == "atomic" or self.kind in ("scalar", "any")

    @property
    def preserves_unknown(self) -> bool:
        return bool(self.raw.get("x-kubernetes-preserve-unknown-fields")) or self.kind == "any"

    def field(self, name: str) -> Node | None:
        """Schema of a field of this struct or map, or None when the field is not declared."""
        props = self.raw.get("properties")
        if props is not None and name in props:
            return Node(props[name])
        extra = self.raw.get("additionalProperties")
        if isinstance(extra, dict):
            return Node(extra)
        if self.preserves_unknown or extra is True:
            return ANY
        return None

    def fields(self) -> Iterator[tuple[str, Node]]:
        for name, body in self.raw.get("properties", {}).items():
            yield name, Node(body)

    @property
    def items(self) -> Node:
        body = self.raw.get("items")
        return Node(body) if isinstance(body, dict) else ANY

    @property
    def list_type(self) -> str:
        """'map', 'set' or 'atomic' (the default for lists without the extension, as in Kubernetes)."""
        return str(self.raw.get("x-kubernetes-list-type", "atomic"))

    @property
    def map_keys(self) -> tuple[str, ...]:
        return tuple(self.raw.get("x-kubernetes-list-map-keys", ()))

    @property
    def patch_merge_key(self) -> str | None:
        key = self.raw.get("x-kubernetes-patch-merge-key")
        return str(key) if key else None

    @property
    def patch_strategy(self) -> str:
        return str(self.raw.get("x-kubernetes-patch-strategy", ""))

    def required(self) -> list[str]:
        return list(self.raw.get("required", ()))


ANY = Node({"x-kubernetes-preserve-unknown-fields": True})


@functools.cache
def _builtin_root(definition: str) -> Node:
    return Node(definitions()[definition])


def builtin_root(definition: str) -> Node:
    return _builtin_root(definition)


# Object metadata is the same for every kind, custom resources included; it is typed even when the CRD's schema
# says nothing about it.
def custom_root(schema: dict[str, Any] | None) -> Node:
    """Root node of a custom resource: the CRD's structural schema with typed metadata, apiVersion and kind."""
    base: dict[str, Any] = dict(schema or {"type": "object", "x-kubernetes-preserve-unknown-fields": True})
    props = dict(base.get("properties", {}))
    props["metadata"] = {"$ref": _LOCAL_REF_PREFIX + "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"}
    props.setdefault("apiVersion", {"type": "string"})
    props.setdefault("kind", {"type": "string"})
    base["properties"] = props
    base.setdefault("type", "object")
    return Node(base)
