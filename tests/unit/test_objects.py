"""The shared object model: ApplySet IDs, the one ordering, phases, object references."""

from __future__ import annotations

import base64
import hashlib
import re

from hypothesis import given
from hypothesis import strategies as st

from meshctl import objects


def test_applyset_id_follows_kep_3659() -> None:
    ident = objects.applyset_id("meshctl-default", "istio-system")
    match = re.fullmatch(r"applyset-([A-Za-z0-9_-]+)-v1", ident)
    assert match is not None
    encoded = match.group(1)
    assert "=" not in encoded
    digest = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
    assert digest == hashlib.sha256(b"meshctl-default.istio-system.Secret.").digest()


# Namespaces are DNS-1123 labels (no dots), which keeps "<name>.<namespace>" unambiguous.
PARENTS = st.tuples(
    st.text(min_size=1, max_size=20), st.from_regex(r"[a-z0-9]([-a-z0-9]{0,10}[a-z0-9])?", fullmatch=True)
)


@given(PARENTS, PARENTS)
def test_applyset_ids_tell_parents_apart(parent: tuple[str, str], other: tuple[str, str]) -> None:
    ident = objects.applyset_id(*parent)
    assert re.fullmatch(r"applyset-[A-Za-z0-9_-]{43}-v1", ident)
    assert (objects.applyset_id(*other) == ident) == (other == parent)


def test_base_and_revision_installations_have_distinct_ids() -> None:
    assert objects.installation_name("") == "meshctl-default"
    assert objects.installation_name("canary") == "meshctl-canary"
    ids = {objects.applyset_id(n, "istio-system") for n in (objects.BASE_INSTALLATION, "meshctl-default")}
    assert len(ids) == 2


def _obj(kind: str, name: str, component: str = "Pilot", namespace: str = "istio-system") -> dict[str, object]:
    meta: dict[str, object] = {"name": name, "labels": {objects.COMPONENT_LABEL: component}}
    if namespace:
        meta["namespace"] = namespace
    return {"apiVersion": "v1", "kind": kind, "metadata": meta}


def test_sort_order_puts_crds_first_and_webhooks_last() -> None:
    kinds = [
        "MutatingWebhookConfiguration",
        "Service",
        "Deployment",
        "ConfigMap",
        "CustomResourceDefinition",
        "ValidatingWebhookConfiguration",
        "ServiceAccount",
        "Namespace",
        "HorizontalPodAutoscaler",
        "EnvoyFilter",
        "ValidatingAdmissionPolicy",
        "PodDisruptionBudget",
    ]
    ordered = [o["kind"] for o in sorted((_obj(k, "x") for k in kinds), key=objects.sort_key)]
    assert ordered == [
        "CustomResourceDefinition",
        "Namespace",
        "ServiceAccount",
        "ConfigMap",
        "Service",
        "Deployment",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "EnvoyFilter",
        "ValidatingAdmissionPolicy",
        "ValidatingWebhookConfiguration",
        "MutatingWebhookConfiguration",
    ]


def test_ties_break_by_component_then_namespace_then_name() -> None:
    items = [
        _obj("ServiceAccount", "b", "IngressGateways"),
        _obj("ServiceAccount", "a", "IngressGateways", "zz"),
        _obj("ServiceAccount", "z", "Base"),
        _obj("ServiceAccount", "a", "IngressGateways"),
    ]
    ordered = [
        (o["metadata"]["labels"][objects.COMPONENT_LABEL], o["metadata"].get("namespace"), o["metadata"]["name"])
        for o in sorted(items, key=objects.sort_key)
    ]  # type: ignore[index]
    assert ordered == [
        ("Base", "istio-system", "z"),
        ("IngressGateways", "istio-system", "a"),
        ("IngressGateways", "istio-system", "b"),
        ("IngressGateways", "zz", "a"),
    ]


def test_phases_follow_the_apply_order() -> None:
    assert objects.phase_of("CustomResourceDefinition") is objects.Phase.CRDS
    assert objects.phase_of("ClusterRole") is objects.Phase.CONFIG
    assert objects.phase_of("Service") is objects.Phase.SERVICES
    assert objects.phase_of("DaemonSet") is objects.Phase.WORKLOADS
    assert objects.phase_of("PodDisruptionBudget") is objects.Phase.AUTOSCALING
    assert objects.phase_of("SomethingNew") is objects.Phase.OTHER
    assert objects.phase_of("MutatingWebhookConfiguration") is objects.Phase.ADMISSION


def test_object_ref_describes_like_verify_install() -> None:
    ref = objects.ObjectRef.from_object(_obj("Deployment", "istiod"))
    assert ref.describe() == "Deployment: istiod.istio-system"
    crd = objects.ObjectRef.from_object(
        {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "metadata": {"name": "a.b"}}
    )
    assert crd.describe() == "CustomResourceDefinition: a.b"
    assert crd.api_version == "apiextensions.k8s.io/v1"
    assert ref.api_version == "v1"
