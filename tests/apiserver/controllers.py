"""Simulated controllers: workload status (and optionally pods), Jobs, LoadBalancer addresses.

Each controller can be switched off, delayed, or told to fail for a named object. Failing workloads get pods whose
status shows the failure the way kubelet reports it, and Deployments eventually report `ProgressDeadlineExceeded`,
so that readiness code can end on the reason instead of a timeout.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import threading
import uuid
from typing import TYPE_CHECKING, Any

from tests.apiserver import cluster as cluster_mod
from tests.apiserver import resources, store

if TYPE_CHECKING:
    from tests.apiserver.cluster import Cluster

FAILURE_REASONS = ("ImagePullBackOff", "CrashLoopBackOff", "CreateContainerConfigError", "Unschedulable")
KINDS = (
    "Deployment",
    "DaemonSet",
    "StatefulSet",
    "Job",
    "Service",
    "CustomResourceDefinition",
    "Namespace",
    "GarbageCollector",
)
NODE_NAME = "test-node"
MANAGER = "kube-controller-manager"

_WORKLOADS = {("apps", "deployments"), ("apps", "daemonsets"), ("apps", "statefulsets")}
_POD = resources.builtin("", "pods")
_RS = resources.builtin("apps", "replicasets")


@dataclasses.dataclass
class _Rule:
    disabled: bool = False
    delay: float | None = None
    failure: str | None = None


class Controllers:
    """Switches of the simulated controllers, per kind and optionally per object name.

    `api.controllers.disable("Deployment")`, `.set_delay("CustomResourceDefinition", 2.0, name=...)`,
    `.fail("Deployment", "istiod", reason="ImagePullBackOff")`, `.fail("Job", "migrate")` (a Job that fails).
    """

    def __init__(self) -> None:
        self._rules: dict[tuple[str, str], _Rule] = {}
        self._lock = threading.Lock()
        self.create_pods = False

    def _rule(self, kind: str, name: str) -> _Rule:
        with self._lock:
            return self._rules.get((kind, name)) or self._rules.get((kind, "")) or _Rule()

    def _edit(self, kind: str, name: str) -> _Rule:
        if kind not in KINDS:
            raise ValueError(f"unknown controller {kind!r}; one of {', '.join(KINDS)}")
        with self._lock:
            return self._rules.setdefault((kind, name), dataclasses.replace(self._rules.get((kind, ""), _Rule())))

    def disable(self, kind: str, name: str = "") -> None:
        self._edit(kind, name).disabled = True

    def enable(self, kind: str, name: str = "") -> None:
        self._edit(kind, name).disabled = False

    def set_delay(self, kind: str, seconds: float, name: str = "") -> None:
        self._edit(kind, name).delay = seconds

    def fail(self, kind: str, name: str, reason: str = "ImagePullBackOff") -> None:
        if kind != "Job" and reason not in FAILURE_REASONS:
            raise ValueError(f"unknown failure {reason!r}; one of {', '.join(FAILURE_REASONS)}")
        self._edit(kind, name).failure = reason

    def heal(self, kind: str, name: str) -> None:
        self._edit(kind, name).failure = None

    def enabled(self, kind: str, name: str) -> bool:
        return not self._rule(kind, name).disabled

    def delay(self, kind: str, name: str, default: float) -> float:
        rule = self._rule(kind, name)
        return default if rule.delay is None else rule.delay

    def failure(self, kind: str, name: str) -> str | None:
        return self._rule(kind, name).failure


def _kind_of(gr: tuple[str, str]) -> str:
    return {
        ("apps", "deployments"): "Deployment",
        ("apps", "daemonsets"): "DaemonSet",
        ("apps", "statefulsets"): "StatefulSet",
        ("batch", "jobs"): "Job",
        ("", "services"): "Service",
    }.get(gr, "")


class WorkloadControllers:
    """Runs the switches of `Controllers` against store events."""

    def __init__(self, cluster: Cluster, controllers: Controllers) -> None:
        self.cluster = cluster
        self.controllers = controllers
        cluster.store.listeners.append(self._on_event)

    def _on_event(self, event: store.Event) -> None:
        kind = _kind_of(event.gr)
        if not kind or event.type == store.DELETED:
            return
        obj = event.obj
        meta = obj["metadata"]
        if meta.get("deletionTimestamp") or not self.controllers.enabled(kind, meta["name"]):
            return
        key = (event.gr, meta.get("namespace", ""), meta["name"], meta.get("uid"))
        opts = self.cluster.options
        if event.gr in _WORKLOADS:
            if (obj.get("status") or {}).get("observedGeneration") == meta.get("generation"):
                return
            delay = self.controllers.delay(kind, meta["name"], opts.rollout_delay)
            self.cluster.scheduler.call_later(delay, lambda: self._reconcile_workload(kind, key))
        elif kind == "Job":
            if _job_finished(obj):
                return
            delay = self.controllers.delay(kind, meta["name"], opts.job_delay)
            self.cluster.scheduler.call_later(delay, lambda: self._reconcile_job(key))
        elif kind == "Service" and (obj.get("spec") or {}).get("type") == "LoadBalancer":
            if (obj.get("status") or {}).get("loadBalancer", {}).get("ingress"):
                return
            delay = self.controllers.delay(kind, meta["name"], opts.load_balancer_delay)
            self.cluster.scheduler.call_later(delay, lambda: self._assign_address(key))

    def _current(self, key: tuple[Any, ...]) -> dict[str, Any] | None:
        gr, namespace, name, uid = key
        obj = self.cluster.store.get(gr, namespace, name)
        if obj is None or obj["metadata"].get("uid") != uid or obj["metadata"].get("deletionTimestamp"):
            return None
        return obj

    # --- workloads -----------------------------------------------------------------------------------------------

    def _reconcile_workload(self, kind: str, key: tuple[Any, ...]) -> None:
        c = self.cluster
        with c.store.lock:
            obj = self._current(key)
            if obj is None or not self.controllers.enabled(kind, key[2]):
                return
            spec = obj.get("spec") or {}
            generation = obj["metadata"].get("generation", 1)
            replicas = 1 if kind == "DaemonSet" else int(spec.get("replicas", 1))
            failure = self.controllers.failure(kind, key[2])
            template_hash = _hash(spec.get("template") or {})
            if failure or self.controllers.create_pods or c.options.create_pods:
                self._sync_pods(kind, obj, replicas, template_hash, failure)
            ready = 0 if failure else replicas
            status = _workload_status(kind, obj, generation, replicas, ready, template_hash)
            rt = resources.builtin(*key[0])
            c.write_status(rt, obj, status, MANAGER)
        if failure and kind == "Deployment":
            deadline = c.options.progress_deadline_delay
            c.scheduler.call_later(deadline, lambda: self._deadline_exceeded(key, generation))

    def _deadline_exceeded(self, key: tuple[Any, ...], generation: int) -> None:
        c = self.cluster
        with c.store.lock:
            obj = self._current(key)
            if obj is None or obj["metadata"].get("generation") != generation:
                return
            if not self.controllers.failure("Deployment", key[2]):
                return
            status = copy.deepcopy(obj.get("status") or {})
            holder = {"status": status}
            rs_name = f"{key[2]}-{_hash((obj.get('spec') or {}).get('template') or {})}"
            cluster_mod.set_condition(
                holder,
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                f'ReplicaSet "{rs_name}" has timed out progressing.',
            )
            c.write_status(resources.builtin("apps", "deployments"), obj, status, MANAGER)

    def _sync_pods(
        self, kind: str, owner: dict[str, Any], replicas: int, template_hash: str, failure: str | None
    ) -> None:
        """Pods of the current template (old ones removed), with a status showing readiness or the failure."""
        c = self.cluster
        meta = owner["metadata"]
        namespace = meta["namespace"]
        template = copy.deepcopy((owner.get("spec") or {}).get("template") or {})
        parent = owner
        if kind == "Deployment":
            parent = self._sync_replicaset(owner, template, template_hash, replicas)
        parent_uid = parent["metadata"]["uid"]
        existing = [
            pod
            for pod in c.store.list(_POD.group_resource, namespace)
            if any(ref.get("uid") == parent_uid for ref in pod["metadata"].get("ownerReferences") or ())
        ]
        for pod in existing:
            c.remove_object(_POD, namespace, pod["metadata"]["name"])
        labels = dict((template.get("metadata") or {}).get("labels") or {})
        if kind == "Deployment":
            labels["pod-template-hash"] = template_hash
        for index in range(replicas):
            suffix = str(index) if kind == "StatefulSet" else uuid.uuid4().hex[:5]
            name = f"{parent['metadata']['name']}-{suffix}"
            pod = {
                "apiVersion": "v1",
                "kind": "Pod",
                "metadata": {
                    "name": name,
                    "namespace": namespace,
                    "labels": labels,
                    "annotations": dict((template.get("metadata") or {}).get("annotations") or {}),
                    "ownerReferences": [_owner_ref(parent, kind if kind != "Deployment" else "ReplicaSet")],
                },
                "spec": dict(template.get("spec") or {}, nodeName=NODE_NAME if failure != "Unschedulable" else None),
            }
            if pod["spec"].get("nodeName") is None:
                pod["spec"].pop("nodeName")
            pod["status"] = _pod_status(pod["spec"], failure)
            c.put_object(_POD, pod)

    def _sync_replicaset(
        self, owner: dict[str, Any], template: dict[str, Any], template_hash: str, replicas: int
    ) -> dict[str, Any]:
        c = self.cluster
        meta = owner["metadata"]
        name = f"{meta['name']}-{template_hash}"
        for rs in c.store.list(_RS.group_resource, meta["namespace"]):
            owned = any(ref.get("uid") == meta["uid"] for ref in rs["metadata"].get("ownerReferences") or ())
            if owned and rs["metadata"]["name"] != name:
                c.remove_object(_RS, meta["namespace"], rs["metadata"]["name"])
                for pod in c.store.list(_POD.group_resource, meta["namespace"]):
                    if any(
                        ref.get("uid") == rs["metadata"]["uid"] for ref in pod["metadata"].get("ownerReferences") or ()
                    ):
                        c.remove_object(_POD, meta["namespace"], pod["metadata"]["name"])
        labels = dict((template.get("metadata") or {}).get("labels") or {}, **{"pod-template-hash": template_hash})
        selector = copy.deepcopy((owner.get("spec") or {}).get("selector") or {})
        selector.setdefault("matchLabels", {})["pod-template-hash"] = template_hash
        template.setdefault("metadata", {})["labels"] = labels
        rs = {
            "apiVersion": "apps/v1",
            "kind": "ReplicaSet",
            "metadata": {
                "name": name,
                "namespace": meta["namespace"],
                "labels": labels,
                "ownerReferences": [_owner_ref(owner, "Deployment")],
            },
            "spec": {"replicas": replicas, "selector": selector, "template": template},
        }
        current = c.store.get(_RS.group_resource, meta["namespace"], name)
        if current is not None and current.get("spec") == rs["spec"]:
            return current
        return c.put_object(_RS, rs)

    # --- jobs ----------------------------------------------------------------------------------------------------

    def _reconcile_job(self, key: tuple[Any, ...]) -> None:
        c = self.cluster
        with c.store.lock:
            obj = self._current(key)
            if obj is None or _job_finished(obj):
                return
            now = cluster_mod.now_rfc3339()
            status: dict[str, Any] = copy.deepcopy(obj.get("status") or {})
            status.setdefault("startTime", now)
            holder = {"status": status}
            if self.controllers.failure("Job", key[2]):
                status["failed"] = int((obj.get("spec") or {}).get("backoffLimit", 6)) + 1
                cluster_mod.set_condition(
                    holder,
                    "FailureTarget",
                    "True",
                    "BackoffLimitExceeded",
                    "Job has reached the specified backoff limit",
                )
                cluster_mod.set_condition(
                    holder, "Failed", "True", "BackoffLimitExceeded", "Job has reached the specified backoff limit"
                )
            else:
                status["succeeded"] = int((obj.get("spec") or {}).get("completions", 1))
                status["completionTime"] = now
                cluster_mod.set_condition(
                    holder,
                    "SuccessCriteriaMet",
                    "True",
                    "CompletionsReached",
                    "Reached expected number of succeeded pods",
                )
                cluster_mod.set_condition(
                    holder, "Complete", "True", "CompletionsReached", "Reached expected number of succeeded pods"
                )
            status["ready"] = 0
            c.write_status(resources.builtin("batch", "jobs"), obj, status, MANAGER)

    # --- services ------------------------------------------------------------------------------------------------

    def _assign_address(self, key: tuple[Any, ...]) -> None:
        c = self.cluster
        with c.store.lock:
            obj = self._current(key)
            if obj is None or (obj.get("spec") or {}).get("type") != "LoadBalancer":
                return
            number = sum(1 for _ in c.store.list(("", "services"))) % 250 + 1
            status = {"loadBalancer": {"ingress": [{"ip": f"127.0.1.{number}", "ipMode": "VIP"}]}}
            c.write_status(resources.builtin("", "services"), obj, status, "service-controller")


def _job_finished(obj: dict[str, Any]) -> bool:
    return any(cluster_mod.condition_true(obj, kind) for kind in ("Complete", "Failed"))


def _hash(template: dict[str, Any]) -> str:
    digest = hashlib.sha256(json.dumps(template, sort_keys=True).encode()).hexdigest()
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return "".join(alphabet[int(digest[i : i + 2], 16) % len(alphabet)] for i in range(0, 20, 2))


def _owner_ref(owner: dict[str, Any], kind: str) -> dict[str, Any]:
    return {
        "apiVersion": owner.get("apiVersion", "apps/v1"),
        "kind": kind,
        "name": owner["metadata"]["name"],
        "uid": owner["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _pod_status(spec: dict[str, Any], failure: str | None) -> dict[str, Any]:
    now = cluster_mod.now_rfc3339()
    containers = spec.get("containers") or []
    if failure == "Unschedulable":
        return {
            "phase": "Pending",
            "conditions": [
                {
                    "type": "PodScheduled",
                    "status": "False",
                    "lastTransitionTime": now,
                    "reason": "Unschedulable",
                    "message": "0/1 nodes are available: 1 Insufficient cpu. preemption: 0/1 nodes are available: "
                    "1 No preemption victims found for incoming pod.",
                }
            ],
            "qosClass": "BestEffort",
        }
    statuses = []
    for container in containers:
        image = container.get("image", "")
        entry: dict[str, Any] = {"name": container.get("name", ""), "image": image, "imageID": "", "restartCount": 0}
        if failure == "ImagePullBackOff":
            entry.update(
                ready=False,
                started=False,
                state={"waiting": {"reason": "ImagePullBackOff", "message": f'Back-off pulling image "{image}"'}},
            )
        elif failure == "CrashLoopBackOff":
            entry.update(
                ready=False,
                started=False,
                restartCount=5,
                state={
                    "waiting": {
                        "reason": "CrashLoopBackOff",
                        "message": f"back-off 2m40s restarting failed container={container.get('name', '')}",
                    }
                },
                lastState={"terminated": {"exitCode": 1, "reason": "Error", "startedAt": now, "finishedAt": now}},
            )
        elif failure == "CreateContainerConfigError":
            entry.update(
                ready=False,
                started=False,
                state={"waiting": {"reason": "CreateContainerConfigError", "message": 'configmap "missing" not found'}},
            )
        else:
            entry.update(
                ready=True,
                started=True,
                state={"running": {"startedAt": now}},
                imageID=f"docker.io/{image}@sha256:{'0' * 64}",
            )
        statuses.append(entry)
    ready = "False" if failure else "True"
    return {
        "phase": "Pending" if failure == "ImagePullBackOff" or failure == "CreateContainerConfigError" else "Running",
        "conditions": [
            {"type": "PodReadyToStartContainers", "status": "True", "lastTransitionTime": now},
            {"type": "Initialized", "status": "True", "lastTransitionTime": now},
            {"type": "Ready", "status": ready, "lastTransitionTime": now},
            {"type": "ContainersReady", "status": ready, "lastTransitionTime": now},
            {"type": "PodScheduled", "status": "True", "lastTransitionTime": now},
        ],
        "hostIP": "127.0.0.1",
        "podIP": "127.0.0.1",
        "startTime": now,
        "containerStatuses": statuses,
        "qosClass": "BestEffort",
    }


def _workload_status(
    kind: str, obj: dict[str, Any], generation: int, replicas: int, ready: int, template_hash: str
) -> dict[str, Any]:
    name = obj["metadata"]["name"]
    holder: dict[str, Any] = {"status": copy.deepcopy(obj.get("status") or {})}
    status = holder["status"]
    status["observedGeneration"] = generation
    if kind == "Deployment":
        status.update(replicas=replicas, updatedReplicas=replicas)
        for field, value in (
            ("readyReplicas", ready),
            ("availableReplicas", ready),
            ("unavailableReplicas", replicas - ready),
        ):
            if value:
                status[field] = value
            else:
                status.pop(field, None)
        if ready >= replicas:
            cluster_mod.set_condition(
                holder, "Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."
            )
            cluster_mod.set_condition(
                holder,
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                f'ReplicaSet "{name}-{template_hash}" has successfully progressed.',
            )
        else:
            cluster_mod.set_condition(
                holder,
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.",
            )
            cluster_mod.set_condition(
                holder,
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                f'ReplicaSet "{name}-{template_hash}" is progressing.',
            )
    elif kind == "DaemonSet":
        status.update(
            currentNumberScheduled=replicas,
            desiredNumberScheduled=replicas,
            numberMisscheduled=0,
            numberReady=ready,
            updatedNumberScheduled=replicas,
        )
        if ready:
            status["numberAvailable"] = ready
            status.pop("numberUnavailable", None)
        else:
            status["numberUnavailable"] = replicas
            status.pop("numberAvailable", None)
    else:
        revision = f"{name}-{template_hash}"
        status.update(
            replicas=replicas,
            currentReplicas=replicas,
            updatedReplicas=replicas,
            currentRevision=revision,
            updateRevision=revision,
            collisionCount=0,
            availableReplicas=ready,
        )
        if ready:
            status["readyReplicas"] = ready
        else:
            status.pop("readyReplicas", None)
    return status
