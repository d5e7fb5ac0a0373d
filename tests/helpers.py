"""Test helpers: run the CLI in-process with captured streams, and fail loudly on an unexpected exit code."""

from __future__ import annotations

import contextlib
import dataclasses
import io
import sys

from meshctl.cli import app


@dataclasses.dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str


class _Stdin(io.StringIO):
    def __init__(self, text: str, tty: bool) -> None:
        super().__init__(text)
        self._tty = tty

    def isatty(self) -> bool:
        return self._tty


def run_cli(*args: str, stdin: str = "", stdin_tty: bool = False, expect: int | None = 0) -> CliResult:
    """Run ``meshctl ARGS`` in-process; with ``expect`` set, assert the exit code and show stderr if it differs."""
    out, err = io.StringIO(), io.StringIO()
    old_stdin = sys.stdin
    sys.stdin = _Stdin(stdin, stdin_tty)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = app.run(list(args))
    finally:
        sys.stdin = old_stdin
    result = CliResult(int(code), out.getvalue(), err.getvalue())
    if expect is not None:
        assert result.exit_code == expect, (
            f"meshctl {' '.join(args)} exited {result.exit_code}, expected {expect}\n"
            f"--- stderr ---\n{result.stderr}\n--- stdout ---\n{result.stdout[:2000]}"
        )
    if result.exit_code not in (0, 1):
        assert result.stderr.startswith("error: "), f"stderr of a failure must start with 'error: ':\n{result.stderr}"
    assert "Traceback" not in result.stderr or "--traceback" in args, result.stderr
    return result
