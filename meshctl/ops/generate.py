"""Generate: the objects of an installation — the one rendering code path of ``manifest generate`` and ``install``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from meshctl.config import layering
from meshctl.render import pipeline


def render(config: layering.EffectiveConfig, *, components: Sequence[str] | None = None) -> pipeline.RenderResult:
    """The rendered objects, in the one output/apply order, with the warnings to show."""
    return pipeline.render(config, components=components)


def namespaces(config: layering.EffectiveConfig, rendered: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The Namespace objects the installation uses (what install ensures, ``--with-namespace`` prints)."""
    return pipeline.namespaces_for(config, rendered)
