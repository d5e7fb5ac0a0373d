"""Discovery: resolve kinds to resources through the API, cached per cluster under the user's cache directory.

Only the group versions meshctl needs are fetched (``/api/v1``, ``/apis/<group>/<version>``), once, and kept in a
JSON file per cluster (server URL + context) under ``$MESHCTL_CACHE_DIR`` or ``$XDG_CACHE_HOME/meshctl`` or
``~/.cache/meshctl`` — never the client library's shared temp-file cache. A kind that is not in the cached group
version (a CRD established since) triggers one refresh of that group version. The list of served groups
(``/api``, ``/apis``) is asked fresh once per process, because whether a CRD's group exists changes as meshctl works.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import pathlib
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

#: Cached group versions older than this are fetched again on first use.
CACHE_TTL = 6 * 3600.0
_FORMAT = 1


@dataclasses.dataclass(frozen=True)
class Resource:
    """A served resource: what a kind of an API group version is called in URLs, and whether it is namespaced."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def qualified(self) -> str:
        """``deployments.apps``; core resources have no group suffix (``configmaps``)."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    def path(self, namespace: str | None = None, name: str = "", subresource: str = "") -> str:
        """The URL path of the collection (``namespace`` None: across namespaces) or of one object."""
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if self.namespaced and namespace:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name:
            base += f"/{name}"
        if subresource:
            base += f"/{subresource}"
        return base


def cache_root() -> pathlib.Path:
    """The user's cache directory for meshctl."""
    explicit = os.environ.get("MESHCTL_CACHE_DIR")
    if explicit:
        return pathlib.Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (pathlib.Path(xdg) if xdg else pathlib.Path.home() / ".cache") / "meshctl"


def cache_file(server: str, context: str) -> pathlib.Path:
    """The discovery cache file of one cluster (server URL + context)."""
    digest = hashlib.sha256(f"{server}\0{context}".encode()).hexdigest()[:24]
    return cache_root() / "discovery" / f"{digest}.json"


def group_version_path(api_version: str) -> str:
    return f"/apis/{api_version}" if "/" in api_version else f"/api/{api_version}"


Fetch = Callable[[str], "dict[str, Any] | None"]


class Discovery:
    """Kind → :class:`Resource` for one cluster. ``fetch(path)`` returns the JSON document, or None on 404."""

    def __init__(self, fetch: Fetch, path: pathlib.Path | None, *, ttl: float = CACHE_TTL) -> None:
        self._fetch = fetch
        self._path = path
        self._ttl = ttl
        self._lock = threading.Lock()
        self._loaded = False
        self._versions: dict[str, dict[str, Any]] = {}  # api_version -> {"fetched": t, "resources": [...]}
        self._fresh: set[str] = set()  # group versions fetched by this process
        self._groups: dict[str, list[str]] | None = None

    def resource_for(self, api_version: str, kind: str) -> Resource | None:
        """The resource serving ``kind`` in ``api_version``, or None when the server does not serve it."""
        with self._lock:
            self._load()
            entry = self._versions.get(api_version)
            stale = entry is None or time.time() - float(entry.get("fetched", 0)) > self._ttl
            found = None if stale or entry is None else _find(api_version, entry, kind)
            if found is None and api_version not in self._fresh:
                entry = self._refresh(api_version)
                found = _find(api_version, entry, kind) if entry is not None else None
            return found

    def invalidate(self, api_version: str) -> None:
        """Forget a group version (e.g. after its CRD was created or deleted); the next lookup fetches it."""
        with self._lock:
            self._versions.pop(api_version, None)
            self._fresh.discard(api_version)

    def served_groups(self) -> dict[str, list[str]]:
        """Group name (``""`` for core) → served versions, asked fresh once per process."""
        with self._lock:
            if self._groups is None:
                groups: dict[str, list[str]] = {}
                core = self._fetch("/api") or {}
                groups[""] = [str(v) for v in core.get("versions") or []]
                for group in (self._fetch("/apis") or {}).get("groups") or []:
                    groups[str(group.get("name", ""))] = [
                        str(v.get("version", "")) for v in group.get("versions") or [] if isinstance(v, dict)
                    ]
                self._groups = groups
            return self._groups

    def forget_groups(self) -> None:
        with self._lock:
            self._groups = None

    # --- cache file ----------------------------------------------------------------------------------------------

    def _refresh(self, api_version: str) -> dict[str, Any] | None:
        document = self._fetch(group_version_path(api_version))
        self._fresh.add(api_version)
        if document is None:
            self._versions.pop(api_version, None)
            self._save()
            return None
        resources = [
            [str(r.get("kind", "")), str(r.get("name", "")), bool(r.get("namespaced"))]
            for r in document.get("resources") or []
            if isinstance(r, dict) and "/" not in str(r.get("name", ""))
        ]
        entry = {"fetched": time.time(), "resources": resources}
        self._versions[api_version] = entry
        self._save()
        return entry

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if self._path is None:
            return
        try:
            data = json.loads(self._path.read_text())
        except (OSError, ValueError):
            return  # no cache yet, or a damaged one: start afresh
        if isinstance(data, dict) and data.get("format") == _FORMAT and isinstance(data.get("groupVersions"), dict):
            self._versions = data["groupVersions"]

    def _save(self) -> None:
        if self._path is None:
            return
        # The cache is an optimisation: a read-only or full cache directory must not fail a command.
        with contextlib.suppress(OSError):
            self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=".discovery-")
            with os.fdopen(fd, "w") as handle:
                json.dump({"format": _FORMAT, "groupVersions": self._versions}, handle)
            os.replace(tmp, self._path)


def _find(api_version: str, entry: dict[str, Any], kind: str) -> Resource | None:
    group, _, version = api_version.rpartition("/")
    for item in entry.get("resources") or []:
        if isinstance(item, list) and len(item) == 3 and item[0] == kind:
            return Resource(group, version, kind, str(item[1]), bool(item[2]))
    return None
