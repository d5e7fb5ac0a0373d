"""The `profile` command group: list, dump, diff and schema (``config.md`` §6).

The option types come from :mod:`meshctl.cli.options`; configuration modules are imported inside the commands, so
``meshctl --help`` pays nothing for them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from meshctl.cli import app as cli_app
from meshctl.cli import output
from meshctl.cli.options import FilenameOpt, ForceOpt, ManifestsOpt, RevisionOpt, SetOpt, build_config, config_input

profile_app = typer.Typer(
    name="profile",
    help="List, show and compare configuration profiles.",
    no_args_is_help=True,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


@profile_app.command("list")
@cli_app.command
def list_profiles(
    manifests: ManifestsOpt = None,
    output_format: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", metavar="FORMAT", help="yaml or json (default: one name per line).", show_default=False
        ),
    ] = None,
) -> None:
    """List the available profiles (built-in, or those in --manifests DIR/profiles)."""
    from meshctl.config import profiles

    names = profiles.list_profiles(manifests)
    if output_format is None:
        output.ENV.write_data("\n".join(names))
        return
    fmt, expr = output.parse_output_format(output_format, allowed=("yaml", "json"))
    output.ENV.write_data(output.format_data(names, fmt, expr))


@profile_app.command("dump")
@cli_app.command
def dump(
    profile: Annotated[
        str | None,
        typer.Argument(
            metavar="PROFILE", help="Profile to start from (--set profile=X wins over it).", show_default=False
        ),
    ] = None,
    filename: FilenameOpt = None,
    set_: SetOpt = None,
    config_path: Annotated[
        str | None,
        typer.Option(
            "--config-path",
            "-p",
            metavar="PATH",
            help="Print only this subtree (path grammar of --set).",
            show_default=False,
        ),
    ] = None,
    output_format: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", metavar="FORMAT", help="yaml (default), json, flags or jsonpath=EXPR.", show_default=False
        ),
    ] = None,
    manifests: ManifestsOpt = None,
    revision: RevisionOpt = None,
    force: ForceOpt = False,
) -> None:
    """Print the merged configuration (profile + files + --set), before translation into chart values."""
    from meshctl.config import paths

    fmt, expr = output.parse_output_format(output_format, allowed=("yaml", "json", "flags", "jsonpath"))
    selector = paths.parse_path(config_path, paths.Mode.CONFIG_PATH) if config_path is not None else None
    config = build_config(
        config_input(files=filename, sets=set_, manifests=manifests, revision=revision, force=force, profile=profile)
    )
    data: Any
    if selector is not None:
        data = paths.get_value(config.spec, selector)
    elif fmt == "flags":
        data = config.spec
    else:
        data = config.iop
    if fmt == "flags":
        output.ENV.write_data("\n".join(paths.format_flags(data)))
        return
    output.ENV.write_data(output.format_data(data, fmt, expr))


def _diff_input(arg: str, manifests: str | None) -> Any:
    """A profile name, or a file when ``arg`` names one (or looks like a path)."""
    looks_like_file = arg == "-" or "/" in arg or arg.endswith((".yaml", ".yml", ".json")) or Path(arg).is_file()
    if looks_like_file:
        return config_input(files=[arg], sets=None, manifests=manifests)
    return config_input(files=None, sets=None, manifests=manifests, profile=arg)


@profile_app.command("diff")
@cli_app.command
def diff(
    first: Annotated[str, typer.Argument(metavar="A", help="Profile name or IstioOperator file.")],
    second: Annotated[str, typer.Argument(metavar="B", help="Profile name or IstioOperator file.")],
    manifests: ManifestsOpt = None,
) -> int:
    """Show the difference of two profiles or files; exit 0 if identical, 1 if they differ."""
    import difflib

    from meshctl import errors, yamlio

    if first == "-" and second == "-":
        raise errors.UsageError("standard input can be read once: only one of A and B may be '-'")
    dumps = [yamlio.dump_yaml(build_config(_diff_input(arg, manifests)).iop) for arg in (first, second)]
    if dumps[0] == dumps[1]:
        output.ENV.note("Profiles are identical")
        return 0
    lines = list(
        difflib.unified_diff(
            dumps[0].splitlines(keepends=True), dumps[1].splitlines(keepends=True), fromfile=first, tofile=second
        )
    )
    if output.ENV.color:
        lines = [_colour(line) for line in lines]
    output.ENV.write_data("".join(lines))
    return 1


_COLOURS = {"+": "\x1b[32m", "-": "\x1b[31m", "@": "\x1b[36m"}


def _colour(line: str) -> str:
    code = _COLOURS.get(line[:1])
    if code is None:
        return line
    body = line.rstrip("\n")
    return f"{code}{body}\x1b[0m" + line[len(body) :]


@profile_app.command("schema")
@cli_app.command
def show_schema(
    output_format: Annotated[
        str | None, typer.Option("--output", "-o", metavar="FORMAT", help="json (default) or yaml.", show_default=False)
    ] = None,
) -> None:
    """Print the JSON Schema of the IstioOperator document (for editors and CI linting)."""
    from meshctl.config import schema

    fmt, expr = output.parse_output_format(output_format, allowed=("json", "yaml"))
    output.ENV.write_data(output.format_data(schema.document(), fmt, expr))


def register(app: typer.Typer) -> None:
    """Add the `profile` commands to the root app."""
    app.add_typer(profile_app, name="profile")
