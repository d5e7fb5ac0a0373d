"""The error catalogue is enforced: every error site of meshctl has a CLI case, and every case produces its error.

(a) the scanner's sites equal the catalogue's keys plus UNREACHABLE's (a new ``raise`` without a case fails here,
naming the site; so does a stale entry); (b) each case runs the CLI in-process through the real entry point
(``tests.helpers.run_cli``; a few through a subprocess where the process's own streams are the point) and checks
the exit code, the ``error:`` line, stdout and the absence of a traceback.
"""

from __future__ import annotations

import contextlib
import os
import pathlib
import re
import subprocess
import sys

import pytest

from tests.badinput import catalogue, scanner
from tests.badinput.catalogue import CATALOGUE, EXTRA_CASES, UNREACHABLE, Case, Context
from tests.helpers import run_cli
from tests.integration.install_helpers import run_unchecked


def test_every_error_site_has_a_cli_case_or_a_reason() -> None:
    sites = set(scanner.scan())
    listed = set(CATALOGUE) | set(UNREACHABLE)
    both = set(CATALOGUE) & set(UNREACHABLE)
    assert not both, f"sites both catalogued and unreachable: {sorted(both)}"
    missing = sorted(sites - listed)
    stale = sorted(listed - sites)
    assert not missing, "error sites without a CLI case in tests/badinput/catalogue.py:\n" + "\n".join(missing)
    assert not stale, "catalogue entries for sites that no longer exist:\n" + "\n".join(stale)


def test_unreachable_stays_short_and_explained() -> None:
    assert len(UNREACHABLE) <= len(CATALOGUE) // 10, "UNREACHABLE is meant for a few defensive checks"
    assert all(len(why) > 20 for why in UNREACHABLE.values())


def _run(case: Case, ctx: Context) -> tuple[int, str, str]:
    argv = [ctx.expand(a) for a in case.argv]
    if case.subprocess:
        env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100", **{k: ctx.expand(v) for k, v in case.env.items()}}
        with contextlib.ExitStack() as stack:
            stdout = stack.enter_context(open(case.stdout_to, "wb")) if case.stdout_to else subprocess.PIPE
            command = [sys.executable, "-c", catalogue.SUBPROCESS_MAIN, *argv]
            if case.close_stdin:  # fd 0 closed, as `meshctl ... 0<&-` in a shell
                command = ["/bin/sh", "-c", 'exec "$0" "$@" 0<&-', *command]
            proc = subprocess.run(
                command,
                input=None if case.close_stdin else ctx.expand(case.stdin).encode(),
                stdout=stdout,
                stderr=subprocess.PIPE,
                cwd=ctx.tmp,
                env=env,
                timeout=120,
                check=False,
            )
        return proc.returncode, (proc.stdout or b"").decode(errors="replace"), proc.stderr.decode(errors="replace")
    if case.preamble:
        result = run_unchecked(*argv, stdin=ctx.expand(case.stdin), tty=case.stdin_tty)
    else:
        result = run_cli(*argv, stdin=ctx.expand(case.stdin), stdin_tty=case.stdin_tty, expect=None)
    return result.exit_code, result.stdout, result.stderr


def _check(
    site: str, case: Case, request: pytest.FixtureRequest, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    api = request.getfixturevalue("apiserver") if case.cluster else None
    ctx = Context(tmp_path, api, monkeypatch)
    monkeypatch.chdir(tmp_path)
    for key, value in case.env.items():
        monkeypatch.setenv(key, ctx.expand(value))
    ctx.write_files(case.files)
    try:
        for step in case.setup:
            step(ctx)
        code, out, err = _run(case, ctx)
    finally:
        for cleanup in reversed(ctx.cleanups):
            cleanup()
    shown = f"meshctl {' '.join(case.argv)}\n--- exit {code}, stderr ---\n{err}\n--- stdout ---\n{out[:1500]}"
    assert "Traceback" not in err, shown
    assert code == case.exit, shown
    lines = err.splitlines()
    first = lines[0] if lines else ""
    if case.preamble:  # progress and prompts come first; the error line is the first of its kind
        first = next((line.split("(y/N) ")[-1] for line in lines if line.split("(y/N) ")[-1].startswith("error: ")), "")
    assert first.startswith("error: "), shown
    assert re.search(case.expect, first), f"{site}: the error line does not match {case.expect!r}\n{shown}"
    if case.stdout is not None:
        assert re.fullmatch(case.stdout, out, re.DOTALL), f"unexpected stdout\n{shown}"
    if case.also is not None:
        assert re.search(case.also, err, re.MULTILINE), f"{site}: stderr does not hold {case.also!r}\n{shown}"


@pytest.mark.parametrize("site", sorted(CATALOGUE))
def test_error_site(
    site: str, request: pytest.FixtureRequest, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _check(site, CATALOGUE[site], request, tmp_path, monkeypatch)


@pytest.mark.parametrize("name", sorted(EXTRA_CASES))
def test_error_without_a_site_of_its_own(
    name: str, request: pytest.FixtureRequest, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _check(name, EXTRA_CASES[name], request, tmp_path, monkeypatch)
