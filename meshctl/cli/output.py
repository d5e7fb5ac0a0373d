"""Streams, output formats and the rendering of errors: the CLI's one place for I/O.

All I/O goes through an :class:`Environment` (streams, TTY flags, colour), so tests can inject their own.
Data goes to stdout; progress, warnings, prompts and errors go to stderr. Text that came from a user or the
cluster is written as plain text and never interpreted as markup.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TextIO

from meshctl import errors


@dataclasses.dataclass
class Environment:
    """The process's streams and terminal facts, resolved at call time (tests swap ``sys.stdout``)."""

    no_color: bool = False
    verbosity: int = 0
    quiet: bool = False
    traceback: bool = False
    strict: bool = False
    kubeconfig: str | None = None
    context: str | None = None

    @property
    def stdout(self) -> TextIO:
        return sys.stdout

    @property
    def stderr(self) -> TextIO:
        return sys.stderr

    @property
    def stdin(self) -> TextIO:
        return sys.stdin

    @property
    def stdout_isatty(self) -> bool:
        return _isatty(sys.stdout)

    @property
    def stdin_isatty(self) -> bool:
        return _isatty(sys.stdin)

    @property
    def stderr_isatty(self) -> bool:
        return _isatty(sys.stderr)

    @property
    def color(self) -> bool:
        """Colour only on a terminal, and never when ``--no-color`` or ``NO_COLOR`` (any non-empty value) is set."""
        return not self.no_color and not os.environ.get("NO_COLOR") and self.stdout_isatty

    def reset(self) -> None:
        """Back to the defaults: each CLI run starts from a clean state (tests call the CLI many times)."""
        for field in dataclasses.fields(self):
            setattr(self, field.name, field.default)

    def write_data(self, text: str) -> None:
        """Write data to stdout, ending with exactly one newline when non-empty."""
        if text and not text.endswith("\n"):
            text += "\n"
        self.stdout.write(text)
        self.stdout.flush()

    def note(self, text: str) -> None:
        """A progress or informational line on stderr (suppressed by ``--quiet``)."""
        if not self.quiet:
            with contextlib.suppress(OSError, ValueError):
                self.stderr.write(safe_text(text) + "\n")
                self.stderr.flush()

    def warn(self, text: str) -> None:
        """A warning line on stderr; warnings survive ``--quiet`` (control characters escaped, :func:`safe_text`)."""
        with contextlib.suppress(OSError, ValueError):
            self.stderr.write(f"warning: {safe_text(text)}\n")
            self.stderr.flush()

    def warn_all(self, texts: Sequence[str]) -> None:
        """The configuration's warnings: the first :data:`WARNING_LIMIT`, then one line counting the rest (a file
        with 100,000 unknown keys must not bury the terminal; ``--strict`` reports them all as errors)."""
        for text in texts[:WARNING_LIMIT]:
            self.warn(text)
        if len(texts) > WARNING_LIMIT:
            self.warn(f"{len(texts) - WARNING_LIMIT} more warnings like these are not shown")


#: Warnings printed per run before the rest are counted in one line.
WARNING_LIMIT = 100


def ask(question: str) -> bool:
    """Ask a yes/no question on the terminal (``question (y/N) ``); only ``y``/``yes`` agree, EOF or empty declines.

    Other answers ask again, as istioctl does.
    """
    env = ENV
    while True:
        env.stderr.write(f"{question} (y/N) ")
        env.stderr.flush()
        line = env.stdin.readline()
        if not line:
            env.stderr.write("\n")
            return False
        answer = line.strip().lower()
        if answer in ("y", "yes"):
            return True
        if answer in ("", "n", "no"):
            return False


@contextlib.contextmanager
def logging_to_stderr(verbosity: int) -> Iterator[None]:
    """Show meshctl's log records on stderr: ``-v`` info, ``-vv`` requests (debug), ``-vvv`` bodies (trace).

    The client layer redacts credentials and Secret data before it logs, at every level.
    """
    if verbosity <= 0:
        yield
        return
    import logging  # here, not at the top: `--help` and the offline commands never log (start-up time, B1)

    class StderrHandler(logging.Handler):
        """Log records as plain lines on the current stderr (resolved per record: tests swap the stream)."""

        def emit(self, record: logging.LogRecord) -> None:
            try:
                ENV.stderr.write(f"{record.levelname.lower()}: {safe_text(self.format(record))}\n")
            except Exception:  # a closed stderr must not turn logging into a crash
                self.handleError(record)

    logger = logging.getLogger("meshctl")
    level = {1: logging.INFO, 2: logging.DEBUG}.get(verbosity, 5)
    handler = StderrHandler(level)
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


ENV = Environment()


def parse_output_format(value: str | None, *, allowed: tuple[str, ...]) -> tuple[str, str | None]:
    """Split an ``-o`` value into a format name and (for ``jsonpath=EXPR``) its expression."""
    if value is None:
        return allowed[0], None
    if value.startswith("jsonpath=") and "jsonpath" in allowed:
        expr = value[len("jsonpath=") :]
        if not expr:
            raise errors.UsageError("empty jsonpath expression in -o jsonpath=", hint="e.g. -o jsonpath='{.spec.hub}'")
        return "jsonpath", expr
    if value in allowed:
        return value, None
    shown = ", ".join("jsonpath=EXPR" if a == "jsonpath" else a for a in allowed)
    raise errors.UsageError(f"unknown output format {value!r}", hint=f"use one of: {shown}")


def format_data(data: Any, fmt: str, expr: str | None = None) -> str:
    """Serialise ``data`` as yaml, json or the values a jsonpath expression selects (one per line)."""
    from meshctl import yamlio  # lazily: PyYAML is a third of `meshctl --help`'s start-up (B1)

    if fmt == "json":
        return yamlio.dump_json(data)
    if fmt == "jsonpath":
        lines = [_jsonpath_text(value, yamlio.dump_json) for value in _jsonpath_values(data, expr or "")]
        return "\n".join(lines) + ("\n" if lines else "")
    return yamlio.dump_yaml(data)


def _jsonpath_values(data: Any, expr: str) -> list[Any]:
    from jsonpath_ng.ext.parser import parse  # lazily: only -o jsonpath pays for it

    text = expr.strip()
    # kubectl writes expressions in braces ({.spec.hub}); jsonpath-ng wants the bare path ($.spec.hub).
    if text.startswith("{") and text.endswith("}"):
        text = text[1:-1]
    if text.startswith("."):
        text = "$" + text
    try:
        compiled = parse(text)
    except Exception as exc:  # jsonpath-ng raises lexer, parser and plain exceptions for bad expressions
        raise errors.UsageError(f"invalid jsonpath expression {expr!r}: {exc}") from exc
    return [match.value for match in compiled.find(data)]


def _jsonpath_text(value: Any, dump_json: Callable[[Any], str]) -> str:
    """One selected value as kubectl prints it: maps and lists as JSON, booleans and null in JSON spelling."""
    if isinstance(value, dict | list):
        return dump_json(value).rstrip("\n")
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


_UNSAFE = frozenset(
    [
        *(chr(c) for c in range(0x20) if chr(c) not in "\n\t"),
        "\x7f",
        *(chr(c) for c in range(0x80, 0xA0)),
        "\u2028",
        "\u2029",
        *(chr(c) for c in range(0x202A, 0x202F)),
        *(chr(c) for c in range(0x2066, 0x206A)),
    ]
)


def safe_text(text: str, *, keep_newlines: bool = True) -> str:
    """``text`` with terminal control characters (ESC, CR, C1, bidi overrides, lone surrogates) shown as escapes.

    Untrusted text — arguments, file names, file contents — passes through here before it reaches the terminal.
    """
    if text.isprintable() and "\u2028" not in text:
        return text
    out = []
    for ch in text:
        if ch == "\n" and not keep_newlines:
            out.append("\\n")
        elif ch in _UNSAFE or "\ud800" <= ch <= "\udfff":
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def format_error(exc: errors.MeshctlError) -> str:
    """The stderr text of an error: ``error:`` line, context lines (caret for paths), ``hint:`` line.

    Every part is passed through :func:`safe_text`: messages quote user input.
    """
    lines = [f"error: {safe_text(exc.message)}"]
    if isinstance(exc, errors.PathError) and exc.path and exc.segment_start is not None:
        start = exc.segment_start
        end = exc.segment_end if exc.segment_end is not None and exc.segment_end > start else start + 1
        path = exc.path
        lines.append(f"  {safe_text(path, keep_newlines=False)}")
        lines.append(
            "  "
            + " " * _display_width(safe_text(path[:start], keep_newlines=False))
            + "^" * max(1, _display_width(safe_text(path[start:end], keep_newlines=False)))
        )
    lines.extend(f"  {safe_text(line)}" for line in exc.context)
    if exc.hint:
        lines.append(f"hint: {safe_text(exc.hint)}")
    return "\n".join(lines) + "\n"


def _display_width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
