"""Facts of the pilot (istiod) component, object by object.

The tables below are written from ``../shared/reference/istio-manifest-inventory.md`` §2.0, §2.2 and §4 (not from
any golden file), so a template change that breaks a fact fails here even if a golden was refreshed along with it.
Where the reference records an upstream quirk (nulls, empty lists), the clean object is asserted instead.
Every render goes through the full pipeline (configuration engine, templates, k8s settings, labels), so the facts
hold for what ``manifest generate`` prints and ``install`` applies.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml

from meshctl import objects
from tests.unit.facts.helpers import KUBERNETES_VERSIONS, render_iop, the

REPO = Path(__file__).resolve().parents[3]
MANIFESTS = REPO / "manifests"
PILOT = MANIFESTS / "pilot"
NS = "istio-system"
# The default render validates against every supported Kubernetes version, the feature renders against the two ends.
K8S_ENDS = (KUBERNETES_VERSIONS[0], KUBERNETES_VERSIONS[-1])

Objects = list[dict[str, Any]]


# --------------------------------------------------------------------------------------------------------------
# Rendering


def render(
    values: Mapping[str, Any] | None = None,
    *,
    revision: str = "",
    namespace: str | None = None,
    profile: str = "default",
    component: Mapping[str, Any] | None = None,
) -> Objects:
    """The pilot component's objects through the full pipeline, from an IstioOperator with these settings.

    ``component`` is the IstioOperator's ``components.pilot`` entry (hub, tag, k8s, …).
    """
    spec: dict[str, Any] = {"profile": profile, "values": dict(values or {})}
    if revision:
        spec["revision"] = revision
    pilot: dict[str, Any] = dict(component or {})
    if namespace:
        pilot["namespace"] = namespace
    if pilot:
        spec["components"] = {"pilot": pilot}
    return render_iop(spec, ["Pilot"])


@pytest.fixture(scope="module")
def default() -> Objects:
    return render()


def ids(objs: Objects) -> set[tuple[str, str]]:
    return {(o["kind"], o["metadata"]["name"]) for o in objs}


def container(deployment: Mapping[str, Any]) -> dict[str, Any]:
    containers = deployment["spec"]["template"]["spec"]["containers"]
    assert [c["name"] for c in containers] == ["discovery"]
    return containers[0]


def env_of(deployment: Mapping[str, Any]) -> list[dict[str, Any]]:
    return container(deployment)["env"]


def env_names(deployment: Mapping[str, Any]) -> list[str]:
    return [e["name"] for e in env_of(deployment)]


def env_value(deployment: Mapping[str, Any], name: str) -> Any:
    return next(e for e in env_of(deployment) if e["name"] == name).get("value")


def rule_table(rules: list[Mapping[str, Any]]) -> dict[tuple[str, str], set[str]]:
    """(apiGroup, resource) → verbs, the union over every rule that names the pair."""
    table: dict[tuple[str, str], set[str]] = {}
    for rule in rules:
        assert rule.get("verbs"), rule
        for group in rule["apiGroups"]:
            for resource in rule["resources"]:
                table.setdefault((group, resource), set()).update(rule["verbs"])
    return table


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from walk(item, f"{path}[{index}]")


@functools.cache
def validate_once(obj_json: str, version: str) -> None:
    """Validation is slow; most objects are identical across the feature renders, so each is validated once."""
    kubernetes_validate.validate(json.loads(obj_json), version, strict=True)


def assert_valid(objs: Objects, versions: tuple[str, ...] = K8S_ENDS) -> None:
    """Strict schema validation (Kubernetes 1.32 and the newest), and no null fields anywhere (clean objects)."""
    for obj in objs:
        for version in versions:
            validate_once(json.dumps(obj, sort_keys=True), version)
        nulls = [path for path, value in walk(obj) if value is None]
        assert not nulls, f"{obj['kind']} {obj['metadata']['name']} has null fields: {nulls}"


def matchexprs(selector: Mapping[str, Any]) -> list[tuple[str, str, tuple[str, ...]]]:
    return [(e["key"], e["operator"], tuple(e.get("values", ()))) for e in selector["matchExpressions"]]


# --------------------------------------------------------------------------------------------------------------
# Fact tables (reference §2.2)

ISTIO_GROUPS = (
    "config.istio.io", "security.istio.io", "networking.istio.io", "authentication.istio.io", "rbac.istio.io",
    "telemetry.istio.io", "extensions.istio.io",
)  # fmt: skip
READ = {"get", "list", "watch"}
CRUD = {"get", "list", "watch", "create", "update", "patch", "delete"}
MCS = "multicluster.x-k8s.io"

DEFAULT_OBJECTS = {
    ("ServiceAccount", "istiod"),
    ("ClusterRole", "istiod-clusterrole-istio-system"),
    ("ClusterRole", "istiod-gateway-controller-istio-system"),
    ("ClusterRole", "istio-reader-clusterrole-istio-system"),
    ("ClusterRoleBinding", "istiod-clusterrole-istio-system"),
    ("ClusterRoleBinding", "istiod-gateway-controller-istio-system"),
    ("ClusterRoleBinding", "istio-reader-clusterrole-istio-system"),
    ("ValidatingWebhookConfiguration", "istio-validator-istio-system"),
    ("ConfigMap", "istio"),
    ("ConfigMap", "istio-sidecar-injector"),
    ("ConfigMap", "values"),
    ("MutatingWebhookConfiguration", "istio-sidecar-injector"),
    ("Deployment", "istiod"),
    ("Role", "istiod"),
    ("RoleBinding", "istiod"),
    ("HorizontalPodAutoscaler", "istiod"),
    ("Service", "istiod"),
}
CLUSTER_SCOPED = {
    "ClusterRole",
    "ClusterRoleBinding",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
    "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding",
}
API_VERSIONS = {
    "ServiceAccount": "v1", "ConfigMap": "v1", "Service": "v1",
    "ClusterRole": "rbac.authorization.k8s.io/v1", "ClusterRoleBinding": "rbac.authorization.k8s.io/v1",
    "Role": "rbac.authorization.k8s.io/v1", "RoleBinding": "rbac.authorization.k8s.io/v1",
    "ValidatingWebhookConfiguration": "admissionregistration.k8s.io/v1",
    "MutatingWebhookConfiguration": "admissionregistration.k8s.io/v1",
    "Deployment": "apps/v1", "HorizontalPodAutoscaler": "autoscaling/v2",
}  # fmt: skip

# Object-specific labels (§2.0, §2.2.1, §2.2.3, §2.2.5, §2.2.6); the pipeline adds the common block.
ISTIOD_LABELS = {"app": "istiod", "release": "istio", "istio.io/rev": "default", "app.kubernetes.io/name": "istiod"}
LABELS = {
    ("ServiceAccount", "istiod"): ISTIOD_LABELS,
    ("Deployment", "istiod"): {**ISTIOD_LABELS, "istio": "pilot"},
    ("Service", "istiod"): {**ISTIOD_LABELS, "istio": "pilot"},
    ("ValidatingWebhookConfiguration", "istio-validator-istio-system"): {
        "app": "istiod", "istio": "istiod", "istio.io/rev": "default",
    },
    ("MutatingWebhookConfiguration", "istio-sidecar-injector"): {"app": "sidecar-injector", "istio.io/rev": "default"},
    ("ClusterRole", "istio-reader-clusterrole-istio-system"): {"app": "istio-reader", "release": "istio"},
}  # fmt: skip

DEPLOYMENT_ARGS = [
    "discovery", "--monitoringAddr=:15014", "--log_output_level=default:info", "--domain", "cluster.local",
    "--keepaliveMaxServerConnectionAge", "30m",
]  # fmt: skip
CONTAINER_PORTS = [
    ("http-debug", 8080), ("grpc-xds", 15010), ("tls-xds", 15012), ("https-webhooks", 15017),
    ("http-monitoring", 15014),
]  # fmt: skip
# (name, value or fieldRef path), in the reference order.
DEFAULT_ENV = [
    ("REVISION", "default"),
    ("PILOT_CERT_PROVIDER", "istiod"),
    ("POD_NAME", "fieldRef:metadata.name"),
    ("POD_NAMESPACE", "fieldRef:metadata.namespace"),
    ("SERVICE_ACCOUNT", "fieldRef:spec.serviceAccountName"),
    ("KUBECONFIG", "/var/run/secrets/remote/config"),
    ("CA_TRUSTED_NODE_ACCOUNTS", "istio-system/ztunnel"),
    ("PILOT_TRACE_SAMPLING", "1"),
    ("PILOT_ENABLE_ANALYSIS", "false"),
    ("CLUSTER_ID", "Kubernetes"),
    ("GOMAXPROCS", "resourceFieldRef:limits.cpu/1"),  # inventory §0.1: 1.30.3 sets it, between CLUSTER_ID and PLATFORM
    ("PLATFORM", ""),
]
# volume name → (source kind, source facts, mountPath, readOnly)
VOLUMES = {
    "istio-token": ("projected", None, "/var/run/secrets/tokens", True),
    "local-certs": ("emptyDir", {"medium": "Memory"}, "/var/run/secrets/istio-dns", False),
    "cacerts": ("secret", {"secretName": "cacerts", "optional": True}, "/etc/cacerts", True),
    "istio-kubeconfig": ("secret", {"secretName": "istio-kubeconfig", "optional": True}, "/var/run/secrets/remote",
                         True),
    "istio-csr-dns-cert": ("secret", {"secretName": "istiod-tls", "optional": True}, "/var/run/secrets/istiod/tls",
                           True),
    "istio-csr-ca-configmap": ("configMap", {"name": "istio-ca-root-cert", "defaultMode": 420, "optional": True},
                               "/var/run/secrets/istiod/ca", True),
}  # fmt: skip
SERVICE_PORTS = [
    ("grpc-xds", 15010, 15010), ("https-dns", 15012, 15012), ("https-webhook", 443, 15017),
    ("http-monitoring", 15014, 15014),
]  # fmt: skip

# §2.2.4: (apiGroup, resource) → verbs that must be granted.
ISTIOD_CLUSTER_RULES: dict[tuple[str, str], set[str]] = {
    ("admissionregistration.k8s.io", "mutatingwebhookconfigurations"): {"get", "list", "watch", "update", "patch"},
    ("admissionregistration.k8s.io", "validatingwebhookconfigurations"): {"get", "list", "watch", "update"},
    **{(group, "*"): READ for group in ISTIO_GROUPS},
    ("networking.istio.io", "workloadentries"): CRUD,
    ("networking.istio.io", "workloadentries/status"): CRUD,
    ("networking.istio.io", "serviceentries/status"): CRUD,
    ("security.istio.io", "authorizationpolicies/status"): CRUD,
    ("", "services/status"): CRUD,
    ("apiextensions.k8s.io", "customresourcedefinitions"): READ,
    **{("", resource): READ for resource in ("pods", "nodes", "services", "namespaces", "endpoints")},
    ("discovery.k8s.io", "endpointslices"): READ,
    ("networking.k8s.io", "ingresses"): READ,
    ("networking.k8s.io", "ingressclasses"): READ,
    ("networking.k8s.io", "ingresses/status"): {"*"},
    ("", "configmaps"): {"create", "get", "list", "watch", "update"},
    ("authentication.k8s.io", "tokenreviews"): {"create"},
    ("authorization.k8s.io", "subjectaccessreviews"): {"create"},
    ("gateway.networking.k8s.io", "*"): READ,
    ("gateway.networking.x-k8s.io", "*"): READ,
    ("gateway.networking.x-k8s.io", "xbackendtrafficpolicies/status"): {"update", "patch"},
    **{
        ("gateway.networking.k8s.io", f"{kind}/status"): {"update", "patch"}
        for kind in ("backendtlspolicies", "gatewayclasses", "gateways", "grpcroutes", "httproutes",
                     "referencegrants", "tcproutes", "tlsroutes", "udproutes", "listenersets")
    },
    ("gateway.networking.k8s.io", "gatewayclasses"): {"create", "update", "patch", "delete"},
    ("inference.networking.k8s.io", "inferencepools"): READ,
    ("inference.networking.k8s.io", "inferencepools/status"): {"update", "patch"},
    ("", "secrets"): READ,
    (MCS, "serviceexports"): READ | {"create", "delete"},
    (MCS, "serviceimports"): READ,
}  # fmt: skip
GATEWAY_CONTROLLER_RULES = {
    ("apps", "deployments"): CRUD,
    ("autoscaling", "horizontalpodautoscalers"): CRUD,
    ("policy", "poddisruptionbudgets"): CRUD,
    ("", "services"): CRUD,
    ("", "serviceaccounts"): CRUD,
}
READER_RULES: dict[tuple[str, str], set[str]] = {
    **{(group, "*"): READ for group in ISTIO_GROUPS},
    **{("", resource): READ for resource in ("endpoints", "pods", "services", "nodes", "replicationcontrollers",
                                             "namespaces", "secrets", "configmaps")},
    ("networking.istio.io", "workloadentries"): READ,
    ("networking.x-k8s.io", "gateways"): READ,
    ("gateway.networking.k8s.io", "gateways"): READ,
    ("apiextensions.k8s.io", "customresourcedefinitions"): READ,
    ("discovery.k8s.io", "endpointslices"): READ,
    (MCS, "serviceexports"): READ | {"create", "delete"},
    (MCS, "serviceimports"): READ,
    ("apps", "replicasets"): READ,
    ("authentication.k8s.io", "tokenreviews"): {"create"},
    ("authorization.k8s.io", "subjectaccessreviews"): {"create"},
}  # fmt: skip
ROLE_RULES = {
    ("networking.istio.io", "gateways"): {"create"},
    ("", "secrets"): {"create", "get", "watch", "list", "update", "delete"},
    ("", "configmaps"): {"delete"},
    ("coordination.k8s.io", "leases"): {"get", "update", "patch", "create"},
}

# §2.2.5: webhook name → (namespaceSelector, objectSelector) for the default revision.
NOT_FALSE = ("sidecar.istio.io/inject", "NotIn", ("false",))
DEFAULT_INJECTOR_WEBHOOKS = {
    "rev.namespace.sidecar-injector.istio.io": (
        [("istio.io/rev", "In", ("default",)), ("istio-injection", "DoesNotExist", ())],
        [NOT_FALSE],
    ),
    "rev.object.sidecar-injector.istio.io": (
        [("istio.io/rev", "DoesNotExist", ()), ("istio-injection", "DoesNotExist", ())],
        [NOT_FALSE, ("istio.io/rev", "In", ("default",))],
    ),
    "namespace.sidecar-injector.istio.io": ([("istio-injection", "In", ("enabled",))], [NOT_FALSE]),
    "object.sidecar-injector.istio.io": (
        [("istio-injection", "DoesNotExist", ()), ("istio.io/rev", "DoesNotExist", ())],
        [("sidecar.istio.io/inject", "In", ("true",)), ("istio.io/rev", "DoesNotExist", ())],
    ),
}


# --------------------------------------------------------------------------------------------------------------
# The default render: 17 objects


def test_default_object_set(default: Objects) -> None:
    assert len(default) == 17
    assert ids(default) == DEFAULT_OBJECTS


@pytest.mark.parametrize("k8s_version", KUBERNETES_VERSIONS)
def test_default_objects_validate_strictly_and_are_clean(default: Objects, k8s_version: str) -> None:
    assert_valid(default, (k8s_version,))


@pytest.mark.parametrize(("kind", "name"), sorted(DEFAULT_OBJECTS))
def test_api_version_and_namespace(default: Objects, kind: str, name: str) -> None:
    obj = the(default, kind, name)
    assert obj["apiVersion"] == API_VERSIONS[kind]
    if kind in CLUSTER_SCOPED:
        assert "namespace" not in obj["metadata"]
    else:
        assert obj["metadata"]["namespace"] == NS


@pytest.mark.parametrize(("kind", "name"), sorted(DEFAULT_OBJECTS))
def test_object_labels(default: Objects, kind: str, name: str) -> None:
    labels = the(default, kind, name)["metadata"]["labels"]
    expected = LABELS.get((kind, name), {"istio.io/rev": "default"})
    assert {key: labels.get(key) for key in expected} == expected


def test_service_account(default: Objects) -> None:
    sa = the(default, "ServiceAccount", "istiod")
    assert "imagePullSecrets" not in sa
    assert "annotations" not in sa["metadata"]
    with_extras = render(
        {"global": {"imagePullSecrets": ["regcred"]}, "pilot": {"serviceAccountAnnotations": {"iam": "role"}}}
    )
    sa = the(with_extras, "ServiceAccount", "istiod")
    assert sa["imagePullSecrets"] == [{"name": "regcred"}]
    assert sa["metadata"]["annotations"] == {"iam": "role"}


# --- RBAC ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "facts"),
    [
        ("istiod-clusterrole-istio-system", ISTIOD_CLUSTER_RULES),
        ("istiod-gateway-controller-istio-system", GATEWAY_CONTROLLER_RULES),
        ("istio-reader-clusterrole-istio-system", READER_RULES),
    ],
)
def test_cluster_role_rules(default: Objects, name: str, facts: dict[tuple[str, str], set[str]]) -> None:
    table = rule_table(the(default, "ClusterRole", name)["rules"])
    for key, verbs in facts.items():
        assert verbs <= table.get(key, set()), f"{name}: {key} grants {table.get(key)}, needs {verbs}"
    # Nothing beyond the reference on a default render (conditional rules stay off).
    assert set(table) == set(facts)


def test_istiod_cluster_role_grants_no_writes_beyond_the_reference(default: Objects) -> None:
    table = rule_table(the(default, "ClusterRole", "istiod-clusterrole-istio-system")["rules"])
    for key, verbs in table.items():
        assert verbs == ISTIOD_CLUSTER_RULES[key], key


@pytest.mark.parametrize(
    ("name", "account", "account_ns"),
    [
        ("istiod-clusterrole-istio-system", "istiod", NS),
        ("istiod-gateway-controller-istio-system", "istiod", NS),
        ("istio-reader-clusterrole-istio-system", "istio-reader-service-account", NS),
    ],
)
def test_cluster_role_bindings(default: Objects, name: str, account: str, account_ns: str) -> None:
    binding = the(default, "ClusterRoleBinding", name)
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": account, "namespace": account_ns}]


def test_role_and_binding(default: Objects) -> None:
    role = the(default, "Role", "istiod")
    assert rule_table(role["rules"]) == ROLE_RULES
    binding = the(default, "RoleBinding", "istiod")
    assert binding["metadata"]["namespace"] == NS
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "istiod"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "istiod", "namespace": NS}]


def test_conditional_cluster_role_rules() -> None:
    objs = render({
        "global": {"istiod": {"enableAnalysis": True}, "pilotCertProvider": "kubernetes",
                   "certSigners": ["example.com/signer"]},
        "pilot": {"taint": {"enabled": True}, "env": {"ENABLE_CLUSTER_TRUST_BUNDLE_API": "true",
                                                      "MCS_API_GROUP": "mcs.example.com"}},
    })  # fmt: skip
    table = rule_table(the(objs, "ClusterRole", "istiod-clusterrole-istio-system")["rules"])
    assert "update" in table[("networking.istio.io", "*/status")]
    assert {"create", "get", "watch"} <= table[("certificates.k8s.io", "certificatesigningrequests")]
    assert table[("certificates.k8s.io", "signers")] >= {"approve"}
    assert {"create", "get", "list"} <= table[("certificates.k8s.io", "clustertrustbundles")]
    assert "patch" in table[("", "nodes")]
    assert ("mcs.example.com", "serviceexports") in table
    assert (MCS, "serviceexports") not in table
    assert_valid(objs)


def test_gateway_controller_and_reader_switches() -> None:
    objs = render(
        {
            "pilot": {"env": {"PILOT_ENABLE_GATEWAY_API_DEPLOYMENT_CONTROLLER": "false"}},
            "global": {"enableReaderRBAC": False},
        }
    )
    names = ids(objs)
    for kind in ("ClusterRole", "ClusterRoleBinding"):
        assert (kind, "istiod-gateway-controller-istio-system") not in names
        assert (kind, "istio-reader-clusterrole-istio-system") not in names
        assert (kind, "istiod-clusterrole-istio-system") in names


# --- Webhooks --------------------------------------------------------------------------------------------------


def test_validating_webhook(default: Objects) -> None:
    vwc = the(default, "ValidatingWebhookConfiguration", "istio-validator-istio-system")
    [hook] = vwc["webhooks"]
    assert hook["name"] == "rev.validation.istio.io"
    assert hook["clientConfig"] == {"service": {"name": "istiod", "namespace": NS, "path": "/validate"}}
    assert hook["rules"] == [{
        "operations": ["CREATE", "UPDATE"],
        "apiGroups": ["security.istio.io", "networking.istio.io", "telemetry.istio.io", "extensions.istio.io"],
        "apiVersions": ["*"],
        "resources": ["*"],
    }]  # fmt: skip
    assert hook["failurePolicy"] == "Ignore"
    assert hook["sideEffects"] == "None"
    assert hook["admissionReviewVersions"] == ["v1"]
    assert matchexprs(hook["objectSelector"]) == [("istio.io/rev", "In", ("default",))]
    assert "namespaceSelector" not in hook


def test_validating_webhook_settings() -> None:
    objs = render({"base": {"validationURL": "https://istiod.example:15017/validate", "validationCABundle": "Q0E="}})
    [hook] = the(objs, "ValidatingWebhookConfiguration", "istio-validator-istio-system")["webhooks"]
    assert hook["clientConfig"] == {"url": "https://istiod.example:15017/validate", "caBundle": "Q0E="}
    assert hook["failurePolicy"] == "Fail"
    objs = render({"base": {"validationFailurePolicy": "Fail"}})
    [hook] = the(objs, "ValidatingWebhookConfiguration", "istio-validator-istio-system")["webhooks"]
    assert hook["failurePolicy"] == "Fail"
    assert ("ValidatingWebhookConfiguration", "istio-validator-istio-system") not in ids(
        render({"global": {"configValidation": False}})
    )


def test_mutating_webhook(default: Objects) -> None:
    mwc = the(default, "MutatingWebhookConfiguration", "istio-sidecar-injector")
    hooks = {hook["name"]: hook for hook in mwc["webhooks"]}
    assert list(hooks) == list(DEFAULT_INJECTOR_WEBHOOKS)
    for name, (ns_selector, obj_selector) in DEFAULT_INJECTOR_WEBHOOKS.items():
        hook = hooks[name]
        assert matchexprs(hook["namespaceSelector"]) == ns_selector, name
        assert matchexprs(hook["objectSelector"]) == obj_selector, name
        assert hook["clientConfig"] == {"service": {"name": "istiod", "namespace": NS, "path": "/inject", "port": 443}}
        assert hook["rules"] == [
            {"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}
        ]
        assert hook["failurePolicy"] == "Fail"
        assert hook["sideEffects"] == "None"
        assert hook["reinvocationPolicy"] == "Never"
        assert hook["admissionReviewVersions"] == ["v1"]


def test_mutating_webhook_settings() -> None:
    objs = render({
        "sidecarInjectorWebhook": {"enableNamespacesByDefault": True, "reinvocationPolicy": "IfNeeded"},
        "istiodRemote": {"injectionURL": "https://istiod.example:15017/inject", "injectionCABundle": "Q0E="},
    })  # fmt: skip
    hooks = {h["name"]: h for h in the(objs, "MutatingWebhookConfiguration", "istio-sidecar-injector")["webhooks"]}
    auto = hooks["auto.sidecar-injector.istio.io"]
    assert matchexprs(auto["namespaceSelector"]) == [
        ("istio-injection", "DoesNotExist", ()),
        ("istio.io/rev", "DoesNotExist", ()),
        ("kubernetes.io/metadata.name", "NotIn", ("kube-system", "kube-public", "kube-node-lease",
                                                  "local-path-storage")),
    ]  # fmt: skip
    assert matchexprs(auto["objectSelector"]) == [
        ("sidecar.istio.io/inject", "DoesNotExist", ()),
        ("istio.io/rev", "DoesNotExist", ()),
    ]
    for hook in hooks.values():
        assert hook["clientConfig"] == {"url": "https://istiod.example:15017/inject", "caBundle": "Q0E="}
        assert hook["reinvocationPolicy"] == "IfNeeded"
    assert_valid(objs)
    assert not [
        o for o in render({"global": {"operatorManageWebhooks": True}}) if o["kind"] == "MutatingWebhookConfiguration"
    ]


# --- ConfigMaps ------------------------------------------------------------------------------------------------


def mesh_of(objs: Objects, name: str = "istio") -> dict[str, Any]:
    return yaml.safe_load(the(objs, "ConfigMap", name)["data"]["mesh"])


def test_mesh_config_map(default: Objects) -> None:
    cm = the(default, "ConfigMap", "istio")
    assert set(cm["data"]) == {"mesh", "meshNetworks"}
    assert yaml.safe_load(cm["data"]["meshNetworks"]) == {"networks": {}}
    assert mesh_of(default) == {
        "defaultConfig": {"discoveryAddress": "istiod.istio-system.svc:15012"},
        "defaultProviders": {"metrics": ["prometheus"]},
        "enablePrometheusMerge": True,
        "rootNamespace": "istio-system",
        "trustDomain": "cluster.local",
    }


def test_mesh_config_merge() -> None:
    """§4 #5: user keys added, the user's discoveryAddress replaces the computed one, defaults kept."""
    user = {
        "enablePrometheusMerge": False,
        "rootNamespace": "istio-control",
        "outboundTrafficPolicy": {"mode": "REGISTRY_ONLY"},
        "defaultConfig": {"discoveryAddress": "my-discovery:123", "drainDuration": "12s",
                          "controlPlaneAuthPolicy": "NONE"},
        "accessLogFormat": "[%START_TIME%] \"%REQ(:METHOD)%\"\n%RESPONSE_CODE%\n",
    }  # fmt: skip
    mesh = mesh_of(render({"meshConfig": user}))
    assert mesh["defaultConfig"] == user["defaultConfig"]
    assert mesh["outboundTrafficPolicy"] == {"mode": "REGISTRY_ONLY"}
    assert mesh["accessLogFormat"] == user["accessLogFormat"]
    assert mesh["rootNamespace"] == "istio-control"
    assert mesh["enablePrometheusMerge"] is False
    assert mesh["defaultProviders"] == {"metrics": ["prometheus"]}
    assert mesh["trustDomain"] == "cluster.local"


def test_mesh_config_conditional_keys() -> None:
    mesh = mesh_of(
        render(
            {
                "global": {
                    "meshID": "mesh1",
                    "variant": "distroless",
                    "proxy": {"tracer": "zipkin"},
                    "meshNetworks": {"net1": {"endpoints": []}},
                }
            }
        )
    )
    assert mesh["defaultConfig"]["meshId"] == "mesh1"
    assert mesh["defaultConfig"]["image"] == {"imageType": "distroless"}
    assert mesh["defaultConfig"]["tracing"] == {"zipkin": {"address": "zipkin.istio-system:9411"}}
    mesh = mesh_of(render({"global": {"proxy": {"tracer": "datadog"}}}))
    assert mesh["defaultConfig"]["tracing"] == {"datadog": {"address": "$(HOST_IP):8126"}}
    mesh = mesh_of(render({"global": {"proxy": {"tracer": "stackdriver"}}}))
    assert set(mesh["defaultConfig"]["tracing"]["stackdriver"]) >= {"debug", "maxNumberOfAttributes"}
    assert mesh["defaultProviders"]["accessLogging"] == ["stackdriver"]
    # §4 #6: tracer none (the default) writes no tracing.
    assert "tracing" not in mesh_of(render({"global": {"proxy": {"tracer": "none"}}}))["defaultConfig"]
    # A user list of default providers replaces the computed one; no telemetry, no default metrics provider.
    assert mesh_of(render({"meshConfig": {"defaultProviders": {"tracing": ["x"]}}}))["defaultProviders"] == {
        "tracing": ["x"]
    }
    assert "defaultProviders" not in mesh_of(render({"telemetry": {"enabled": False}}))
    networks = the(render({"global": {"meshNetworks": {"net1": {"endpoints": []}}}}), "ConfigMap", "istio")
    assert yaml.safe_load(networks["data"]["meshNetworks"]) == {"networks": {"net1": {"endpoints": []}}}


def test_mesh_config_root_namespace_from_install_package_path_golden() -> None:
    """§4 #1: hub, tag and rootNamespace."""
    objs = render(
        {
            "global": {"hub": "registry.istio.io/release", "tag": "1.1.4"},
            "meshConfig": {"rootNamespace": "istio-control"},
        }
    )
    assert container(the(objs, "Deployment", "istiod"))["image"] == "registry.istio.io/release/pilot:1.1.4"
    assert mesh_of(objs)["rootNamespace"] == "istio-control"


def injector_files() -> dict[str, str]:
    return {
        name: (PILOT / "files" / f"injection-{name}.yaml").read_text(encoding="utf-8")
        for name in ("sidecar", "gateway")
    }


def test_sidecar_injector_config_map(default: Objects) -> None:
    cm = the(default, "ConfigMap", "istio-sidecar-injector")
    assert set(cm["data"]) == {"values", "config"}
    values = json.loads(cm["data"]["values"])
    assert set(values) >= {"global", "sidecarInjectorWebhook", "revision", "pilot", "gateways"}
    assert set(values["pilot"]) == {"cni", "env"}
    assert set(values["gateways"]) == {"securityContext", "seccompProfile"}
    assert values["revision"] == ""
    assert values["global"]["proxy"]["image"] == "proxyv2"
    config = yaml.safe_load(cm["data"]["config"])
    assert list(config) == [
        "defaultTemplates",
        "policy",
        "alwaysInjectSelector",
        "neverInjectSelector",
        "injectedAnnotations",
        "template",
        "templates",
    ]
    assert config["defaultTemplates"] == ["sidecar"]
    assert config["policy"] == "enabled"
    assert config["alwaysInjectSelector"] == []
    assert config["neverInjectSelector"] == []
    assert config["injectedAnnotations"] == {}
    # The placeholder must not be a usable template: it calls a function istiod does not have.
    assert config["template"].startswith("{{")
    assert config["template"].endswith("}}")
    assert list(config["templates"]) == ["sidecar", "gateway"]
    # Inserted as plain strings, never rendered by meshctl's own template engine.
    assert config["templates"] == injector_files()


def test_sidecar_injector_user_templates() -> None:
    """§4 #11: defaultTemplates replaced, a user template appended after the built-ins."""
    extra = "spec:\n  containers:\n  - name: istio-proxy\n    volumeMounts:\n    - name: creds\n      mountPath: /c\n"
    webhook = {"defaultTemplates": ["sidecar", "credential-volume"], "templates": {"credential-volume": extra}}
    cm = the(render({"sidecarInjectorWebhook": webhook}), "ConfigMap", "istio-sidecar-injector")
    config = yaml.safe_load(cm["data"]["config"])
    assert config["defaultTemplates"] == ["sidecar", "credential-volume"]
    assert list(config["templates"]) == ["sidecar", "gateway", "credential-volume"]
    assert config["templates"]["credential-volume"] == extra
    values = json.loads(cm["data"]["values"])
    assert values["sidecarInjectorWebhook"]["defaultTemplates"] == ["sidecar", "credential-volume"]
    assert values["sidecarInjectorWebhook"]["templates"] == {"credential-volume": extra}
    # A user template with a built-in's name replaces it in place.
    cm = the(
        render({"sidecarInjectorWebhook": {"templates": {"gateway": "x: 1\n"}}}), "ConfigMap", "istio-sidecar-injector"
    )
    assert yaml.safe_load(cm["data"]["config"])["templates"]["gateway"] == "x: 1\n"
    assert not [
        o
        for o in render({"global": {"omitSidecarInjectorConfigMap": True}})
        if o["metadata"]["name"] == "istio-sidecar-injector" and o["kind"] == "ConfigMap"
    ]


def test_values_config_map(default: Objects) -> None:
    cm = the(default, "ConfigMap", "values")
    assert set(cm["data"]) == {"original-values", "merged-values"}
    assert cm["metadata"]["annotations"]["kubernetes.io/description"]
    merged = json.loads(cm["data"]["merged-values"])
    assert merged["global"]["istioNamespace"] == NS
    assert merged["pilot"]["autoscaleMin"] == 1
    assert isinstance(json.loads(cm["data"]["original-values"]), dict)


# --- Deployment ------------------------------------------------------------------------------------------------


def test_deployment_metadata_and_pod(default: Objects) -> None:
    dep = the(default, "Deployment", "istiod")
    spec = dep["spec"]
    assert "replicas" not in spec  # autoscaling owns the count
    assert spec["strategy"] == {"rollingUpdate": {"maxSurge": "100%", "maxUnavailable": "25%"}}
    assert spec["selector"] == {"matchLabels": {"istio": "pilot"}} or spec["selector"] == {
        "matchLabels": {"app": "istiod", "istio": "pilot"}
    }
    assert spec["selector"]["matchLabels"]["istio"] == "pilot"
    pod = spec["template"]
    labels = pod["metadata"]["labels"]
    for key, value in {
        "app": "istiod", "istio": "pilot", "istio.io/rev": "default", "sidecar.istio.io/inject": "false",
        "istio.io/dataplane-mode": "none", "operator.istio.io/component": "Pilot",
        "install.operator.istio.io/owning-resource": "unknown", "app.kubernetes.io/name": "istiod",
    }.items():  # fmt: skip
        assert labels[key] == value, key
    assert set(spec["selector"]["matchLabels"].items()) <= set(labels.items())
    assert pod["metadata"]["annotations"] == {
        "prometheus.io/port": "15014", "prometheus.io/scrape": "true", "sidecar.istio.io/inject": "false",
    }  # fmt: skip
    pod_spec = pod["spec"]
    assert pod_spec["serviceAccountName"] == "istiod"
    assert pod_spec["tolerations"] == [{"key": "cni.istio.io/not-ready", "operator": "Exists"}]
    for absent in ("nodeSelector", "affinity", "topologySpreadConstraints", "priorityClassName", "initContainers"):
        assert absent not in pod_spec, absent


def test_deployment_container(default: Objects) -> None:
    c = container(the(default, "Deployment", "istiod"))
    assert c["image"] == "docker.io/istio/pilot:1.30.3"
    assert c["args"] == DEPLOYMENT_ARGS
    assert [(p["name"], p["containerPort"]) for p in c["ports"]] == CONTAINER_PORTS
    assert {p.get("protocol", "TCP") for p in c["ports"]} == {"TCP"}
    assert c["readinessProbe"] == {
        "httpGet": {"path": "/ready", "port": 8080}, "initialDelaySeconds": 1, "periodSeconds": 3,
        "timeoutSeconds": 5,
    }  # fmt: skip
    assert "livenessProbe" not in c
    assert "startupProbe" not in c
    assert c["resources"] == {"requests": {"cpu": "500m", "memory": "2048Mi"}}
    assert c["securityContext"] == {
        "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "runAsNonRoot": True,
        "capabilities": {"drop": ["ALL"]},
    }  # fmt: skip


def test_deployment_env_order_and_values(default: Objects) -> None:
    env = env_of(the(default, "Deployment", "istiod"))
    actual = []
    for item in env:
        if "valueFrom" in item and "resourceFieldRef" in item["valueFrom"]:
            ref = item["valueFrom"]["resourceFieldRef"]
            assert set(ref) == {"resource", "divisor"}  # no containerName
            actual.append((item["name"], f"resourceFieldRef:{ref['resource']}/{ref['divisor']}"))
        elif "valueFrom" in item:
            ref = item["valueFrom"]["fieldRef"]
            assert ref["apiVersion"] == "v1"
            actual.append((item["name"], f"fieldRef:{ref['fieldPath']}"))
        else:
            actual.append((item["name"], item["value"]))
    assert actual == DEFAULT_ENV


def test_deployment_volumes_and_mounts(default: Objects) -> None:
    dep = the(default, "Deployment", "istiod")
    volumes = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["name"]: m for m in container(dep)["volumeMounts"]}
    assert set(volumes) == set(VOLUMES) == set(mounts)
    for name, (source, facts, path, read_only) in VOLUMES.items():
        assert set(volumes[name]) == {"name", source}, name
        if facts is not None:
            assert volumes[name][source] == facts, name
        assert mounts[name]["mountPath"] == path
        assert mounts[name].get("readOnly", False) is read_only, name
    [token] = volumes["istio-token"]["projected"]["sources"]
    assert token == {"serviceAccountToken": {"audience": "istio-ca", "expirationSeconds": 43200, "path": "istio-token"}}


def test_deployment_values_driven_settings() -> None:
    pod_values = {
        "autoscaleEnabled": False, "replicaCount": 3, "rollingMaxSurge": 1, "rollingMaxUnavailable": "30%",
        "deploymentLabels": {"team": "mesh"}, "podLabels": {"tier": "control"}, "podAnnotations": {"a": "b"},
        "nodeSelector": {"node-name": "test"}, "tolerations": [{"key": "k", "operator": "Exists",
                                                                 "effect": "NoSchedule"}],
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a"]}]}]}}},
        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "DoNotSchedule",
                                       "labelSelector": {"matchLabels": {"app": "istiod"}}}],
        "extraContainerArgs": ["--foo=bar"], "keepaliveMaxServerConnectionAge": "60m",
        "seccompProfile": {"type": "RuntimeDefault"},
        "volumes": [{"name": "extra", "emptyDir": {}}], "volumeMounts": [{"name": "extra", "mountPath": "/x"}],
        "traceSampling": 100.0, "resources": {"requests": {"cpu": "222m", "memory": "333Mi"}},
    }  # fmt: skip
    objs = render(
        {"pilot": pod_values, "global": {"priorityClassName": "high", "logAsJson": True, "imagePullPolicy": "Always"}}
    )
    assert_valid(objs)
    dep = the(objs, "Deployment", "istiod")
    spec = dep["spec"]
    assert spec["replicas"] == 3
    assert spec["strategy"]["rollingUpdate"] == {"maxSurge": 1, "maxUnavailable": "30%"}
    assert dep["metadata"]["labels"]["team"] == "mesh"
    assert spec["template"]["metadata"]["labels"]["tier"] == "control"
    assert spec["template"]["metadata"]["annotations"]["a"] == "b"
    pod = spec["template"]["spec"]
    assert pod["nodeSelector"] == {"node-name": "test"}
    assert pod["tolerations"] == [{"key": "cni.istio.io/not-ready", "operator": "Exists"}, *pod_values["tolerations"]]
    assert pod["affinity"] == pod_values["affinity"]
    assert pod["topologySpreadConstraints"] == pod_values["topologySpreadConstraints"]
    assert pod["priorityClassName"] == "high"
    c = container(dep)
    assert c["imagePullPolicy"] == "Always"
    assert "--log_as_json" in c["args"]
    assert c["args"][-3:] == ["--keepaliveMaxServerConnectionAge", "60m", "--foo=bar"]
    assert c["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "terminationMessagePolicy" not in c  # inventory §0.1: 1.30.3 renders none
    assert c["resources"] == {"requests": {"cpu": "222m", "memory": "333Mi"}}
    assert {"name": "extra", "emptyDir": {}} in pod["volumes"]
    assert {"name": "extra", "mountPath": "/x"} in c["volumeMounts"]
    assert env_value(dep, "PILOT_TRACE_SAMPLING") == "100"
    assert ("HorizontalPodAutoscaler", "istiod") not in ids(objs)
    assert ("PodDisruptionBudget", "istiod") in ids(objs)


def test_deployment_image() -> None:
    """§2.2.1: component hub/tag and the variant; a full image reference is used as is."""
    dep = the(
        render({"global": {"variant": "distroless"}}, component={"hub": "component.pilot.hub", "tag": "2"}),
        "Deployment",
        "istiod",
    )
    assert container(dep)["image"] == "component.pilot.hub/pilot:2-distroless"
    dep = the(render({"pilot": {"image": "example.com/istio/pilot:custom"}}), "Deployment", "istiod")
    assert container(dep)["image"] == "example.com/istio/pilot:custom"


def test_resources_fall_back_to_global_defaults() -> None:
    dep = the(
        render({"pilot": {"resources": {"requests": {"cpu": "", "memory": ""}, "limits": {}}}}), "Deployment", "istiod"
    )
    assert container(dep)["resources"] == {"requests": {"cpu": "10m"}}
    # Values maps merge: an unset memory keeps the chart's 2048Mi; an empty one is dropped.
    dep = the(render({"pilot": {"resources": {"requests": {"cpu": "1"}}}}), "Deployment", "istiod")
    assert container(dep)["resources"] == {"requests": {"cpu": "1", "memory": "2048Mi"}}
    dep = the(
        render({"pilot": {"resources": {"requests": {"cpu": "1", "memory": ""}, "limits": {"cpu": "2"}}}}),
        "Deployment",
        "istiod",
    )
    assert container(dep)["resources"] == {"requests": {"cpu": "1"}, "limits": {"cpu": "2"}}


def test_env_map_sorted_then_env_var_from() -> None:
    """§2.2.1 and §4 #13: pilot.env sorted by key after CA_TRUSTED_NODE_ACCOUNTS, then envVarFrom, then the rest."""
    var_from = [{"name": "FAKE_ENV_NAME", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}]
    dep = the(
        render(
            {"pilot": {"env": {"ZED": "z", "ALPHA": "true", "PILOT_ENABLE_AMBIENT": "true"}, "envVarFrom": var_from}}
        ),
        "Deployment",
        "istiod",
    )
    names = env_names(dep)
    start = names.index("CA_TRUSTED_NODE_ACCOUNTS") + 1
    assert names[start : start + 5] == ["ALPHA", "PILOT_ENABLE_AMBIENT", "ZED", "FAKE_ENV_NAME", "PILOT_TRACE_SAMPLING"]
    assert env_value(dep, "ALPHA") == "true"
    assert env_of(dep)[start + 3] == var_from[0]
    # A pilot.env entry replaces a fixed variable of the same name instead of duplicating it.
    dep = the(render({"pilot": {"env": {"PILOT_ENABLE_ANALYSIS": "true"}}}), "Deployment", "istiod")
    assert env_names(dep).count("PILOT_ENABLE_ANALYSIS") == 1
    assert env_value(dep, "PILOT_ENABLE_ANALYSIS") == "true"


def test_optional_env_and_args() -> None:
    objs = render({
        "pilot": {"taint": {"enabled": True, "namespace": "istio-cni"}, "env": {"COMPLIANCE_POLICY": "fips-140-3"},
                  "trustedZtunnelNamespace": "kube-system"},
        "global": {"externalIstiod": True, "trustBundleName": "trust-bundle", "crlConfigMapName": "crl",
                   "multiCluster": {"clusterName": "east"}, "platform": "openshift", "pilotCertProvider": "custom"},
    })  # fmt: skip
    assert_valid(objs)
    dep = the(objs, "Deployment", "istiod")
    assert "--cniNamespace=istio-cni" in container(dep)["args"]
    names = env_names(dep)
    tail = [
        "PILOT_TRACE_SAMPLING",
        "PILOT_ENABLE_NODE_UNTAINT_CONTROLLERS",
        "PILOT_NODE_UNTAINT_CONTROLLERS_TAINT_NAME",
        "EXTERNAL_ISTIOD",
        "PILOT_CA_CERT_CONFIGMAP",
        "PILOT_CRL_CONFIGMAP",
        "PILOT_ENABLE_ANALYSIS",
        "CLUSTER_ID",
        "GOMAXPROCS",
        "PLATFORM",
    ]
    assert names[-len(tail) :] == tail
    # Inventory §0.1: 1.30.3 never adds GODEBUG=fips140=only; the sorted pilot.env is followed by the rest.
    assert "GODEBUG" not in names
    assert names[names.index("COMPLIANCE_POLICY") + 1] == "PILOT_TRACE_SAMPLING"
    assert env_value(dep, "PILOT_CERT_PROVIDER") == "custom"
    assert env_value(dep, "CA_TRUSTED_NODE_ACCOUNTS") == "kube-system/ztunnel"
    assert env_value(dep, "PILOT_CA_CERT_CONFIGMAP") == "trust-bundle"
    assert env_value(dep, "PILOT_CRL_CONFIGMAP") == "crl"
    assert env_value(dep, "CLUSTER_ID") == "east"
    assert env_value(dep, "PLATFORM") == "openshift"


def test_cluster_trust_bundle_projection() -> None:
    dep = the(render({"pilot": {"env": {"ENABLE_CLUSTER_TRUST_BUNDLE_API": "true"}}}), "Deployment", "istiod")
    volume = next(v for v in dep["spec"]["template"]["spec"]["volumes"] if v["name"] == "istio-csr-ca-configmap")
    [source] = volume["projected"]["sources"]
    assert set(source) == {"clusterTrustBundle"}


def test_component_namespace() -> None:
    """§4 #2 and #4: namespaced objects move; CA_TRUSTED_NODE_ACCOUNTS and the MWC name follow the namespace."""
    objs = render(namespace="istio-control")
    for obj in objs:
        if obj["kind"] not in CLUSTER_SCOPED:
            assert obj["metadata"]["namespace"] == "istio-control", obj["kind"]
    assert env_value(the(objs, "Deployment", "istiod"), "CA_TRUSTED_NODE_ACCOUNTS") == "istio-control/ztunnel"
    mwc = the(objs, "MutatingWebhookConfiguration", "istio-sidecar-injector-istio-control")
    assert {h["clientConfig"]["service"]["namespace"] for h in mwc["webhooks"]} == {"istio-control"}
    assert mesh_of(objs)["defaultConfig"]["discoveryAddress"] == "istiod.istio-control.svc:15012"


# --- Service, HPA, PDB, NetworkPolicy --------------------------------------------------------------------------


def test_service(default: Objects) -> None:
    svc = the(default, "Service", "istiod")
    spec = svc["spec"]
    assert "type" not in spec  # ClusterIP, the field is not written
    assert [(p["name"], p["port"], p.get("targetPort", p["port"])) for p in spec["ports"]] == SERVICE_PORTS
    assert {p["protocol"] for p in spec["ports"]} == {"TCP"}
    assert spec["selector"] == {"app": "istiod", "istio": "pilot"}
    assert "annotations" not in svc["metadata"]
    objs = render(
        {
            "pilot": {
                "ipFamilyPolicy": "PreferDualStack",
                "ipFamilies": ["IPv4", "IPv6"],
                "trafficDistribution": "PreferClose",
                "serviceAnnotations": {"a": "b"},
            }
        }
    )
    svc = the(objs, "Service", "istiod")
    assert svc["spec"]["ipFamilyPolicy"] == "PreferDualStack"
    assert svc["spec"]["ipFamilies"] == ["IPv4", "IPv6"]
    assert svc["spec"]["trafficDistribution"] == "PreferClose"
    assert svc["metadata"]["annotations"] == {"a": "b"}
    assert_valid(objs)


def test_hpa(default: Objects) -> None:
    hpa = the(default, "HorizontalPodAutoscaler", "istiod")["spec"]
    assert hpa["minReplicas"] == 1
    assert hpa["maxReplicas"] == 5
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "istiod"}
    assert hpa["metrics"] == [
        {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}}}
    ]
    assert "behavior" not in hpa


def test_hpa_memory_metric_and_behavior() -> None:
    """§4 #7: cpu and memory at 90 give two Resource metrics."""
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 300}}
    objs = render(
        {
            "pilot": {
                "cpu": {"targetAverageUtilization": 90},
                "memory": {"targetAverageUtilization": 90},
                "autoscaleBehavior": behavior,
            }
        }
    )
    hpa = the(objs, "HorizontalPodAutoscaler", "istiod")["spec"]
    assert [(m["type"], m["resource"]["name"], m["resource"]["target"]) for m in hpa["metrics"]] == [
        ("Resource", "cpu", {"type": "Utilization", "averageUtilization": 90}),
        ("Resource", "memory", {"type": "Utilization", "averageUtilization": 90}),
    ]
    assert hpa["behavior"] == behavior
    assert_valid(objs)


def test_pdb_with_autoscale_min_2() -> None:
    """§2.2.8 and §4 #3/#8: min 2 renders the PDB (minAvailable 1, never a null), HPA min 2 / max 8."""
    objs = render({"pilot": {"autoscaleMin": 2, "autoscaleMax": 8}})
    assert_valid(objs)
    pdb = the(objs, "PodDisruptionBudget", "istiod")
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["metadata"]["namespace"] == NS
    assert pdb["spec"] == {"minAvailable": 1, "selector": {"matchLabels": {"app": "istiod", "istio": "pilot"}}}
    hpa = the(objs, "HorizontalPodAutoscaler", "istiod")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 8)
    pdb = the(
        render(
            {"pilot": {"autoscaleMin": 2, "pdb": {"maxUnavailable": 1, "unhealthyPodEvictionPolicy": "AlwaysAllow"}}}
        ),
        "PodDisruptionBudget",
        "istiod",
    )
    assert pdb["spec"]["maxUnavailable"] == 1
    assert "minAvailable" not in pdb["spec"]
    assert pdb["spec"]["unhealthyPodEvictionPolicy"] == "AlwaysAllow"


@pytest.mark.parametrize(
    "pilot",
    [
        {},
        {"autoscaleEnabled": False, "replicaCount": 1},
    ],
)
def test_no_pdb_with_one_replica(pilot: dict[str, Any]) -> None:
    assert ("PodDisruptionBudget", "istiod") not in ids(render({"pilot": pilot}))


def test_no_pdb_when_disabled_globally() -> None:
    objs = render({"pilot": {"autoscaleMin": 2}, "global": {"defaultPodDisruptionBudget": {"enabled": False}}})
    assert ("PodDisruptionBudget", "istiod") not in ids(objs)


def test_network_policy() -> None:
    """§2.2.8 and §4 #12."""
    assert ("NetworkPolicy", "istiod") not in ids(render())
    objs = render({"global": {"networkPolicy": {"enabled": True}}})
    assert_valid(objs)
    spec = the(objs, "NetworkPolicy", "istiod")["spec"]
    assert spec["podSelector"] == {"matchLabels": {"app": "istiod", "istio.io/rev": "default"}}
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    ports = [[(p["protocol"], p["port"]) for p in rule["ports"]] for rule in spec["ingress"]]
    assert ports == [[("TCP", 15017)], [("TCP", 15010), ("TCP", 15011), ("TCP", 15012), ("TCP", 8080), ("TCP", 15014)]]
    assert spec["egress"] == [{}]


# --- Conditional ConfigMaps, revision tags ---------------------------------------------------------------------


def test_jwks_extra_root_ca() -> None:
    pem = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    objs = render({"pilot": {"jwksResolverExtraRootCA": pem}})
    assert_valid(objs)
    assert the(objs, "ConfigMap", "pilot-jwks-extra-cacerts")["data"] == {"extra.pem": pem}
    dep = the(objs, "Deployment", "istiod")
    volume = next(v for v in dep["spec"]["template"]["spec"]["volumes"] if v["name"] == "extracacerts")
    assert volume["configMap"]["name"] == "pilot-jwks-extra-cacerts"
    assert {"name": "extracacerts", "mountPath": "/cacerts"} in container(dep)["volumeMounts"]


def test_gateway_class_config_maps() -> None:
    classes = {"istio": {"service": {"spec": {"type": "ClusterIP"}}, "deployment": {"spec": {"replicas": 2}}}}
    objs = render({"gatewayClasses": classes})
    assert_valid(objs)
    cm = the(objs, "ConfigMap", "istio-default-gatewayclass-istio")
    assert cm["metadata"]["labels"]["gateway.istio.io/defaults-for-class"] == "istio"
    assert {kind: yaml.safe_load(text) for kind, text in cm["data"].items()} == classes["istio"]
    assert ("ConfigMap", "istio-canary-gatewayclass-istio") in ids(
        render({"gatewayClasses": classes}, revision="canary")
    )


def test_revision_tags() -> None:
    objs = render({"revisionTags": ["prod", "default"]}, revision="canary")
    assert_valid(objs)
    for tag in ("prod", "default"):
        mwc = the(objs, "MutatingWebhookConfiguration", f"istio-revision-tag-{tag}")
        assert mwc["metadata"]["labels"]["istio.io/tag"] == tag
        hooks = {h["name"]: h for h in mwc["webhooks"]}
        assert matchexprs(hooks["rev.namespace.sidecar-injector.istio.io"]["namespaceSelector"])[0] == (
            "istio.io/rev",
            "In",
            (tag,),
        )
        assert {h["clientConfig"]["service"]["name"] for h in hooks.values()} == {"istiod-canary"}
        svc = the(objs, "Service", f"istiod-revision-tag-{tag}")
        assert svc["metadata"]["labels"]["istio.io/tag"] == tag
        assert svc["spec"]["selector"] == {"app": "istiod", "istio.io/rev": "canary"}
    tagged = {h["name"] for h in the(objs, "MutatingWebhookConfiguration", "istio-revision-tag-default")["webhooks"]}
    assert {"namespace.sidecar-injector.istio.io", "object.sidecar-injector.istio.io"} <= tagged
    prod = {h["name"] for h in the(objs, "MutatingWebhookConfiguration", "istio-revision-tag-prod")["webhooks"]}
    assert prod == {"rev.namespace.sidecar-injector.istio.io", "rev.object.sidecar-injector.istio.io"}


# --- Revision naming -------------------------------------------------------------------------------------------


def test_revision_naming() -> None:
    """§2.0: with revision=canary, names, selectors and webhooks carry the revision."""
    objs = render(revision="canary")
    assert_valid(objs)
    assert ids(objs) == {
        ("ServiceAccount", "istiod-canary"),
        ("ClusterRole", "istiod-clusterrole-canary-istio-system"),
        ("ClusterRole", "istiod-gateway-controller-canary-istio-system"),
        ("ClusterRole", "istio-reader-clusterrole-canary-istio-system"),
        ("ClusterRoleBinding", "istiod-clusterrole-canary-istio-system"),
        ("ClusterRoleBinding", "istiod-gateway-controller-canary-istio-system"),
        ("ClusterRoleBinding", "istio-reader-clusterrole-canary-istio-system"),
        ("ValidatingWebhookConfiguration", "istio-validator-canary-istio-system"),
        ("ConfigMap", "istio-canary"),
        ("ConfigMap", "istio-sidecar-injector-canary"),
        ("ConfigMap", "values-canary"),
        ("MutatingWebhookConfiguration", "istio-sidecar-injector-canary"),
        ("Deployment", "istiod-canary"),
        ("Role", "istiod-canary"),
        ("RoleBinding", "istiod-canary"),
        ("HorizontalPodAutoscaler", "istiod-canary"),
        ("Service", "istiod-canary"),
    }
    for obj in objs:
        assert obj["metadata"]["labels"]["istio.io/rev"] == "canary", obj["kind"]
    dep = the(objs, "Deployment", "istiod-canary")
    selector = {"app": "istiod", "istio.io/rev": "canary"}
    assert dep["spec"]["selector"] == {"matchLabels": selector}
    pod_labels = dep["spec"]["template"]["metadata"]["labels"]
    assert pod_labels["istio"] == "istiod"
    assert pod_labels["istio.io/rev"] == "canary"
    assert dep["spec"]["template"]["spec"]["serviceAccountName"] == "istiod-canary"
    assert env_value(dep, "REVISION") == "canary"
    assert the(objs, "Service", "istiod-canary")["spec"]["selector"] == selector
    assert the(objs, "HorizontalPodAutoscaler", "istiod-canary")["spec"]["scaleTargetRef"]["name"] == "istiod-canary"
    assert the(objs, "RoleBinding", "istiod-canary")["subjects"][0]["name"] == "istiod-canary"
    assert the(objs, "ClusterRoleBinding", "istiod-clusterrole-canary-istio-system")["subjects"][0]["name"] == (
        "istiod-canary"
    )
    hooks = the(objs, "MutatingWebhookConfiguration", "istio-sidecar-injector-canary")["webhooks"]
    assert [h["name"] for h in hooks] == [
        "rev.namespace.sidecar-injector.istio.io",
        "rev.object.sidecar-injector.istio.io",
    ]
    assert matchexprs(hooks[0]["namespaceSelector"])[0] == ("istio.io/rev", "In", ("canary",))
    assert matchexprs(hooks[1]["objectSelector"])[1] == ("istio.io/rev", "In", ("canary",))
    assert {h["clientConfig"]["service"]["name"] for h in hooks} == {"istiod-canary"}
    [vhook] = the(objs, "ValidatingWebhookConfiguration", "istio-validator-canary-istio-system")["webhooks"]
    assert vhook["clientConfig"]["service"]["name"] == "istiod-canary"
    assert matchexprs(vhook["objectSelector"]) == [("istio.io/rev", "In", ("canary",))]
    assert mesh_of(objs, "istio-canary")["defaultConfig"]["discoveryAddress"] == "istiod-canary.istio-system.svc:15012"
    injector = the(objs, "ConfigMap", "istio-sidecar-injector-canary")
    assert json.loads(injector["data"]["values"])["revision"] == "canary"
    pdb = the(render({"pilot": {"autoscaleMin": 2}}, revision="canary"), "PodDisruptionBudget", "istiod-canary")
    assert pdb["spec"]["selector"] == {"matchLabels": selector}


# --- Stable profile: ValidatingAdmissionPolicy -----------------------------------------------------------------


def test_stable_validation_policy() -> None:
    objs = render({"experimental": {"stableValidationPolicy": True}})
    assert_valid(objs)
    assert len(objs) == 19
    policy = the(objs, "ValidatingAdmissionPolicy", "stable-channel-policy-istio-system.istio.io")
    assert policy["apiVersion"] == "admissionregistration.k8s.io/v1"
    spec = policy["spec"]
    assert spec["failurePolicy"] == "Fail"
    [rule] = spec["matchConstraints"]["resourceRules"]
    assert set(rule["apiGroups"]) == {
        "security.istio.io",
        "networking.istio.io",
        "telemetry.istio.io",
        "extensions.istio.io",
    }
    expressions = " ".join(v["expression"] for v in spec["validations"])
    for needle in ("EnvoyFilter", "WasmPlugin", "ProxyConfig", "Telemetry", "trustDomains", "notTrustDomains"):
        assert needle in expressions, needle
    binding = the(objs, "ValidatingAdmissionPolicyBinding", "stable-channel-policy-binding-istio-system.istio.io")
    assert binding["spec"] == {
        "policyName": "stable-channel-policy-istio-system.istio.io",
        "validationActions": ["Deny"],
    }
    assert not [o for o in render() if o["kind"].startswith("ValidatingAdmissionPolicy")]


# --- Remote profile --------------------------------------------------------------------------------------------


def test_remote_object_set() -> None:
    """§1.4: pilot renders 4 objects under the remote profile: MWC, values, reader ClusterRole and binding."""
    objs = render(profile="remote")
    assert_valid(objs)
    assert ids(objs) == {
        ("MutatingWebhookConfiguration", "istio-sidecar-injector"),
        ("ConfigMap", "values"),
        ("ClusterRole", "istio-reader-clusterrole-istio-system"),
        ("ClusterRoleBinding", "istio-reader-clusterrole-istio-system"),
    }
    table = rule_table(the(objs, "ClusterRole", "istio-reader-clusterrole-istio-system")["rules"])
    assert table[("", "configmaps")] >= {"create", "get", "list", "watch", "update"}
    for resource in ("mutatingwebhookconfigurations", "validatingwebhookconfigurations"):
        assert table[("admissionregistration.k8s.io", resource)] >= {"get", "list", "watch", "update"}


def test_remote_with_pilot_ip_address() -> None:
    objs = render(
        {"global": {"remotePilotAddress": "10.0.0.7", "omitSidecarInjectorConfigMap": False}}, profile="remote"
    )
    assert_valid(objs)
    assert len(objs) == 7
    svc = the(objs, "Service", "istiod")
    assert "selector" not in svc["spec"]
    assert {p["port"] for p in svc["spec"]["ports"]} == {15012, 443}
    slice_ = the(objs, "EndpointSlice", "istiod")
    assert slice_["metadata"]["labels"]["kubernetes.io/service-name"] == "istiod"
    assert slice_["addressType"] == "IPv4"
    assert slice_["endpoints"] == [{"addresses": ["10.0.0.7"]}]
    assert ("ConfigMap", "istio-sidecar-injector") in ids(objs)


def test_remote_with_pilot_host_name() -> None:
    objs = render({"global": {"remotePilotAddress": "istiod.example.com"}}, profile="remote")
    assert_valid(objs)
    svc = the(objs, "Service", "istiod")
    assert svc["spec"]["type"] == "ExternalName"
    assert svc["spec"]["externalName"] == "istiod.example.com"
    assert not [o for o in objs if o["kind"] == "EndpointSlice"]


# --- Resource scope --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("scope", "cluster_objects"), [("cluster", True), ("namespace", False)])
def test_resource_scope(scope: str, cluster_objects: bool) -> None:
    objs = render({"global": {"resourceScope": scope}})
    assert objs
    for obj in objs:
        assert (obj["kind"] in CLUSTER_SCOPED) is cluster_objects, obj["kind"]


# --- Through the pipeline: common labels, profiles, k8s settings -----------------------------------------------


def test_common_labels(default: Objects) -> None:
    """§2.0 and rendering.md §5: the pipeline's label block on every object, the membership label included."""
    part_of = {o["metadata"]["labels"][objects.PART_OF_LABEL] for o in default}
    assert len(part_of) == 1
    for obj in default:
        labels = obj["metadata"]["labels"]
        assert labels[objects.COMPONENT_LABEL] == "Pilot"
        assert labels[objects.MANAGED_BY_LABEL] == "meshctl"
        assert labels["install.operator.istio.io/owning-resource"] == "unknown"
        assert labels["app.kubernetes.io/part-of"] == "istio"
        assert labels["app.kubernetes.io/instance"] == "istio"
        assert labels["app.kubernetes.io/version"] == "1.30.3"
        assert labels["helm.sh/chart"] == "istiod-1.30.3"


# §1.4: pilot objects per profile (the HPA goes in demo, the VAP and binding come in stable).
PROFILE_COUNTS = {
    "default": 17, "demo": 16, "minimal": 17, "preview": 17, "stable": 19, "remote": 4, "ambient": 17,
    "openshift": 17, "openshift-ambient": 17,
}  # fmt: skip


@pytest.mark.parametrize(("profile", "count"), sorted(PROFILE_COUNTS.items()))
def test_profiles(profile: str, count: int) -> None:
    objs = render(profile=profile)
    assert len(objs) == count
    assert_valid(objs)


def test_demo_profile() -> None:
    objs = render(profile="demo")
    dep = the(objs, "Deployment", "istiod")
    assert dep["spec"]["replicas"] == 1
    assert ("HorizontalPodAutoscaler", "istiod") not in ids(objs)
    assert env_value(dep, "PILOT_TRACE_SAMPLING") == "100"
    assert container(dep)["resources"]["requests"] == {"cpu": "10m", "memory": "100Mi"}
    mesh = mesh_of(objs)
    assert mesh["accessLogFile"] == "/dev/stdout"
    assert {p["name"] for p in mesh["extensionProviders"]} >= {"otel", "skywalking", "otel-tracing", "jaeger"}


def test_ambient_and_openshift_profiles() -> None:
    objs = render(profile="ambient")
    dep = the(objs, "Deployment", "istiod")
    assert container(dep)["image"].endswith("-distroless")
    assert env_value(dep, "PILOT_ENABLE_AMBIENT") == "true"
    mesh = mesh_of(objs)
    assert mesh["defaultConfig"]["image"] == {"imageType": "distroless"}
    assert mesh["defaultConfig"]["proxyMetadata"] == {"ISTIO_META_ENABLE_HBONE": "true"}
    assert mesh["serviceScopeConfigs"][0]["scope"] == "GLOBAL"
    dep = the(render(profile="openshift"), "Deployment", "istiod")
    assert "terminationMessagePolicy" not in container(dep)  # inventory §0.1: not on any platform at 1.30.3
    assert env_value(dep, "CA_TRUSTED_NODE_ACCOUNTS") == "kube-system/ztunnel"
    assert env_value(dep, "PLATFORM") == "openshift"
    preview = mesh_of(render(profile="preview"))
    assert preview["defaultConfig"]["proxyMetadata"] == {"ISTIO_META_DNS_CAPTURE": "true"}


def test_k8s_settings() -> None:
    """§4 #2: env merged by name, probe and resources merged, nodeSelector set, the HPA spec patched."""
    k8s = {
        "env": [
            {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.myName"}}},
            {"name": "GODEBUG", "value": "gctrace=1"},
            {"name": "NEW_VAR", "value": "new_value"},
        ],
        "hpaSpec": {"maxReplicas": 333},
        "readinessProbe": {"initialDelaySeconds": 555},
        "resources": {"requests": {"memory": "999Mi"}},
        "nodeSelector": {"master": "true"},
    }
    objs = render(component={"k8s": k8s})
    assert_valid(objs)
    dep = the(objs, "Deployment", "istiod")
    pod_name = next(e for e in env_of(dep) if e["name"] == "POD_NAME")
    assert pod_name["valueFrom"]["fieldRef"]["fieldPath"] == "metadata.myName"
    assert env_names(dep).count("POD_NAME") == 1
    assert env_value(dep, "NEW_VAR") == "new_value"
    probe = container(dep)["readinessProbe"]
    assert (probe["initialDelaySeconds"], probe["periodSeconds"], probe["timeoutSeconds"]) == (555, 3, 5)
    assert container(dep)["resources"] == {"requests": {"cpu": "500m", "memory": "999Mi"}}
    assert dep["spec"]["template"]["spec"]["nodeSelector"] == {"master": "true"}
    assert the(objs, "HorizontalPodAutoscaler", "istiod")["spec"]["maxReplicas"] == 333


def test_k8s_hpa_min_patches_the_hpa_and_renders_no_pdb() -> None:
    """Inventory §0.1 (istioctl value translation): at 1.30.3 k8s.hpaSpec.minReplicas 2 patches the HPA only; the
    chart's guard still sees autoscaleMin 1, so no PDB, and the PDB setting has nothing to apply to."""
    objs = render(component={"k8s": {"hpaSpec": {"minReplicas": 2}, "podDisruptionBudget": {"maxUnavailable": 1}}})
    assert the(objs, "HorizontalPodAutoscaler", "istiod")["spec"]["minReplicas"] == 2
    assert ("PodDisruptionBudget", "istiod") not in ids(objs)


def test_k8s_pdb_on_a_rendered_pdb() -> None:
    """§4 #8: with autoscaleMin 2 the PDB renders; the user's maxUnavailable replaces minAvailable (no null)."""
    objs = render({"pilot": {"autoscaleMin": 2}}, component={"k8s": {"podDisruptionBudget": {"maxUnavailable": 1}}})
    assert_valid(objs)
    assert the(objs, "HorizontalPodAutoscaler", "istiod")["spec"]["minReplicas"] == 2
    pdb = the(objs, "PodDisruptionBudget", "istiod")["spec"]
    assert pdb["maxUnavailable"] == 1
    assert "minAvailable" not in pdb
