"""The documentation's relative links resolve, and every command group has its page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md"), *(ROOT / "tests").rglob("README.md")])
LINK = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(page: Path) -> None:
    broken = [
        target
        for target in LINK.findall(page.read_text(encoding="utf-8"))
        if "://" not in target and not target.startswith("mailto:") and not (page.parent / target).exists()
    ]
    assert not broken, f"{page.relative_to(ROOT)} links to missing files: {broken}"


def test_every_command_group_has_a_page() -> None:
    for page in ("cli.md", "profile.md", "manifest.md", "configuration.md", "exit-codes.md", "decisions.md"):
        assert (ROOT / "docs" / page).is_file(), page


def _fresh_machine_module() -> object:
    import importlib.machinery
    import importlib.util

    loader = importlib.machinery.SourceFileLoader("fresh_machine", str(ROOT / ".ci" / "fresh-machine"))
    spec = importlib.util.spec_from_loader("fresh_machine", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


def test_ci_runs_exactly_the_readme_test_command() -> None:
    """.ci/run and the README cannot drift apart; the fresh-machine check reads the same README blocks."""
    first, test_command, tour, sessions = _fresh_machine_module().readme_parts(  # type: ignore[attr-defined]
        (ROOT / "README.md").read_text(encoding="utf-8")
    )
    run_lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert test_command in run_lines
    assert "-c .ci/constraints.txt" in test_command
    assert first.startswith("pip install . && meshctl ")
    assert any(line.startswith("meshctl manifest generate -f examples/") for line in tour)
    assert {"bench", "docs", "e2e"} <= set(sessions)


def test_constraints_pin_every_declared_dependency() -> None:
    """Every runtime and test dependency of pyproject.toml has an exact pin in .ci/constraints.txt."""
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"], *project["optional-dependencies"]["test"]]
    names = {re.split(r"[<>=!~\[; ]", d, maxsplit=1)[0].lower().replace("_", "-") for d in declared}
    pins = {}
    for line in (ROOT / ".ci" / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"not an exact pin: {line}"
            pins[name.lower().replace("_", "-")] = version
    assert names <= set(pins), f"unpinned: {sorted(names - set(pins))}"
