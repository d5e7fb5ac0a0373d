"""The root Typer app, the global options and ``main()``: the single place mapping errors to exit codes.

Command groups live in their own modules and are registered here. Every command gets the global options
(``--kubeconfig``, ``--context``, ``-v``, ``-q``, ``--no-color``, ``--traceback``, ``--strict``) through
:func:`command`, so they work before and after the command name.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
import traceback as tb
import typing
from collections.abc import Callable, Sequence
from typing import Annotated, Any, TypeVar

import typer

try:  # typer >= 0.22 vendors click; older releases use the click package.
    from typer._click import exceptions as click_exceptions
except ImportError:  # pragma: no cover - depends on the installed typer
    from click import exceptions as click_exceptions  # type: ignore[no-redef]

from meshctl import __version__, errors
from meshctl.cli import output

F = TypeVar("F", bound=Callable[..., Any])

KubeconfigOpt = Annotated[
    str | None,
    typer.Option(
        "--kubeconfig",
        "-c",
        metavar="PATH",
        envvar="KUBECONFIG",
        help="Kubeconfig file(s), colon-separated.",
        show_default=False,
    ),
]
ContextOpt = Annotated[
    str | None, typer.Option("--context", metavar="NAME", help="Kubeconfig context to use.", show_default=False)
]
VerboseOpt = Annotated[int, typer.Option("--verbose", "-v", count=True, help="More detail on stderr (repeatable).")]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Only errors and warnings on stderr.")]
NoColorOpt = Annotated[bool, typer.Option("--no-color", help="No colour (also NO_COLOR).")]
TracebackOpt = Annotated[bool, typer.Option("--traceback", help="Show the Python traceback of an internal error.")]
StrictOpt = Annotated[
    bool, typer.Option("--strict", help="Configuration warnings (settings that have no effect) become errors (exit 3).")
]

_GLOBAL_PARAMS = (
    inspect.Parameter("kubeconfig", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=KubeconfigOpt),
    inspect.Parameter("context", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=ContextOpt),
    inspect.Parameter("verbose", inspect.Parameter.KEYWORD_ONLY, default=0, annotation=VerboseOpt),
    inspect.Parameter("quiet", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=QuietOpt),
    inspect.Parameter("no_color", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=NoColorOpt),
    inspect.Parameter("traceback", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=TracebackOpt),
    inspect.Parameter("strict", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=StrictOpt),
)
_GLOBAL_NAMES = tuple(p.name for p in _GLOBAL_PARAMS)


def _apply_globals(values: dict[str, Any]) -> None:
    env = output.ENV
    # A value given after the command adds to (or overrides) one given before it.
    if values.get("kubeconfig"):
        env.kubeconfig = values["kubeconfig"]
    if values.get("context"):
        env.context = values["context"]
    env.verbosity += int(values.get("verbose") or 0)
    env.quiet = env.quiet or bool(values.get("quiet"))
    env.no_color = env.no_color or bool(values.get("no_color"))
    env.traceback = env.traceback or bool(values.get("traceback"))
    env.strict = env.strict or bool(values.get("strict"))


def command(func: F) -> F:
    """Give a command function the global options, applied to :data:`output.ENV` before it runs."""
    signature = inspect.signature(func, eval_str=True)
    hints = typing.get_type_hints(func, include_extras=True)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _apply_globals({name: kwargs.pop(name) for name in _GLOBAL_NAMES if name in kwargs})
        return func(*args, **kwargs)

    params = [p.replace(annotation=hints.get(p.name, p.annotation)) for p in signature.parameters.values()]
    wrapper.__signature__ = signature.replace(parameters=[*params, *_GLOBAL_PARAMS])  # type: ignore[attr-defined]
    wrapper.__annotations__ = {**hints, **{p.name: p.annotation for p in _GLOBAL_PARAMS}}
    del wrapper.__wrapped__  # make inspect use __signature__, not the original function
    return typing.cast(F, wrapper)


app = typer.Typer(
    name="meshctl",
    help="Install, upgrade, verify and remove the Istio service mesh.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    pretty_exceptions_show_locals=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version_callback(value: bool) -> None:
    if value:
        output.ENV.write_data(f"meshctl {__version__}")
        raise typer.Exit(0)


@app.callback()
def _root(
    kubeconfig: KubeconfigOpt = None,
    context: ContextOpt = None,
    verbose: VerboseOpt = 0,
    quiet: QuietOpt = False,
    no_color: NoColorOpt = False,
    traceback: TracebackOpt = False,
    strict: StrictOpt = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version_callback, is_eager=True, help="Print the client version."),
    ] = False,
) -> None:
    """Install, upgrade, verify and remove the Istio service mesh."""
    _apply_globals(
        {
            "kubeconfig": kubeconfig,
            "context": context,
            "verbose": verbose,
            "quiet": quiet,
            "no_color": no_color,
            "traceback": traceback,
            "strict": strict,
        }
    )


def _register() -> None:
    # Command modules import this module for `command`, so they are registered after `app` exists.
    from meshctl.cli import inject, install, manifest, profile, uninstall, verify, version

    profile.register(app)
    manifest.register(app)
    install.register(app, manifest.manifest_app)
    uninstall.register(app)
    version.register(app)
    verify.register(app)
    inject.register(app)


_register()


def _usage_message(exc: click_exceptions.UsageError) -> str:
    lines = [f"error: {exc.format_message()}"]
    ctx = exc.ctx
    command_path = ctx.command_path if ctx is not None else "meshctl"
    lines.append(f"hint: run '{command_path} --help' for usage")
    return "\n".join(lines) + "\n"


def run(argv: Sequence[str]) -> int:
    """Run the CLI with ``argv`` (without the program name) and return the exit status; never raises."""
    env = output.ENV
    env.reset()
    env.traceback = "--traceback" in argv
    command_obj = typer.main.get_command(app)
    try:
        result = command_obj.main(args=list(argv), prog_name="meshctl", standalone_mode=False)
    except click_exceptions.NoArgsIsHelpError as exc:
        # A bare `meshctl` (or command group) asks what there is: the help, on stdout, and success.
        if exc.ctx is not None:
            env.write_data(exc.ctx.get_help())
        return errors.ExitCode.OK
    except click_exceptions.UsageError as exc:
        env.stderr.write(_usage_message(exc))
        return errors.ExitCode.USAGE
    except typer.Exit as exc:
        return int(exc.exit_code)
    except typer.Abort:
        env.stderr.write("error: interrupted\n")
        return errors.ExitCode.INTERRUPTED
    except errors.MeshctlError as exc:
        env.stderr.write(output.format_error(exc))
        if env.traceback:
            tb.print_exc(file=env.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        env.stderr.write("error: interrupted\nhint: rerun the same command to complete what was started\n")
        return errors.ExitCode.INTERRUPTED
    except BrokenPipeError:
        # The reader went away (e.g. `| head`); not an error of ours.
        return errors.ExitCode.OK
    except Exception as exc:  # the one place that turns bugs into exit 70
        env.stderr.write(f"error: internal error: {type(exc).__name__}: {exc}\n")
        if env.traceback:
            tb.print_exc(file=env.stderr)
        else:
            env.stderr.write("hint: this is a bug in meshctl; rerun with --traceback and report the output\n")
        return errors.ExitCode.INTERNAL
    if isinstance(result, int):
        return result
    return errors.ExitCode.OK


def main() -> None:
    """Console-script entry point."""
    code = run(sys.argv[1:])
    with contextlib.suppress(BrokenPipeError):
        sys.stdout.flush()
    sys.exit(code)
