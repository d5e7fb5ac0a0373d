"""A client on a fresh test API server, with its own discovery cache directory (see tests/unit/kube_fixtures.py)."""

from __future__ import annotations

from tests.unit.kube_fixtures import kube, own_cache

__all__ = ["kube", "own_cache"]
