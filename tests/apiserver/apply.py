"""Server-side apply and managed fields.

Field sets are sets of paths; a path is a tuple of `FieldsV1` elements: `f:<field>`, `k:<json of the item's keys>`
for items of lists of type map, `v:<json value>` for items of set lists, `i:<index>` for items of atomic lists seen by
an update. The wire form (`fieldsV1`) is the trie of those paths, with `.` marking a node that is itself a member.

What a field set contains follows structured-merge-diff: leaves (scalars, atomic lists and maps, empty structs),
and the items of keyed and set lists; structs and granular maps are not members themselves, their fields are.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from collections.abc import Iterable, Iterator
from typing import Any

from tests.apiserver import errors, schema

Path = tuple[str, ...]

# Fields of the object that nobody "manages": identity and server-owned bookkeeping.
_IGNORED_METADATA = frozenset(
    {
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "generation",
        "creationTimestamp",
        "deletionTimestamp",
        "deletionGracePeriodSeconds",
        "managedFields",
        "selfLink",
        "generateName",
    }
)

# Keys of list maps that Kubernetes fills in by default; an item applied without them is the same item.
_KEY_DEFAULTS = {"protocol": "TCP"}


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def item_key(item: Any, keys: tuple[str, ...]) -> str:
    """`k:` element of a list-map item: its key fields (defaults filled in) as compact JSON."""
    if not isinstance(item, dict):
        return "k:" + _json(item)
    fields = {}
    for key in keys:
        if key in item:
            fields[key] = item[key]
        elif key in _KEY_DEFAULTS:
            fields[key] = _KEY_DEFAULTS[key]
    return "k:" + _json(fields)


def element(node: schema.Node, item: Any, index: int) -> str:
    """Path element naming one item of a list."""
    kind = node.list_type
    if kind == "map" and node.map_keys:
        return item_key(item, node.map_keys)
    if kind == "set":
        return "v:" + _json(item)
    return f"i:{index}"


# --- field sets -------------------------------------------------------------------------------------------------


# Which members an `Update` owns as such (`.`) when it adds them: structured-merge-diff compares with the zero value
# of the Go type, where non-pointer structs (spec, template, ...) and fields without omitempty always exist. Without
# the Go types, these name the pointer structs and the lists without omitempty that meshctl's objects use.
_POINTER_STRUCTS = frozenset(
    {
        "rollingUpdate",
        "securityContext",
        "livenessProbe",
        "readinessProbe",
        "startupProbe",
        "httpGet",
        "tcpSocket",
        "exec",
        "grpc",
        "lifecycle",
        "affinity",
        "nodeAffinity",
        "podAffinity",
        "podAntiAffinity",
        "valueFrom",
        "fieldRef",
        "resourceFieldRef",
        "configMapKeyRef",
        "secretKeyRef",
        "configMap",
        "secret",
        "emptyDir",
        "projected",
        "downwardAPI",
        "hostPath",
        "persistentVolumeClaim",
        "resourceAttributes",
        "nonResourceAttributes",
    }
)
_NON_OMITEMPTY_LISTS = frozenset({"containers", "rules"})


def _owned_as_whole(prefix: Path, kind: str, custom: bool) -> bool:
    name = prefix[-1][2:] if prefix and prefix[-1].startswith("f:") else ""
    if kind == "map":
        return True
    if kind == "struct":
        return prefix != ("f:metadata",) and (custom or name in _POINTER_STRUCTS)
    return name not in _NON_OMITEMPTY_LISTS


def _walk(
    value: Any,
    node: schema.Node,
    prefix: Path,
    out: set[Path],
    maps: set[Path] | None = None,
    custom: bool = False,
) -> None:
    kind = node.kind
    if isinstance(value, dict) and kind in ("struct", "map") and not node.atomic:
        if not value:
            out.add(prefix)
            return
        if maps is not None and _owned_as_whole(prefix, kind, custom):
            maps.add(prefix)
        for name, child in value.items():
            sub = node.field(name) or schema.ANY
            _walk(child, sub, (*prefix, "f:" + name), out, maps, custom)
        return
    if isinstance(value, list) and kind == "list" and node.list_type in ("map", "set"):
        if not value:
            out.add(prefix)
            return
        if maps is not None and _owned_as_whole(prefix, kind, custom):
            maps.add(prefix)
        items = node.items
        for index, item in enumerate(value):
            path = (*prefix, element(node, item, index))
            out.add(path)
            if node.list_type == "map":
                _walk_item(item, items, path, out, maps, custom)
        return
    out.add(prefix)


def _walk_item(
    item: Any, node: schema.Node, prefix: Path, out: set[Path], maps: set[Path] | None = None, custom: bool = False
) -> None:
    if isinstance(item, dict) and node.kind in ("struct", "map"):
        for name, child in item.items():
            _walk(child, node.field(name) or schema.ANY, (*prefix, "f:" + name), out, maps, custom)


def fieldset(
    obj: dict[str, Any],
    root: schema.Node,
    only: str | None = None,
    exclude: Iterable[str] = (),
    maps: set[Path] | None = None,
    custom: bool = False,
) -> set[Path]:
    """Field set of an object: every member path, without identity fields. `only`/`exclude` select top fields.
    `maps`, if given, collects the paths of the non-empty maps (not structs) on the way."""
    out: set[Path] = set()
    skip = {"apiVersion", "kind", *exclude}
    for name, value in obj.items():
        if name in skip or (only is not None and name != only):
            continue
        node = root.field(name) or schema.ANY
        if name == "metadata" and isinstance(value, dict):
            for mname, mvalue in value.items():
                if mname in _IGNORED_METADATA:
                    continue
                _walk(mvalue, node.field(mname) or schema.ANY, ("f:metadata", "f:" + mname), out, maps, custom)
            continue
        _walk(value, node, ("f:" + name,), out, maps, custom)
    return out


def to_fields_v1(paths: Iterable[Path]) -> dict[str, Any]:
    """The `fieldsV1` trie of a field set; `.` marks members that also have members below them."""
    members = set(paths)
    trie: dict[str, Any] = {}
    for path in sorted(members):
        cursor = trie
        for part in path:
            cursor = cursor.setdefault(part, {})
    _mark(trie, (), members)
    return trie


def _mark(trie: dict[str, Any], prefix: Path, members: set[Path]) -> None:
    for key, sub in trie.items():
        if key == "." or not sub:
            continue
        path = (*prefix, key)
        _mark(sub, path, members)
        if path in members:
            sub["."] = {}


def from_fields_v1(trie: dict[str, Any], prefix: Path = ()) -> set[Path]:
    out: set[Path] = set()
    for key, sub in trie.items():
        if key == ".":
            out.add(prefix)
            continue
        path = (*prefix, key)
        if not sub:
            out.add(path)
        else:
            out |= from_fields_v1(sub, path)
    return out


# --- values at paths --------------------------------------------------------------------------------------------

_MISSING = object()


def _find_item(items: list[Any], part: str) -> int:
    kind, _, raw = part.partition(":")
    if kind == "i":
        index = int(raw)
        return index if 0 <= index < len(items) else -1
    wanted = json.loads(raw)
    for index, item in enumerate(items):
        if kind == "v" and item == wanted:
            return index
        if (
            kind == "k"
            and isinstance(item, dict)
            and all(item.get(k, _KEY_DEFAULTS.get(k)) == v for k, v in wanted.items())
        ):
            return index
    return -1


def get(obj: Any, path: Path) -> Any:
    """Value at a path, or `_MISSING`."""
    cursor = obj
    for part in path:
        if part.startswith("f:"):
            if not isinstance(cursor, dict) or part[2:] not in cursor:
                return _MISSING
            cursor = cursor[part[2:]]
        else:
            if not isinstance(cursor, list):
                return _MISSING
            index = _find_item(cursor, part)
            if index < 0:
                return _MISSING
            cursor = cursor[index]
    return cursor


def exists(obj: Any, path: Path) -> bool:
    return get(obj, path) is not _MISSING


def remove(obj: Any, path: Path) -> bool:
    """Remove the value at a path; returns whether something was removed."""
    parent = get(obj, path[:-1]) if len(path) > 1 else obj
    last = path[-1]
    if last.startswith("f:"):
        if isinstance(parent, dict) and last[2:] in parent:
            del parent[last[2:]]
            return True
        return False
    if isinstance(parent, list):
        index = _find_item(parent, last)
        if index >= 0:
            del parent[index]
            return True
    return False


# --- merging an applied configuration -----------------------------------------------------------------------------


def strip_nulls(value: Any) -> Any:
    """An applied configuration says nothing with `null`: such fields are dropped before anything else."""
    if isinstance(value, dict):
        return {k: strip_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [strip_nulls(v) for v in value]
    return value


def merge(live: Any, applied: Any, node: schema.Node) -> Any:
    """Merge an applied value into the live one with the schema's semantics (granular maps, keyed and set lists)."""
    kind = node.kind
    if isinstance(live, dict) and isinstance(applied, dict) and kind in ("struct", "map") and not node.atomic:
        out = dict(live)
        for name, value in applied.items():
            child = node.field(name) or schema.ANY
            out[name] = merge(live[name], value, child) if name in live else copy.deepcopy(value)
        return out
    if isinstance(live, list) and isinstance(applied, list) and kind == "list":
        if node.list_type == "map" and node.map_keys:
            keys = node.map_keys
            result = list(live)
            positions = {item_key(item, keys): i for i, item in enumerate(result)}
            for item in applied:
                key = item_key(item, keys)
                if key in positions:
                    result[positions[key]] = merge(result[positions[key]], item, node.items)
                else:
                    positions[key] = len(result)
                    result.append(copy.deepcopy(item))
            return result
        if node.list_type == "set":
            return list(live) + [copy.deepcopy(v) for v in applied if v not in live]
    return copy.deepcopy(applied)


# --- managers ---------------------------------------------------------------------------------------------------


@dataclasses.dataclass
class Manager:
    manager: str
    operation: str
    api_version: str
    time: str
    fields: set[Path]
    subresource: str = ""

    @property
    def ident(self) -> tuple[str, str, str]:
        return (self.manager, self.operation, self.subresource)

    def to_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": to_fields_v1(self.fields),
        }
        if not self.time:  # a manager whose write changed nothing has no time
            del entry["time"]
        if self.subresource:
            entry["subresource"] = self.subresource
        return entry


def read_managers(obj: dict[str, Any] | None) -> list[Manager]:
    if not obj:
        return []
    result = []
    for entry in obj.get("metadata", {}).get("managedFields") or ():
        result.append(
            Manager(
                manager=entry.get("manager", ""),
                operation=entry.get("operation", "Update"),
                api_version=entry.get("apiVersion", ""),
                time=entry.get("time", ""),
                fields=from_fields_v1(entry.get("fieldsV1") or {}),
                subresource=entry.get("subresource", ""),
            )
        )
    return result


def _order(manager: Manager) -> tuple[str, str, str, str, str]:
    """kube-apiserver's order of managedFields: Apply before Update, then by time (none first), manager, ..."""
    return (manager.operation, manager.time[:19], manager.manager, manager.api_version, manager.subresource)


def write_managers(obj: dict[str, Any], managers: list[Manager]) -> None:
    entries = [m.to_entry() for m in sorted(managers, key=_order) if m.fields]
    if entries:
        obj.setdefault("metadata", {})["managedFields"] = entries
    else:
        obj.get("metadata", {}).pop("managedFields", None)


def _leaf_conflicts(paths: Iterable[Path]) -> Iterator[Path]:
    for path in paths:
        if path and path[-1][:2] in ("k:", "v:"):
            continue
        yield path


def format_path(path: Path) -> str:
    """`.spec.template.spec.containers[name="app"].image`, as kube-apiserver prints paths in conflicts."""
    out = []
    for part in path:
        kind, _, raw = part.partition(":")
        if kind == "f":
            out.append("." + raw)
        elif kind == "k":
            keys = json.loads(raw)
            out.append("[" + ",".join(f"{k}={json.dumps(v)}" for k, v in keys.items()) + "]")
        elif kind == "v":
            out.append(f"[={raw}]")
        else:
            out.append(f"[{raw}]")
    return "".join(out)


@dataclasses.dataclass
class ApplyResult:
    obj: dict[str, Any]
    managers: list[Manager]


def apply(
    live: dict[str, Any] | None,
    applied: dict[str, Any],
    root: schema.Node,
    manager: str,
    force: bool,
    api_version: str,
    now: str,
    subresource: str = "",
    only: str | None = None,
    exclude: Iterable[str] = (),
) -> ApplyResult:
    """Merge an applied configuration into the live object for one manager, or raise a 409 on conflicts."""
    applied = _scope(strip_nulls(applied), only, exclude)
    applied_set = fieldset(applied, root, only=only, exclude=exclude)
    managers = read_managers(live)
    mine = next((m for m in managers if m.ident == (manager, "Apply", subresource)), None)
    previous = set(mine.fields) if mine else set()
    base = copy.deepcopy(live) if live is not None else {}

    conflicts: dict[str, list[Path]] = {}
    for other in managers:
        if other is mine:
            continue
        for path in _leaf_conflicts(applied_set & other.fields):
            if get(applied, path) != get(base, path):
                conflicts.setdefault(other.manager, []).append(path)
                if force:
                    other.fields.discard(path)
    if conflicts and not force:
        raise _conflict_error(conflicts, managers)

    merged = merge(base, applied, root) if live is not None else copy.deepcopy(applied)

    owned = set(applied_set)
    for other in managers:
        if other is not mine:
            owned |= other.fields
    inner = {p[:i] for p in owned for i in range(1, len(p))}
    removed = {p for p in previous - owned if p not in inner}  # keep what holds fields others still own
    # Remove whole items and subtrees at once: removing a key field first would change which item a path names.
    outermost = [p for p in removed if not any(p[:i] in removed for i in range(1, len(p)))]
    for path in sorted(outermost, key=len, reverse=True):
        if remove(merged, path):
            _prune_empty_parents(merged, path, owned)

    # A new manager whose apply changes nothing gets no time (kube-apiserver stamps changing writes only).
    quiet = mine is None and live is not None and merged == live
    if mine is None:
        mine = Manager(manager, "Apply", api_version, "", set(), subresource)
        managers.append(mine)
    if mine.fields != applied_set:
        mine.fields = applied_set
        mine.time = "" if quiet else now
        mine.api_version = api_version
    return ApplyResult(merged, [m for m in managers if m.fields])


def _scope(applied: dict[str, Any], only: str | None, exclude: Iterable[str]) -> dict[str, Any]:
    """Keep the identity and the top-level fields this write is about (status for /status, the rest otherwise)."""
    skip = set(exclude)
    out = {}
    for name, value in applied.items():
        if name in ("apiVersion", "kind") or ((only is None or name == only) and name not in skip):
            out[name] = value
        elif name == "metadata" and isinstance(value, dict):
            out[name] = value if only is None else {k: v for k, v in value.items() if k in _IGNORED_METADATA}
    return out


def _prune_empty_parents(obj: dict[str, Any], path: Path, owned: set[Path]) -> None:
    parent = path[:-1]
    while parent and parent != ("f:metadata",) and parent[-1].startswith("f:"):
        if get(obj, parent) in ({}, []) and parent not in owned:
            remove(obj, parent)
            parent = parent[:-1]
        else:
            return


def _conflict_error(conflicts: dict[str, list[Path]], managers: list[Manager]) -> errors.ApiError:
    api_versions = {m.manager: m.api_version for m in managers}
    appliers = {m.manager for m in managers if m.operation == "Apply"}
    by_manager: dict[str, list[str]] = {}
    causes = []
    lines = []
    count = 0
    for name, paths in conflicts.items():
        for path in sorted(paths):
            count += 1
            text = format_path(path)
            # kube-apiserver names an Update manager with its version ("using v1"), an Apply manager by name only.
            who = f'"{name}"' if name in appliers else f'"{name}" using {api_versions.get(name, "")}'
            causes.append({"reason": "FieldManagerConflict", "message": f"conflict with {who}", "field": text})
            lines.append(f"conflict with {who}: {text}")
            by_manager.setdefault(who, []).append(text)
    if count == 1:
        message = f"Apply failed with 1 conflict: {lines[0]}"
    else:  # structured-merge-diff's Conflicts.Error(): grouped by manager, managers sorted
        parts = [
            f"conflicts with {who}:\n" + "\n".join(f"- {t}" for t in by_manager[who]) for who in sorted(by_manager)
        ]
        message = f"Apply failed with {count} conflicts: " + "\n".join(parts)
    return errors.ApiError(409, "Conflict", message, causes=causes)


def track_update(
    old: dict[str, Any] | None,
    new: dict[str, Any],
    root: schema.Node,
    manager: str,
    api_version: str,
    now: str,
    subresource: str = "",
    only: str | None = None,
    exclude: Iterable[str] = (),
    custom: bool = False,
) -> None:
    """Record a non-apply write: the manager takes the fields it changed, others lose them (no conflicts)."""
    managers = read_managers(old)
    maps: set[Path] = set()
    new_set = fieldset(new, root, only=only, exclude=exclude, maps=maps, custom=custom)
    changed = {p for p in new_set if old is None or get(old, p) != get(new, p)}
    # As structured-merge-diff's Update: a map this write added is itself a member (its `.` marker).
    changed |= {p for p in maps if old is None or not exists(old, p)}
    mine = next((m for m in managers if m.ident == (manager, "Update", subresource)), None)
    for other in managers:
        if other is not mine:
            other.fields = {p for p in other.fields - changed if exists(new, p)}
    if changed or mine is not None:
        if mine is None:
            mine = Manager(manager, "Update", api_version, now, set(), subresource)
            managers.append(mine)
        fields = {p for p in (mine.fields | changed) if exists(new, p)}
        if fields != mine.fields:
            mine.fields = fields
            mine.time = now
            mine.api_version = api_version
    write_managers(new, managers)
