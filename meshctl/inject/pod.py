"""Inject one pod (or pod template): run the injector's templates over it and merge the result, as istiod does.

:func:`inject` follows the steps of istiod's injector:

1. check the injection annotations the templates read (an invalid value fails, naming the annotation);
2. take the pod as it was before an earlier injection (containers named in ``sidecar.istio.io/status`` removed) as
   the template data, with the ProxyConfig of the mesh merged with ``proxy.istio.io/config``;
3. evaluate each template (``inject.istio.io/templates``, else the injector's ``defaultTemplates``) and merge its
   pod fragment into the pod (strategic merge, :mod:`meshctl.inject.merge`);
4. put back fields the pod set on a container of the same name as an injected one (the user's own ``istio-proxy``
   wins), remembering them in ``proxy.istio.io/overrides`` for the next injection;
5. post-process: cluster and network env, Prometheus annotation merge, probe rewrite (:mod:`meshctl.inject.probes`),
   the injector's ``injectedAnnotations``, the ``sidecar.istio.io/status`` annotation, and container order (the
   proxy last, or first when the application waits for it; the validation init container first and
   ``istio-init`` last, or ``istio-init`` then the native proxy first).

Injecting an injected pod again gives the same pod.
"""

from __future__ import annotations

import copy
import dataclasses
import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from typing import Any

import yaml

from meshctl import errors, gotemplate, yamlio
from meshctl.inject import merge, probes, settings

PROXY = "istio-proxy"
INIT = "istio-init"
VALIDATION = "istio-validation"
CORE_DUMP = "enable-core-dump"
STATUS = "sidecar.istio.io/status"
OVERRIDES = "proxy.istio.io/overrides"
PROXY_CONFIG = "proxy.istio.io/config"
TEMPLATES = "inject.istio.io/templates"
NATIVE = "sidecar.istio.io/nativeSidecar"
NETWORK_LABEL = "topology.istio.io/network"
PROMETHEUS_MERGE = "prometheus.istio.io/merge-metrics"
_PROMETHEUS = ("prometheus.io/scrape", "prometheus.io/path", "prometheus.io/port")
DEFAULT_STATUS_PORT = 15020
AUTO_IMAGE = "auto"


@dataclasses.dataclass(frozen=True)
class Owner:
    """The object the pod template belongs to (the pod itself for a bare Pod): ``.TypeMeta`` and ``.DeploymentMeta``."""

    kind: str
    api_version: str
    name: str
    namespace: str = ""


# ---------------------------------------------------------------------------------------------------------------
# Annotations


_QUANTITY_RE = re.compile(r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$")


def _quantity(value: str) -> bool:
    return _QUANTITY_RE.match(value) is not None


def _uint(value: str) -> bool:
    return value.isdigit() and int(value) < 2**32


def _port(value: str) -> bool:
    return value.isdigit() and 0 <= int(value) <= 65535


def _ports(value: str, *, wildcard: bool) -> bool:
    if wildcard and value.strip() == "*":
        return True
    return all(_port(part.strip()) for part in value.split(",") if part.strip())


def _cidrs(value: str) -> bool:
    if value.strip() == "*":
        return True
    try:
        for part in value.split(","):
            if part.strip():
                ipaddress.ip_network(part.strip(), strict=False)
    except ValueError:
        return False
    return True


_CHECKS: dict[str, tuple[Callable[[str], bool], str]] = {
    "sidecar.istio.io/interceptionMode": (lambda v: v in ("REDIRECT", "TPROXY", "NONE"), "REDIRECT, TPROXY or NONE"),
    "status.sidecar.istio.io/port": (_port, "a port number (0 disables the probes)"),
    "readiness.status.sidecar.istio.io/initialDelaySeconds": (_uint, "a whole number of seconds"),
    "readiness.status.sidecar.istio.io/periodSeconds": (_uint, "a whole number of seconds"),
    "readiness.status.sidecar.istio.io/failureThreshold": (_uint, "a whole number"),
    "traffic.sidecar.istio.io/includeOutboundIPRanges": (_cidrs, "'*' or a comma-separated list of CIDRs"),
    "traffic.sidecar.istio.io/excludeOutboundIPRanges": (_cidrs, "a comma-separated list of CIDRs"),
    "traffic.sidecar.istio.io/includeInboundPorts": (lambda v: _ports(v, wildcard=True), "'*' or ports"),
    "traffic.sidecar.istio.io/excludeInboundPorts": (lambda v: _ports(v, wildcard=False), "comma-separated ports"),
    "traffic.sidecar.istio.io/includeOutboundPorts": (lambda v: _ports(v, wildcard=False), "comma-separated ports"),
    "traffic.sidecar.istio.io/excludeOutboundPorts": (lambda v: _ports(v, wildcard=False), "comma-separated ports"),
    "sidecar.istio.io/proxyCPU": (_quantity, "a quantity such as 100m"),
    "sidecar.istio.io/proxyMemory": (_quantity, "a quantity such as 128Mi"),
    "sidecar.istio.io/proxyCPULimit": (_quantity, "a quantity such as 2"),
    "sidecar.istio.io/proxyMemoryLimit": (_quantity, "a quantity such as 1Gi"),
    NATIVE: (lambda v: probes.parse_bool(v) is not None, "true or false"),
}


def check_annotations(annotations: Mapping[str, str], where: str) -> None:
    """Every injection annotation with a value its template would turn into a broken pod is an error."""
    problems = []
    for key, (valid, expected) in _CHECKS.items():
        if key in annotations and not valid(annotations[key]):
            problems.append(f"{key}: {annotations[key]!r} is not {expected}")
    if problems:
        raise errors.InputError(
            f"{where}: invalid injection annotation{'s' if len(problems) > 1 else ''}",
            context=problems,
            hint="fix the pod template's annotations (see docs/kube-inject.md)",
        )


# ---------------------------------------------------------------------------------------------------------------
# Template data


def _deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in overlay.items():
        current = out.get(key)
        out[key] = _deep_merge(current, value) if isinstance(current, Mapping) and isinstance(value, Mapping) else value
    return out


def proxy_config(meta: Mapping[str, Any], conf: settings.Settings, where: str) -> dict[str, Any]:
    """The mesh's ``defaultConfig`` with the pod's ``proxy.istio.io/config`` (YAML or JSON) merged over it."""
    base = dict(conf.default_proxy_config)
    text = (meta.get("annotations") or {}).get(PROXY_CONFIG)
    if not text:
        return base
    try:
        overlay = yamlio.load_yaml(str(text))
    except yaml.YAMLError as exc:
        raise errors.InputError(f"{where}: annotation {PROXY_CONFIG} is not valid YAML: {exc}") from exc
    if not isinstance(overlay, Mapping):
        raise errors.InputError(f"{where}: annotation {PROXY_CONFIG} must be a mapping of ProxyConfig fields")
    return _deep_merge(base, overlay)


def _str_map(value: Any) -> gotemplate.StringMap:
    if not isinstance(value, Mapping):
        return gotemplate.StringMap()
    return gotemplate.StringMap({str(k): "" if v is None else str(v) for k, v in value.items()})


def _port_struct(port: Mapping[str, Any]) -> gotemplate.Struct:
    # The API server defaults the protocol before admission, so that is what istiod sees.
    fields = {
        "Name": str(port.get("name") or ""),
        "HostPort": int(port.get("hostPort") or 0),
        "ContainerPort": int(port.get("containerPort") or 0),
        "Protocol": str(port.get("protocol") or "TCP"),
        "HostIP": str(port.get("hostIP") or ""),
    }
    json_form = {
        key: fields[name]
        for key, name in (
            ("name", "Name"),
            ("hostPort", "HostPort"),
            ("containerPort", "ContainerPort"),
            ("protocol", "Protocol"),
            ("hostIP", "HostIP"),
        )
        if fields[name] or key == "containerPort"
    }
    return gotemplate.Struct(fields, json=json_form, type_name="v1.ContainerPort")


def _container_struct(container: Mapping[str, Any]) -> gotemplate.Struct:
    return gotemplate.Struct(
        {
            "Name": str(container.get("name") or ""),
            "Image": str(container.get("image") or ""),
            "Ports": [_port_struct(p) for p in container.get("ports") or [] if isinstance(p, Mapping)],
        },
        type_name="v1.Container",
    )


def _proxy_config_struct(config: Mapping[str, Any]) -> gotemplate.Struct:
    hold = config.get("holdApplicationUntilProxyStarts")
    return gotemplate.Struct(
        {
            "InterceptionMode": str(config.get("interceptionMode") or "REDIRECT"),
            "ProxyMetadata": _str_map(config.get("proxyMetadata")),
            "DiscoveryAddress": str(config.get("discoveryAddress") or ""),
            "HoldApplicationUntilProxyStarts": None if hold is None else gotemplate.Struct({"Value": bool(hold)}),
        },
        json=dict(config),
        type_name="*v1alpha1.ProxyConfig",
    )


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _mesh_struct(mesh: Mapping[str, Any]) -> gotemplate.Struct:
    return gotemplate.Struct(
        {
            "TrustDomain": str(mesh.get("trustDomain") or ""),
            "ProxyListenPort": _int(mesh.get("proxyListenPort"), 0),
            "ProxyInboundListenPort": _int(mesh.get("proxyInboundListenPort"), 0),
        },
        json=dict(mesh),
        type_name="*v1alpha1.MeshConfig",
    )


def _get(tree: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(tree, Mapping):
            return None
        tree = tree.get(key)
    return tree


def proxy_image(values: Mapping[str, Any], config: Mapping[str, Any], annotations: Mapping[str, str]) -> str:
    """istiod's choice: ``sidecar.istio.io/proxyImage``, else hub/``global.proxy.image``:tag with the variant."""
    if annotations.get("sidecar.istio.io/proxyImage"):
        return annotations["sidecar.istio.io/proxyImage"]
    name = str(_get(values, "global", "proxy", "image") or "proxyv2")
    variant = _get(config, "image", "imageType")
    if variant is None:
        variant = _get(values, "global", "variant")
    variant = annotations.get("sidecar.istio.io/proxyImageType", variant)
    tag = _get(values, "global", "tag")
    if isinstance(tag, float) and tag.is_integer():
        tag = int(tag)
    image = name if "/" in name else f"{_get(values, 'global', 'hub')}/{name}:{tag}"
    if variant and variant != "default" and not image.endswith(f"-{variant}"):
        image += f"-{variant}"
    return image


def native_sidecar(annotations: Mapping[str, str], values: Mapping[str, Any]) -> bool:
    """The pod's ``sidecar.istio.io/nativeSidecar``, else ``pilot.env.ENABLE_NATIVE_SIDECARS``, else on (1.30)."""
    chosen = probes.parse_bool(annotations.get(NATIVE))
    if chosen is not None:
        return chosen
    setting = _get(values, "pilot", "env", "ENABLE_NATIVE_SIDECARS")
    if setting is None:
        return True
    parsed = probes.parse_bool(str(setting).lower() if isinstance(setting, bool) else str(setting))
    return True if parsed is None else parsed


def as_go(value: Any) -> Any:
    """The values tree as istiod holds it after decoding JSON: every number a float64."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, Mapping):
        return {str(k): as_go(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_go(v) for v in value]
    return value


def template_data(
    pod: Mapping[str, Any], owner: Owner, conf: settings.Settings, config: Mapping[str, Any]
) -> gotemplate.Struct:
    """``.`` of the templates (docs/injection-templates.md, Template data)."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    annotations = _str_map(meta.get("annotations"))
    values = conf.values
    return gotemplate.Struct(
        {
            "ObjectMeta": gotemplate.Struct(
                {
                    "Name": str(meta.get("name") or ""),
                    "Namespace": str(meta.get("namespace") or owner.namespace),
                    "Labels": _str_map(meta.get("labels")),
                    "Annotations": annotations,
                },
                type_name="v1.ObjectMeta",
            ),
            "Spec": gotemplate.Struct(
                {
                    "Containers": [_container_struct(c) for c in spec.get("containers") or []],
                    "InitContainers": [_container_struct(c) for c in spec.get("initContainers") or []],
                    "ServiceAccountName": str(spec.get("serviceAccountName") or ""),
                },
                type_name="v1.PodSpec",
            ),
            "DeploymentMeta": gotemplate.Struct({"Name": owner.name, "Namespace": owner.namespace}),
            "TypeMeta": gotemplate.Struct({"Kind": owner.kind, "APIVersion": owner.api_version}),
            "ProxyConfig": _proxy_config_struct(config),
            "MeshConfig": _mesh_struct(conf.mesh),
            "Values": as_go(values),
            "Revision": conf.revision,
            "NativeSidecar": native_sidecar(annotations, values),
            "ProxyImage": proxy_image(values, config, annotations),
            "ProxyUID": 1337,
            "ProxyGID": 1337,
        },
        type_name="inject.SidecarTemplateData",
    )


# ---------------------------------------------------------------------------------------------------------------
# Injection


def _status(meta: Mapping[str, Any]) -> dict[str, Any] | None:
    text = (meta.get("annotations") or {}).get(STATUS)
    if not text:
        return None
    try:
        status = json.loads(text)
    except json.JSONDecodeError:
        return None
    return status if isinstance(status, dict) else None


def _names(items: Any) -> list[str]:
    return [str(item.get("name")) for item in items or [] if isinstance(item, Mapping)]


def _strip(pod: Mapping[str, Any], status_port: str) -> dict[str, Any]:
    """The pod as it was before an earlier injection, for the template data (what istiod calls stripPod)."""
    stripped = copy.deepcopy(dict(pod))
    meta = stripped.setdefault("metadata", {})
    spec = stripped.setdefault("spec", {})
    status = _status(meta)
    if status is None:
        _reinsert_overrides(stripped)
        return stripped
    for field, key in (("containers", "containers"), ("initContainers", "initContainers")):
        injected = set(status.get(key) or [])
        if field in spec:
            spec[field] = [c for c in spec[field] or [] if c.get("name") not in injected]
    annotations = meta.setdefault("annotations", {})
    if annotations.get("prometheus.io/port") == status_port:
        for key in _PROMETHEUS:
            annotations.pop(key, None)
    annotations.pop(STATUS, None)
    _reinsert_overrides(stripped)
    return stripped


def _overrides(meta: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    text = (meta.get("annotations") or {}).get(OVERRIDES)
    if not text:
        return {}
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise errors.InputError(f"annotation {OVERRIDES} is not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise errors.InputError(f"annotation {OVERRIDES} must be a JSON object with containers and initContainers")
    # Only containers (maps) count: anything else in the lists is not a container istiod would keep.
    return {
        k: [c for c in v if isinstance(c, dict)]
        for k, v in parsed.items()
        if k in ("containers", "initContainers") and isinstance(v, list)
    }


def _reinsert_overrides(pod: dict[str, Any]) -> None:
    """Containers the user set and injection replaced come back for the template data (idempotence)."""
    spec = pod["spec"]
    for field, containers in _overrides(pod["metadata"]).items():
        present = set(_names(spec.get(field)))
        spec[field] = [*(spec.get(field) or []), *(c for c in containers if c.get("name") not in present)]


def _find(containers: Any, name: str) -> dict[str, Any] | None:
    return next((c for c in containers or [] if isinstance(c, dict) and c.get("name") == name), None)


def _status_port(meta: Mapping[str, Any], config: Mapping[str, Any]) -> int:
    value = (meta.get("annotations") or {}).get("status.sidecar.istio.io/port")
    if value is not None and str(value).isdigit():
        return int(value)
    return _int(config.get("statusPort"), DEFAULT_STATUS_PORT)


def injection_data(
    pod: Mapping[str, Any], owner: Owner, conf: settings.Settings, where: str
) -> tuple[gotemplate.Struct, dict[str, Any]]:
    """The templates' data for ``pod`` (after checking its annotations), and the ProxyConfig it holds."""
    meta = pod.get("metadata") or {}
    check_annotations(_str_map(meta.get("annotations")), where)
    config = proxy_config(meta, conf, where)
    stripped = _strip(pod, str(_int(config.get("statusPort"), DEFAULT_STATUS_PORT)))
    return template_data(stripped, owner, conf, config), config


def inject(pod: Mapping[str, Any], owner: Owner, conf: settings.Settings, where: str) -> dict[str, Any]:
    """The injected pod (a new ``{"metadata": …, "spec": …}``); ``where`` names the workload in messages."""
    meta = pod.get("metadata") or {}
    annotations = _str_map(meta.get("annotations"))
    data, config = injection_data(pod, owner, conf, where)

    merged: dict[str, Any] = copy.deepcopy(dict(pod))
    fragment_pod: dict[str, Any] = {}
    for name in _template_names(annotations, conf.injector):
        text = gotemplate.render(conf.injector.template(name), data)
        if "<no value>" in text:
            # Go prints a missing value as "<no value>" and goes on; the pod would carry it. Refuse instead.
            line = text[: text.index("<no value>")].count("\n") + 1
            raise errors.RenderError(
                f"{where}: injection template {name!r} read a value the settings lack (output line {line}: "
                f"{text.splitlines()[line - 1].strip()!r})",
                hint="the injector values or mesh configuration are incomplete for this template",
            )
        try:
            fragment = yamlio.load_yaml(text)
        except yaml.YAMLError as exc:
            raise errors.RenderError(f"{where}: injection template {name!r} produced invalid YAML: {exc}") from exc
        if fragment is None:
            continue
        if not isinstance(fragment, Mapping):
            raise errors.RenderError(f"{where}: injection template {name!r} did not produce a pod fragment")
        fragment_pod = merge.merge(fragment_pod, fragment)
        merged = merge.merge(merged, fragment)

    _reapply_overrides(merged, pod, fragment_pod)
    _post_process(merged, pod, fragment_pod, conf, config, _status_port(meta, config))
    return merged


def _template_names(annotations: Mapping[str, str], injector: settings.InjectorConfig) -> list[str]:
    if TEMPLATES in annotations:
        names = [part.strip() for part in annotations[TEMPLATES].split(",")]
    else:
        names = list(injector.default_templates)
    resolved: list[str] = []
    for name in names:
        resolved.extend(injector.aliases.get(name, (name,)))
    return resolved


def _reapply_overrides(merged: dict[str, Any], original: Mapping[str, Any], fragment: Mapping[str, Any]) -> None:
    """The pod's own fields of an injected container (its own ``istio-proxy``) win over the template's."""
    original_meta = original.get("metadata") or {}
    existing = _overrides(original_meta)
    status = _status(original_meta) or {}
    spec, original_spec, fragment_spec = merged.setdefault("spec", {}), original.get("spec") or {}, fragment.get("spec")
    recorded: dict[str, list[dict[str, Any]]] = {}
    for field in ("containers", "initContainers"):
        for injected in (fragment_spec or {}).get(field) or []:
            name = str(injected.get("name"))
            match = _find(existing.get(field), name)
            if match is None and name not in (status.get(field) or []):
                match = _find(original_spec.get(field), name)
            if match is None:
                continue
            recorded.setdefault(field, []).append(match)
            target = _find(spec.get(field), name)
            if target is not None:
                # `image: auto` (the gateway chart's) asks for the injected image.
                own = {k: v for k, v in match.items() if not (k == "image" and v == AUTO_IMAGE)}
                spec[field][spec[field].index(target)] = merge.merge(target, own, merge.CONTAINER)
    if recorded:
        merged.setdefault("metadata", {}).setdefault("annotations", {})[OVERRIDES] = json.dumps(
            recorded, separators=(",", ":")
        )


def _post_process(
    pod: dict[str, Any],
    original: Mapping[str, Any],
    fragment: Mapping[str, Any],
    conf: settings.Settings,
    config: Mapping[str, Any],
    status_port: int,
) -> None:
    meta = pod.setdefault("metadata", {})
    spec = pod.setdefault("spec", {})
    if meta.get("annotations") is None:
        meta["annotations"] = {}
    if meta.get("labels") is None:
        meta["labels"] = {}
    annotations, labels = meta["annotations"], meta["labels"]
    sidecar = _find(spec.get("containers"), PROXY) or _find(spec.get("initContainers"), PROXY)

    # Cluster and network, which the labels of the pod may override (istiod: overwriteClusterInfo, applyMetadata).
    cluster = _get(conf.values, "global", "multiCluster", "clusterName")
    network = labels.get(NETWORK_LABEL) or _get(conf.values, "global", "network")
    proxy_env = {"ISTIO_META_CLUSTER_ID": cluster, "ISTIO_META_NETWORK": network}
    if sidecar is not None:
        for item in sidecar.get("env") or []:
            if proxy_env.get(item.get("name")):
                item["value"] = str(proxy_env[item["name"]])
                item.pop("valueFrom", None)
    if network:
        labels[NETWORK_LABEL] = str(network)

    _prometheus_merge(annotations, sidecar, conf.mesh, _int(config.get("statusPort"), DEFAULT_STATUS_PORT))
    if sidecar is not None and probes.should_rewrite(annotations, conf.values):
        recorded = probes.app_probers(spec, status_port)
        if recorded:
            previously = STATUS in ((original.get("metadata") or {}).get("annotations") or {})
            sidecar["env"] = probes.merge_probers_env(list(sidecar.get("env") or []), recorded, previously)
        probes.rewrite(spec, status_port)

    annotations.update(conf.injector.injected_annotations)
    fragment_spec = fragment.get("spec") or {}
    status = {
        "initContainers": _names(fragment_spec.get("initContainers")) or None,
        "containers": _names(fragment_spec.get("containers")) or None,
        "volumes": _names(fragment_spec.get("volumes")) or None,
        "imagePullSecrets": _names(fragment_spec.get("imagePullSecrets")) or None,
        "revision": conf.revision or "default",
    }
    annotations[STATUS] = json.dumps(status, separators=(",", ":"))
    _reorder(spec, config, conf.values)


def _prometheus_merge(
    annotations: dict[str, Any], sidecar: dict[str, Any] | None, mesh: Mapping[str, Any], status_port: int
) -> None:
    """The agent serves the merged Prometheus metrics: the pod's scrape settings move into the proxy's env."""
    wanted = probes.parse_bool(annotations.get(PROMETHEUS_MERGE))
    if wanted is None:
        wanted = bool(mesh.get("enablePrometheusMerge"))
    if not wanted:
        return
    target = str(status_port)
    if annotations.get("prometheus.io/port") == target:
        return  # already merged (or the user points at the agent)
    scrape = {key.split("/")[1]: str(annotations.get(key) or "") for key in _PROMETHEUS}
    if any(scrape.values()) and sidecar is not None:
        env = [e for e in sidecar.get("env") or [] if e.get("name") != "ISTIO_PROMETHEUS_ANNOTATIONS"]
        env.append({"name": "ISTIO_PROMETHEUS_ANNOTATIONS", "value": json.dumps(scrape, separators=(",", ":"))})
        sidecar["env"] = env
    annotations["prometheus.io/port"] = target
    annotations["prometheus.io/path"] = "/stats/prometheus"
    annotations["prometheus.io/scrape"] = "true"


def _move(containers: list[Any], name: str, *, first: bool) -> list[Any]:
    found = [c for c in containers if isinstance(c, Mapping) and c.get("name") == name]
    if not found:
        return containers
    rest = [c for c in containers if not (isinstance(c, Mapping) and c.get("name") == name)]
    return [*found, *rest] if first else [*rest, *found]


def _reorder(spec: dict[str, Any], config: Mapping[str, Any], values: Mapping[str, Any]) -> None:
    hold = bool(config.get("holdApplicationUntilProxyStarts")) or bool(
        _get(values, "global", "proxy", "holdApplicationUntilProxyStarts")
    )
    if spec.get("containers"):
        spec["containers"] = _move(spec["containers"], PROXY, first=hold)
    init = list(spec.get("initContainers") or [])
    if not init:
        return
    if _find(init, PROXY) is not None:
        # Native sidecar: iptables first, then the proxy, then the application's init containers.
        for name in (PROXY, INIT, VALIDATION):
            init = _move(init, name, first=True)
    else:
        init = _move(init, VALIDATION, first=True)
        init = _move(init, INIT, first=False)
    spec["initContainers"] = _move(init, CORE_DUMP, first=False)
