"""The one layering order: default profile, named profile, files, --set, translation, validation.

``config.md`` §3, in one place:

1. ``profiles/default.yaml``;
2. the named profile (positional PROFILE < ``spec.profile`` of the files < ``--set profile=X``; last wins);
3. each ``-f`` file in order (``-`` = stdin, only last);
4. each ``--set`` in order, applied to the merged tree (so ``[0]`` and ``[name:x]`` address the profile's lists),
   then the aliases ``--manifests DIR`` (``installPackagePath``) and ``-r REV`` (``revision``);
5. translation into ``values``: platform and compatibility layers < the merged ``spec.values`` < translated
   settings (hub, tag, revision, meshConfig, compatibilityVersion, component hub/tag, gateway name/label/ports,
   enablement) < the values the files and ``--set`` changed (the user's own values win);
6. validation (errors all at once; ``--force`` makes them warnings; ``--strict`` makes the warnings errors, even
   with ``--force``), then ``unvalidatedValues``.

Merge rules (:mod:`meshctl.config.merging`, one configured ``deepmerge`` merger): maps merge key by key; lists and
scalars in the overlay replace; an explicit ``null`` removes the key.

:class:`EffectiveConfig` is what ``meshctl.render`` reads; :class:`Component` (in ``EffectiveConfig.components``)
says for every component and add-on whether it is enabled, where it goes, and which values it adds.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from meshctl import errors
from meshctl.config import loading, merging, paths, profiles, schema, validation

API_VERSION = "install.istio.io/v1alpha1"
KIND = "IstioOperator"
DEFAULT_NAMESPACE = "istio-system"

#: Labels (``operator.istio.io/component``) of the component kinds, in render order.
LABELS = {
    "base": "Base",
    "pilot": "Pilot",
    "cni": "Cni",
    "ztunnel": "Ztunnel",
    "istiodRemote": "IstiodRemote",
    "ingressGateways": "IngressGateways",
    "egressGateways": "EgressGateways",
    "addonComponents": "AddonComponents",
}
SINGLE_COMPONENTS = ("base", "pilot", "cni", "ztunnel", "istiodRemote")
GATEWAY_KINDS = ("ingressGateways", "egressGateways")
ADDONS = ("prometheus", "grafana", "kiali", "tracing")
#: Where each component's settings live in ``values`` (upstream chart value roots).
VALUES_ROOTS = {
    "base": "global",
    "pilot": "pilot",
    "cni": "cni",
    "ztunnel": "ztunnel",
    "istiodRemote": "istiodRemote",
    "ingressGateways": "gateways.istio-ingressgateway",
    "egressGateways": "gateways.istio-egressgateway",
    "prometheus": "prometheus",
    "grafana": "grafana",
    "kiali": "kiali",
    "tracing": "tracing",
}
DEFAULT_GATEWAY_NAMES = {"ingressGateways": "istio-ingressgateway", "egressGateways": "istio-egressgateway"}
_ON_BY_DEFAULT = {"base": True, "pilot": True, "cni": False, "ztunnel": False, "istiodRemote": False}


@dataclasses.dataclass(frozen=True)
class ConfigInput:
    """What the user gave: files (``-`` is stdin), ``--set`` flags in order, an optional profile argument."""

    files: tuple[str, ...] = ()
    sets: tuple[str, ...] = ()
    profile: str | None = None  # positional PROFILE of `profile dump`; --set profile=X beats it
    manifests: str | None = None  # -d/--manifests DIR
    revision: str | None = None  # -r/--revision (alias of --set revision=REV)
    force: bool = False  # validation errors become warnings
    strict: bool = False  # warnings about settings that have no effect become errors (also when forced)


@dataclasses.dataclass(frozen=True)
class Component:
    """One component or add-on of the effective configuration, enabled or not.

    ``key`` is the IstioOperator key (``base``, ``pilot``, ``cni``, ``ztunnel``, ``istiodRemote``,
    ``ingressGateways``, ``egressGateways``, or the add-on name ``prometheus``/``grafana``/``kiali``/``tracing``);
    ``label`` is the ``operator.istio.io/component`` value; ``path`` is where the entry lives in the spec
    (``components.ingressGateways[0]``). ``spec`` is the entry as given (``{}`` when absent). ``values`` is what
    this entry adds over ``values.<values_root>``: for gateways the entry's ``name``, ``labels``, ``ports``
    (``k8s.service.ports``) and ``hub``/``tag``; for the other components their ``hub``/``tag`` are already in
    ``EffectiveConfig.values`` and ``values`` is ``{}``. Istio 1.30 translates nothing else: the other ``k8s``
    settings (``hpaSpec``, ``replicaCount``, ``resources``, …) only patch the rendered objects.
    """

    key: str
    label: str
    name: str
    path: str
    enabled: bool
    namespace: str
    values_root: str
    spec: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    values: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    index: int | None = None

    @property
    def k8s(self) -> Mapping[str, Any]:
        k8s: Mapping[str, Any] = self.spec.get("k8s") or {}
        return k8s

    @property
    def is_gateway(self) -> bool:
        return self.key in GATEWAY_KINDS

    @property
    def is_addon(self) -> bool:
        return self.key in ADDONS


@dataclasses.dataclass(frozen=True)
class EffectiveConfig:
    """The result of layering, translation and validation.

    ``iop`` is the merged IstioOperator document (apiVersion, kind, metadata, spec) *before* translation into
    values (what ``profile dump`` prints). ``values`` is the translated Helm-style values tree the templates read
    (after the platform/compatibility layers, the user's own values, validation and ``unvalidatedValues``).
    ``components`` lists every component and add-on (see :func:`enabled_components`).
    """

    iop: dict[str, Any]
    values: dict[str, Any]
    profile: str
    revision: str  # "" when there is no revision ("default" is normalised to "")
    istio_namespace: str
    manifests: str | None
    warnings: tuple[str, ...] = ()
    components: tuple[Component, ...] = ()
    strict: bool = False  # --strict: rendering fails on settings that have no effect

    @property
    def spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = self.iop.get("spec") or {}
        return spec


def enabled_components(config: EffectiveConfig) -> list[Component]:
    """The enabled components and add-ons, in render order (base, pilot, cni, ztunnel, gateways, add-ons).

    ``istiodRemote`` is never included: it renders nothing (a warning says so when it is enabled).
    """
    return [c for c in config.components if c.enabled and c.key != "istiodRemote"]


def find_component(config: EffectiveConfig, key: str, name: str | None = None) -> Component | None:
    """The component with IstioOperator key ``key`` (and, for gateways, entry ``name``), enabled or not."""
    for component in config.components:
        if component.key == key and (name is None or component.name == name):
            return component
    return None


# ---------------------------------------------------------------------------------------------------------------
# Steps 1-4


@dataclasses.dataclass(frozen=True)
class MergedConfig:
    """Steps 1-4 with what translation needs to know: the profile-only tree and the resolved names."""

    iop: dict[str, Any]
    profile: str
    manifests: str | None
    profile_iop: dict[str, Any]


def _stdin_check(files: Sequence[str]) -> None:
    for i, name in enumerate(files):
        if name.strip() == "-" and i != len(files) - 1:
            raise errors.UsageError("-f -: standard input may only be the last -f", hint="move -f - to the end")


def _string_setting(value: Any, what: str, source: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise errors.InputError(f"{source}: {what} must be a string, not {paths.describe(value)}")
    return value


def _alias(flag: str, path: str, value: str) -> paths.Assignment:
    parsed = paths.parse_path(path, paths.Mode.SET, source=paths.Source(flag, value))
    return paths.Assignment(parsed, value, True, value)


def _assignments(inp: ConfigInput) -> list[tuple[paths.Assignment, Any]]:
    typed: list[tuple[paths.Assignment, Any]] = []
    parsed = [paths.parse_assignment(arg) for arg in inp.sets]
    if inp.manifests is not None:
        parsed.append(_alias("--manifests", "installPackagePath", inp.manifests))
    if inp.revision is not None:
        parsed.append(_alias("--revision", "revision", inp.revision))
    for assignment in parsed:
        if not inp.force:
            _check_known(assignment)
        typed.append((assignment, paths.type_value(assignment, schema.spec_type_at(assignment.path.segments))))
    return typed


def _check_known(assignment: paths.Assignment) -> None:
    """A --set path through a field the schema does not have fails at once, with a caret and a did-you-mean."""
    segments = assignment.path.segments
    found = schema.unknown_key(segments)
    if found is None:
        return
    index, guess, known = found
    segment = segments[index]
    where = f"in {paths.format_path(segments[:index])}" if index else "at the top level"
    if guess is not None:
        hint = f"did you mean {paths.format_path((*segments[:index], dataclasses.replace(segment, key=guess)))}?"
    else:
        hint = f"known fields {where}: {', '.join(known)}"
    raise assignment.path.error(f"unknown field {segment.key!r} {where}", segment, hint=hint)


def _top_key(assignment: paths.Assignment) -> str | None:
    segs = assignment.path.segments
    if len(segs) == 1 and segs[0].kind is paths.Kind.KEY:
        return segs[0].key
    return None


def merge_config(inp: ConfigInput, stdin: TextIO | None = None) -> dict[str, Any]:
    """Steps 1-4: the merged IstioOperator document (profile + files + sets), not yet translated or validated."""
    return merge_layers(inp, stdin).iop


def merge_layers(inp: ConfigInput, stdin: TextIO | None = None) -> MergedConfig:
    """Steps 1-4, keeping the profile-only tree for translation (which values did the user change?)."""
    _stdin_check(inp.files)
    sets = _assignments(inp)  # parse and type every --set before reading any file: cheap errors first
    files = loading.load_iop_files(inp.files, stdin)

    profile = inp.profile
    manifests: str | None = None
    for name, doc in files:
        spec = doc.get("spec") or {}
        profile = _string_setting(spec.get("profile"), "spec.profile", name) or profile
        manifests = _string_setting(spec.get("installPackagePath"), "spec.installPackagePath", name) or manifests
    for assignment, value in sets:
        key = _top_key(assignment)
        if key == "profile":
            profile = _string_setting(value, "profile", assignment.path.source.display) or profile
        elif key == "installPackagePath":
            manifests = _string_setting(value, "installPackagePath", assignment.path.source.display) or manifests
    profile = profile or profiles.DEFAULT_PROFILE

    base = profiles.load_profile(profiles.DEFAULT_PROFILE, manifests)
    if profile != profiles.DEFAULT_PROFILE:
        base = merging.merge(base, profiles.load_profile(profile, manifests))
    base.setdefault("apiVersion", API_VERSION)
    base.setdefault("kind", KIND)
    spec = base.get("spec") or {}
    base["spec"] = {"profile": profile, **{k: v for k, v in spec.items() if k != "profile"}}
    profile_iop = copy.deepcopy(base)

    iop = base
    for _name, doc in files:
        iop = merging.merge(iop, doc)
    iop.setdefault("spec", {})
    for assignment, value in sets:
        paths.set_value(iop["spec"], assignment.path, copy.deepcopy(value))
    iop["spec"]["profile"] = profile
    if manifests is not None:
        iop["spec"]["installPackagePath"] = manifests
    return MergedConfig(iop=iop, profile=profile, manifests=manifests, profile_iop=profile_iop)


# ---------------------------------------------------------------------------------------------------------------
# Step 5: translation


def normalise_revision(revision: Any) -> str:
    """``""`` for no revision (unset, empty or ``default``), else the revision as given."""
    if revision is None or revision == "" or revision == "default":
        return ""
    return str(revision)


def _set_in(tree: dict[str, Any], dotted: str, value: Any) -> None:
    node = tree
    keys = dotted.split(".") if not dotted.startswith("gateways.") else ["gateways", dotted[len("gateways.") :]]
    for key in keys:
        child = node.get(key)
        if not isinstance(child, dict):
            child = {}
            node[key] = child
        node = child
    node.update(value)


def _get_in(tree: Mapping[str, Any], *keys: str) -> Any:
    node: Any = tree
    for key in keys:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def _enabled(entry: Any, default: bool) -> bool:
    """Present with ``enabled`` unset counts as enabled; absent takes the component's default."""
    if not isinstance(entry, Mapping):
        return default
    return entry.get("enabled") is not False


def _image_values(entry: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if entry.get("hub") not in (None, ""):
        out["hub"] = entry["hub"]
    if entry.get("tag") not in (None, ""):
        out["tag"] = str(entry["tag"])
    return out


def build_components(spec: Mapping[str, Any], values: Mapping[str, Any], istio_namespace: str) -> list[Component]:
    """Every component and add-on with its enablement, namespace and value additions (config.md §1)."""
    components_spec = spec.get("components") if isinstance(spec.get("components"), Mapping) else {}
    assert isinstance(components_spec, Mapping)
    result: list[Component] = []

    def namespace_of(entry: Any) -> str:
        if isinstance(entry, Mapping) and isinstance(entry.get("namespace"), str) and entry["namespace"]:
            return str(entry["namespace"])
        return istio_namespace

    for key in SINGLE_COMPONENTS:
        entry = components_spec.get(key)
        result.append(
            Component(
                key=key,
                label=LABELS[key],
                name=key,
                path=f"components.{key}",
                enabled=_enabled(entry, _ON_BY_DEFAULT[key]),
                namespace=namespace_of(entry),
                values_root=VALUES_ROOTS[key],
                spec=copy.deepcopy(entry) if isinstance(entry, Mapping) else {},
            )
        )
    for kind in GATEWAY_KINDS:
        entries = components_spec.get(kind)
        force = _get_in(values, "gateways", DEFAULT_GATEWAY_NAMES[kind], "enabled") is True
        if not isinstance(entries, list):
            entries = [{"name": DEFAULT_GATEWAY_NAMES[kind]}] if (kind == "ingressGateways" or force) else []
            implicit = True
        else:
            implicit = False
        for index, entry in enumerate(entries):
            if not isinstance(entry, Mapping):
                continue  # validation reports it
            name = entry.get("name") if isinstance(entry.get("name"), str) and entry.get("name") else None
            name = name or DEFAULT_GATEWAY_NAMES[kind]
            overlay: dict[str, Any] = {"name": name, "labels": copy.deepcopy(entry.get("label") or {})}
            ports = _get_in(entry, "k8s", "service", "ports")
            if isinstance(ports, list):
                overlay["ports"] = copy.deepcopy(ports)
            overlay.update(_image_values(entry))
            result.append(
                Component(
                    key=kind,
                    label=LABELS[kind],
                    name=name,
                    path=f"components.{kind}" if implicit else f"components.{kind}[{index}]",
                    enabled=force or _enabled(entry, True),
                    namespace=namespace_of(entry),
                    values_root=VALUES_ROOTS[kind],
                    spec=copy.deepcopy(dict(entry)),
                    values=overlay,
                    index=index,
                )
            )
    addons_spec = spec.get("addonComponents") if isinstance(spec.get("addonComponents"), Mapping) else {}
    assert isinstance(addons_spec, Mapping)
    for addon in ADDONS:
        entry = addons_spec.get(addon)
        result.append(
            Component(
                key=addon,
                label=LABELS["addonComponents"],
                name=addon,
                path=f"addonComponents.{addon}",
                enabled=_enabled(entry, False),
                namespace=namespace_of(entry),
                values_root=VALUES_ROOTS[addon],
                spec=copy.deepcopy(entry) if isinstance(entry, Mapping) else {},
            )
        )
    return result


@dataclasses.dataclass(frozen=True)
class Translation:
    values: dict[str, Any]
    components: list[Component]
    istio_namespace: str
    revision: str


def translate(merged: MergedConfig) -> Translation:
    """Step 5: the values tree the templates read, and the component table."""
    iop = merged.iop
    spec: dict[str, Any] = iop.get("spec") or {}
    merged_values = spec.get("values") if isinstance(spec.get("values"), dict) else {}
    assert isinstance(merged_values, dict)
    profile_values = _get_in(merged.profile_iop, "spec", "values")
    user_values = merging.diff(profile_values if isinstance(profile_values, dict) else {}, merged_values)

    translated: dict[str, Any] = {}
    glob: dict[str, Any] = {}
    if spec.get("hub") not in (None, ""):
        glob["hub"] = spec["hub"]
    if spec.get("tag") not in (None, ""):
        glob["tag"] = str(spec["tag"])
    if glob:
        translated["global"] = glob
    translated["revision"] = normalise_revision(spec.get("revision"))
    if spec.get("compatibilityVersion") not in (None, ""):
        translated["compatibilityVersion"] = str(spec["compatibilityVersion"])
    if isinstance(spec.get("meshConfig"), dict):
        translated["meshConfig"] = copy.deepcopy(spec["meshConfig"])

    # The namespace first: component namespaces default to it.
    before = merging.merge(merging.merge(merged_values, translated), user_values)
    istio_namespace = _get_in(before, "global", "istioNamespace")
    if not isinstance(istio_namespace, str) or not istio_namespace:
        meta_ns = _get_in(iop, "metadata", "namespace")
        istio_namespace = meta_ns if isinstance(meta_ns, str) and meta_ns else DEFAULT_NAMESPACE
    components = build_components(spec, before, istio_namespace)

    for component in components:
        if component.is_gateway:
            continue
        if component.key == "base":
            additions = _image_values(component.spec)
        elif component.is_addon:
            additions = {"enabled": component.enabled, **_image_values(component.spec)}
        else:
            additions = {**_image_values(component.spec)}
        if component.key == "pilot":
            additions["enabled"] = component.enabled
            additions["cni"] = {"enabled": _component_enabled(components, "cni")}
        if additions:
            _set_in(translated, component.values_root, additions)

    values = merging.merge(merging.merge(merged_values, translated), user_values)
    if not isinstance(values.get("global"), dict):  # a wrong type here is reported by validation (or --force)
        values["global"] = {}
    values["global"]["istioNamespace"] = istio_namespace
    if not values.get("profile"):
        values["profile"] = merged.profile

    layers: dict[str, Any] = {}
    compat = values.get("compatibilityVersion")
    if compat not in (None, ""):
        layers = merging.merge(layers, profiles.load_compatibility(str(compat), merged.manifests))
    platform = _get_in(values, "global", "platform")
    if platform not in (None, ""):
        layers = merging.merge(layers, profiles.load_platform(str(platform), merged.manifests))
    if layers:
        values = merging.merge(layers, values)
    values = merging.drop_nulls(values)
    revision = normalise_revision(values.get("revision"))
    values["revision"] = revision
    return Translation(values=values, components=components, istio_namespace=istio_namespace, revision=revision)


def _component_enabled(components: Sequence[Component], key: str) -> bool:
    return any(c.enabled for c in components if c.key == key)


# ---------------------------------------------------------------------------------------------------------------
# Steps 5-6


def build_effective_config(inp: ConfigInput, stdin: TextIO | None = None) -> EffectiveConfig:
    """Steps 1-6: merge, translate into values, validate (warnings collected, errors raised all at once)."""
    merged = merge_layers(inp, stdin)
    translation = translate(merged)
    report = validation.validate(merged.iop, translation.values)
    warnings = list(report.warnings)
    if inp.strict and warnings and (inp.force or not report.errors):
        # --force wins over validation errors, --strict still fails on the warnings (product.md §2).
        raise strict_error(warnings)
    if report.errors:
        if not inp.force:
            raise errors.ValidationError(
                report.errors,
                hint="fix the settings above, or pass --force to continue despite them",
                warnings=warnings,
            )
        warnings.extend(f"{problem} (continuing because of --force)" for problem in report.errors)
    values = translation.values
    unvalidated = merged.iop.get("spec", {}).get("unvalidatedValues")
    if isinstance(unvalidated, dict):
        values = merging.drop_nulls(merging.merge(values, unvalidated))
    return EffectiveConfig(
        iop=merged.iop,
        values=values,
        profile=merged.profile,
        revision=translation.revision,
        istio_namespace=translation.istio_namespace,
        manifests=merged.manifests,
        warnings=tuple(warnings),
        components=tuple(translation.components),
        strict=inp.strict,
    )


def strict_error(warnings: Sequence[str]) -> errors.InputError:
    """The error ``--strict`` makes of configuration warnings: one names itself, several are listed."""
    if len(warnings) == 1:
        return errors.InputError(warnings[0], hint="without --strict this is a warning")
    return errors.InputError(
        f"{len(warnings)} configuration warnings (errors because of --strict)",
        context=warnings,
        hint="remove or fix these settings, or run without --strict",
    )
