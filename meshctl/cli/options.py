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
    """A configuration input from the common options (see :func:`meshctl.ops.configure.config_input`), with the
    global ``--strict``."""
    import dataclasses

    from meshctl.ops import configure

    return dataclasses.replace(configure.config_input(**options), strict=output.ENV.strict)


def build_config(inp: Any, *, show_warnings: bool = True) -> Any:
    """The effective configuration, its warnings printed on stderr (unless the caller shows them later, once
    nothing else can fail: warnings are not shown when an error stops the command)."""
    from meshctl.ops import configure

    config = configure.effective_config(inp, output.ENV.stdin)
    if show_warnings:
        output.ENV.warn_all(list(config.warnings))
    return config


# --- cluster-changing options (install, upgrade, uninstall) ---------------------------------------------------------

SkipConfirmationOpt = Annotated[
    bool,
    typer.Option("--skip-confirmation", "-y", "--yes", help="Do not ask for confirmation (needed without a terminal)."),
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Show the plan (asking the cluster by server-side dry run); write nothing.")
]
ReadinessTimeoutOpt = Annotated[
    str,
    typer.Option(
        "--readiness-timeout", metavar="DURATION", help="How long to wait for workloads to become ready (e.g. 5m, 90s)."
    ),
]
NoWaitOpt = Annotated[bool, typer.Option("--no-wait", help="Do not wait for workloads to become ready.")]
ForceConflictsOpt = Annotated[
    bool,
    typer.Option(
        "--force-conflicts", help="Take over fields and objects that another field manager or tool owns (adopt)."
    ),
]
ConcurrencyOpt = Annotated[
    int, typer.Option("--concurrency", metavar="N", min=1, max=64, help="Parallel requests per phase.")
]
LockTimeoutOpt = Annotated[
    str,
    typer.Option(
        "--lock-timeout", metavar="DURATION", help="How long to wait for another meshctl's installation lock."
    ),
]

_DURATION_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(text: str, *, flag: str) -> float:
    """Seconds of a Go-style duration (``5m``, ``1m30s``, ``90s``, ``500ms``; a bare number is seconds)."""
    import re

    from meshctl import errors

    value = text.strip()
    try:
        seconds = float(value)
    except ValueError:
        parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", value)
        if not parts or "".join(n + u for n, u in parts) != value:
            raise errors.UsageError(
                f"invalid value for {flag}: {text!r} is not a duration", hint="use e.g. 300s, 5m or 1m30s"
            ) from None
        seconds = sum(float(n) * _DURATION_UNITS[u] for n, u in parts)
    if seconds < 0:
        raise errors.UsageError(f"invalid value for {flag}: {text!r} is negative")
    return seconds
