"""Shared by the kube-inject tests: offline settings (as the command builds them) and small workload builders."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

from meshctl.config import layering
from meshctl.inject import settings, workloads
from meshctl.ops import inject as inject_ops


@functools.cache
def conf(*sets: str) -> settings.Settings:
    """The settings ``kube-inject --set …`` uses (rendered offline from the built-in templates)."""
    return inject_ops.load_settings(inject_ops.Sources(config_input=layering.ConfigInput(sets=sets)), None, None)


def container(name: str = "app", **fields: Any) -> dict[str, Any]:
    return {"name": name, "image": f"{name}:1", **fields}


def pod_spec(*containers: Mapping[str, Any], **fields: Any) -> dict[str, Any]:
    return {"containers": [dict(c) for c in containers or (container(),)], **fields}


def deployment(
    spec: Mapping[str, Any] | None = None,
    *,
    name: str = "web",
    namespace: str | None = "shop",
    labels: Mapping[str, str] | None = None,
    annotations: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    meta: dict[str, Any] = {"labels": dict(labels if labels is not None else {"app": name})}
    if annotations:
        meta["annotations"] = dict(annotations)
    obj_meta: dict[str, Any] = {"name": name}
    if namespace:
        obj_meta["namespace"] = namespace
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": obj_meta,
        "spec": {
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": meta, "spec": dict(spec or pod_spec())},
        },
    }


def inject(obj: Mapping[str, Any], conf_: settings.Settings | None = None) -> tuple[Any, int, list[str]]:
    notes: list[str] = []
    out, count = workloads.inject_object(obj, conf_ or conf(), notes, "test")
    return out, count, notes


def template_of(obj: Mapping[str, Any]) -> dict[str, Any]:
    node: Any = obj
    for key in workloads.TEMPLATE_PATHS[obj["kind"]]:
        node = node[key]
    return node


def find(spec: Mapping[str, Any], name: str) -> dict[str, Any]:
    found = [c for c in spec.get("initContainers", []) + spec.get("containers", []) if c["name"] == name]
    assert len(found) == 1, f"expected one container {name}, got {len(found)}"
    return found[0]


def env_of(c: Mapping[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env", [])}
