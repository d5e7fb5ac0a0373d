"""The cross-check corpus: the shipped injection templates over pods and settings, plus evaluator snippets.

Template cases take their data from the real ``kube-inject`` path (offline settings rendered by meshctl for a set of
``--set`` inputs, template data built by :func:`meshctl.inject.pod.injection_data`), so the check covers the data
model as well as the evaluator. Snippet cases pin the Go semantics the templates lean on (nil and missing keys,
comparisons, truth, printing, the sprig and istiod functions), including ones that must fail in both.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from meshctl.config import layering
from meshctl.gotemplate import StringMap, Struct
from meshctl.inject import pod, settings, workloads
from meshctl.ops import inject as inject_ops

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = {
    name: (ROOT / "manifests" / "pilot" / "files" / f"injection-{name}.yaml").read_text(encoding="utf-8")
    for name in ("sidecar", "gateway")
}

#: ``--set`` inputs whose rendered injector settings the templates are run with.
SETTINGS: dict[str, tuple[str, ...]] = {
    "default": (),
    "demo": ("profile=demo",),
    "preview": ("profile=preview",),
    "openshift": ("profile=openshift",),
    "revision": ("revision=canary",),
    "cni-multus": ("components.cni.enabled=true", "values.pilot.cni.enabled=true", "values.pilot.cni.provider=multus"),
    "no-native": ("values.pilot.env.ENABLE_NATIVE_SIDECARS=false",),
    "hold": (
        "values.global.proxy.holdApplicationUntilProxyStarts=true",
        "values.pilot.env.ENABLE_NATIVE_SIDECARS=false",
    ),
    "tproxy": ("meshConfig.defaultConfig.interceptionMode=TPROXY",),
    "extras": (
        "values.global.proxy.enableCoreDump=true",
        "values.global.proxy.privileged=true",
        "values.global.mountMtlsCerts=true",
        "values.global.imagePullSecrets[0]=registry-a",
        "values.global.imagePullSecrets[1]=registry-b",
        "values.global.logAsJson=true",
        "values.global.imagePullPolicy=IfNotPresent",
        "values.global.network=net-east",
        "values.global.meshID=mesh-1",
        "values.global.multiCluster.clusterName=east",
        "meshConfig.defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE=true",
        "meshConfig.trustDomain=corp.example",
    ),
    "lifecycle": (
        "values.global.proxy.lifecycle.preStop.exec.command[0]=sleep",
        "values.global.proxy.lifecycle.preStop.exec.command[1]=5",
        "values.gateways.securityContext.runAsUser=1000",
        "values.gateways.securityContext.fsGroup=1000",
        "values.gateways.seccompProfile.type=RuntimeDefault",
    ),
    "odd-values": (
        "values.global.proxy.resources.requests.cpu=2",
        "values.global.proxy.resources.limits.memory=1.5Gi",
        "values.global.proxy.includeIPRanges=10.0.0.0/8,172.16.0.0/12",
        "values.global.proxy.statusPort=15021",
        "values.global.proxy.readinessPeriodSeconds=7",
        "values.global.logging.level=default:debug",
        "values.global.variant=distroless",
    ),
}

_USER_VOLUME = {"extra-certs": {"secret": {"secretName": "extra", "defaultMode": 420}}, "scratch": {"emptyDir": {}}}
_USER_MOUNT = {"extra-certs": {"mountPath": "/etc/extra", "readOnly": True}, "scratch": {"mountPath": "/tmp/s"}}

#: Pod template annotations and labels (beside ``app: reviews``, ``version: v1``).
PODS: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "plain": ({}, {}),
    "no-labels": ({}, {"app": None, "version": None}),  # type: ignore[dict-item]
    "annotated": (
        {
            "traffic.sidecar.istio.io/includeOutboundIPRanges": "10.0.0.0/8",
            "traffic.sidecar.istio.io/excludeOutboundIPRanges": "10.96.0.1/32",
            "traffic.sidecar.istio.io/includeInboundPorts": "9080",
            "traffic.sidecar.istio.io/excludeInboundPorts": "8081,8082",
            "traffic.sidecar.istio.io/includeOutboundPorts": "443",
            "traffic.sidecar.istio.io/excludeOutboundPorts": "5432",
            "traffic.sidecar.istio.io/kubevirtInterfaces": "net1",
            "traffic.sidecar.istio.io/excludeInterfaces": "eth9",
            "readiness.status.sidecar.istio.io/periodSeconds": "5",
            "readiness.status.sidecar.istio.io/failureThreshold": "30",
            "sidecar.istio.io/agentLogLevel": "default:debug",
            "sidecar.istio.io/logLevel": "debug",
            "sidecar.istio.io/componentLogLevel": "misc:error,upstream:debug",
        },
        {},
    ),
    "resources": ({"sidecar.istio.io/proxyCPU": "50m", "sidecar.istio.io/proxyMemoryLimit": "512Mi"}, {}),
    "volumes": (
        {
            "sidecar.istio.io/bootstrapOverride": "custom-bootstrap",
            "sidecar.istio.io/userVolume": json.dumps(_USER_VOLUME),
            "sidecar.istio.io/userVolumeMount": json.dumps(_USER_MOUNT),
        },
        {},
    ),
    "no-interception": ({"sidecar.istio.io/interceptionMode": "NONE"}, {}),
    "status-port-off": ({"status.sidecar.istio.io/port": "0"}, {}),
    "native": ({"sidecar.istio.io/nativeSidecar": "true"}, {}),
    "not-native": ({"sidecar.istio.io/nativeSidecar": "false"}, {}),
    "proxy-config": (
        {"proxy.istio.io/config": "holdApplicationUntilProxyStarts: true\nproxyMetadata:\n  A: 'x<y>&z'\n"},
        {},
    ),
    "multus": ({"k8s.v1.cni.cncf.io/networks": '[{"name": "macvlan"}]'}, {"topology.istio.io/network": "net-west"}),
    "own-default-container": ({"kubectl.kubernetes.io/default-container": "log-shipper"}, {}),
    "long-name": ({}, {"app": None, "app.kubernetes.io/name": "a" * 62 + "-b", "version": "1.0"}),  # type: ignore[dict-item]
    "quoting": (
        {"sidecar.istio.io/agentLogLevel": 'say "hi"\\ \u00e9\t'},
        {"service.istio.io/canonical-revision": "true"},
    ),
}


@functools.cache
def conf_for(name: str) -> settings.Settings:
    sources = inject_ops.Sources(config_input=layering.ConfigInput(sets=SETTINGS[name]))
    return inject_ops.load_settings(sources, None, None)


def deployment(annotations: Mapping[str, str], labels: Mapping[str, str | None]) -> dict[str, Any]:
    pod_labels = {k: v for k, v in ({"app": "reviews", "version": "v1"} | dict(labels)).items() if v is not None}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "reviews-v1", "namespace": "shop"},
        "spec": {
            "template": {
                "metadata": {"labels": pod_labels, "annotations": dict(annotations)},
                "spec": {
                    "serviceAccountName": "reviews",
                    "containers": [
                        {
                            "name": "reviews",
                            "image": "reviews:1",
                            "ports": [
                                {"name": "http", "containerPort": 9080},
                                {"containerPort": 9090, "protocol": "UDP"},
                            ],
                        },
                        {"name": "log-shipper", "image": "shipper:1"},
                    ],
                },
            }
        },
    }


def template_cases() -> Iterator[dict[str, Any]]:
    for settings_name in SETTINGS:
        conf = conf_for(settings_name)
        pods = PODS if settings_name == "default" else {k: PODS[k] for k in ("plain", "annotated", "volumes")}
        for pod_name, (pod_annotations, labels) in pods.items():
            obj = deployment(pod_annotations, labels)
            template = obj["spec"]["template"]
            data, _ = pod.injection_data(template, workloads.owner_of(obj), conf, pod_name)
            for template_name in ("sidecar", "gateway"):
                yield {
                    "name": f"{template_name}/{settings_name}/{pod_name}",
                    "template": template_name,
                    "text": conf.injector.templates[template_name],
                    "data": data,
                }


def _meta(annotations: Mapping[str, str]) -> Struct:
    return Struct({"Annotations": StringMap(annotations), "Labels": StringMap()})


#: (name, template text, data): Go semantics the templates rely on; some must fail in both evaluators.
_SNIPPETS: list[tuple[str, str, Any]] = [
    (
        "print-scalars",
        "{{ .S }} {{ .I }} {{ .F }} {{ .G }} {{ .H }} {{ .B }}",
        {"S": "x", "I": 15020, "F": 15020.0, "G": 0.5, "H": 1e6, "B": True},
    ),
    ("print-small-floats", "{{ .A }} {{ .B }} {{ .C }}", {"A": 0.0001, "B": 0.00001, "C": 123456.5}),
    ("print-missing", "[{{ .Nope }}]", {}),
    ("print-null", "[{{ .Null }}]", {"Null": None}),
    ("missing-chain", "[{{ .A.B.C }}]", {}),
    ("missing-chain-in-values", "[{{ .V.global.nope.deeper }}]", {"V": {"global": {}}}),
    ("null-chain", "{{ .A.B }}", {"A": None}),
    ("struct-missing-field", "{{ .S.Nope }}", {"S": Struct({"Yes": 1})}),
    ("variable-nil-field", "[{{ $x := .Null }}{{ $x.Deeper }}]", {"Null": None}),
    (
        "stringmap-field-missing",
        '[{{ .M.nope }}]|[{{ index .M "nope" }}]|{{ .M.nope | quote }}',
        {"M": StringMap({"a": "b"})},
    ),
    ("map-index-missing", '[{{ index .M "nope" }}]', {"M": {"a": 1.0}}),
    ("index-list", "{{ index .L 1 }}", {"L": ["a", "b"]}),
    ("index-list-out-of-range", "{{ index .L 5 }}", {"L": ["a"]}),
    ("index-nil", '{{ index .Null "a" }}', {"Null": None}),
    ("eq-number-string", '{{ eq .F "15020" }}', {"F": 15020.0}),
    ("eq-float-int", "{{ eq .F 15020 }}", {"F": 15020.0}),
    ("eq-int-int", "{{ eq .I 1337 }}", {"I": 1337}),
    ("eq-missing", '{{ eq .Nope "x" }} {{ eq .Nope .Nada }}', {}),
    ("eq-many", '{{ eq .S "a" "b" "c" }}', {"S": "c"}),
    ("eq-map-nil", "{{ eq .M .Nope }}", {"M": {"a": 1.0}}),
    ("ne-strings", '{{ ne .S "NONE" }}', {"S": "REDIRECT"}),
    (
        "truth",
        "{{ if .Z }}z{{ end }}{{ if .E }}e{{ end }}{{ if .L }}l{{ end }}{{ if .M }}m{{ end }}{{ if .S }}s{{ end }}",
        {"Z": 0.0, "E": "", "L": [], "M": {}, "S": Struct({})},
    ),
    (
        "and-or-short-circuit",
        '{{ and false (index .Null 0) }} {{ or true (index .Null 0) }} {{ and 1 2 }} {{ or 0 "" }}',
        {"Null": None},
    ),
    ("not", "{{ not .A }} {{ not .B }}", {"A": "", "B": "x"}),
    ("with-else", "{{ with .A }}[{{ . }}]{{ else }}none{{ end }}{{ with .B }}[{{ . }}]{{ end }}", {"A": "", "B": "b"}),
    (
        "range-map-sorted",
        "{{ range $k, $v := .M }}{{ $k }}={{ $v }};{{ end }}",
        {"M": {"b": 1.0, "a": 2.0, "B": 3.0, "a10": 4.0, "a9": 5.0}},
    ),
    ("range-list-index", "{{ range $i, $v := .L }}{{ $i }}:{{ $v }} {{ end }}", {"L": ["x", "y"]}),
    ("range-nil", "[{{ range .Nope }}x{{ end }}]", {}),
    ("range-string-fails", "{{ range .S }}x{{ end }}", {"S": "abc"}),
    ("variables-scope", "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ $y := 3 }}{{ end }}{{ $x }}", {}),
    (
        "default",
        '{{ .Z | default 7 }} {{ .E | default "d" }} {{ .S | default "d" }} {{ default "d" .Nope }}',
        {"Z": 0, "E": "", "S": "s"},
    ),
    (
        "value-or-default",
        "{{ valueOrDefault .Z 7 }} {{ valueOrDefault .E 7 }} {{ valueOrDefault .F false }} "
        '{{ valueOrDefault .Nope "d" }}',
        {"Z": 0, "E": "", "F": False},
    ),
    (
        "quote",
        '{{ quote .S }} {{ quote .I }} {{ quote .Nope }}| {{ quote "a\\"b" "c" }}',
        {"S": "tab\there \u00e9 \u2028", "I": 15020.0},
    ),
    (
        "list-append-join",
        '{{ $l := list "a" }}{{ $l = append $l "b" }}{{ $m := append $l "c" }}'
        '{{ join "," $l }}|{{ join "," $m }}|{{ join "-" (list 1 .Nope .F) }}',
        {"F": 2.5},
    ),
    ("dict-set", '{{ $d := dict "b" 1 }}{{ $_ := set $d "a" "x" }}{{ toJson $d }}', {}),
    (
        "trunc-trimsuffix",
        '{{ trunc 3 "abcdef" }} {{ trunc 10 "ab" }} {{ "ab-" | trimSuffix "-" }} {{ "ab" | trimSuffix "" }}',
        {},
    ),
    ("to-lower", "{{ toLower .S }}", {"S": "Deployment"}),
    ("to-json", "{{ toJson .V }}", {"V": {"b": [1.0, 0.5, None, True], "a": "<&>", "c": {"z": 1e21, "y": 100.0}}}),
    (
        "to-json-struct",
        "{{ toJson .L }}",
        {"L": [Struct({"Name": "http"}, json={"name": "http", "containerPort": 80})]},
    ),
    (
        "to-yaml-strings",
        "{{ toYaml .V }}",
        {
            "V": {
                "n": "2",
                "b": "true",
                "y": "yes",
                "s": "*",
                "e": "",
                "c": "a: b",
                "h": "#x",
                "d": "1.5",
                "o": "0o17",
                "x": "0x1F",
            }
        },
    ),
    ("to-yaml-multiline", "{{ toYaml .V }}", {"V": {"script": "line one\nline two\n", "s": "trailing \nspace"}}),
    (
        "to-yaml-key-order",
        "{{ toYaml .V }}",
        {"V": {"a10": 1.0, "a9": 2.0, "aB": 3.0, "a_": 4.0, "a-b": 5.0, "Z": 6.0, "1": 7.0}},
    ),
    ("to-yaml-numbers", "{{ toYaml .V }}", {"V": {"i": 420.0, "f": 0.5, "big": 1e21, "neg": -3.0, "small": 1e-7}}),
    (
        "to-yaml-nested",
        '{{ toYaml .V | trimSuffix "\\n" | nindent 4 }}',
        {"V": {"preStop": {"exec": {"command": ["sleep", "5"]}}, "empty": {}, "none": [], "null": None}},
    ),
    ("to-yaml-long", "{{ toYaml .V }}", {"V": {"long": "word " * 30}}),
    ("nindent", '{{ "a\\nb" | nindent 2 }}|{{ nindent 0 "x" }}', {}),
    (
        "from-json",
        "{{ range $k, $v := fromJSON .J }}{{ $k }}={{ toJson $v }};{{ end }}",
        {"J": '{"b": {"x": 1}, "a": [1, 2.5]}'},
    ),
    ("from-json-number", "{{ $v := fromJSON .J }}{{ $v.n }} {{ eq $v.n .Three }}", {"J": '{"n": 3}', "Three": 3.0}),
    (
        "annotation",
        '{{ annotation .Meta "a" "d" }} {{ annotation .Meta "e" "d" }} {{ annotation .Meta "x" "d" }} '
        '{{ annotation .Meta "x" .Num }} {{ annotation .Meta "x" .Nope }}',
        {"Meta": _meta({"a": "A", "e": ""}), "Num": 15020.0},
    ),
    ("isset", '{{ isset .Meta.Annotations "a" }} {{ isset .Meta.Annotations "b" }}', {"Meta": _meta({"a": ""})}),
    (
        "proto-to-json",
        "{{ protoToJSON .PC }}",
        {
            "PC": Struct(
                {}, json={"discoveryAddress": "istiod:15012", "proxyMetadata": {"B": "<1>", "A": "2"}, "concurrency": 2}
            )
        },
    ),
    (
        "multus",
        '{{ appendMultusNetwork .A "istio-cni" }}|{{ appendMultusNetwork .B "istio-cni" }}|'
        '{{ appendMultusNetwork .C "istio-cni" }}',
        {"A": "", "B": "macvlan, istio-cni", "C": '[{"name": "x"}]'},
    ),
    ("trim-markers", "a  {{- 1 -}}  b\n  {{- /* c */}}\nd {{-3}} e", {}),
    ("comments-and-raw-strings", '{{/* x */}}{{ `raw\\n` }}{{ "\\x41\\u00e9" }}', {}),
    ("call-wrong-type", "{{ toLower .I }}", {"I": 3}),
    ("print-map-fails", "{{ .M }}", {"M": {"a": "b"}}),
]


def snippet_cases() -> Iterator[dict[str, Any]]:
    for name, text, data in _SNIPPETS:
        yield {"name": f"snippet/{name}", "template": "snippet", "text": text, "data": data}


def cases() -> list[dict[str, Any]]:
    return [*template_cases(), *snippet_cases()]
