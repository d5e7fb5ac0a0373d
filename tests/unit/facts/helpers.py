"""Lookups the fact tables share: find objects by kind and name, list an inventory, tabulate a container's env."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def inventory(objects: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(kind, name) of every object, sorted."""
    return sorted((obj["kind"], obj["metadata"]["name"]) for obj in objects)


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """The objects of ``kind`` by name."""
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def the(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The one object of ``kind`` called ``name``; fails naming the ones there are."""
    found = by_kind(objects, kind)
    assert name in found, f"no {kind} {name}; have {sorted(found)}"
    return found[name]


def env_table(container: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The container's env as (name, value) in order; sources as ``field:PATH`` or ``resource:NAME``."""
    table = []
    for item in container["env"]:
        source = item.get("valueFrom")
        if source is None:
            table.append((item["name"], item["value"]))
        elif "fieldRef" in source:
            table.append((item["name"], f"field:{source['fieldRef']['fieldPath']}"))
        else:
            table.append((item["name"], f"resource:{source['resourceFieldRef']['resource']}"))
    return table
