"""The shared object model: references, apply phases and ordering, membership labels and ApplySet IDs.

Pure and dependency-free, so both ``meshctl.render`` and ``meshctl.kube`` can use it without knowing each other.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Mapping
from typing import Any

#: Label every member of an installation carries (KEP-3659 ApplySet).
PART_OF_LABEL = "applyset.kubernetes.io/part-of"
#: Label carried by the ApplySet parent.
APPLYSET_ID_LABEL = "applyset.kubernetes.io/id"
COMPONENT_LABEL = "operator.istio.io/component"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "meshctl"

#: Components in their tie-break order (``rendering.md`` §6).
COMPONENT_ORDER: tuple[str, ...] = (
    "Base",
    "Pilot",
    "Cni",
    "Ztunnel",
    "IngressGateways",
    "EgressGateways",
    "AddonComponents",
)


@dataclasses.dataclass(frozen=True, order=True)
class ObjectRef:
    """Identity of a Kubernetes object: group, version, kind, namespace ('' when cluster-scoped) and name."""

    group: str
    version: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def from_object(cls, obj: Mapping[str, Any]) -> ObjectRef:
        api_version = str(obj.get("apiVersion", ""))
        group, _, version = api_version.rpartition("/")
        meta = obj.get("metadata") or {}
        return cls(group, version, str(obj.get("kind", "")), str(meta.get("namespace") or ""), str(meta["name"]))

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def describe(self) -> str:
        """``Kind: name.namespace`` for namespaced objects, ``Kind: name`` otherwise (verify-install style)."""
        if self.namespace:
            return f"{self.kind}: {self.name}.{self.namespace}"
        return f"{self.kind}: {self.name}"


class Phase(enum.IntEnum):
    """Apply phases (``cluster.md`` §2 step 6); each is applied in parallel and gated on the previous one."""

    CRDS = 0
    NAMESPACES = 1
    CONFIG = 2  # RBAC, service accounts, ConfigMaps, Secrets
    SERVICES = 3
    WORKLOADS = 4
    AUTOSCALING = 5
    OTHER = 6
    ADMISSION = 7


# Rank of each kind in the one output/apply order (rendering.md §6); ties go by component, namespace, name.
_KIND_RANK: dict[str, int] = {
    "CustomResourceDefinition": 0,
    "Namespace": 1,
    "ServiceAccount": 2,
    "ClusterRole": 3,
    "ClusterRoleBinding": 4,
    "Role": 5,
    "RoleBinding": 6,
    "ConfigMap": 7,
    "Secret": 8,
    "Service": 9,
    "Deployment": 10,
    "DaemonSet": 10,
    "StatefulSet": 10,
    "HorizontalPodAutoscaler": 11,
    "PodDisruptionBudget": 12,
    "NetworkPolicy": 13,
    # everything else: 14
    "ValidatingAdmissionPolicy": 15,
    "ValidatingAdmissionPolicyBinding": 16,
    "ValidatingWebhookConfiguration": 17,
    "MutatingWebhookConfiguration": 18,
}
_OTHER_RANK = 14

_PHASE_BY_RANK: dict[int, Phase] = {
    0: Phase.CRDS,
    1: Phase.NAMESPACES,
    2: Phase.CONFIG,
    3: Phase.CONFIG,
    4: Phase.CONFIG,
    5: Phase.CONFIG,
    6: Phase.CONFIG,
    7: Phase.CONFIG,
    8: Phase.CONFIG,
    9: Phase.SERVICES,
    10: Phase.WORKLOADS,
    11: Phase.AUTOSCALING,
    12: Phase.AUTOSCALING,
    13: Phase.AUTOSCALING,
    14: Phase.OTHER,
    15: Phase.ADMISSION,
    16: Phase.ADMISSION,
    17: Phase.ADMISSION,
    18: Phase.ADMISSION,
}


def kind_rank(kind: str) -> int:
    """Position of ``kind`` in the output and apply order."""
    return _KIND_RANK.get(kind, _OTHER_RANK)


def phase_of(kind: str) -> Phase:
    """The apply phase an object of ``kind`` belongs to."""
    return _PHASE_BY_RANK[kind_rank(kind)]


def component_rank(component: str) -> int:
    """Tie-break position of a component label value; unknown components sort last."""
    try:
        return COMPONENT_ORDER.index(component)
    except ValueError:
        return len(COMPONENT_ORDER)


def sort_key(obj: Mapping[str, Any]) -> tuple[int, int, str, str, str]:
    """The one stable sort key: kind rank, component, namespace, name (then kind, to separate equal names)."""
    meta = obj.get("metadata") or {}
    labels = meta.get("labels") or {}
    kind = str(obj.get("kind", ""))
    return (
        kind_rank(kind),
        component_rank(str(labels.get(COMPONENT_LABEL, ""))),
        str(meta.get("namespace") or ""),
        str(meta.get("name", "")),
        kind,
    )


def applyset_id(parent_name: str, parent_namespace: str, kind: str = "Secret", group: str = "") -> str:
    """The ApplySet ID of a parent object, as KEP-3659 defines it.

    ``applyset-<base64url(sha256("<name>.<namespace>.<kind>.<group>"))>-v1`` without padding; a pure function of
    the parent's identity, so ``manifest generate`` can show the same label ``install`` applies.
    """
    import base64  # here, not at the top: start-up time (B1), most runs never name an ApplySet
    import hashlib

    digest = hashlib.sha256(f"{parent_name}.{parent_namespace}.{kind}.{group}".encode()).digest()
    encoded = base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")
    return f"applyset-{encoded}-v1"


def installation_name(revision: str) -> str:
    """Name of the parent Secret of a revision's installation (``meshctl-default`` when there is no revision)."""
    return f"meshctl-{revision or 'default'}"


BASE_INSTALLATION = "meshctl-base"
