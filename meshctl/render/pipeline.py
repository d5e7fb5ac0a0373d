"""The rendering pipeline: effective configuration to the ordered objects ``manifest generate`` prints.

``effective configuration → per-component values → templates → objects → k8s settings → overlays → labels →
ordering`` (``rendering.md`` §1). Pure: no cluster, no clock, no randomness; the same input gives the same objects,
and ``install`` applies exactly what this returns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from meshctl import errors, objects
from meshctl.config import layering, resources
from meshctl.render import components as component_table
from meshctl.render import gateways, k8s, k8scheck, templates

#: Namespaces every cluster has; ``--with-namespace`` never emits them.
BUILTIN_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


@dataclasses.dataclass(frozen=True)
class RenderResult:
    """Ordered objects plus what the caller should tell the user (``warning:`` lines).

    ``warnings`` holds every line to show, the settings without effect included (each with its ``hint:`` line);
    ``no_effect`` those settings again, structured.
    """

    objects: list[dict[str, Any]]
    warnings: tuple[str, ...] = ()
    no_effect: tuple[k8s.NoEffect, ...] = ()

    def by_component(self) -> dict[str, list[dict[str, Any]]]:
        """The objects grouped by component label, in component order (each group keeps the one order)."""
        grouped: dict[str, list[dict[str, Any]]] = {label: [] for label in component_table.LABELS}
        for obj in self.objects:
            grouped.setdefault(component_of(obj), []).append(obj)
        return {label: objs for label, objs in grouped.items() if objs}


def component_of(obj: Mapping[str, Any]) -> str:
    """The component label value of a rendered object (``""`` for objects outside any component)."""
    labels = (obj.get("metadata") or {}).get("labels") or {}
    return str(labels.get(objects.COMPONENT_LABEL, ""))


def render_manifests(
    config: layering.EffectiveConfig, *, components: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Render every enabled component (or only ``components``, by label value such as ``Pilot``).

    Returns the objects in the one output/apply order, with k8s settings, overlays and labels applied.
    """
    return render(config, components=components).objects


def render(config: layering.EffectiveConfig, *, components: Sequence[str] | None = None) -> RenderResult:
    """:func:`render_manifests` with the warnings (e.g. a ``--component`` that the configuration does not enable).

    A ``k8s`` setting or overlay that has no effect is a warning; with ``config.strict`` (``--strict``) they are one
    error (exit 3) naming each of them, raised once everything is rendered.
    """
    warnings: list[str] = []
    no_effect: list[k8s.NoEffect] = []
    instances = component_table.enabled_instances(config)
    if components is not None:
        wanted = [component_table.resolve_label(name) for name in components]
        enabled = {instance.label for instance in instances}
        for label in dict.fromkeys(wanted):
            if label not in enabled:
                warnings.append(f"component {label} is not enabled in this configuration; nothing rendered for it")
        instances = [instance for instance in instances if instance.label in wanted]
    root = resources.manifests_dir(config.manifests)
    rendered: list[dict[str, Any]] = []
    values_cache: dict[str, dict[str, Any]] = {}
    shapes: dict[str, list[dict[str, Any]] | None] = {}
    for instance in instances:
        rendered.extend(render_instance(config, instance, root, values_cache, shapes, no_effect))
    if no_effect and config.strict:
        raise strict_error(no_effect)
    check_unique(rendered)
    k8scheck.check_objects(rendered)
    rendered.sort(key=objects.sort_key)
    return RenderResult(rendered, (*warnings, *map(str, no_effect)), tuple(no_effect))


def strict_error(no_effect: Sequence[k8s.NoEffect]) -> errors.RenderError:
    """The error ``--strict`` makes of settings without effect: one names itself, several are listed."""
    if len(no_effect) == 1:
        (only,) = no_effect
        hint = f"{only.hint}; without --strict this is a warning" if only.hint else "without --strict this is a warning"
        return errors.RenderError(only.message, hint=hint)
    return errors.RenderError(
        f"{len(no_effect)} settings have no effect (errors because of --strict)",
        context=[item.message for item in no_effect],
        hint="remove or fix them, or run without --strict to render with warnings",
    )


def render_instance(
    config: layering.EffectiveConfig,
    instance: layering.Component,
    root: Path,
    values_cache: dict[str, dict[str, Any]],
    shapes: dict[str, list[dict[str, Any]] | None],
    no_effect: list[k8s.NoEffect] | None = None,
) -> list[dict[str, Any]]:
    """Render one instance: values, templates, objects, k8s settings, overlays, labels (not yet ordered).

    ``values_cache`` (per component) and ``shapes`` (per gateway shape, see :mod:`meshctl.render.gateways`) carry
    work over between the instances of one render; the settings that had no effect are added to ``no_effect``.
    """
    row = component_table.row_of(instance)
    template_dir = root / row.template_dir
    if not template_dir.is_dir():
        raise errors.RenderError(
            f"no templates for component {row.label}: {template_dir} is not a directory",
            hint="--manifests DIR must hold a directory per component (base, pilot, gateway, cni, ztunnel, addons/…)",
        )
    values = values_cache.get(row.key)
    if values is None:
        values = component_table.component_values(root, row, config.values)
        values_cache[row.key] = values
    context = component_table.build_context(config, row, instance, values)
    if row.kind == "gateway":
        objs = _render_gateway(template_dir, context, instance, shapes)
    else:
        objs = templates.render_template_dir(template_dir, context)
    target = k8s.Target(
        where=instance.path,
        label=row.label,
        workload_kind=row.workload_kind,
        workload_name=component_table.workload_name(row, instance, config.revision),
        container=row.container,
        service_ports_in_values=row.kind == "gateway",
        values_root=instance.values_root,
    )
    found = k8s.apply(objs, instance.k8s, target)
    if no_effect is not None:
        no_effect.extend(found)
    add_labels(objs, common_labels(config, row))
    return objs


def _render_gateway(
    template_dir: Path,
    context: dict[str, Any],
    instance: layering.Component,
    shapes: dict[str, list[dict[str, Any]] | None],
) -> list[dict[str, Any]]:
    key = gateways.shape_key(instance)
    template = shapes.get(key)
    if template is not None and gateways.eligible(instance.name):
        filled: list[dict[str, Any]] = gateways.fill(template, instance.name)
        return filled
    objs = templates.render_template_dir(template_dir, context)
    if key not in shapes:  # first entry of this shape: try to make it reusable (None: render each entry)
        shapes[key] = gateways.make_template(
            lambda ctx: templates.render_template_dir(template_dir, ctx), context, instance.name, objs
        )
    return objs


def membership_id(config: layering.EffectiveConfig, component: component_table.Component) -> str:
    """The ApplySet ID of the installation a component's objects belong to (``cluster.md`` §3).

    Base objects (CRDs, reader service account, default validator) are shared by every revision and belong to
    ``meshctl-base``; everything else to the revision's installation.
    """
    parent = (
        objects.BASE_INSTALLATION if component is component_table.BASE else objects.installation_name(config.revision)
    )
    return objects.applyset_id(parent, config.istio_namespace)


def common_labels(config: layering.EffectiveConfig, component: component_table.Component) -> dict[str, str]:
    """The labels the pipeline adds to every object of a component (``docs/dev/templates.md``, Labels)."""
    version = component_table.ISTIO_VERSION
    return {
        "app.kubernetes.io/instance": "istio",
        objects.MANAGED_BY_LABEL: objects.MANAGED_BY,
        "app.kubernetes.io/part-of": "istio",
        "app.kubernetes.io/version": version,
        objects.PART_OF_LABEL: membership_id(config, component),
        "helm.sh/chart": f"{component.chart}-{version}",
        "install.operator.istio.io/owning-resource": component_table.owner_name(config),
        objects.COMPONENT_LABEL: component.label,
    }


def add_labels(objs: Iterable[dict[str, Any]], labels: Mapping[str, str]) -> None:
    """Merge ``labels`` into each object's ``metadata.labels`` (they win over the template's), keys sorted."""
    for obj in objs:
        meta = obj.get("metadata")
        if not isinstance(meta, dict):
            raise errors.RenderError(f"{obj.get('kind')} has no metadata map after overlays")
        current = meta.get("labels")
        merged = {**current, **labels} if isinstance(current, dict) else dict(labels)
        meta["labels"] = {key: merged[key] for key in sorted(merged)}


def check_unique(objs: Iterable[Mapping[str, Any]]) -> None:
    """Two rendered objects with one identity would overwrite each other on apply: an error naming both sources."""
    seen: dict[tuple[str, str, str, str], str] = {}
    for obj in objs:
        ref = objects.ObjectRef.from_object(obj)
        key = (ref.group, ref.kind, ref.namespace, ref.name)
        owner = component_of(obj)
        if key in seen:
            where = f"{ref.namespace}/{ref.name}" if ref.namespace else ref.name
            raise errors.RenderError(
                f"{ref.kind} {where} is rendered twice (by {seen[key]} and {owner})",
                hint="give each gateway its own name, or each component its own namespace",
            )
        seen[key] = owner


def namespaces_for(config: layering.EffectiveConfig, objs: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Namespace objects for each namespace the rendered objects use (``--with-namespace``; what install creates).

    The Istio namespace is always included when anything is rendered (it also holds the inventory); namespaces
    every cluster has (``default``, ``kube-system``, …) are left out. Like istioctl's install, a namespace gets the
    label ``topology.istio.io/network`` when ``values.global.network`` is set.
    """
    if not objs:
        return []
    names = {config.istio_namespace}
    names.update(str((o.get("metadata") or {}).get("namespace") or "") for o in objs)
    names -= BUILTIN_NAMESPACES | {""}
    glob = config.values.get("global") or {}
    network = glob.get("network") if isinstance(glob, Mapping) else None
    result = []
    for name in sorted(names):
        meta: dict[str, Any] = {"name": name}
        if network:
            meta["labels"] = {"topology.istio.io/network": str(network)}
        result.append({"apiVersion": "v1", "kind": "Namespace", "metadata": meta})
    return result
