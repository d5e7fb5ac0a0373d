"""Built-in profiles (``profiles/*.yaml``) and the platform and compatibility value layers.

Profiles are IstioOperator documents; ``--manifests DIR`` (or ``spec.installPackagePath``) reads them from
``DIR/profiles`` instead. Loaded files are cached per path; callers always get their own copy.
"""

from __future__ import annotations

import copy
import functools
import os
import re
from pathlib import Path
from typing import Any

from meshctl import errors
from meshctl.config import resources, suggest

DEFAULT_PROFILE = "default"
PLATFORMS_DIR = "platforms"
COMPATIBILITY_DIR = "compatibility"

_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def list_profiles(manifests: str | None = None) -> list[str]:
    """Names of the profiles available (``*.yaml`` in the profiles directory), sorted."""
    return _names(resources.profiles_dir(manifests))


def _names(directory: Path) -> list[str]:
    if not directory.is_dir():
        return []
    try:  # not glob(): it hides an unreadable directory, which would look like "no profiles"
        with os.scandir(directory) as entries:
            names = [e.name for e in entries if e.name.endswith(".yaml") and e.is_file()]
    except OSError as exc:
        raise errors.LocalIOError(
            f"cannot read directory {directory}: {errors.describe_os_error(exc)}", hint="check the permissions"
        ) from exc
    return sorted(name.removesuffix(".yaml") for name in names)


def load_profile(name: str, manifests: str | None = None) -> dict[str, Any]:
    """The IstioOperator document of profile ``name`` (a copy); unknown names are errors listing the known ones."""
    directory = resources.profiles_dir(manifests)
    doc = _load_named(directory, name, what="profile")
    if not isinstance(doc, dict):
        raise errors.InputError(f"profile {name}: {directory / (name + '.yaml')} is not an IstioOperator document")
    return doc


def load_platform(name: str, manifests: str | None = None) -> dict[str, Any]:
    """The value layer of ``values.global.platform: NAME``."""
    directory = resources.profiles_dir(manifests) / PLATFORMS_DIR
    return _load_layer(directory, name, what="platform")


def load_compatibility(version: str, manifests: str | None = None) -> dict[str, Any]:
    """The value layer of ``values.compatibilityVersion: X.Y`` (``compatibilityVersion``)."""
    directory = resources.profiles_dir(manifests) / COMPATIBILITY_DIR
    return _load_layer(directory, version, what="compatibility version")


def list_platforms(manifests: str | None = None) -> list[str]:
    return _names(resources.profiles_dir(manifests) / PLATFORMS_DIR)


def list_compatibility_versions(manifests: str | None = None) -> list[str]:
    return _names(resources.profiles_dir(manifests) / COMPATIBILITY_DIR)


def _load_layer(directory: Path, name: str, *, what: str) -> dict[str, Any]:
    layer = _load_named(directory, name, what=what)
    if not isinstance(layer, dict):
        raise errors.InputError(f"{what} {name}: {directory / (name + '.yaml')} must hold a map of values")
    return layer


def _load_named(directory: Path, name: str, *, what: str) -> Any:
    known = _names(directory)
    if not _NAME_RE.fullmatch(name) or name not in known:
        guess = suggest.closest(name, known)
        listed = ", ".join(known) if known else "none"
        hint = f"did you mean {guess}? " if guess else ""
        if what == "profile" and name == "default" and not guess:
            # Only reachable with --manifests DIR: the built-in profiles always include default.
            hint = f"{directory}/default.yaml is missing; every profile is layered over it (--manifests replaces "
            hint += "the built-in profiles). "
        raise errors.InputError(f"unknown {what} {name!r}", hint=f"{hint}known: {listed}")
    return copy.deepcopy(_load_cached(str(directory / f"{name}.yaml")))


@functools.lru_cache(maxsize=64)
def _load_cached(path: str) -> Any:
    # Imported here: `profile list` only globs file names and should not pay for PyYAML (B1).
    from meshctl.config import loading

    return loading.load_yaml_file(Path(path))
