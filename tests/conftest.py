"""Shared fixtures. Plugins of sub-suites are registered here (pytest allows pytest_plugins only at the root)."""

from __future__ import annotations

import os

# Tests compare plain text: no colour, fixed width, whatever the developer's terminal says.
os.environ.setdefault("NO_COLOR", "1")
os.environ["COLUMNS"] = "100"

pytest_plugins: list[str] = ["tests.apiserver.fixtures", "tests.cluster.fixtures"]
