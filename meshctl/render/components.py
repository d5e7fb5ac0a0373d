"""The component table: how each component renders, in which order, and what its templates see.

One row per component kind (``rendering.md`` §2, ``istio-manifest-inventory.md`` §1.2): its IstioOperator key, the
``operator.istio.io/component`` label value, the progress name, the template directory under ``manifests/``, the
chart name of the ``helm.sh/chart`` label, the values root, and the main workload the ``k8s`` settings patch.
Gateways and add-ons render once per *instance* (gateway entry, add-on); everything else once. Which instances are
enabled, and their namespaces, is the configuration engine's decision (``layering.enabled_components``).

The template context is the one ``docs/dev/templates.md`` defines. Values trees are merged with structural sharing
(nothing downstream mutates them), and the merged defaults of a component are computed once per render, so a
thousand gateways cost one values merge, not a thousand.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

import meshctl
from meshctl import errors, yamlio
from meshctl.config import layering

ISTIO_VERSION = meshctl.ISTIO_VERSION
"""The Istio version the templates render (``app.kubernetes.io/version``, chart label, ``istio_version``)."""


@dataclasses.dataclass(frozen=True)
class Component:
    """One row of the component table."""

    key: str  # IstioOperator key: spec.components.<key> (or spec.addonComponents.<key> for add-ons)
    label: str  # operator.istio.io/component value; also the -o DIR file name and the --component name
    progress_name: str  # the name install prints ("✔ Istiod installed")
    template_dir: str  # directory under manifests/
    chart: str  # helm.sh/chart is <chart>-<istio version>
    workload_kind: str | None  # main workload the k8s settings patch (None: only overlays apply)
    workload_name: str  # main workload name; "{rev_suffix}", "{name}" are filled in per instance
    container: str | None  # main container; None: the workload's first container
    kind: str = "single"  # "single", "gateway" (a list of entries) or "addon"

    @property
    def values_root(self) -> str:
        """Dotted path of this component's values (gateway/add-on templates see it as ``gateway``/``addon``)."""
        return layering.VALUES_ROOTS[self.key]

    @property
    def config_path(self) -> str:
        """Where this component lives in the IstioOperator spec (for messages)."""
        return f"addonComponents.{self.key}" if self.kind == "addon" else f"components.{self.key}"


BASE = Component("base", "Base", "Istio core", "base", "base", None, "", None)
PILOT = Component("pilot", "Pilot", "Istiod", "pilot", "istiod", "Deployment", "istiod{rev_suffix}", "discovery")
CNI = Component("cni", "Cni", "CNI", "cni", "cni", "DaemonSet", "istio-cni-node", "install-cni")
ZTUNNEL = Component("ztunnel", "Ztunnel", "Ztunnel", "ztunnel", "ztunnel", "DaemonSet", "ztunnel", "istio-proxy")


def _gateway(key: str, label: str, progress_name: str, chart: str) -> Component:
    """A gateway row: one Deployment per gateway entry, named after the entry, from ``manifests/gateway``."""
    return Component(key, label, progress_name, "gateway", chart, "Deployment", "{name}", "istio-proxy", kind="gateway")


def _addon(key: str, chart: str) -> Component:
    """An add-on row: one Deployment named after its chart, from ``manifests/addons/<chart>``."""
    return Component(
        key, "AddonComponents", "Addons", f"addons/{chart}", chart, "Deployment", chart, None, kind="addon"
    )


INGRESS = _gateway("ingressGateways", "IngressGateways", "Ingress gateways", "istio-ingress")
EGRESS = _gateway("egressGateways", "EgressGateways", "Egress gateways", "istio-egress")
PROMETHEUS = _addon("prometheus", "prometheus")
GRAFANA = _addon("grafana", "grafana")
KIALI = _addon("kiali", "kiali")
TRACING = _addon("tracing", "jaeger")

#: Every component in the tie-break order of ``rendering.md`` §6 (add-ons in their documented order).
COMPONENTS: tuple[Component, ...] = (BASE, PILOT, CNI, ZTUNNEL, INGRESS, EGRESS, PROMETHEUS, GRAFANA, KIALI, TRACING)
#: The component names of ``--component`` and ``-o DIR`` files, in order.
LABELS: tuple[str, ...] = tuple(dict.fromkeys(c.label for c in COMPONENTS))
#: What install prints per component label (``✔ <name> installed``).
PROGRESS_NAMES: dict[str, str] = {c.label: c.progress_name for c in COMPONENTS}


def resolve_label(name: str) -> str:
    """The label value a ``--component`` name means (case-insensitive; IstioOperator keys also accepted).

    ``pilot``, ``Pilot`` and ``PILOT`` mean ``Pilot``; ``ingressGateways`` means ``IngressGateways``;
    ``addonComponents`` and an add-on's own name (``kiali``) mean ``AddonComponents``.
    """
    wanted = name.strip().lower()
    for component in COMPONENTS:
        if wanted in (component.label.lower(), component.key.lower()):
            return component.label
    if wanted == "addoncomponents":
        return "AddonComponents"
    raise errors.UsageError(
        f"unknown component {name!r}",
        hint=f"valid components: {', '.join(LABELS)}",
    )


#: The table row of each IstioOperator key.
BY_KEY: dict[str, Component] = {c.key: c for c in COMPONENTS}


def row_of(instance: layering.Component) -> Component:
    """The table row of an enabled component or add-on of the configuration."""
    try:
        return BY_KEY[instance.key]
    except KeyError:
        raise errors.RenderError(f"{instance.path}: meshctl has no templates for component {instance.key}") from None


def enabled_instances(config: layering.EffectiveConfig) -> list[layering.Component]:
    """The instances to render (the configuration engine decides enablement), in component order.

    Gateways keep their list order; add-ons follow the table order.
    """
    instances = layering.enabled_components(config)
    order = {c.key: i for i, c in enumerate(COMPONENTS)}
    return sorted(instances, key=lambda inst: order.get(inst.key, len(order)))  # stable: keeps gateway order


def workload_name(row: Component, instance: layering.Component, revision: str) -> str:
    """The name of the instance's main workload (and of its Service, HPA and PDB)."""
    return row.workload_name.format(rev_suffix=f"-{revision}" if revision else "", name=instance.name)


# --- values and context -------------------------------------------------------------------------------------------


def _get(tree: Mapping[str, Any], dotted: str) -> Any:
    """The value at a dotted values root; ``gateways.istio-ingressgateway`` has no dots inside its keys."""
    node: Any = tree
    for key in dotted.split("."):
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def merge_shared(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """``overlay`` merged into ``base`` (maps merge, lists and scalars replace), sharing unmerged subtrees.

    No copies: the result refers to the inputs' subtrees wherever it does not need a merged map. That is safe
    because values trees are read-only from here on (templates read them; objects are parsed from template text).
    """
    merged = dict(base)
    for key, value in overlay.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = merge_shared(current, value)
        else:
            merged[key] = value
    return merged


@functools.cache
def load_values_file(path: Path) -> Mapping[str, Any]:
    """A values file, parsed once per process (missing file: empty). Never mutate the result."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise errors.RenderError(f"values file {path} cannot be read: {exc.strerror}") from exc
    try:
        data = yamlio.load_yaml(text)
    except yaml.YAMLError as exc:
        raise errors.RenderError(f"values file {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise errors.RenderError(f"values file {path} must hold a map of values")
    return data


@functools.cache
def _default_values(root: Path, template_dir: str) -> Mapping[str, Any]:
    return merge_shared(load_values_file(root / "values.yaml"), load_values_file(root / template_dir / "values.yaml"))


def component_values(root: Path, component: Component, effective_values: Mapping[str, Any]) -> dict[str, Any]:
    """``manifests/values.yaml`` ← ``manifests/<dir>/values.yaml`` ← the effective values (user values win)."""
    return merge_shared(_default_values(root, component.template_dir), effective_values)


def gateway_values(row: Component, instance: layering.Component, values: Mapping[str, Any]) -> dict[str, Any]:
    """The ``gateway`` context of one entry: the kind's defaults and user values, then the entry's own settings.

    The entry's own settings (``name``, ``labels``, ``ports``, ``hub``/``tag``, replica counts, CPU) come from the
    configuration engine (``Component.values``); ``kind`` is ``ingress`` or ``egress``.
    """
    defaults = _get(values, row.values_root)
    own = {**instance.values, "kind": "ingress" if row is INGRESS else "egress"}
    own.setdefault("name", instance.name)
    own.setdefault("labels", {})
    return merge_shared(defaults if isinstance(defaults, Mapping) else {}, own)


def addon_values(row: Component, instance: layering.Component, values: Mapping[str, Any]) -> dict[str, Any]:
    """The ``addon`` context: ``values.<addon>`` with the entry's ``hub``/``tag`` over it."""
    own = {key: instance.spec[key] for key in ("hub", "tag") if instance.spec.get(key) not in (None, "")}
    defaults = _get(values, row.values_root)
    return merge_shared(defaults if isinstance(defaults, Mapping) else {}, own)


def owner_name(config: layering.EffectiveConfig) -> str:
    """The IstioOperator's ``metadata.name``, or ``unknown`` (the ``owning-resource`` label)."""
    meta = config.iop.get("metadata") or {}
    name = meta.get("name") if isinstance(meta, Mapping) else None
    return str(name) if name else "unknown"


def build_context(
    config: layering.EffectiveConfig, row: Component, instance: layering.Component, values: Mapping[str, Any]
) -> dict[str, Any]:
    """Everything a template sees (``docs/dev/templates.md``), for one instance with its component's values."""
    revision = config.revision
    context: dict[str, Any] = {
        "values": values,
        "component": {
            "name": row.label,
            "key": row.key,
            "namespace": instance.namespace,
            "spec": instance.spec,
        },
        "namespace": instance.namespace,
        "istio_namespace": config.istio_namespace,
        "revision": revision,
        "rev_suffix": f"-{revision}" if revision else "",
        "rev_label": revision or "default",
        "istio_version": ISTIO_VERSION,
        "owner_name": owner_name(config),
    }
    if row.kind == "gateway":
        context["gateway"] = gateway_values(row, instance, values)
    elif row.kind == "addon":
        context["addon"] = addon_values(row, instance, values)
    return context
