"""The rendering pipeline: effective configuration to the ordered objects ``manifest generate`` prints.

INTERFACE STUB — the render library fills this in; ``install`` will call exactly this function.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from meshctl.config import layering


def render_manifests(
    config: layering.EffectiveConfig, *, components: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Render every enabled component (or only ``components``, by label value such as ``Pilot``).

    Returns the objects in the one output/apply order, with k8s settings, overlays and labels applied.
    """
    raise NotImplementedError
