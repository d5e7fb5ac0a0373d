"""Nothing leaves 127.0.0.0/8: with Istio's webhooks configured (as `meshctl manifest generate` renders them), the
API server's calls to istiod's Service go to the refusing egress proxy, and no control-plane process has a socket
to any other address."""

from __future__ import annotations

import ipaddress

import pytest

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
