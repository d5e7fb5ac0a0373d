"""B1 baseline: a minimal Typer app with meshctl's command tree, whose commands do nothing.

    python tests/bench/baseline_app.py TREE.json [ARGS...]

``TREE.json`` is written by ``startup_bench.py`` from meshctl's own command tree (groups, commands, options and
arguments with their names, flags and multiplicity), so the baseline keeps up with meshctl without being edited.
The app is built the way meshctl's is (one Typer app, sub-Typers per group, ``Annotated`` parameters) and imports
nothing else.
"""

from __future__ import annotations

import inspect
import json
import sys
from typing import Annotated, Any

import typer


def _parameter(spec: dict[str, Any]) -> inspect.Parameter:
    name = spec["name"]
    if spec["kind"] == "argument":
        annotation: Any = (
            Annotated[str | None, typer.Argument()] if not spec["required"] else Annotated[str, typer.Argument()]
        )
        default: Any = inspect.Parameter.empty if spec["required"] else None
    elif spec["count"]:
        annotation = Annotated[int, typer.Option(*spec["opts"], count=True)]
        default = 0
    elif spec["is_flag"]:
        annotation = Annotated[bool, typer.Option(*spec["opts"])]
        default = False
    elif spec["multiple"]:
        annotation = Annotated[list[str] | None, typer.Option(*spec["opts"])]
        default = None
    else:
        annotation = Annotated[str | None, typer.Option(*spec["opts"])]
        default = None
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)


def _command(spec: dict[str, Any]) -> Any:
    def command(**_kwargs: Any) -> None:
        """Does nothing."""

    params = [_parameter(p) for p in spec["params"]]
    params.sort(key=lambda p: p.default is not inspect.Parameter.empty)
    command.__signature__ = inspect.Signature(params)  # type: ignore[attr-defined]
    command.__doc__ = spec.get("help") or "Does nothing."
    return command


def _group(spec: dict[str, Any], *, root: bool = False) -> typer.Typer:
    group = typer.Typer(
        name=spec["name"],
        help=spec.get("help"),
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        rich_markup_mode=None,
    )
    if root:
        group.callback()(_command({"params": spec["params"], "help": spec.get("help")}))
    for child in spec["commands"]:
        if child["commands"] is not None:
            group.add_typer(_group(child), name=child["name"])
        else:
            group.command(child["name"])(_command(child))
    return group


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as handle:
        tree = json.load(handle)
    app = _group(tree, root=True)
    app(args=sys.argv[2:], prog_name="baseline")


if __name__ == "__main__":
    main()
