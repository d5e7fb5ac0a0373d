"""`cluster_backend`: one test body, run against the test API server and against the real control plane, with the
same kubeconfig, request log and fault controls."""

from __future__ import annotations

import json

from tests.cluster.fixtures import Backend


def test_kubectl_apply_is_logged_and_faulted_alike_on_both_backends(cluster_backend: Backend) -> None:
    manifest = cluster_backend.tmp_path / "cm.json"
    manifest.write_text(
        json.dumps({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "settings"}, "data": {"a": "b"}})
    )
    cluster_backend.faults.add_error(429, count=1, verbs="patch", resources="configmaps", retry_after=1)
    applied = cluster_backend.kubectl("apply", "--server-side", "--field-manager=meshctl-test", "-f", str(manifest))
    assert applied.stdout.strip() == "configmap/settings serverside-applied"
    live = cluster_backend.objects.get("configmaps", "settings", cluster_backend.namespace)
    assert live is not None
    assert live["metadata"]["managedFields"][0]["manager"] == "meshctl-test"
    patches = [e for e in cluster_backend.requests.entries if (e.verb, e.resource) == ("patch", "configmaps")]
    assert [(e.status, e.namespace, e.name) for e in patches] == [
        (429, cluster_backend.namespace, "settings"),
        (201, cluster_backend.namespace, "settings"),
    ]
