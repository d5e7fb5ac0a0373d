"""In-process checks of how meshctl ends when its streams fail (the subprocess versions live in tests/hostile/).

`main()` itself re-points file descriptor 1, so it is exercised only in subprocesses; here the pieces it is made of
run in-process: the stdout guard, the error mapping of `run`, and writing `-o DIR` over an earlier output.
"""

from __future__ import annotations

import errno
import io
from pathlib import Path

import pytest

from meshctl import errors
from meshctl.cli import app
from meshctl.render import output as render_output
from tests.helpers import run_cli


class _Failing(io.StringIO):
    def __init__(self, exc: BaseException) -> None:
        super().__init__()
        self.exc = exc

    def write(self, text: str) -> int:
        raise self.exc

    def flush(self) -> None:
        raise self.exc


@pytest.fixture
def no_silencing(monkeypatch: pytest.MonkeyPatch) -> None:
    # The guard points fd 1 at /dev/null after a failure; that must not happen to pytest's own stdout.
    monkeypatch.setattr(app, "_silence_stdout", lambda: None)


@pytest.mark.usefixtures("no_silencing")
def test_a_full_stdout_is_a_local_io_error_naming_the_stream() -> None:
    guard = app._StdoutGuard(_Failing(OSError(errno.ENOSPC, "No space left on device")))
    with pytest.raises(errors.LocalIOError, match=r"cannot write to standard output: .*No space left") as caught:
        guard.write("data")
    assert caught.value.exit_code == errors.ExitCode.IO
    with pytest.raises(errors.LocalIOError):
        guard.flush()


@pytest.mark.usefixtures("no_silencing")
def test_a_reader_that_left_ends_quietly() -> None:
    guard = app._StdoutGuard(_Failing(BrokenPipeError(errno.EPIPE, "Broken pipe")))
    with pytest.raises(app._ReaderGone):
        guard.write("data")


@pytest.mark.usefixtures("no_silencing")
def test_a_closed_stdout_is_a_local_io_error() -> None:
    guard = app._StdoutGuard(None)
    with pytest.raises(errors.LocalIOError, match="the stream is closed"):
        guard.write("data")
    guard.flush()  # nothing buffered, nothing to fail
    assert not guard.isatty()
    with pytest.raises(OSError, match="closed"):
        guard.fileno()
    assert guard.encoding == "utf-8"
    assert guard.writable()


def test_guard_passes_writes_through() -> None:
    target = io.StringIO()
    guard = app._StdoutGuard(target)
    assert guard.write("abc") == 3
    guard.flush()
    assert target.getvalue() == "abc"


def test_run_maps_a_failing_stdout_to_exit_74(monkeypatch: pytest.MonkeyPatch, no_silencing: None) -> None:
    """The whole path through `run`: `profile list` writing into a stdout that is full."""
    import contextlib
    import sys

    err = io.StringIO()
    guard = app._StdoutGuard(_Failing(OSError(errno.ENOSPC, "No space left on device")))
    monkeypatch.setattr(sys, "stdout", guard)
    with contextlib.redirect_stderr(err):
        code = app.run(["profile", "list"])
    assert code == errors.ExitCode.IO
    assert err.getvalue().startswith("error: cannot write to standard output: ")


def test_run_maps_a_gone_reader_to_exit_0(monkeypatch: pytest.MonkeyPatch, no_silencing: None) -> None:
    import contextlib
    import sys

    err = io.StringIO()
    monkeypatch.setattr(sys, "stdout", app._StdoutGuard(_Failing(BrokenPipeError(errno.EPIPE, "Broken pipe"))))
    with contextlib.redirect_stderr(err):
        code = app.run(["profile", "list"])
    assert code == errors.ExitCode.OK
    assert err.getvalue() == ""


def test_io_error_names_the_path_when_the_system_gave_one() -> None:
    named = app._io_error(PermissionError(errno.EACCES, "Permission denied", "/some/where"))
    assert named.message.startswith("cannot access /some/where: ")
    unnamed = app._io_error(OSError(errno.EIO, "Input/output error"))
    assert unnamed.message.startswith("local I/O error: ")


def test_output_directory_written_twice_holds_only_the_new_rendering(tmp_path: Path) -> None:
    target = tmp_path / "out"
    run_cli("manifest", "generate", "--set", "profile=demo", "-o", str(target))
    demo = {p.name for p in target.iterdir()}
    run_cli("manifest", "generate", "--set", "profile=minimal", "-o", str(target))
    minimal = {p.name for p in target.iterdir()}
    assert "kustomization.yaml" in minimal
    assert minimal < demo  # the demo-only component files are gone, not left beside the new ones
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".out.")]  # no staging or aside directory left


def test_output_directory_that_holds_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "out"
    run_cli("manifest", "generate", "--set", "profile=demo", "-o", str(target))
    monkeypatch.chdir(target)
    run_cli("manifest", "generate", "--set", "profile=minimal", "-o", ".")
    names = {p.name for p in target.iterdir()}
    assert "kustomization.yaml" in names
    assert not [n for n in names if n.startswith("IngressGateways")]


def test_output_under_a_file_is_refused(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = run_cli("manifest", "generate", "-o", str(blocker / "out"), expect=None)
    assert result.exit_code in (errors.ExitCode.IO, errors.ExitCode.INVALID_INPUT)
    assert "Not a directory" in result.stderr
    assert blocker.read_text() == "x"


def test_write_directory_refuses_a_file_target(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.write_text("mine")
    with pytest.raises(errors.MeshctlError):
        render_output.write_directory(str(target), {}, ())
    assert target.read_text() == "mine"
