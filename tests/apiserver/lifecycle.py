"""Lifecycles kube-apiserver and kube-controller-manager run: CRD establishment and cleanup, namespace termination
and ownerReference garbage collection (background and foreground).

Everything reacts to store events and runs later on the cluster's scheduler thread, like the real controllers run
asynchronously: a client sees a CRD `Established` or a namespace gone only after a short while.
"""

from __future__ import annotations

import contextlib
import copy
from typing import TYPE_CHECKING, Any

from tests.apiserver import cluster as cluster_mod
from tests.apiserver import errors, resources, store

if TYPE_CHECKING:
    from tests.apiserver.cluster import Cluster
    from tests.apiserver.controllers import Controllers

_CRD = resources.CRD.group_resource
_NS = resources.NAMESPACE.group_resource


class Lifecycles:
    def __init__(self, cluster: Cluster, controllers: Controllers) -> None:
        self.cluster = cluster
        self.controllers = controllers
        cluster.store.listeners.append(self._on_event)

    def _on_event(self, event: store.Event) -> None:
        meta = event.obj["metadata"]
        schedule = self.cluster.scheduler.call_later
        if event.gr == _CRD:
            schedule(0, self.cluster.refresh_custom_types)
            if event.type == store.DELETED:
                pass
            elif meta.get("deletionTimestamp"):
                schedule(0, lambda: self._clean_up_crd(meta["name"]))
            elif not cluster_mod.condition_true(event.obj, "Established") or _names_changed(event.obj):
                name = meta["name"]
                if self.controllers.enabled("CustomResourceDefinition", name):
                    delay = self.controllers.delay(
                        "CustomResourceDefinition", name, self.cluster.options.crd_establish_delay
                    )
                    schedule(delay, lambda: self._establish(name))
        elif event.gr == _NS and meta.get("deletionTimestamp") and event.type != store.DELETED:
            name = meta["name"]
            if self.controllers.enabled("Namespace", name):
                schedule(0, lambda: self._terminate_namespace(name))
        if event.type == store.DELETED and meta.get("uid"):
            uid = meta["uid"]
            if self.controllers.enabled("GarbageCollector", ""):
                schedule(0, lambda: self._collect_dependents(uid))
            namespace = meta.get("namespace")
            if namespace and self._terminating_namespace(namespace) is not None:
                schedule(0, lambda: self._terminate_namespace(namespace))
            for owner in meta.get("ownerReferences") or ():
                owner_uid = owner.get("uid")
                schedule(0, lambda owner_uid=owner_uid: self._finish_foreground(owner_uid))
        elif meta.get("deletionTimestamp") and cluster_mod.FOREGROUND_FINALIZER in (meta.get("finalizers") or ()):
            uid = meta["uid"]
            if self.controllers.enabled("GarbageCollector", ""):
                schedule(0, lambda: self._delete_dependents_foreground(uid))

    # --- CRDs ----------------------------------------------------------------------------------------------------

    def _establish(self, name: str) -> None:
        c = self.cluster
        with c.store.lock:
            crd = c.store.get(_CRD, "", name)
            if crd is None or crd["metadata"].get("deletionTimestamp"):
                return
            status = copy.deepcopy(crd.get("status") or {})
            holder = {"status": status}
            names = crd["spec"].get("names", {})
            cluster_mod.set_condition(holder, "NamesAccepted", "True", "NoConflicts", "no conflicts found")
            cluster_mod.set_condition(
                holder, "Established", "True", "InitialNamesAccepted", "the initial names have been accepted"
            )
            status["acceptedNames"] = copy.deepcopy(names)
            stored = set(status.get("storedVersions") or ())
            stored |= {v["name"] for v in crd["spec"].get("versions", ()) if v.get("storage")}
            status["storedVersions"] = sorted(stored)
            c.write_status(resources.CRD, crd, status, "kube-apiserver")
            c.refresh_custom_types()

    def _clean_up_crd(self, name: str) -> None:
        c = self.cluster
        with c.store.lock:
            crd = c.store.get(_CRD, "", name)
            if crd is None:
                return
            spec = crd["spec"]
            gr = (spec.get("group", ""), spec.get("names", {}).get("plural", ""))
            remaining = c.store.list(gr)
            types = resources.from_crd(crd)
            if not types:
                return
            rt = types[0]
            for obj in remaining:
                if not obj["metadata"].get("deletionTimestamp"):
                    _delete_quietly(c, rt, obj)
            if not c.store.list(gr):
                c.remove_finalizer(resources.CRD, crd, cluster_mod.CRD_CLEANUP_FINALIZER)
                c.refresh_custom_types()
            else:
                c.scheduler.call_later(0.05, lambda: self._clean_up_crd(name))

    # --- namespaces ----------------------------------------------------------------------------------------------

    def _terminating_namespace(self, name: str) -> dict[str, Any] | None:
        """The namespace if it is being deleted, else None."""
        ns = self.cluster.store.get(_NS, "", name)
        return ns if ns is not None and ns["metadata"].get("deletionTimestamp") else None

    def _terminate_namespace(self, name: str) -> None:
        c = self.cluster
        with c.store.lock:
            if self._terminating_namespace(name) is None:
                return
            left = False
            for rt in c.served_types():
                if not rt.namespaced:
                    continue
                for obj in c.store.list(rt.group_resource, name):
                    left = True
                    if not obj["metadata"].get("deletionTimestamp"):
                        _delete_quietly(c, c.type_of(rt.group_resource) or rt, obj)
            if left:
                return  # the DELETED events of the contents bring us back here
            delay = self.controllers.delay("Namespace", name, c.options.namespace_delete_delay)
        c.scheduler.call_later(delay, lambda: self._remove_namespace(name))

    def _remove_namespace(self, name: str) -> None:
        c = self.cluster
        with c.store.lock:
            ns = self._terminating_namespace(name)
            if ns is None:
                return
            if any(c.store.list(rt.group_resource, name) for rt in c.served_types() if rt.namespaced):
                return
            if ns["metadata"].get("finalizers"):
                return  # someone else's finalizer still holds it (as in Kubernetes)
            c.store.remove(_NS, "", name)

    # --- garbage collection --------------------------------------------------------------------------------------

    def _dependents(self, uid: str) -> list[tuple[tuple[str, str], dict[str, Any]]]:
        return [
            (gr, obj)
            for gr, obj in self.cluster.store.iter_all()
            if any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or ())
        ]

    def _collect_dependents(self, uid: str) -> None:
        c = self.cluster
        with c.store.lock:
            for gr, obj in self._dependents(uid):
                owners = [ref.get("uid") for ref in obj["metadata"].get("ownerReferences") or ()]
                if any(owner != uid and c.store.find_uid(owner) is not None for owner in owners):
                    continue  # another owner is alive: the dependent stays
                rt = c.type_of(gr)
                if rt is not None and not obj["metadata"].get("deletionTimestamp"):
                    _delete_quietly(c, rt, obj)

    def _delete_dependents_foreground(self, uid: str) -> None:
        c = self.cluster
        with c.store.lock:
            for gr, obj in self._dependents(uid):
                rt = c.type_of(gr)
                if rt is not None and not obj["metadata"].get("deletionTimestamp"):
                    _delete_quietly(c, rt, obj)
        self._finish_foreground(uid)

    def _finish_foreground(self, uid: Any) -> None:
        """Remove the foreground finalizer once no dependent blocks the owner's deletion."""
        c = self.cluster
        with c.store.lock:
            found = c.store.find_uid(uid)
            if found is None:
                return
            gr, owner = found
            meta = owner["metadata"]
            if not meta.get("deletionTimestamp") or cluster_mod.FOREGROUND_FINALIZER not in (
                meta.get("finalizers") or ()
            ):
                return
            blocking = [
                obj
                for _, obj in self._dependents(uid)
                if any(r.get("uid") == uid and r.get("blockOwnerDeletion") for r in obj["metadata"]["ownerReferences"])
            ]
            if blocking:
                return
            rt = c.type_of(gr)
            if rt is not None:
                c.remove_finalizer(rt, owner, cluster_mod.FOREGROUND_FINALIZER)


def _names_changed(crd: dict[str, Any]) -> bool:
    accepted = (crd.get("status") or {}).get("acceptedNames") or {}
    names = crd.get("spec", {}).get("names") or {}
    return bool(accepted) and names != accepted


def _delete_quietly(c: Cluster, rt: resources.ResourceType, obj: dict[str, Any]) -> None:
    meta = obj["metadata"]
    with contextlib.suppress(errors.ApiError):
        c.delete(
            rt,
            meta.get("namespace", ""),
            meta["name"],
            {"propagationPolicy": "Background"},
            cluster_mod.WriteContext(user="system:serviceaccount:kube-system:generic-garbage-collector"),
        )
