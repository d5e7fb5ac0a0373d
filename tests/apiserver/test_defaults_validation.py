"""Defaulting as Kubernetes does it, schema validation (422 with causes) and unknown fields (Strict/Warn/Ignore)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.apiserver import defaults
from tests.apiserver.testclient import CM, DEPLOY, Client, configmap, deployment

pytestmark = pytest.mark.controllers_off("Deployment")


def test_deployment_defaults(client: Client) -> None:
    body = deployment("web", replicas=None, image="nginx")
    spec = client.post(DEPLOY, body).body["spec"]
    assert spec["replicas"] == 1
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    pod = spec["template"]["spec"]
    assert pod["restartPolicy"] == "Always"
    assert pod["dnsPolicy"] == "ClusterFirst"
    assert pod["schedulerName"] == "default-scheduler"
    assert pod["terminationGracePeriodSeconds"] == 30
    assert pod["securityContext"] == {}
    container = pod["containers"][0]
    assert container["terminationMessagePath"] == "/dev/termination-log"
    assert container["terminationMessagePolicy"] == "File"
    assert container["imagePullPolicy"] == "Always"  # no tag
    assert container["ports"][0]["protocol"] == "TCP"
    assert container["resources"] == {}


@pytest.mark.parametrize(
    ("image", "policy"),
    [
        ("nginx", "Always"),
        ("nginx:latest", "Always"),
        ("nginx:1.27", "IfNotPresent"),
        ("r.io:5000/nginx", "Always"),
        ("nginx@sha256:abc", "IfNotPresent"),
    ],
)
def test_image_pull_policy_from_tag(image: str, policy: str) -> None:
    container: dict[str, Any] = {"name": "c", "image": image}
    defaults.pod_spec({"containers": [container]})
    assert container["imagePullPolicy"] == policy


def test_probe_and_volume_defaults(client: Client) -> None:
    body = deployment("web")
    pod = body["spec"]["template"]["spec"]
    pod["containers"][0]["readinessProbe"] = {"httpGet": {"path": "/ready", "port": 8080}}
    pod["containers"][0]["env"] = [{"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    pod["volumes"] = [{"name": "c", "configMap": {"name": "x"}}, {"name": "s", "secret": {"secretName": "y"}}]
    spec = client.post(DEPLOY, body).body["spec"]["template"]["spec"]
    probe = spec["containers"][0]["readinessProbe"]
    assert probe == {
        "httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTP"},
        "timeoutSeconds": 1,
        "periodSeconds": 10,
        "successThreshold": 1,
        "failureThreshold": 3,
    }
    assert spec["containers"][0]["env"][0]["valueFrom"]["fieldRef"]["apiVersion"] == "v1"
    assert spec["volumes"][0]["configMap"]["defaultMode"] == 420
    assert spec["volumes"][1]["secret"]["defaultMode"] == 420


def test_service_defaults(client: Client) -> None:
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"selector": {"app": "web"}, "ports": [{"name": "http", "port": 80}]},
    }
    spec = client.post("/api/v1/namespaces/default/services", svc).body["spec"]
    assert spec["type"] == "ClusterIP"
    assert spec["sessionAffinity"] == "None"
    assert spec["clusterIP"].startswith("10.96.")
    assert spec["clusterIPs"] == [spec["clusterIP"]]
    assert spec["ipFamilies"] == ["IPv4"]
    assert spec["ipFamilyPolicy"] == "SingleStack"
    assert spec["internalTrafficPolicy"] == "Cluster"
    assert spec["ports"] == [{"name": "http", "port": 80, "protocol": "TCP", "targetPort": 80}]


def test_load_balancer_service_defaults(client: Client) -> None:
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "gw", "namespace": "default"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 443}]},
    }
    spec = client.post("/api/v1/namespaces/default/services", svc).body["spec"]
    assert spec["externalTrafficPolicy"] == "Cluster"
    assert spec["allocateLoadBalancerNodePorts"] is True
    assert 30000 <= spec["ports"][0]["nodePort"] <= 32767


def test_cluster_ip_kept_on_update(client: Client) -> None:
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s", "namespace": "default"},
        "spec": {"ports": [{"port": 80}]},
    }
    created = client.post("/api/v1/namespaces/default/services", svc).body
    updated = client.put("/api/v1/namespaces/default/services/s", svc).body
    assert updated["spec"]["clusterIP"] == created["spec"]["clusterIP"]


def test_other_kind_defaults(client: Client) -> None:
    ds = deployment("agent")
    ds["kind"] = "DaemonSet"
    del ds["spec"]["replicas"]
    spec = client.post("/apis/apps/v1/namespaces/default/daemonsets", ds).body["spec"]
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}
    secret = client.post(
        "/api/v1/namespaces/default/secrets", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}}
    ).body
    assert secret["type"] == "Opaque"
    ns = client.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n"}}).body
    assert ns["spec"] == {"finalizers": ["kubernetes"]}
    assert ns["metadata"]["labels"] == {"kubernetes.io/metadata.name": "n"}
    hook = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "inject"},
        "webhooks": [
            {
                "name": "inject.example.com",
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
                "clientConfig": {"service": {"name": "istiod", "namespace": "istio-system"}},
                "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}],
            }
        ],
    }
    webhook = client.post("/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations", hook).body["webhooks"][
        0
    ]
    assert webhook["failurePolicy"] == "Fail"
    assert webhook["matchPolicy"] == "Equivalent"
    assert webhook["timeoutSeconds"] == 10
    assert webhook["reinvocationPolicy"] == "Never"
    assert webhook["clientConfig"]["service"]["port"] == 443
    assert webhook["rules"][0]["scope"] == "*"


def test_invalid_object_is_422_with_causes(client: Client) -> None:
    body = deployment("web")
    body["spec"]["replicas"] = "three"
    del body["spec"]["template"]["spec"]["containers"][0]["image"]
    reply = client.post(DEPLOY, body)
    assert reply.status == 422
    assert reply.body["reason"] == "Invalid"
    causes = {c["field"]: c for c in reply.body["details"]["causes"]}
    assert causes["spec.replicas"]["reason"] == "FieldValueTypeInvalid"
    assert causes["spec.template.spec.containers[0].image"]["reason"] == "FieldValueRequired"
    assert reply.body["message"].startswith('Deployment.apps "web" is invalid: [')


def test_selector_must_match_template_labels(client: Client) -> None:
    body = deployment("web")
    body["spec"]["selector"] = {"matchLabels": {"app": "other"}}
    reply = client.post(DEPLOY, body)
    assert reply.status == 422
    assert "`selector` does not match template `labels`" in reply.body["message"]


def test_invalid_label_value_is_422(client: Client) -> None:
    reply = client.post(CM, configmap("a", labels={"k": "not valid!"}))
    assert reply.status == 422
    assert reply.body["details"]["causes"][0]["field"] == "metadata.labels"


def test_unknown_field_strict_is_rejected(client: Client) -> None:
    body = deployment("web")
    body["spec"]["replicaz"] = 3
    reply = client.request("POST", f"{DEPLOY}?fieldValidation=Strict", body)
    assert reply.status == 400
    assert reply.body["message"] == (
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field '
        '"spec.replicaz"'
    )
    assert client.get(f"{DEPLOY}/web").status == 404


def test_unknown_field_strict_rejected_by_apply(client: Client) -> None:
    body = configmap("a")
    body["datta"] = {"x": "y"}
    reply = client.apply(f"{CM}/a", body, extra="&fieldValidation=Strict")
    assert reply.status == 400
    assert ".datta: field not declared in schema" in reply.body["message"]


def test_unknown_field_default_is_dropped_with_warning(client: Client) -> None:
    body = configmap("a")
    body["metadata"]["labelz"] = {"x": "y"}
    reply = client.post(CM, body)
    assert reply.status == 201
    assert "labelz" not in reply.body["metadata"]
    assert reply.headers["Warning"] == '299 - "unknown field \\"metadata.labelz\\""'


def test_unknown_field_ignore_has_no_warning(client: Client) -> None:
    body = configmap("a")
    body["extra"] = 1
    reply = client.request("POST", f"{CM}?fieldValidation=Ignore", body)
    assert reply.status == 201
    assert reply.headers.get("Warning") is None
    assert "extra" not in reply.body


def test_bad_field_validation_value_is_400(client: Client) -> None:
    assert client.request("POST", f"{CM}?fieldValidation=Loud", configmap("a")).status == 400
