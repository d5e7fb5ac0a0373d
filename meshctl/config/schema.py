"""The project's JSON Schema of the IstioOperator document (shipped as ``istiooperator.schema.json``).

Used to type ``--set`` values (:func:`spec_type_at`) and to validate (:mod:`meshctl.config.validation`).
"""

from __future__ import annotations

from collections.abc import Sequence

from meshctl.config import paths

_STRINGS = {"hub", "tag", "revision", "profile", "installPackagePath", "namespace", "compatibilityVersion"}


def spec_type_at(segments: Sequence[paths.Segment]) -> frozenset[str] | None:
    """The JSON types the schema allows at a spec-relative path, or ``None`` where it does not know the path."""
    keys = [s.key for s in segments if s.kind is paths.Kind.KEY]
    if not keys:
        return None
    if keys[-1] == "enabled" and keys[0] != "values":
        return frozenset({"boolean"})
    if len(keys) == 1 and keys[0] in _STRINGS:
        return frozenset({"string"})
    if "serviceAnnotations" in keys[:-1] or keys[-1] in ("hub", "tag"):
        return frozenset({"string"})
    return None
