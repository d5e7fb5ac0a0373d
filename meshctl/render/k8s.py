"""Component ``k8s`` settings and ``overlays`` applied to rendered objects (``rendering.md`` §4).

istioctl applies these as strategic merge patches and silently ignores a setting whose target object does not
exist, an overlay that matches no object, and a patch path that matches nothing. meshctl applies the same
changes with plain, documented merge rules (maps deep-merge, lists replace, a ``null`` removes a key) and reports
each of those no-ops as a :class:`NoEffect`: a warning that names the setting and says why, which ``--strict`` turns
into an error. Input that cannot work (a budget with both ``minAvailable`` and ``maxUnavailable``, a malformed
overlay) is an error (exit 3).

Order: the settings in the order of the table in ``rendering.md`` §4, then overlays in list order, each overlay's
patches in order. Values taken from the configuration are copied into objects, so no two objects (and no object
and the configuration) share a subtree.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from meshctl import errors
from meshctl.config import loading, paths

#: Every ``k8s`` setting meshctl applies, in application order. Anything else under ``k8s`` is an error here,
#: except :data:`NOT_APPLIED`.
SETTINGS: tuple[str, ...] = (
    "resources",
    "readinessProbe",
    "env",
    "imagePullPolicy",
    "affinity",
    "nodeSelector",
    "tolerations",
    "priorityClassName",
    "securityContext",
    "podAnnotations",
    "replicaCount",
    "strategy",
    "hpaSpec",
    "podDisruptionBudget",
    "serviceAnnotations",
    "service",
    "overlays",
)

#: Accepted and ignored, as istioctl does (its API has them, its patcher never applies them); the configuration
#: engine warns about them.
NOT_APPLIED: tuple[str, ...] = ("volumes", "volumeMounts")


@dataclasses.dataclass(frozen=True)
class NoEffect:
    """A setting or overlay patch that changes nothing: a warning, an error under ``--strict``.

    ``setting`` is its configuration path (``components.pilot.k8s.podDisruptionBudget``), ``reason`` says why
    nothing happened, ``hint`` what to do.
    """

    setting: str
    reason: str
    hint: str | None = None

    @property
    def message(self) -> str:
        return f"{self.setting} has no effect: {self.reason}"

    def __str__(self) -> str:
        """The warning text: the message, then the hint on its own ``hint:`` line."""
        return self.message + (f"\nhint: {self.hint}" if self.hint else "")


class _NoEffectError(Exception):
    def __init__(self, reason: str, hint: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.hint = hint


@dataclasses.dataclass(frozen=True)
class Target:
    """What the settings of one component instance patch.

    ``workload_kind``/``workload_name``/``container`` name the main workload (container ``None``: the first one);
    the Service, HorizontalPodAutoscaler and PodDisruptionBudget share the workload's name. ``where`` is the
    instance's configuration path (``components.pilot``), used in every message. ``service_ports_in_values``:
    the gateway templates already rendered ``k8s.service.ports`` (container and Service ports), so the Service
    patch leaves ports alone.
    """

    where: str
    label: str
    workload_kind: str | None
    workload_name: str
    container: str | None
    service_ports_in_values: bool = False
    values_root: str = ""  # where the component's chart values live (``pilot``), for hints

    def values_path(self, key: str) -> str:
        return f"values.{self.values_root}.{key}" if self.values_root else key


def apply(objects: list[dict[str, Any]], k8s: Mapping[str, Any], target: Target) -> list[NoEffect]:
    """Apply every ``k8s`` setting, then the overlays, to ``objects`` (the instance's rendered objects, in place).

    Returns the settings and patches that had no effect, in the order they were met.
    """
    unknown = [key for key in k8s if key not in SETTINGS and key not in NOT_APPLIED]
    if unknown:
        raise errors.RenderError(
            f"{target.where}.k8s.{unknown[0]} is not a k8s setting meshctl applies",
            hint=f"k8s settings: {', '.join(SETTINGS)}",
        )
    found: list[NoEffect] = []
    for key in SETTINGS[:-1]:
        value = k8s.get(key)
        if value is None:
            continue
        setting = f"{target.where}.k8s.{key}"
        try:
            _APPLIERS[key](objects, value, target, setting)
        except _NoEffectError as exc:
            found.append(NoEffect(setting, exc.reason, exc.hint))
    overlays = k8s.get("overlays")
    if overlays is not None:
        found.extend(apply_overlays(objects, overlays, target))
    return found


# --- finding targets ------------------------------------------------------------------------------------------------


def _find(objects: Sequence[dict[str, Any]], kind: str, name: str) -> list[dict[str, Any]]:
    return [o for o in objects if o.get("kind") == kind and (o.get("metadata") or {}).get("name") == name]


def _names_of(objects: Sequence[dict[str, Any]], kind: str) -> list[str]:
    return [str((o.get("metadata") or {}).get("name")) for o in objects if o.get("kind") == kind]


def _target_object(
    objects: Sequence[dict[str, Any]], kind: str, name: str, setting: str, target: Target
) -> dict[str, Any]:
    found = _find(objects, kind, name)
    if found:
        return found[0]
    others = _names_of(objects, kind)
    reason = f"{target.label} renders no {kind} {name}"
    if others:
        raise _NoEffectError(
            f"{reason} ({kind}s of {target.label}: {', '.join(others)})", hint="settings apply to the component's own"
        )
    if kind == "HorizontalPodAutoscaler":
        raise _NoEffectError(
            f"{reason}: autoscaling is off for it ({target.values_path('autoscaleEnabled')})",
            hint="remove the setting, or turn autoscaling on",
        )
    if kind == "PodDisruptionBudget":
        raise _NoEffectError(
            f"{reason}: a budget is rendered only for more than one replica "
            f"({target.values_path('autoscaleMin')} above 1 with autoscaling, "
            f"{target.values_path('replicaCount')} above 1 without)",
            hint=(
                "remove the setting, or raise the replicas through those values "
                "(k8s.hpaSpec.minReplicas and k8s.replicaCount only patch the rendered objects, as in istioctl 1.30)"
            ),
        )
    raise _NoEffectError(reason, hint="remove the setting")


def _workload(objects: Sequence[dict[str, Any]], setting: str, target: Target) -> dict[str, Any]:
    if target.workload_kind is None:
        raise _NoEffectError(f"{target.label} has no workload", hint="only k8s.overlays apply to this component")
    return _target_object(objects, target.workload_kind, target.workload_name, setting, target)


def _pod_spec(workload: dict[str, Any], setting: str) -> dict[str, Any]:
    spec = workload.setdefault("spec", {})
    template = spec.setdefault("template", {}) if isinstance(spec, dict) else None
    pod_spec = template.setdefault("spec", {}) if isinstance(template, dict) else None
    if not isinstance(pod_spec, dict):
        raise errors.RenderError(f"{setting}: the pod template of {workload['kind']} {_name(workload)} is not a map")
    return pod_spec


def _container(workload: dict[str, Any], setting: str, target: Target) -> dict[str, Any]:
    containers = _pod_spec(workload, setting).get("containers") or []
    for container in containers:
        if isinstance(container, dict) and target.container in (None, container.get("name")):
            return container
    wanted = f"container {target.container}" if target.container else "a container"
    raise errors.RenderError(f"{setting}: {workload['kind']} {_name(workload)} has no {wanted}")


def _name(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name"))


# --- merge helpers --------------------------------------------------------------------------------------------------


def deep_merge_into(base: dict[str, Any], overlay: Mapping[str, Any]) -> None:
    """Merge ``overlay`` into ``base`` in place: maps merge key by key, lists and scalars replace (copied), and a
    ``null`` removes the key (as in a strategic merge patch)."""
    for key, value in overlay.items():
        current = base.get(key)
        if value is None:
            base.pop(key, None)
        elif isinstance(current, dict) and isinstance(value, Mapping):
            deep_merge_into(current, value)
        else:
            base[key] = copy.deepcopy(value)


def _require_map(value: Any, setting: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise errors.RenderError(f"{setting} must be a map")
    return value


def _require_list(value: Any, setting: str) -> list[Any]:
    if not isinstance(value, list):
        raise errors.RenderError(f"{setting} must be a list")
    return value


# --- the settings ---------------------------------------------------------------------------------------------------


def _merge_container_field(field: str) -> Any:
    def applier(objects: list[dict[str, Any]], value: Any, target: Target, setting: str) -> None:
        container = _container(_workload(objects, setting, target), setting, target)
        deep_merge_into(_child_map(container, field), _require_map(value, setting))

    return applier


def _apply_env(objects: list[dict[str, Any]], value: Any, target: Target, setting: str) -> None:
    container = _container(_workload(objects, setting, target), setting, target)
    env = container.get("env")
    if not isinstance(env, list):
        env = []
        container["env"] = env
    for i, item in enumerate(_require_list(value, setting)):
        if not isinstance(item, Mapping) or not item.get("name"):
            raise errors.RenderError(f"{setting}[{i}] must be a map with a name")
        replaced = False
        for j, existing in enumerate(env):
            if isinstance(existing, dict) and existing.get("name") == item["name"]:
                env[j] = copy.deepcopy(dict(item))
                replaced = True
                break
        if not replaced:
            env.append(copy.deepcopy(dict(item)))


def _apply_image_pull_policy(objects: list[dict[str, Any]], value: Any, target: Target, setting: str) -> None:
    _container(_workload(objects, setting, target), setting, target)["imagePullPolicy"] = value


def _set_pod_field(field: str) -> Any:
    def applier(objects: list[dict[str, Any]], value: Any, target: Target, setting: str) -> None:
        _pod_spec(_workload(objects, setting, target), setting)[field] = copy.deepcopy(value)

    return applier


def _merge_pod_field(field: str) -> Any:
    """A map-valued pod field (``securityContext``, ``affinity``, ``nodeSelector``) deep-merges into what the
    template rendered, as istioctl's strategic merge patch does: the template's keys stay unless set or nulled."""

    def applier(objects: list[dict[str, Any]], value: Any, target: Target, setting: str) -> None:
        pod_spec = _pod_spec(_workload(objects, setting, target), setting)
        deep_merge_into(_child_map(pod_spec, field), _require_map(value, setting))
        if not pod_spec[field]:
            del pod_spec[field]  # everything nulled: no empty block

    return applier


def _child_map(parent: dict[str, Any], key: str) -> dict[str, Any]:
    """``parent[key]``, replaced by a new empty map when it is missing or not a map."""
    child = parent.get(key)
    if not isinstance(child, dict):
        child = {}
        parent[key] = child
    return child


def _add_annotations(meta: dict[str, Any], value: Any, setting: str) -> None:
    _child_map(meta, "annotations").update({str(k): v for k, v in _require_map(value, setting).items()})


def _apply_pod_annotations(objects: list[dict[str, Any]], value: Any, target: Target, setting: str) -> None:
    workload = _workload(objects, setting, target)
    template = workload.setdefault("spec", {}).setdefault("template", {})
    _add_annotations(_child_map(template, "metadata"), value, setting)


def _set_workload_field(field: str, deployment_only_hint: str) -> Any:
    def applier(objects: list[dict[str, Any]], value: Any, target: Target, setting: str) -> None:
        workload = _workload(objects, setting, target)
        if workload.get("kind") != "Deployment":
            raise _NoEffectError(
                f"{workload.get('kind')} {_name(workload)} has no spec.{field}", hint=deployment_only_hint
            )
        workload.setdefault("spec", {})[field] = copy.deepcopy(value)

    return applier


def _apply_hpa(objects: list[dict[str, Any]], value: Any, target: Target, setting: str) -> None:
    hpa = _target_object(objects, "HorizontalPodAutoscaler", target.workload_name, setting, target)
    spec = hpa.setdefault("spec", {})
    deep_merge_into(spec, _require_map(value, setting))


def _apply_pdb(objects: list[dict[str, Any]], value: Any, target: Target, setting: str) -> None:
    patch = _require_map(value, setting)
    if patch.get("minAvailable") is not None and patch.get("maxUnavailable") is not None:
        raise errors.RenderError(
            f"{setting} sets both minAvailable and maxUnavailable", hint="a PodDisruptionBudget takes only one of them"
        )
    pdb = _target_object(objects, "PodDisruptionBudget", target.workload_name, setting, target)
    spec = pdb.setdefault("spec", {})
    deep_merge_into(spec, patch)
    # Kubernetes rejects a budget with both; keep the one the user set (istioctl writes `minAvailable: null`).
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        dropped = "minAvailable" if patch.get("maxUnavailable") is not None else "maxUnavailable"
        del spec[dropped]


def _apply_service_annotations(objects: list[dict[str, Any]], value: Any, target: Target, setting: str) -> None:
    service = _target_object(objects, "Service", target.workload_name, setting, target)
    _add_annotations(service.setdefault("metadata", {}), value, setting)


def _apply_service(objects: list[dict[str, Any]], value: Any, target: Target, setting: str) -> None:
    patch = dict(_require_map(value, setting))
    if target.service_ports_in_values:
        patch.pop("ports", None)  # already rendered from the values (container ports follow them too)
        if not patch:
            return
    service = _target_object(objects, "Service", target.workload_name, setting, target)
    deep_merge_into(service.setdefault("spec", {}), patch)


_APPLIERS: dict[str, Any] = {
    "resources": _merge_container_field("resources"),
    "readinessProbe": _merge_container_field("readinessProbe"),
    "env": _apply_env,
    "imagePullPolicy": _apply_image_pull_policy,
    "affinity": _merge_pod_field("affinity"),
    "nodeSelector": _merge_pod_field("nodeSelector"),
    "tolerations": _set_pod_field("tolerations"),
    "priorityClassName": _set_pod_field("priorityClassName"),
    "securityContext": _merge_pod_field("securityContext"),
    "podAnnotations": _apply_pod_annotations,
    "replicaCount": _set_workload_field("replicas", "a DaemonSet runs one pod per node; remove the setting"),
    "strategy": _set_workload_field("strategy", "strategy applies to Deployments; use k8s.overlays for updateStrategy"),
    "hpaSpec": _apply_hpa,
    "podDisruptionBudget": _apply_pdb,
    "serviceAnnotations": _apply_service_annotations,
    "service": _apply_service,
}


# --- overlays -------------------------------------------------------------------------------------------------------


def overlay_value(value: Any, where: str = "overlay patch value") -> Any:
    """The value a patch sets: a multi-line string that parses as a YAML mapping becomes that mapping.

    Upstream does this so a block of YAML can be given as a string; meshctl limits it to multi-line strings, so
    a one-line string such as ``"a: b"`` (an annotation value, a command-line argument) stays a string. The string
    is read by the one loader of user YAML, with its limits (``loading``): an alias bomb in it is an input error.
    """
    if isinstance(value, str) and "\n" in value.strip():
        parsed = loading.load_overlay_text(value, where)
        if parsed is None:
            return value
        if isinstance(parsed, dict):
            return parsed
    return copy.deepcopy(value)


def apply_overlays(objects: list[dict[str, Any]], overlays: Any, target: Target) -> list[NoEffect]:
    """Apply ``k8s.overlays`` to the instance's objects; returns the overlays and patches that changed nothing.

    An overlay whose kind and name match no object, a patch whose selector matches nothing and a deletion of what
    does not exist have no effect (istioctl ignores them silently); a malformed overlay or path, or a path through
    a value of the wrong type, is an error.
    """
    base = f"{target.where}.k8s.overlays"
    found: list[NoEffect] = []
    for i, overlay in enumerate(_require_list(overlays, base)):
        where = f"{base}[{i}]"
        overlay = _require_map(overlay, where)
        kind, name = overlay.get("kind"), overlay.get("name")
        if not kind or not name:
            raise errors.RenderError(f"{where} needs a kind and a name", hint="e.g. kind: Deployment, name: istiod")
        patches = _require_list(overlay.get("patches") or [], f"{where}.patches")
        parsed = []
        for j, patch in enumerate(patches):
            patch_where = f"{where}.patches[{j}]"
            patch = _require_map(patch, patch_where)
            text = patch.get("path")
            if not isinstance(text, str) or not text.strip():
                raise errors.RenderError(f"{patch_where} needs a path", hint="e.g. spec.template.spec.hostNetwork")
            source = paths.Source(f"{patch_where}.path", text)
            parsed.append((patch_where, source, paths.parse_path(text, paths.Mode.OVERLAY, source=source), patch))
        matches = _find(objects, str(kind), str(name))
        if not matches:
            others = _names_of(objects, str(kind))
            kinds = sorted({str(o.get("kind")) for o in objects})
            hint: str | None = f"{target.label} renders these kinds: {', '.join(kinds)}" if kinds else None
            if others:
                hint = f"{kind}s of {target.label} here: {', '.join(others)}"
            found.append(NoEffect(where, f"{target.label} renders no {kind} {name}", hint))
            continue
        for patch_where, source, path, patch in parsed:
            value = patch.get("value")
            new_value = None if value is None else overlay_value(value, f"{patch_where}.value")
            for obj in matches:
                try:
                    if value is None:
                        paths.delete_value(obj, path)
                    else:
                        paths.set_value(obj, path, copy.deepcopy(new_value))
                except errors.PathNotFound as exc:
                    reason = exc.message.removeprefix(f"{source.flag}: ")
                    found.append(NoEffect(patch_where, f"{reason} in {kind} {_name(obj)}", exc.hint))
    return found
