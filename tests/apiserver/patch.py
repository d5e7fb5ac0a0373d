"""JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch."""

from __future__ import annotations

import copy
from typing import Any

from tests.apiserver import errors, schema

_REJECTED = "the server rejected our request due to an error in our request"


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise errors.bad_request(f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _has(container: Any, key: str) -> bool:
    """Whether a JSON pointer token names an existing member of a dict or list."""
    if isinstance(container, dict):
        return key in container
    return isinstance(container, list) and key.isdigit() and int(key) < len(container)


def _key(container: Any, key: str) -> Any:
    return key if isinstance(container, dict) else int(key)


def _parent(doc: Any, parts: list[str], op: str) -> tuple[Any, str]:
    """The container the pointer ``parts`` ends in, and the last token (the member's key or index there)."""
    cursor = doc
    for part in parts[:-1]:
        if _has(cursor, part):
            cursor = cursor[_key(cursor, part)]
        else:
            raise errors.ApiError(
                422,
                "Invalid",
                f"{_REJECTED}: {op} operation does not apply: doc is missing path: " + '"/' + "/".join(parts) + '"',
            )
    return cursor, parts[-1]


def _get(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    if not parts:
        return doc
    parent, last = _parent(doc, parts, "get")
    if _has(parent, last):
        return parent[_key(parent, last)]
    raise errors.ApiError(422, "Invalid", f'{_REJECTED}: doc is missing path: "{path}"')


def json_patch(doc: Any, operations: Any) -> Any:
    if not isinstance(operations, list):
        raise errors.bad_request("json patch must be a list of operations")
    doc = copy.deepcopy(doc)
    for operation in operations:
        if not isinstance(operation, dict) or "op" not in operation:
            raise errors.bad_request(f"invalid json patch operation {operation!r}")
        op, path = operation["op"], operation.get("path", "")
        if op == "test":
            if _get(doc, path) != operation.get("value"):
                raise errors.ApiError(
                    422,
                    "Invalid",
                    f"{_REJECTED}: testing value {path} failed",
                )
            continue
        if op in ("move", "copy"):
            value = copy.deepcopy(_get(doc, operation.get("from", "")))
            if op == "move":
                doc = _remove(doc, operation.get("from", ""))
            doc = _add(doc, path, value)
            continue
        if op == "add":
            doc = _add(doc, path, copy.deepcopy(operation.get("value")))
        elif op == "remove":
            doc = _remove(doc, path)
        elif op == "replace":
            _get(doc, path)
            doc = _remove(doc, path)
            doc = _add(doc, path, copy.deepcopy(operation.get("value")))
        else:
            raise errors.bad_request(f"unexpected kind of json patch operation: {op}")
    return doc


def _add(doc: Any, path: str, value: Any) -> Any:
    parts = _pointer(path)
    if not parts:
        return value
    parent, last = _parent(doc, parts, "add")
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        elif last.isdigit() and int(last) <= len(parent):
            parent.insert(int(last), value)
        else:
            raise errors.ApiError(422, "Invalid", f"add operation does not apply: index out of bounds: {path}")
    else:
        raise errors.ApiError(422, "Invalid", f'add operation does not apply: doc is missing path: "{path}"')
    return doc


def _remove(doc: Any, path: str) -> Any:
    parts = _pointer(path)
    parent, last = _parent(doc, parts, "remove")
    if _has(parent, last):
        del parent[_key(parent, last)]
    else:
        raise errors.ApiError(
            422,
            "Invalid",
            f'{_REJECTED}: remove operation does not apply: doc is missing path: "{path}"',
        )
    return doc


# --- strategic merge patch -----------------------------------------------------------------------------------------


def strategic_merge_patch(target: Any, patch: Any, node: schema.Node) -> Any:
    """Strategic merge: maps merge, lists with a patch merge key merge by it, `$patch` directives apply."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if patch.get("$patch") == "replace":
        return {k: copy.deepcopy(v) for k, v in patch.items() if k != "$patch"}
    if patch.get("$patch") == "delete":
        return None
    out = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if key.startswith("$retainKeys") or key == "$patch":
            continue
        if key.startswith("$setElementOrder/"):
            continue
        if key.startswith("$deleteFromPrimitiveList/"):
            field = key.split("/", 1)[1]
            if isinstance(out.get(field), list) and isinstance(value, list):
                out[field] = [v for v in out[field] if v not in value]
            continue
        if value is None:
            out.pop(key, None)
            continue
        child = node.field(key) or schema.ANY
        current = out.get(key)
        if isinstance(value, list) and child.kind == "list":
            out[key] = _merge_list(current if isinstance(current, list) else [], value, child)
        elif isinstance(value, dict) and child.kind in ("struct", "map", "any"):
            merged = strategic_merge_patch(current, value, child)
            if merged is None:
                out.pop(key, None)
            else:
                out[key] = merged
        else:
            out[key] = copy.deepcopy(value)
    return out


def _merge_list(current: list[Any], patch: list[Any], node: schema.Node) -> list[Any]:
    key = node.patch_merge_key
    strategy = node.patch_strategy
    if "merge" not in strategy:
        return [v for v in copy.deepcopy(patch) if not (isinstance(v, dict) and v.get("$patch"))]
    if any(isinstance(v, dict) and v.get("$patch") == "replace" for v in patch):
        return [copy.deepcopy(v) for v in patch if not (isinstance(v, dict) and "$patch" in v)]
    if key is None:
        # Primitive list with merge strategy (finalizers): union.
        return list(current) + [copy.deepcopy(v) for v in patch if v not in current]
    result = list(current)
    for item in patch:
        if not isinstance(item, dict):
            continue
        position = next(
            (
                i
                for i, existing in enumerate(result)
                if isinstance(existing, dict) and existing.get(key) == item.get(key)
            ),
            -1,
        )
        if item.get("$patch") == "delete":
            if position >= 0:
                del result[position]
            continue
        if position >= 0:
            result[position] = strategic_merge_patch(result[position], item, node.items)
        else:
            result.append(strategic_merge_patch({}, item, node.items))
    return result
