"""Progress of the commands that change a cluster (install, upgrade, uninstall): plain lines, or live on a TTY.

Without a terminal: one plain line per state change, no escape codes. On a terminal: a live spinner line for what is
in flight (rich, imported lazily) and permanent lines for results. Both implement the ops layer's ``Reporter``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

from meshctl import errors, objects
from meshctl.cli import output

if TYPE_CHECKING:
    from meshctl.kube import wait

HEARTBEAT_ENV = "MESHCTL_HEARTBEAT"
NO_PROMPT_HINT = "pass --skip-confirmation (-y) to proceed without a prompt"


def object_name(ref: objects.ObjectRef) -> str:
    """``Kind/namespace/name`` (``Kind/name`` for cluster-scoped objects), as the progress lines name objects."""
    return f"{ref.kind}/{ref.namespace}/{ref.name}" if ref.namespace else f"{ref.kind}/{ref.name}"


def heartbeat() -> float:
    """Seconds between heartbeat lines while waiting without a terminal (``MESHCTL_HEARTBEAT``, default 15)."""
    value = os.environ.get(HEARTBEAT_ENV, "")
    try:
        return max(0.1, float(value)) if value else 15.0
    except ValueError:
        raise errors.UsageError(f"{HEARTBEAT_ENV}={value!r} is not a number of seconds") from None


def reporter(env: output.Environment, *, live: bool) -> PlainReporter:
    """Live progress on a terminal (unless ``live`` is False), plain lines otherwise."""
    return RichReporter(env) if live and env.stderr_isatty else PlainReporter(env)


class PlainReporter:
    """Progress as plain lines on stderr: one line per state change, no escape codes."""

    def __init__(self, env: output.Environment) -> None:
        self.env = env
        self._last = ""

    def _line(self, text: str) -> None:
        if text != self._last:  # identical consecutive states are one line
            self._last = text
            self.env.note(text)

    def note(self, text: str) -> None:
        self._line(text)

    def warn(self, text: str) -> None:
        self.env.warn(text)

    def lock_waiting(self, holder: str) -> None:
        self._line(f"- Waiting for the installation lock, held by {holder}")

    def progress(self, text: str) -> None:
        self._line(f"- {text}")

    def component_done(self, name: str) -> None:
        self._line(f"✔ {name} installed")

    def component_failed(self, name: str, reason: str) -> None:
        self._last = ""
        self.env.stderr.write(output.safe_text(f"✘ {name} encountered an error: {reason}") + "\n")
        self.env.stderr.flush()

    def waiting(self, pending: Sequence[wait.Pending]) -> None:
        # A heartbeat: printed even when nothing changed, so that a CI log shows install is alive.
        self._last = ""
        self._line("- Still waiting for " + "; ".join(f"{object_name(p.ref)} ({p.why})" for p in pending))

    def close(self) -> None:
        pass


class RichReporter(PlainReporter):
    """On a terminal: a live spinner line for what is in flight, permanent lines for results (rich, lazily)."""

    def __init__(self, env: output.Environment) -> None:
        super().__init__(env)
        from rich.console import Console

        self.console = Console(file=env.stderr, no_color=not env.color, highlight=False, soft_wrap=True)
        self.status = self.console.status("", spinner="dots")
        self._started = False

    def _line(self, text: str) -> None:
        if self.env.quiet:
            return
        self.console.print(text, markup=False, highlight=False)

    def progress(self, text: str) -> None:
        if self.env.quiet:
            return
        self.status.update(text)
        if not self._started:
            self.status.start()
            self._started = True

    def lock_waiting(self, holder: str) -> None:
        self._line(f"- Waiting for the installation lock, held by {holder}")

    def waiting(self, pending: Sequence[wait.Pending]) -> None:
        self.progress("Waiting for " + ", ".join(f"{object_name(p.ref)} ({p.why})" for p in pending))

    def component_failed(self, name: str, reason: str) -> None:
        self.console.print(output.safe_text(f"✘ {name} encountered an error: {reason}"), markup=False, highlight=False)

    def close(self) -> None:
        if self._started:
            self.status.stop()
            self._started = False
