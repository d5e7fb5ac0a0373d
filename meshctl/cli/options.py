"""Option types shared by several command groups: the install-style inputs and the cluster-changing options.

They live here, not in a command module, so that no command module imports another. Each carries a metavar that
says what the value is (``FILE``, ``DIR``, ``PATH=VALUE``, ``REV``).
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from meshctl.cli import output

FilenameOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--filename",
        "-f",
        metavar="FILE",
        help="IstioOperator file to layer over the profile (repeatable; '-' = stdin, only last).",
        show_default=False,
    ),
]
SetOpt = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        "-s",
        metavar="PATH=VALUE",
        help="Override applied to the merged configuration (repeatable; commas do not separate).",
        show_default=False,
    ),
]
ManifestsOpt = Annotated[
    str | None,
    typer.Option("--manifests", "-d", metavar="DIR", help="Use profiles and templates from DIR.", show_default=False),
]
RevisionOpt = Annotated[
    str | None,
    typer.Option(
        "--revision", "-r", metavar="REV", help="Control plane revision (= --set revision=REV).", show_default=False
    ),
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Validation errors become warnings.")]


def config_input(**options: Any) -> Any:
    """A configuration input from the common options (see :func:`meshctl.ops.configure.config_input`)."""
    from meshctl.ops import configure

    return configure.config_input(**options)


def build_config(inp: Any) -> Any:
    """The effective configuration, its warnings printed on stderr."""
    from meshctl.ops import configure

    config = configure.effective_config(inp, output.ENV.stdin)
    for warning in config.warnings:
        output.ENV.warn(warning)
    return config
