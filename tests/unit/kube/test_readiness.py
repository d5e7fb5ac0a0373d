"""Readiness per kind: waiting, ready, failed for good."""

from __future__ import annotations

from typing import Any

import pytest

from meshctl.kube import readiness
from meshctl.kube.readiness import State


def deployment(wanted: int = 1, generation: int = 2, **status: Any) -> dict[str, Any]:
    return {
        "kind": "Deployment",
        "metadata": {"generation": generation},
        "spec": {"replicas": wanted},
        "status": {"observedGeneration": 2, **status},
    }


@pytest.mark.parametrize(
    ("obj", "state", "message"),
    [
        (None, State.WAITING, "does not exist yet"),
        (deployment(generation=3), State.WAITING, "waiting for the controller to observe the latest spec"),
        (deployment(updatedReplicas=0), State.WAITING, "0 of 1 replicas updated"),
        (deployment(updatedReplicas=1, replicas=2), State.WAITING, "1 old replicas pending termination"),
        (deployment(updatedReplicas=1, replicas=1), State.WAITING, "0 of 1 replicas ready"),
        (
            deployment(updatedReplicas=1, replicas=1, readyReplicas=1),
            State.WAITING,
            "0 of 1 updated replicas available",
        ),
        (deployment(updatedReplicas=1, replicas=1, readyReplicas=1, availableReplicas=1), State.READY, ""),
        (deployment(wanted=0), State.READY, ""),
        (
            deployment(
                conditions=[
                    {
                        "type": "Progressing",
                        "status": "False",
                        "reason": "ProgressDeadlineExceeded",
                        "message": "too slow",
                    }
                ]
            ),
            State.FAILED,
            "too slow",
        ),
        (
            {"kind": "DaemonSet", "status": {"desiredNumberScheduled": 2, "currentNumberScheduled": 1}},
            State.WAITING,
            "1 of 2 pods scheduled",
        ),
        (
            {"kind": "DaemonSet", "status": {"desiredNumberScheduled": 1, "currentNumberScheduled": 1}},
            State.WAITING,
            "0 of 1 pods updated",
        ),
        (
            {
                "kind": "DaemonSet",
                "status": {"desiredNumberScheduled": 1, "currentNumberScheduled": 1, "updatedNumberScheduled": 1},
            },
            State.WAITING,
            "0 of 1 pods ready",
        ),
        (
            {
                "kind": "DaemonSet",
                "status": {
                    "desiredNumberScheduled": 1,
                    "currentNumberScheduled": 1,
                    "updatedNumberScheduled": 1,
                    "numberReady": 1,
                },
            },
            State.READY,
            "",
        ),
        (
            {"kind": "StatefulSet", "spec": {"replicas": 2}, "status": {"updatedReplicas": 1}},
            State.WAITING,
            "1 of 2 replicas updated",
        ),
        (
            {"kind": "StatefulSet", "spec": {"replicas": 1}, "status": {"updatedReplicas": 1}},
            State.WAITING,
            "0 of 1 replicas ready",
        ),
        (
            {"kind": "StatefulSet", "spec": {"replicas": 1}, "status": {"updatedReplicas": 1, "readyReplicas": 1}},
            State.READY,
            "",
        ),
        *(
            (
                {"kind": kind, "metadata": {"generation": 2}, "status": {"observedGeneration": 1}},
                State.WAITING,
                "waiting for the controller to observe the latest spec",
            )
            for kind in ("DaemonSet", "StatefulSet")
        ),
        ({"kind": "Job", "status": {}}, State.WAITING, "not complete yet"),
        ({"kind": "Job", "status": {"conditions": [{"type": "Complete", "status": "True"}]}}, State.READY, ""),
        (
            {
                "kind": "Job",
                "status": {
                    "conditions": [
                        {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "boom"}
                    ]
                },
            },
            State.FAILED,
            "boom",
        ),
        ({"kind": "CustomResourceDefinition", "status": {}}, State.WAITING, "not established yet"),
        (
            {"kind": "CustomResourceDefinition", "status": {"conditions": [{"type": "Established", "status": "True"}]}},
            State.READY,
            "",
        ),
        (
            {
                "kind": "CustomResourceDefinition",
                "status": {
                    "conditions": [
                        {"type": "NamesAccepted", "status": "False", "reason": "NameConflict", "message": "taken"}
                    ]
                },
            },
            State.FAILED,
            "taken",
        ),
        ({"kind": "ConfigMap"}, State.READY, ""),
    ],
)
def test_check(obj: dict[str, Any] | None, state: State, message: str) -> None:
    result = readiness.check(obj)
    assert (result.state, result.message) == (state, message)


def test_pod_problems_terminal_and_persistent() -> None:
    def pod(reason: str, message: str = "m") -> dict[str, Any]:
        return {"status": {"containerStatuses": [{"state": {"waiting": {"reason": reason, "message": message}}}]}}

    assert readiness.pod_problem(pod("ImagePullBackOff", "Back-off")) == ("ImagePullBackOff", "Back-off")
    assert readiness.pod_problem(pod("ErrImagePull")) == ("ErrImagePull", "m")
    assert readiness.pod_problem(pod("ContainerCreating")) is None
    unschedulable = {
        "status": {
            "conditions": [
                {"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/1 nodes"}
            ]
        }
    }
    assert readiness.pod_problem(unschedulable) == ("Unschedulable", "0/1 nodes")


def test_selectors_and_load_balancer_addresses() -> None:
    selector = {
        "matchLabels": {"app": "istiod"},
        "matchExpressions": [{"key": "istio", "operator": "In", "values": ["pilot"]}],
    }
    assert readiness.selects(selector, {"app": "istiod", "istio": "pilot"})
    assert not readiness.selects(selector, {"app": "istiod", "istio": "other"})
    assert not readiness.selects(selector, {"app": "other"})
    assert not readiness.selects({"matchExpressions": [{"key": "x", "operator": "Exists"}]}, {})
    assert not readiness.selects({"matchExpressions": [{"key": "x", "operator": "DoesNotExist"}]}, {"x": "1"})
    assert not readiness.selects({"matchExpressions": [{"key": "x", "operator": "NotIn", "values": ["1"]}]}, {"x": "1"})
    assert not readiness.selects(None, {"app": "x"})
    service = {"status": {"loadBalancer": {"ingress": [{"ip": "127.0.1.1"}, {"hostname": "lb.example"}]}}}
    assert readiness.load_balancer_addresses(service) == ["127.0.1.1", "lb.example"]
