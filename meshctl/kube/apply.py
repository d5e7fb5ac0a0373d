"""Applying objects: parallel server-side apply within a phase, and comparing what the server would make of an apply
with what it holds.

:func:`run_parallel` runs one request per item over the client's worker count (one connection pool), waiting for
every request of the phase — also after a failure, so that no request is left in flight — and returns each
outcome. :func:`changes` lists the fields in which a server-side dry-run result differs from the live object,
ignoring what every write touches (``managedFields``, ``resourceVersion``, ``generation``), so that defaulted
fields never show as changes.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from meshctl.kube import errors as kerrors

T = TypeVar("T")
R = TypeVar("R")

#: Metadata every write changes; differences there are not changes of the object.
VOLATILE_METADATA = ("managedFields", "resourceVersion", "generation")


@dataclasses.dataclass(frozen=True)
class Outcome(Generic[T, R]):
    """The result of one parallel request: a value, or the error it ended with."""

    item: T
    value: R | None = None
    error: kerrors.KubeError | None = None


def run_parallel(fn: Callable[[T], R], items: Sequence[T], workers: int) -> list[Outcome[T, R]]:
    """``fn(item)`` for every item on up to ``workers`` threads; outcomes in the order of ``items``.

    Only :class:`errors.KubeError` is caught (per item); anything else is a bug and propagates after the phase.
    """
    if not items:
        return []

    def one(item: T) -> Outcome[T, R]:
        try:
            return Outcome(item, fn(item))
        except kerrors.KubeError as exc:
            return Outcome(item, error=exc)

    if workers <= 1 or len(items) == 1:
        return [one(item) for item in items]
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(workers, len(items))) as pool:
        return list(pool.map(one, items))


@dataclasses.dataclass(frozen=True)
class FieldChange:
    """A field that an apply would change: its path (``.spec.replicas``), the live and the new value."""

    path: str
    old: Any
    new: Any

    def describe(self, width: int = 60) -> str:
        return f"{self.path}: {_short(self.old, width)} → {_short(self.new, width)}"


_MISSING = object()


def normalise(obj: Mapping[str, Any]) -> dict[str, Any]:
    """``obj`` without the metadata every write changes."""
    meta = {k: v for k, v in (obj.get("metadata") or {}).items() if k not in VOLATILE_METADATA}
    return {**obj, "metadata": meta}


def changes(live: Mapping[str, Any], result: Mapping[str, Any]) -> list[FieldChange]:
    """The fields in which ``result`` (a dry-run apply) differs from ``live``."""
    found: list[FieldChange] = []
    _compare(normalise(live), normalise(result), "", found)
    return found


def _compare(old: Any, new: Any, path: str, found: list[FieldChange]) -> None:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new), key=str):
            _compare(old.get(key, _MISSING), new.get(key, _MISSING), f"{path}.{key}", found)
        return
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            _compare(a, b, f"{path}[{index}]", found)
        return
    if old != new:
        found.append(FieldChange(path or ".", None if old is _MISSING else old, None if new is _MISSING else new))


def _short(value: Any, width: int) -> str:
    text = "(none)" if value is None else json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= width else text[: width - 1] + "…"


def managers(obj: Mapping[str, Any]) -> list[str]:
    """The field managers of an object (from ``managedFields``), in order, without repeats."""
    names = [str(m.get("manager") or "") for m in (obj.get("metadata") or {}).get("managedFields") or []]
    return list(dict.fromkeys(n for n in names if n))
