"""Simulated controllers and their failure modes, as a client (the kubernetes Python client) sees them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import kubernetes.client
import kubernetes.config
import pytest

from tests.apiserver.server import ApiServer
from tests.apiserver.testclient import deployment


@pytest.fixture
def k8s(apiserver: ApiServer) -> Iterator[kubernetes.client.ApiClient]:
    client = kubernetes.config.new_client_from_config(config_file=str(apiserver.kubeconfig_path), persist_config=False)
    with client:
        yield client


def _condition(obj: dict[str, Any] | None, kind: str) -> dict[str, Any] | None:
    for condition in (obj or {}).get("status", {}).get("conditions") or ():
        if condition["type"] == kind:
            return dict(condition)
    return None


def _pods(apiserver: ApiServer, name: str) -> list[dict[str, Any]]:
    return [p for p in apiserver.objects.list("pods", "default") if p["metadata"]["labels"].get("app") == name]


def test_deployment_becomes_available_after_rollout_delay(
    apiserver: ApiServer, k8s: kubernetes.client.ApiClient
) -> None:
    apiserver.options.rollout_delay = 0.2
    apps = kubernetes.client.AppsV1Api(k8s)
    apps.create_namespaced_deployment("default", deployment("web", replicas=3))
    assert apps.read_namespaced_deployment_status("web", "default").status.ready_replicas is None
    apiserver.objects.wait_for(
        "deployments", "web", "default", lambda o: (o or {}).get("status", {}).get("readyReplicas") == 3
    )
    status = apps.read_namespaced_deployment_status("web", "default").status
    assert status.observed_generation == 1
    assert (status.replicas, status.updated_replicas, status.available_replicas) == (3, 3, 3)
    assert {c.type: c.status for c in status.conditions} == {"Available": "True", "Progressing": "True"}


def test_deployment_pods_when_asked(apiserver: ApiServer, k8s: kubernetes.client.ApiClient) -> None:
    apiserver.controllers.create_pods = True
    kubernetes.client.AppsV1Api(k8s).create_namespaced_deployment(
        "default", deployment("web", replicas=2, image="istio/proxyv2:1.30.3")
    )
    apiserver.wait_idle()
    pods = kubernetes.client.CoreV1Api(k8s).list_namespaced_pod("default", label_selector="app=web").items
    assert len(pods) == 2
    assert all(p.status.phase == "Running" for p in pods)
    assert {p.spec.containers[0].image for p in pods} == {"istio/proxyv2:1.30.3"}
    assert pods[0].metadata.owner_references[0].kind == "ReplicaSet"
    replicasets = kubernetes.client.AppsV1Api(k8s).list_namespaced_replica_set("default").items
    assert [rs.metadata.owner_references[0].name for rs in replicasets] == ["web"]


@pytest.mark.parametrize(
    ("reason", "phase"),
    [("ImagePullBackOff", "Pending"), ("CrashLoopBackOff", "Running"), ("CreateContainerConfigError", "Pending")],
)
def test_failing_workload_pods_show_the_reason(
    apiserver: ApiServer, k8s: kubernetes.client.ApiClient, reason: str, phase: str
) -> None:
    apiserver.controllers.fail("Deployment", "web", reason=reason)
    kubernetes.client.AppsV1Api(k8s).create_namespaced_deployment("default", deployment("web", replicas=1))
    apiserver.wait_idle()
    pods = kubernetes.client.CoreV1Api(k8s).list_namespaced_pod("default", label_selector="app=web").items
    assert len(pods) == 1
    assert pods[0].status.phase == phase
    waiting = pods[0].status.container_statuses[0].state.waiting
    assert waiting.reason == reason
    assert waiting.message
    status = kubernetes.client.AppsV1Api(k8s).read_namespaced_deployment_status("web", "default").status
    assert status.ready_replicas is None
    assert status.unavailable_replicas == 1


def test_unschedulable_pods(apiserver: ApiServer, k8s: kubernetes.client.ApiClient) -> None:
    apiserver.controllers.fail("Deployment", "web", reason="Unschedulable")
    kubernetes.client.AppsV1Api(k8s).create_namespaced_deployment("default", deployment("web", replicas=1))
    apiserver.wait_idle()
    pod = kubernetes.client.CoreV1Api(k8s).list_namespaced_pod("default", label_selector="app=web").items[0]
    scheduled = next(c for c in pod.status.conditions if c.type == "PodScheduled")
    assert (scheduled.status, scheduled.reason) == ("False", "Unschedulable")
    assert pod.spec.node_name is None


def test_failing_deployment_reports_progress_deadline_exceeded(
    apiserver: ApiServer, k8s: kubernetes.client.ApiClient
) -> None:
    apiserver.options.progress_deadline_delay = 0.1
    apiserver.controllers.fail("Deployment", "web", reason="ImagePullBackOff")
    kubernetes.client.AppsV1Api(k8s).create_namespaced_deployment("default", deployment("web", replicas=1))
    found = apiserver.objects.wait_for(
        "deployments", "web", "default", lambda o: (_condition(o, "Progressing") or {}).get("status") == "False"
    )
    progressing = _condition(found, "Progressing")
    assert progressing is not None
    assert progressing["reason"] == "ProgressDeadlineExceeded"


def test_daemonset_and_statefulset_status(apiserver: ApiServer, k8s: kubernetes.client.ApiClient) -> None:
    apps = kubernetes.client.AppsV1Api(k8s)
    ds = deployment("agent")
    ds["kind"] = "DaemonSet"
    del ds["spec"]["replicas"]
    apps.create_namespaced_daemon_set("default", ds)
    sts = deployment("db", replicas=2)
    sts["kind"] = "StatefulSet"
    sts["spec"]["serviceName"] = "db"
    apps.create_namespaced_stateful_set("default", sts)
    apiserver.wait_idle()
    ds_status = apps.read_namespaced_daemon_set_status("agent", "default").status
    assert (ds_status.desired_number_scheduled, ds_status.number_ready, ds_status.observed_generation) == (1, 1, 1)
    sts_status = apps.read_namespaced_stateful_set_status("db", "default").status
    assert (sts_status.ready_replicas, sts_status.current_revision == sts_status.update_revision) == (2, True)


@pytest.mark.parametrize(("fail", "condition"), [(False, "Complete"), (True, "Failed")])
def test_jobs_complete_or_fail_as_told(
    apiserver: ApiServer, k8s: kubernetes.client.ApiClient, fail: bool, condition: str
) -> None:
    if fail:
        apiserver.controllers.fail("Job", "migrate")
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"name": "migrate", "namespace": "default"},
        "spec": {"template": {"spec": {"restartPolicy": "Never", "containers": [{"name": "m", "image": "busybox:1"}]}}},
    }
    created = kubernetes.client.BatchV1Api(k8s).create_namespaced_job("default", job)
    assert created.spec.selector.match_labels["batch.kubernetes.io/controller-uid"] == created.metadata.uid
    apiserver.wait_idle()
    status = kubernetes.client.BatchV1Api(k8s).read_namespaced_job_status("migrate", "default").status
    assert any(c.type == condition and c.status == "True" for c in status.conditions)
    assert (status.failed or 0) > 0 if fail else status.succeeded == 1


def test_load_balancer_gets_address_after_delay(apiserver: ApiServer, k8s: kubernetes.client.ApiClient) -> None:
    apiserver.options.load_balancer_delay = 0.1
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "gw", "namespace": "default"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]},
    }
    core = kubernetes.client.CoreV1Api(k8s)
    created = core.create_namespaced_service("default", svc)
    assert created.spec.cluster_ip
    assert created.status.load_balancer.ingress is None
    found = apiserver.objects.wait_for(
        "services", "gw", "default", lambda o: bool((o or {}).get("status", {}).get("loadBalancer", {}).get("ingress"))
    )
    assert found is not None
    assert found["status"]["loadBalancer"]["ingress"][0]["ip"].startswith("127.")


def test_controller_can_be_switched_off(apiserver: ApiServer, k8s: kubernetes.client.ApiClient) -> None:
    apiserver.controllers.disable("Deployment", "web")
    kubernetes.client.AppsV1Api(k8s).create_namespaced_deployment("default", deployment("web"))
    kubernetes.client.AppsV1Api(k8s).create_namespaced_deployment("default", deployment("other"))
    apiserver.wait_idle()
    assert (apiserver.objects.get("deployments", "web", "default") or {})["status"] == {}
    assert apiserver.objects.get("deployments", "other", "default")["status"]["readyReplicas"] == 2  # type: ignore[index]


def test_unknown_controller_or_failure_is_rejected(apiserver: ApiServer) -> None:
    with pytest.raises(ValueError, match="unknown controller"):
        apiserver.controllers.disable("Gizmo")
    with pytest.raises(ValueError, match="unknown failure"):
        apiserver.controllers.fail("Deployment", "x", reason="Sad")
