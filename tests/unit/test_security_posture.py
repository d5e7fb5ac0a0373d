"""quality.md security checks: rendered workloads are locked down, except the documented exceptions.

Every container of every workload of every built-in profile runs non-root with ``allowPrivilegeEscalation: false``,
a read-only root file system and all capabilities dropped (none added) — except the containers listed in
``EXCEPTIONS``, which must each be named in ``docs/security.md``, and which may have exactly the privileges listed
there and no more (never ``privileged: true``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from meshctl.config import layering, profiles
from meshctl.render import pipeline

ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = ("Deployment", "DaemonSet", "StatefulSet")

#: (kind, workload, container) -> the capabilities it may add (docs/security.md lists why).
EXCEPTIONS: dict[tuple[str, str, str], set[str]] = {
    ("DaemonSet", "istio-cni-node", "install-cni"): {"NET_ADMIN", "NET_RAW", "SYS_PTRACE", "SYS_ADMIN", "DAC_OVERRIDE"},
    ("DaemonSet", "ztunnel", "istio-proxy"): {"NET_ADMIN", "SYS_ADMIN", "NET_RAW"},
}


def _containers(profile: str) -> list[tuple[tuple[str, str, str], dict[str, Any], dict[str, Any]]]:
    config = layering.build_effective_config(layering.ConfigInput(sets=(f"profile={profile}",)))
    found = []
    for obj in pipeline.render_manifests(config):
        if obj["kind"] not in WORKLOADS:
            continue
        pod = obj["spec"]["template"]["spec"]
        for container in [*pod.get("initContainers", []), *pod["containers"]]:
            key = (obj["kind"], obj["metadata"]["name"], container["name"])
            found.append((key, container.get("securityContext") or {}, pod.get("securityContext") or {}))
    return found


@pytest.mark.parametrize("profile", profiles.list_profiles())
def test_workloads_are_locked_down_except_the_documented_exceptions(profile: str) -> None:
    for key, context, pod_context in _containers(profile):
        capabilities = context.get("capabilities") or {}
        assert capabilities.get("drop") == ["ALL"], key
        assert context.get("privileged") is not True, key
        if key in EXCEPTIONS:
            assert set(capabilities.get("add") or []) <= EXCEPTIONS[key], key
            continue
        assert not capabilities.get("add"), key
        assert context.get("allowPrivilegeEscalation") is False, key
        assert context.get("readOnlyRootFilesystem") is True, key
        assert context.get("runAsNonRoot") is True or pod_context.get("runAsNonRoot") is True, key


def test_every_exception_is_documented_and_rendered_somewhere() -> None:
    security = (ROOT / "docs" / "security.md").read_text(encoding="utf-8")
    rendered = {key for profile in ("ambient", "openshift-ambient") for key, _, _ in _containers(profile)}
    for kind, workload, container in EXCEPTIONS:
        assert f"`{workload}`" in security, workload
        assert f"`{container}`" in security, container
        assert (kind, workload, container) in rendered, "an exception for something no profile renders"
