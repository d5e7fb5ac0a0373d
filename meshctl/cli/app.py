"""The root Typer app, the global options and ``main()``: the single place mapping errors to exit codes.

Command groups live in their own modules and are registered here. Every command gets the global options
(``--kubeconfig``, ``--context``, ``-v``, ``-q``, ``--no-color``, ``--traceback``, ``--strict``) through
:func:`command`, so they work before and after the command name.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
import os
import signal
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
    lines = [f"error: {output.safe_text(exc.format_message())}"]
    ctx = exc.ctx
    command_path = ctx.command_path if ctx is not None else "meshctl"
    lines.append(f"hint: run '{command_path} --help' for usage")
    return "\n".join(lines) + "\n"


def _interrupted(env: output.Environment) -> int:
    _write_stderr(env, "error: interrupted\nhint: rerun the same command to complete what was started\n")
    return errors.ExitCode.INTERRUPTED


def _write_stderr(env: output.Environment, text: str) -> None:
    """Write to stderr; a closed or full stderr never changes how meshctl ends."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        env.stderr.write(text)
        env.stderr.flush()


def _io_error(exc: OSError) -> errors.LocalIOError:
    """A local I/O failure meshctl did not wrap itself: name the path (when the system gave one) and the reason."""
    reason = errors.describe_os_error(exc)
    if exc.filename is not None:
        return errors.LocalIOError(f"cannot access {output.safe_text(os.fsdecode(exc.filename))}: {reason}")
    return errors.LocalIOError(f"local I/O error: {reason}")


#: The longest command-line argument meshctl accepts (a --set value of a few KiB is already unusual;
#: Linux passes at most 128 KiB per argument).
MAX_ARGUMENT_BYTES = 64 * 1024


def _check_arguments(argv: Sequence[str]) -> None:
    """Arguments are UTF-8 text of a sane size: a non-UTF-8 byte reaches Python as a lone surrogate."""
    for number, arg in enumerate(argv, start=1):
        if len(arg) > MAX_ARGUMENT_BYTES:
            raise errors.InputLimitError(
                f"argument {number} is too long ({len(arg)} characters; the limit is {MAX_ARGUMENT_BYTES})",
                limit="size",
                hint="put large settings in a file and pass it with -f",
            )
        bad = next((i for i, ch in enumerate(arg) if "\ud800" <= ch <= "\udfff"), None)
        if bad is not None:
            shown = output.safe_text(arg.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace"))
            raise errors.InputLimitError(
                f"argument {number} is not UTF-8 text (invalid byte at offset {bad}): {shown}",
                limit="encoding",
                hint="arguments must be UTF-8; check the shell's locale and how the argument was generated",
            )


def run(argv: Sequence[str]) -> int:
    """Run the CLI with ``argv`` (without the program name) and return the exit status; never raises."""
    env = output.ENV
    env.reset()
    env.traceback = "--traceback" in argv
    command_obj = typer.main.get_command(app)
    try:
        _check_arguments(argv)
        result = command_obj.main(args=list(argv), prog_name="meshctl", standalone_mode=False)
    except click_exceptions.NoArgsIsHelpError as exc:
        # A bare `meshctl` (or command group) asks what there is: the help, on stdout, and success.
        if exc.ctx is not None:
            try:
                env.write_data(exc.ctx.get_help())
            except errors.MeshctlError as failure:  # stdout unusable (`> /dev/full`): exit 74, as for any data
                _write_stderr(env, output.format_error(failure))
                return failure.exit_code
            except (BrokenPipeError, _ReaderGone):
                return errors.ExitCode.OK
        return errors.ExitCode.OK
    except click_exceptions.UsageError as exc:
        _write_stderr(env, _usage_message(exc))
        return errors.ExitCode.USAGE
    except typer.Exit as exc:
        if int(exc.exit_code) == errors.ExitCode.INTERRUPTED:  # typer's answer to Ctrl-C: silent unless we speak
            return _interrupted(env)
        return int(exc.exit_code)
    except typer.Abort:
        return _interrupted(env)
    except errors.MeshctlError as exc:
        _write_stderr(env, output.format_error(exc))
        if env.traceback:
            with contextlib.suppress(OSError, ValueError):
                tb.print_exc(file=env.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return _interrupted(env)
    except (BrokenPipeError, _ReaderGone):
        # The reader went away (e.g. `| head`, `| true`); not an error of ours, and nothing to say.
        return errors.ExitCode.OK
    except OSError as exc:  # a local file or stream failed in a place that did not say which: still exit 74
        _write_stderr(env, output.format_error(_io_error(exc)))
        return errors.ExitCode.IO
    except Exception as exc:  # the one place that turns bugs into exit 70
        _write_stderr(env, f"error: internal error: {type(exc).__name__}: {output.safe_text(str(exc))}\n")
        if env.traceback:
            with contextlib.suppress(OSError, ValueError):
                tb.print_exc(file=env.stderr)
        else:
            _write_stderr(env, "hint: this is a bug in meshctl; rerun with --traceback and report the output\n")
        return errors.ExitCode.INTERNAL
    if isinstance(result, int):
        if result == errors.ExitCode.INTERRUPTED:  # typer turns Ctrl-C into a silent return of 130
            return _interrupted(env)
        return result
    return errors.ExitCode.OK


class _ReaderGone(BaseException):
    """Raised past click (which turns EPIPE into exit 1) and every ``except Exception`` up to :func:`run`."""


class _StdoutGuard(io.TextIOBase):
    """The process's stdout, turning a failed write into exit 74 naming the stream (a closed reader stays silent)."""

    def __init__(self, stream: typing.TextIO | None) -> None:
        super().__init__()
        self._stream = stream

    def _fail(self, exc: BaseException | None) -> typing.NoReturn:
        if isinstance(exc, BrokenPipeError):
            _silence_stdout()
            raise _ReaderGone from exc
        reason = errors.describe_os_error(exc) if isinstance(exc, OSError) else "the stream is closed"
        _silence_stdout()
        raise errors.LocalIOError(
            f"cannot write to standard output: {reason}",
            hint="check where stdout goes (a full disk, a closed descriptor), or write the output with -o",
        ) from exc

    def write(self, text: str) -> int:
        if isinstance(text, str) and not text:
            # Nothing to write; click probes the stream with write("") and swallows what that raises, so failing
            # here (on /dev/full even an empty write fails) would silence stdout before the real output came.
            return 0
        if self._stream is None:
            self._fail(None)
        try:
            return self._stream.write(text)
        except (OSError, ValueError) as exc:
            self._fail(exc)

    def flush(self) -> None:
        if self._stream is None:
            return
        try:
            self._stream.flush()
        except (OSError, ValueError) as exc:
            self._fail(exc)

    def isatty(self) -> bool:
        return self._stream is not None and output._isatty(self._stream)

    def fileno(self) -> int:
        if self._stream is None:
            raise OSError("standard output is closed")
        return self._stream.fileno()

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return getattr(self._stream, "encoding", None) or "utf-8"

    def writable(self) -> bool:
        return True


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null so the interpreter's final flush of buffered data cannot fail again."""
    with contextlib.suppress(OSError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        os.close(devnull)


def main() -> None:
    """Console-script entry point: the process's streams and signals, then :func:`run`."""
    interrupted = False

    def on_sigint(signum: int, frame: object) -> None:
        nonlocal interrupted
        interrupted = True
        raise KeyboardInterrupt

    with contextlib.suppress(ValueError, OSError):
        signal.signal(signal.SIGINT, on_sigint)
    real_stdout = sys.stdout
    if sys.stderr is None:  # `2>&-`: errors go nowhere, the exit code stays the same
        sys.stderr = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - lives as long as the process
    sys.stdout = typing.cast(typing.TextIO, _StdoutGuard(real_stdout))
    try:
        code = run(sys.argv[1:])
        if real_stdout is not None:
            try:
                real_stdout.flush()
            except BrokenPipeError:
                _silence_stdout()
            except OSError as exc:
                _silence_stdout()
                if code == errors.ExitCode.OK:
                    reason = errors.describe_os_error(exc)
                    _write_stderr(output.ENV, f"error: cannot write to standard output: {reason}\n")
                    code = errors.ExitCode.IO
    except KeyboardInterrupt:
        code = _interrupted(output.ENV)
    if interrupted and code != errors.ExitCode.INTERRUPTED:
        # The interrupt was swallowed on the way (an import lock, a library): it still ends the run.
        code = _interrupted(output.ENV)
    sys.exit(code)
