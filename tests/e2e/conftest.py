"""End-to-end tests against a real kind cluster (pytest-kind), skipped where no Docker engine or kind exists.

They never download anything: pytest-kind's own fixture fetches kind and kubectl when missing, so these tests use
``KindCluster`` directly with the binaries found on PATH, and skip with the reason when one is missing.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


def _unavailable_reason() -> str | None:
    docker = shutil.which("docker")
    if docker is None:
        return "no docker client on PATH"
    try:
        probe = subprocess.run([docker, "info"], capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"`docker info` failed: {exc}"
    if probe.returncode != 0:
        return "`docker info` failed: no Docker engine is running"
    if shutil.which("kind") is None:
        return "`kind` is not on PATH (e2e tests never download it)"
    if shutil.which("kubectl") is None:
        return "`kubectl` is not on PATH"
    return None


@pytest.fixture(scope="session")
def kind_cluster_e2e(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    reason = _unavailable_reason()
    if reason is not None:
        pytest.skip(f"e2e needs Docker and kind: {reason}")
    from pytest_kind import KindCluster

    cluster = KindCluster(
        "meshctl-e2e",
        kubeconfig=tmp_path_factory.mktemp("kind") / "kubeconfig",
        kind_path=Path(str(shutil.which("kind"))),
        kubectl_path=Path(str(shutil.which("kubectl"))),
    )
    cluster.create()
    try:
        yield cluster
    finally:
        cluster.delete()
