"""Golden inputs and their rendering, shared by the golden tests, the schema validation and the property tests.

An input is an IstioOperator file under ``inputs/``. Its first lines may hold a selection comment::

    # golden: Deployment/istiod, HorizontalPodAutoscaler/*, component=AddonComponents

which pins only the selected objects (``Kind/name``, ``Kind/*``, or a whole component); without one the whole
output is pinned. Profiles are pinned whole (``profile-<name>.yaml``).
"""

from __future__ import annotations

import dataclasses
import functools
import re
from pathlib import Path
from typing import Any

from meshctl import objects
from meshctl.config import layering
from meshctl.render import output, pipeline

HERE = Path(__file__).resolve().parent
INPUTS = HERE / "inputs"
OUTPUTS = HERE / "outputs"
UPDATE_ENV = "MESHCTL_UPDATE_GOLDENS"

PROFILES = (
    "default",
    "demo",
    "minimal",
    "empty",
    "preview",
    "stable",
    "remote",
    "ambient",
    "openshift",
    "openshift-ambient",
)

_SELECT = re.compile(r"^#\s*golden:\s*(?P<spec>.+)$")


def input_names() -> list[str]:
    """Every golden input, by file stem, sorted."""
    return sorted(path.stem for path in INPUTS.glob("*.yaml"))


def selection(path: Path) -> list[str]:
    """The selection terms of an input (empty: the whole output)."""
    terms: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.startswith("#"):
            break
        match = _SELECT.match(line)
        if match:
            terms.extend(t.strip() for t in match.group("spec").split(",") if t.strip())
    return terms


def _selected(obj: dict[str, Any], terms: list[str]) -> bool:
    for term in terms:
        if term.startswith("component="):
            labels = obj["metadata"].get("labels") or {}
            if labels.get(objects.COMPONENT_LABEL) == term.split("=", 1)[1]:
                return True
            continue
        kind, _, name = term.partition("/")
        if obj["kind"] == kind and name in ("*", obj["metadata"]["name"]):
            return True
    return False


@dataclasses.dataclass(frozen=True)
class Rendered:
    config: layering.EffectiveConfig
    objects: list[dict[str, Any]]  # the whole output
    pinned: list[dict[str, Any]]  # what the golden pins

    @property
    def text(self) -> str:
        return output.format_stream(self.pinned)


@functools.cache
def render_input(name: str) -> Rendered:
    """Render ``inputs/<name>.yaml`` (cached per process; do not mutate the result)."""
    path = INPUTS / f"{name}.yaml"
    config = layering.build_effective_config(layering.ConfigInput(files=(str(path),)))
    objs = pipeline.render_manifests(config)
    terms = selection(path)
    pinned = [o for o in objs if _selected(o, terms)] if terms else objs
    return Rendered(config, objs, pinned)


@functools.cache
def render_profile(profile: str) -> list[dict[str, Any]]:
    """The objects of a built-in profile with no other input (cached; do not mutate)."""
    config = layering.build_effective_config(layering.ConfigInput(sets=(f"profile={profile}",)))
    return pipeline.render_manifests(config)
