"""The project's Kubernetes API server for tests (see README.md in this directory)."""

from __future__ import annotations

from tests.apiserver.server import ADMIN_USER, ApiServer

__all__ = ["ADMIN_USER", "ApiServer"]
