"""The resource types the server knows: the built-in ones, and those that established CRDs add."""

from __future__ import annotations

import dataclasses
from typing import Any

from tests.apiserver import schema

ALL_VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclasses.dataclass(frozen=True)
class ResourceType:
    """One served resource (group, version, plural) and what the server needs to know to serve it."""

    group: str
    version: str
    kind: str
    plural: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    subresources: frozenset[str] = frozenset()
    categories: tuple[str, ...] = ()
    # Custom resources carry their CRD's schema and printer columns; built-ins use the official definitions.
    crd_schema: dict[str, Any] | None = None
    printer_columns: tuple[dict[str, Any], ...] = ()
    custom: bool = False

    @property
    def singular(self) -> str:
        return self.kind.lower()

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def group_resource(self) -> tuple[str, str]:
        """Storage key: one store per group and plural, whatever the version."""
        return (self.group, self.plural)

    @property
    def qualified(self) -> str:
        """`deployments.apps` style name used in messages."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def has_status(self) -> bool:
        return "status" in self.subresources

    def root(self) -> schema.Node:
        if self.custom:
            return schema.custom_root(self.crd_schema)
        definition = schema.definition_for_kind(self.group, self.version, self.kind)
        if definition is None:  # pragma: no cover - every built-in listed below has a definition
            raise LookupError(f"no schema for {self.api_version} {self.kind}")
        return schema.builtin_root(definition)


def _rt(
    group: str,
    version: str,
    kind: str,
    plural: str,
    namespaced: bool,
    short: tuple[str, ...] = (),
    status: bool = False,
    categories: tuple[str, ...] = (),
) -> ResourceType:
    return ResourceType(
        group,
        version,
        kind,
        plural,
        namespaced,
        short,
        frozenset({"status"}) if status else frozenset(),
        categories,
    )


BUILTIN: tuple[ResourceType, ...] = (
    _rt("", "v1", "Namespace", "namespaces", False, ("ns",), status=True),
    _rt("", "v1", "ConfigMap", "configmaps", True, ("cm",)),
    _rt("", "v1", "Secret", "secrets", True),
    _rt("", "v1", "Service", "services", True, ("svc",), status=True, categories=("all",)),
    _rt("", "v1", "ServiceAccount", "serviceaccounts", True, ("sa",)),
    _rt("", "v1", "Pod", "pods", True, ("po",), status=True, categories=("all",)),
    _rt("", "v1", "Endpoints", "endpoints", True, ("ep",)),
    _rt("", "v1", "Node", "nodes", False, ("no",), status=True),
    _rt("", "v1", "Event", "events", True, ("ev",)),
    _rt("", "v1", "ResourceQuota", "resourcequotas", True, ("quota",), status=True),
    _rt("apps", "v1", "Deployment", "deployments", True, ("deploy",), status=True, categories=("all",)),
    _rt("apps", "v1", "DaemonSet", "daemonsets", True, ("ds",), status=True, categories=("all",)),
    _rt("apps", "v1", "StatefulSet", "statefulsets", True, ("sts",), status=True, categories=("all",)),
    _rt("apps", "v1", "ReplicaSet", "replicasets", True, ("rs",), status=True, categories=("all",)),
    _rt("rbac.authorization.k8s.io", "v1", "Role", "roles", True),
    _rt("rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", True),
    _rt("rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", False),
    _rt("rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", False),
    _rt(
        "admissionregistration.k8s.io",
        "v1",
        "MutatingWebhookConfiguration",
        "mutatingwebhookconfigurations",
        False,
    ),
    _rt(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingWebhookConfiguration",
        "validatingwebhookconfigurations",
        False,
    ),
    _rt(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicy",
        "validatingadmissionpolicies",
        False,
        status=True,
    ),
    _rt(
        "admissionregistration.k8s.io",
        "v1",
        "ValidatingAdmissionPolicyBinding",
        "validatingadmissionpolicybindings",
        False,
    ),
    _rt(
        "apiextensions.k8s.io",
        "v1",
        "CustomResourceDefinition",
        "customresourcedefinitions",
        False,
        ("crd", "crds"),
        status=True,
    ),
    _rt("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers", True, ("hpa",), status=True),
    _rt("policy", "v1", "PodDisruptionBudget", "poddisruptionbudgets", True, ("pdb",), status=True),
    _rt("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", True, ("netpol",)),
    _rt("discovery.k8s.io", "v1", "EndpointSlice", "endpointslices", True),
    _rt("coordination.k8s.io", "v1", "Lease", "leases", True),
    _rt("batch", "v1", "Job", "jobs", True, status=True, categories=("all",)),
)

CRD = next(rt for rt in BUILTIN if rt.kind == "CustomResourceDefinition")
NAMESPACE = next(rt for rt in BUILTIN if rt.kind == "Namespace")


def by_plural(rt_list: list[ResourceType] | tuple[ResourceType, ...]) -> dict[tuple[str, str, str], ResourceType]:
    return {(rt.group, rt.version, rt.plural): rt for rt in rt_list}


def builtin(group: str, plural: str) -> ResourceType:
    for rt in BUILTIN:
        if rt.group == group and rt.plural == plural:
            return rt
    raise KeyError((group, plural))


def from_crd(crd: dict[str, Any]) -> list[ResourceType]:
    """The resource types of an established CRD, one per served version."""
    spec = crd.get("spec", {})
    names = spec.get("names", {})
    result: list[ResourceType] = []
    for version in spec.get("versions", ()):
        if not version.get("served", True):
            continue
        subresources = frozenset(version.get("subresources", {}) or {})
        result.append(
            ResourceType(
                group=spec.get("group", ""),
                version=version["name"],
                kind=names.get("kind", ""),
                plural=names.get("plural", ""),
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames", ()) or ()),
                subresources=subresources & {"status"},
                categories=tuple(names.get("categories", ()) or ()),
                crd_schema=(version.get("schema") or {}).get("openAPIV3Schema"),
                printer_columns=tuple(version.get("additionalPrinterColumns", ()) or ()),
                custom=True,
            )
        )
    return result
