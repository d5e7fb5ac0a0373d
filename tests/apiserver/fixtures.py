"""pytest fixtures: `apiserver` (a fresh server per test, short delays) and `kubeconfig` (its kubeconfig path)."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from tests.apiserver.server import ApiServer


@pytest.fixture
def apiserver(tmp_path: pathlib.Path) -> Iterator[ApiServer]:
    """A running test API server over HTTPS with every lifecycle delay at zero; stopped (threads joined) after."""
    with ApiServer(kubeconfig_path=tmp_path / "kubeconfig", bookmark_interval=0.2, progress_deadline_delay=0.2) as api:
        yield api
        # A lifecycle or controller task that raised is a server bug: fail the test that triggered it.
        assert not api.cluster.scheduler.errors, f"scheduler tasks failed: {api.cluster.scheduler.errors!r}"


@pytest.fixture
def kubeconfig(apiserver: ApiServer) -> pathlib.Path:
    return apiserver.kubeconfig_path
