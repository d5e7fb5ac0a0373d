"""Every built-in object of every built-in profile and of every golden input validates strictly against the
Kubernetes OpenAPI schemas of every version kubernetes-validate ships from 1.32 to the newest (rendering.md §7).

Custom resources (the openshift profiles' NetworkAttachmentDefinition) have no schema there and are skipped.
Runtime: objects are de-duplicated across inputs, and one compiled validator per (version, kind) is reused,
instead of ``kubernetes_validate.validate`` re-reading the 1.3 MB definitions file for every object.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

import jsonschema
import kubernetes_validate.utils as kv
import pytest
import referencing

from tests.golden import goldens

# all_versions() lists each version twice (plain and strict schema directories).
VERSIONS = sorted(
    {v for v in kv.all_versions() if tuple(map(int, v.split(".")[:2])) >= (1, 32)},
    key=lambda v: tuple(map(int, v.split("."))),
)


def _is_builtin(api_version: str) -> bool:
    group = api_version.rpartition("/")[0]
    return group == "" or "." not in group or group.endswith(".k8s.io")


@functools.cache
def _definitions(version: str) -> referencing.Resource[Any]:
    return referencing.Resource.from_contents(
        kv.schema_contents(f"kubernetes-json-schema/v{version}-local-strict/_definitions.json", version)
    )


@functools.cache
def _validator(version: str, kind: str, api_version: str) -> jsonschema.protocols.Validator:
    short = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    name = f"kubernetes-json-schema/v{version}-local-strict/{kind.lower()}-{short}.json"
    schema = kv.schema_contents(name, version)
    resource = referencing.Resource.from_contents(schema)
    registry: referencing.Registry[Any] = resource @ (_definitions(version) @ referencing.Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def _unique_objects() -> list[tuple[str, dict[str, Any]]]:
    """(where, object) for each distinct built-in object of every profile and golden input."""
    seen: dict[str, tuple[str, dict[str, Any]]] = {}
    sources: list[tuple[str, list[dict[str, Any]]]] = [
        (f"profile {p}", goldens.render_profile(p)) for p in goldens.PROFILES
    ]
    sources += [(f"golden {n}", goldens.render_input(n).objects) for n in goldens.input_names()]
    for where, objs in sources:
        for obj in objs:
            if not _is_builtin(obj["apiVersion"]):
                continue
            seen.setdefault(json.dumps(obj, sort_keys=True), (where, obj))
    return list(seen.values())


def test_custom_resources_are_recognised() -> None:
    assert not _is_builtin("k8s.cni.cncf.io/v1")
    assert not _is_builtin("networking.istio.io/v1")
    assert _is_builtin("v1")
    assert _is_builtin("apps/v1")
    assert _is_builtin("admissionregistration.k8s.io/v1")


def test_versions_cover_1_32_to_the_newest() -> None:
    assert VERSIONS[0].startswith("1.32")
    assert VERSIONS[-1] == kv.latest_version()


@pytest.mark.parametrize("version", VERSIONS)
def test_every_rendered_object_validates_strictly(version: str) -> None:
    failures = []
    for where, obj in _unique_objects():
        ref = f"{obj['kind']}/{obj['metadata']['name']} ({where})"
        try:
            validator = _validator(version, obj["kind"], obj["apiVersion"])
        except FileNotFoundError:
            failures.append(f"{ref}: no schema for {obj['apiVersion']} {obj['kind']} in Kubernetes {version}")
            continue
        error = jsonschema.exceptions.best_match(validator.iter_errors(obj))
        if error is not None:
            path = ".".join(str(p) for p in error.absolute_path)
            failures.append(f"{ref}: {path}: {error.message[:300]}")
    assert not failures, f"{len(failures)} objects do not validate against Kubernetes {version}:\n" + "\n".join(
        failures
    )
