"""Readiness per kind, as three states (waiting, ready, failed for good): pure functions of the live objects.

Rules of ``cluster.md`` §2 step 8: Deployments (observedGeneration, updated, ready and available replicas, no
``ProgressDeadlineExceeded``), DaemonSets, StatefulSets, Jobs, CRDs (``Established``), and Services of type
LoadBalancer (an address: reported, never required). Pods explain why a workload is stuck: the terminal reasons of
:data:`TERMINAL_REASONS` end the wait at once; ``ErrImagePull`` only once it persists (see :mod:`meshctl.kube.wait`).
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping
from typing import Any


class State(enum.Enum):
    WAITING = "waiting"
    READY = "ready"
    FAILED = "failed"


@dataclasses.dataclass(frozen=True)
class Readiness:
    """A state, and for waiting or failed objects the reason (a word) and a message saying why."""

    state: State
    reason: str = ""
    message: str = ""

    @property
    def ready(self) -> bool:
        return self.state is State.READY


READY = Readiness(State.READY)

#: Kinds whose readiness install waits for (a LoadBalancer Service only reports its address).
WAITED_KINDS = frozenset({"Deployment", "DaemonSet", "StatefulSet", "Job"})
#: Pod reasons that end the wait at once: they do not cure themselves.
TERMINAL_REASONS = frozenset({"ImagePullBackOff", "CrashLoopBackOff", "CreateContainerConfigError", "Unschedulable"})
#: Pod reasons that end the wait only when they persist (an image pull can fail once and then succeed).
PERSISTENT_REASONS = frozenset({"ErrImagePull", "InvalidImageName"})


def check(obj: Mapping[str, Any] | None) -> Readiness:
    """The readiness of a live object (None: it does not exist yet)."""
    if obj is None:
        return Readiness(State.WAITING, "Missing", "does not exist yet")
    kind = str(obj.get("kind", ""))
    checker = _CHECKS.get(kind)
    return checker(obj) if checker else READY


def _generation(obj: Mapping[str, Any]) -> Readiness | None:
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    generation = int(meta.get("generation") or 0)
    observed = int(status.get("observedGeneration") or 0)
    if generation and observed < generation:
        return Readiness(State.WAITING, "Pending", "waiting for the controller to observe the latest spec")
    return None


def condition(obj: Mapping[str, Any], kind: str) -> Mapping[str, Any] | None:
    """The status condition of type ``kind``, if any."""
    for cond in (obj.get("status") or {}).get("conditions") or []:
        if isinstance(cond, Mapping) and cond.get("type") == kind:
            return cond
    return None


def _rollout(*gates: tuple[bool, str]) -> Readiness:
    """Waiting (reason ``Rollout``) with the message of the first gate still unmet, in order; else ready.

    Each gate is ``(unmet, message)``: a workload's rollout steps, checked in the order they complete.
    """
    for unmet, message in gates:
        if unmet:
            return Readiness(State.WAITING, "Rollout", message)
    return READY


def _deployment(obj: Mapping[str, Any]) -> Readiness:
    progressing = condition(obj, "Progressing")
    if progressing and progressing.get("reason") == "ProgressDeadlineExceeded":
        return Readiness(State.FAILED, "ProgressDeadlineExceeded", str(progressing.get("message") or ""))
    pending = _generation(obj)
    if pending:
        return pending
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    wanted = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    updated = int(status.get("updatedReplicas") or 0)
    total = int(status.get("replicas") or 0)
    ready = int(status.get("readyReplicas") or 0)
    available = int(status.get("availableReplicas") or 0)
    return _rollout(
        (updated < wanted, f"{updated} of {wanted} replicas updated"),
        (total > updated, f"{total - updated} old replicas pending termination"),
        (ready < wanted, f"{ready} of {wanted} replicas ready"),
        (available < updated, f"{available} of {updated} updated replicas available"),
    )


def _daemonset(obj: Mapping[str, Any]) -> Readiness:
    pending = _generation(obj)
    if pending:
        return pending
    status = obj.get("status") or {}
    desired = int(status.get("desiredNumberScheduled") or 0)
    scheduled = int(status.get("currentNumberScheduled") or 0)
    updated = int(status.get("updatedNumberScheduled") or 0)
    ready = int(status.get("numberReady") or 0)
    return _rollout(
        (scheduled < desired, f"{scheduled} of {desired} pods scheduled"),
        (updated < desired, f"{updated} of {desired} pods updated"),
        (ready < desired, f"{ready} of {desired} pods ready"),
    )


def _statefulset(obj: Mapping[str, Any]) -> Readiness:
    pending = _generation(obj)
    if pending:
        return pending
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    wanted = int(spec.get("replicas", 1) if spec.get("replicas") is not None else 1)
    partition = int(((spec.get("updateStrategy") or {}).get("rollingUpdate") or {}).get("partition") or 0)
    updated = int(status.get("updatedReplicas") or 0)
    ready = int(status.get("readyReplicas") or 0)
    return _rollout(
        (updated < wanted - partition, f"{updated} of {wanted - partition} replicas updated"),
        (ready < wanted, f"{ready} of {wanted} replicas ready"),
    )


def _job(obj: Mapping[str, Any]) -> Readiness:
    failed = condition(obj, "Failed")
    if failed and failed.get("status") == "True":
        return Readiness(State.FAILED, str(failed.get("reason") or "Failed"), str(failed.get("message") or ""))
    complete = condition(obj, "Complete")
    if complete and complete.get("status") == "True":
        return READY
    return Readiness(State.WAITING, "Running", "not complete yet")


def _crd(obj: Mapping[str, Any]) -> Readiness:
    names = condition(obj, "NamesAccepted")
    if names and names.get("status") == "False":
        return Readiness(State.FAILED, str(names.get("reason") or "NamesNotAccepted"), str(names.get("message") or ""))
    established = condition(obj, "Established")
    if established and established.get("status") == "True":
        return READY
    return Readiness(State.WAITING, "NotEstablished", "not established yet")


_CHECKS = {
    "Deployment": _deployment,
    "DaemonSet": _daemonset,
    "StatefulSet": _statefulset,
    "Job": _job,
    "CustomResourceDefinition": _crd,
}


def is_established(crd: Mapping[str, Any] | None) -> bool:
    return crd is not None and _crd(crd).ready


def load_balancer_addresses(service: Mapping[str, Any]) -> list[str]:
    """The addresses (IPs or host names) a LoadBalancer Service has been given."""
    ingress = ((service.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
    return [
        str(i.get("ip") or i.get("hostname"))
        for i in ingress
        if isinstance(i, Mapping) and (i.get("ip") or i.get("hostname"))
    ]


def pod_problem(pod: Mapping[str, Any]) -> tuple[str, str] | None:
    """The reason and message of a pod stuck for a reason worth reporting (terminal or persistent), if any."""
    status = pod.get("status") or {}
    for cond in status.get("conditions") or []:
        if (
            isinstance(cond, Mapping)
            and cond.get("type") == "PodScheduled"
            and cond.get("status") == "False"
            and cond.get("reason") == "Unschedulable"
        ):
            return "Unschedulable", str(cond.get("message") or "")
    statuses: Iterable[Any] = [*(status.get("initContainerStatuses") or []), *(status.get("containerStatuses") or [])]
    for container in statuses:
        waiting = ((container or {}).get("state") or {}).get("waiting") or {}
        reason = str(waiting.get("reason") or "")
        if reason in TERMINAL_REASONS or reason in PERSISTENT_REASONS:
            return reason, str(waiting.get("message") or "")
    return None


def pods_of(workload: Mapping[str, Any] | None, pods: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The pods among ``pods`` that ``workload`` selects: same namespace, matched by its ``spec.selector``."""
    if workload is None:
        return []
    namespace = (workload.get("metadata") or {}).get("namespace") or ""
    selector = (workload.get("spec") or {}).get("selector")
    return [
        pod
        for pod in pods
        if ((pod.get("metadata") or {}).get("namespace") or "") == namespace
        and selects(selector, (pod.get("metadata") or {}).get("labels"))
    ]


def explain(state: Readiness, workload: Mapping[str, Any] | None, pods: Iterable[Mapping[str, Any]]) -> str:
    """Why a workload is not ready: the first problem its pods show (``ImagePullBackOff: …``), else the state's."""
    for pod in pods_of(workload, pods):
        found = pod_problem(pod)
        if found is not None:
            return f"{found[0]}: {found[1]}" if found[1] else found[0]
    return state.message or state.reason


def selects(selector: Mapping[str, Any] | None, labels: Mapping[str, Any] | None) -> bool:
    """Whether a workload's ``spec.selector`` selects a pod with ``labels`` (matchLabels and matchExpressions)."""
    if not selector:
        return False
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), expr.get("values") or []
        present = key in labels
        if (
            (op == "In" and labels.get(key) not in values)
            or (op == "NotIn" and present and labels.get(key) in values)
            or (op == "Exists" and not present)
            or (op == "DoesNotExist" and present)
        ):
            return False
    return True
