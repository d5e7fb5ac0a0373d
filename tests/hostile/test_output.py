"""``-o DIR`` and ``-o FILE`` are all or nothing: a write that fails midway leaves the previous output as it was."""

from __future__ import annotations

import resource
import signal
from pathlib import Path

from tests.hostile.harness import expect, meshctl


def _file_size_limit(limit: int) -> None:
    # Writes beyond `limit` bytes fail with EFBIG, like a disk that fills up in the middle of the output.
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_directory_output_failing_midway_keeps_the_previous_output(tmp_path: Path) -> None:
    out = tmp_path / "out"
    first = meshctl("manifest", "generate", "-o", str(out), "--set", "profile=minimal")
    assert first.code == 0, first.stderr
    before = _snapshot(out)
    outcome = meshctl(
        "manifest", "generate", "-o", str(out), "--set", "profile=demo", preexec=lambda: _file_size_limit(20_000)
    )
    expect(outcome, 74, [f"cannot write to {out}", "File too large"])
    assert _snapshot(out) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]  # no staging directory left behind


def test_new_directory_output_failing_midway_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "new"
    outcome = meshctl("manifest", "generate", "-o", str(out), preexec=lambda: _file_size_limit(20_000))
    expect(outcome, 74, [f"cannot write to {out}", "File too large"])
    assert list(tmp_path.iterdir()) == []


def test_file_output_failing_midway_keeps_the_previous_file(tmp_path: Path) -> None:
    out = tmp_path / "all.yaml"
    first = meshctl("manifest", "generate", "-o", str(out), "--set", "profile=minimal")
    assert first.code == 0, first.stderr
    before = out.read_bytes()
    outcome = meshctl("manifest", "generate", "-o", str(out), preexec=lambda: _file_size_limit(20_000))
    expect(outcome, 74, [f"cannot write {out}", "File too large"])
    assert out.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["all.yaml"]


def test_directory_output_replaces_the_previous_one_completely(tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert meshctl("manifest", "generate", "-o", str(out), "--set", "profile=demo").code == 0
    assert meshctl("manifest", "generate", "-o", str(out), "--set", "profile=minimal").code == 0
    names = sorted(p.name for p in out.iterdir())
    kustomization = (out / "kustomization.yaml").read_text()
    assert all(name in kustomization for name in names if name != "kustomization.yaml")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_directory_output_into_the_working_directory(tmp_path: Path) -> None:
    out = tmp_path / "here"
    out.mkdir()
    assert meshctl("manifest", "generate", "-o", ".", cwd=str(out)).code == 0
    outcome = meshctl("manifest", "generate", "-o", ".", "--set", "profile=minimal", cwd=str(out))
    assert outcome.code == 0, outcome.stderr
    assert sorted(p.name for p in out.iterdir()) == ["Base.yaml", "Pilot.yaml", "kustomization.yaml"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["here"]
