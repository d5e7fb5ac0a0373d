"""Validation of the merged configuration against the schema (all problems at once)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any


@dataclasses.dataclass(frozen=True)
class Report:
    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def validate(iop: Mapping[str, Any], values: Mapping[str, Any], components: Sequence[Any]) -> Report:
    """Check the merged IstioOperator document and the translated values; errors and warnings, each with a path."""
    return Report()
