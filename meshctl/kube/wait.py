"""Waiting by watch, never by polling: resumable watches, CRD establishment, workload readiness.

A :class:`Watcher` follows one collection the way an informer does: one LIST, then a WATCH from the list's
resourceVersion that resumes from the last resourceVersion seen when the connection drops (or the server ends the
stream), and relists after ``410 Gone``. Its changes go into a queue that :func:`wait_established` and
:func:`wait_ready` consume, so waiting costs a handful of requests however long it takes (B6).
"""

from __future__ import annotations

import dataclasses
import queue
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from meshctl import errors, objects
from meshctl.kube import client as kclient
from meshctl.kube import errors as kerrors
from meshctl.kube import readiness

Key = tuple[str, str]  # (namespace, name)

#: Seconds an ``ErrImagePull`` must persist before the wait gives up on it (``ImagePullBackOff`` ends it at once).
PULL_FAILURE_GRACE = 30.0


@dataclasses.dataclass(frozen=True)
class Change:
    """An object of a followed collection changed (``obj`` None: it was deleted)."""

    watcher: Watcher
    key: Key
    obj: dict[str, Any] | None


@dataclasses.dataclass(frozen=True)
class Failed:
    watcher: Watcher
    error: kerrors.KubeError


@dataclasses.dataclass(frozen=True)
class Synced:
    """A (re)list of a followed collection has been delivered: what it did not contain is not there."""

    watcher: Watcher


class Watcher(threading.Thread):
    """Follows one collection (resource, namespace, selectors) in a background thread; see the module docstring."""

    def __init__(
        self,
        client: kclient.KubeClient,
        res: kclient.Resource,
        sink: queue.Queue[Change | Failed | Synced],
        *,
        namespace: str | None = None,
        label_selector: str = "",
        field_selector: str = "",
        timeout_seconds: int = 300,
        announce_sync: bool = False,
    ) -> None:
        super().__init__(name=f"watch-{res.qualified}", daemon=True)
        self.announce_sync = announce_sync
        self.client = client
        self.res = res
        self.namespace = namespace
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.timeout_seconds = timeout_seconds
        self._sink = sink
        self._stopped = threading.Event()
        self._current: kclient.Watch | None = None
        self._lock = threading.Lock()
        self.relists = 0
        self.resumes = 0

    def stop(self) -> None:
        self._stopped.set()
        with self._lock:
            current = self._current
        if current is not None:
            current.close()

    def run(self) -> None:
        resource_version = ""
        known: set[Key] = set()
        pause = 0.0
        while not self._stopped.is_set():
            try:
                if not resource_version:
                    resource_version = self._relist(known)
                started = time.monotonic()
                stream = self.client.watch(
                    self.res,
                    self.namespace,
                    label_selector=self.label_selector,
                    field_selector=self.field_selector,
                    resource_version=resource_version,
                    timeout_seconds=self.timeout_seconds,
                )
                with self._lock:
                    self._current = stream
                if self._stopped.is_set():
                    stream.close()
                    return
                with stream:
                    for event in stream:
                        resource_version = event.resource_version or resource_version
                        if event.type == "BOOKMARK":
                            continue
                        key = _key(event.object)
                        if event.type == "DELETED":
                            known.discard(key)
                            self._sink.put(Change(self, key, None))
                        else:
                            known.add(key)
                            self._sink.put(Change(self, key, event.object))
                # The stream ended (server timeout or a dropped connection): resume from where it was. A stream
                # that keeps ending at once is not hammered.
                pause = 0.0 if time.monotonic() - started > 1.0 else min(2.0, pause * 2 or 0.05)
                self.resumes += 1
                if pause:
                    self._stopped.wait(pause)
            except kerrors.Gone:
                resource_version = ""  # too old: relist, as after an etcd compaction
            except kerrors.KubeError as exc:
                if not self._stopped.is_set():
                    self._sink.put(Failed(self, exc))
                return
            finally:
                with self._lock:
                    self._current = None

    def _relist(self, known: set[Key]) -> str:
        self.relists += 1
        listed = self.client.list(
            self.res, self.namespace, label_selector=self.label_selector, field_selector=self.field_selector
        )
        current = {_key(item) for item in listed.items}
        for key in known - current:
            self._sink.put(Change(self, key, None))
        for item in listed.items:
            self._sink.put(Change(self, _key(item), item))
        if self.announce_sync:
            self._sink.put(Synced(self))
        known.clear()
        known.update(current)
        return listed.resource_version


def _key(obj: Mapping[str, Any]) -> Key:
    meta = obj.get("metadata") or {}
    return str(meta.get("namespace") or ""), str(meta.get("name") or "")


class _Watchers:
    """Start a set of watchers on one queue; stop them all on exit."""

    def __init__(self) -> None:
        self.queue: queue.Queue[Change | Failed | Synced] = queue.Queue()
        self.watchers: list[Watcher] = []

    def start(self, client: kclient.KubeClient, res: kclient.Resource, **options: Any) -> Watcher:
        watcher = Watcher(client, res, self.queue, **options)
        self.watchers.append(watcher)
        watcher.start()
        return watcher

    def next(self, timeout: float) -> Change | None:
        """The next change (None: none within ``timeout``); sync markers are skipped."""
        deadline = time.monotonic() + max(0.0, timeout)
        while True:
            item = self.next_event(deadline - time.monotonic())
            if not isinstance(item, Synced):
                return item

    def next_event(self, timeout: float) -> Change | Synced | None:
        """The next change or sync marker (None: none within ``timeout``); a watcher's failure is raised."""
        try:
            item = self.queue.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return None
        if isinstance(item, Failed):
            raise item.error
        return item

    def __enter__(self) -> _Watchers:
        return self

    def __exit__(self, *exc: object) -> None:
        for watcher in self.watchers:
            watcher.stop()
        for watcher in self.watchers:
            watcher.join(timeout=5)


def wait_established(
    client: kclient.KubeClient,
    names: Iterable[str],
    *,
    label_selector: str = "",
    timeout: float = 60.0,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Block until every CRD in ``names`` is ``Established`` (by watch); :class:`errors.ReadinessTimeout` if not."""
    wanted = set(names)
    if not wanted:
        return
    crds = client.resource_for("apiextensions.k8s.io/v1", "CustomResourceDefinition")
    if crds is None:
        raise kerrors.KubeError("the cluster does not serve apiextensions.k8s.io/v1 CustomResourceDefinitions")
    deadline = clock() + timeout
    state: dict[str, dict[str, Any] | None] = {}
    with _Watchers() as watchers:
        watchers.start(client, crds, label_selector=label_selector)
        while True:
            pending = sorted(n for n in wanted if not readiness.is_established(state.get(n)))
            failed = [n for n in pending if readiness.check(state.get(n)).state is readiness.State.FAILED]
            if failed:
                why = readiness.check(state.get(failed[0]))
                raise errors.ReadinessFailed(
                    f"CustomResourceDefinition {failed[0]} was not accepted: {why.reason}: {why.message}"
                )
            if not pending:
                return
            remaining = deadline - clock()
            if remaining <= 0:
                raise errors.ReadinessTimeout(
                    f"CustomResourceDefinitions not established after {timeout:g}s",
                    context=[f"CustomResourceDefinition {n}: not established yet" for n in pending],
                )
            change = watchers.next(remaining)
            if change is not None:
                state[change.key[1]] = change.obj


def wait_deleted(
    client: kclient.KubeClient,
    targets: Sequence[Target],
    *,
    timeout: float,
    label_selector: str = "",
    on_gone: Callable[[objects.ObjectRef], None] = lambda ref: None,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Block until every target is gone (by watch: one LIST and one WATCH per resource and namespace), calling
    ``on_gone`` for each as it goes; :class:`errors.ReadinessTimeout` lists what is left and its finalizers.

    ``label_selector`` narrows the collections followed (the membership label); an object that no longer matches
    it is not seen by the LIST, which counts as gone, so pass a selector only when the targets keep their labels.
    """
    if not targets:
        return
    deadline = clock() + timeout
    slots: dict[tuple[kclient.Resource, str], list[Target]] = {}
    for target in targets:
        slots.setdefault((target.res, target.ref.namespace if target.res.namespaced else ""), []).append(target)
    pending: dict[tuple[str, Key], objects.ObjectRef] = {
        (t.res.qualified, (t.ref.namespace if t.res.namespaced else "", t.ref.name)): t.ref for t in targets
    }
    last: dict[tuple[str, Key], dict[str, Any]] = {}
    with _Watchers() as watchers:
        listing: dict[Watcher, set[Key]] = {}  # present in the (re)list being delivered
        for (res, namespace), _ in sorted(slots.items(), key=lambda item: (item[0][0].qualified, item[0][1])):
            watcher = watchers.start(
                client, res, namespace=namespace or None, label_selector=label_selector, announce_sync=True
            )
            listing[watcher] = set()

        def gone(slot_key: tuple[str, Key]) -> None:
            ref = pending.pop(slot_key, None)
            if ref is not None:
                on_gone(ref)

        while pending:
            remaining = deadline - clock()
            if remaining <= 0:
                left = sorted(pending.items(), key=lambda item: item[1])
                raise errors.ReadinessTimeout(
                    f"{len(left)} {'object is' if len(left) == 1 else 'objects are'} still there after {timeout:g}s",
                    context=[f"{_name(ref)}: {_still_there(last.get(key))}" for key, ref in left],
                    hint="rerun the same command to go on waiting; an object whose finalizers never finish "
                    "needs the controller that owns them",
                )
            event = watchers.next_event(remaining)
            if event is None:
                continue
            qualified = event.watcher.res.qualified
            if isinstance(event, Synced):
                if event.watcher not in listing:
                    continue  # a relist after 410 Gone reports deletions itself (Change without an object)
                seen = listing.pop(event.watcher)
                for slot_key in [
                    k for k in pending if k[0] == qualified and k[1][0] == (event.watcher.namespace or "")
                ]:
                    if slot_key[1] not in seen:
                        gone(slot_key)
                continue
            slot_key = (qualified, event.key)
            if event.obj is None:
                if event.watcher in listing:
                    listing[event.watcher].discard(event.key)
                gone(slot_key)
            else:
                if event.watcher in listing:
                    listing[event.watcher].add(event.key)
                last[slot_key] = event.obj


def _still_there(obj: Mapping[str, Any] | None) -> str:
    meta = (obj or {}).get("metadata") or {}
    finalizers = ", ".join(str(f) for f in meta.get("finalizers") or [])
    if meta.get("deletionTimestamp"):
        return f"being deleted (finalizers: {finalizers})" if finalizers else "being deleted"
    return "not deleted yet"


@dataclasses.dataclass(frozen=True)
class Target:
    """An object to wait for, and the resource it is served by."""

    ref: objects.ObjectRef
    res: kclient.Resource


@dataclasses.dataclass(frozen=True)
class Pending:
    """An object that is not ready yet, and why."""

    ref: objects.ObjectRef
    why: str


def wait_ready(
    client: kclient.KubeClient,
    targets: Sequence[Target],
    *,
    timeout: float,
    label_selector: str = "",
    pod_selector: str = "",
    on_ready: Callable[[objects.ObjectRef], None] = lambda ref: None,
    on_heartbeat: Callable[[list[Pending]], None] = lambda pending: None,
    heartbeat: float = 15.0,
    pull_grace: float = PULL_FAILURE_GRACE,
    clock: Callable[[], float] = time.monotonic,
) -> None:
    """Block until every target is ready (by watch), failing fast on reasons that do not cure themselves.

    ``label_selector`` selects the targets' collections (the membership label), ``pod_selector`` the pods that
    explain a stuck workload. Raises :class:`errors.ReadinessFailed` naming the object, the reason and the pod's
    message, or :class:`errors.ReadinessTimeout` listing everything still pending and why.
    """
    waited = [t for t in targets if t.ref.kind in readiness.WAITED_KINDS]
    for target in targets:
        if target not in waited:
            on_ready(target.ref)
    if not waited:
        return
    deadline = clock() + timeout
    next_beat = clock() + heartbeat
    live: dict[tuple[str, Key], dict[str, Any]] = {}
    pods: dict[Key, dict[str, Any]] = {}
    first_seen: dict[tuple[str, str], float] = {}
    done: set[objects.ObjectRef] = set()
    pod_res = client.resource_for("v1", "Pod")
    with _Watchers() as watchers:
        by_collection: dict[tuple[kclient.Resource, str], Watcher] = {}
        for target in waited:
            slot = (target.res, target.ref.namespace)
            if slot not in by_collection:
                by_collection[slot] = watchers.start(
                    client, target.res, namespace=target.ref.namespace or None, label_selector=label_selector
                )
        pod_watchers = set()
        if pod_res is not None:
            for namespace in sorted({t.ref.namespace for t in waited if t.ref.namespace}):
                pod_watchers.add(watchers.start(client, pod_res, namespace=namespace, label_selector=pod_selector))
        while True:
            now = clock()
            pending: list[Pending] = []
            for target in waited:
                if target.ref in done:
                    continue
                obj = live.get((target.res.qualified, (target.ref.namespace, target.ref.name)))
                state = readiness.check(obj)
                if state.ready:
                    done.add(target.ref)
                    on_ready(target.ref)
                    continue
                if state.state is readiness.State.FAILED:
                    raise _failure(target.ref, state.reason, state.message, "")
                problem = _pod_problem(obj, pods, first_seen, now, pull_grace)
                if problem is not None:
                    raise _failure(target.ref, *problem)
                pending.append(Pending(target.ref, _why(state, obj, pods)))
            if not pending:
                return
            if now >= deadline:
                raise errors.ReadinessTimeout(
                    f"{len(pending)} {'object' if len(pending) == 1 else 'objects'} not ready after {timeout:g}s",
                    context=[f"{_name(p.ref)}: {p.why}" for p in pending],
                    hint="see the reasons above; raise --readiness-timeout if the cluster is just slow",
                )
            if now >= next_beat:
                on_heartbeat(pending)
                next_beat = now + heartbeat
            wake = min(deadline, next_beat, *(t + pull_grace for t in first_seen.values() if t + pull_grace > now))
            change = watchers.next(wake - now)
            while change is not None:
                if change.watcher in pod_watchers:
                    if change.obj is None:
                        pods.pop(change.key, None)
                    else:
                        pods[change.key] = change.obj
                else:
                    slot_key = (change.watcher.res.qualified, change.key)
                    if change.obj is None:
                        live.pop(slot_key, None)
                    else:
                        live[slot_key] = change.obj
                change = watchers.next(0)  # take everything that is queued before judging again


def _pods_of(workload: Mapping[str, Any] | None, pods: Mapping[Key, dict[str, Any]]) -> list[Mapping[str, Any]]:
    return readiness.pods_of(workload, (pod for _, pod in sorted(pods.items())))


def _pod_problem(
    workload: Mapping[str, Any] | None,
    pods: Mapping[Key, dict[str, Any]],
    first_seen: dict[tuple[str, str], float],
    now: float,
    grace: float,
) -> tuple[str, str, str] | None:
    for pod in _pods_of(workload, pods):
        found = readiness.pod_problem(pod)
        if found is None:
            continue
        reason, message = found
        pod_name = str((pod.get("metadata") or {}).get("name") or "")
        if reason in readiness.TERMINAL_REASONS:
            return reason, message, pod_name
        seen = first_seen.setdefault((pod_name, reason), now)
        if now - seen >= grace:
            return reason, message, pod_name
    return None


def _why(state: readiness.Readiness, workload: Mapping[str, Any] | None, pods: Mapping[Key, dict[str, Any]]) -> str:
    return readiness.explain(state, workload, (pod for _, pod in sorted(pods.items())))


def _name(ref: objects.ObjectRef) -> str:
    return f"{ref.kind}/{ref.namespace}/{ref.name}" if ref.namespace else f"{ref.kind}/{ref.name}"


def _failure(ref: objects.ObjectRef, reason: str, message: str, pod: str) -> errors.ReadinessFailed:
    where = f" (pod {pod})" if pod else ""
    text = f"{_name(ref)} is not ready: {reason}{where}"
    return errors.ReadinessFailed(
        text, context=[message] if message else [], ref=ref, reason=reason, detail=message or reason
    )
