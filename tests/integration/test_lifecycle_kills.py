"""Upgrade and uninstall killed (SIGKILL) at seeded random points, then rerun (quality.md scenario 6 for the
lifecycle commands; issue 9): the rerun completes, the cluster holds exactly what the rerun's input renders (or,
after an uninstall, none of the installation's members), and no user object was touched.

The points are request counts: meshctl runs in its own process and is killed once the cluster has seen that many of
its requests (the request log), so the kills land in every phase (plan, applies, prunes, deletions, inventory
writes) without timing guesses. The lock's lease is shortened so that the rerun takes it over within a second.
"""

from __future__ import annotations

import pathlib
import random

import pytest

from meshctl.kube import lock as klock
from tests.integration import install_helpers as h
from tests.integration import lifecycle_helpers as lh
from tests.integration.conftest import Backend

SEED = 20261206
UPGRADE = ("upgrade", "-y", "--no-wait", "--set", "profile=minimal", "--set", "components.pilot.k8s.replicaCount=2")
CANARY = ("install", "-y", "--no-wait", "--set", "profile=minimal", "--revision", "canary")
# A default install followed by that upgrade takes ~60 requests; a purge of default and canary ~140.
UPGRADE_POINTS = sorted(random.Random(SEED).sample(range(2, 62), 6))
PURGE_POINTS = sorted(random.Random(SEED + 1).sample(range(2, 140), 6))


@pytest.fixture(autouse=True)
def _short_lock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(klock.DURATION_ENV, "1")


def _slow_down(backend: Backend) -> None:
    """Spread the run out (on both backends: the fault proxy has the same latency control), so that a kill lands
    inside it rather than after the few requests the test sees late."""
    backend.raw.faults.set_latency(0.01)


def test_upgrade_killed_anywhere_then_rerun_completes(backend: Backend, tmp_path: pathlib.Path) -> None:
    expected = h.generate("--set", "profile=minimal", "--set", "components.pilot.k8s.replicaCount=2")
    default = h.generate()
    backend.meshctl("install", "-y", "--no-wait")
    users = lh.user_objects(backend, tmp_path)
    points = UPGRADE_POINTS
    finished = 0
    states = set()
    for point in points:
        backend.meshctl("install", "-y", "--no-wait", "-q")  # back to default before each kill
        _slow_down(backend)
        if lh.kill_at(backend, UPGRADE, point) is not None:
            finished += 1
        states.add(h.inventories(backend)["meshctl-default"].state)
        backend.raw.faults.set_latency(0.0)
        rerun = backend.meshctl(*UPGRADE)
        assert "✔ Upgrade complete" in rerun.stderr, (point, rerun.stderr)
        lh.assert_holds_exactly(backend, expected, tmp_path)
        assert lh.present(backend, default) - {h.identity(d) for d in expected} == set(), point
        lh.assert_untouched(backend, users)
        assert backend.objects.get("leases", klock.LOCK_NAME, lh.ISTIO) is None
    assert finished < len(points)  # the kills landed inside runs ...
    assert "pending" in states  # ... some of them between the first write and the last


def test_uninstall_killed_anywhere_then_rerun_completes(backend: Backend, tmp_path: pathlib.Path) -> None:
    rendered = h.generate() + h.generate(*CANARY[3:])
    points = PURGE_POINTS
    users: dict[tuple[str, str, str], str] = {}
    finished = 0
    partial = 0
    for point in points:
        backend.meshctl("install", "-y", "--no-wait", "-q")
        backend.meshctl(*CANARY, "-q")
        if not users:
            users = lh.user_objects(backend, tmp_path)
        _slow_down(backend)
        if lh.kill_at(backend, ("uninstall", "--purge", "-y"), point) is not None:
            finished += 1
        if h.inventories(backend) and lh.present(backend, rendered) < {h.identity(d) for d in rendered}:
            partial += 1  # killed with some members deleted and the inventories still there
        backend.raw.faults.set_latency(0.0)
        rerun = backend.meshctl("uninstall", "--purge", "-y")
        assert "✔ Uninstall complete" in rerun.stderr, (point, rerun.stderr)
        assert lh.present(backend, rendered) == {("apiextensions.k8s.io", "CustomResourceDefinition", "", lh.VS_CRD)}
        assert h.inventories(backend) == {}
        assert backend.objects.get("leases", klock.LOCK_NAME, lh.ISTIO) is None
        lh.assert_untouched(backend, users)
    assert finished < len(points)
    assert partial > 0
