"""Developer sessions. CI runs `nox --no-venv` (lint, typecheck, tests) after the README's install command.

Every session works both ways: with `--no-venv` it uses the current environment as it is (the README's test
command installed everything); without it, nox builds the session's venv and installs the project with its test
extra, pinned by `.ci/constraints.txt`, so `nox -s bench` works on a fresh checkout as written.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import nox
import nox.virtualenv

CONSTRAINTS = str(Path(__file__).parent / ".ci" / "constraints.txt")


def _go_available() -> bool:
    return shutil.which("go") is not None or Path("/usr/local/go/bin/go").is_file()


def _install_project(session: nox.Session) -> None:
    """Install the project and its pinned test dependencies into the session's own venv (none with --no-venv)."""
    if isinstance(session.virtualenv, nox.virtualenv.PassthroughEnv):
        return
    session.install("-c", CONSTRAINTS, "-e", ".[test]")


nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True


@nox.session
def lint(session: nox.Session) -> None:
    """ruff (lint and format check) and the import contracts."""
    _install_project(session)
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    session.run("lint-imports")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy --strict on meshctl/."""
    _install_project(session)
    session.run("mypy")


@nox.session
def tests(session: nox.Session) -> None:
    """The test suite under coverage (e2e tests skip without Docker and kind)."""
    _install_project(session)
    # The real control plane of tests/cluster: built once from pinned Go modules (a cold build takes ~13 min on
    # 2 cores; cached afterwards in ~/.cache/meshctl-test). Without `go` its tests skip, saying why.
    if _go_available():
        session.run("python", "-m", "tests.cluster", "build")
    session.run("coverage", "erase")
    # The report runs even when a test fails, so the coverage figure is always printed. Exit 5 (nothing
    # collected) fails the session like any other non-zero status: a suite that found no tests tested nothing.
    try:
        session.run("coverage", "run", "-m", "pytest", *session.posargs)
    finally:
        session.run("coverage", "report")  # the floor is [tool.coverage.report] fail_under in pyproject.toml


@nox.session
def e2e(session: nox.Session) -> None:
    """End-to-end tests on a kind cluster; they skip with the reason when Docker or kind is unavailable."""
    _install_project(session)
    session.run("pytest", "-m", "e2e", "-rs", "tests/e2e", *session.posargs)


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks B1–B7 of quality.md and the test API server's throughput, each side by side with its baseline.

    Every module prints its figures and merges them into `bench-results.json` (medians, baselines, ratios, targets,
    met/missed, date, machine, command). Arguments after `--` go to every module, so only the options they share:
    `--quick` (fewer runs: a smoke run, not a measurement) and `--out PATH` (another results file). The default is
    the full measurement (about 10 minutes on 2 cores). Figures are reported in docs/performance.md, never asserted
    in tests.
    """
    import sys

    _install_project(session)
    # With --no-venv, the interpreter running nox (its environment is the one to measure); otherwise the venv's.
    python = sys.executable if isinstance(session.virtualenv, nox.virtualenv.PassthroughEnv) else "python"
    for module in ("startup_bench", "render_bench", "apiserver_bench", "install_bench"):
        session.run(python, "-m", f"tests.bench.{module}", *session.posargs)


@nox.session
def docs(session: nox.Session) -> None:
    """Check the documentation: relative links resolve, every command group has its page."""
    _install_project(session)
    session.run("pytest", "-q", "tests/unit/test_docs.py")


@nox.session
def mutate(session: nox.Session) -> None:
    """Mutation testing (mutmut) of meshctl/config, render, kube and ops against the tests that need no cluster.

    `nox -s mutate -- --sample 100 --seed 1` runs a seeded random sample of 100 mutants per package and prints the
    kill rate of each with its 95 % confidence interval; `-- --full` runs every mutant (hours). Results go to
    mutation-results.json; survivors judged equivalent are listed in tests/mutation/equivalent.md. Always in its own
    venv: mutmut and its dependencies are not part of the CI environment.
    """
    if isinstance(session.virtualenv, nox.virtualenv.PassthroughEnv):
        session.error("run `nox -s mutate` without --no-venv: mutmut is installed in the session's own venv")
    _install_project(session)
    session.install("-c", CONSTRAINTS, "mutmut")  # pinned in .ci/constraints.txt
    session.run("python", "-m", "tests.mutation.run", *session.posargs)
