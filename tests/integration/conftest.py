"""Integration tests take their cluster through ONE fixture, `backend`.

It wraps the parametrised `cluster_backend` of tests/cluster/fixtures.py, registered in tests/conftest.py (the test
API server, and the real control plane where `go` can build it), so the same install tests run against both. Tests
that need what only the test API server has (controllers told to fail, CRD establishment delays, direct object
access) skip on the real one (`backend.require_apiserver()`) or take the `apiserver` fixture directly.

Every test gets its own discovery cache directory (MESHCTL_CACHE_DIR), so no test reads another's cache or the
developer's.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any

import pytest

from tests.apiserver.requestlog import RequestLog
from tests.apiserver.server import ApiServer
from tests.helpers import CliResult, run_cli


@dataclasses.dataclass
class Backend:
    name: str  # "apiserver" or "real"
    kubeconfig: pathlib.Path
    requests: RequestLog
    objects: Any  # get(resource, name, namespace="") / list(resource, namespace=None)
    api: ApiServer | None  # only on the test API server
    raw: Any

    def kubectl(self, *args: str, check: bool = True) -> Any:
        return self.raw.kubectl(*args, check=check)

    def meshctl(self, *args: str, expect: int | None = 0, **kwargs: Any) -> CliResult:
        return run_cli(*args, "--kubeconfig", str(self.kubeconfig), expect=expect, **kwargs)

    def require_apiserver(self) -> ApiServer:
        if self.api is None:
            pytest.skip("needs the test API server's controls")
        return self.api


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHCTL_CACHE_DIR", str(tmp_path / "meshctl-cache"))


@pytest.fixture
def backend(request: pytest.FixtureRequest, cluster_backend: Any) -> Backend:
    """The cluster of one integration test: the test API server, or the real control plane (`realcluster`)."""
    api = request.getfixturevalue("apiserver") if cluster_backend.name == "apiserver" else None
    return Backend(
        cluster_backend.name,
        pathlib.Path(cluster_backend.kubeconfig_path),
        cluster_backend.requests,
        cluster_backend.objects,
        api,
        cluster_backend,
    )
