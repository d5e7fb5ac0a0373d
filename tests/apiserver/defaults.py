"""Defaulting as kube-apiserver does it, for the kinds meshctl renders.

Only fields a client can see are defaulted; each function mutates the object it is given. Defaults of custom
resources come from `default` in the CRD's schema.
"""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable
from typing import Any

from tests.apiserver import schema

Obj = dict[str, Any]


def _set(obj: Obj, key: str, value: Any) -> None:
    if obj.get(key) is None:
        obj[key] = value


def _image_pull_policy(image: str) -> str:
    if "@" in image:
        return "IfNotPresent"
    name = image.rsplit("/", 1)[-1]
    tag = name.split(":", 1)[1] if ":" in name else ""
    return "Always" if tag in ("", "latest") else "IfNotPresent"


def _probe(probe: Obj | None) -> None:
    if not isinstance(probe, dict):
        return
    _set(probe, "timeoutSeconds", 1)
    _set(probe, "periodSeconds", 10)
    _set(probe, "successThreshold", 1)
    _set(probe, "failureThreshold", 3)
    if isinstance(probe.get("httpGet"), dict):
        _set(probe["httpGet"], "scheme", "HTTP")


def _env_from_field(env: list[Obj] | None) -> None:
    for var in env or ():
        field_ref = (var.get("valueFrom") or {}).get("fieldRef")
        if isinstance(field_ref, dict):
            _set(field_ref, "apiVersion", "v1")


def _container(container: Obj) -> None:
    _set(container, "terminationMessagePath", "/dev/termination-log")
    _set(container, "terminationMessagePolicy", "File")
    if container.get("image"):
        _set(container, "imagePullPolicy", _image_pull_policy(str(container["image"])))
    for port in container.get("ports") or ():
        _set(port, "protocol", "TCP")
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        _probe(container.get(probe))
    _env_from_field(container.get("env"))
    if container.get("resources") is None:
        container["resources"] = {}


def _volume(volume: Obj) -> None:
    for source in ("configMap", "secret"):
        if isinstance(volume.get(source), dict):
            _set(volume[source], "defaultMode", 420)
    if isinstance(volume.get("projected"), dict):
        _set(volume["projected"], "defaultMode", 420)
        for item in volume["projected"].get("sources") or ():
            token = item.get("serviceAccountToken")
            if isinstance(token, dict):
                _set(token, "expirationSeconds", 3600)
            api = item.get("downwardAPI")
            if isinstance(api, dict):
                for entry in api.get("items") or ():
                    if isinstance(entry.get("fieldRef"), dict):
                        _set(entry["fieldRef"], "apiVersion", "v1")
    if isinstance(volume.get("downwardAPI"), dict):
        _set(volume["downwardAPI"], "defaultMode", 420)
        for entry in volume["downwardAPI"].get("items") or ():
            if isinstance(entry.get("fieldRef"), dict):
                _set(entry["fieldRef"], "apiVersion", "v1")
    if isinstance(volume.get("hostPath"), dict):
        _set(volume["hostPath"], "type", "")
    if not any(k != "name" for k in volume):
        volume["emptyDir"] = {}


def pod_spec(spec: Obj) -> None:
    _set(spec, "restartPolicy", "Always")
    _set(spec, "terminationGracePeriodSeconds", 30)
    _set(spec, "dnsPolicy", "ClusterFirst")
    _set(spec, "securityContext", {})
    _set(spec, "schedulerName", "default-scheduler")
    for key in ("containers", "initContainers"):
        for container in spec.get(key) or ():
            if isinstance(container, dict):
                _container(container)
    for volume in spec.get("volumes") or ():
        if isinstance(volume, dict):
            _volume(volume)
    if spec.get("serviceAccountName") and not spec.get("serviceAccount"):
        spec["serviceAccount"] = spec["serviceAccountName"]


def _template(obj: Obj) -> None:
    template = (obj.get("spec") or {}).get("template")
    if isinstance(template, dict) and isinstance(template.get("spec"), dict):
        pod_spec(template["spec"])


def deployment(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "replicas", 1)
    strategy = spec.setdefault("strategy", {})
    _set(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        _set(rolling, "maxUnavailable", "25%")
        _set(rolling, "maxSurge", "25%")
    _set(spec, "revisionHistoryLimit", 10)
    _set(spec, "progressDeadlineSeconds", 600)
    _template(obj)


def daemonset(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    strategy = spec.setdefault("updateStrategy", {})
    _set(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        _set(rolling, "maxUnavailable", 1)
        _set(rolling, "maxSurge", 0)
    _set(spec, "revisionHistoryLimit", 10)
    _template(obj)


def statefulset(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "replicas", 1)
    _set(spec, "podManagementPolicy", "OrderedReady")
    strategy = spec.setdefault("updateStrategy", {})
    _set(strategy, "type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        _set(strategy.setdefault("rollingUpdate", {}), "partition", 0)
    _set(spec, "revisionHistoryLimit", 10)
    _set(spec, "persistentVolumeClaimRetentionPolicy", {"whenDeleted": "Retain", "whenScaled": "Retain"})
    _template(obj)


def replicaset(obj: Obj) -> None:
    _set(obj.setdefault("spec", {}), "replicas", 1)
    _template(obj)


def job(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "parallelism", 1)
    _set(spec, "completions", 1)
    _set(spec, "backoffLimit", 6)
    _set(spec, "completionMode", "NonIndexed")
    _set(spec, "suspend", False)
    _set(spec, "podReplacementPolicy", "TerminatingOrFailed")
    uid = obj.get("metadata", {}).get("uid", "")
    name = obj.get("metadata", {}).get("name", "")
    if not spec.get("manualSelector") and uid:
        labels = {
            "batch.kubernetes.io/controller-uid": uid,
            "batch.kubernetes.io/job-name": name,
            "controller-uid": uid,
            "job-name": name,
        }
        spec.setdefault("selector", {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
        template = spec.setdefault("template", {})
        template.setdefault("metadata", {}).setdefault("labels", {}).update(labels)
    _template(obj)


def pod(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    pod_spec(spec)
    _set(spec, "enableServiceLinks", True)
    _set(spec, "priority", 0)
    _set(spec, "preemptionPolicy", "PreemptLowerPriority")
    _set(spec, "serviceAccountName", "default")
    _set(spec, "serviceAccount", spec["serviceAccountName"])
    tolerations = spec.setdefault("tolerations", [])
    for key in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"):
        if not any(t.get("key") == key for t in tolerations):
            tolerations.append({"key": key, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300})
    for container in spec.get("containers") or ():
        resources = container.get("resources") or {}
        if resources.get("limits") and not resources.get("requests"):
            resources["requests"] = dict(resources["limits"])
    status = obj.setdefault("status", {})
    _set(status, "phase", "Pending")
    _set(status, "qosClass", "BestEffort")


def service(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "type", "ClusterIP")
    _set(spec, "sessionAffinity", "None")
    for port in spec.get("ports") or ():
        _set(port, "protocol", "TCP")
        if spec["type"] != "ExternalName":
            _set(port, "targetPort", port.get("port"))
    if spec["type"] != "ExternalName":
        _set(spec, "internalTrafficPolicy", "Cluster")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        _set(spec, "externalTrafficPolicy", "Cluster")
    if spec["type"] == "LoadBalancer":
        _set(spec, "allocateLoadBalancerNodePorts", True)


def namespace(obj: Obj) -> None:
    labels = obj.setdefault("metadata", {}).setdefault("labels", {})
    labels["kubernetes.io/metadata.name"] = obj["metadata"].get("name", "")


def secret(obj: Obj) -> None:
    _set(obj, "type", "Opaque")
    # stringData is write-only: kube-apiserver merges it into data (base64) when decoding.
    string_data = obj.pop("stringData", None)
    if isinstance(string_data, dict) and string_data:
        data = obj.get("data") or {}
        for key, value in string_data.items():
            data[key] = base64.b64encode(str(value).encode()).decode()
        obj["data"] = data


def _subjects(obj: Obj) -> None:
    for subject in obj.get("subjects") or ():
        if subject.get("kind") == "ServiceAccount":
            _set(subject, "apiGroup", "")
        elif subject.get("kind") in ("User", "Group"):
            _set(subject, "apiGroup", "rbac.authorization.k8s.io")


def _webhooks(obj: Obj, mutating: bool) -> None:
    for hook in obj.get("webhooks") or ():
        _set(hook, "failurePolicy", "Fail")
        _set(hook, "matchPolicy", "Equivalent")
        _set(hook, "namespaceSelector", {})
        _set(hook, "objectSelector", {})
        _set(hook, "timeoutSeconds", 10)
        if mutating:
            _set(hook, "reinvocationPolicy", "Never")
        for rule in hook.get("rules") or ():
            _set(rule, "scope", "*")
        service_ref = (hook.get("clientConfig") or {}).get("service")
        if isinstance(service_ref, dict):
            _set(service_ref, "port", 443)


def validating_admission_policy(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "failurePolicy", "Fail")
    constraints = spec.get("matchConstraints")
    if isinstance(constraints, dict):
        _set(constraints, "matchPolicy", "Equivalent")
        _set(constraints, "namespaceSelector", {})
        _set(constraints, "objectSelector", {})
        for rule in constraints.get("resourceRules") or ():
            _set(rule, "scope", "*")


def network_policy(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    if spec.get("policyTypes") is None:
        spec["policyTypes"] = ["Ingress", "Egress"] if spec.get("egress") else ["Ingress"]
    for direction in ("ingress", "egress"):
        for rule in spec.get(direction) or ():
            for port in rule.get("ports") or ():
                _set(port, "protocol", "TCP")


def hpa(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "minReplicas", 1)
    if not spec.get("metrics"):
        spec["metrics"] = [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
            }
        ]
    behavior = spec.get("behavior")
    if isinstance(behavior, dict):
        up = behavior.setdefault("scaleUp", {})
        _set(up, "stabilizationWindowSeconds", 0)
        _set(up, "selectPolicy", "Max")
        _set(
            up,
            "policies",
            [{"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}],
        )
        down = behavior.setdefault("scaleDown", {})
        _set(down, "selectPolicy", "Max")
        _set(down, "policies", [{"type": "Percent", "value": 100, "periodSeconds": 15}])


def _ports_protocol(obj: Obj, key: str = "ports") -> None:
    for port in obj.get(key) or ():
        _set(port, "protocol", "TCP")


def endpoints(obj: Obj) -> None:
    for subset in obj.get("subsets") or ():
        _ports_protocol(subset)


def crd(obj: Obj) -> None:
    spec = obj.setdefault("spec", {})
    _set(spec, "conversion", {"strategy": "None"})
    names = spec.get("names")
    if isinstance(names, dict) and names.get("kind"):
        _set(names, "singular", str(names["kind"]).lower())
        _set(names, "listKind", f"{names['kind']}List")


DEFAULTERS: dict[tuple[str, str], Callable[[Obj], None]] = {
    ("apps", "Deployment"): deployment,
    ("apps", "DaemonSet"): daemonset,
    ("apps", "StatefulSet"): statefulset,
    ("apps", "ReplicaSet"): replicaset,
    ("batch", "Job"): job,
    ("", "Pod"): pod,
    ("", "Service"): service,
    ("", "Namespace"): namespace,
    ("", "Secret"): secret,
    ("", "Endpoints"): endpoints,
    ("rbac.authorization.k8s.io", "RoleBinding"): _subjects,
    ("rbac.authorization.k8s.io", "ClusterRoleBinding"): _subjects,
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"): lambda o: _webhooks(o, True),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"): lambda o: _webhooks(o, False),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"): validating_admission_policy,
    ("networking.k8s.io", "NetworkPolicy"): network_policy,
    ("autoscaling", "HorizontalPodAutoscaler"): hpa,
    ("discovery.k8s.io", "EndpointSlice"): _ports_protocol,
    ("apiextensions.k8s.io", "CustomResourceDefinition"): crd,
}


def apply_defaults(group: str, kind: str, obj: Obj) -> None:
    defaulter = DEFAULTERS.get((group, kind))
    if defaulter is not None:
        defaulter(obj)


def apply_schema_defaults(value: Any, node: schema.Node) -> None:
    """Structural-schema defaulting of custom resources: `default` of absent fields, recursively."""
    if isinstance(value, dict) and node.kind == "struct":
        for name, child in node.fields():
            if name not in value and "default" in child.raw:
                value[name] = copy.deepcopy(child.raw["default"])
            if name in value:
                apply_schema_defaults(value[name], child)
    elif isinstance(value, dict) and node.kind == "map":
        extra = node.field("\0")
        if extra is not None:
            for item in value.values():
                apply_schema_defaults(item, extra)
    elif isinstance(value, list) and node.kind == "list":
        for item in value:
            apply_schema_defaults(item, node.items)
