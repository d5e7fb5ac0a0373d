"""Fixtures of the render tests: a small manifests tree of the project's layout and hand-built configurations.

The pipeline is tested against these tiny templates, so its behaviour (context, k8s settings, overlays, labels,
ordering, output) is pinned independently of the real templates in ``manifests/`` (which the golden, fact and
count tests cover).
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path
from typing import Any

import pytest

from meshctl.config import layering

_TEMPLATES: dict[str, str] = {
    "values.yaml": """
        global:
          hub: docker.io/istio
          tag: "1.30.3"
          variant: ""
          istioNamespace: istio-system
          network: ""
        """,
    "base/values.yaml": """
        base:
          enableCRDTemplates: true
        """,
    "base/crds.yaml.j2": """
        {% if values.base.enableCRDTemplates %}
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: widgets.example.istio.io
        spec:
          group: example.istio.io
          names: {kind: Widget, plural: widgets}
          scope: Namespaced
          versions: []
        {% endif %}
        """,
    "base/sa.yaml.j2": """
        apiVersion: v1
        kind: ServiceAccount
        metadata:
          name: istio-reader-service-account
          namespace: {{ istio_namespace }}
          labels:
            app: istio-reader
        """,
    "pilot/values.yaml": """
        pilot:
          autoscaleEnabled: true
          autoscaleMin: 1
          autoscaleMax: 5
        """,
    "pilot/deployment.yaml.j2": """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: istiod{{ rev_suffix }}
          namespace: {{ namespace }}
          labels:
            app: istiod
            istio.io/rev: {{ rev_label | quote }}
        spec:
          strategy:
            rollingUpdate: {maxSurge: 100%, maxUnavailable: 25%}
          selector:
            matchLabels: {app: istiod}
          template:
            metadata:
              labels: {app: istiod}
              annotations:
                prometheus.io/scrape: "true"
            spec:
              tolerations:
              - {key: cni.istio.io/not-ready, operator: Exists}
              containers:
              - name: discovery
                image: {{ image("pilot", hub=values.pilot.hub | default(none), tag=values.pilot.tag | default(none)) }}
                args: [discovery, --monitoringAddr=:15014, --keepaliveMaxServerConnectionAge, 30m]
                ports:
                - {containerPort: 8080, name: http-debug, protocol: TCP}
                - {containerPort: 15010, name: grpc-xds, protocol: TCP}
                env:
                - {name: REVISION, value: {{ rev_label | quote }}}
                - name: POD_NAME
                  valueFrom: {fieldRef: {apiVersion: v1, fieldPath: metadata.name}}
                - name: POD_NAMESPACE
                  valueFrom: {fieldRef: {apiVersion: v1, fieldPath: metadata.namespace}}
                readinessProbe:
                  httpGet: {path: /ready, port: 8080}
                  initialDelaySeconds: 1
                  periodSeconds: 3
                  timeoutSeconds: 5
                resources:
                  requests: {cpu: 500m, memory: 2048Mi}
                securityContext:
                  runAsNonRoot: true
        """,
    "pilot/service.yaml.j2": """
        apiVersion: v1
        kind: Service
        metadata:
          name: istiod{{ rev_suffix }}
          namespace: {{ namespace }}
        spec:
          selector: {app: istiod}
          ports:
          - {name: grpc-xds, port: 15010, protocol: TCP}
          - {name: https-dns, port: 15012, protocol: TCP}
        """,
    "pilot/hpa.yaml.j2": """
        {% if values.pilot.autoscaleEnabled %}
        apiVersion: autoscaling/v2
        kind: HorizontalPodAutoscaler
        metadata:
          name: istiod{{ rev_suffix }}
          namespace: {{ namespace }}
        spec:
          minReplicas: {{ values.pilot.autoscaleMin }}
          maxReplicas: {{ values.pilot.autoscaleMax }}
          scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: istiod{{ rev_suffix }}}
          metrics:
          - type: Resource
            resource: {name: cpu, target: {type: Utilization, averageUtilization: 80}}
        {% endif %}
        {% if values.pilot.autoscaleMin > 1 %}
        ---
        apiVersion: policy/v1
        kind: PodDisruptionBudget
        metadata:
          name: istiod{{ rev_suffix }}
          namespace: {{ namespace }}
        spec:
          minAvailable: 1
          selector:
            matchLabels: {app: istiod}
        {% endif %}
        """,
    "pilot/webhook.yaml.j2": """
        apiVersion: admissionregistration.k8s.io/v1
        kind: MutatingWebhookConfiguration
        metadata:
          name: istio-sidecar-injector{{ rev_suffix }}
        webhooks:
        - name: namespace.sidecar-injector.istio.io
          clientConfig:
            service: {name: istiod{{ rev_suffix }}, namespace: {{ namespace }}, path: /inject}
        """,
    "pilot/configmap.yaml.j2": """
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: istio{{ rev_suffix }}
          namespace: {{ namespace }}
        data:
          owner: {{ owner_name | quote }}
          version: {{ istio_version | quote }}
          values: |
        {{ values.global | toyaml | indent(4, first=true) }}
        """,
    "gateway/values.yaml": """
        gateways:
          istio-ingressgateway:
            type: LoadBalancer
            autoscaleMin: 1
            autoscaleMax: 5
            replicaCount: 0
            labels: {}
            ports:
            - {name: status-port, port: 15021, targetPort: 15021, protocol: TCP}
            - {name: http2, port: 80, targetPort: 8080, protocol: TCP}
          istio-egressgateway:
            type: ClusterIP
            autoscaleMin: 1
            autoscaleMax: 5
            replicaCount: 0
            labels: {}
            ports:
            - {name: http2, port: 80, targetPort: 8080, protocol: TCP}
        """,
    "gateway/gateway.yaml.j2": """
        {% set labels = merge({"app": "istio-" ~ gateway.kind ~ "gateway", "istio": gateway.kind ~ "gateway"},
                              gateway.labels) %}
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: {{ gateway.name }}
          namespace: {{ namespace }}
          labels: {{ labels | tojson }}
        spec:
        {% if gateway.replicaCount %}
          replicas: {{ gateway.replicaCount }}
        {% endif %}
          selector:
            matchLabels: {{ labels | tojson }}
          template:
            metadata:
              labels: {{ labels | tojson }}
            spec:
              containers:
              - name: istio-proxy
                image: {{ image("proxyv2", hub=gateway.hub | default(none), tag=gateway.tag | default(none)) }}
                ports:
        {% for port in gateway.ports %}
                - containerPort: {{ port.targetPort | default(port.port) }}
                  protocol: {{ port.protocol | default("TCP") }}
        {% endfor %}
        ---
        apiVersion: v1
        kind: Service
        metadata:
          name: {{ gateway.name }}
          namespace: {{ namespace }}
        spec:
          type: {{ gateway.type }}
          selector: {{ labels | tojson }}
          ports: {{ gateway.ports | tojson }}
        ---
        apiVersion: autoscaling/v2
        kind: HorizontalPodAutoscaler
        metadata:
          name: {{ gateway.name }}
          namespace: {{ namespace }}
        spec:
          minReplicas: {{ gateway.autoscaleMin }}
          maxReplicas: {{ gateway.autoscaleMax }}
          scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: {{ gateway.name }}}
        """,
    "cni/daemonset.yaml.j2": """
        apiVersion: apps/v1
        kind: DaemonSet
        metadata:
          name: istio-cni-node
          namespace: {{ namespace }}
        spec:
          selector:
            matchLabels: {k8s-app: istio-cni-node}
          template:
            metadata:
              labels: {k8s-app: istio-cni-node}
            spec:
              tolerations:
              - {effect: NoSchedule, operator: Exists}
              - {key: CriticalAddonsOnly, operator: Exists}
              containers:
              - name: install-cni
                image: {{ image("install-cni") }}
        """,
    "ztunnel/daemonset.yaml.j2": """
        apiVersion: apps/v1
        kind: DaemonSet
        metadata:
          name: ztunnel
          namespace: {{ namespace }}
        spec:
          selector:
            matchLabels: {app: ztunnel}
          template:
            metadata:
              labels: {app: ztunnel}
            spec:
              containers:
              - name: istio-proxy
                image: {{ image("ztunnel") }}
        """,
    "addons/prometheus/values.yaml": """
        prometheus:
          hub: docker.io/prom
          tag: v3.10.0
        """,
    "addons/prometheus/prometheus.yaml.j2": """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: prometheus
          namespace: {{ namespace }}
        spec:
          selector:
            matchLabels: {app: prometheus}
          template:
            metadata:
              labels: {app: prometheus}
            spec:
              containers:
              - name: prometheus-server
                image: {{ image("prometheus", hub=addon.hub, tag=addon.tag) }}
              - name: config-reloader
                image: ghcr.io/prometheus-operator/prometheus-config-reloader:v0.81.0
        """,
}


def write_manifests(root: Path, files: dict[str, str] | None = None) -> Path:
    """Write the fake manifests tree (optionally with changed files) under ``root`` and return it."""
    for rel, text in {**_TEMPLATES, **(files or {})}.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return root


@pytest.fixture(scope="session")
def fake_manifests(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_manifests(tmp_path_factory.mktemp("manifests"))


DEFAULT_COMPONENTS: dict[str, Any] = {
    "base": {"enabled": True},
    "pilot": {"enabled": True},
    "ingressGateways": [{"name": "istio-ingressgateway", "enabled": True}],
    "egressGateways": [{"name": "istio-egressgateway", "enabled": False}],
}


def make_config(
    manifests: Path | None,
    *,
    components: dict[str, Any] | None = None,
    addons: dict[str, Any] | None = None,
    values: dict[str, Any] | None = None,
    revision: str = "",
    name: str | None = None,
    istio_namespace: str = "istio-system",
) -> layering.EffectiveConfig:
    """A hand-built effective configuration (what the configuration engine hands the pipeline)."""
    # Like the profiles, say explicitly what is off (absent base/pilot are on, an absent ingress list is implied).
    off: dict[str, Any] = {"base": {"enabled": False}, "pilot": {"enabled": False}, "ingressGateways": []}
    spec: dict[str, Any] = {"components": {**off, **(DEFAULT_COMPONENTS if components is None else components)}}
    if addons is not None:
        spec["addonComponents"] = addons
    iop: dict[str, Any] = {"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator", "spec": spec}
    if name:
        iop["metadata"] = {"name": name}
    vals: dict[str, Any] = {"global": {"istioNamespace": istio_namespace}}
    if values:
        vals.update(values)
    return layering.EffectiveConfig(
        iop=iop,
        values=vals,
        profile="default",
        revision=revision,
        istio_namespace=istio_namespace,
        manifests=str(manifests) if manifests is not None else None,
        components=tuple(layering.build_components(spec, vals, istio_namespace)),
    )


def find(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    """The one object of ``kind`` and ``name`` (fails the test when absent)."""
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, (
        f"{kind}/{name}: {len(matches)} found in {[(o['kind'], o['metadata']['name']) for o in objects]}"
    )
    return matches[0]


@pytest.fixture(scope="session")
def fake_package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ``--manifests DIR``: the fake templates plus a copy of the built-in profiles."""
    from meshctl.config import resources

    root = write_manifests(tmp_path_factory.mktemp("package"))
    shutil.copytree(resources.profiles_dir(), root / "profiles")
    return root
