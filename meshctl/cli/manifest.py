"""The `manifest` command group (registered by the owner of this module)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the `manifest` commands to the root app (none yet)."""
