"""Verify an installation: every object it should have exists and, for workloads and CRDs, is ready.

``cluster.md`` §6. Which objects: without ``-f``/``--set``, the members of the installation's inventory (the
revision's, plus the shared ``meshctl-base`` when it exists); with no inventory, the objects the configuration's
rendering would create (and the result says so); with ``-f``/``--set``, what that configuration renders.

Per object: it exists; a Deployment, DaemonSet, StatefulSet or Job is ready and a CRD ``Established``, judged by
the same per-kind checks install waits with (:mod:`meshctl.kube.readiness`). A workload that is not ready is
explained by its pods (``ImagePullBackOff: …``) when they show a reason.

Reads: one LIST per kind and namespace (cluster-scoped kinds are listed by the membership label, and a rendered
object the label does not find is read by name), one LIST of the inventories, and one LIST of pods per namespace
that has an unready workload.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from meshctl import objects
from meshctl.config import layering
from meshctl.kube import apply as kapply
from meshctl.kube import client as kclient
from meshctl.kube import inventory, readiness
from meshctl.ops import generate

#: Where the checked objects came from.
SOURCE_INVENTORY = "inventory"
SOURCE_CONFIGURATION = "configuration"
SOURCE_FALLBACK = "rendering"  # no inventory: the objects the configuration would create

CRD_KIND = "CustomResourceDefinition"
_OK_MESSAGES = {CRD_KIND: "established", **{kind: "ready" for kind in readiness.WAITED_KINDS}}


@dataclasses.dataclass(frozen=True)
class Check:
    """The verdict on one object: ``ok``, and a message (what was found, or what is wrong)."""

    ref: objects.ObjectRef
    ok: bool
    message: str
    missing: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.ref.kind,
            "namespace": self.ref.namespace,
            "name": self.ref.name,
            "ok": self.ok,
            "message": self.message,
        }


@dataclasses.dataclass(frozen=True)
class VerifyResult:
    """Every check, where the objects came from, and which inventories were read."""

    checks: tuple[Check, ...]
    source: str
    installations: tuple[str, ...] = ()
    namespace: str = "istio-system"
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def count(self, kind: str) -> int:
        return sum(1 for c in self.checks if c.ref.kind == kind)

    def summary(self) -> dict[str, Any]:
        missing = sum(1 for c in self.checks if c.missing)
        return {
            "source": self.source,
            "installations": list(self.installations),
            "checked": len(self.checks),
            "ok": len(self.checks) - len(self.failed),
            "missing": missing,
            "notReady": len(self.failed) - missing,
            "customResourceDefinitions": self.count(CRD_KIND),
            "deployments": self.count("Deployment"),
        }

    def as_json(self) -> dict[str, Any]:
        """``{objects: [{kind, namespace, name, ok, message}], summary: {...}, ok}`` (``cluster.md`` §6)."""
        return {"objects": [c.as_json() for c in self.checks], "summary": self.summary(), "ok": self.ok}


def verify(
    config: layering.EffectiveConfig,
    client: kclient.KubeClient,
    *,
    use_inventory: bool = True,
    note: Callable[[str], None] = lambda text: None,
) -> VerifyResult:
    """Check what the installation of ``config``'s revision holds (``use_inventory``) or what ``config`` renders.

    ``note`` receives what the user should know about the choice of objects (no inventory found, an inventory
    recorded as failed). The result is data: the caller decides how a failed check ends the command.
    """
    namespace = config.istio_namespace
    parent = objects.installation_name(config.revision)
    refs: list[objects.ObjectRef] = []
    installations: tuple[str, ...] = ()
    source = SOURCE_CONFIGURATION
    notes: list[str] = []
    if use_inventory:
        found = inventory.read_all(client, namespace)
        if parent in found:
            chosen = [found[name] for name in (objects.BASE_INSTALLATION, parent) if name in found]
            installations = tuple(inv.name for inv in chosen)
            refs = sorted({ref for inv in chosen for ref in inv.members})
            source = SOURCE_INVENTORY
            for inv in chosen:
                if inv.state != inventory.DEPLOYED:
                    why = f": {inv.error}" if inv.error else ""
                    notes.append(f"the installation {inv.name} is recorded as {inv.state}{why}")
        else:
            source = SOURCE_FALLBACK
            notes.append(
                f'no meshctl installation {parent} in namespace "{namespace}": checking the objects '
                "that installing this configuration would create"
            )
    if source != SOURCE_INVENTORY:
        refs = sorted({objects.ObjectRef.from_object(obj) for obj in generate.render(config).objects})
    for text in notes:
        note(text)
    selector = _membership_selector(namespace, config.revision)
    checks = _check_all(client, refs, selector)
    return VerifyResult(
        checks=tuple(checks),
        source=source,
        installations=installations,
        namespace=namespace,
        notes=tuple(notes),
    )


def _membership_selector(namespace: str, revision: str) -> str:
    ids = sorted(
        objects.applyset_id(name, namespace)
        for name in (objects.BASE_INSTALLATION, objects.installation_name(revision))
    )
    return f"{objects.PART_OF_LABEL} in ({','.join(ids)})"


def _order(ref: objects.ObjectRef, live: Mapping[str, Any] | None) -> tuple[int, int, str, str, str]:
    """The one output order of ``manifest generate`` (kind, component, namespace, name), from the live object's
    component label; a missing object sorts last among its kind."""
    labels = ((live or {}).get("metadata") or {}).get("labels") or {}
    stub = {"kind": ref.kind, "metadata": {"name": ref.name, "namespace": ref.namespace, "labels": labels}}
    return objects.sort_key(stub)


Slot = tuple[str, str, str]  # api version, kind, namespace


def _check_all(client: kclient.KubeClient, refs: Sequence[objects.ObjectRef], selector: str) -> list[Check]:
    by_slot: dict[Slot, list[objects.ObjectRef]] = {}
    for ref in refs:
        by_slot.setdefault((ref.api_version, ref.kind, ref.namespace), []).append(ref)
    checks: list[Check] = []
    readable: list[tuple[Slot, kclient.Resource]] = []
    for slot, members in by_slot.items():
        res = client.resource_for(slot[0], slot[1])
        if res is None:
            checks.extend(
                Check(ref, False, f"not found: the cluster does not serve {slot[0]} {slot[1]}", missing=True)
                for ref in members
            )
        else:
            readable.append((slot, res))

    def read(entry: tuple[Slot, kclient.Resource]) -> dict[str, dict[str, Any]]:
        slot, res = entry
        return _read_slot(client, res, by_slot[slot], selector)

    live: dict[objects.ObjectRef, dict[str, Any]] = {}
    for outcome in kapply.run_parallel(read, readable, client.concurrency):
        if outcome.error is not None:
            raise outcome.error
        assert outcome.value is not None
        for ref in by_slot[outcome.item[0]]:
            if ref.name in outcome.value:
                live[ref] = outcome.value[ref.name]
    pods: dict[str, list[dict[str, Any]]] = {}
    for slot, _res in readable:
        for ref in by_slot[slot]:
            checks.append(_judge(client, ref, live.get(ref), pods))
    return sorted(checks, key=lambda c: _order(c.ref, live.get(c.ref)))


def _read_slot(
    client: kclient.KubeClient, res: kclient.Resource, members: Sequence[objects.ObjectRef], selector: str
) -> dict[str, dict[str, Any]]:
    """The live objects of one kind and namespace, by name."""
    if res.namespaced:
        items = client.list(res, members[0].namespace).items
    else:
        # Cluster-scoped kinds can be many (every CRD of the cluster, with its schema): list the members only,
        # then read by name what the label did not find (an object installed by other means).
        items = client.list(res, label_selector=selector).items
    found = {str((item.get("metadata") or {}).get("name") or ""): item for item in items}
    for ref in members:
        if ref.name not in found and not res.namespaced:
            obj = client.get(res, ref.name)
            if obj is not None:
                found[ref.name] = obj
    return found


def _judge(
    client: kclient.KubeClient,
    ref: objects.ObjectRef,
    obj: Mapping[str, Any] | None,
    pods: dict[str, list[dict[str, Any]]],
) -> Check:
    if obj is None:
        return Check(ref, False, "not found", missing=True)
    state = readiness.check(obj)
    if state.ready:
        return Check(ref, True, _OK_MESSAGES.get(ref.kind, "exists"))
    if ref.kind in readiness.WAITED_KINDS:
        why = readiness.explain(state, obj, _pods(client, ref.namespace, pods))
    else:
        why = state.message or state.reason
    return Check(ref, False, f"not ready: {why}")


def _pods(client: kclient.KubeClient, namespace: str, cache: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """The pods of a namespace, listed once per run and only when a workload there needs explaining."""
    if namespace not in cache:
        res = client.resource_for("v1", "Pod")
        cache[namespace] = client.list(res, namespace).items if res is not None else []
    return cache[namespace]
