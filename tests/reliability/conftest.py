"""The fault suite runs every scenario on both backends through the integration suite's `backend` fixture (the test
API server, and the real control plane behind its fault proxy), plus `controls`: the two faults a server gives
differently — going down for a while, and restarting with its state."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from tests.apiserver import server as apiserver_module
from tests.cluster import faultproxy
from tests.integration import conftest as integration

# The integration suite's fixtures, shared: `backend` (both backends) and `_own_cache` (a discovery cache per test).
backend = integration.backend
_own_cache = integration._own_cache


@dataclasses.dataclass(frozen=True)
class Controls:
    down: Callable[[float], None]  # refuse connections (and drop open ones) for that many seconds
    restart: Callable[[], None]  # stop and start the API server, state kept
    admin_user: str  # the user meshctl runs as (for forbid rules)


@pytest.fixture
def controls(backend: Any, request: pytest.FixtureRequest) -> Controls:
    if backend.api is not None:
        api = backend.api
        return Controls(api.down, lambda: api.restart(keep_state=True), apiserver_module.ADMIN_USER)
    real = request.getfixturevalue("realcluster")
    # The proxy goes down (kube-apiserver stays up behind it); a restart is kube-apiserver's own, etcd keeps state.
    return Controls(real.proxy.down, real.cluster.restart_apiserver, faultproxy.ADMIN_USER)
