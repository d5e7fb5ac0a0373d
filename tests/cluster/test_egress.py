"""Nothing leaves 127.0.0.0/8: with Istio's webhooks configured (as `meshctl manifest generate` renders them), the
API server's calls to istiod's Service go to the refusing egress proxy, and no control-plane process has a socket
to any other address."""

from __future__ import annotations

import base64
import http.server
import ipaddress
import itertools
import json
import ssl
import threading
from typing import Any, ClassVar

import pytest
import trustme

from tests.cluster import netaudit, rest
from tests.cluster.fixtures import ClusterTest
from tests.helpers import run_cli

pytestmark = pytest.mark.realcluster


def test_nothing_is_sent_beyond_loopback_while_istios_webhooks_are_configured(realcluster: ClusterTest) -> None:
    cluster = realcluster.cluster
    before = len(cluster.egress.attempts)
    manifest = realcluster.tmp_path / "istio.yaml"
    manifest.write_text(run_cli("manifest", "generate", "--with-namespace").stdout)
    direct = ("--kubeconfig", str(realcluster.direct_kubeconfig_path))
    realcluster.kubectl(*direct, "apply", "--server-side", "--field-manager=meshctl-test", "-f", str(manifest))
    webhooks = realcluster.objects.names("mutatingwebhookconfigurations")
    assert "istio-sidecar-injector" in webhooks
    assert "istio-validator-istio-system" in realcluster.objects.names("validatingwebhookconfigurations")
    service = realcluster.objects.get("services", "istiod", "istio-system")
    assert service is not None
    istiod = f"{service['spec']['clusterIP']}:443"
    assert ipaddress.ip_address(service["spec"]["clusterIP"]).is_private  # a Service address, not loopback
    assert not ipaddress.ip_address(service["spec"]["clusterIP"]).is_loopback

    # The sidecar injector (failurePolicy Fail) is called for a pod in a namespace with injection on.
    realcluster.kubectl(*direct, "label", "namespace", realcluster.namespace, "istio-injection=enabled")
    refused = realcluster.kubectl(
        *direct, "-n", realcluster.namespace, "run", "app", "--image=registry.invalid/app:1", check=False
    )
    assert refused.returncode == 1
    assert 'failed calling webhook "namespace.sidecar-injector.istio.io"' in refused.stderr
    assert realcluster.objects.list("pods", realcluster.namespace) == []

    # The validator (failurePolicy Ignore until istiod is up) is called for Istio's resources of its revision; the
    # write goes on.
    realcluster.kubectl(
        *direct, "wait", "--for=condition=Established", "crd/gateways.networking.istio.io", "--timeout=60s"
    )
    gateway = realcluster.tmp_path / "gateway.yaml"
    gateway.write_text(
        "apiVersion: networking.istio.io/v1\nkind: Gateway\nmetadata:\n  name: edge\n"
        "  labels: {istio.io/rev: default}\nspec:\n  selector:\n"
        "    istio: ingressgateway\n  servers:\n  - port: {number: 80, name: http, protocol: HTTP}\n    hosts: ['*']\n"
    )
    realcluster.kubectl(*direct, "-n", realcluster.namespace, "apply", "-f", str(gateway))

    attempts = cluster.egress.attempts[before:]
    assert {(a.selection, a.target, a.allowed) for a in attempts} == {("cluster", istiod, False)}
    assert len(attempts) >= 2  # one for the injector, at least one for the validator
    cluster.audit.sample()
    assert cluster.audit.samples > 1
    assert cluster.audit.violations == []
    assert all(netaudit.loopback_only(peer) for peer in cluster.audit.peers)
    rest.poll(lambda: cluster.audit.samples > 2, 5, "another sample of the socket audit")
    assert cluster.audit.violations == []


class _AllowAll(http.server.BaseHTTPRequestHandler):
    """An admission webhook that allows everything and counts its calls."""

    calls: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        review = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.calls.append(review["request"]["name"])
        body = json.dumps(
            {
                "apiVersion": "admission.k8s.io/v1",
                "kind": "AdmissionReview",
                "response": {"uid": review["request"]["uid"], "allowed": True},
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


def _webhook(real: ClusterTest, name: str, url: str, ca_pem: bytes) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingWebhookConfiguration",
        "metadata": {"name": f"{name}-{real.test_id}"[:63]},
        "webhooks": [
            {
                "name": f"{name}.meshctl.test",
                "clientConfig": {"url": url, "caBundle": base64.b64encode(ca_pem).decode()},
                "rules": [
                    {"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["configmaps"]}
                ],
                "namespaceSelector": {"matchLabels": real.label},
                "objectSelector": {"matchLabels": {"webhook": name}},
                "failurePolicy": "Fail",
                "sideEffects": "None",
                "admissionReviewVersions": ["v1"],
                "timeoutSeconds": 5,
            }
        ],
    }


def _configmap(real: ClusterTest, name: str, webhook: str) -> tuple[int, Any]:
    body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": {"webhook": webhook}}}
    return real.objects.request("POST", f"/api/v1/namespaces/{real.namespace}/configmaps", body)


def test_webhooks_by_url_reach_loopback_through_the_egress_proxy_and_nothing_else(realcluster: ClusterTest) -> None:
    cluster = realcluster.cluster
    before = len(cluster.egress.attempts)
    ca = trustme.CA()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    _AllowAll.calls = []
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), _AllowAll) as server:
        server.socket = context.wrap_socket(server.socket, server_side=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            port = server.server_address[1]
            local = _webhook(realcluster, "local", f"https://127.0.0.1:{port}/validate", ca.cert_pem.bytes())
            realcluster.objects.create("validatingwebhookconfigurations", local)
            names = (f"checked-{n}" for n in itertools.count())

            def called() -> list[str]:
                status, _ = _configmap(realcluster, next(names), "local")
                assert status == 201
                return _AllowAll.calls

            rest.poll(called, 30, "the webhook configuration to take effect")
        finally:
            server.shutdown()
            thread.join(timeout=5)
    assert len(_AllowAll.calls) == 1  # the real webhook call, through the controlplane egress proxy
    assert {(a.selection, a.target, a.allowed) for a in cluster.egress.attempts[before:]} == {
        ("controlplane", f"127.0.0.1:{port}", True)
    }

    # With the route through the proxy proven, a webhook elsewhere (TEST-NET-1, RFC 5737) is refused by the proxy.
    remote = _webhook(realcluster, "remote", "https://192.0.2.1/validate", ca.cert_pem.bytes())
    realcluster.objects.create("validatingwebhookconfigurations", remote)

    blocked = (f"blocked-{n}" for n in itertools.count())

    def refused() -> Any:
        status, body = _configmap(realcluster, next(blocked), "remote")
        return status == 500 and "remote.meshctl.test" in body["message"] and body

    body = rest.poll(refused, 30, "the remote webhook to be called and refused")
    assert "failed calling webhook" in body["message"]
    assert ("controlplane", "192.0.2.1:443", False) in {
        (a.selection, a.target, a.allowed) for a in cluster.egress.attempts[before:]
    }
    cluster.audit.sample()
    assert cluster.audit.violations == []
