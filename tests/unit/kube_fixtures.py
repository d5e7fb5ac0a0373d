"""A client on a fresh test API server, with its own discovery cache directory: the fixtures of tests/unit/kube and
tests/unit/ops, whose conftest modules import them (not tests/unit/conftest.py: the autouse fixture would then reach
the hypothesis tests of the other unit suites, which refuse function-scoped fixtures)."""

from __future__ import annotations

import pathlib

import pytest

from meshctl.kube import client as kclient
from tests.apiserver.server import ApiServer


@pytest.fixture(autouse=True)
def own_cache(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHCTL_CACHE_DIR", str(tmp_path / "meshctl-cache"))


@pytest.fixture
def kube(apiserver: ApiServer) -> kclient.RestClient:
    return kclient.connect(kubeconfig=str(apiserver.kubeconfig_path))
