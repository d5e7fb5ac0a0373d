"""`meshctl manifest generate … | kubectl …` with the real kubectl, on both backends (`backend`: the test API server,
and the real control plane where it can be built).

product.md §3: `meshctl manifest generate --with-namespace | kubectl apply --server-side -f -` must work on a fresh
cluster with nothing but YAML on stdout; §5: `meshctl manifest generate --set profile=default |
kubectl delete --ignore-not-found=true -f -` removes what was applied. Both servers validate every object against
the Kubernetes OpenAPI schema, so this also checks that what meshctl renders is accepted by a real cluster.
"""

from __future__ import annotations

import subprocess
import sys

import yaml

from tests.cluster import fixtures
from tests.integration.conftest import Backend


def generate(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "meshctl", "manifest", "generate", *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == "", f"manifest generate wrote to stderr: {proc.stderr}"
    return proc.stdout


def _file(backend: Backend, name: str, text: str) -> str:
    path = backend.raw.tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def _identities(stream: str) -> set[tuple[str, str, str]]:
    return {
        (doc["kind"], doc["metadata"].get("namespace", ""), doc["metadata"]["name"])
        for doc in yaml.safe_load_all(stream)
        if doc
    }


def test_generate_with_namespace_applies_server_side_on_a_fresh_cluster(backend: Backend) -> None:
    kubectl = backend.kubectl
    manifest = generate("--with-namespace")
    path = _file(backend, "istio.yaml", manifest)
    applied = kubectl("apply", "--server-side", "--field-manager=kubectl-test", "-f", path).stdout
    assert applied.count("serverside-applied") == len(_identities(manifest)) == 40  # 39 objects + the namespace

    kubectl("wait", "--for=condition=Established", "crd/virtualservices.networking.istio.io", "--timeout=20s")
    port = kubectl(
        "-n",
        "istio-system",
        "get",
        "service",
        "istio-ingressgateway",
        "-o",
        'jsonpath={.spec.ports[?(@.name=="http2")].port}',
    ).stdout
    assert port == "80"
    stored = backend.objects.get("deployments", "istiod", "istio-system")
    assert stored is not None
    assert stored["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "meshctl"

    # An identical second apply changes nothing on the server. On a real cluster the Deployment controller writes the
    # status until the rollout is done: wait for that first, so that a changed resourceVersion means the apply.
    if backend.api is None:
        kubectl("-n", "istio-system", "rollout", "status", "deploy/istiod", "--timeout=60s")
    before = kubectl("-n", "istio-system", "get", "deploy", "istiod", "-o", "jsonpath={.metadata.resourceVersion}")
    kubectl("apply", "--server-side", "--field-manager=kubectl-test", "-f", path)
    after = kubectl("-n", "istio-system", "get", "deploy", "istiod", "-o", "jsonpath={.metadata.resourceVersion}")
    assert before.stdout == after.stdout


def test_generate_then_kubectl_delete_ignore_not_found_removes_what_was_applied(backend: Backend) -> None:
    kubectl = backend.kubectl
    kubectl("apply", "--server-side", "-f", _file(backend, "istio.yaml", generate("--with-namespace")))
    default = generate("--set", "profile=default")
    # --wait=false: kubectl's own wait is client-side polling, and the real kube-apiserver takes minutes to finish
    # deleting CRDs created seconds earlier (their instance cleanup backs off while the watch cache initialises).
    deleted = kubectl(
        "delete", "--ignore-not-found=true", "--wait=false", "-f", _file(backend, "default.yaml", default)
    ).stdout
    assert deleted.count("deleted") == len(_identities(default)) == 39
    assert backend.objects.get("deployments", "istiod", "istio-system") is None
    crd = backend.objects.get("customresourcedefinitions", "virtualservices.networking.istio.io", "")
    assert crd is None or crd["metadata"].get("deletionTimestamp")
    if backend.name == "real":
        crds = [
            d["metadata"]["name"] for d in yaml.safe_load_all(default) if d and d["kind"] == "CustomResourceDefinition"
        ]
        fixtures.wait_crds_deleted(backend.objects, crds, "generate | kubectl delete")
    # A second delete finds nothing and still succeeds.
    again = kubectl("delete", "--ignore-not-found=true", "-f", _file(backend, "again.yaml", generate())).stdout
    assert again.strip() == ""
