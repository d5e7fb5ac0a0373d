"""pytest fixtures: `apiserver` (a fresh server per test, short delays), `kubeconfig` (its kubeconfig path) and
`client` (a `testclient.Client` on it; mark a module `controllers_off("Deployment", ...)` to switch those off first)
and `kubectl` (the real kubectl, configured for it)."""

from __future__ import annotations

import pathlib
from collections.abc import Iterator

import pytest

from tests.apiserver.kubectl import Kubectl
from tests.apiserver.server import ApiServer
from tests.apiserver.testclient import Client


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "controllers_off(*kinds): the `client` fixture disables these controllers")


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


@pytest.fixture
def client(request: pytest.FixtureRequest, apiserver: ApiServer) -> Iterator[Client]:
    marker = request.node.get_closest_marker("controllers_off")
    for kind in marker.args if marker else ():
        apiserver.controllers.disable(kind)
    with Client(apiserver) as c:
        yield c


@pytest.fixture
def kubectl(apiserver: ApiServer, tmp_path: pathlib.Path) -> Kubectl:
    return Kubectl(apiserver, tmp_path)
