"""Untrusted text (arguments, file names, file contents) never reaches the terminal as control sequences."""

from __future__ import annotations

from pathlib import Path

from meshctl.cli import output
from tests.hostile.harness import meshctl

ESC = "\x1b"


def _no_controls(text: str) -> None:
    found = [ch for ch in (ESC, "\x07", "\r", "\x9b") if ch in text]
    assert not found, repr(text)


def test_file_name_with_escape_sequences(tmp_path: Path) -> None:
    outcome = meshctl("profile", "dump", "-f", str(tmp_path / f"{ESC}[31mred{ESC}]0;owned\x07"))
    assert outcome.code == 3
    _no_controls(outcome.stderr)
    assert "\\x1b[31mred" in outcome.first_line


def test_set_path_with_escape_sequences() -> None:
    outcome = meshctl("profile", "dump", "--set", f"{ESC}[2J{ESC}[H=1")
    assert outcome.code == 3
    _no_controls(outcome.stderr)


def test_unknown_command_with_escape_sequences() -> None:
    outcome = meshctl(f"{ESC}[31mevil")
    assert outcome.code == 2
    _no_controls(outcome.stderr)
    assert "\\x1b[31mevil" in outcome.first_line


def test_file_content_echoed_in_an_error_is_escaped(tmp_path: Path) -> None:
    path = tmp_path / "x.yaml"
    path.write_text(f'spec:\n  revision: "bad{ESC}[31m\\r\\u009b"\n')
    outcome = meshctl("manifest", "generate", "-f", str(path))
    assert outcome.code == 3, outcome.stderr
    _no_controls(outcome.stderr)


def test_safe_text_escapes_controls_and_bidi_but_keeps_plain_text() -> None:
    assert output.safe_text("plain ünïcödé 名前") == "plain ünïcödé 名前"
    assert output.safe_text(f"a{ESC}b\rc\u202ed\x9b") == "a\\x1bb\\x0dc\\u202ed\\x9b"
    assert output.safe_text("line\nnext") == "line\nnext"
    assert output.safe_text("line\nnext", keep_newlines=False) == "line\\nnext"
