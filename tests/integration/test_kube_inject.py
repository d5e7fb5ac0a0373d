"""The operator's example: ``meshctl kube-inject -f examples/httpbin.yaml``, then ``kubectl apply --server-side``.

Runs on both backends (the test API server, and the real control plane where it can be built): the applied
Deployment's pod template holds the sidecar, and the objects without a pod template arrive as they were written.
``--from-cluster`` reads the ConfigMaps meshctl would install and injects exactly what the offline path injects.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.helpers import run_cli
from tests.integration.conftest import Backend

ROOT = Path(__file__).resolve().parents[2]
HTTPBIN = ROOT / "examples" / "httpbin.yaml"


def _pod_template(backend: Backend, namespace: str) -> dict:
    deployment = backend.objects.get("deployments", "httpbin", namespace)
    assert deployment is not None, "the Deployment was not applied"
    return deployment["spec"]["template"]


def test_kube_inject_then_kubectl_apply_server_side(backend: Backend) -> None:
    namespace = backend.raw.namespace
    injected = run_cli("kube-inject", "-f", str(HTTPBIN))
    assert injected.stderr == ""
    path = backend.raw.tmp_path / "httpbin-injected.yaml"
    path.write_text(injected.stdout, encoding="utf-8")

    applied = backend.kubectl(
        "apply", "--server-side", "--field-manager=kubectl-test", "-n", namespace, "-f", str(path)
    )
    assert applied.stdout.count("serverside-applied") == 3, applied.stdout

    template = _pod_template(backend, namespace)
    spec = template["spec"]
    containers = spec.get("initContainers", []) + spec["containers"]
    proxy = next(c for c in containers if c["name"] == "istio-proxy")
    assert proxy["image"] == "docker.io/istio/proxyv2:1.30.3"
    assert proxy["ports"][0] == {"containerPort": 15090, "name": "http-envoy-prom", "protocol": "TCP"}
    assert proxy["readinessProbe"]["httpGet"]["port"] == 15021
    assert [c["name"] for c in spec["containers"]] == ["httpbin"]  # native sidecar: the proxy is an init container
    assert [c["name"] for c in spec["initContainers"]] == ["istio-init", "istio-proxy"]
    app = spec["containers"][0]
    assert app["readinessProbe"]["httpGet"] == {"path": "/app-health/httpbin/readyz", "port": 15020, "scheme": "HTTP"}
    annotations = template["metadata"]["annotations"]
    assert '"revision":"default"' in annotations["sidecar.istio.io/status"]
    assert {v["name"] for v in spec["volumes"]} >= {"istio-envoy", "istio-data", "istio-token", "istiod-ca-cert"}

    # The ServiceAccount and the Service pass through: the server holds what the example file says.
    documents = [d for d in yaml.safe_load_all(HTTPBIN.read_text(encoding="utf-8")) if d]
    service = backend.objects.get("services", "httpbin", namespace)
    assert service is not None
    assert service["spec"]["selector"] == documents[1]["spec"]["selector"]
    assert backend.objects.get("serviceaccounts", "httpbin", namespace) is not None


def test_kube_inject_from_cluster_reads_the_installed_configmaps(backend: Backend) -> None:
    generated = run_cli("manifest", "generate", "--component", "Pilot")
    configmaps = [
        d
        for d in yaml.safe_load_all(generated.stdout)
        if d and d["kind"] == "ConfigMap" and d["metadata"]["name"] in ("istio", "istio-sidecar-injector")
    ]
    assert len(configmaps) == 2
    path = backend.raw.tmp_path / "configmaps.yaml"
    path.write_text(
        yaml.safe_dump_all(
            [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}, *configmaps]
        )
    )
    backend.kubectl("apply", "--server-side", "-f", str(path))

    offline = run_cli("kube-inject", "-f", str(HTTPBIN))
    from_cluster = backend.meshctl("kube-inject", "--from-cluster", "-f", str(HTTPBIN))
    assert from_cluster.stdout == offline.stdout
    assert backend.requests.count(verb="get", resource="configmaps") >= 2

    missing = backend.meshctl("kube-inject", "--from-cluster", "-r", "canary", "-f", str(HTTPBIN), expect=3)
    assert "istio-sidecar-injector-canary" in missing.stderr
