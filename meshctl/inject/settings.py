"""What injection needs to know: the injector configuration, the mesh configuration and the injector values.

These are the three data keys istiod reads: ``config`` and ``values`` of the ``istio-sidecar-injector`` ConfigMap
and ``mesh`` of the ``istio`` ConfigMap (``-<revision>`` suffixed for a revision). kube-inject gets them from one
of three places (``meshctl.ops.inject`` decides which): the ConfigMaps meshctl renders for ``-f/--set`` offline,
the ConfigMaps in the cluster (``--from-cluster``), or files in the form istioctl accepts (``--injectConfigFile``,
``--meshConfigFile``, ``--valuesFile``: the content of the data key, or the whole ConfigMap).
"""

from __future__ import annotations

import dataclasses
import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from meshctl import errors, gotemplate, yamlio

INJECTOR_CONFIGMAP = "istio-sidecar-injector"
MESH_CONFIGMAP = "istio"
#: The data keys istiod reads, by ConfigMap.
CONFIG_KEY, VALUES_KEY, MESH_KEY = "config", "values", "mesh"

POLICY_ENABLED, POLICY_DISABLED = "enabled", "disabled"


def configmap_name(base: str, revision: str | None) -> str:
    """``istio-sidecar-injector`` or ``istio-sidecar-injector-<rev>`` (no suffix for the default revision)."""
    return f"{base}-{revision}" if revision and revision != "default" else base


@dataclasses.dataclass(frozen=True, eq=False)
class InjectorConfig:
    """The injector ConfigMap's ``config``: templates by name and the rules that pick pods and templates."""

    templates: Mapping[str, str]
    default_templates: tuple[str, ...] = ("sidecar",)
    policy: str = POLICY_ENABLED
    always_inject_selector: tuple[Mapping[str, Any], ...] = ()
    never_inject_selector: tuple[Mapping[str, Any], ...] = ()
    injected_annotations: Mapping[str, str] = dataclasses.field(default_factory=dict)
    aliases: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    def template(self, name: str) -> gotemplate.Template:
        """The parsed template ``name`` (parsed once); a name the config lacks is an error listing the known ones."""
        if name not in self.templates:
            known = ", ".join(sorted(self.templates)) or "none"
            raise errors.InputError(
                f"requested injection template {name!r} not found; the injector has: {known}",
                hint="check the inject.istio.io/templates annotation and the injector's defaultTemplates",
            )
        return _parse(self, name)


@functools.cache
def _cached_parse(text: str, name: str) -> gotemplate.Template:
    return gotemplate.parse(text, name)


def _parse(config: InjectorConfig, name: str) -> gotemplate.Template:
    return _cached_parse(config.templates[name], name)


@dataclasses.dataclass(frozen=True, eq=False)
class Settings:
    """Everything injection reads besides the pod: injector config, mesh config, injector values, revision."""

    injector: InjectorConfig
    mesh: Mapping[str, Any]
    values: Mapping[str, Any]
    revision: str = ""

    @property
    def default_proxy_config(self) -> Mapping[str, Any]:
        config = self.mesh.get("defaultConfig")
        return config if isinstance(config, Mapping) else {}


def _load(text: str, source: str, what: str) -> Any:
    try:
        return yamlio.load_yaml(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise errors.InputError(f"{source}: {what} is not valid YAML{where}: {problem}") from exc


def _data_of(document: Any, key: str, source: str) -> Any:
    """A whole ConfigMap given where its data key was expected: take the key (istioctl's files hold the key only)."""
    if isinstance(document, Mapping) and document.get("kind") == "ConfigMap":
        data = document.get("data") or {}
        if key not in data:
            raise errors.InputError(f"{source}: the ConfigMap has no data key {key!r}")
        return data[key]
    return None


def _load_data(text: str, key: str, source: str, what: str) -> Any:
    """The YAML of ``text``, or of its data ``key`` when ``text`` is a whole ConfigMap (see :func:`_data_of`)."""
    document = _load(text, source, what)
    inner = _data_of(document, key, source)
    if inner is not None:
        document = _load(str(inner), source, what)
    return document


def parse_injector_config(text: str, source: str) -> InjectorConfig:
    """The ``config`` key (YAML): ``templates``, ``defaultTemplates``, ``policy``, selectors, annotations, aliases."""
    document = _load_data(text, CONFIG_KEY, source, "the injector configuration")
    if not isinstance(document, Mapping):
        raise errors.InputError(f"{source}: the injector configuration must be a mapping with 'templates'")
    templates = document.get("templates") or {}
    if not isinstance(templates, Mapping) or not all(isinstance(v, str) for v in templates.values()):
        raise errors.InputError(f"{source}: 'templates' must map template names to template text")
    defaults = document.get("defaultTemplates") or ["sidecar"]
    policy = str(document.get("policy") or POLICY_ENABLED)
    aliases = {
        str(k): tuple(str(n) for n in _list(v, f"aliases.{k}", source))
        for k, v in _mapping(document.get("aliases"), "aliases", source).items()
    }
    annotations = _mapping(document.get("injectedAnnotations"), "injectedAnnotations", source)
    return InjectorConfig(
        templates=dict(templates),
        default_templates=tuple(str(name) for name in _list(defaults, "defaultTemplates", source)),
        policy=policy,
        always_inject_selector=tuple(_list(document.get("alwaysInjectSelector"), "alwaysInjectSelector", source)),
        never_inject_selector=tuple(_list(document.get("neverInjectSelector"), "neverInjectSelector", source)),
        injected_annotations={str(k): str(v) for k, v in annotations.items()},
        aliases=aliases,
    )


def _mapping(value: Any, key: str, source: str) -> Mapping[Any, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise errors.InputError(f"{source}: {key!r} must be a mapping")
    return value


def _list(value: Any, key: str, source: str) -> Sequence[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise errors.InputError(f"{source}: {key!r} must be a list")
    return value


def parse_mesh_config(text: str, source: str) -> dict[str, Any]:
    """The ``mesh`` key (MeshConfig as YAML); an empty text is the empty mesh configuration."""
    document = _load_data(text, MESH_KEY, source, "the mesh configuration")
    if document is None:
        return {}
    if not isinstance(document, Mapping):
        raise errors.InputError(f"{source}: the mesh configuration must be a mapping")
    return dict(document)


def parse_values(text: str, source: str) -> dict[str, Any]:
    """The ``values`` key (JSON, or YAML as istioctl also accepts)."""
    document = _load_data(text, VALUES_KEY, source, "the injector values")
    if not isinstance(document, Mapping):
        raise errors.InputError(f"{source}: the injector values must be a mapping")
    # Round-trip through JSON: istiod decodes the values from JSON (every number a float64; see as_go_values).
    try:
        return dict(json.loads(json.dumps(document)))
    except (TypeError, ValueError) as exc:  # a YAML timestamp, set or binary value has no JSON form
        raise errors.InputError(f"{source}: the injector values must be JSON data: {exc}") from exc


def from_configmaps(
    injector: Mapping[str, Any] | None, mesh: Mapping[str, Any] | None, source: str, revision: str = ""
) -> Settings:
    """Settings from the two ConfigMap objects (as rendered, or as read from the cluster)."""
    if injector is None:
        raise errors.InputError(f"{source}: no {configmap_name(INJECTOR_CONFIGMAP, revision)} ConfigMap")
    data = injector.get("data") or {}
    for key in (CONFIG_KEY, VALUES_KEY):
        if not isinstance(data.get(key), str):
            raise errors.InputError(f"{source}: ConfigMap {injector['metadata']['name']} has no data key {key!r}")
    mesh_text = ((mesh or {}).get("data") or {}).get(MESH_KEY) or ""
    return Settings(
        injector=parse_injector_config(data[CONFIG_KEY], f"{source} ({CONFIG_KEY})"),
        mesh=parse_mesh_config(mesh_text, f"{source} ({MESH_KEY})"),
        values=parse_values(data[VALUES_KEY], f"{source} ({VALUES_KEY})"),
        revision=revision,
    )
