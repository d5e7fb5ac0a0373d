"""meshctl's Go-template evaluator agrees with Go's text/template, sprig and istiod's functions on a corpus.

The Go side (``main.go``, its own pinned ``go.mod``) is built once into ``${XDG_CACHE_HOME:-~/.cache}/meshctl-test/``
and reused. Each case of ``corpus.py`` is evaluated by both; they must print the same text, or both fail. The
cases where meshctl is stricter by design (printing a map, which Go writes as ``map[...]``) must fail in Python
and succeed in Go, so the deviation stays deliberate. Without ``go`` the test is skipped, saying so.
"""

from __future__ import annotations

import difflib
import functools
from pathlib import Path
from typing import Any

import pytest

from tests.gotemplate_check import corpus, harness

#: Cases where meshctl refuses what Go accepts (docs/injection-templates.md, Syntax).
PYTHON_STRICTER = {"snippet/print-map-fails"}

CASES = corpus.cases()


@functools.cache
def go_results() -> dict[str, dict[str, str]]:
    go = harness.find_go()
    if go is None:
        pytest.skip("no Go toolchain (go not on PATH nor in /usr/local/go/bin): the cross-check needs it")
    return harness.run_go(harness.build(go), CASES)


def _diff(go: str, python: str) -> str:
    return "\n".join(difflib.unified_diff(go.splitlines(), python.splitlines(), "go", "python", lineterm=""))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_python_evaluator_agrees_with_go(case: dict[str, Any]) -> None:
    go = go_results()[case["name"]]
    python = harness.run_python(case)
    if case["name"] in PYTHON_STRICTER:
        assert python["error"], "meshctl should refuse this"
        assert not go.get("error"), go
        return
    assert bool(python["error"]) == bool(go.get("error")), (python["error"], go.get("error"))
    assert python["output"] == go["output"], _diff(go["output"], python["output"])


def test_corpus_covers_both_templates_and_fails_somewhere() -> None:
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names))
    templates = {c["template"] for c in CASES}
    assert {"sidecar", "gateway", "snippet"} <= templates
    failing = {c["name"] for c in CASES if harness.run_python(c)["error"]}
    # Some cases must fail in both, or "agrees" would only ever compare successes.
    assert len(failing - PYTHON_STRICTER) >= 5, failing


def test_checker_binary_is_cached_under_the_sources_digest() -> None:
    path = harness.binary_path()
    assert path.parent == harness.cache_dir()
    assert not path.is_relative_to(Path(__file__).resolve().parents[2])
    go_results()  # builds (or reuses) it
    assert path.is_file()
    before = path.stat().st_mtime_ns
    assert harness.build(harness.find_go() or "go") == path
    assert path.stat().st_mtime_ns == before  # reused, not rebuilt
