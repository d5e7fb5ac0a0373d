"""Where built-in profiles and templates live: bundled in the wheel, or the checkout when run from source.

``--manifests DIR`` (or ``spec.installPackagePath``) replaces both with ``DIR/profiles`` and ``DIR/<component>``.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from meshctl import errors


@functools.cache
def bundled_root() -> Path:
    """The directory holding ``profiles/`` and ``manifests/`` for this installation of meshctl."""
    packaged = Path(str(resources.files("meshctl"))) / "_bundled"
    if (packaged / "profiles").is_dir():
        return packaged
    # Running from a source checkout (editable install): the top-level directories of the repository.
    checkout = Path(__file__).resolve().parents[2]
    if (checkout / "profiles").is_dir() and (checkout / "manifests").is_dir():
        return checkout
    raise errors.MeshctlError("meshctl's built-in profiles and templates are missing from this installation")


def profiles_dir(manifests: str | None = None) -> Path:
    """The profiles directory: ``DIR/profiles`` for ``--manifests DIR``, else the built-in one."""
    if manifests:
        return _user_dir(manifests) / "profiles"
    return bundled_root() / "profiles"


def manifests_dir(manifests: str | None = None) -> Path:
    """The templates directory: ``DIR`` itself for ``--manifests DIR``, else the built-in ``manifests/``."""
    if manifests:
        return _user_dir(manifests)
    return bundled_root() / "manifests"


def _user_dir(manifests: str) -> Path:
    path = Path(manifests)
    if not path.is_dir():
        raise errors.InputError(
            f"--manifests {manifests}: not a directory",
            hint="point --manifests (-d) at a directory holding profiles/ and the component templates",
        )
    return path
