"""Application probes rewritten to the agent's status port, as istiod's injector does.

With mutual TLS the kubelet cannot reach the application's HTTP, TCP and gRPC probes through the proxy, so the
injector (unless ``sidecar.istio.io/rewriteAppHTTPProbers: "false"`` or the values'
``sidecarInjectorWebhook.rewriteAppHTTPProbe: false`` say otherwise):

- records every application container's probes, named ports resolved to numbers, as JSON in the proxy's
  ``ISTIO_KUBE_APP_PROBERS`` env (``{"/app-health/<container>/readyz": {"httpGet": {...}, "timeoutSeconds": N}}``);
- points each probe at the agent: ``httpGet`` on the status port (15020, or ``status.sidecar.istio.io/port``) with
  path ``/app-health/<container>/{readyz,livez,startupz}``; an HTTPS probe becomes HTTP (the agent speaks HTTPS to
  the application); TCP and gRPC probes become such HTTP probes too.

Probes already pointing at the status port are not recorded again, so injecting twice changes nothing.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

PROXY = "istio-proxy"
PROBERS_ENV = "ISTIO_KUBE_APP_PROBERS"
REWRITE_ANNOTATION = "sidecar.istio.io/rewriteAppHTTPProbers"
_KINDS = (("readinessProbe", "readyz"), ("livenessProbe", "livez"), ("startupProbe", "startupz"))


def should_rewrite(annotations: Mapping[str, str], values: Mapping[str, Any]) -> bool:
    """The annotation when it is a boolean, else ``sidecarInjectorWebhook.rewriteAppHTTPProbe`` (default true)."""
    parsed = parse_bool(annotations.get(REWRITE_ANNOTATION))
    if parsed is not None:
        return parsed
    webhook = values.get("sidecarInjectorWebhook")
    setting = webhook.get("rewriteAppHTTPProbe") if isinstance(webhook, Mapping) else None
    return True if setting is None else bool(setting)


def parse_bool(text: str | None) -> bool | None:
    """Go's ``strconv.ParseBool``; None for anything else."""
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    return None


def _app_containers(spec: Mapping[str, Any]) -> list[dict[str, Any]]:
    containers = [*(spec.get("initContainers") or []), *(spec.get("containers") or [])]
    return [c for c in containers if isinstance(c, dict) and c.get("name") != PROXY]


def _url(container: str, suffix: str) -> str:
    return f"/app-health/{container}/{suffix}"


def app_probers(spec: Mapping[str, Any], status_port: int) -> str:
    """The ``ISTIO_KUBE_APP_PROBERS`` JSON for the pod's current probes ("" when there is none to record)."""
    out: dict[str, Any] = {}
    for container in _app_containers(spec):
        ports = {p["name"]: p.get("containerPort") for p in container.get("ports") or [] if p.get("name")}
        for field, suffix in _KINDS:
            prober = _prober(container.get(field), ports, status_port)
            if prober is not None:
                out[_url(str(container["name"]), suffix)] = prober
    if not out:
        return ""
    return json.dumps({key: out[key] for key in sorted(out)}, separators=(",", ":"))


def _prober(probe: Any, ports: Mapping[str, Any], status_port: int) -> dict[str, Any] | None:
    if not isinstance(probe, Mapping):
        return None
    for action in ("httpGet", "tcpSocket", "grpc"):
        if isinstance(probe.get(action), Mapping):
            break
    else:
        return None
    body = dict(probe[action])
    if action != "grpc":
        port = body.get("port")
        if isinstance(port, str) and not port.isdigit():
            if port not in ports:
                return None  # a named port the container does not declare: the kubelet would fail it too
            body["port"] = ports[port]
        elif _port_number(port) == status_port:
            return None  # already rewritten
    if action == "httpGet":
        body = {k: body[k] for k in ("path", "port", "host", "scheme", "httpHeaders") if body.get(k) not in (None, "")}
    prober: dict[str, Any] = {action: body}
    if probe.get("timeoutSeconds"):
        prober["timeoutSeconds"] = probe["timeoutSeconds"]
    return prober


def _port_number(port: Any) -> int | None:
    if isinstance(port, int) and not isinstance(port, bool):
        return port
    if isinstance(port, str) and port.isdigit():
        return int(port)
    return None


def rewrite(spec: dict[str, Any], status_port: int) -> None:
    """Point every application probe at the agent (in place)."""
    for container in _app_containers(spec):
        for field, suffix in _KINDS:
            probe = container.get(field)
            if not isinstance(probe, dict):
                continue
            action = next((a for a in ("httpGet", "tcpSocket", "grpc") if isinstance(probe.get(a), Mapping)), None)
            if action is None:
                continue
            http = dict(probe["httpGet"]) if action == "httpGet" else {}
            http["path"] = _url(str(container["name"]), suffix)
            http["port"] = status_port
            if http.get("scheme") == "HTTPS":
                http["scheme"] = "HTTP"
            probe.pop("tcpSocket", None)
            probe.pop("grpc", None)
            probe["httpGet"] = {k: http[k] for k in ("path", "port", "host", "scheme", "httpHeaders") if k in http}


def merge_probers_env(env: list[dict[str, Any]], probers: str, previously_injected: bool) -> list[dict[str, Any]]:
    """Set ``ISTIO_KUBE_APP_PROBERS``: merged into an existing value on re-injection, else added."""
    for item in env:
        if item.get("name") == PROBERS_ENV:
            if previously_injected and isinstance(item.get("value"), str):
                try:
                    merged = {**json.loads(item["value"]), **json.loads(probers)}
                except json.JSONDecodeError:
                    merged = json.loads(probers)
                item["value"] = json.dumps({k: merged[k] for k in sorted(merged)}, separators=(",", ":"))
            else:
                item["value"] = probers
            return env
    return [*env, {"name": PROBERS_ENV, "value": probers}]
