"""Facts of ztunnel, object by object.

The tables below are written from ``../shared/reference/istio-manifest-inventory.md`` §2.5 (objects, DaemonSet),
§1.4 (ambient, openshift-ambient, demo) and §4 rows 14-15, not from any golden file. Object counts: ambient 2,
openshift-ambient 4 (reference §1.4).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kubernetes_validate
import kubernetes_validate.utils
import pytest

from tests.unit.facts.helpers import KUBERNETES_VERSIONS, env_table, inventory, render_iop, the

# --------------------------------------------------------------------------------------------------------------
# Fact tables (reference §2.5)

OBJECTS = [("DaemonSet", "ztunnel"), ("ServiceAccount", "ztunnel")]
OPENSHIFT_OBJECTS = [("ClusterRole", "ztunnel"), ("ClusterRoleBinding", "ztunnel")]

# name → literal value, or "field:<path>" / "resource:<resource>" for valueFrom (ambient profile)
ENV = [
    ("CA_ADDRESS", "istiod.istio-system.svc:15012"),
    ("XDS_ADDRESS", "istiod.istio-system.svc:15012"),
    ("RUST_LOG", "info"),
    ("RUST_BACKTRACE", "1"),
    ("ISTIO_META_CLUSTER_ID", "Kubernetes"),
    ("INPOD_ENABLED", "true"),
    ("TERMINATION_GRACE_PERIOD_SECONDS", "30"),
    ("POD_NAME", "field:metadata.name"),
    ("POD_NAMESPACE", "field:metadata.namespace"),
    ("NODE_NAME", "field:spec.nodeName"),
    ("INSTANCE_IP", "field:status.podIP"),
    ("SERVICE_ACCOUNT", "field:spec.serviceAccountName"),
    ("ISTIO_META_ENABLE_HBONE", "true"),
    ("ZTUNNEL_CPU_LIMIT", "resource:limits.cpu/1"),  # inventory §0.1: divisor "1"
]

TOLERATIONS = [
    {"effect": "NoSchedule", "operator": "Exists"},
    {"key": "CriticalAddonsOnly", "operator": "Exists"},
    {"effect": "NoExecute", "operator": "Exists"},
]
SECURITY = {
    "allowPrivilegeEscalation": True,
    "privileged": False,
    "capabilities": {"drop": ["ALL"], "add": ["NET_ADMIN", "SYS_ADMIN", "NET_RAW"]},
    "readOnlyRootFilesystem": True,
    "runAsGroup": 1337,
    "runAsNonRoot": False,
    "runAsUser": 0,
}
# volume → mount path
MOUNTS = {
    "istio-token": "/var/run/secrets/tokens",
    "istiod-ca-cert": "/var/run/secrets/istio",
    "cni-ztunnel-sock-dir": "/var/run/ztunnel",
    "tmp": "/tmp",
}

# --------------------------------------------------------------------------------------------------------------
# Rendering: the full pipeline (configuration engine, templates, k8s settings, labels) on an IstioOperator input


def render_ztunnel(
    values: Mapping[str, Any] | None = None,
    *,
    profile: str = "ambient",
    entry: Mapping[str, Any] | None = None,
    revision: str | None = None,
) -> list[dict[str, Any]]:
    """The Ztunnel objects of ``manifest generate`` for a profile (ambient by default), with ``values`` set."""
    spec: dict[str, Any] = {"profile": profile, "components": {"ztunnel": {"enabled": True, **(entry or {})}}}
    if values:
        spec["values"] = dict(values)
    return render_iop(spec, ["Ztunnel"], revision)


def proxy(objects: list[dict[str, Any]]) -> dict[str, Any]:
    [container] = the(objects, "DaemonSet", "ztunnel")["spec"]["template"]["spec"]["containers"]
    assert container["name"] == "istio-proxy"
    return container


@pytest.fixture(scope="module")
def ambient_objects() -> list[dict[str, Any]]:
    return render_ztunnel()


# --------------------------------------------------------------------------------------------------------------
# Inventories and validation


def test_ambient_profile_renders_two_objects(ambient_objects: list[dict[str, Any]]) -> None:
    assert inventory(ambient_objects) == OBJECTS


def test_openshift_ambient_renders_four_objects() -> None:
    objects = render_ztunnel(profile="openshift-ambient")
    assert inventory(objects) == sorted(OBJECTS + OPENSHIFT_OBJECTS)
    role = the(objects, "ClusterRole", "ztunnel")
    assert role["rules"] == [
        {
            "apiGroups": ["security.openshift.io"],
            "resources": ["securitycontextconstraints"],
            "resourceNames": ["privileged"],
            "verbs": ["use"],
        }
    ]
    binding = the(objects, "ClusterRoleBinding", "ztunnel")
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "ztunnel"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "ztunnel", "namespace": "kube-system"}]
    for obj in objects:
        assert obj["metadata"].get("namespace", "kube-system") == "kube-system"
    assert proxy(objects)["securityContext"]["seLinuxOptions"] == {"type": "spc_t"}


@pytest.mark.parametrize("profile", ["ambient", "openshift-ambient"])
@pytest.mark.parametrize("k8s_version", KUBERNETES_VERSIONS)
def test_every_object_validates_strictly(k8s_version: str, profile: str) -> None:
    for obj in render_ztunnel(profile=profile):
        kubernetes_validate.validate(obj, k8s_version, strict=True)


def test_labels_and_no_empty_annotations(ambient_objects: list[dict[str, Any]]) -> None:
    for obj in ambient_objects:
        meta = obj["metadata"]
        assert meta["namespace"] == "istio-system"
        assert meta["labels"]["app.kubernetes.io/name"] == "ztunnel"
        assert meta["labels"]["operator.istio.io/component"] == "Ztunnel"
        assert meta["labels"]["helm.sh/chart"] == "ztunnel-1.30.3"
        # ztunnel objects carry no release label (reference §2.0); upstream's `annotations: {}` is left out.
        assert "release" not in meta["labels"]
        assert "annotations" not in meta


# --------------------------------------------------------------------------------------------------------------
# DaemonSet


def test_daemonset_selector_and_update_strategy(ambient_objects: list[dict[str, Any]]) -> None:
    spec = the(ambient_objects, "DaemonSet", "ztunnel")["spec"]
    assert spec["selector"] == {"matchLabels": {"app": "ztunnel"}}
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}


def test_pod_labels_and_annotations(ambient_objects: list[dict[str, Any]]) -> None:
    meta = the(ambient_objects, "DaemonSet", "ztunnel")["spec"]["template"]["metadata"]
    expected = {
        "sidecar.istio.io/inject": "false",
        "istio.io/dataplane-mode": "none",
        "app": "ztunnel",
        "app.kubernetes.io/name": "ztunnel",
    }
    assert meta["labels"].items() >= expected.items()
    assert meta["annotations"] == {
        "sidecar.istio.io/inject": "false",
        "prometheus.io/port": "15020",
        "prometheus.io/scrape": "true",
    }


def test_pod_spec(ambient_objects: list[dict[str, Any]]) -> None:
    pod = the(ambient_objects, "DaemonSet", "ztunnel")["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert pod["serviceAccountName"] == "ztunnel"
    assert pod["tolerations"] == TOLERATIONS
    assert pod["priorityClassName"] == "system-node-critical"
    assert pod["terminationGracePeriodSeconds"] == 30
    for optional in ("dnsPolicy", "dnsConfig", "affinity", "hostNetwork"):
        assert optional not in pod


def test_proxy_container(ambient_objects: list[dict[str, Any]]) -> None:
    container = proxy(ambient_objects)
    assert container["image"] == "docker.io/istio/ztunnel:1.30.3-distroless"
    assert container["args"] == ["proxy", "ztunnel"]
    assert container["ports"] == [{"containerPort": 15020, "name": "ztunnel-stats", "protocol": "TCP"}]
    assert container["readinessProbe"] == {"httpGet": {"path": "/healthz/ready", "port": 15021}}
    assert container["securityContext"] == SECURITY
    assert container["resources"] == {"requests": {"cpu": "200m", "memory": "512Mi"}}


def test_env_in_order(ambient_objects: list[dict[str, Any]]) -> None:
    env = env_table(proxy(ambient_objects))
    # Inventory §0.1: 1.30.3 renders no ZTUNNEL_RESOURCE_CPU_LIMIT/REQUEST (master adds the request by default).
    assert env == ENV


def test_volumes_and_mounts(ambient_objects: list[dict[str, Any]]) -> None:
    volumes = {
        v["name"]: v for v in the(ambient_objects, "DaemonSet", "ztunnel")["spec"]["template"]["spec"]["volumes"]
    }
    mounts = {m["name"]: m["mountPath"] for m in proxy(ambient_objects)["volumeMounts"]}
    assert mounts == MOUNTS
    assert list(volumes) == list(MOUNTS)
    assert volumes["istio-token"]["projected"] == {
        "sources": [
            {"serviceAccountToken": {"audience": "istio-ca", "expirationSeconds": 43200, "path": "istio-token"}}
        ]
    }
    assert volumes["istiod-ca-cert"]["configMap"] == {"name": "istio-ca-root-cert"}
    assert volumes["cni-ztunnel-sock-dir"]["hostPath"] == {"path": "/var/run/ztunnel", "type": "DirectoryOrCreate"}
    assert volumes["tmp"]["emptyDir"] == {}


# --------------------------------------------------------------------------------------------------------------
# Values that change ztunnel


def test_without_ambient_values_the_image_has_no_variant() -> None:
    objects = render_ztunnel(profile="default")
    assert proxy(objects)["image"] == "docker.io/istio/ztunnel:1.30.3"
    assert "ISTIO_META_ENABLE_HBONE" not in dict(env_table(proxy(objects)))


def test_ztunnel_hub_tag_and_variant_beat_the_global_ones() -> None:
    objects = render_ztunnel(
        {"ztunnel": {"variant": "debug"}}, entry={"hub": "registry.example/mesh", "tag": "1.30.3-patch"}
    )
    assert proxy(objects)["image"] == "registry.example/mesh/ztunnel:1.30.3-patch-debug"


def test_revision_points_at_the_revisions_istiod() -> None:
    objects = render_ztunnel(revision="canary")
    env = dict(env_table(proxy(objects)))
    assert env["CA_ADDRESS"] == env["XDS_ADDRESS"] == "istiod-canary.istio-system.svc:15012"
    for obj in objects:
        assert obj["metadata"]["annotations"] == {"istio.io/rev": "canary"}


def test_addresses_network_cluster_and_logging() -> None:
    values = {
        "global": {"network": "net-1", "multiCluster": {"clusterName": "east"}, "logAsJson": True},
        "ztunnel": {"caAddress": "ca.example:15012", "xdsAddress": "xds.example:15012", "logLevel": "debug"},
    }
    env = env_table(proxy(render_ztunnel(values)))
    by_name = dict(env)
    assert by_name["CA_ADDRESS"] == "ca.example:15012"
    assert by_name["XDS_ADDRESS"] == "xds.example:15012"
    assert by_name["LOG_FORMAT"] == "json"
    assert by_name["NETWORK"] == "net-1"
    assert by_name["RUST_LOG"] == "debug"
    assert by_name["ISTIO_META_CLUSTER_ID"] == "east"
    names = [name for name, _ in env]
    assert names.index("XDS_ADDRESS") < names.index("LOG_FORMAT") < names.index("NETWORK") < names.index("RUST_LOG")


def test_resources_and_cpu_env() -> None:
    # Reference §4 row 15: k8s resources replace the defaults.
    resources = {"requests": {"cpu": "100m", "memory": "100Mi"}, "limits": {"cpu": "200m", "memory": "200Mi"}}
    objects = render_ztunnel(entry={"k8s": {"resources": resources}})
    container = proxy(objects)
    assert container["resources"] == resources
    # Inventory §0.1: the k8s CPU is not copied into the values and no ZTUNNEL_RESOURCE_CPU_* appears.
    assert [name for name, _ in env_table(container) if name.startswith("ZTUNNEL_")] == ["ZTUNNEL_CPU_LIMIT"]


def test_env_map_comes_last_and_wins() -> None:
    env = env_table(proxy(render_ztunnel({"ztunnel": {"env": {"RUST_LOG": "warn", "EXTRA": "1"}}})))
    names = [name for name, _ in env]
    assert len(names) == len(set(names))
    assert dict(env)["RUST_LOG"] == "warn"
    assert names[-1] == "EXTRA"


def test_tolerations_and_scheduling_values() -> None:
    toleration = {"key": "example-key", "operator": "Exists", "effect": "NoSchedule"}
    values = {"ztunnel": {"tolerations": [toleration], "dnsPolicy": "ClusterFirst", "terminationGracePeriodSeconds": 5}}
    objects = render_ztunnel(values)
    pod = the(objects, "DaemonSet", "ztunnel")["spec"]["template"]["spec"]
    assert pod["tolerations"] == [toleration]
    assert pod["dnsPolicy"] == "ClusterFirst"
    assert pod["terminationGracePeriodSeconds"] == 5
    assert dict(env_table(proxy(objects)))["TERMINATION_GRACE_PERIOD_SECONDS"] == "5"


def test_k8s_tolerations_replace_the_defaults() -> None:
    # Reference §4 row 14.
    toleration = {"key": "example-key", "operator": "Exists", "effect": "NoSchedule"}
    objects = render_ztunnel(entry={"k8s": {"tolerations": [toleration]}})
    assert the(objects, "DaemonSet", "ztunnel")["spec"]["template"]["spec"]["tolerations"] == [toleration]


def test_resource_quota_and_network_policy() -> None:
    values = {"ztunnel": {"resourceQuotas": {"enabled": True}}, "global": {"networkPolicy": {"enabled": True}}}
    objects = render_ztunnel(values)
    assert inventory(objects) == sorted([*OBJECTS, ("NetworkPolicy", "ztunnel"), ("ResourceQuota", "ztunnel")])
    quota = the(objects, "ResourceQuota", "ztunnel")
    assert quota["spec"]["hard"] == {"pods": "5000"}
    policy = the(objects, "NetworkPolicy", "ztunnel")["spec"]
    assert policy["podSelector"] == {"matchLabels": {"app": "ztunnel"}}
    [rule] = policy["ingress"]
    assert [(p["port"], p["protocol"]) for p in rule["ports"]] == [
        (15021, "TCP"),
        (15020, "TCP"),
        (15000, "TCP"),
        (15008, "TCP"),
        (15001, "TCP"),
        (15006, "TCP"),
        (15053, "TCP"),
        (15053, "UDP"),
    ]
    assert policy["egress"] == [{}]
    for obj in objects:
        kubernetes_validate.validate(obj, KUBERNETES_VERSIONS[0], strict=True)
