"""The injection templates stay inside the documented Go-template subset and inject the proxy the reference describes.

The files under test are ``manifests/pilot/files/injection-{sidecar,gateway}.yaml``: Go-template text that istiod
evaluates. The checks, from the most static to the most concrete:

1. every action parses within the subset of ``docs/injection-templates.md`` (keywords, functions, variables,
   balanced blocks), and the functions the files call are exactly the ones the page documents;
2. with every action replaced by a placeholder, the files are sound YAML;
3. evaluated (``meshctl.gotemplate``) for pods and settings that take each branch, they produce the
   containers, args, ports, env, probes, security contexts and volumes of the reference
   (``../shared/reference/istio-manifest-inventory.md`` §2.2.7 and §2.3);
4. the copies inside the rendered ``istio-sidecar-injector`` ConfigMap, evaluated with that ConfigMap's own values
   and the mesh defaults of the ``istio`` ConfigMap, inject a valid proxy for several profiles.

Each checker is also shown to reject bad input, so a pass means something.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from meshctl import gotemplate
from meshctl.config import layering
from meshctl.gotemplate import StringMap, Struct
from meshctl.render import pipeline

ROOT = Path(__file__).resolve().parents[2]
FILES = {
    "sidecar": ROOT / "manifests" / "pilot" / "files" / "injection-sidecar.yaml",
    "gateway": ROOT / "manifests" / "pilot" / "files" / "injection-gateway.yaml",
}
DOC = ROOT / "docs" / "injection-templates.md"

PROXY_IMAGE = "docker.io/istio/proxyv2:1.30.3"

# Reference §2.2.7 (sidecar template) and §2.3 (gateway volumes → mounts).
VOLUME_MOUNTS = {
    "workload-socket": "/var/run/secrets/workload-spiffe-uds",
    "credential-socket": "/var/run/secrets/credential-uds",
    "workload-certs": "/var/run/secrets/workload-spiffe-credentials",
    "istio-envoy": "/etc/istio/proxy",
    "istio-data": "/var/lib/istio/data",
    "istio-podinfo": "/etc/istio/pod",
    "istio-token": "/var/run/secrets/tokens",
    "istiod-ca-cert": "/var/run/secrets/istio",
}
FIELD_REFS = {
    "POD_NAME": "metadata.name",
    "POD_NAMESPACE": "metadata.namespace",
    "INSTANCE_IP": "status.podIP",
    "SERVICE_ACCOUNT": "spec.serviceAccountName",
    "HOST_IP": "status.hostIP",
    "NODE_NAME": "spec.nodeName",
    "ISTIO_META_NODE_NAME": "spec.nodeName",
}
SIDECAR_ENV = [
    "PILOT_CERT_PROVIDER",
    "CA_ADDR",
    "POD_NAME",
    "POD_NAMESPACE",
    "INSTANCE_IP",
    "SERVICE_ACCOUNT",
    "HOST_IP",
    "NODE_NAME",
    "ISTIO_CPU_LIMIT",
    "GOMEMLIMIT",
    "GOMAXPROCS",  # inventory §0.1: 1.30.3 sets it right after GOMEMLIMIT
    "PROXY_CONFIG",
    "ISTIO_META_POD_PORTS",
    "ISTIO_META_APP_CONTAINERS",
    "ISTIO_META_CLUSTER_ID",
    "ISTIO_META_NODE_NAME",
    "ISTIO_META_INTERCEPTION_MODE",
    "ISTIO_META_WORKLOAD_NAME",
    "ISTIO_META_OWNER",
    "ISTIO_META_MESH_ID",
    "TRUST_DOMAIN",
]
GATEWAY_ENV = [
    "PILOT_CERT_PROVIDER",
    "CA_ADDR",
    "NODE_NAME",
    "POD_NAME",
    "POD_NAMESPACE",
    "INSTANCE_IP",
    "HOST_IP",
    "ISTIO_CPU_LIMIT",
    "GOMEMLIMIT",
    "GOMAXPROCS",  # inventory §0.1: 1.30.3 sets it right after GOMEMLIMIT
    "SERVICE_ACCOUNT",
    "PROXY_CONFIG",
    "ISTIO_META_WORKLOAD_NAME",
    "ISTIO_META_OWNER",
    "ISTIO_META_MESH_ID",
    "TRUST_DOMAIN",
    "ISTIO_META_UNPRIVILEGED_POD",
    "ISTIO_META_CLUSTER_ID",
    "ISTIO_META_NODE_NAME",
]
DEFAULT_INIT_ARGS = [
    "istio-iptables",
    "-p",
    "15001",
    "-z",
    "15006",
    "-u",
    "1337",
    "-m",
    "REDIRECT",
    "-i",
    "*",
    "-x",
    "",
    "-b",
    "*",
    "-d",
    "15090,15021,15020",
    "--log_output_level=default:info",
]
PROXY_ARGS = [
    "--domain",
    "$(POD_NAMESPACE).svc.cluster.local",
    "--proxyLogLevel=warning",
    "--proxyComponentLogLevel=misc:error",
    "--log_output_level=default:info",
]
DEFAULT_RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "2000m", "memory": "1024Mi"}}
# The proxy's and the validation init container's: non-root as 1337, nothing writable, no capabilities.
PROXY_SECURITY = {
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
    "runAsNonRoot": True,
    "runAsUser": 1337,
    "runAsGroup": 1337,
}


# ---------------------------------------------------------------------------------------------------------------
# 1. The subset


@functools.cache
def template_text(name: str) -> str:
    return FILES[name].read_text(encoding="utf-8")


@functools.cache
def template(name: str) -> gotemplate.Template:
    return gotemplate.parse(template_text(name), name)


def documented_functions() -> list[str]:
    """The first column of the table under ``## Functions`` in docs/injection-templates.md."""
    text = DOC.read_text(encoding="utf-8")
    section = text.split("\n## Functions\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([A-Za-z]+)` \|", section, flags=re.MULTILINE)


JINJA_MARKERS = re.compile(r"\{%|%\}|\{#|#\}")


@pytest.mark.parametrize("name", sorted(FILES))
def test_template_parses_within_the_subset(name: str) -> None:
    parsed = template(name)
    assert parsed.nodes, f"{name} is empty"
    assert not JINJA_MARKERS.search(template_text(name)), f"{name} contains Jinja2 syntax"


def test_functions_called_are_exactly_the_documented_ones() -> None:
    used = {fn for name in FILES for fn in gotemplate.iter_functions(template(name))}
    documented = documented_functions()
    assert len(documented) == len(set(documented)), "a function is documented twice"
    assert used == set(documented), (
        f"used but not documented: {sorted(used - set(documented))}; "
        f"documented but unused: {sorted(set(documented) - used)}"
    )
    assert set(documented) == set(gotemplate.FUNCTIONS), "the checker and the documentation disagree"


@pytest.mark.parametrize(
    ("snippet", "message"),
    [
        ("{{ if .A }}x", "{{if}} has no {{end}}"),
        ("{{ range .A }}x", "{{range}} has no {{end}}"),
        ("{{ with .A }}x{{ else }}y", "{{with}} has no {{end}}"),
        ("x{{ end }}", "{{end}} without a matching"),
        ("{{ if .A }}{{ else }}{{ else }}{{ end }}", "{{else}} without a matching"),
        ("{{ range .A }}{{ else }}{{ end }}", "{{else}} without a matching"),
        ("{{ with .A }}{{ else if .B }}{{ end }}", "only allowed in an {{if}}"),
        ("{{ if .A }}{{ else with .B }}{{ end }}{{ end }}", "unexpected 'with' after else"),
        ("{{ end 1 }}", "{{end}} without"),
        ("{{ .A", "unclosed action"),
        ("{{ .A {{ .B }}", "unclosed action"),
        ('{{ quote "a }}', "unterminated quoted string"),
        ("{{ quote `a }}", "unterminated raw string"),
        ("{{/* never closed", "unclosed comment"),
        ("{{ }}", "empty action"),
        ("{{ tpl .A . }}", "function 'tpl' is not in the documented subset"),
        ("{{ .A | upper }}", "function 'upper' is not in the documented subset"),
        ("{{ indent 4 .A }}", "function 'indent' is not in the documented subset"),
        ("{{ contains .A .B }}", "function 'contains' is not in the documented subset"),
        ('{{ define "x" }}y{{ end }}', "{{define}} is not in the documented subset"),
        ('{{ template "x" . }}', "{{template}} is not in the documented subset"),
        ('{{ block "x" . }}y{{ end }}', "{{block}} is not in the documented subset"),
        ("{{ range .A }}{{ break }}{{ end }}", "{{break}} is not in the documented subset"),
        ("{{ eq .A nil }}", "unexpected keyword 'nil'"),
        ("{{ $x }}", "undefined variable $x"),
        ("{{ $x = 1 }}", "undefined variable $x"),
        ("{{ if .A }}{{ $x := 1 }}{{ end }}{{ $x }}", "undefined variable $x"),
        ("{{ range $i, $v := .A }}{{ end }}{{ $v }}", "undefined variable $v"),
        ("{{ if $x := .A }}{{ end }}", "a variable cannot be declared here"),
        ("{{ .A.Method 1 }}", "only a function can take arguments"),
        ('{{ "a" | .A }}', "only a function can receive a piped value"),
        ("{{ (index .A 0).Name }}", "field access on a parenthesized pipeline"),
        ("{{ 1.5 }}", "unexpected '1'"),
        ("{{ quote 'a' }}", "unexpected"),
        ("{{ quote (list }}", "unexpected end of action"),
    ],
)
def test_checker_rejects_snippets_outside_the_subset(snippet: str, message: str) -> None:
    with pytest.raises(gotemplate.TemplateError) as caught:
        gotemplate.parse(snippet, "snippet")
    assert message in str(caught.value)
    assert re.match(r"template snippet:1:\d+: ", str(caught.value)), str(caught.value)


def test_checker_rejects_damaged_copies_of_the_sidecar_template() -> None:
    text = template_text("sidecar")
    last_end = text.rindex("{{- end }}")
    damaged = {
        "unknown function": text.replace("{{ .ProxyImage | quote }}", '{{ include "image" . }}', 1),
        "missing end": text[:last_end] + text[last_end + len("{{- end }}") :],
        "typo in a variable": text.replace("$appContainers = append", "$appContainer = append", 1),
    }
    for what, variant in damaged.items():
        assert variant != text, what
        with pytest.raises(gotemplate.TemplateError):
            gotemplate.parse(variant, what)
    jinja = text.replace("spec:\n", "spec:\n  {% if x %}\n", 1)
    assert JINJA_MARKERS.search(jinja)


def test_errors_name_the_line_and_column() -> None:
    with pytest.raises(gotemplate.TemplateError, match=r"^template t:3:7: function 'tpl'"):
        gotemplate.parse("a: 1\nb: 2\nc: {{ tpl . }}\n", "t")
    with pytest.raises(gotemplate.TemplateError, match=r"^template t:2:9: unterminated quoted string"):
        gotemplate.parse('a: 1\nb: {{ x "abc }}\n', "t")
    with pytest.raises(gotemplate.TemplateError, match=r"^template t:1:4: \{\{if\}\} has no \{\{end\}\}"):
        gotemplate.parse("ab {{ if .A }}\n", "t")
    with pytest.raises(gotemplate.TemplateError, match=r"^template t:2:7: error calling toLower: expected string"):
        gotemplate.render(gotemplate.parse("x\ny: {{ toLower .A }}", "t"), {"A": 1.0})
    with pytest.raises(gotemplate.TemplateError, match=r"^template t:1:19: nil pointer evaluating"):
        gotemplate.render(gotemplate.parse("{{ quote .A }} {{ .B.C }}", "t"), {"A": "x", "B": None})


# ---------------------------------------------------------------------------------------------------------------
# 2. The YAML around the actions

_ACTION = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_MARK = "\x00"


def skeleton(text: str) -> str:
    """``text`` with lines that hold only actions dropped and every other action replaced by ``PLACEHOLDER``.

    All branches of every ``if`` are kept side by side, so the result must be valid YAML whichever ones run; keys
    written in two branches show up twice, which YAML loaders accept (the last one wins).
    """
    marked = _ACTION.sub(_MARK, text)
    lines = [line for line in marked.split("\n") if not (_MARK in line and not line.replace(_MARK, "").strip())]
    return "\n".join(lines).replace(_MARK, "PLACEHOLDER")


@pytest.mark.parametrize("name", sorted(FILES))
def test_yaml_around_the_actions_is_sound(name: str) -> None:
    document = yaml.safe_load(skeleton(template_text(name)))
    assert isinstance(document, dict)
    assert set(document) == {"metadata", "spec"}
    spec = document["spec"]
    proxies = [c for c in spec.get("containers", []) if c["name"] == "istio-proxy"]
    assert len(proxies) == 1
    assert {v["name"] for v in spec["volumes"]} >= set(VOLUME_MOUNTS)
    assert {m["name"] for m in proxies[0]["volumeMounts"]} >= set(VOLUME_MOUNTS)
    assert {"name": "http-envoy-prom", "containerPort": 15090, "protocol": "TCP"} in proxies[0]["ports"]
    if name == "sidecar":
        # Both names of the first init container (one per branch), then the optional core-dump one.
        assert [c["name"] for c in spec["initContainers"]] == ["istio-validation", "istio-init", "enable-core-dump"]


def test_skeleton_check_rejects_unsound_yaml() -> None:
    broken = "spec:\n  containers:\n  - name: istio-proxy\n    {{- if .A }}\n   image: {{ .B }}\n    {{- end }}\n"
    with pytest.raises(yaml.YAMLError):
        yaml.safe_load(skeleton(broken))
    fine = "spec:\n  containers:\n  - name: istio-proxy\n    {{- if .A }}\n    image: {{ .B }}\n    {{- end }}\n"
    assert yaml.safe_load(skeleton(fine)) == {"spec": {"containers": [{"name": "istio-proxy", "image": "PLACEHOLDER"}]}}


# ---------------------------------------------------------------------------------------------------------------
# 3. What the templates inject


def as_go(value: Any) -> Any:
    """A tree as istiod holds it after decoding JSON: every number is a float64."""
    return json.loads(json.dumps(value), parse_int=float)


@functools.cache
def _chart_values() -> str:
    """The injector values (global, pilot.cni/env, gateways, revision) built from the chart defaults, as JSON."""
    shared = yaml.safe_load((ROOT / "manifests" / "values.yaml").read_text(encoding="utf-8"))
    pilot = yaml.safe_load((ROOT / "manifests" / "pilot" / "values.yaml").read_text(encoding="utf-8"))
    values = {
        "global": shared["global"],
        "revision": "",
        "pilot": {"cni": pilot["pilot"]["cni"], "env": pilot["pilot"].get("env") or {}},
        "gateways": {"securityContext": {}, "seccompProfile": {}},
    }
    return json.dumps(values)


def injector_values(**overrides: Any) -> dict[str, Any]:
    """Chart defaults with ``overrides`` keyed by paths with ``__`` for dots (``global__network="east"``)."""
    values: dict[str, Any] = json.loads(_chart_values())
    for path, value in overrides.items():
        *parents, leaf = path.split("__")
        node = values
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return values


def port(name: str, number: int) -> Struct:
    return Struct(
        {"Name": name, "ContainerPort": number, "Protocol": "TCP", "HostPort": 0, "HostIP": ""},
        json={"name": name, "containerPort": number, "protocol": "TCP"},
    )


def proxy_config(default_config: Mapping[str, Any] | None = None, *, hold: bool | None = None) -> Struct:
    """A ProxyConfig message from mesh-config ``defaultConfig`` YAML (Go field names; JSON form kept)."""
    config = dict(default_config or {"discoveryAddress": "istiod.istio-system.svc:15012"})
    if hold is not None:
        config["holdApplicationUntilProxyStarts"] = hold
    hold_value = config.get("holdApplicationUntilProxyStarts")
    return Struct(
        {
            "InterceptionMode": config.get("interceptionMode", "REDIRECT"),
            "ProxyMetadata": StringMap(config.get("proxyMetadata") or {}),
            "DiscoveryAddress": config.get("discoveryAddress", ""),
            "HoldApplicationUntilProxyStarts": None if hold_value is None else Struct({"Value": hold_value}),
        },
        json=config,
    )


def injection_data(
    values: Mapping[str, Any] | None = None,
    *,
    annotations: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    config: Struct | None = None,
    native: bool = False,
    revision: str = "",
    trust_domain: str = "cluster.local",
) -> Struct:
    """The data istiod hands a template for a pod of Deployment ``reviews-v1`` in namespace ``shop``."""
    return Struct(
        {
            "ObjectMeta": Struct(
                {
                    "Name": "",
                    "Namespace": "shop",
                    "Labels": StringMap(labels if labels is not None else {"app": "reviews", "version": "v1"}),
                    "Annotations": StringMap(annotations or {}),
                }
            ),
            "DeploymentMeta": Struct({"Name": "reviews-v1", "Namespace": "shop"}),
            "TypeMeta": Struct({"Kind": "Deployment", "APIVersion": "apps/v1"}),
            "Spec": Struct(
                {
                    "ServiceAccountName": "reviews",
                    "Containers": [
                        Struct({"Name": "reviews", "Ports": [port("http", 9080), port("grpc", 9090)]}),
                        Struct({"Name": "log-shipper", "Ports": []}),
                    ],
                }
            ),
            "ProxyConfig": config or proxy_config(),
            "MeshConfig": Struct({"TrustDomain": trust_domain, "ProxyListenPort": 0, "ProxyInboundListenPort": 0}),
            "Values": as_go(values or injector_values()),
            "Revision": revision,
            "NativeSidecar": native,
            "ProxyImage": PROXY_IMAGE,
            "ProxyUID": 1337,
            "ProxyGID": 1337,
        }
    )


def inject(name: str, data: Struct, parsed: gotemplate.Template | None = None) -> dict[str, Any]:
    """Evaluate a template and check what every injection must satisfy, whatever the input."""
    text = gotemplate.render(parsed or template(name), data)
    assert "<no value>" not in text, text
    assert "<nil>" not in text, text
    fragment = yaml.safe_load(text)
    assert isinstance(fragment, dict)
    assert set(fragment) == {"metadata", "spec"}
    spec = fragment["spec"]
    assert all(spec[key] for key in spec), f"an empty list or map would wipe the pod's own: {spec}"
    volumes = [v["name"] for v in spec["volumes"]]
    assert len(volumes) == len(set(volumes))
    containers = spec.get("initContainers", []) + spec.get("containers", [])
    assert len({c["name"] for c in containers}) == len(containers)
    for container in containers:
        assert container["image"] == PROXY_IMAGE
        env = [e["name"] for e in container.get("env", [])]
        assert len(env) == len(set(env)), f"duplicate env in {container['name']}: {env}"
        assert {m["name"] for m in container.get("volumeMounts", [])} <= set(volumes)
    for key, value in fragment["metadata"].get("annotations", {}).items():
        assert isinstance(value, str), f"annotation {key} is not a string"
    return fragment


def container(fragment: Mapping[str, Any], name: str) -> dict[str, Any]:
    spec = fragment["spec"]
    found = [c for c in spec.get("initContainers", []) + spec.get("containers", []) if c["name"] == name]
    assert len(found) == 1, f"expected one container {name}"
    return found[0]


def env_of(c: Mapping[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in c.get("env", [])}


def test_sidecar_defaults() -> None:
    fragment = inject("sidecar", injection_data())
    meta, spec = fragment["metadata"], fragment["spec"]
    assert meta["labels"] == {
        "security.istio.io/tlsMode": "istio",
        "service.istio.io/canonical-name": "reviews",
        "service.istio.io/canonical-revision": "v1",
    }
    assert meta["annotations"] == {
        "istio.io/rev": "default",
        "sidecar.istio.io/interceptionMode": "REDIRECT",
        "kubectl.kubernetes.io/default-container": "reviews",
        "kubectl.kubernetes.io/default-logs-container": "reviews",
    }
    assert [c["name"] for c in spec["initContainers"]] == ["istio-init"]
    assert [c["name"] for c in spec["containers"]] == ["istio-proxy"]

    init = container(fragment, "istio-init")
    assert init["args"] == DEFAULT_INIT_ARGS
    assert init["securityContext"] == {
        "allowPrivilegeEscalation": False,
        "privileged": False,
        "capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN", "NET_RAW"]},
        "readOnlyRootFilesystem": False,
        "runAsNonRoot": False,
        "runAsUser": 0,
        "runAsGroup": 0,
    }
    assert init["resources"] == DEFAULT_RESOURCES

    proxy = container(fragment, "istio-proxy")
    assert proxy["args"] == ["proxy", "sidecar", *PROXY_ARGS]
    assert proxy["ports"] == [{"name": "http-envoy-prom", "containerPort": 15090, "protocol": "TCP"}]
    assert [e["name"] for e in proxy["env"]] == SIDECAR_ENV
    env = env_of(proxy)
    for name, path in FIELD_REFS.items():
        assert env[name] == {"fieldRef": {"fieldPath": path}}, name
    assert env["ISTIO_CPU_LIMIT"] == {"resourceFieldRef": {"resource": "limits.cpu"}}
    assert env["GOMEMLIMIT"] == {"resourceFieldRef": {"resource": "limits.memory"}}
    assert env["GOMAXPROCS"] == {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1"}}
    assert "GODEBUG" not in env
    assert "COMPLIANCE_POLICY" not in env
    assert env["PILOT_CERT_PROVIDER"] == "istiod"
    assert env["CA_ADDR"] == "istiod.istio-system.svc:15012"
    assert json.loads(env["PROXY_CONFIG"]) == {"discoveryAddress": "istiod.istio-system.svc:15012"}
    assert json.loads(env["ISTIO_META_POD_PORTS"]) == [
        {"name": "http", "containerPort": 9080, "protocol": "TCP"},
        {"name": "grpc", "containerPort": 9090, "protocol": "TCP"},
    ]
    assert env["ISTIO_META_APP_CONTAINERS"] == "reviews,log-shipper"
    assert env["ISTIO_META_CLUSTER_ID"] == "Kubernetes"
    assert env["ISTIO_META_INTERCEPTION_MODE"] == "REDIRECT"
    assert env["ISTIO_META_WORKLOAD_NAME"] == "reviews-v1"
    assert env["ISTIO_META_OWNER"] == "kubernetes://apis/apps/v1/namespaces/shop/deployments/reviews-v1"
    assert env["ISTIO_META_MESH_ID"] == env["TRUST_DOMAIN"] == "cluster.local"

    probe = {"httpGet": {"path": "/healthz/ready", "port": 15021}, "timeoutSeconds": 3}
    assert proxy["readinessProbe"] == {**probe, "initialDelaySeconds": 0, "periodSeconds": 15, "failureThreshold": 4}
    assert proxy["startupProbe"] == {**probe, "initialDelaySeconds": 0, "periodSeconds": 1, "failureThreshold": 600}
    assert "lifecycle" not in proxy
    assert proxy["resources"] == DEFAULT_RESOURCES
    assert proxy["securityContext"] == PROXY_SECURITY
    assert {m["name"]: m["mountPath"] for m in proxy["volumeMounts"]} == VOLUME_MOUNTS

    volumes = {v["name"]: v for v in spec["volumes"]}
    assert set(volumes) == set(VOLUME_MOUNTS)
    assert volumes["istio-envoy"] == {"name": "istio-envoy", "emptyDir": {"medium": "Memory"}}
    assert volumes["istiod-ca-cert"]["configMap"] == {"name": "istio-ca-root-cert"}
    token = volumes["istio-token"]["projected"]["sources"][0]["serviceAccountToken"]
    assert token == {"audience": "istio-ca", "expirationSeconds": 43200, "path": "istio-token"}
    assert [i["path"] for i in volumes["istio-podinfo"]["downwardAPI"]["items"]] == ["labels", "annotations"]
    assert "imagePullSecrets" not in spec


def test_sidecar_with_cni_validates_instead_of_redirecting() -> None:
    values = injector_values(pilot__cni={"enabled": True, "provider": "multus"})
    annotations = {
        "k8s.v1.cni.cncf.io/networks": "macvlan-conf",
        "traffic.sidecar.istio.io/excludeInboundPorts": "8081",
        "traffic.sidecar.istio.io/excludeOutboundPorts": "5432",
    }
    fragment = inject("sidecar", injection_data(values, annotations=annotations))
    assert [c["name"] for c in fragment["spec"]["initContainers"]] == ["istio-validation"]
    validation = container(fragment, "istio-validation")
    assert validation["args"][-2:] == ["--run-validation", "--skip-rule-apply"]
    # The pod's own ports, then the status port (istiod's excludeInboundPort order).
    assert validation["args"][validation["args"].index("-d") + 1] == "15090,15021,8081,15020"
    assert validation["args"][validation["args"].index("-o") + 1] == "5432"
    assert validation["securityContext"] == PROXY_SECURITY
    annotations_out = fragment["metadata"]["annotations"]
    assert annotations_out["k8s.v1.cni.cncf.io/networks"] == "macvlan-conf, istio-cni"
    assert annotations_out["traffic.sidecar.istio.io/excludeInboundPorts"] == "8081,15020"
    assert annotations_out["traffic.sidecar.istio.io/excludeOutboundPorts"] == "5432"
    assert annotations_out["traffic.sidecar.istio.io/includeOutboundIPRanges"] == "*"
    assert annotations_out["traffic.sidecar.istio.io/includeInboundPorts"] == "*"


def test_sidecar_without_interception_has_no_init_containers() -> None:
    values = injector_values(pilot__cni={"enabled": True, "provider": "multus"})
    fragment = inject("sidecar", injection_data(values, annotations={"sidecar.istio.io/interceptionMode": "NONE"}))
    assert "initContainers" not in fragment["spec"]
    assert not any(k.startswith("traffic.") or k.startswith("k8s.v1") for k in fragment["metadata"]["annotations"])
    assert env_of(container(fragment, "istio-proxy"))["ISTIO_META_INTERCEPTION_MODE"] == "NONE"


def test_sidecar_in_tproxy_mode() -> None:
    config = proxy_config({"discoveryAddress": "istiod.istio-system.svc:15012", "interceptionMode": "TPROXY"})
    fragment = inject("sidecar", injection_data(config=config))
    init = container(fragment, "istio-init")
    assert init["args"][init["args"].index("-m") + 1] == "TPROXY"
    security = container(fragment, "istio-proxy")["securityContext"]
    assert security["capabilities"] == {"drop": ["ALL"], "add": ["NET_ADMIN"]}
    assert (security["runAsUser"], security["runAsGroup"], security["runAsNonRoot"]) == (0, 1337, False)


def test_native_sidecar_runs_as_a_restartable_init_container() -> None:
    fragment = inject("sidecar", injection_data(native=True, config=proxy_config(hold=True)))
    spec = fragment["spec"]
    assert "containers" not in spec
    assert [c["name"] for c in spec["initContainers"]] == ["istio-init", "istio-proxy"]
    proxy = container(fragment, "istio-proxy")
    assert proxy["restartPolicy"] == "Always"
    assert proxy["lifecycle"] == {
        "preStop": {"exec": {"command": ["pilot-agent", "request", "--debug-port=15020", "POST", "drain"]}}
    }
    assert "startupProbe" in proxy


@pytest.mark.parametrize(
    ("values_hold", "config_hold", "waits"),
    [(False, None, False), (True, None, True), (False, True, True), (True, False, False)],
)
def test_hold_application_until_proxy_starts(values_hold: bool, config_hold: bool | None, waits: bool) -> None:
    values = injector_values()
    values["global"]["proxy"]["holdApplicationUntilProxyStarts"] = values_hold
    fragment = inject("sidecar", injection_data(values, config=proxy_config(hold=config_hold)))
    lifecycle = container(fragment, "istio-proxy").get("lifecycle")
    assert (lifecycle == {"postStart": {"exec": {"command": ["pilot-agent", "wait"]}}}) is waits
    assert waits or lifecycle is None


def test_resource_annotations_replace_the_values_as_a_whole() -> None:
    annotations = {"sidecar.istio.io/proxyCPU": "50m", "sidecar.istio.io/proxyMemoryLimit": "512Mi"}
    fragment = inject("sidecar", injection_data(annotations=annotations))
    expected = {"requests": {"cpu": "50m"}, "limits": {"memory": "512Mi"}}
    assert container(fragment, "istio-proxy")["resources"] == expected
    assert container(fragment, "istio-init")["resources"] == expected


def test_status_port_zero_drops_the_probes() -> None:
    fragment = inject("sidecar", injection_data(annotations={"status.sidecar.istio.io/port": "0"}))
    proxy = container(fragment, "istio-proxy")
    assert "readinessProbe" not in proxy
    assert "startupProbe" not in proxy
    init = container(fragment, "istio-init")
    assert init["args"][init["args"].index("-d") + 1] == "15090,15021"


def test_traffic_annotations_reach_istio_iptables() -> None:
    annotations = {
        "traffic.sidecar.istio.io/includeOutboundIPRanges": "10.0.0.0/8",
        "traffic.sidecar.istio.io/excludeOutboundIPRanges": "10.96.0.1/32",
        "traffic.sidecar.istio.io/includeInboundPorts": "9080",
        "traffic.sidecar.istio.io/includeOutboundPorts": "443",
        "traffic.sidecar.istio.io/excludeOutboundPorts": "5432",
        "traffic.sidecar.istio.io/kubevirtInterfaces": "net1",
        "traffic.sidecar.istio.io/excludeInterfaces": "eth9",
        "readiness.status.sidecar.istio.io/periodSeconds": "5",
        "sidecar.istio.io/agentLogLevel": "default:debug",
    }
    fragment = inject("sidecar", injection_data(annotations=annotations))
    args = container(fragment, "istio-init")["args"]
    options = dict(zip(args[1:-1:2], args[2:-1:2], strict=True))
    assert options == {
        "-p": "15001",
        "-z": "15006",
        "-u": "1337",
        "-m": "REDIRECT",
        "-i": "10.0.0.0/8",
        "-x": "10.96.0.1/32",
        "-b": "9080",
        "-d": "15090,15021,15020",
        "-q": "443",
        "-o": "5432",
        "-k": "net1",
        "-c": "eth9",
    }
    assert args[-1] == "--log_output_level=default:debug"
    proxy = container(fragment, "istio-proxy")
    assert proxy["readinessProbe"]["periodSeconds"] == 5
    assert "--log_output_level=default:debug" in proxy["args"]


def test_optional_volumes_and_settings() -> None:
    proxy_values = injector_values()["global"]["proxy"] | {"enableCoreDump": True, "privileged": True}
    values = injector_values(
        global__proxy=proxy_values,
        global__mountMtlsCerts=True,
        global__imagePullSecrets=["registry-a", "registry-b"],
        global__logAsJson=True,
        global__imagePullPolicy="IfNotPresent",
        global__network="net-east",
        global__meshID="mesh-1",
        global__multiCluster={"enabled": True, "clusterName": "east"},
    )
    annotations = {
        "sidecar.istio.io/bootstrapOverride": "custom-bootstrap",
        "sidecar.istio.io/userVolume": json.dumps({"extra-certs": {"secret": {"secretName": "extra"}}}),
        "sidecar.istio.io/userVolumeMount": json.dumps({"extra-certs": {"mountPath": "/etc/extra", "readOnly": True}}),
        "kubectl.kubernetes.io/default-container": "log-shipper",
    }
    config = proxy_config({"discoveryAddress": "istiod.istio-system.svc:15012", "proxyMetadata": {"A": "1"}})
    data = injection_data(values, annotations=annotations, config=config, revision="canary", trust_domain="corp")
    fragment = inject("sidecar", data)
    spec = fragment["spec"]
    assert [c["name"] for c in spec["initContainers"]] == ["istio-init", "enable-core-dump"]
    assert container(fragment, "enable-core-dump")["securityContext"]["privileged"] is True
    assert container(fragment, "istio-init")["env"] == [{"name": "A", "value": "1"}]
    assert spec["imagePullSecrets"] == [{"name": "registry-a"}, {"name": "registry-b"}]
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert volumes["istio-certs"]["secret"] == {"optional": True, "secretName": "istio.reviews"}
    assert volumes["custom-bootstrap-volume"]["configMap"] == {"name": "custom-bootstrap"}
    assert volumes["extra-certs"] == {"name": "extra-certs", "secret": {"secretName": "extra"}}
    proxy = container(fragment, "istio-proxy")
    mounts = {m["name"]: m for m in proxy["volumeMounts"]}
    assert mounts["extra-certs"] == {"name": "extra-certs", "mountPath": "/etc/extra", "readOnly": True}
    assert mounts["istio-certs"]["readOnly"] is True
    assert proxy["imagePullPolicy"] == "IfNotPresent"
    assert "--log_as_json" in proxy["args"]
    assert proxy["securityContext"]["privileged"] is True
    env = env_of(proxy)
    assert env["ISTIO_BOOTSTRAP_OVERRIDE"] == "/etc/istio/custom-bootstrap/custom_bootstrap.json"
    assert (env["ISTIO_META_NETWORK"], env["ISTIO_META_MESH_ID"], env["TRUST_DOMAIN"]) == ("net-east", "mesh-1", "corp")
    assert env["ISTIO_META_CLUSTER_ID"] == "east"
    assert env["A"] == "1"
    annotations_out = fragment["metadata"]["annotations"]
    assert annotations_out["istio.io/rev"] == "canary"
    assert "kubectl.kubernetes.io/default-container" not in annotations_out  # the pod chose its own


def test_canonical_labels_fall_back_and_fit_a_label_value() -> None:
    long_name = "a" * 62 + "-b"
    fragment = inject("sidecar", injection_data(labels={"app.kubernetes.io/name": long_name}))
    labels = fragment["metadata"]["labels"]
    assert labels["service.istio.io/canonical-name"] == "a" * 62  # cut at 63 characters, trailing "-" dropped
    assert labels["service.istio.io/canonical-revision"] == "latest"
    fragment = inject("sidecar", injection_data(labels={}))
    assert fragment["metadata"]["labels"]["service.istio.io/canonical-name"] == "reviews-v1"


def test_gateway_defaults() -> None:
    fragment = inject("gateway", injection_data())
    spec = fragment["spec"]
    assert "initContainers" not in spec
    assert [c["name"] for c in spec["containers"]] == ["istio-proxy"]
    assert spec["securityContext"] == {"sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}]}
    proxy = container(fragment, "istio-proxy")
    assert proxy["args"] == ["proxy", "router", *PROXY_ARGS]
    assert proxy["ports"] == [{"name": "http-envoy-prom", "containerPort": 15090, "protocol": "TCP"}]
    assert [e["name"] for e in proxy["env"]] == GATEWAY_ENV
    env = env_of(proxy)
    assert env["GOMAXPROCS"] == {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1"}}
    assert env["ISTIO_META_UNPRIVILEGED_POD"] == "true"
    assert env["ISTIO_META_OWNER"] == "kubernetes://apis/apps/v1/namespaces/shop/deployments/reviews-v1"
    assert proxy["readinessProbe"]["httpGet"] == {"path": "/healthz/ready", "port": 15021}
    assert "startupProbe" not in proxy
    assert "lifecycle" not in proxy
    assert proxy["securityContext"] == PROXY_SECURITY
    assert proxy["resources"] == DEFAULT_RESOURCES
    assert {m["name"]: m["mountPath"] for m in proxy["volumeMounts"]} == VOLUME_MOUNTS
    assert {v["name"] for v in spec["volumes"]} == set(VOLUME_MOUNTS)
    assert fragment["metadata"] == {
        "labels": {"service.istio.io/canonical-name": "reviews", "service.istio.io/canonical-revision": "v1"},
        "annotations": {"istio.io/rev": "default"},
    }


def test_gateway_security_settings_from_values() -> None:
    values = injector_values(
        gateways={"securityContext": {"runAsUser": 1000, "fsGroup": 1000}, "seccompProfile": {"type": "RuntimeDefault"}}
    )
    lifecycle = {"preStop": {"exec": {"command": ["sleep", "5"]}}}
    values["global"]["proxy"]["lifecycle"] = lifecycle
    fragment = inject("gateway", injection_data(values, annotations={"sidecar.istio.io/proxyMemory": "1Gi"}))
    assert fragment["spec"]["securityContext"] == {"fsGroup": 1000, "runAsUser": 1000}
    proxy = container(fragment, "istio-proxy")
    assert proxy["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert proxy["lifecycle"] == lifecycle
    assert proxy["resources"] == {"requests": {"memory": "1Gi"}}


# ---------------------------------------------------------------------------------------------------------------
# 4. The templates as shipped in the rendered ConfigMap


@pytest.mark.parametrize("profile", ["default", "preview", "ambient", "openshift"])
def test_rendered_injector_configmap_injects_with_its_own_values(profile: str) -> None:
    config = layering.build_effective_config(layering.ConfigInput(sets=(f"profile={profile}",)))
    objs = pipeline.render_manifests(config, components=["Pilot"])
    maps = {o["metadata"]["name"]: o["data"] for o in objs if o["kind"] == "ConfigMap"}
    injector = yaml.safe_load(maps["istio-sidecar-injector"]["config"])
    values = json.loads(maps["istio-sidecar-injector"]["values"])
    mesh = yaml.safe_load(maps["istio"]["mesh"])
    proxy_metadata = mesh["defaultConfig"].get("proxyMetadata", {})
    for name in FILES:
        assert injector["templates"][name] == template_text(name), f"{name} is not inserted verbatim"
        parsed = gotemplate.parse(injector["templates"][name], name)
        data = injection_data(values, config=proxy_config(mesh["defaultConfig"]), trust_domain=mesh["trustDomain"])
        fragment = inject(name, data, parsed)
        env = env_of(container(fragment, "istio-proxy"))
        assert json.loads(env["PROXY_CONFIG"]) == mesh["defaultConfig"]
        for key, value in proxy_metadata.items():
            assert env[key] == value
        if name == "sidecar":
            cni = values["pilot"]["cni"]
            init = "istio-validation" if cni["enabled"] else "istio-init"
            assert [c["name"] for c in fragment["spec"]["initContainers"]] == [init]
            multus = "k8s.v1.cni.cncf.io/networks" in fragment["metadata"]["annotations"]
            assert multus is (cni["enabled"] and cni["provider"] == "multus")


# ---------------------------------------------------------------------------------------------------------------
# The evaluator's Go semantics that the templates rely on


def run(text: str, data: Any = None) -> str:
    return gotemplate.render(gotemplate.parse(text, "t"), data)


def test_trim_markers_and_comments() -> None:
    assert run("a  {{- 1 -}}  b") == "a1b"
    assert run("a\n  {{- /* gone */}}\nb") == "a\nb"
    assert run("a {{-3}} b") == "a -3 b"  # "{{-3" is the number -3, not a trim marker


def test_values_print_the_way_go_prints_them() -> None:
    data = {"A": 15020.0, "B": 0.5, "C": 1e6, "D": True}
    assert run("{{ .A }} {{ .B }} {{ .C }} {{ .D }}", data) == "15020 0.5 1e+06 true"
    assert run("{{ .E }}", {"E": None}) == "<no value>"
    with pytest.raises(gotemplate.TemplateError, match="cannot print a dict"):
        run("{{ .M }}", {"M": {"a": 1}})


def test_go_errors_are_kept() -> None:
    with pytest.raises(gotemplate.TemplateError, match="incompatible types"):
        run('{{ eq .A "15020" }}', {"A": 15020.0})
    with pytest.raises(gotemplate.TemplateError, match="incompatible types"):
        run("{{ eq .A 15020 }}", {"A": 15020.0})  # a JSON number is a float64 in istiod
    with pytest.raises(gotemplate.TemplateError, match=r"nil pointer evaluating interface \{\}\.B"):
        run("{{ .A.B }}", {"A": None})  # a field of a JSON null
    assert run("{{ .A.B }}|{{ $x := .A }}{{ $x.B }}", {}) == "<no value>|<no value>"  # of a missing key: invalid
    with pytest.raises(gotemplate.TemplateError, match="can't evaluate field Nope"):
        run("{{ .Nope }}", Struct({"Yes": 1}))
    with pytest.raises(gotemplate.TemplateError, match="expected string"):
        run("{{ toLower .A }}", {"A": 1.0})
    assert run("{{ and false (index .Nil 0) }}", {"Nil": None}) == "false"  # and/or stop early
    assert run("{{ eq .Missing 1 }}", {}) == "false"


def test_maps_answer_missing_keys_by_kind() -> None:
    data = {"values": {}, "labels": StringMap()}
    assert run('{{ index .values "x" | quote }}|{{ index .labels "x" | quote }}', data) == '|""'


def test_variables_blocks_and_range() -> None:
    text = (
        "{{ $n := list }}{{ range $k, $v := .M }}{{ if $v }}{{ $n = append $n $k }}{{ end }}{{ end }}"
        '{{ join "," $n }}|{{ range .L }}[{{ . }}]{{ end }}|{{ with .S }}{{ . }}{{ else }}none{{ end }}'
    )
    assert run(text, {"M": {"b": 1.0, "a": 2.0, "c": 0.0}, "L": ["x", "y"], "S": ""}) == "a,b|[x][y]|none"


def test_default_and_value_or_default_differ_on_zero() -> None:
    assert run('{{ .Z | default 7 }} {{ valueOrDefault .Z 7 }} {{ valueOrDefault "" 7 }}', {"Z": 0}) == "7 0 7"


@pytest.mark.parametrize(
    ("existing", "expected"),
    [
        ("", "istio-cni"),
        ("macvlan", "macvlan, istio-cni"),
        ("macvlan, istio-cni", "macvlan, istio-cni"),
        ('[{"name": "macvlan"}]', '[{"name": "macvlan"}, {"name": "istio-cni"}]'),
        ('[{"name": "istio-cni"}]', '[{"name": "istio-cni"}]'),
    ],
)
def test_append_multus_network(existing: str, expected: str) -> None:
    assert run('{{ appendMultusNetwork .E "istio-cni" }}', {"E": existing}) == expected


@given(st.text(alphabet=st.characters(exclude_characters="{}")))
def test_text_without_actions_renders_unchanged(text: str) -> None:
    assert run(text) == text


@given(st.text())
def test_quote_always_yields_the_same_string_in_yaml(text: str) -> None:
    assert yaml.safe_load("v: " + run("{{ quote .S }}", {"S": text}))["v"] == text
