"""Checks on rendered objects for what the API server would reject: a value that renders an invalid object is an
error (exit 3) naming the object and field, not a manifest that fails at apply time.

Checked: label keys and values (metadata, selectors, pod templates), annotation keys, container images (no empty
registry, repository or tag), replica counts (int32, ≥ 0), HorizontalPodAutoscaler ranges (1 ≤ min ≤ max, int32),
container and Service ports (1–65535), resource quantities of containers.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from meshctl import errors

INT32_MAX = 2**31 - 1
_NAME = re.compile(r"[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?")
_PREFIX = re.compile(r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*")
_LABEL_VALUE = re.compile(r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?")
_IMAGE = re.compile(
    r"[A-Za-z0-9][^\s/:@]*(?::[0-9]+)?(?:/[^\s/:@]+)*(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@[A-Za-z0-9_+.-]+:[0-9a-fA-F]{32,})?"
)
_QUANTITY = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE])?")


def _key_problem(key: Any, what: str) -> str | None:
    if not isinstance(key, str):
        return f"{what} key {key!r} is not a string"
    prefix, _, name = key.rpartition("/")
    if "/" in key and (not prefix or len(prefix) > 253 or not _PREFIX.fullmatch(prefix)):
        return f"{what} key {key!r}: the prefix must be a DNS subdomain (lower-case, at most 253)"
    if not name or len(name) > 63 or not _NAME.fullmatch(name):
        return (
            f"{what} key {key!r} is not valid: at most 63 letters, digits, '-', '_' and '.', beginning and ending "
            "with a letter or digit (optionally after a DNS prefix and '/')"
        )
    return None


def _labels(labels: Any, where: str) -> Iterator[str]:
    if not isinstance(labels, Mapping):
        return
    for key, value in labels.items():
        problem = _key_problem(key, "label")
        if problem:
            yield f"{where}: {problem}"
        elif not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
            yield (
                f"{where}.{key}: label value {value!r} is not valid: at most 63 letters, digits, '-', '_' and '.', "
                "beginning and ending with a letter or digit"
            )


def _annotations(annotations: Any, where: str) -> Iterator[str]:
    if not isinstance(annotations, Mapping):
        return
    for key in annotations:
        problem = _key_problem(key, "annotation")
        if problem:
            yield f"{where}: {problem}"


def _int_range(value: Any, where: str, low: int, high: int) -> Iterator[str]:
    if isinstance(value, bool) or not isinstance(value, int):
        return  # types are the schema's business; templates may render strings the API server converts
    if not low <= value <= high:
        yield f"{where}: {value} is out of range ({low} to {high})"


def _metadata(meta: Any, where: str) -> Iterator[str]:
    if isinstance(meta, Mapping):
        yield from _labels(meta.get("labels"), f"{where}.labels")
        yield from _annotations(meta.get("annotations"), f"{where}.annotations")


def _pod(pod: Any, where: str) -> Iterator[str]:
    if not isinstance(pod, Mapping):
        return
    yield from _metadata(pod.get("metadata"), f"{where}.metadata")
    spec = pod.get("spec")
    if not isinstance(spec, Mapping):
        return
    for field in ("initContainers", "containers"):
        for i, container in enumerate(spec.get(field) or []):
            if not isinstance(container, Mapping):
                continue
            at = f"{where}.spec.{field}[{i}]"
            image = container.get("image")
            if isinstance(image, str) and (not _IMAGE.fullmatch(image) or image.endswith(":")):
                yield f"{at}.image: {image!r} is not a valid image reference (is hub or tag empty?)"
            for j, port in enumerate(container.get("ports") or []):
                if isinstance(port, Mapping):
                    yield from _int_range(port.get("containerPort"), f"{at}.ports[{j}].containerPort", 1, 65535)
            resources = container.get("resources")
            if isinstance(resources, Mapping):
                for kind in ("requests", "limits"):
                    amounts = resources.get(kind)
                    if isinstance(amounts, Mapping):
                        for name, amount in amounts.items():
                            text = (
                                str(amount)
                                if isinstance(amount, int | float) and not isinstance(amount, bool)
                                else amount
                            )
                            if not isinstance(text, str) or not _QUANTITY.fullmatch(text):
                                yield f"{at}.resources.{kind}.{name}: {amount!r} is not a quantity (e.g. 100m, 128Mi)"


def object_problems(obj: Mapping[str, Any]) -> Iterator[str]:
    """What the API server would reject in ``obj`` (one line each, starting with kind and name)."""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    assert isinstance(meta, Mapping)
    ident = f"{obj.get('kind')} {meta.get('namespace', '')}{'/' if meta.get('namespace') else ''}{meta.get('name')}"
    spec = obj.get("spec")
    problems = list(_metadata(meta, "metadata"))
    if isinstance(spec, Mapping):
        kind = obj.get("kind")
        if kind in ("Deployment", "StatefulSet", "ReplicaSet"):
            problems.extend(_int_range(spec.get("replicas"), "spec.replicas", 0, INT32_MAX))
        if kind in ("Deployment", "StatefulSet", "ReplicaSet", "DaemonSet", "Job"):
            selector = spec.get("selector")
            if isinstance(selector, Mapping):
                problems.extend(_labels(selector.get("matchLabels"), "spec.selector.matchLabels"))
            problems.extend(_pod(spec.get("template"), "spec.template"))
        if kind == "Service":
            problems.extend(_labels(spec.get("selector"), "spec.selector"))
            for i, port in enumerate(spec.get("ports") or []):
                if isinstance(port, Mapping):
                    problems.extend(_int_range(port.get("port"), f"spec.ports[{i}].port", 1, 65535))
                    problems.extend(_int_range(port.get("targetPort"), f"spec.ports[{i}].targetPort", 1, 65535))
                    problems.extend(_int_range(port.get("nodePort"), f"spec.ports[{i}].nodePort", 0, 65535))
        if kind == "HorizontalPodAutoscaler":
            low, high = spec.get("minReplicas", 1), spec.get("maxReplicas")
            problems.extend(_int_range(low, "spec.minReplicas", 1, INT32_MAX))
            problems.extend(_int_range(high, "spec.maxReplicas", 1, INT32_MAX))
            if isinstance(low, int) and isinstance(high, int) and low > high:
                problems.append(f"spec.minReplicas: {low} is above spec.maxReplicas {high}")
        if kind == "PodDisruptionBudget":
            problems.extend(_labels((spec.get("selector") or {}).get("matchLabels"), "spec.selector.matchLabels"))
    for problem in problems:
        yield f"{ident}: {problem}"


def check_objects(objects: list[dict[str, Any]]) -> None:
    """Raise one :class:`errors.ValidationError` listing every problem of every object, if there are any."""
    problems = [problem for obj in objects for problem in object_problems(obj)]
    if problems:
        raise errors.ValidationError(
            problems,
            hint="a setting renders an object the API server would reject; fix the value at the named field",
        )
