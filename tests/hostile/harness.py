"""Run meshctl in a subprocess under a memory cap and a hang guard, as an attacker or an unlucky CI runner would.

Every case asserts the exit code, the first line of stderr (which names the limit or stream that tripped), and
that nothing ran into the cap: no exit 70, no traceback, no ``MemoryError``.
"""

from __future__ import annotations

import dataclasses
import os
import resource
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import IO, Any

MEMORY_CAP = 500 * 1024 * 1024  # RLIMIT_AS of every case
HANG_GUARD = 60.0  # seconds; generous: a case that reaches it failed (it should end on its limit in about a second)


@dataclasses.dataclass
class Outcome:
    code: int
    stdout: bytes
    stderr: str

    @property
    def first_line(self) -> str:
        return self.stderr.splitlines()[0] if self.stderr else ""


def _limits(extra: Callable[[], None] | None) -> Callable[[], None]:
    def setup() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))
        if extra is not None:
            extra()

    return setup


def meshctl(
    *args: str | bytes,
    stdin: bytes = b"",
    stdout: int | IO[Any] = subprocess.PIPE,
    cwd: str | None = None,
    preexec: Callable[[], None] | None = None,
) -> Outcome:
    """``meshctl ARGS`` (``python -m meshctl``) under :data:`MEMORY_CAP` and :data:`HANG_GUARD`."""
    env = {**os.environ, "NO_COLOR": "1", "PYTHONDONTWRITEBYTECODE": "1"}
    argv: list[str | bytes] = [sys.executable, "-m", "meshctl", *args]
    try:
        proc = subprocess.run(
            argv,
            input=stdin,
            stdout=stdout,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=env,
            timeout=HANG_GUARD,
            preexec_fn=_limits(preexec),
        )
    except subprocess.TimeoutExpired as exc:  # pragma: no cover - only when a case regresses
        raise AssertionError(f"hang guard: meshctl {args!r} ran longer than {HANG_GUARD} s") from exc
    stderr = proc.stderr.decode("utf-8", errors="replace")
    outcome = Outcome(proc.returncode, proc.stdout or b"", stderr)
    check_clean(outcome)
    return outcome


def check_clean(outcome: Outcome) -> None:
    """No exit 70, no traceback, no memory exhaustion: whatever happened, it ended on a limit meant for it."""
    assert outcome.code != 70, f"exit 70 (a bug):\n{outcome.stderr[-3000:]}"
    assert "Traceback" not in outcome.stderr, outcome.stderr[-3000:]
    assert "MemoryError" not in outcome.stderr, "ran into the memory cap:\n" + outcome.stderr[-3000:]
    assert outcome.code >= 0, f"killed by signal {-outcome.code}:\n{outcome.stderr[-3000:]}"


def expect(outcome: Outcome, code: int, first_line_contains: str | Sequence[str]) -> None:
    """The exit code and the words of the first stderr line that say which limit tripped."""
    assert outcome.code == code, f"exit {outcome.code}, expected {code}:\n{outcome.stderr[-3000:]}"
    assert outcome.first_line.startswith("error: "), outcome.stderr[-3000:]
    wanted = [first_line_contains] if isinstance(first_line_contains, str) else list(first_line_contains)
    for words in wanted:
        assert words in outcome.first_line, f"{words!r} not in the first line:\n{outcome.stderr[-3000:]}"
