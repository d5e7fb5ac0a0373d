"""What the fact tables share: the Kubernetes versions to validate against, rendering an IstioOperator through the
full pipeline, finding objects by kind and name, listing an inventory, tabulating a container's env."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import kubernetes_validate.utils

from meshctl import yamlio
from meshctl.config import layering
from meshctl.render import pipeline

# Every object must validate for Kubernetes 1.32 up to the newest version kubernetes-validate ships.
KUBERNETES_VERSIONS = sorted(
    {v for v in kubernetes_validate.utils.all_versions() if tuple(map(int, v.split(".")[:2])) >= (1, 32)},
    key=lambda v: tuple(map(int, v.split("."))),
)


def render_iop(spec: Mapping[str, Any], components: list[str], revision: str | None = None) -> list[dict[str, Any]]:
    """The objects ``manifest generate -f FILE [-r REV] --component …`` prints for the IstioOperator ``spec``."""
    document = {"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator", "spec": dict(spec)}
    inp = layering.ConfigInput(files=("-",), revision=revision)
    config = layering.build_effective_config(inp, stdin=io.StringIO(yamlio.dump_yaml(document)))
    return pipeline.render_manifests(config, components=components)


def inventory(objects: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(kind, name) of every object, sorted."""
    return sorted((obj["kind"], obj["metadata"]["name"]) for obj in objects)


def by_kind(objects: list[dict[str, Any]], kind: str) -> dict[str, dict[str, Any]]:
    """The objects of ``kind`` by name."""
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}


def the(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The one object of ``kind`` called ``name``; fails if there is none or more than one, naming what there is."""
    found = [obj for obj in objects if obj["kind"] == kind and obj["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one {kind} {name}, found {len(found)}; have {sorted(by_kind(objects, kind))}"
    return found[0]


def env_table(container: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The container's env as (name, value) in order; sources as ``field:PATH`` or ``resource:NAME`` (with
    ``/DIVISOR`` when the reference sets a divisor)."""
    table = []
    for item in container["env"]:
        source = item.get("valueFrom")
        if source is None:
            table.append((item["name"], item["value"]))
        elif "fieldRef" in source:
            table.append((item["name"], f"field:{source['fieldRef']['fieldPath']}"))
        else:
            ref = source["resourceFieldRef"]
            divisor = f"/{ref['divisor']}" if "divisor" in ref else ""
            table.append((item["name"], f"resource:{ref['resource']}{divisor}"))
    return table
