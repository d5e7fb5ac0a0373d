"""The one layering order: default profile, named profile, files, --set, translation, validation.

INTERFACE STUB — the configuration engine fills this in; the names and shapes below are the contract that
``meshctl.render`` and the CLI code against.
"""

from __future__ import annotations

import dataclasses
from typing import Any, TextIO


@dataclasses.dataclass(frozen=True)
class ConfigInput:
    """What the user gave: files (``-`` is stdin), ``--set`` flags in order, an optional profile argument."""

    files: tuple[str, ...] = ()
    sets: tuple[str, ...] = ()
    profile: str | None = None  # positional PROFILE of `profile dump`; --set profile=X beats it
    manifests: str | None = None  # -d/--manifests DIR
    revision: str | None = None  # -r/--revision (alias of --set revision=REV)
    force: bool = False  # validation errors become warnings


@dataclasses.dataclass(frozen=True)
class EffectiveConfig:
    """The result of layering, translation and validation.

    ``iop`` is the merged IstioOperator document (apiVersion, kind, metadata, spec) *before* translation into
    values (what ``profile dump`` prints). ``values`` is the translated Helm-style values tree the templates read
    (after the platform/compatibility layers, the user's own values, validation and ``unvalidatedValues``).
    """

    iop: dict[str, Any]
    values: dict[str, Any]
    profile: str
    revision: str  # "" when there is no revision ("default" is normalised to "")
    istio_namespace: str
    manifests: str | None
    warnings: tuple[str, ...] = ()

    @property
    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = self.iop.get("spec") or {}
        return spec


def merge_config(inp: ConfigInput, stdin: TextIO | None = None) -> dict[str, Any]:
    """Steps 1-4: the merged IstioOperator document (profile + files + sets), not yet translated or validated."""
    raise NotImplementedError


def build_effective_config(inp: ConfigInput, stdin: TextIO | None = None) -> EffectiveConfig:
    """Steps 1-6: merge, translate into values, validate (warnings collected, errors raised all at once)."""
    raise NotImplementedError
