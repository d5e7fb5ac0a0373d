"""``meshctl version``: the client version (the cluster part, ``--remote``, arrives with the cluster commands)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from meshctl import ISTIO_VERSION, __version__
from meshctl.cli import app as cli_app
from meshctl.cli import output


def client_version_info() -> dict[str, Any]:
    """The client's version document (the shape ``-o json|yaml`` prints)."""
    return {"clientVersion": {"version": ISTIO_VERSION, "meshctlVersion": __version__}}


def version(
    short: Annotated[bool, typer.Option("--short", help="Print only the Istio version meshctl installs.")] = False,
    output_format: Annotated[
        str | None, typer.Option("--output", "-o", metavar="FORMAT", help="Output format: yaml, json or jsonpath=EXPR.")
    ] = None,
) -> None:
    """Print the client version: the Istio version meshctl installs and meshctl's own version."""
    info = client_version_info()
    if output_format is not None:
        fmt, expr = output.parse_output_format(output_format, allowed=("yaml", "json", "jsonpath"))
        output.ENV.write_data(output.format_data(info, fmt, expr))
        return
    if short:
        output.ENV.write_data(ISTIO_VERSION)
        return
    output.ENV.write_data(f"client version: {ISTIO_VERSION} (meshctl {__version__})")


def register(root: typer.Typer) -> None:
    """Add ``version`` to the root app."""
    root.command("version")(cli_app.command(version))
