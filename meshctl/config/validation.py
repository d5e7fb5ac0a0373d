"""Validation of the merged configuration: all problems at once, each with its path (``config.md`` §5).

A small validator for the subset of JSON Schema our schema uses (``type``, ``properties``,
``additionalProperties``, ``items``, ``enum``, ``minimum``/``maximum``, ``required``, ``format``), so messages use
meshctl's path syntax and carry did-you-mean hints. ``null`` counts as unset everywhere (an explicit ``null``
removes a key when layers merge). Under ``values`` and ``meshConfig`` (objects marked ``x-meshctl-unknown``) an
unknown key is an error only when it is a likely typo of a known sibling; otherwise a warning, and the key is
passed through. ``unvalidatedValues`` is never looked at.

Then the semantic rules: revision, hub and tag syntax, gateway names (unique per kind), privileged gateway
ports, replica counts that autoscaling overrides, settings that are accepted but do nothing.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import re
from collections.abc import Mapping, Sequence
from typing import Any

from meshctl.config import paths, schema, suggest

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_HUB = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]+)?"  # registry host (or first path component)
    r"(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*"
)
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
#: The string formats checked by a pattern: format -> (pattern, maximum length, message).
_PATTERNS: dict[str, tuple[re.Pattern[str], int, str]] = {
    "dns1123-label": (
        _DNS1123_LABEL,
        63,
        "{text!r} is not a valid DNS-1123 label (lower-case letters, digits and '-', at most 63)",
    ),
    "dns1123-subdomain": (
        _DNS1123_SUBDOMAIN,
        253,
        "{text!r} is not a valid name (lower-case letters, digits, '-' and '.', at most 253)",
    ),
    "image-hub": (_HUB, 255, "bad hub {text!r}: not an image registry/repository such as docker.io/istio"),
    "image-tag": (
        _TAG,
        128,  # the pattern's own bound
        "bad tag {text!r}: letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-'",
    ),
}
_QUANTITY = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE])?")

_JSON_TYPES = {
    "object": "a map",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
}


@dataclasses.dataclass(frozen=True)
class Report:
    """What validation found: errors (fatal unless ``--force``) and warnings, each starting with its path."""

    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _join(prefix: str, key: str) -> str:
    piece = paths.escape_key(key)
    return f"{prefix}.{piece}" if prefix else piece


class _Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []

    def check(self, value: Any, node: schema.Schema, where: str) -> None:
        if value is None:
            return
        node = schema.resolve(node)
        allowed = schema.types_of(node)
        actual = _json_type(value)
        if allowed is not None and not (actual in allowed or (actual == "integer" and "number" in allowed)):
            expected = " or ".join(_JSON_TYPES[t] for t in sorted(allowed))
            hint = ""
            if "string" in allowed and actual in ("integer", "number", "boolean"):
                hint = f' (quote it: "{paths.scalar_text(value)}")'
            self.errors.append(f"{where or '<root>'}: expected {expected}, got {paths.describe(value)}{hint}")
            return
        if "enum" in node and value not in node["enum"]:
            listed = ", ".join(str(v) for v in node["enum"] if v != "")
            self.errors.append(f"{where}: {paths.scalar_text(value)!r} is not one of: {listed}")
        if isinstance(value, int | float) and not isinstance(value, bool):
            if "minimum" in node and value < node["minimum"]:
                self.errors.append(f"{where}: {value} is below the minimum {node['minimum']}")
            if "maximum" in node and value > node["maximum"]:
                self.errors.append(f"{where}: {value} is above the maximum {node['maximum']}")
        fmt = node.get("format")
        if fmt and value != "":
            problem = check_format(str(fmt), value)
            if problem:
                self.errors.append(f"{where}: {problem}")
        if isinstance(value, dict):
            self.check_object(value, node, where)
        elif isinstance(value, list):
            items = node.get("items")
            if isinstance(items, Mapping):
                for i, item in enumerate(value):
                    self.check(item, items, f"{where}[{i}]")

    def check_object(self, value: dict[str, Any], node: schema.Schema, where: str) -> None:
        props: Mapping[str, Any] = node.get("properties") or {}
        extra = node.get("additionalProperties", True)
        for name in node.get("required", ()):
            if value.get(name) is None:
                self.errors.append(f"{_join(where, name)}: required")
        for key, item in value.items():
            path = _join(where, key)
            if key in props:
                self.check(item, props[key], path)
            elif isinstance(extra, Mapping):
                self.check(item, extra, path)
            elif extra is False:
                guess = suggest.closest(key, props)
                hint = f" (did you mean {_join(where, guess)}?)" if guess else ""
                known = "" if guess else f"; known fields: {', '.join(sorted(props))}" if props else ""
                self.errors.append(f"{path}: unknown field{hint}{known}")
            elif node.get(schema.UNKNOWN_KEYWORD) == "warn":
                guess = suggest.closest(key, props)
                if guess is not None:
                    self.errors.append(f"{path}: unknown key (did you mean {_join(where, guess)}?)")
                else:
                    self.warnings.append(f"{path}: meshctl does not use this key; it is passed through as is")


def check_format(fmt: str, value: Any) -> str | None:
    """A problem with ``value`` under a custom ``format``, or ``None``."""
    text = str(value) if not isinstance(value, bool) else ("true" if value else "false")
    if fmt == "quantity":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return None if value >= 0 else f"{text} is not a valid quantity (negative)"
        if not _QUANTITY.fullmatch(text):
            return f"{text!r} is not a valid quantity (e.g. 100m, 0.5, 128Mi, 2Gi)"
        return None
    if fmt in _PATTERNS:
        pattern, limit, message = _PATTERNS[fmt]
        return message.format(text=text) if len(text) > limit or not pattern.fullmatch(text) else None
    if fmt == "cidr-list":
        return _check_cidrs(text)
    if fmt == "port-list":
        return _check_ports(text)
    return None


def _check_cidrs(text: str) -> str | None:
    if text.strip() in ("", "*"):
        return None
    for part in text.split(","):
        try:
            ipaddress.ip_network(part.strip(), strict=False)
        except ValueError:
            return f"{part.strip()!r} is not a CIDR (write '*' or a comma-separated list such as 10.0.0.0/8)"
    return None


def _check_ports(text: str) -> str | None:
    if text.strip() in ("", "*"):
        return None
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or not 0 <= int(part) <= 65535:
            return f"{part!r} is not a port in 0..65535 (write '*' or a comma-separated list of ports)"
    return None


def _gateway_root(kind: str) -> str:
    return "istio-ingressgateway" if kind == "ingressGateways" else "istio-egressgateway"


def _int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _semantics(iop: Mapping[str, Any], values: Mapping[str, Any], checker: _Checker) -> None:
    spec = iop.get("spec") if isinstance(iop.get("spec"), Mapping) else {}
    assert isinstance(spec, Mapping)
    components = spec.get("components") if isinstance(spec.get("components"), Mapping) else {}
    assert isinstance(components, Mapping)
    gateways_values = values.get("gateways") if isinstance(values.get("gateways"), Mapping) else {}
    assert isinstance(gateways_values, Mapping)

    for kind in ("ingressGateways", "egressGateways"):
        entries = components.get(kind)
        if not isinstance(entries, list):
            continue
        root = _gateway_root(kind)
        root_values = gateways_values.get(root) if isinstance(gateways_values.get(root), Mapping) else {}
        assert isinstance(root_values, Mapping)
        run_as_root = root_values.get("runAsRoot") is True
        autoscale = root_values.get("autoscaleEnabled") is not False
        seen: dict[str, int] = {}
        for i, entry in enumerate(entries):
            if not isinstance(entry, Mapping):
                continue
            where = f"components.{kind}[{i}]"
            name = entry.get("name")
            if name is None:
                checker.errors.append(f"{where}.name: required (every gateway needs a name)")
            elif isinstance(name, str):
                if name in seen:
                    checker.errors.append(f"{where}.name: gateway {name!r} is already defined at [{seen[name]}]")
                seen.setdefault(name, i)
            k8s = entry.get("k8s") if isinstance(entry.get("k8s"), Mapping) else {}
            assert isinstance(k8s, Mapping)
            service = k8s.get("service") if isinstance(k8s.get("service"), Mapping) else {}
            assert isinstance(service, Mapping)
            ports = service.get("ports")
            if isinstance(ports, list) and not run_as_root:
                _privileged_ports(ports, f"{where}.k8s.service.ports", root, checker)
            replicas = _int(k8s.get("replicaCount"))
            if replicas is not None and replicas > 1 and autoscale and entry.get("enabled") is not False:
                checker.warnings.append(
                    f"{where}.k8s.replicaCount: ignored while values.gateways.{root}.autoscaleEnabled is true "
                    "(the autoscaler sets the replicas); use k8s.hpaSpec.minReplicas or turn autoscaling off"
                )
    for root in ("istio-ingressgateway", "istio-egressgateway"):
        root_values = gateways_values.get(root)
        if isinstance(root_values, Mapping) and root_values.get("runAsRoot") is not True:
            ports = root_values.get("ports")
            if isinstance(ports, list):
                _privileged_ports(ports, f"values.gateways.{root}.ports", root, checker)

    pilot_values = values.get("pilot") if isinstance(values.get("pilot"), Mapping) else {}
    assert isinstance(pilot_values, Mapping)
    pilot = components.get("pilot") if isinstance(components.get("pilot"), Mapping) else {}
    assert isinstance(pilot, Mapping)
    pilot_k8s = pilot.get("k8s") if isinstance(pilot.get("k8s"), Mapping) else {}
    assert isinstance(pilot_k8s, Mapping)
    replicas = _int(pilot_k8s.get("replicaCount"))
    if replicas is not None and replicas > 1 and pilot_values.get("autoscaleEnabled") is not False:
        checker.warnings.append(
            "components.pilot.k8s.replicaCount: ignored while values.pilot.autoscaleEnabled is true "
            "(the autoscaler sets the replicas); use k8s.hpaSpec.minReplicas or set values.pilot.autoscaleEnabled=false"
        )

    for key in ("base", "pilot", "cni", "ztunnel", "istiodRemote"):
        entry = components.get(key)
        if isinstance(entry, Mapping):
            _unapplied(entry, f"components.{key}", checker)
    for kind in ("ingressGateways", "egressGateways"):
        entries = components.get(kind)
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(entry, Mapping):
                _unapplied(entry, f"components.{kind}[{i}]", checker)
    remote = components.get("istiodRemote")
    if isinstance(remote, Mapping) and remote.get("enabled") is not False:
        checker.warnings.append(
            "components.istiodRemote: accepted for compatibility and renders nothing (as in istioctl); "
            "use the remote profile for a cluster without a local istiod"
        )
    if spec.get("namespace") not in (None, ""):
        namespace = _istio_namespace(iop, values)
        if spec.get("namespace") != namespace:
            checker.warnings.append(
                f"namespace: ignored; the Istio namespace is values.global.istioNamespace ({namespace})"
            )
    meta = iop.get("metadata") if isinstance(iop.get("metadata"), Mapping) else {}
    assert isinstance(meta, Mapping)
    meta_ns = meta.get("namespace")
    glob = values.get("global") if isinstance(values.get("global"), Mapping) else {}
    assert isinstance(glob, Mapping)
    if isinstance(meta_ns, str) and meta_ns and glob.get("istioNamespace") not in (None, "", meta_ns):
        checker.warnings.append(
            f"metadata.namespace: {meta_ns} is ignored; the Istio namespace is values.global.istioNamespace "
            f"({glob.get('istioNamespace')})"
        )


def _istio_namespace(iop: Mapping[str, Any], values: Mapping[str, Any]) -> str:
    glob = values.get("global")
    if isinstance(glob, Mapping) and isinstance(glob.get("istioNamespace"), str) and glob["istioNamespace"]:
        return str(glob["istioNamespace"])
    meta = iop.get("metadata")
    if isinstance(meta, Mapping) and isinstance(meta.get("namespace"), str) and meta["namespace"]:
        return str(meta["namespace"])
    return "istio-system"


def _unapplied(entry: Mapping[str, Any], where: str, checker: _Checker) -> None:
    k8s = entry.get("k8s")
    if not isinstance(k8s, Mapping):
        return
    for key in ("volumes", "volumeMounts"):
        if k8s.get(key):
            checker.warnings.append(f"{where}.k8s.{key}: accepted as istioctl does, but not applied")


def _privileged_ports(ports: Sequence[Any], where: str, root: str, checker: _Checker) -> None:
    for i, port in enumerate(ports):
        if not isinstance(port, Mapping):
            continue
        number = _int(port.get("port"))
        target = port.get("targetPort")
        effective = _int(target) if target is not None else number
        if effective is None or effective >= 1024:
            continue
        name = port.get("name") or "(unnamed)"
        checker.errors.append(
            f"{where}[{i}]: port {name}/{number} targets {effective}, which needs root; set targetPort to 1024 or "
            f"above, or set values.gateways.{root}.runAsRoot=true"
        )


def validate(iop: Mapping[str, Any], values: Mapping[str, Any]) -> Report:
    """Check the merged IstioOperator document (and rules that read the translated ``values``)."""
    checker = _Checker()
    # Paths are spec-relative (what --set and --config-path take); the rest of the document is checked apart.
    outside = {k: v for k, v in iop.items() if k != "spec"}
    checker.check_object(outside, schema.root_schema(), "")
    spec = iop.get("spec")
    if spec is not None:
        if isinstance(spec, dict):
            spec = {k: v for k, v in spec.items() if k != "unvalidatedValues"}
        checker.check(spec, schema.spec_schema(), "")
    _semantics(iop, values, checker)
    return Report(errors=tuple(dict.fromkeys(checker.errors)), warnings=tuple(dict.fromkeys(checker.warnings)))
