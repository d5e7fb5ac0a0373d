"""The check every fault scenario ends with (quality.md, "Fault suite"), on either backend:

- meshctl's exit code and message were right (and no traceback);
- the cluster holds exactly the rendered objects with the rendered content: the inventories list exactly the
  rendered set, every rendered field is live with its rendered value (read back with the real kubectl), and no
  other object of the rendered kinds carries meshctl's membership label (no duplicates, nothing left over);
- the inventory is consistent: every inventory `deployed`, and the installation lock released;
- no user object was touched (same resourceVersion as before).
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any

import yaml

from meshctl import objects
from meshctl.kube import client as kclient
from meshctl.kube import lock as klock
from tests.integration import install_helpers as h
from tests.integration import lifecycle_helpers as lh
from tests.integration.conftest import Backend

ISTIO = lh.ISTIO
Versions = dict[tuple[str, str, str], str]


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How a meshctl run ended: in-process (`Backend.meshctl`) or in a process of its own."""

    exit_code: int
    stderr: str

    @classmethod
    def of(cls, result: Any) -> Outcome:
        if hasattr(result, "communicate"):  # a subprocess.Popen started by lifecycle_helpers.spawn
            _, err = result.communicate(timeout=300)
            return cls(result.returncode, err)
        return cls(result.exit_code, result.stderr)


def user_objects(backend: Backend, tmp_path: pathlib.Path, *, with_virtual_service: bool = False) -> Versions:
    """What a user owns beside the mesh: a ConfigMap in the test's namespace and an unmanaged ConfigMap in
    istio-system (created with the namespace when it is not there yet) — and, once the Istio CRDs exist, a
    VirtualService. Created with the real kubectl; returns their resourceVersions."""
    docs: list[dict[str, Any]] = []
    if backend.objects.get("namespaces", ISTIO) is None:
        docs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ISTIO}})
    docs += [lh.config_map("users-own-settings"), lh.config_map("app-settings", backend.raw.namespace)]
    keys = [("configmaps", ISTIO, "users-own-settings"), ("configmaps", backend.raw.namespace, "app-settings")]
    if with_virtual_service:
        docs.append(lh.virtual_service(backend.raw.namespace))
        keys.append(("virtualservices", backend.raw.namespace, "reviews"))
    path = tmp_path / "user-objects.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    backend.kubectl("apply", "--server-side", "-f", str(path))
    return lh.live_versions(backend, keys)


def labelled(backend: Backend, docs: list[dict[str, Any]]) -> set[h.Identity]:
    """Every object of the rendered kinds, in any namespace, that carries meshctl's membership label."""
    client = kclient.connect(kubeconfig=str(backend.kubeconfig), discovery_cache=False)
    try:
        found: set[h.Identity] = set()
        for api_version, kind in sorted({(d["apiVersion"], d["kind"]) for d in docs}):
            res = client.resource_for(api_version, kind)
            if res is not None:
                listed = client.list(res, None, label_selector=objects.PART_OF_LABEL)
                found.update(h.identity(item) for item in listed.items)
        return found
    finally:
        client.close()


def check(
    backend: Backend,
    tmp_path: pathlib.Path,
    docs: list[dict[str, Any]],
    users: Versions,
    outcome: Outcome | None = None,
    *,
    code: int = 0,
    says: tuple[str, ...] = (),
) -> None:
    """The end-of-scenario check (module docstring). Faults are cleared first: the check reads the cluster."""
    backend.raw.faults.clear()
    if outcome is not None:
        assert outcome.exit_code == code, outcome.stderr
        for text in says:
            assert text in outcome.stderr, outcome.stderr
        assert "Traceback" not in outcome.stderr
        if code:
            assert any(line.startswith("error: ") for line in outcome.stderr.splitlines()), outcome.stderr
    lh.assert_holds_exactly(backend, docs, tmp_path)
    assert labelled(backend, docs) == {h.identity(d) for d in docs}
    assert backend.objects.get("leases", klock.LOCK_NAME, ISTIO) is None
    lh.assert_untouched(backend, users)
