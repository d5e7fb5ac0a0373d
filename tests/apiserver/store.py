"""Object storage: one global, monotonic resourceVersion, an event history for watches, and state files.

Stored objects are never mutated in place: every write stores a new dict, so readers may hold and encode a stored
object without copying it, and each object's JSON encoding is cached until it is replaced.
"""

from __future__ import annotations

import collections
import dataclasses
import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

GroupResource = tuple[str, str]
Key = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped objects

ADDED = "ADDED"
MODIFIED = "MODIFIED"
DELETED = "DELETED"


def _as_item(obj: dict[str, Any]) -> dict[str, Any]:
    """kube-apiserver's list items of built-in kinds carry no apiVersion/kind (the list says them)."""
    return {k: v for k, v in obj.items() if k not in ("apiVersion", "kind")}


@dataclasses.dataclass(frozen=True)
class Event:
    rv: int
    type: str
    gr: GroupResource
    obj: dict[str, Any]
    prev: dict[str, Any] | None = None

    @property
    def namespace(self) -> str:
        return str(self.obj.get("metadata", {}).get("namespace", ""))


class _Entry:
    __slots__ = ("encoded", "encoded_item", "obj")

    def __init__(self, obj: dict[str, Any]) -> None:
        self.obj = obj
        self.encoded: bytes | None = None
        self.encoded_item: bytes | None = None  # as a list item: without apiVersion and kind


def encode(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


class Store:
    """Thread-safe object store. `lock` guards everything; `changed` is notified after each write."""

    def __init__(self, history: int = 10_000) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.rv = 1
        self._objects: dict[GroupResource, dict[Key, _Entry]] = collections.defaultdict(dict)
        self.history = history
        self.events: collections.deque[Event] = collections.deque(maxlen=history)
        # Everything after this resourceVersion is still in the history (a watch from it can resume).
        self.oldest_rv = 1
        self.listeners: list[Callable[[Event], None]] = []

    # --- reads ---------------------------------------------------------------------------------------------------

    def get(self, gr: GroupResource, namespace: str, name: str) -> dict[str, Any] | None:
        with self.lock:
            entry = self._objects[gr].get((namespace, name))
            return entry.obj if entry else None

    def get_encoded(self, gr: GroupResource, namespace: str, name: str) -> bytes | None:
        with self.lock:
            entry = self._objects[gr].get((namespace, name))
            if entry is None:
                return None
            if entry.encoded is None:
                entry.encoded = encode(entry.obj)
            return entry.encoded

    def encoded_list(self, gr: GroupResource, items: list[dict[str, Any]]) -> list[bytes]:
        """Encodings of stored objects (cached), for fast list responses."""
        out = []
        with self.lock:
            table = self._objects[gr]
            for obj in items:
                meta = obj["metadata"]
                entry = table.get((meta.get("namespace", ""), meta["name"]))
                if entry is not None and entry.obj is obj:
                    if entry.encoded_item is None:
                        entry.encoded_item = encode(_as_item(obj))
                    out.append(entry.encoded_item)
                else:
                    out.append(encode(_as_item(obj)))
        return out

    def list(self, gr: GroupResource, namespace: str | None = None) -> list[dict[str, Any]]:
        """Objects sorted by namespace and name (the order kube-apiserver lists in)."""
        with self.lock:
            table = self._objects[gr]
            keys = sorted(k for k in table if namespace is None or k[0] == namespace)
            return [table[k].obj for k in keys]

    def group_resources(self) -> list[GroupResource]:
        with self.lock:
            return [gr for gr, table in self._objects.items() if table]

    def iter_all(self) -> Iterator[tuple[GroupResource, dict[str, Any]]]:
        with self.lock:
            snapshot = [(gr, e.obj) for gr, table in self._objects.items() for e in table.values()]
        yield from snapshot

    def find_uid(self, uid: str) -> tuple[GroupResource, dict[str, Any]] | None:
        with self.lock:
            for gr, table in self._objects.items():
                for entry in table.values():
                    if entry.obj["metadata"].get("uid") == uid:
                        return gr, entry.obj
        return None

    # --- writes --------------------------------------------------------------------------------------------------

    def next_rv(self) -> int:
        with self.lock:
            self.rv += 1
            return self.rv

    def put(self, gr: GroupResource, obj: dict[str, Any]) -> dict[str, Any]:
        """Store a new version of an object, giving it the next resourceVersion; returns the stored object."""
        with self.lock:
            meta = obj["metadata"]
            key = (meta.get("namespace", ""), meta["name"])
            rv = self.next_rv()
            meta["resourceVersion"] = str(rv)
            old = self._objects[gr].get(key)
            self._objects[gr][key] = _Entry(obj)
            self._record(Event(rv, MODIFIED if old else ADDED, gr, obj, old.obj if old else None))
            return obj

    def remove(self, gr: GroupResource, namespace: str, name: str) -> dict[str, Any] | None:
        """Remove an object for good; the DELETED event carries it with a new resourceVersion."""
        with self.lock:
            entry = self._objects[gr].pop((namespace, name), None)
            if entry is None:
                return None
            rv = self.next_rv()
            obj = dict(entry.obj)
            obj["metadata"] = dict(obj["metadata"], resourceVersion=str(rv))
            self._record(Event(rv, DELETED, gr, obj, entry.obj))
            return obj

    def _record(self, event: Event) -> None:
        if len(self.events) == self.events.maxlen and self.events:
            self.oldest_rv = self.events[0].rv
        self.events.append(event)
        for listener in list(self.listeners):
            listener(event)
        self.changed.notify_all()

    def events_since(self, rv: int) -> list[Event]:
        """Events after `rv` (caller holds the lock and has checked `rv >= oldest_rv`)."""
        if not self.events or self.events[-1].rv <= rv:
            return []
        # Events are in rv order: skip from the right end, which is where watchers almost always are.
        out = []
        for event in reversed(self.events):
            if event.rv <= rv:
                break
            out.append(event)
        out.reverse()
        return out

    def clear(self) -> None:
        with self.lock:
            self._objects.clear()
            self.events.clear()
            self.oldest_rv = self.rv
            self.changed.notify_all()

    # --- state files ---------------------------------------------------------------------------------------------

    def dump(self) -> dict[str, Any]:
        with self.lock:
            return {
                "resourceVersion": self.rv,
                "objects": [
                    {"group": gr[0], "resource": gr[1], "object": entry.obj}
                    for gr, table in self._objects.items()
                    for entry in table.values()
                ],
            }

    def load(self, state: dict[str, Any]) -> None:
        """Replace the contents with a dump; watches cannot resume across it (as after an etcd restore)."""
        with self.lock:
            self._objects.clear()
            self.events.clear()
            for item in state.get("objects", ()):
                obj = item["object"]
                meta = obj["metadata"]
                self._objects[(item["group"], item["resource"])][(meta.get("namespace", ""), meta["name"])] = _Entry(
                    obj
                )
            self.rv = max(self.rv, int(state.get("resourceVersion", 1)))
            self.oldest_rv = self.rv
            self.changed.notify_all()
