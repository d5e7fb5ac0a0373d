"""The merge rules of ``config.md`` §3, stated once as a configured :class:`deepmerge.Merger`.

- maps merge key by key (:func:`_merge_maps`);
- lists, scalars, and a value whose type differs from the one it meets replace it (:func:`_replace`);
- an explicit ``null`` in the overlay removes the key from the result; a ``null`` inside a subtree that is new to
  the base is kept as it is (there is nothing to remove; translation drops such nulls from the values tree).

``deepmerge`` merges into its first argument in place and, left to its own strategies, puts the overlay's subtrees
into the result as they are. :func:`merge` therefore merges into a deep copy of the base, and the strategies copy
what they take from the overlay: the result shares nothing with either input, so profiles (which are cached),
files and chart defaults are never changed by a merge, nor by later changes to its result.

Every deep merge of ``meshctl.config`` goes through :func:`merge`: the profile over ``default``, each ``-f`` file,
the value layers of translation, ``unvalidatedValues``, and the chart defaults read by ``schemagen``. (The render
package keeps its own merges: they let ``null`` replace rather than remove, and one shares subtrees on purpose.)
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from deepmerge import Merger


def _merge_maps(merger: Merger, path: list[Any], base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Maps merge key by key; ``null`` removes the key; keys new to ``base`` get a copy of the overlay's value."""
    for key, value in overlay.items():
        if value is None:
            base.pop(key, None)
        elif key in base:
            base[key] = merger.value_strategy([*path, key], base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def _replace(merger: Merger, path: list[Any], base: Any, overlay: Any) -> Any:
    """The overlay's value (a copy) replaces the base's: lists, scalars, and values of another type."""
    return copy.deepcopy(overlay)


#: The one merger: ``type_strategies`` for maps and lists, then ``fallback`` (two values of the same non-container
#: type: scalars) and ``type_conflict`` (a map meets a list, a scalar meets a map, ...).
MERGER = Merger(
    type_strategies=[(dict, _merge_maps), (list, _replace)],
    fallback_strategies=[_replace],
    type_conflict_strategies=[_replace],
)


def merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """A new map: ``overlay`` over ``base`` under the rules above. Neither input is changed."""
    merged: dict[str, Any] = MERGER.merge(copy.deepcopy(dict(base)), dict(overlay))
    return merged


def _same(a: Any, b: Any) -> bool:
    """Equality that tells ``1``, ``1.0`` and ``True`` apart."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def diff(base: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The overlay that turns ``base`` into ``new`` under :func:`merge` (removed keys become ``None``)."""
    out: dict[str, Any] = {}
    for key, value in new.items():
        if key not in base:
            out[key] = copy.deepcopy(value)
        elif isinstance(value, dict) and isinstance(base[key], dict):
            nested = diff(base[key], value)
            if nested:
                out[key] = nested
        elif not _same(value, base[key]):
            out[key] = copy.deepcopy(value)
    for key in base:
        if key not in new:
            out[key] = None
    return out


def drop_nulls(tree: dict[str, Any]) -> dict[str, Any]:
    """``tree`` without its ``null`` map entries, at every depth (lists are kept as they are)."""
    return {k: drop_nulls(v) if isinstance(v, dict) else v for k, v in tree.items() if v is not None}
