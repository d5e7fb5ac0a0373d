"""Hostile environments: full, closed and early-closing streams, unreadable directories, Ctrl-C (exit 74/0/130)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from meshctl import errors
from meshctl.cli import app
from tests.helpers import run_cli
from tests.hostile.harness import check_clean, expect, meshctl


def test_disk_full_on_stdout_is_exit_74_naming_the_stream() -> None:
    with open("/dev/full", "wb") as full:
        outcome = meshctl("manifest", "generate", stdout=full)
    expect(outcome, 74, ["standard output", "No space left on device"])


def test_closed_stdout_is_exit_74_without_a_traceback() -> None:
    outcome = meshctl("manifest", "generate", preexec=lambda: os.close(1))
    expect(outcome, 74, ["standard output", "closed"])


def test_a_reader_that_leaves_early_is_exit_0_silently() -> None:
    # The reader closes its end before meshctl writes anything: every write meets EPIPE.
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        outcome = meshctl("manifest", "generate", stdout=write_end)
    finally:
        os.close(write_end)
    assert outcome.code == 0, outcome.stderr
    assert outcome.stderr == ""


def test_closed_stderr_does_not_change_the_exit_code() -> None:
    bad = ("manifest", "generate", "--set", "nosuchfield=1")
    outcome = meshctl(*bad)
    expect(outcome, 3, "unknown field")
    outcome = meshctl(*bad, preexec=lambda: os.close(2))
    assert outcome.code == 3


def test_full_stderr_does_not_change_the_exit_code() -> None:
    def stderr_to_full() -> None:
        fd = os.open("/dev/full", os.O_WRONLY)
        os.dup2(fd, 2)

    outcome = meshctl("manifest", "generate", "--set", "nosuchfield=1", preexec=stderr_to_full)
    assert outcome.code == 3


def test_output_directory_that_cannot_be_created_is_exit_74(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    outcome = meshctl("manifest", "generate", "-o", str(blocker / "out"))
    expect(outcome, 74, [str(blocker / "out"), "Not a directory"])


def test_unreadable_manifests_directory_is_exit_74(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    real_scandir = os.scandir

    def refuse(path: object) -> object:
        if str(path).startswith(str(tmp_path)):
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "scandir", refuse)
    result = run_cli("manifest", "generate", "-d", str(tmp_path), expect=74)
    assert result.stderr.startswith(f"error: cannot read directory {tmp_path / 'profiles'}: Permission denied")


def test_an_os_error_nobody_wrapped_is_exit_74_not_70(monkeypatch: pytest.MonkeyPatch) -> None:
    from meshctl.render import pipeline

    def fail(*args: object, **kwargs: object) -> object:
        raise OSError(5, "Input/output error", "/some/path")

    monkeypatch.setattr(pipeline, "render", fail)
    result = run_cli("manifest", "generate", expect=None)
    assert result.exit_code == errors.ExitCode.IO
    assert result.stderr.splitlines()[0] == "error: cannot access /some/path: Input/output error"


def test_ctrl_c_prints_interrupted_and_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    from meshctl.render import pipeline

    def interrupt(*args: object, **kwargs: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(pipeline, "render", interrupt)
    result = run_cli("manifest", "generate", expect=130)
    assert result.stderr.splitlines()[0] == "error: interrupted"


@pytest.mark.skipif(not Path("/proc/self/syscall").exists(), reason="needs /proc/PID/syscall to see a blocked read")
def test_sigint_in_a_subprocess_prints_interrupted_and_exits_130() -> None:
    # meshctl blocks reading `-f -` from a pipe we keep open; once it is in that read, SIGINT it.
    proc = subprocess.Popen(
        [sys.executable, "-m", "meshctl", "profile", "dump", "-f", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        syscall = Path(f"/proc/{proc.pid}/syscall")
        for _ in range(2_000_000):
            try:
                fields = syscall.read_text().split()
            except OSError:
                fields = []
            # x86-64 read(2) is 0, aarch64 is 63; its first argument is the fd, 0x0 for stdin.
            if fields[:2] in (["0", "0x0"], ["63", "0x0"]):
                break
            assert proc.poll() is None, proc.communicate()
        proc.send_signal(2)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = err.decode()
    assert proc.returncode == 130, text
    assert text.splitlines()[0] == "error: interrupted"


def test_typer_exit_130_is_not_silent(monkeypatch: pytest.MonkeyPatch) -> None:
    import typer

    from meshctl.render import pipeline

    def typer_interrupt(*args: object, **kwargs: object) -> object:
        raise typer.Exit(130)

    monkeypatch.setattr(pipeline, "render", typer_interrupt)
    result = run_cli("manifest", "generate", expect=130)
    assert result.stderr.startswith("error: interrupted\n")


def test_check_clean_flags_exit_70() -> None:
    from tests.hostile.harness import Outcome

    with pytest.raises(AssertionError, match="exit 70"):
        check_clean(Outcome(70, b"", "error: internal error: ValueError\n"))
    assert app.run  # the in-process entry exists
