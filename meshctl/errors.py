"""The meshctl error tree and its exit codes.

Every failure a user can cause or meet is a :class:`MeshctlError` carrying a message, optional context lines,
an optional hint and the exit code the CLI returns for it. Library code raises these; exactly one place
(``meshctl.cli.app.main``) turns them into stderr lines and an exit status.

::

    MeshctlError                      (70, a bug unless a subclass says otherwise)
    ├── UsageError                    (2)
    ├── InputError                    (3)   bad --set, YAML, profile, file
    │   ├── PathError                 (3)   a path of the --set/--config-path/overlay grammar
    │   │   └── PathNotFound          (3)   ... that selects nothing in the tree it addresses
    │   ├── ValidationError           (3)   schema violations, all at once
    │   └── InputLimitError           (3)   an input-safety limit tripped
    ├── RenderError                   (3)   a template or overlay could not be applied to this input
    ├── ClusterError                  (4)
    ├── ReadinessTimeout              (5)
    ├── ReadinessFailed               (5)   a workload failed for good (ImagePullBackOff, …)
    ├── VerificationFailed            (6)
    ├── Aborted                       (7)
    ├── OwnershipConflict             (8)
    └── LocalIOError                  (74)  a local file or stream could not be read or written
"""

from __future__ import annotations

import enum
from collections.abc import Sequence


class ExitCode(enum.IntEnum):
    """The documented exit statuses (``docs/exit-codes.md``)."""

    OK = 0
    DIFFERENT = 1
    USAGE = 2
    INVALID_INPUT = 3
    CLUSTER = 4
    TIMEOUT = 5
    VERIFY_FAILED = 6
    ABORTED = 7
    CONFLICT = 8
    INTERNAL = 70
    IO = 74
    INTERRUPTED = 130


class MeshctlError(Exception):
    """Base of every error meshctl reports; ``exit_code`` says how the process ends."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None, context: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.context: tuple[str, ...] = tuple(context)

    def __str__(self) -> str:
        return self.message


class UsageError(MeshctlError):
    """A command was called wrongly (flags that do not go together, a missing argument)."""

    exit_code = ExitCode.USAGE


class InputError(MeshctlError):
    """The configuration given by the user cannot be used."""

    exit_code = ExitCode.INVALID_INPUT


class PathError(InputError):
    """A path of the ``--set`` grammar is malformed or does not fit the tree it addresses.

    ``segment_start``/``segment_end`` index the offending characters in ``path`` so the CLI can draw a caret.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str = "",
        segment_start: int | None = None,
        segment_end: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.path = path
        self.segment_start = segment_start
        self.segment_end = segment_end


class PathNotFound(PathError):
    """A well-formed path selects nothing: a selector or key matches no element, or an index is past the end.

    Overlays tell this apart from other path errors: a patch that selects nothing has no effect (a warning),
    while a malformed path or a path through a value of the wrong type is an error.
    """


class ValidationError(InputError):
    """The configuration violates the schema; ``problems`` holds one line per problem, each with its path."""

    def __init__(self, problems: Sequence[str], *, hint: str | None = None, warnings: Sequence[str] = ()) -> None:
        count = len(problems)
        noun = "problem" if count == 1 else "problems"
        # Warnings found alongside the errors are shown too: fixing the errors should not reveal new surprises.
        context = [*problems, *(f"warning: {w}" for w in warnings)]
        super().__init__(f"invalid configuration: {count} {noun}", hint=hint, context=context)
        self.problems = tuple(problems)
        self.warnings = tuple(warnings)


class InputLimitError(InputError):
    """An input-safety limit tripped; ``limit`` names which one (size, aliases, depth, ...)."""

    def __init__(self, message: str, *, limit: str, hint: str | None = None) -> None:
        super().__init__(message, hint=hint)
        self.limit = limit


class RenderError(InputError):
    """The templates or component settings could not be rendered for this input."""


class ClusterError(MeshctlError):
    """The cluster could not be reached or refused a request that retries did not cure."""

    exit_code = ExitCode.CLUSTER


class ReadinessTimeout(MeshctlError):
    """Workloads were not ready within the readiness timeout."""

    exit_code = ExitCode.TIMEOUT


class ReadinessFailed(MeshctlError):
    """A workload failed for a reason that does not cure itself; the wait ends on it, not on the timeout.

    ``ref`` is the object (an ``objects.ObjectRef``), ``reason`` the word (``ImagePullBackOff``), ``detail`` the
    pod's message.
    """

    exit_code = ExitCode.TIMEOUT

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        context: Sequence[str] = (),
        ref: object = None,
        reason: str = "",
        detail: str = "",
    ) -> None:
        super().__init__(message, hint=hint, context=context)
        self.ref = ref
        self.reason = reason
        self.detail = detail


class VerificationFailed(MeshctlError):
    """``verify-install`` found missing or unready objects."""

    exit_code = ExitCode.VERIFY_FAILED


class Aborted(MeshctlError):
    """The user declined, or confirmation was needed and not possible."""

    exit_code = ExitCode.ABORTED


class OwnershipConflict(MeshctlError):
    """Objects are owned by another field manager or installation and were not taken over."""

    exit_code = ExitCode.CONFLICT


class LocalIOError(MeshctlError):
    """A local file, directory or standard stream could not be read or written (permission, disk full, closed).

    The message names the path or stream and the system's reason.
    """

    exit_code = ExitCode.IO


def describe_os_error(exc: OSError) -> str:
    """The system's reason of ``exc`` (``No space left on device``), without Python's decoration."""
    return exc.strerror or str(exc) or type(exc).__name__
