"""Every bad-input test gets its own discovery cache directory, so none reads another's (or the developer's)."""

from __future__ import annotations

import pathlib

import pytest


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MESHCTL_CACHE_DIR", str(tmp_path / "meshctl-cache"))


@pytest.fixture(autouse=True)
def _no_retry_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """One attempt per request: an unreachable cluster fails at once instead of retrying for 30 s.

    The retry loop itself is tested in tests/reliability and tests/unit/kube; here only the message matters.
    """
    import functools

    from meshctl.kube import client

    monkeypatch.setattr(client, "RetryPolicy", functools.partial(client.RetryPolicy, budget=0.0))
