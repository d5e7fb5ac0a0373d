"""The strategic merge of a template's pod fragment into a pod, as istiod applies it.

istiod merges what a template produces into the pod with Kubernetes' strategic merge patch, whose rules come from
the Pod type: maps merge key by key (``null`` deletes), lists of scalars and most lists of objects are replaced,
and the lists below are merged element by element on their merge key, new elements appended in the fragment's
order. Only the Pod fields that matter for injection are described; everything else follows the default rules,
which is what the Pod type says for them too.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

#: Merge key of a merged list, and the schema of its elements, by field name. ``_RETAIN``: on merging an
#: element, keys of the original the fragment does not set are dropped (``patchStrategy: retainKeys``).
_RETAIN = "$retainKeys"

_CONTAINER: dict[str, Any] = {
    "env": ("name", {}),
    "ports": ("containerPort", {}),
    "volumeMounts": ("mountPath", {}),
    "volumeDevices": ("devicePath", {}),
}
_VOLUME: dict[str, Any] = {_RETAIN: True}
_SPEC: dict[str, Any] = {
    "containers": ("name", _CONTAINER),
    "initContainers": ("name", _CONTAINER),
    "ephemeralContainers": ("name", _CONTAINER),
    "volumes": ("name", _VOLUME),
    "imagePullSecrets": ("name", {}),
    "hostAliases": ("ip", {}),
    "resourceClaims": ("name", {}),
    "schedulingGates": ("name", {}),
}
POD: dict[str, Any] = {"spec": ("", _SPEC)}
CONTAINER = _CONTAINER


def merge(original: Mapping[str, Any], patch: Mapping[str, Any], schema: Mapping[str, Any] = POD) -> dict[str, Any]:
    """A new map: ``patch`` merged into ``original`` (neither is changed)."""
    result = copy.deepcopy(dict(original))
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
            continue
        rule = schema.get(key)
        current = result.get(key)
        if isinstance(value, Mapping) and isinstance(current, Mapping):
            sub = rule[1] if isinstance(rule, tuple) else {}
            result[key] = merge(current, value, sub)
        elif isinstance(rule, tuple) and rule[0] and isinstance(value, list) and isinstance(current, list):
            result[key] = _merge_list(current, value, rule[0], rule[1])
        else:
            result[key] = copy.deepcopy(value)
    return result


def _merge_list(original: list[Any], patch: list[Any], key: str, schema: Mapping[str, Any]) -> list[Any]:
    result = copy.deepcopy(original)
    for item in patch:
        if not isinstance(item, Mapping) or key not in item:
            result.append(copy.deepcopy(item))
            continue
        for index, existing in enumerate(result):
            if isinstance(existing, Mapping) and existing.get(key) == item[key]:
                if schema.get(_RETAIN):
                    existing = {k: v for k, v in existing.items() if k in item or k == key}
                result[index] = merge(existing, item, schema)
                break
        else:
            result.append(copy.deepcopy(item))
    return result
