"""The request log (`api.requests`): every request with its outcome, and counters per verb and resource."""

from __future__ import annotations

import collections
import dataclasses
import threading
from collections.abc import Iterator

WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


@dataclasses.dataclass(frozen=True)
class Entry:
    method: str
    path: str
    query: str
    content_type: str
    status: int
    latency: float  # seconds, from the request line read to the response written
    verb: str  # Kubernetes verb (get, list, watch, create, update, patch, delete, deletecollection) or "" elsewhere
    resource: str  # plural (with "/status" for the subresource), "" for non-resource paths
    namespace: str
    name: str
    user: str
    dry_run: bool

    @property
    def is_write(self) -> bool:
        return self.verb in WRITE_VERBS and not self.dry_run


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[Entry] = []
        self._counters: collections.Counter[tuple[str, str]] = collections.Counter()

    def record(self, entry: Entry) -> None:
        with self._lock:
            self._entries.append(entry)
            self._counters[(entry.verb, entry.resource)] += 1

    def __iter__(self) -> Iterator[Entry]:
        return iter(self.entries)

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)

    @property
    def entries(self) -> list[Entry]:
        with self._lock:
            return list(self._entries)

    def counters(self) -> dict[tuple[str, str], int]:
        """{(verb, resource): count}."""
        with self._lock:
            return dict(self._counters)

    def count(self, verb: str | None = None, resource: str | None = None) -> int:
        with self._lock:
            return sum(
                n
                for (v, r), n in self._counters.items()
                if (verb is None or v == verb) and (resource is None or r == resource)
            )

    def writes(self) -> list[Entry]:
        return [e for e in self.entries if e.is_write]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._counters.clear()

    def as_json(self) -> list[dict[str, object]]:
        return [dataclasses.asdict(e) for e in self.entries]
