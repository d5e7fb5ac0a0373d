"""Validation of the merged configuration: all problems at once, each with its path (``config.md`` §5).

First the schema: :mod:`meshctl.config.schemacheck` checks the document with ``jsonschema`` against the shipped
schema (the one ``meshctl profile schema`` prints), with meshctl's formats, its ``x-meshctl-unknown`` keyword for
``values`` and ``meshConfig`` (an unknown key there is an error when it is a likely typo of a known sibling,
otherwise a warning, and the key is passed through), ``null`` as unset, and its messages and did-you-mean hints.
``unvalidatedValues`` is never looked at. A document the fast gate of :mod:`meshctl.config.schemagate` passes (one
``jsonschema`` would report nothing about) skips that step and its import.

Then the semantic rules, which are not schema checks: gateway names (required, unique per kind), privileged gateway
ports, replica counts that autoscaling overrides, settings that are accepted but do nothing, namespaces that are
ignored.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from meshctl.config import schemacheck, schemagate


@dataclasses.dataclass(frozen=True)
class Report:
    """What validation found: errors (fatal unless ``--force``) and warnings, each starting with its path."""

    errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()


class _Checker:
    """Where the rules put what they find."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        self.warnings: list[str] = []


def _gateway_root(kind: str) -> str:
    return "istio-ingressgateway" if kind == "ingressGateways" else "istio-egressgateway"


def _map(parent: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """``parent[key]`` when it is a map, else an empty one (the schema check reports a wrong type)."""
    value = parent.get(key)
    return value if isinstance(value, Mapping) else {}


def _int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def _semantics(iop: Mapping[str, Any], values: Mapping[str, Any], checker: _Checker) -> None:
    spec = _map(iop, "spec")
    components = _map(spec, "components")
    gateways_values = _map(values, "gateways")

    for kind in ("ingressGateways", "egressGateways"):
        entries = components.get(kind)
        if not isinstance(entries, list):
            continue
        root = _gateway_root(kind)
        root_values = _map(gateways_values, root)
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
            k8s = _map(entry, "k8s")
            service = _map(k8s, "service")
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
        root_values = _map(gateways_values, root)
        if root_values.get("runAsRoot") is not True:
            ports = root_values.get("ports")
            if isinstance(ports, list):
                _privileged_ports(ports, f"values.gateways.{root}.ports", root, checker)

    pilot_values = _map(values, "pilot")
    pilot = _map(components, "pilot")
    pilot_k8s = _map(pilot, "k8s")
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
    meta = _map(iop, "metadata")
    meta_ns = meta.get("namespace")
    glob = _map(values, "global")
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
    document = schemacheck.checked_document(iop)
    for problem in [] if schemagate.passes(document) else schemacheck.problems(document):
        (checker.warnings if problem.warning else checker.errors).append(problem.message)
    _semantics(iop, values, checker)
    return Report(errors=tuple(dict.fromkeys(checker.errors)), warnings=tuple(dict.fromkeys(checker.warnings)))
