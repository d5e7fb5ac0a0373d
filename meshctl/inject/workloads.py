"""Workload manifests in, injected manifests out: where each kind keeps its pod template, and the YAML stream.

Kinds with a pod template: Pod (the pod itself), Deployment, StatefulSet, DaemonSet, ReplicaSet, Job,
ReplicationController and OpenShift's DeploymentConfig (``spec.template``), CronJob
(``spec.jobTemplate.spec.template``); a ``List`` (or ``<Kind>List``) has its items injected one by one. Every other
document passes through byte for byte, and so does a workload that is not injected (opted out, host network): only
injected documents are written anew.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from typing import Any

import yaml

from meshctl import errors, yamlio
from meshctl.config import loading
from meshctl.inject import pod, policy, settings

#: Kind → the path of its pod template (empty: the object is the pod).
TEMPLATE_PATHS: dict[str, tuple[str, ...]] = {
    "Pod": (),
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "ReplicaSet": ("spec", "template"),
    "Job": ("spec", "template"),
    "ReplicationController": ("spec", "template"),
    "DeploymentConfig": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}

_SEPARATOR = re.compile(r"^---(?:[ \t].*)?$")


@dataclasses.dataclass(frozen=True)
class Result:
    """The output stream and what to tell the user (skipped workloads), plus counts for the summary."""

    text: str
    notes: tuple[str, ...] = ()
    injected: int = 0
    documents: int = 0


def split_documents(text: str) -> list[tuple[int, str]]:
    """The documents of a YAML stream as (first line number, raw text), split at ``---`` lines."""
    documents: list[tuple[int, str]] = []
    start, lines = 1, list[str]()
    for number, line in enumerate(text.splitlines(keepends=True), start=1):
        if _SEPARATOR.match(line.rstrip("\r\n")):
            documents.append((start, "".join(lines)))
            start, lines = number + 1, []
            continue
        lines.append(line)
    documents.append((start, "".join(lines)))
    return [(first, body) for first, body in documents if body.strip()]


def _load(body: str, first_line: int, source: str) -> Any:
    # The input limits of every user YAML text (size, depth, aliases by nodes and text, 64-bit integers) first,
    # with meshctl's one loader; the document itself is then read as PyYAML reads it, so output is unchanged.
    loading.check_limits(body, f"{source}:{first_line}")
    try:
        return yamlio.load_yaml(body)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f":{first_line + mark.line}:{mark.column + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise errors.InputError(
            f"{source}{where}: not valid YAML: {problem}", hint="fix the manifest; kube-inject changed nothing"
        ) from exc


def inject_stream(text: str, conf: settings.Settings, source: str) -> Result:
    """Inject every workload of a YAML stream; ``source`` (a file name or ``<stdin>``) is used in messages."""
    out: list[str] = []
    notes: list[str] = []
    injected = 0
    documents = split_documents(text)
    for first_line, body in documents:
        document = _load(body, first_line, source)
        if document is None:
            continue  # only comments
        changed, count = inject_object(document, conf, notes, f"{source}:{first_line}")
        injected += count
        out.append(yamlio.dump_yaml(changed) if count else body if body.endswith("\n") else body + "\n")
    return Result("---\n".join(out), tuple(notes), injected, len(documents))


def describe(obj: Mapping[str, Any]) -> str:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    name = str((meta or {}).get("name") or "<unnamed>")
    namespace = (meta or {}).get("namespace")
    return f"{obj.get('kind')} {namespace}/{name}" if namespace else f"{obj.get('kind')} {name}"


def inject_object(obj: Any, conf: settings.Settings, notes: list[str], location: str) -> tuple[Any, int]:
    """The object with its pod template injected, and how many pod templates were (0: the object is unchanged)."""
    if not isinstance(obj, Mapping):
        return obj, 0
    kind = obj.get("kind")
    if isinstance(kind, str) and kind.endswith("List") and isinstance(obj.get("items"), list):
        count = 0
        items = []
        for item in obj["items"]:
            new, n = inject_object(item, conf, notes, location)
            items.append(new)
            count += n
        return ({**obj, "items": items} if count else obj), count
    if kind not in TEMPLATE_PATHS:
        return obj, 0
    what = f"{describe(obj)} ({location})"
    path = TEMPLATE_PATHS[str(kind)]
    template = _template_of(obj, path, what)
    spec = template.get("spec")
    if not isinstance(spec, Mapping) or not isinstance(spec.get("containers"), list) or not spec["containers"]:
        where = ".".join((*path, "spec", "containers"))
        raise errors.InputError(
            f"{what}: the pod has no containers ({where} is missing or empty)",
            hint="a pod needs at least one container; kube-inject changed nothing",
        )
    if any(not isinstance(c, Mapping) or not c.get("name") for c in spec["containers"]):
        raise errors.InputError(f"{what}: every container needs a name")
    meta = template.get("metadata")
    if meta is not None and not isinstance(meta, Mapping):
        raise errors.InputError(f"{what}: the pod template's metadata is not a mapping")
    decision = policy.decide(meta or {}, spec, conf.injector)
    if not decision.inject:
        notes.append(f"skipped {describe(obj)}: {decision.reason}")
        return obj, 0
    injected = pod.inject({"metadata": dict(meta or {}), "spec": dict(spec)}, owner_of(obj), conf, what)
    return _with_template(obj, path, injected), 1


def owner_of(obj: Mapping[str, Any]) -> pod.Owner:
    """``.TypeMeta`` / ``.DeploymentMeta``: the object's own kind and name (a bare pod is its own owner)."""
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), Mapping) else {}
    return pod.Owner(
        kind=str(obj.get("kind") or ""),
        api_version=str(obj.get("apiVersion") or ""),
        name=str((meta or {}).get("name") or ""),
        namespace=str((meta or {}).get("namespace") or ""),
    )


def _template_of(obj: Mapping[str, Any], path: tuple[str, ...], what: str) -> Mapping[str, Any]:
    node: Any = obj
    for depth, key in enumerate(path):
        child = node.get(key) if isinstance(node, Mapping) else None
        if not isinstance(child, Mapping):
            missing = ".".join(path[: depth + 1])
            raise errors.InputError(
                f"{what}: {missing} is missing: a {obj.get('kind')} needs a pod template at {'.'.join(path)}",
                hint="kube-inject changed nothing",
            )
        node = child
    return dict(node)


def _with_template(obj: Mapping[str, Any], path: tuple[str, ...], template: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``obj`` with the pod template at ``path`` replaced (its other keys, such as a name, kept)."""
    if not path:
        return {**obj, **template}
    head, *rest = path
    child = obj[head]
    if rest:
        return {**obj, head: _with_template(child, tuple(rest), template)}
    return {**obj, head: {**child, **template}}
