"""Facts of the base component (CRDs, reader ServiceAccount, optional admission objects), object by object.

The tables below are written from ``../shared/reference/istio-manifest-inventory.md`` §2.1 and §3, not from any
golden file, so a template change that breaks a fact fails here even if a golden was refreshed along with it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

import kubernetes_validate
import kubernetes_validate.utils
import pytest

from meshctl import objects
from tests.unit.facts.helpers import KUBERNETES_VERSIONS, by_kind, render_iop

# --------------------------------------------------------------------------------------------------------------
# Fact tables (reference §3)


@dataclasses.dataclass(frozen=True)
class Crd:
    group: str
    kind: str
    plural: str
    singular: str
    short_names: tuple[str, ...]
    versions: tuple[str, ...]
    storage: str
    columns: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{self.plural}.{self.group}"


NETWORKING_VERSIONS = ("v1", "v1alpha3", "v1beta1")
SECURITY_VERSIONS = ("v1", "v1beta1")

CRDS = (
    Crd("extensions.istio.io", "TrafficExtension", "trafficextensions", "trafficextension", (), ("v1alpha1",),
        "v1alpha1", ("Age",)),
    Crd("extensions.istio.io", "WasmPlugin", "wasmplugins", "wasmplugin", (), ("v1alpha1",), "v1alpha1", ("Age",)),
    Crd("networking.istio.io", "DestinationRule", "destinationrules", "destinationrule", ("dr",), NETWORKING_VERSIONS,
        "v1", ("Host", "Age")),
    Crd("networking.istio.io", "EnvoyFilter", "envoyfilters", "envoyfilter", (), ("v1alpha3",), "v1alpha3", ()),
    Crd("networking.istio.io", "Gateway", "gateways", "gateway", ("gw",), NETWORKING_VERSIONS, "v1", ()),
    Crd("networking.istio.io", "ProxyConfig", "proxyconfigs", "proxyconfig", (), ("v1beta1",), "v1beta1", ()),
    Crd("networking.istio.io", "ServiceEntry", "serviceentries", "serviceentry", ("se",), NETWORKING_VERSIONS, "v1",
        ("Hosts", "Location", "Resolution", "Age")),
    Crd("networking.istio.io", "Sidecar", "sidecars", "sidecar", (), NETWORKING_VERSIONS, "v1", ()),
    Crd("networking.istio.io", "VirtualService", "virtualservices", "virtualservice", ("vs",), NETWORKING_VERSIONS,
        "v1", ("Gateways", "Hosts", "Age")),
    Crd("networking.istio.io", "WorkloadEntry", "workloadentries", "workloadentry", ("we",), NETWORKING_VERSIONS,
        "v1", ("Age", "Address")),  # inventory §0.1, "Incidental": Age first
    Crd("networking.istio.io", "WorkloadGroup", "workloadgroups", "workloadgroup", ("wg",), NETWORKING_VERSIONS, "v1",
        ("Age",)),
    Crd("security.istio.io", "AuthorizationPolicy", "authorizationpolicies", "authorizationpolicy", ("ap",),
        SECURITY_VERSIONS, "v1", ("Action", "Age")),
    Crd("security.istio.io", "PeerAuthentication", "peerauthentications", "peerauthentication", ("pa",),
        SECURITY_VERSIONS, "v1", ("Mode", "Age")),
    Crd("security.istio.io", "RequestAuthentication", "requestauthentications", "requestauthentication", ("ra",),
        SECURITY_VERSIONS, "v1", ()),
    Crd("telemetry.istio.io", "Telemetry", "telemetries", "telemetry", ("telemetry",), ("v1", "v1alpha1"),
        "v1alpha1", ("Age",)),
)  # fmt: skip

# What each printer column shows: (JSONPath, type). The reference names the columns; the paths are the fields
# of the same name in each kind's spec (mtls.mode for PeerAuthentication), Age is the creation timestamp.
COLUMN_FIELDS = {
    "Host": (".spec.host", "string"),
    "Hosts": (".spec.hosts", "string"),
    "Location": (".spec.location", "string"),
    "Resolution": (".spec.resolution", "string"),
    "Gateways": (".spec.gateways", "string"),
    "Address": (".spec.address", "string"),
    "Action": (".spec.action", "string"),
    "Mode": (".spec.mtls.mode", "string"),
    "Age": (".metadata.creationTimestamp", "date"),
}

# The Kubernetes versions every rendered object must validate against: 1.32 up to the newest one shipped.
ISTIO_GROUPS = ["security.istio.io", "networking.istio.io", "telemetry.istio.io", "extensions.istio.io"]


# --------------------------------------------------------------------------------------------------------------
# Rendering


def render_base(values: Mapping[str, Any] | None = None, *, profile: str = "default") -> list[dict[str, Any]]:
    """The base component's objects as ``manifest generate`` renders them (full pipeline, labels included).

    ``values`` go in through an IstioOperator file (``spec.values``), as a user would write them.
    """
    rendered = render_iop({"profile": profile, "values": dict(values or {})}, ["Base"])
    assert {obj["metadata"]["labels"][objects.COMPONENT_LABEL] for obj in rendered} <= {"Base"}
    return rendered


@pytest.fixture(scope="module")
def default_objects() -> list[dict[str, Any]]:
    return render_base()


@pytest.fixture(scope="module")
def crds(default_objects: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return by_kind(default_objects, "CustomResourceDefinition")


# --------------------------------------------------------------------------------------------------------------
# Inventory


def test_default_render_is_15_crds_and_the_reader_service_account(default_objects: list[dict[str, Any]]) -> None:
    inventory = sorted((obj["kind"], obj["metadata"]["name"]) for obj in default_objects)
    expected = sorted(
        [("CustomResourceDefinition", crd.name) for crd in CRDS] + [("ServiceAccount", "istio-reader-service-account")]
    )
    assert inventory == expected


def test_fact_table_is_the_reference_table() -> None:
    assert len(CRDS) == 15
    assert len({crd.name for crd in CRDS}) == 15
    assert {crd.group for crd in CRDS} == set(ISTIO_GROUPS)


# --------------------------------------------------------------------------------------------------------------
# CRDs, one by one


@pytest.mark.parametrize("fact", CRDS, ids=lambda crd: crd.kind)
def test_crd_names_group_and_scope(fact: Crd, crds: dict[str, dict[str, Any]]) -> None:
    crd = crds[fact.name]
    assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
    assert "namespace" not in crd["metadata"]
    assert crd["metadata"]["annotations"] == {"helm.sh/resource-policy": "keep"}
    spec = crd["spec"]
    assert spec["group"] == fact.group
    assert spec["scope"] == "Namespaced"
    names = spec["names"]
    assert names["kind"] == fact.kind
    assert names["listKind"] == f"{fact.kind}List"
    assert names["plural"] == fact.plural
    assert names["singular"] == fact.singular
    assert tuple(names.get("shortNames", ())) == fact.short_names
    assert names["categories"] == ["istio-io", fact.group.replace(".", "-")]


@pytest.mark.parametrize("fact", CRDS, ids=lambda crd: crd.kind)
def test_crd_versions_storage_and_status_subresource(fact: Crd, crds: dict[str, dict[str, Any]]) -> None:
    versions = crds[fact.name]["spec"]["versions"]
    assert tuple(v["name"] for v in versions) == fact.versions
    assert [v["name"] for v in versions if v["storage"]] == [fact.storage]
    for version in versions:
        assert version["served"] is True
        assert not version.get("deprecated", False)
        assert version["subresources"] == {"status": {}}


@pytest.mark.parametrize("fact", CRDS, ids=lambda crd: crd.kind)
def test_crd_printer_columns(fact: Crd, crds: dict[str, dict[str, Any]]) -> None:
    for version in crds[fact.name]["spec"]["versions"]:
        columns = version.get("additionalPrinterColumns", [])
        assert tuple(c["name"] for c in columns) == fact.columns, version["name"]
        for column in columns:
            assert (column["jsonPath"], column["type"]) == COLUMN_FIELDS[column["name"]]
            assert column["description"].strip()
            assert set(column) <= {"name", "type", "jsonPath", "description", "format", "priority"}


def structural_problems(schema: Mapping[str, Any], path: str = "") -> Iterator[str]:
    """Why ``schema`` is not a structural schema (Kubernetes CRD rules), as messages; none if it is."""
    allowed_types = {"object", "array", "string", "integer", "number", "boolean"}
    if schema.get("type") not in allowed_types:
        yield f"{path or '<root>'}: no type"
    for forbidden in ("$ref", "definitions", "dependencies", "patternProperties", "id", "$schema"):
        if forbidden in schema:
            yield f"{path}: {forbidden} is not allowed"
    if "properties" in schema and "additionalProperties" in schema:
        yield f"{path}: properties and additionalProperties are mutually exclusive"
    if schema.get("type") == "array" and "items" not in schema:
        yield f"{path}: array without items"
    for name, child in (schema.get("properties") or {}).items():
        yield from structural_problems(child, f"{path}.{name}")
    if isinstance(schema.get("additionalProperties"), Mapping):
        yield from structural_problems(schema["additionalProperties"], f"{path}.*")
    if isinstance(schema.get("items"), Mapping):
        yield from structural_problems(schema["items"], f"{path}[]")


@pytest.mark.parametrize("fact", CRDS, ids=lambda crd: crd.kind)
def test_crd_schema_is_structural_and_keeps_spec_and_status_open(fact: Crd, crds: dict[str, dict[str, Any]]) -> None:
    for version in crds[fact.name]["spec"]["versions"]:
        schema = version["schema"]["openAPIV3Schema"]
        assert list(structural_problems(schema)) == []
        assert schema["type"] == "object"
        # The root may only constrain what the API server allows; apiVersion, kind and metadata stay implicit.
        assert set(schema["properties"]) == {"spec", "status"}
        assert not schema.get("x-kubernetes-preserve-unknown-fields")
        for field in ("spec", "status"):
            assert schema["properties"][field]["type"] == "object"
            assert schema["properties"][field]["x-kubernetes-preserve-unknown-fields"] is True


@pytest.mark.parametrize("k8s_version", KUBERNETES_VERSIONS)
def test_every_default_object_validates_strictly(k8s_version: str, default_objects: list[dict[str, Any]]) -> None:
    for obj in default_objects:
        kubernetes_validate.validate(obj, k8s_version, strict=True)


def test_output_order_is_crds_by_name_then_the_service_account(default_objects: list[dict[str, Any]]) -> None:
    names = [(obj["kind"], obj["metadata"]["name"]) for obj in default_objects]
    crd_names = sorted(crd.name for crd in CRDS)
    assert names == [("CustomResourceDefinition", name) for name in crd_names] + [
        ("ServiceAccount", "istio-reader-service-account")
    ]


def expected_common_labels(namespace: str = "istio-system", owner: str = "unknown") -> dict[str, str]:
    """The label block every base object carries (templates.md "Labels"; membership of the shared base set)."""
    return {
        "app.kubernetes.io/managed-by": "meshctl",
        "app.kubernetes.io/instance": "istio",
        "app.kubernetes.io/part-of": "istio",
        "app.kubernetes.io/version": "1.30.3",
        "helm.sh/chart": "base-1.30.3",
        "operator.istio.io/component": "Base",
        "install.operator.istio.io/owning-resource": owner,
        "applyset.kubernetes.io/part-of": objects.applyset_id("meshctl-base", namespace),
    }


def test_every_object_carries_the_common_labels(default_objects: list[dict[str, Any]]) -> None:
    common = expected_common_labels()
    for obj in default_objects:
        labels = obj["metadata"]["labels"]
        assert {key: labels.get(key) for key in common} == common, obj["metadata"]["name"]


@pytest.mark.parametrize("fact", CRDS, ids=lambda crd: crd.kind)
def test_crd_labels_are_only_the_common_block(fact: Crd, crds: dict[str, dict[str, Any]]) -> None:
    # Upstream's source labels (app=istio-pilot, chart=istio, heritage=Tiller, ...) are replaced by the label block.
    assert crds[fact.name]["metadata"]["labels"] == expected_common_labels()


# --------------------------------------------------------------------------------------------------------------
# Profiles and revisions (reference §1.4: base is on in every profile but empty)


@pytest.mark.parametrize("profile", ["default", "demo", "minimal", "preview", "remote", "stable", "ambient"])
def test_base_renders_the_same_16_objects_in_every_profile(profile: str) -> None:
    objs = render_base(profile=profile)
    assert sorted(crd.name for crd in CRDS) == sorted(
        obj["metadata"]["name"] for obj in objs if obj["kind"] == "CustomResourceDefinition"
    )
    assert len(objs) == 16


def test_empty_profile_renders_no_base_objects() -> None:
    assert render_base(profile="empty") == []


def test_a_revision_does_not_rename_base_objects(default_objects: list[dict[str, Any]]) -> None:
    revisioned = render_base({"revision": "canary"})
    assert [obj["metadata"]["name"] for obj in revisioned] == [obj["metadata"]["name"] for obj in default_objects]
    # The base set is shared by every revision: same membership ID as without a revision.
    assert revisioned == default_objects


# --------------------------------------------------------------------------------------------------------------
# CRD switches (reference §2.1)


@pytest.mark.parametrize("switch", ["enableCRDTemplates", "enableIstioConfigCRDs"])
def test_crd_switches_leave_out_every_crd(switch: str) -> None:
    objects = render_base({"base": {switch: False}})
    assert [obj["kind"] for obj in objects] == ["ServiceAccount"]


def test_excluded_crds_are_left_out_by_full_name() -> None:
    excluded = ["wasmplugins.extensions.istio.io", "envoyfilters.networking.istio.io"]
    crds = by_kind(render_base({"base": {"excludedCRDs": excluded}}), "CustomResourceDefinition")
    assert sorted(crds) == sorted(crd.name for crd in CRDS if crd.name not in excluded)


# --------------------------------------------------------------------------------------------------------------
# Reader ServiceAccount (reference §2.1 row 16)


def test_reader_service_account(default_objects: list[dict[str, Any]]) -> None:
    account = by_kind(default_objects, "ServiceAccount")["istio-reader-service-account"]
    assert account["apiVersion"] == "v1"
    assert account["metadata"]["namespace"] == "istio-system"
    labels = account["metadata"]["labels"]
    assert labels["app"] == "istio-reader"
    assert labels["app.kubernetes.io/name"] == "istio-reader"
    assert labels["release"] == "istio"
    assert "imagePullSecrets" not in account


def test_reader_service_account_follows_the_istio_namespace() -> None:
    account = by_kind(render_base({"global": {"istioNamespace": "mesh"}}), "ServiceAccount")[
        "istio-reader-service-account"
    ]
    assert account["metadata"]["namespace"] == "mesh"
    assert account["metadata"]["labels"] == {
        **expected_common_labels(namespace="mesh"),
        "app": "istio-reader",
        "app.kubernetes.io/name": "istio-reader",
        "release": "istio",
    }


@pytest.mark.parametrize(
    "global_values",
    [{"enableReaderRBAC": False}, {"resourceScope": "cluster"}],
    ids=["reader-rbac-off", "cluster-scope-only"],
)
def test_reader_service_account_is_left_out(global_values: dict[str, Any]) -> None:
    # Inventory §0.1: the SA renders when resourceScope is all/namespace and enableReaderRBAC is not false.
    objects = render_base({"global": global_values})
    assert not by_kind(objects, "ServiceAccount")
    assert len(objects) == 15


def test_reader_service_account_renders_for_a_namespace_scope() -> None:
    assert "istio-reader-service-account" in by_kind(render_base({"global": {"resourceScope": "namespace"}}),
                                                      "ServiceAccount")  # fmt: skip


def test_reader_service_account_image_pull_secrets() -> None:
    objects = render_base({"global": {"imagePullSecrets": ["registry-a", {"name": "registry-b"}]}})
    account = by_kind(objects, "ServiceAccount")["istio-reader-service-account"]
    assert account["imagePullSecrets"] == [{"name": "registry-a"}, {"name": "registry-b"}]
    kubernetes_validate.validate(account, KUBERNETES_VERSIONS[0], strict=True)


# --------------------------------------------------------------------------------------------------------------
# istiod-default-validator (reference §2.1, rules as §2.2.6)


def test_no_default_validator_without_a_default_revision(default_objects: list[dict[str, Any]]) -> None:
    assert not by_kind(default_objects, "ValidatingWebhookConfiguration")


@pytest.mark.parametrize(("default_revision", "service"), [("default", "istiod"), ("canary", "istiod-canary")])
def test_default_validator(default_revision: str, service: str) -> None:
    objects = render_base({"defaultRevision": default_revision})
    assert len(objects) == 17
    config = by_kind(objects, "ValidatingWebhookConfiguration")["istiod-default-validator"]
    assert "namespace" not in config["metadata"]
    assert config["metadata"]["labels"]["istio.io/rev"] == default_revision
    [webhook] = config["webhooks"]
    assert webhook["name"] == "validation.istio.io"
    assert webhook["clientConfig"] == {"service": {"name": service, "namespace": "istio-system", "path": "/validate"}}
    assert webhook["rules"] == [
        {"operations": ["CREATE", "UPDATE"], "apiGroups": ISTIO_GROUPS, "apiVersions": ["*"], "resources": ["*"]}
    ]
    assert webhook["failurePolicy"] == "Ignore"
    assert webhook["sideEffects"] == "None"
    assert webhook["admissionReviewVersions"] == ["v1"]
    assert "objectSelector" not in webhook
    assert "namespaceSelector" not in webhook
    for k8s_version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(config, k8s_version, strict=True)


@pytest.mark.parametrize(
    ("base_values", "client_config", "failure_policy"),
    [
        (
            {"validationURL": "https://istiod.example:15017/validate"},
            {"url": "https://istiod.example:15017/validate"},
            "Ignore",
        ),
        (
            {"validationURL": "https://istiod.example/validate", "validationCABundle": "Q0E="},
            {"url": "https://istiod.example/validate", "caBundle": "Q0E="},
            "Fail",
        ),
        (
            {"validationFailurePolicy": "Fail"},
            {"service": {"name": "istiod", "namespace": "istio-system", "path": "/validate"}},
            "Fail",
        ),
        (
            {"validationCABundle": "Q0E=", "validationFailurePolicy": "Ignore"},
            {"service": {"name": "istiod", "namespace": "istio-system", "path": "/validate"}, "caBundle": "Q0E="},
            "Ignore",
        ),
    ],
    ids=["url", "url-with-ca-bundle", "failure-policy", "explicit-policy-beats-ca-bundle"],
)
def test_default_validator_endpoint_and_failure_policy(
    base_values: dict[str, Any], client_config: dict[str, Any], failure_policy: str
) -> None:
    objects = render_base({"defaultRevision": "default", "base": base_values})
    [webhook] = by_kind(objects, "ValidatingWebhookConfiguration")["istiod-default-validator"]["webhooks"]
    assert webhook["clientConfig"] == client_config
    assert webhook["failurePolicy"] == failure_policy
    kubernetes_validate.validate(
        by_kind(objects, "ValidatingWebhookConfiguration")["istiod-default-validator"],
        KUBERNETES_VERSIONS[0],
        strict=True,
    )


# --------------------------------------------------------------------------------------------------------------
# Stable-channel default policy (reference §2.1 and §1.4 "stable")


@pytest.mark.parametrize(
    "values",
    [
        {"experimental": {"stableValidationPolicy": True}},  # the stable profile under istioctl: no default revision
        {"defaultRevision": "default"},
    ],
    ids=["no-default-revision", "policy-off"],
)
def test_no_stable_default_policy_without_both_settings(values: dict[str, Any]) -> None:
    objects = render_base(values)
    assert not by_kind(objects, "ValidatingAdmissionPolicy")
    assert not by_kind(objects, "ValidatingAdmissionPolicyBinding")


def test_stable_default_policy_and_binding() -> None:
    objects = render_base({"defaultRevision": "default", "experimental": {"stableValidationPolicy": True}})
    assert len(objects) == 19
    policy = by_kind(objects, "ValidatingAdmissionPolicy")["stable-channel-default-policy.istio.io"]
    binding = by_kind(objects, "ValidatingAdmissionPolicyBinding")["stable-channel-default-policy-binding.istio.io"]
    spec = policy["spec"]
    assert spec["failurePolicy"] == "Fail"
    [rule] = spec["matchConstraints"]["resourceRules"]
    assert sorted(rule["apiGroups"]) == sorted(ISTIO_GROUPS)
    assert rule["operations"] == ["CREATE", "UPDATE"]
    # Objects of a named revision are that revision's istiod's business; this policy covers the unlabelled rest.
    assert spec["matchConstraints"]["objectSelector"] == {
        "matchExpressions": [{"key": "istio.io/rev", "operator": "DoesNotExist"}]
    }
    expressions = " ".join(v["expression"] for v in spec["validations"])
    for rejected in ("EnvoyFilter", "WasmPlugin", "ProxyConfig", "Telemetry", "trustDomains", "notTrustDomains"):
        assert rejected in expressions
    assert all(v["message"] for v in spec["validations"])
    assert binding["spec"] == {"policyName": "stable-channel-default-policy.istio.io", "validationActions": ["Deny"]}
    for k8s_version in KUBERNETES_VERSIONS:
        kubernetes_validate.validate(policy, k8s_version, strict=True)
        kubernetes_validate.validate(binding, k8s_version, strict=True)
