"""The installation lock: a ``coordination.k8s.io/v1`` Lease ``meshctl-lock`` in the Istio namespace.

One meshctl at a time changes an installation. The holder renews the Lease every third of its duration (15 s by
default; ``MESHCTL_LOCK_DURATION`` sets it, for tests). Another meshctl waits for a live holder up to its
``--lock-timeout`` (telling the caller who holds it), then fails with exit 4. A Lease whose holder stopped renewing
(a killed meshctl) is taken over once it has expired — judged by the Lease's ``renewTime`` on the wall clock, or
by having seen it unchanged for a whole duration on our own clock, whichever comes first, so clock skew between
machines can delay a takeover but never make one early. Releasing deletes the Lease (precondition: our
resourceVersion), so the next acquisition is a single create.
"""

from __future__ import annotations

import datetime
import getpass
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

from meshctl import errors
from meshctl.kube import client as kclient
from meshctl.kube import errors as kerrors

LOCK_NAME = "meshctl-lock"
DEFAULT_DURATION = 15
DURATION_ENV = "MESHCTL_LOCK_DURATION"


class LockTimeout(kerrors.KubeError):
    """Another meshctl held the lock for longer than ``--lock-timeout``."""


def default_duration() -> int:
    """The lease duration in seconds: ``MESHCTL_LOCK_DURATION`` when set (tests shorten it), else 15."""
    value = os.environ.get(DURATION_ENV, "")
    try:
        return max(1, int(float(value))) if value else DEFAULT_DURATION
    except ValueError as exc:
        raise errors.UsageError(f"{DURATION_ENV}={value!r} is not a number of seconds") from exc


def holder_identity() -> str:
    """Who holds the lock, as the waiting side shows it: user, host, process, and a nonce."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in this environment (e.g. a container without passwd entry)
        user = "unknown"
    return f"{user}@{socket.gethostname()} (pid {os.getpid()}, {secrets.token_hex(3)})"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _micro(moment: datetime.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(value: Any) -> datetime.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=datetime.UTC)


class Lock:
    """A held lock; renews itself in a background thread until :meth:`release`."""

    def __init__(self, client: kclient.KubeClient, res: kclient.Resource, lease: dict[str, Any], duration: int) -> None:
        self._client = client
        self._res = res
        self._lease = lease
        self._duration = duration
        self._state = threading.Lock()
        self._stop = threading.Event()
        self.lost: str | None = None  # why the lock was lost, if it was
        self.took_over_from: str | None = None
        self._thread = threading.Thread(target=self._renew_loop, name="meshctl-lock-renew", daemon=True)
        self._thread.start()

    @property
    def holder(self) -> str:
        return str((self._lease.get("spec") or {}).get("holderIdentity") or "")

    def _renew_loop(self) -> None:
        interval = max(0.2, self._duration / 3)
        while not self._stop.wait(interval):
            with self._state:
                lease = {**self._lease, "spec": {**(self._lease.get("spec") or {}), "renewTime": _micro(_now())}}
                try:
                    self._lease = self._client.replace(self._res, lease)
                except kerrors.Conflict:
                    self.lost = "another meshctl took the lock over (this one did not renew it in time)"
                    return
                except kerrors.KubeError as exc:
                    # Keep trying while the lease lasts; the work in progress reports the cluster's trouble itself.
                    kclient.log.debug("renewing the lock failed: %s", exc)

    def release(self) -> None:
        """Stop renewing and delete the Lease (only if it is still ours)."""
        self._stop.set()
        self._thread.join(timeout=10)
        if self.lost:
            return
        with self._state:
            meta = self._lease.get("metadata") or {}
            try:
                self._client.delete(
                    self._res,
                    LOCK_NAME,
                    str(meta.get("namespace") or ""),
                    resource_version=str(meta.get("resourceVersion") or "") or None,
                )
            except kerrors.Conflict:
                pass  # taken over meanwhile: not ours to delete
            except kerrors.KubeError as exc:
                # The lease expires on its own; a failed release only delays the next run by its duration.
                kclient.log.debug("releasing the lock failed: %s", exc)

    def __enter__(self) -> Lock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lease_object(namespace: str, *, holder: str, duration: int) -> dict[str, Any]:
    """The Lease that says ``holder`` holds the lock from now on for ``duration`` seconds."""
    now = _micro(_now())
    return {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {"name": LOCK_NAME, "namespace": namespace, "labels": {"app.kubernetes.io/managed-by": "meshctl"}},
        "spec": {"holderIdentity": holder, "leaseDurationSeconds": duration, "acquireTime": now, "renewTime": now},
    }


def acquire(
    client: kclient.KubeClient,
    namespace: str,
    *,
    holder: str | None = None,
    duration: int | None = None,
    timeout: float = 120.0,
    on_wait: Callable[[str], None] = lambda holder: None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> Lock:
    """Take the lock in ``namespace``, waiting for a live holder up to ``timeout`` seconds (``on_wait(holder)`` is
    called when a new holder is seen); :class:`LockTimeout` (exit 4) when it stays held."""
    res = client.resource_for("coordination.k8s.io/v1", "Lease")
    if res is None:
        raise kerrors.KubeError("the cluster does not serve coordination.k8s.io/v1 Leases, needed for the lock")
    holder = holder or holder_identity()
    duration = duration or default_duration()
    deadline = clock() + timeout
    announced = ""
    seen: dict[str, float] = {}  # resourceVersion of the held lease -> when we first saw it
    while True:
        lease = lease_object(namespace, holder=holder, duration=duration)
        spec = lease["spec"]
        now = _parse(spec["renewTime"]) or _now()
        try:
            return Lock(client, res, client.create(res, lease), duration)
        except kerrors.AlreadyExists:
            pass
        live = client.get(res, LOCK_NAME, namespace)
        if live is None:
            continue  # released between our create and our read
        live_spec = live.get("spec") or {}
        current = str(live_spec.get("holderIdentity") or "")
        rv = str((live.get("metadata") or {}).get("resourceVersion") or "")
        first = seen.setdefault(rv, clock())
        if not current or _expired(live_spec, now) or clock() - first >= float(_duration_of(live_spec)):
            taken = {
                **live,
                "spec": {
                    **spec,
                    "leaseTransitions": int(live_spec.get("leaseTransitions") or 0) + 1,
                },
            }
            try:
                lock = Lock(client, res, client.replace(res, taken), duration)
            except kerrors.Conflict:
                continue  # someone else was quicker; look again
            lock.took_over_from = current or None
            return lock
        if current != announced:
            on_wait(current)
            announced = current
        remaining = deadline - clock()
        if remaining <= 0:
            raise LockTimeout(
                f"the installation lock {namespace}/{LOCK_NAME} is held by {current}",
                hint=(
                    "wait for that meshctl to finish, or raise --lock-timeout; a lock left by a killed meshctl "
                    f"expires {_duration_of(live_spec)}s after its last renewal"
                ),
            )
        sleep(min(remaining, max(0.1, min(1.0, _duration_of(live_spec) / 3))))


def _duration_of(spec: dict[str, Any]) -> int:
    try:
        return max(1, int(spec.get("leaseDurationSeconds") or DEFAULT_DURATION))
    except (TypeError, ValueError):
        return DEFAULT_DURATION


def _expired(spec: dict[str, Any], now: datetime.datetime) -> bool:
    renewed = _parse(spec.get("renewTime")) or _parse(spec.get("acquireTime"))
    if renewed is None:
        return True
    return now >= renewed + datetime.timedelta(seconds=_duration_of(spec))
