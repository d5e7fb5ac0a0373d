"""Property tests of the cluster commands' inputs through the CLI entry point (quality.md, bad-input suite).

``install --dry-run``, ``upgrade --dry-run``, ``uninstall`` (``--set revision=…`` and ``-f``) and ``kube-inject -f FILE
--set …`` get generated ``--set`` arguments and IstioOperator files over the grammar's alphabet (the strategies of
tests/unit/config/test_properties.py), with a kubeconfig whose server is a closed port of 127.0.0.1. Every input
either works, fails with exit 3 and an ``error:`` line, or - being valid - reaches the cluster and fails with exit 4
because nothing listens there. Never a traceback, never exit 70.

Most cases run in-process through :func:`meshctl.cli.app.run` (the console script's body); a few hundred run through
the real console-script entry point in subprocesses (:data:`SUBPROCESS_CASES`). Example counts are in ``EXAMPLES``.
"""

from __future__ import annotations

import concurrent.futures
import os
import pathlib
import subprocess
import sys
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshctl import yamlio
from tests.badinput.catalogue import CLOSED_PORT_KUBECONFIG, DEPLOYMENT, SUBPROCESS_MAIN
from tests.integration.install_helpers import run_unchecked
from tests.unit.config.test_properties import IOP_TREE, KEY, TEXT

#: Examples per property (in-process); the subprocess cases are counted in SUBPROCESS_CASES.
EXAMPLES = {
    "install_set": 520,
    "upgrade_set": 350,
    "uninstall_revision": 350,
    "uninstall_file": 250,
    "kube_inject_set": 450,
}
#: Generated inputs run through the console script in subprocesses (batches of SUBPROCESS_BATCH per example).
SUBPROCESS_BATCH = 20
SUBPROCESS_EXAMPLES = 5
SUBPROCESS_CASES = SUBPROCESS_BATCH * SUBPROCESS_EXAMPLES
assert sum(EXAMPLES.values()) + SUBPROCESS_CASES >= 2_000
assert SUBPROCESS_CASES <= 300

UNREACHABLE_CLUSTER = "cannot reach the API server http://127.0.0.1:1"


def _settings(examples: int) -> Any:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
    )


# ``--set`` arguments: free text over the alphabet, PATH=VALUE of free text, and paths that start where the real
# configuration is (so that valid input, deep typing and schema checks are reached, not only the parser).
PREFIX = st.sampled_from(
    [
        "",
        "values.",
        "values.global.",
        "meshConfig.",
        "components.pilot.",
        "components.pilot.k8s.",
        "components.ingressGateways[0].",
        "components.ingressGateways[name:istio-ingressgateway].",
        "spec.",
    ]
)
ASSIGNMENT = st.one_of(
    TEXT,
    st.builds(lambda p, v: f"{p}={v}", TEXT, TEXT),
    st.builds(lambda p, keys, v: p + ".".join(keys) + "=" + v, PREFIX, st.lists(KEY, min_size=1, max_size=3), TEXT),
    st.builds(lambda v: f"revision={v}", TEXT),
    st.builds(lambda v: f"profile={v}", st.one_of(TEXT, st.sampled_from(["demo", "minimal", "empty", "ambient"]))),
)
SETS = st.lists(ASSIGNMENT, min_size=1, max_size=3)


@pytest.fixture(scope="module")
def closed(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A directory with the closed-port kubeconfig and a Deployment manifest for kube-inject."""
    base = tmp_path_factory.mktemp("cluster-inputs")
    (base / "kubeconfig").write_text(CLOSED_PORT_KUBECONFIG, encoding="utf-8")
    (base / "deployment.yaml").write_text(DEPLOYMENT, encoding="utf-8")
    return base


def _set_args(sets: list[str]) -> list[str]:
    return [a for s in sets for a in ("--set", s)]


def _check(args: list[str], code: int, stderr: str, allowed: set[int]) -> None:
    shown = f"meshctl {args!r}\n--- exit {code}, stderr ---\n{stderr}"
    assert "Traceback" not in stderr, shown
    assert code != 70, shown
    assert code in allowed, shown
    if code == 0:
        return
    lines = stderr.splitlines()
    # Warnings about the configuration may come first; the failure is the first line that is not one.
    first = next((line for line in lines if not line.startswith("warning: ")), "")
    assert first.startswith("error: "), shown
    if code == 4:  # only valid input gets this far: the cluster is what failed
        assert UNREACHABLE_CLUSTER in first, shown


def _meshctl(closed: pathlib.Path, *args: str, allowed: set[int]) -> None:
    argv = [*args, "--kubeconfig", str(closed / "kubeconfig")]
    result = run_unchecked(*argv)
    _check(argv, result.exit_code, result.stderr, allowed)


@_settings(EXAMPLES["install_set"])
@given(sets=SETS)
def test_install_dry_run_takes_any_set(closed: pathlib.Path, sets: list[str]) -> None:
    _meshctl(closed, "install", "--dry-run", *_set_args(sets), allowed={3, 4})


@_settings(EXAMPLES["upgrade_set"])
@given(sets=SETS)
def test_upgrade_dry_run_takes_any_set(closed: pathlib.Path, sets: list[str]) -> None:
    _meshctl(closed, "upgrade", "--dry-run", *_set_args(sets), allowed={3, 4})


@_settings(EXAMPLES["uninstall_revision"])
@given(revision=TEXT, dry_run=st.booleans())
def test_uninstall_takes_any_revision(closed: pathlib.Path, revision: str, dry_run: bool) -> None:
    # An empty (or blank) revision names no target: the usage error (exit 2) of `uninstall` without one.
    allowed = {2, 3, 4} if not revision.strip() else {3, 4}
    _meshctl(closed, "uninstall", "--dry-run" if dry_run else "-y", "--set", f"revision={revision}", allowed=allowed)


@_settings(EXAMPLES["uninstall_file"])
@given(
    document=st.one_of(
        TEXT.map(lambda text: ("text", text)),
        st.dictionaries(st.one_of(st.sampled_from(["revision", "profile", "values"]), KEY), IOP_TREE, max_size=3).map(
            lambda spec: ("spec", spec)
        ),
    )
)
def test_uninstall_takes_any_file(closed: pathlib.Path, document: tuple[str, Any]) -> None:
    kind, content = document
    path = closed / "uninstall-iop.yaml"
    text = content if kind == "text" else yamlio.dump_yaml({"kind": "IstioOperator", "spec": content})
    path.write_text(text, encoding="utf-8", errors="surrogatepass")
    _meshctl(closed, "uninstall", "--dry-run", "-f", str(path), allowed={2, 3, 4})


@_settings(EXAMPLES["kube_inject_set"])
@given(sets=SETS)
def test_kube_inject_takes_any_set(closed: pathlib.Path, sets: list[str]) -> None:
    _meshctl(closed, "kube-inject", "-f", str(closed / "deployment.yaml"), *_set_args(sets), allowed={0, 3})


COMMANDS = st.sampled_from(["install-dry-run", "upgrade-dry-run", "uninstall", "kube-inject"])


def _subprocess_argv(command: str, sets: list[str], closed: pathlib.Path) -> tuple[list[str], set[int]]:
    if command == "uninstall":
        revision = sets[0].partition("=")[2]
        return ["uninstall", "--dry-run", "--set", f"revision={revision}"], {2, 3, 4}
    if command == "kube-inject":
        return ["kube-inject", "-f", str(closed / "deployment.yaml"), *_set_args(sets)], {0, 3}
    return [command.removesuffix("-dry-run"), "--dry-run", *_set_args(sets)], {3, 4}


def _run_process(argv: list[str], closed: pathlib.Path) -> tuple[int, str]:
    env = {**os.environ, "NO_COLOR": "1", "MESHCTL_CACHE_DIR": str(closed / "cache")}
    proc = subprocess.run(
        [sys.executable, "-c", SUBPROCESS_MAIN, *argv, "--kubeconfig", str(closed / "kubeconfig")],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )
    return proc.returncode, proc.stderr.decode("utf-8", "replace")


@_settings(SUBPROCESS_EXAMPLES)
@given(batch=st.lists(st.tuples(COMMANDS, SETS), min_size=SUBPROCESS_BATCH, max_size=SUBPROCESS_BATCH))
def test_the_console_script_takes_any_cluster_input(closed: pathlib.Path, batch: list[tuple[str, list[str]]]) -> None:
    """The same inputs through the real entry point in fresh processes (arguments as the OS passes them)."""
    # Arguments reach a process as bytes: text that is not valid UTF-8 (a lone surrogate) cannot be passed.
    runs = [
        _subprocess_argv(command, [s.encode("utf-8", "replace").decode("utf-8") for s in sets], closed)
        for command, sets in batch
    ]
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        outcomes = list(pool.map(lambda run: _run_process(run[0], closed), runs))
    for (argv, allowed), (code, stderr) in zip(runs, outcomes, strict=True):
        _check(argv, code, stderr, allowed)
