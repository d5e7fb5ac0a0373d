"""Developer sessions. CI runs `nox --no-venv` (lint, typecheck, tests) after `pip install -e '.[test]'`."""

from __future__ import annotations

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and format check) and the import contracts."""
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on meshctl/."""
    session.run("mypy")


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite under coverage (e2e tests skip without Docker and kind)."""
    session.run("coverage", "erase")
    session.run("coverage", "run", "-m", "pytest", *session.posargs)
    session.run("coverage", "report")  # the floor is [tool.coverage.report] fail_under in pyproject.toml


@nox.session
def e2e(session: nox.Session) -> None:
    """End-to-end tests on a kind cluster; they skip with the reason when Docker or kind is unavailable."""
    session.run("pytest", "-m", "e2e", "-rs", "tests/e2e", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks of quality.md: B1 start-up, B2/B3 rendering, and the test API server's throughput.

    Figures are medians and side-by-side ratios; they are reported in docs/performance.md, never asserted in tests.
    """
    session.run("python", "-m", "tests.bench.startup_bench", *session.posargs)
    session.run("python", "-m", "tests.bench.render_bench", *session.posargs)
    session.run("python", "-m", "tests.bench.apiserver_bench", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Check the documentation: relative links resolve, every command group has its page."""
    session.run("pytest", "-q", "tests/unit/test_docs.py")
