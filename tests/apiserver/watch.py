"""Watch streams: ADDED/MODIFIED/DELETED/BOOKMARK events from the store's history, resumable by resourceVersion.

As kube-apiserver's watch cache does, a watch from a resourceVersion older than the kept history answers one
`ERROR` event with a 410 Expired `Status` (HTTP 200), which clients turn into a relist; a label selector turns
objects that stop (start) matching into DELETED (ADDED) events.
"""

from __future__ import annotations

import dataclasses
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from tests.apiserver import errors, selectors, store
from tests.apiserver.cluster import Cluster
from tests.apiserver.resources import ResourceType


@dataclasses.dataclass
class WatchRequest:
    rt: ResourceType
    namespace: str | None
    label_selector: str = ""
    field_selector: str = ""
    resource_version: str = ""
    timeout: float = 1800.0
    bookmarks: bool = False
    send_initial_events: bool | None = None


def _line(event_type: str, obj: dict[str, Any]) -> bytes:
    return store.encode({"type": event_type, "object": obj}) + b"\n"


def _expired(rv: int, oldest: int) -> bytes:
    status = errors.ApiError(410, "Expired", f"too old resource version: {rv} ({oldest})").status()
    return _line("ERROR", status)


def client_gone(sock: socket.socket | None) -> bool:
    """A client waiting for watch events sends nothing; a readable socket means it closed the connection."""
    if sock is None:
        return False
    try:
        readable, _, _ = select.select([sock], [], [], 0)
    except (OSError, ValueError):
        return True
    return bool(readable)


def stream(
    cluster: Cluster,
    request: WatchRequest,
    stopping: threading.Event,
    sock: socket.socket | None = None,
    gone: Callable[[socket.socket | None], bool] = client_gone,
) -> Iterator[bytes]:
    rt = request.rt
    labels = selectors.parse_labels(request.label_selector)
    fields = selectors.parse_fields(request.field_selector, rt.kind)
    st = cluster.store
    gr = rt.group_resource

    def selected(obj: dict[str, Any] | None) -> bool:
        if obj is None:
            return False
        meta = obj["metadata"]
        if request.namespace is not None and rt.namespaced and meta.get("namespace") != request.namespace:
            return False
        if labels and not selectors.matches(labels, meta.get("labels")):
            return False
        return all(f.matches(obj) for f in fields)

    initial: list[bytes] = []
    with st.lock:
        rv_param = request.resource_version
        send_initial = request.send_initial_events
        if send_initial is None:
            send_initial = rv_param in ("", "0")
        if send_initial or rv_param in ("", "0"):
            last = st.rv
            if send_initial:
                for obj in st.list(gr, request.namespace if rt.namespaced else None):
                    if selected(obj):
                        initial.append(_line("ADDED", cluster.present(rt, obj)))
        else:
            try:
                last = int(rv_param)
            except ValueError as exc:
                raise errors.bad_request(f"invalid resource version {rv_param!r}") from exc
            if last < st.oldest_rv:
                yield _expired(last, st.oldest_rv)
                return
    yield from initial
    if request.send_initial_events and request.bookmarks:
        yield _line(
            "BOOKMARK",
            {
                "kind": rt.kind,
                "apiVersion": rt.api_version,
                "metadata": {"resourceVersion": str(last), "annotations": {"k8s.io/initial-events-end": "true"}},
            },
        )
    deadline = time.monotonic() + request.timeout
    interval = cluster.options.bookmark_interval
    next_bookmark = time.monotonic() + interval
    while not stopping.is_set():
        now = time.monotonic()
        if now >= deadline:
            return
        out: list[bytes] = []
        with st.lock:
            if last < st.oldest_rv:
                yield _expired(last, st.oldest_rv)
                return
            events = st.events_since(last)
            if not events:
                st.changed.wait(min(0.25, deadline - now, max(0.0, next_bookmark - now) + 0.001))
                events = st.events_since(last)
            for event in events:
                last = event.rv
                if event.gr != gr:
                    continue
                now_selected = selected(event.obj) if event.type != store.DELETED else False
                before = selected(event.prev)
                if event.type == store.DELETED:
                    if before:
                        out.append(_line("DELETED", cluster.present(rt, event.obj)))
                elif now_selected and before:
                    out.append(_line("MODIFIED", cluster.present(rt, event.obj)))
                elif now_selected:
                    out.append(_line("ADDED", cluster.present(rt, event.obj)))
                elif before:
                    out.append(_line("DELETED", cluster.present(rt, event.obj)))
        yield from out
        if request.bookmarks and time.monotonic() >= next_bookmark:
            next_bookmark = time.monotonic() + interval
            yield _line(
                "BOOKMARK", {"kind": rt.kind, "apiVersion": rt.api_version, "metadata": {"resourceVersion": str(last)}}
            )
        if not out and gone(sock):
            return
