"""Inventories: the record of each installation in the cluster, following the ApplySet convention (KEP-3659).

One parent Secret per installation in the Istio namespace — ``meshctl-<revision>`` (``meshctl-default`` without a
revision) and the shared ``meshctl-base`` — of type ``meshctl.io/installation``, labelled with its ApplySet ID and
annotated with the tooling, the member group-kinds and the members' other namespaces. Its data (gzip-compressed
JSON under the key ``inventory``) holds the effective configuration, the meshctl and Istio versions, the members,
a digest of the rendered output, the state (``pending`` → ``deployed``/``failed``), the revisions that use ``base``,
the namespaces meshctl created, and the last 10 runs — all kept under 512 KiB.

Writes are read-modify-write with the Secret's resourceVersion: a 409 is retried after a fresh read (:func:`update`).
"""

from __future__ import annotations

import base64
import dataclasses
import datetime
import gzip
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from meshctl import __version__, errors, objects
from meshctl.kube import client as kclient
from meshctl.kube import errors as kerrors

SECRET_TYPE = "meshctl.io/installation"
DATA_KEY = "inventory"
HISTORY_LIMIT = 10
SIZE_LIMIT = 512 * 1024
TOOLING_ANNOTATION = "applyset.kubernetes.io/tooling"
GROUP_KINDS_ANNOTATION = "applyset.kubernetes.io/contains-group-kinds"
NAMESPACES_ANNOTATION = "applyset.kubernetes.io/additional-namespaces"

PENDING, DEPLOYED, FAILED = "pending", "deployed", "failed"


@dataclasses.dataclass
class Inventory:
    """One installation's record (the decoded parent Secret)."""

    name: str
    namespace: str
    state: str = PENDING
    members: list[objects.ObjectRef] = dataclasses.field(default_factory=list)
    config: dict[str, Any] = dataclasses.field(default_factory=dict)
    meshctl_version: str = __version__
    istio_version: str = ""
    digest: str = ""
    revisions: list[str] = dataclasses.field(default_factory=list)  # for meshctl-base: the revisions using it
    created_namespaces: list[str] = dataclasses.field(default_factory=list)
    history: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    error: str = ""
    updated: str = ""
    resource_version: str = ""  # of the live Secret ("" when not stored yet)

    @property
    def applyset_id(self) -> str:
        return objects.applyset_id(self.name, self.namespace)

    def record_run(self, *, result: str, config_digest: str, when: str | None = None) -> None:
        """Append a run to the history, keeping the last :data:`HISTORY_LIMIT`."""
        self.history.append(
            {
                "time": when or now(),
                "result": result,
                "configDigest": config_digest,
                "meshctlVersion": self.meshctl_version,
                "istioVersion": self.istio_version,
            }
        )
        del self.history[:-HISTORY_LIMIT]


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _ref_dict(ref: objects.ObjectRef) -> dict[str, str]:
    return dataclasses.asdict(ref)


def encode(inv: Inventory) -> dict[str, Any]:
    """The parent Secret of an inventory (without a resourceVersion unless it has one)."""
    body: dict[str, Any] = {
        "state": inv.state,
        "members": [_ref_dict(m) for m in sorted(inv.members)],
        "config": inv.config,
        "meshctlVersion": inv.meshctl_version,
        "istioVersion": inv.istio_version,
        "digest": inv.digest,
        "revisions": sorted(set(inv.revisions)),
        "createdNamespaces": sorted(set(inv.created_namespaces)),
        "history": inv.history,
        "error": inv.error,
        "updated": inv.updated or now(),
    }
    data = _compress(body)
    while len(data) > SIZE_LIMIT and body["history"]:
        body["history"] = body["history"][1:]  # oldest runs go first
        data = _compress(body)
    if len(data) > SIZE_LIMIT:
        raise errors.InputError(
            f"the inventory of {inv.name} would take {len(data)} bytes, more than the {SIZE_LIMIT} allowed",
            hint="the configuration or the number of objects is too large for one installation; split it by revision",
        )
    group_kinds = sorted({f"{m.kind}.{m.group}" if m.group else m.kind for m in inv.members})
    other_namespaces = sorted({m.namespace for m in inv.members if m.namespace and m.namespace != inv.namespace})
    annotations = {TOOLING_ANNOTATION: f"meshctl/{__version__}", GROUP_KINDS_ANNOTATION: ",".join(group_kinds)}
    if other_namespaces:
        annotations[NAMESPACES_ANNOTATION] = ",".join(other_namespaces)
    meta: dict[str, Any] = {
        "name": inv.name,
        "namespace": inv.namespace,
        "labels": {objects.APPLYSET_ID_LABEL: inv.applyset_id, objects.MANAGED_BY_LABEL: objects.MANAGED_BY},
        "annotations": annotations,
    }
    if inv.resource_version:
        meta["resourceVersion"] = inv.resource_version
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": SECRET_TYPE,
        "metadata": meta,
        "data": {DATA_KEY: base64.b64encode(data).decode("ascii")},
    }


def _compress(body: Mapping[str, Any]) -> bytes:
    return gzip.compress(json.dumps(body, sort_keys=True, separators=(",", ":")).encode(), mtime=0)


def decode(secret: Mapping[str, Any]) -> Inventory:
    """The inventory a parent Secret holds; :class:`errors.ClusterError` when it is damaged."""
    meta = secret.get("metadata") or {}
    name = str(meta.get("name") or "")
    try:
        raw = base64.b64decode(str((secret.get("data") or {}).get(DATA_KEY) or ""))
        body = json.loads(gzip.decompress(raw)) if raw else {}
        members = [objects.ObjectRef(**{k: str(m.get(k, "")) for k in _REF_FIELDS}) for m in body.get("members", [])]
    except (ValueError, OSError, TypeError, AttributeError, EOFError) as exc:
        raise kerrors.KubeError(
            f"the inventory Secret {meta.get('namespace')}/{name} is damaged: {exc}",
            hint="it was changed by something other than meshctl; delete it and rerun install to record it again",
        ) from exc
    return Inventory(
        name=name,
        namespace=str(meta.get("namespace") or ""),
        state=str(body.get("state") or PENDING),
        members=members,
        config=dict(body.get("config") or {}),
        meshctl_version=str(body.get("meshctlVersion") or ""),
        istio_version=str(body.get("istioVersion") or ""),
        digest=str(body.get("digest") or ""),
        revisions=[str(r) for r in body.get("revisions") or []],
        created_namespaces=[str(n) for n in body.get("createdNamespaces") or []],
        history=[h for h in body.get("history") or [] if isinstance(h, dict)],
        error=str(body.get("error") or ""),
        updated=str(body.get("updated") or ""),
        resource_version=str(meta.get("resourceVersion") or ""),
    )


_REF_FIELDS = ("group", "version", "kind", "namespace", "name")


def _secrets(client: kclient.KubeClient) -> kclient.Resource:
    res = client.resource_for("v1", "Secret")
    if res is None:  # pragma: no cover - every cluster serves Secrets
        raise kerrors.KubeError("the cluster does not serve v1 Secrets")
    return res


def read_all(client: kclient.KubeClient, namespace: str) -> dict[str, Inventory]:
    """Every meshctl inventory in ``namespace`` by name, with one LIST."""
    listed = client.list(_secrets(client), namespace, label_selector=objects.APPLYSET_ID_LABEL)
    found: dict[str, Inventory] = {}
    for secret in listed.items:
        if secret.get("type") == SECRET_TYPE:
            inv = decode(secret)
            found[inv.name] = inv
    return found


def read(client: kclient.KubeClient, namespace: str, name: str) -> Inventory | None:
    secret = client.get(_secrets(client), name, namespace)
    return decode(secret) if secret is not None and secret.get("type") == SECRET_TYPE else None


def write(client: kclient.KubeClient, inv: Inventory) -> Inventory:
    """Store ``inv`` (create, or replace at its resourceVersion); returns it with the new resourceVersion."""
    res = _secrets(client)
    secret = encode(inv)
    stored = client.replace(res, secret) if inv.resource_version else client.create(res, secret)
    inv.resource_version = str((stored.get("metadata") or {}).get("resourceVersion") or "")
    return inv


def update(
    client: kclient.KubeClient,
    namespace: str,
    name: str,
    change: Callable[[Inventory], None],
    *,
    current: Inventory | None = None,
    known: bool = False,
    attempts: int = 5,
) -> Inventory:
    """Read-modify-write: apply ``change`` to the inventory (a new one when there is none) and store it.

    ``known=True`` says that ``current`` is the state just read (None: there is none), which saves the first read.
    A 409 (someone wrote in between) is retried after a fresh read.
    """
    for attempt in range(attempts):
        inv = current if known and attempt == 0 else read(client, namespace, name)
        if inv is None:
            inv = Inventory(name=name, namespace=namespace)
        else:
            inv = dataclasses.replace(
                inv,
                members=list(inv.members),
                history=list(inv.history),
                revisions=list(inv.revisions),
                created_namespaces=list(inv.created_namespaces),
            )
        change(inv)
        inv.updated = now()
        try:
            return write(client, inv)
        except (kerrors.Conflict, kerrors.AlreadyExists):
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def refs_of(manifests: Iterable[Mapping[str, Any]]) -> list[objects.ObjectRef]:
    return [objects.ObjectRef.from_object(m) for m in manifests]
