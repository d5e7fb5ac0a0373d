"""Facts of the ingress and egress gateways, object by object.

The tables below are written from ``../shared/reference/istio-manifest-inventory.md`` §2.3 (objects, Deployment,
Service), §1.4 (demo, ambient, openshift) and §4 (inputs that change gateways), not from any golden file, so a
template change that breaks a fact fails here even if a golden was refreshed along with it. Where the reference
records an upstream quirk (no namespace on the RoleBinding subject, ``annotations: null``, both-null node affinity),
the tests pin the clean object instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import kubernetes_validate
import kubernetes_validate.utils
import pytest

from meshctl.config import layering
from meshctl.render import pipeline, templates
from tests.unit.facts.helpers import KUBERNETES_VERSIONS, by_kind, env_table, render_iop, the

# --------------------------------------------------------------------------------------------------------------
# Fact tables (reference §2.3)


@dataclasses.dataclass(frozen=True)
class GatewayKind:
    kind: str  # ingress | egress
    name: str
    component: str
    selector: dict[str, str]
    service_type: str
    service_ports: tuple[tuple[str, int, int], ...]  # name, port, targetPort (all TCP)
    container_ports: tuple[int, ...]  # without 15090
    secret_volumes: tuple[tuple[str, str, str], ...]  # volume, secret, mount path


INGRESS = GatewayKind(
    "ingress",
    "istio-ingressgateway",
    "IngressGateways",
    {"app": "istio-ingressgateway", "istio": "ingressgateway"},
    "LoadBalancer",
    (("status-port", 15021, 15021), ("http2", 80, 8080), ("https", 443, 8443)),
    (15021, 8080, 8443),
    (
        ("ingressgateway-certs", "istio-ingressgateway-certs", "/etc/istio/ingressgateway-certs"),
        ("ingressgateway-ca-certs", "istio-ingressgateway-ca-certs", "/etc/istio/ingressgateway-ca-certs"),
    ),
)
EGRESS = GatewayKind(
    "egress",
    "istio-egressgateway",
    "EgressGateways",
    {"app": "istio-egressgateway", "istio": "egressgateway"},
    "ClusterIP",
    (("http2", 80, 8080), ("https", 443, 8443)),
    (8080, 8443),
    (
        ("egressgateway-certs", "istio-egressgateway-certs", "/etc/istio/egressgateway-certs"),
        ("egressgateway-ca-certs", "istio-egressgateway-ca-certs", "/etc/istio/egressgateway-ca-certs"),
    ),
)
KINDS = (INGRESS, EGRESS)

OBJECTS = (
    ("ServiceAccount", "{name}-service-account"),
    ("Deployment", "{name}"),
    ("Role", "{name}-sds"),
    ("RoleBinding", "{name}-sds"),
    ("HorizontalPodAutoscaler", "{name}"),
    ("Service", "{name}"),
)

ARGS = [
    "proxy",
    "router",
    "--domain",
    "$(POD_NAMESPACE).svc.cluster.local",
    "--proxyLogLevel=warning",
    "--proxyComponentLogLevel=misc:error",
    "--log_output_level=default:info",
]

# name → literal value (str), or the valueFrom source ("field:<path>", "resource:<resource>"); "{…}" filled per gateway
ENV = (
    ("PILOT_CERT_PROVIDER", "istiod"),
    ("CA_ADDR", "istiod.istio-system.svc:15012"),
    ("NODE_NAME", "field:spec.nodeName"),
    ("POD_NAME", "field:metadata.name"),
    ("POD_NAMESPACE", "field:metadata.namespace"),
    ("INSTANCE_IP", "field:status.podIP"),
    ("HOST_IP", "field:status.hostIP"),
    ("ISTIO_CPU_LIMIT", "resource:limits.cpu"),
    ("SERVICE_ACCOUNT", "field:spec.serviceAccountName"),
    ("ISTIO_META_WORKLOAD_NAME", "{name}"),
    ("ISTIO_META_OWNER", "kubernetes://apis/apps/v1/namespaces/{namespace}/deployments/{name}"),
    ("ISTIO_META_MESH_ID", "cluster.local"),
    ("TRUST_DOMAIN", "cluster.local"),
    ("ISTIO_META_UNPRIVILEGED_POD", "true"),
    ("ISTIO_META_CLUSTER_ID", "Kubernetes"),
    ("ISTIO_META_NODE_NAME", "field:spec.nodeName"),
)

# volume → (source kind, mount path, read-only)
VOLUMES = (
    ("workload-socket", "emptyDir", "/var/run/secrets/workload-spiffe-uds", False),
    ("credential-socket", "emptyDir", "/var/run/secrets/credential-uds", False),
    ("workload-certs", "emptyDir", "/var/run/secrets/workload-spiffe-credentials", False),
    ("istio-envoy", "emptyDir", "/etc/istio/proxy", False),
    ("config-volume", "configMap", "/etc/istio/config", False),
    ("istiod-ca-cert", "configMap", "/var/run/secrets/istio", False),
    ("istio-token", "projected", "/var/run/secrets/tokens", True),
    ("istio-data", "emptyDir", "/var/lib/istio/data", False),
    ("podinfo", "downwardAPI", "/etc/istio/pod", False),
)

READINESS = {
    "httpGet": {"path": "/healthz/ready", "port": 15021, "scheme": "HTTP"},
    "failureThreshold": 30,
    "initialDelaySeconds": 1,
    "periodSeconds": 2,
    "successThreshold": 1,
    "timeoutSeconds": 1,
}
RESOURCES = {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"cpu": "2000m", "memory": "1024Mi"}}
CONTAINER_SECURITY = {
    "allowPrivilegeEscalation": False,
    "privileged": False,
    "readOnlyRootFilesystem": True,
    "capabilities": {"drop": ["ALL"]},
}
POD_SECURITY = {"runAsUser": 1337, "runAsGroup": 1337, "runAsNonRoot": True}

NETWORK_POLICY = {"values": {"global": {"networkPolicy": {"enabled": True}}}}


# --------------------------------------------------------------------------------------------------------------
# Rendering: the full pipeline (configuration engine, templates, k8s settings, labels) on an IstioOperator input


def render_gateway(
    kind: GatewayKind = INGRESS,
    *,
    name: str | None = None,
    label: Mapping[str, str] | None = None,
    namespace: str | None = None,
    entry: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
    spec: Mapping[str, Any] | None = None,
    revision: str | None = None,
) -> list[dict[str, Any]]:
    """One gateway entry of ``kind`` (more IOP entry fields in ``entry``); ``settings`` go to values.gateways.<kind>."""
    gateway: dict[str, Any] = {"name": name or kind.name, "enabled": True, **(entry or {})}
    if label is not None:
        gateway["label"] = dict(label)
    if namespace is not None:
        gateway["namespace"] = namespace
    own: dict[str, Any] = {"components": {f"{kind.kind}Gateways": [gateway]}}
    if settings:
        own["values"] = {"gateways": {kind.name: dict(settings)}}
    return render_iop(templates.deep_merge(spec or {}, own), [kind.component], revision)


def proxy_container(deployment: Mapping[str, Any]) -> dict[str, Any]:
    [container] = [c for c in deployment["spec"]["template"]["spec"]["containers"] if c["name"] == "istio-proxy"]
    return container


def assert_valid(objects: list[dict[str, Any]]) -> None:
    """Strict validation at both ends of the supported range (every version: the default-render tests)."""
    for obj in objects:
        for version in (KUBERNETES_VERSIONS[0], KUBERNETES_VERSIONS[-1]):
            kubernetes_validate.validate(obj, version, strict=True)


@pytest.fixture(scope="module", params=KINDS, ids=lambda k: k.kind)
def kind(request: pytest.FixtureRequest) -> GatewayKind:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def objects(kind: GatewayKind) -> list[dict[str, Any]]:
    return render_gateway(kind)


# --------------------------------------------------------------------------------------------------------------
# Inventory and labels


def test_six_objects_per_gateway(kind: GatewayKind, objects: list[dict[str, Any]]) -> None:
    inventory = sorted((obj["kind"], obj["metadata"]["name"]) for obj in objects)
    assert inventory == sorted((k, n.format(name=kind.name)) for k, n in OBJECTS)
    for obj in objects:
        assert obj["metadata"]["namespace"] == "istio-system"


def test_object_labels(kind: GatewayKind, objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        labels = obj["metadata"]["labels"]
        assert labels.items() >= kind.selector.items(), obj["kind"]
        assert labels["release"] == "istio"
        assert labels["istio.io/rev"] == "default"
        assert labels["app.kubernetes.io/name"] == kind.name
        assert labels["operator.istio.io/component"] == kind.component
        assert labels["helm.sh/chart"] == f"istio-{kind.kind}-1.30.3"
        assert labels["app.kubernetes.io/managed-by"] == "meshctl"
        assert labels["applyset.kubernetes.io/part-of"]
        assert all(isinstance(v, str) for v in labels.values())
        assert "annotations" not in obj["metadata"], f"{obj['kind']}: no empty/null annotations"


@pytest.mark.parametrize("k8s_version", KUBERNETES_VERSIONS)
def test_every_object_validates_strictly(k8s_version: str, objects: list[dict[str, Any]]) -> None:
    for obj in objects:
        kubernetes_validate.validate(obj, k8s_version, strict=True)


# --------------------------------------------------------------------------------------------------------------
# Deployment


def test_deployment_metadata_selector_and_strategy(kind: GatewayKind, objects: list[dict[str, Any]]) -> None:
    deployment = the(objects, "Deployment", kind.name)
    assert deployment["apiVersion"] == "apps/v1"
    assert deployment["metadata"]["labels"]["istio.io/dataplane-mode"] == "none"
    spec = deployment["spec"]
    assert "replicas" not in spec, "autoscaling owns the replica count"
    assert spec["selector"] == {"matchLabels": kind.selector}
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "100%", "maxUnavailable": "25%"}}


def test_pod_labels_and_annotations(kind: GatewayKind, objects: list[dict[str, Any]]) -> None:
    meta = the(objects, "Deployment", kind.name)["spec"]["template"]["metadata"]
    labels = meta["labels"]
    assert (
        labels.items()
        >= {
            **kind.selector,
            "service.istio.io/canonical-name": kind.name,
            "service.istio.io/canonical-revision": "latest",
            "istio.io/rev": "default",
            "sidecar.istio.io/inject": "false",
            "istio.io/dataplane-mode": "none",
            "operator.istio.io/component": kind.component,
            "install.operator.istio.io/owning-resource": "unknown",
            # §2.3: the Helm-2-era labels, only in istio-system.
            "heritage": "Tiller",
            "release": "istio",
            "chart": "gateways",
        }.items()
    )
    assert meta["annotations"] == {
        "istio.io/rev": "default",
        "prometheus.io/port": "15020",
        "prometheus.io/scrape": "true",
        "prometheus.io/path": "/stats/prometheus",
        "sidecar.istio.io/inject": "false",
    }


def test_helm_pod_labels_only_in_istio_system(kind: GatewayKind) -> None:
    objects = render_gateway(kind, namespace="edge")
    labels = the(objects, "Deployment", kind.name)["spec"]["template"]["metadata"]["labels"]
    assert not {"heritage", "release", "chart"} & set(labels)
    assert labels["service.istio.io/canonical-name"] == kind.name


def test_prometheus_annotations_follow_prometheus_merge(kind: GatewayKind) -> None:
    objects = render_gateway(kind, spec={"meshConfig": {"enablePrometheusMerge": False}})
    annotations = the(objects, "Deployment", kind.name)["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"istio.io/rev": "default", "sidecar.istio.io/inject": "false"}


def test_pod_spec(kind: GatewayKind, objects: list[dict[str, Any]]) -> None:
    pod = the(objects, "Deployment", kind.name)["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == f"{kind.name}-service-account"
    assert pod["securityContext"] == POD_SECURITY
    # Upstream writes a node affinity with both terms null when nothing asks for one; the clean object has none.
    assert "affinity" not in pod
    assert "tolerations" not in pod
    assert "nodeSelector" not in pod
    assert [c["name"] for c in pod["containers"]] == ["istio-proxy"]


def test_proxy_container(kind: GatewayKind, objects: list[dict[str, Any]]) -> None:
    container = proxy_container(the(objects, "Deployment", kind.name))
    assert container["image"] == "docker.io/istio/proxyv2:1.30.3"
    assert container["args"] == ARGS
    assert container["readinessProbe"] == READINESS
    assert "livenessProbe" not in container
    assert container["resources"] == RESOURCES
    assert container["securityContext"] == CONTAINER_SECURITY
    ports = [(p["containerPort"], p["protocol"], p.get("name")) for p in container["ports"]]
    assert ports == [(port, "TCP", None) for port in kind.container_ports] + [(15090, "TCP", "http-envoy-prom")]


def test_proxy_env_in_order(kind: GatewayKind, objects: list[dict[str, Any]]) -> None:
    container = proxy_container(the(objects, "Deployment", kind.name))
    expected = [(name, value.format(name=kind.name, namespace="istio-system")) for name, value in ENV]
    assert env_table(container) == expected


def test_volumes_and_mounts(kind: GatewayKind, objects: list[dict[str, Any]]) -> None:
    deployment = the(objects, "Deployment", kind.name)
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    mounts = {m["name"]: m for m in proxy_container(deployment)["volumeMounts"]}
    expected = [(name, source, path, ro) for name, source, path, ro in VOLUMES]
    expected += [(name, "secret", path, True) for name, _, path in kind.secret_volumes]
    assert list(volumes) == [row[0] for row in expected]
    assert list(mounts) == [row[0] for row in expected]
    for name, source, path, read_only in expected:
        assert source in volumes[name], name
        assert mounts[name]["mountPath"] == path
        assert mounts[name].get("readOnly", False) is read_only, name
    assert volumes["config-volume"]["configMap"] == {"name": "istio", "optional": True}
    assert volumes["istiod-ca-cert"]["configMap"] == {"name": "istio-ca-root-cert"}
    assert volumes["istio-token"]["projected"] == {
        "sources": [
            {"serviceAccountToken": {"audience": "istio-ca", "expirationSeconds": 43200, "path": "istio-token"}}
        ]
    }
    assert volumes["podinfo"]["downwardAPI"] == {
        "items": [
            {"path": "labels", "fieldRef": {"fieldPath": "metadata.labels"}},
            {"path": "annotations", "fieldRef": {"fieldPath": "metadata.annotations"}},
        ]
    }
    for name, secret, _ in kind.secret_volumes:
        # Optional: a gateway without its legacy certificate secrets must still start.
        assert volumes[name]["secret"] == {"secretName": secret, "optional": True}


# --------------------------------------------------------------------------------------------------------------
# RBAC, autoscaling, Service


def test_service_account(kind: GatewayKind, objects: list[dict[str, Any]]) -> None:
    account = the(objects, "ServiceAccount", f"{kind.name}-service-account")
    assert "imagePullSecrets" not in account
    objects = render_gateway(kind, spec={"values": {"global": {"imagePullSecrets": ["regcred"]}}})
    account = the(objects, "ServiceAccount", f"{kind.name}-service-account")
    assert account["imagePullSecrets"] == [{"name": "regcred"}]


def test_sds_role_and_binding(kind: GatewayKind, objects: list[dict[str, Any]]) -> None:
    role = the(objects, "Role", f"{kind.name}-sds")
    assert role["rules"] == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get", "watch", "list"]}]
    binding = the(objects, "RoleBinding", f"{kind.name}-sds")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{kind.name}-sds"}
    # Upstream leaves the subject's namespace out; the clean object names it.
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": f"{kind.name}-service-account", "namespace": "istio-system"}
    ]


def test_hpa(kind: GatewayKind, objects: list[dict[str, Any]]) -> None:
    hpa = the(objects, "HorizontalPodAutoscaler", kind.name)
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"] == {
        "minReplicas": 1,
        "maxReplicas": 5,
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": kind.name},
        "metrics": [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 80}},
            }
        ],
    }


def test_service(kind: GatewayKind, objects: list[dict[str, Any]]) -> None:
    service = the(objects, "Service", kind.name)
    spec = service["spec"]
    assert spec["type"] == kind.service_type
    assert spec["selector"] == kind.selector
    ports = [(p["name"], p["port"], p["targetPort"], p.get("protocol", "TCP")) for p in spec["ports"]]
    assert ports == [(*port, "TCP") for port in kind.service_ports]
    for optional in ("loadBalancerIP", "loadBalancerSourceRanges", "externalTrafficPolicy", "ipFamilyPolicy"):
        assert optional not in spec


def test_no_pdb_or_network_policy_by_default(objects: list[dict[str, Any]]) -> None:
    assert not by_kind(objects, "PodDisruptionBudget")
    assert not by_kind(objects, "NetworkPolicy")


# --------------------------------------------------------------------------------------------------------------
# Several gateways, custom names, labels and namespaces (reference §2.3, §4 row 9)


def test_second_gateway_with_a_custom_name_keeps_the_kind_labels() -> None:
    objects = render_gateway(INGRESS, name="istio-ingressgateway-custom")
    assert sorted((o["kind"], o["metadata"]["name"]) for o in objects) == sorted(
        (k, n.format(name="istio-ingressgateway-custom")) for k, n in OBJECTS
    )
    deployment = the(objects, "Deployment", "istio-ingressgateway-custom")
    assert deployment["spec"]["selector"]["matchLabels"] == INGRESS.selector
    pod = deployment["spec"]["template"]
    assert pod["metadata"]["labels"]["service.istio.io/canonical-name"] == "istio-ingressgateway-custom"
    assert pod["spec"]["serviceAccountName"] == "istio-ingressgateway-custom-service-account"
    env = dict(env_table(proxy_container(deployment)))
    assert env["ISTIO_META_WORKLOAD_NAME"] == "istio-ingressgateway-custom"
    assert env["ISTIO_META_OWNER"] == (
        "kubernetes://apis/apps/v1/namespaces/istio-system/deployments/istio-ingressgateway-custom"
    )
    assert the(objects, "HorizontalPodAutoscaler", "istio-ingressgateway-custom")["spec"]["scaleTargetRef"]["name"] == (
        "istio-ingressgateway-custom"
    )
    assert_valid(objects)


def test_custom_labels_and_namespace() -> None:
    label = {"app": "edge", "istio": "edge-gateway", "team": "web"}
    objects = render_gateway(INGRESS, name="edge", label=label, namespace="edge-system")
    for obj in objects:
        assert obj["metadata"]["namespace"] == "edge-system"
        assert obj["metadata"]["labels"].items() >= label.items()
    deployment = the(objects, "Deployment", "edge")
    assert deployment["spec"]["selector"]["matchLabels"] == label
    assert deployment["spec"]["template"]["metadata"]["labels"].items() >= label.items()
    assert the(objects, "Service", "edge")["spec"]["selector"] == label
    binding = the(objects, "RoleBinding", "edge-sds")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "edge-service-account", "namespace": "edge-system"}
    ]
    env = dict(env_table(proxy_container(deployment)))
    assert env["ISTIO_META_OWNER"] == "kubernetes://apis/apps/v1/namespaces/edge-system/deployments/edge"
    # istiod stays where it is.
    assert env["CA_ADDR"] == "istiod.istio-system.svc:15012"
    assert_valid(objects)


def test_a_label_map_overrides_only_the_keys_it_names() -> None:
    objects = render_gateway(EGRESS, name="egress-b", label={"istio": "egress-b"})
    assert the(objects, "Deployment", "egress-b")["spec"]["selector"]["matchLabels"] == {
        "app": "istio-egressgateway",
        "istio": "egress-b",
    }


def test_three_gateways_render_eighteen_objects() -> None:
    # Reference §2.3: istioctl's structure test expects 18 objects for 3 gateways.
    spec = {
        "components": {
            "ingressGateways": [
                {"name": "istio-ingressgateway", "enabled": True},
                {"name": "istio-ingressgateway-custom", "enabled": True, "label": {"istio": "custom"}},
            ],
            "egressGateways": [{"name": "istio-egressgateway", "enabled": True}],
        }
    }
    objects = render_iop(spec, ["IngressGateways", "EgressGateways"])
    identities = [(o["kind"], o["metadata"]["name"]) for o in objects]
    assert len(identities) == len(set(identities)) == 18
    names = {o["metadata"]["name"] for o in objects if o["kind"] == "Deployment"}
    assert names == {"istio-ingressgateway", "istio-ingressgateway-custom", "istio-egressgateway"}
    custom = the(objects, "Service", "istio-ingressgateway-custom")
    assert custom["spec"]["selector"] == {"app": "istio-ingressgateway", "istio": "custom"}
    assert custom["metadata"]["labels"]["operator.istio.io/component"] == "IngressGateways"
    assert the(objects, "Service", "istio-egressgateway")["metadata"]["labels"]["operator.istio.io/component"] == (
        "EgressGateways"
    )


def test_k8s_service_settings_of_a_second_gateway() -> None:
    # Reference §4 row 9: externalTrafficPolicy and an annotation through k8s settings on the Service.
    k8s = {
        "service": {"externalTrafficPolicy": "Local"},
        "serviceAnnotations": {"manifest-generate": "testserviceAnnotation"},
    }
    objects = render_gateway(INGRESS, name="istio-ingressgateway-custom", entry={"k8s": k8s})
    service = the(objects, "Service", "istio-ingressgateway-custom")
    assert service["spec"]["externalTrafficPolicy"] == "Local"
    assert service["metadata"]["annotations"] == {"manifest-generate": "testserviceAnnotation"}
    assert [p["name"] for p in service["spec"]["ports"]] == ["status-port", "http2", "https"]
    assert_valid(objects)


def test_egress_service_is_cluster_ip_without_load_balancer_fields() -> None:
    entry = {"loadBalancerIP": "10.0.0.1", "loadBalancerSourceRanges": ["10.0.0.0/8"]}
    service = the(render_gateway(EGRESS, settings=entry), "Service", EGRESS.name)
    assert service["spec"]["type"] == "ClusterIP"
    assert "loadBalancerIP" not in service["spec"]
    assert "loadBalancerSourceRanges" not in service["spec"]


# --------------------------------------------------------------------------------------------------------------
# Values that change the gateways


def test_service_ports_from_the_entry_replace_the_defaults() -> None:
    ports = [
        {"name": "http", "port": 8080, "targetPort": 8081},
        {"name": "dns", "port": 53, "targetPort": 15053, "protocol": "UDP"},
    ]
    objects = render_gateway(INGRESS, entry={"k8s": {"service": {"ports": ports}}})
    assert the(objects, "Service", INGRESS.name)["spec"]["ports"] == ports
    container = proxy_container(the(objects, "Deployment", INGRESS.name))
    assert [(p["containerPort"], p["protocol"]) for p in container["ports"]] == [
        (8081, "TCP"),
        (15053, "UDP"),
        (15090, "TCP"),
    ]


def test_service_options_and_annotations() -> None:
    settings = {
        "loadBalancerSourceRanges": ["10.0.0.0/8"],
        "externalTrafficPolicy": "Local",
        "ipFamilyPolicy": "PreferDualStack",
        "ipFamilies": ["IPv4", "IPv6"],
        "serviceAnnotations": {"example.com/owner": "web"},
    }
    objects = render_gateway(INGRESS, settings=settings)
    service = the(objects, "Service", INGRESS.name)
    assert service["metadata"]["annotations"] == {"example.com/owner": "web"}
    assert service["spec"]["loadBalancerSourceRanges"] == ["10.0.0.0/8"]
    assert service["spec"]["externalTrafficPolicy"] == "Local"
    assert service["spec"]["ipFamilyPolicy"] == "PreferDualStack"
    assert service["spec"]["ipFamilies"] == ["IPv4", "IPv6"]
    assert_valid(objects)


def test_acceptance_install_flags_render_an_internal_load_balancer() -> None:
    # product.md §5: the install command's --set flags, as the shell hands them to meshctl.
    sets = (
        "profile=default",
        "addonComponents.prometheus.enabled=false",
        "addonComponents.grafana.enabled=false",
        "addonComponents.kiali.enabled=false",
        "addonComponents.tracing.enabled=false",
        "components.ingressGateways[0].enabled=true",
        "components.ingressGateways[0].k8s.serviceAnnotations."
        'service\\.beta\\.kubernetes\\.io/aws-load-balancer-internal="true"',
    )
    config = layering.build_effective_config(layering.ConfigInput(sets=sets))
    objects = pipeline.render_manifests(config, components=["IngressGateways", "AddonComponents"])
    assert {obj["metadata"]["labels"]["operator.istio.io/component"] for obj in objects} == {"IngressGateways"}
    service = the(objects, "Service", INGRESS.name)
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["metadata"]["annotations"] == {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"}
    assert [(p["name"], p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [
        ("status-port", 15021, 15021),
        ("http2", 80, 8080),
        ("https", 443, 8443),
    ]


def test_custom_service_leaves_the_service_out() -> None:
    assert not by_kind(render_gateway(INGRESS, settings={"customService": True}), "Service")


def test_demo_profile_gateways() -> None:
    ingress = render_gateway(INGRESS, spec={"profile": "demo"})
    egress = render_gateway(EGRESS, spec={"profile": "demo"})
    for objects, kind in ((ingress, INGRESS), (egress, EGRESS)):
        assert len(objects) == 5, "no HPA with autoscaling off"
        assert not by_kind(objects, "HorizontalPodAutoscaler")
        deployment = the(objects, "Deployment", kind.name)
        assert "replicas" not in deployment["spec"]
        assert proxy_container(deployment)["resources"]["requests"] == {"cpu": "10m", "memory": "40Mi"}
        assert_valid(objects)
    service = the(ingress, "Service", INGRESS.name)
    assert [(p["name"], p["port"], p["targetPort"]) for p in service["spec"]["ports"]] == [
        ("status-port", 15021, 15021),
        ("http2", 80, 8080),
        ("https", 443, 8443),
        ("tcp", 31400, 31400),
        ("tls", 15443, 15443),
    ]


def test_replica_count_without_autoscaling() -> None:
    objects = render_gateway(INGRESS, settings={"autoscaleEnabled": False, "replicaCount": 3})
    assert the(objects, "Deployment", INGRESS.name)["spec"]["replicas"] == 3
    assert not by_kind(objects, "HorizontalPodAutoscaler")
    pdb = the(objects, "PodDisruptionBudget", INGRESS.name)
    assert pdb["spec"] == {"minAvailable": 1, "selector": {"matchLabels": INGRESS.selector}}


def test_k8s_replica_count_patches_the_deployment_and_renders_no_pdb() -> None:
    # Inventory §0.1 (istioctl value translation): 1.30.3 does not copy k8s.replicaCount into the values, so the
    # chart's guard still sees one replica.
    objects = render_gateway(INGRESS, entry={"k8s": {"replicaCount": 3}}, settings={"autoscaleEnabled": False})
    assert the(objects, "Deployment", INGRESS.name)["spec"]["replicas"] == 3
    assert not by_kind(objects, "PodDisruptionBudget")


def test_autoscale_min_above_one_adds_a_pdb() -> None:
    objects = render_gateway(INGRESS, settings={"autoscaleMin": 2, "autoscaleMax": 7})
    hpa = the(objects, "HorizontalPodAutoscaler", INGRESS.name)
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 7)
    pdb = the(objects, "PodDisruptionBudget", INGRESS.name)
    assert pdb["apiVersion"] == "policy/v1"
    assert pdb["spec"] == {"minAvailable": 1, "selector": {"matchLabels": INGRESS.selector}}
    assert_valid(objects)
    disabled = render_gateway(
        INGRESS,
        settings={"autoscaleMin": 2},
        spec={"values": {"global": {"defaultPodDisruptionBudget": {"enabled": False}}}},
    )
    assert not by_kind(disabled, "PodDisruptionBudget")


def test_k8s_hpa_min_patches_the_hpa_and_renders_no_pdb() -> None:
    # Inventory §0.1: k8s.hpaSpec.minReplicas is a patch on the HPA, not autoscaleMin, at 1.30.3.
    objects = render_gateway(INGRESS, entry={"k8s": {"hpaSpec": {"minReplicas": 2, "maxReplicas": 7}}})
    hpa = the(objects, "HorizontalPodAutoscaler", INGRESS.name)
    assert (hpa["spec"]["minReplicas"], hpa["spec"]["maxReplicas"]) == (2, 7)
    assert not by_kind(objects, "PodDisruptionBudget")


def test_k8s_pdb_setting_on_a_rendered_pdb() -> None:
    # Reference §4 row 8 (gateway_hpa_pdb): upstream leaves `minAvailable: null`; the clean PDB has only the user's.
    objects = render_gateway(
        INGRESS, entry={"k8s": {"podDisruptionBudget": {"maxUnavailable": 1}}}, settings={"autoscaleMin": 2}
    )
    pdb = the(objects, "PodDisruptionBudget", INGRESS.name)
    assert pdb["spec"] == {"maxUnavailable": 1, "selector": {"matchLabels": INGRESS.selector}}
    assert_valid(objects)


def test_injection_template_renders_a_deployment_for_the_injector() -> None:
    objects = render_gateway(INGRESS, settings={"injectionTemplate": "gateway"})
    template = the(objects, "Deployment", INGRESS.name)["spec"]["template"]
    assert template["metadata"]["annotations"]["inject.istio.io/templates"] == "gateway"
    assert template["metadata"]["annotations"]["sidecar.istio.io/inject"] == "true"
    assert template["metadata"]["labels"]["sidecar.istio.io/inject"] == "true"
    [container] = template["spec"]["containers"]
    assert (container["name"], container["image"]) == ("istio-proxy", "auto")
    assert container["securityContext"] == CONTAINER_SECURITY
    assert "volumes" not in template["spec"]
    assert_valid(objects)


def test_memory_metric_only_when_set() -> None:
    objects = render_gateway(INGRESS, settings={"memory": {"targetAverageUtilization": 75}})
    metrics = the(objects, "HorizontalPodAutoscaler", INGRESS.name)["spec"]["metrics"]
    assert [(m["resource"]["name"], m["resource"]["target"]["averageUtilization"]) for m in metrics] == [
        ("cpu", 80),
        ("memory", 75),
    ]


def test_network_policy(kind: GatewayKind) -> None:
    objects = render_gateway(kind, spec=NETWORK_POLICY)
    policy = the(objects, "NetworkPolicy", kind.name)
    spec = policy["spec"]
    assert spec["podSelector"] == {"matchLabels": kind.selector}
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    [rule] = spec["ingress"]
    expected = [15021, 15020, 15090, *(p for p in kind.container_ports if p not in (15021, 15020, 15090))]
    assert [(p["port"], p["protocol"]) for p in rule["ports"]] == [(port, "TCP") for port in expected]
    assert spec["egress"] == [{}]
    assert_valid(objects)
    revisioned = render_gateway(kind, spec=NETWORK_POLICY, revision="canary")
    assert by_kind(revisioned, "NetworkPolicy").keys() == {f"{kind.name}-canary"}


def test_revision() -> None:
    objects = render_gateway(INGRESS, revision="canary")
    deployment = the(objects, "Deployment", INGRESS.name)
    assert deployment["metadata"]["labels"]["istio.io/rev"] == "canary"
    template = deployment["spec"]["template"]
    assert template["metadata"]["labels"]["istio.io/rev"] == "canary"
    assert template["metadata"]["annotations"]["istio.io/rev"] == "canary"
    env = dict(env_table(proxy_container(deployment)))
    assert env["CA_ADDR"] == "istiod-canary.istio-system.svc:15012"
    volumes = {v["name"]: v for v in template["spec"]["volumes"]}
    assert volumes["config-volume"]["configMap"]["name"] == "istio-canary"


def test_ambient_profile_uses_the_distroless_proxy_and_hbone_metadata() -> None:
    objects = render_gateway(INGRESS, spec={"profile": "ambient"})
    container = proxy_container(the(objects, "Deployment", INGRESS.name))
    assert container["image"] == "docker.io/istio/proxyv2:1.30.3-distroless"
    env = env_table(container)
    names = [name for name, _ in env]
    # proxyMetadata entries come after the fixed block and before the cluster ID.
    assert names.index("ISTIO_META_UNPRIVILEGED_POD") < names.index("ISTIO_META_ENABLE_HBONE")
    assert names.index("ISTIO_META_ENABLE_HBONE") < names.index("ISTIO_META_CLUSTER_ID")
    assert dict(env)["ISTIO_META_ENABLE_HBONE"] == "true"


def test_hub_and_tag_of_the_entry() -> None:
    objects = render_gateway(INGRESS, entry={"hub": "registry.example/mesh", "tag": "1.30.3-fips"})
    container = proxy_container(the(objects, "Deployment", INGRESS.name))
    assert container["image"] == "registry.example/mesh/proxyv2:1.30.3-fips"


def test_gateway_env_network_and_cluster() -> None:
    spec = {
        "values": {"global": {"network": "net-1", "meshID": "mesh-1", "multiCluster": {"clusterName": "east"}}},
        "meshConfig": {"trustDomain": "example.org"},
    }
    settings = {"env": {"ISTIO_META_ROUTER_MODE": "sni-dnat", "ISTIO_META_UNPRIVILEGED_POD": "false"}}
    objects = render_gateway(INGRESS, settings=settings, spec=spec)
    env = env_table(proxy_container(the(objects, "Deployment", INGRESS.name)))
    names = [name for name, _ in env]
    assert len(names) == len(set(names)), "each variable once; a later setting replaces an earlier one"
    values_by_name = dict(env)
    assert values_by_name["ISTIO_META_ROUTER_MODE"] == "sni-dnat"
    assert values_by_name["ISTIO_META_UNPRIVILEGED_POD"] == "false"
    assert values_by_name["ISTIO_META_NETWORK"] == "net-1"
    assert values_by_name["ISTIO_META_MESH_ID"] == "mesh-1"
    assert values_by_name["TRUST_DOMAIN"] == "example.org"
    assert values_by_name["ISTIO_META_CLUSTER_ID"] == "east"
    assert names[-3:] == ["ISTIO_META_NETWORK", "ISTIO_META_CLUSTER_ID", "ISTIO_META_NODE_NAME"]


def test_log_as_json_and_sts_port_args() -> None:
    objects = render_gateway(INGRESS, spec={"values": {"global": {"logAsJson": True, "sts": {"servicePort": 15463}}}})
    args = proxy_container(the(objects, "Deployment", INGRESS.name))["args"]
    assert args == [*ARGS, "--log_as_json", "--stsPort=15463"]


def test_openshift_leaves_user_and_group_to_the_platform() -> None:
    objects = render_gateway(INGRESS, spec={"profile": "openshift"})
    pod = the(objects, "Deployment", INGRESS.name)["spec"]["template"]["spec"]
    assert pod["securityContext"] == {"runAsNonRoot": True}


def test_run_as_root_is_an_explicit_opt_in() -> None:
    objects = render_gateway(INGRESS, settings={"runAsRoot": True})
    deployment = the(objects, "Deployment", INGRESS.name)
    assert "securityContext" not in deployment["spec"]["template"]["spec"]
    security = proxy_container(deployment)["securityContext"]
    assert security["runAsUser"] == 0
    assert security["runAsNonRoot"] is False
    assert security["allowPrivilegeEscalation"] is False
    assert security["readOnlyRootFilesystem"] is True
    assert security["capabilities"] == {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
    assert_valid(objects)


def test_scheduling_values() -> None:
    entry = {
        "nodeSelector": {"pool": "edge"},
        "tolerations": [{"key": "edge", "operator": "Exists", "effect": "NoSchedule"}],
        "podAntiAffinityLabelSelector": [
            {"key": "istio", "operator": "In", "values": "ingressgateway", "topologyKey": "kubernetes.io/hostname"}
        ],
    }
    objects = render_gateway(
        INGRESS, settings=entry, spec={"values": {"global": {"priorityClassName": "system-cluster-critical"}}}
    )
    pod = the(objects, "Deployment", INGRESS.name)["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"pool": "edge"}
    assert pod["tolerations"] == entry["tolerations"]
    assert pod["priorityClassName"] == "system-cluster-critical"
    assert pod["affinity"] == {
        "podAntiAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": [
                {
                    "topologyKey": "kubernetes.io/hostname",
                    "labelSelector": {
                        "matchExpressions": [{"key": "istio", "operator": "In", "values": ["ingressgateway"]}]
                    },
                }
            ]
        }
    }
    assert_valid(objects)


def test_global_default_tolerations_and_node_selector_apply_when_the_gateway_has_none() -> None:
    toleration = {"key": "dedicated", "operator": "Exists"}
    values = {"global": {"defaultTolerations": [toleration], "defaultNodeSelector": {"disk": "ssd"}}}
    pod = the(render_gateway(EGRESS, spec={"values": values}), "Deployment", EGRESS.name)["spec"]["template"]["spec"]
    assert pod["tolerations"] == [toleration]
    assert pod["nodeSelector"] == {"disk": "ssd"}


@pytest.mark.parametrize("name", ["on", "null", "yes", "true", "1e3"])
def test_gateway_names_yaml_would_misread_stay_strings(name: str) -> None:
    objects = render_iop(
        {"profile": "empty", "components": {"ingressGateways": [{"name": name, "enabled": True}]}},
        ["IngressGateways"],
    )
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert ("Deployment", name) in names
    assert ("Service", name) in names
    assert ("HorizontalPodAutoscaler", name) in names
    assert ("Role", f"{name}-sds") in names
