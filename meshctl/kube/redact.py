"""Redaction: credentials and Secret data never reach output or logs, at any verbosity.

A :class:`Redactor` knows the secrets of the kubeconfig in use (bearer tokens, passwords, client keys) and replaces
them in any text; :func:`redact_object` blanks the values of ``Secret`` objects (``data``, ``stringData``) before an
object is logged or shown. The client layer passes every log line and every error message through both.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

MASK = "<redacted>"
#: Shorter strings are too likely to occur by chance to be worth masking (and masking them would garble output).
_MIN_SECRET = 6
_LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"


class Redactor:
    """Replaces known secret strings in text; thread-safe, secrets can be added as they appear (token refresh)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._lock = threading.Lock()
        self._secrets: tuple[str, ...] = ()
        self.add(*secrets)

    def add(self, *secrets: str | None) -> None:
        new = {s.strip() for s in secrets if s and len(s.strip()) >= _MIN_SECRET}
        with self._lock:
            if new - set(self._secrets):
                # Longest first, so a secret that contains another is masked whole.
                self._secrets = tuple(sorted(new | set(self._secrets), key=len, reverse=True))

    def text(self, value: str) -> str:
        for secret in self._secrets:
            if secret in value:
                value = value.replace(secret, MASK)
        return value


def redact_object(obj: Any) -> Any:
    """A copy of ``obj`` (an object, a list, or a watch event) with the values of every Secret's data masked."""
    if isinstance(obj, list):
        return [redact_object(item) for item in obj]
    if not isinstance(obj, dict):
        return obj
    if obj.get("kind") == "Secret" or (isinstance(obj.get("type"), str) and "data" in obj and "metadata" in obj):
        copy = dict(obj)
        for key in ("data", "stringData"):
            if isinstance(copy.get(key), dict):
                copy[key] = dict.fromkeys(copy[key], MASK)
        annotations = (copy.get("metadata") or {}).get("annotations") or {}
        if _LAST_APPLIED in annotations:  # holds the data too
            copy["metadata"] = {**copy["metadata"], "annotations": {**annotations, _LAST_APPLIED: MASK}}
        return copy
    if isinstance(obj.get("items"), list):
        return {**obj, "items": [redact_object(item) for item in obj["items"]]}
    if isinstance(obj.get("object"), dict):
        return {**obj, "object": redact_object(obj["object"])}
    return obj
