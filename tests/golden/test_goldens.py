"""Golden tests: the output of each built-in profile and of each feature input, pinned in ``outputs/``.

A change of output is a reviewed diff: run ``MESHCTL_UPDATE_GOLDENS=1 pytest tests/golden`` to rewrite the files,
then read the diff. Without that variable a missing or different golden fails with a unified diff.
"""

from __future__ import annotations

import difflib
import os

import pytest

from tests.golden import goldens


def _check(name: str, actual: str) -> None:
    path = goldens.OUTPUTS / f"{name}.yaml"
    if os.environ.get(goldens.UPDATE_ENV) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
        return
    if not path.exists():
        pytest.fail(f"golden {path} is missing; create it with {goldens.UPDATE_ENV}=1 and review it")
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            fromfile=f"{path} (golden)",
            tofile="rendered",
            n=3,
        )
        text = "".join(diff)
        if len(text) > 20000:
            text = text[:20000] + "\n... (diff truncated)\n"
        pytest.fail(f"output differs from {path}; if intended, refresh with {goldens.UPDATE_ENV}=1\n{text}")


def test_every_profile_has_an_input() -> None:
    assert {f"profile-{p}" for p in goldens.PROFILES} <= set(goldens.input_names())


def test_there_are_at_least_25_feature_inputs() -> None:
    features = [n for n in goldens.input_names() if not n.startswith("profile-")]
    assert len(features) >= 25, features


@pytest.mark.parametrize("name", goldens.input_names())
def test_golden(name: str) -> None:
    _check(name, goldens.render_input(name).text)


@pytest.mark.parametrize("name", goldens.input_names())
def test_selection_is_not_empty(name: str) -> None:
    rendered = goldens.render_input(name)
    if name != "profile-empty":
        assert rendered.pinned, f"{name}: the selection matches nothing"


def test_golden_files_have_inputs() -> None:
    stale = sorted({p.stem for p in goldens.OUTPUTS.glob("*.yaml")} - set(goldens.input_names()))
    assert not stale, f"golden outputs without an input (remove them): {stale}"
