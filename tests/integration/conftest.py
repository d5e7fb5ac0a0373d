"""Integration tests take their cluster through ONE fixture, `backend`.

It wraps the parametrised `cluster_backend` of tests/cluster/fixtures.py (the test API server, and the real control
plane where `go` can build it), so the same install tests run against both. Tests that need what only the test API
server has (controllers told to fail, CRD establishment delays, direct object access) skip on the real one
(`backend.require_apiserver()`) or take the `apiserver` fixture directly.

Every test gets its own discovery cache directory (MESHCTL_CACHE_DIR), so no test reads another's cache or the
developer's.
"""

from __future__ import annotations

import dataclasses
import pathlib
import warnings
from typing import Any

import pytest

from tests.apiserver.requestlog import RequestLog
from tests.apiserver.server import ApiServer
from tests.helpers import CliResult, run_cli

try:  # importing the fixtures registers them for this directory
    with warnings.catch_warnings():
        # Its `realcluster` marker is registered by pytest_configure below when tests/cluster is not a plugin.
        warnings.simplefilter("ignore", pytest.PytestUnknownMarkWarning)
        from tests.cluster import fixtures as _cluster_fixtures

    # Every fixture of that module (cluster_backend and what it needs), as if it were a plugin of this directory.
    for _name, _value in vars(_cluster_fixtures).items():
        if type(_value).__name__ == "FixtureFunctionDefinition" or hasattr(_value, "_pytestfixturefunction"):
            globals()[_name] = _value
    HAVE_CLUSTER_BACKEND = "cluster_backend" in globals()
except ImportError:  # pragma: no cover - before tests/cluster existed
    HAVE_CLUSTER_BACKEND = False


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "realcluster: runs against the real control plane (tests/cluster); needs `go` to build it"
    )


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


if HAVE_CLUSTER_BACKEND:

    @pytest.fixture
    def backend(request: pytest.FixtureRequest, cluster_backend: Any) -> Backend:
        api = request.getfixturevalue("apiserver") if cluster_backend.name == "apiserver" else None
        return Backend(
            cluster_backend.name,
            pathlib.Path(cluster_backend.kubeconfig_path),
            cluster_backend.requests,
            cluster_backend.objects,
            api,
            cluster_backend,
        )

else:  # pragma: no cover

    @pytest.fixture
    def backend(apiserver: ApiServer, tmp_path: pathlib.Path) -> Backend:
        from tests.apiserver.kubectl import Kubectl

        class _Raw:
            def kubectl(self, *args: str, check: bool = True) -> Any:
                return Kubectl(apiserver, tmp_path)(*args, check=check)

        return Backend("apiserver", apiserver.kubeconfig_path, apiserver.requests, apiserver.objects, apiserver, _Raw())
