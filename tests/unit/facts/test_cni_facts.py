"""Facts of the CNI node agent (istio-cni), object by object.

The tables below are written from ``../shared/reference/istio-manifest-inventory.md`` §2.4 (objects, RBAC,
ConfigMap keys, DaemonSet), §1.4 (ambient, demo, the openshift and gke platforms) and §4 row 14, not from any golden
file. Object counts per profile: ambient 9, openshift 8, openshift-ambient 10 (reference §1.4).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml

from tests.unit.facts.helpers import KUBERNETES_VERSIONS, env_table, inventory, render_iop, the

# --------------------------------------------------------------------------------------------------------------
# Fact tables (reference §2.4)

BASE_OBJECTS = [
    ("ServiceAccount", "istio-cni"),
    ("ClusterRole", "istio-cni"),
    ("ClusterRole", "istio-cni-repair-role"),
    ("ClusterRoleBinding", "istio-cni"),
    ("ClusterRoleBinding", "istio-cni-repair-rolebinding"),
    ("ConfigMap", "istio-cni-config"),
    ("DaemonSet", "istio-cni-node"),
]
AMBIENT_OBJECTS = [("ClusterRole", "istio-cni-ambient"), ("ClusterRoleBinding", "istio-cni-ambient")]
MULTUS_OBJECTS = [("NetworkAttachmentDefinition", "istio-cni")]

NODE_RULES = [{"apiGroups": [""], "resources": ["pods", "nodes", "namespaces"], "verbs": ["get", "list", "watch"]}]
SCC_RULE = {
    "apiGroups": ["security.openshift.io"],
    "resources": ["securitycontextconstraints"],
    "resourceNames": ["privileged"],
    "verbs": ["use"],
}
REPAIR_RULES = [
    {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
    {"apiGroups": [""], "resources": ["pods"], "verbs": ["watch", "get", "list"]},
]
AMBIENT_RULES = [
    {"apiGroups": [""], "resources": ["pods/status"], "verbs": ["patch", "update"]},
    {"apiGroups": ["apps"], "resources": ["daemonsets"], "resourceNames": ["istio-cni-node"], "verbs": ["get"]},
]

CONFIG_DEFAULTS = {
    "CURRENT_AGENT_VERSION": "1.30.3",
    "AMBIENT_ENABLED": "false",
    "AMBIENT_DNS_CAPTURE": "true",
    "AMBIENT_IPV6": "true",
    "AMBIENT_RECONCILE_POD_RULES_ON_STARTUP": "true",
    "ENABLE_AMBIENT_DETECTION_RETRY": "false",
    "ISTIO_OWNED_CNI_CONFIG": "false",
    "CHAINED_CNI_PLUGIN": "true",
    "EXCLUDE_NAMESPACES": "kube-system",
    "REPAIR_ENABLED": "true",
    "REPAIR_LABEL_PODS": "false",
    "REPAIR_DELETE_PODS": "false",
    "REPAIR_REPAIR_PODS": "true",
    "REPAIR_INIT_CONTAINER_NAME": "istio-validation",
    "REPAIR_BROKEN_POD_LABEL_KEY": "cni.istio.io/uninitialized",
    "REPAIR_BROKEN_POD_LABEL_VALUE": "true",
    "NATIVE_NFTABLES": "false",
}
ENABLEMENT_SELECTOR = [
    {"podSelector": {"matchLabels": {"istio.io/dataplane-mode": "ambient"}}},
    {
        "podSelector": {
            "matchExpressions": [{"key": "istio.io/dataplane-mode", "operator": "NotIn", "values": ["none"]}]
        },
        "namespaceSelector": {"matchLabels": {"istio.io/dataplane-mode": "ambient"}},
    },
]

# name → literal value, or "field:<path>" / "resource:<resource>" for valueFrom
ENV = [
    ("REPAIR_NODE_NAME", "field:spec.nodeName"),
    ("REPAIR_RUN_AS_DAEMON", "true"),
    ("REPAIR_SIDECAR_ANNOTATION", "sidecar.istio.io/status"),
    ("ALLOW_SWITCH_TO_HOST_NS", "true"),
    ("NODE_NAME", "field:spec.nodeName"),
    ("GOMEMLIMIT", "resource:limits.memory"),
    ("GOMAXPROCS", "resource:limits.cpu/1"),  # inventory §0.1: 1.30.3 sets it (divisor "1"), before POD_NAME
    ("POD_NAME", "field:metadata.name"),
    ("POD_NAMESPACE", "field:metadata.namespace"),
]

TOLERATIONS = [
    {"effect": "NoSchedule", "operator": "Exists"},
    {"key": "CriticalAddonsOnly", "operator": "Exists"},
    {"effect": "NoExecute", "operator": "Exists"},
]
CAPABILITIES = {"drop": ["ALL"], "add": ["NET_ADMIN", "NET_RAW", "SYS_PTRACE", "SYS_ADMIN", "DAC_OVERRIDE"]}

# volume → (host path, hostPath type or None, mount path, read-only, mount propagation)
VOLUMES = {
    "cni-bin-dir": ("/opt/cni/bin", None, "/host/opt/cni/bin", False, None),
    "cni-host-procfs": ("/proc", "Directory", "/host/proc", True, None),
    "cni-net-dir": ("/etc/cni/net.d", None, "/host/etc/cni/net.d", False, None),
    "cni-socket-dir": ("/var/run/istio-cni", None, "/var/run/istio-cni", False, None),
}
AMBIENT_VOLUMES = {
    "cni-netns-dir": ("/var/run/netns", "DirectoryOrCreate", "/host/var/run/netns", False, "HostToContainer"),
    "cni-ztunnel-sock-dir": ("/var/run/ztunnel", "DirectoryOrCreate", "/var/run/ztunnel", False, None),
}

# --------------------------------------------------------------------------------------------------------------
# Rendering: the full pipeline (configuration engine, templates, k8s settings, labels) on an IstioOperator input


def render_cni(
    values: Mapping[str, Any] | None = None,
    *,
    profile: str | None = None,
    namespace: str | None = None,
    entry: Mapping[str, Any] | None = None,
    unvalidated: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """The Cni objects of ``manifest generate`` for a profile, with the component on and ``values`` set."""
    component: dict[str, Any] = {"enabled": True, **(entry or {})}
    if namespace is not None:
        component["namespace"] = namespace
    spec: dict[str, Any] = {"components": {"cni": component}}
    if profile is not None:
        spec["profile"] = profile
    if values:
        spec["values"] = dict(values)
    if unvalidated:
        spec["unvalidatedValues"] = dict(unvalidated)
    return render_iop(spec, ["Cni"])


def container(objects: list[dict[str, Any]]) -> dict[str, Any]:
    [install] = the(objects, "DaemonSet", "istio-cni-node")["spec"]["template"]["spec"]["containers"]
    assert install["name"] == "install-cni"
    return install


def assert_volumes(objects: list[dict[str, Any]], expected: Mapping[str, tuple[Any, ...]]) -> None:
    pod = the(objects, "DaemonSet", "istio-cni-node")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["name"]: m for m in container(objects)["volumeMounts"]}
    assert sorted(volumes) == sorted(expected)
    assert sorted(mounts) == sorted(expected)
    for name, (host_path, path_type, mount_path, read_only, propagation) in expected.items():
        want = {"path": host_path, **({"type": path_type} if path_type else {})}
        assert volumes[name]["hostPath"] == want, name
        assert mounts[name]["mountPath"] == mount_path, name
        assert mounts[name].get("readOnly", False) is read_only, name
        assert mounts[name].get("mountPropagation") == propagation, name


@pytest.fixture(scope="module")
def default_objects() -> list[dict[str, Any]]:
    return render_cni()


@pytest.fixture(scope="module")
def ambient_objects() -> list[dict[str, Any]]:
    return render_cni(profile="ambient")


# --------------------------------------------------------------------------------------------------------------
# Inventories per profile


def test_cni_objects_without_ambient(default_objects: list[dict[str, Any]]) -> None:
    assert inventory(default_objects) == sorted(BASE_OBJECTS)


def test_ambient_profile_renders_nine_objects(ambient_objects: list[dict[str, Any]]) -> None:
    assert inventory(ambient_objects) == sorted(BASE_OBJECTS + AMBIENT_OBJECTS)
    assert len(ambient_objects) == 9


def test_openshift_renders_eight_objects() -> None:
    objects = render_cni(profile="openshift")
    assert inventory(objects) == sorted(BASE_OBJECTS + MULTUS_OBJECTS)
    assert len(objects) == 8


def test_openshift_ambient_renders_ten_objects() -> None:
    objects = render_cni(profile="openshift-ambient")
    assert inventory(objects) == sorted(BASE_OBJECTS + AMBIENT_OBJECTS + MULTUS_OBJECTS)
    assert len(objects) == 10


@pytest.mark.parametrize("profile", ["default", "ambient", "openshift", "openshift-ambient"])
@pytest.mark.parametrize("k8s_version", KUBERNETES_VERSIONS)
def test_every_object_validates_strictly(k8s_version: str, profile: str) -> None:
    for obj in render_cni(profile=profile):
        if obj["kind"] == "NetworkAttachmentDefinition":
            continue  # a custom resource (Multus); not in the Kubernetes schema
        kubernetes_validate.validate(obj, k8s_version, strict=True)


def test_namespaces_and_labels(ambient_objects: list[dict[str, Any]]) -> None:
    for obj in ambient_objects:
        meta = obj["metadata"]
        if obj["kind"].startswith("Cluster"):
            assert "namespace" not in meta
        else:
            assert meta["namespace"] == "istio-system"
        assert meta["labels"]["release"] == "istio"
        assert meta["labels"]["istio.io/rev"] == "default"
        assert meta["labels"]["app.kubernetes.io/name"] == "istio-cni"
        assert meta["labels"]["operator.istio.io/component"] == "Cni"
        assert meta["labels"]["helm.sh/chart"] == "cni-1.30.3"
        assert "annotations" not in meta


# --------------------------------------------------------------------------------------------------------------
# RBAC


def test_cluster_roles(ambient_objects: list[dict[str, Any]]) -> None:
    assert the(ambient_objects, "ClusterRole", "istio-cni")["rules"] == NODE_RULES
    assert the(ambient_objects, "ClusterRole", "istio-cni-repair-role")["rules"] == REPAIR_RULES
    assert the(ambient_objects, "ClusterRole", "istio-cni-ambient")["rules"] == AMBIENT_RULES


@pytest.mark.parametrize(
    ("binding", "role"),
    [
        ("istio-cni", "istio-cni"),
        ("istio-cni-repair-rolebinding", "istio-cni-repair-role"),
        ("istio-cni-ambient", "istio-cni-ambient"),
    ],
)
def test_cluster_role_bindings(binding: str, role: str) -> None:
    obj = the(render_cni(profile="ambient", namespace="kube-system"), "ClusterRoleBinding", binding)
    assert obj["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}
    assert obj["subjects"] == [{"kind": "ServiceAccount", "name": "istio-cni", "namespace": "kube-system"}]


def test_repair_binding_label(default_objects: list[dict[str, Any]]) -> None:
    binding = the(default_objects, "ClusterRoleBinding", "istio-cni-repair-rolebinding")
    assert binding["metadata"]["labels"]["k8s-app"] == "istio-cni-repair"


@pytest.mark.parametrize(
    ("repair", "extra_rule"),
    [
        ({"deletePods": True}, {"apiGroups": [""], "resources": ["pods"], "verbs": ["delete"]}),
        ({"labelPods": True}, {"apiGroups": [""], "resources": ["pods/status"], "verbs": ["patch", "update"]}),
    ],
    ids=["delete-pods", "label-pods"],
)
def test_repair_modes_add_one_rule(repair: dict[str, Any], extra_rule: dict[str, Any]) -> None:
    objects = render_cni({"cni": {"repair": {**repair, "repairPods": False}}})
    assert the(objects, "ClusterRole", "istio-cni-repair-role")["rules"] == [*REPAIR_RULES, extra_rule]


def test_repair_off_leaves_out_its_role_and_binding() -> None:
    objects = render_cni({"cni": {"repair": {"enabled": False}}})
    assert inventory(objects) == sorted(
        o for o in BASE_OBJECTS if o[1] not in ("istio-cni-repair-role", "istio-cni-repair-rolebinding")
    )


def test_openshift_may_use_the_privileged_scc() -> None:
    objects = render_cni(profile="openshift")
    assert the(objects, "ClusterRole", "istio-cni")["rules"] == [*NODE_RULES, SCC_RULE]


# --------------------------------------------------------------------------------------------------------------
# ConfigMap


def test_config_map_defaults(default_objects: list[dict[str, Any]]) -> None:
    data = the(default_objects, "ConfigMap", "istio-cni-config")["data"]
    assert all(isinstance(value, str) for value in data.values())
    selector = yaml.safe_load(data.pop("AMBIENT_ENABLEMENT_SELECTOR"))
    assert selector == ENABLEMENT_SELECTOR
    assert data == CONFIG_DEFAULTS


def test_config_map_ambient_and_platform_keys() -> None:
    data = the(render_cni(profile="openshift-ambient"), "ConfigMap", "istio-cni-config")["data"]
    assert data["AMBIENT_ENABLED"] == "true"
    assert data["CHAINED_CNI_PLUGIN"] == "false"
    assert data["CNI_CONF_NAME"] == "istio-cni.conf"


def test_config_map_optional_keys_and_env() -> None:
    values = {
        "cni": {
            "istioOwnedCNIConfig": True,
            "excludeNamespaces": ["kube-system", "istio-system"],
            "env": {"CUSTOM_FLAG": "on"},
        }
    }
    data = the(render_cni(values), "ConfigMap", "istio-cni-config")["data"]
    assert data["ISTIO_OWNED_CNI_CONFIG"] == "true"
    assert data["ISTIO_OWNED_CNI_CONF_FILENAME"].endswith(".conflist")
    assert data["EXCLUDE_NAMESPACES"] == "kube-system,istio-system"
    assert data["CUSTOM_FLAG"] == "on"


# --------------------------------------------------------------------------------------------------------------
# DaemonSet


def test_daemonset_metadata_selector_and_update_strategy(default_objects: list[dict[str, Any]]) -> None:
    daemonset = the(default_objects, "DaemonSet", "istio-cni-node")
    assert daemonset["apiVersion"] == "apps/v1"
    assert daemonset["metadata"]["labels"]["k8s-app"] == "istio-cni-node"
    spec = daemonset["spec"]
    assert spec["selector"] == {"matchLabels": {"k8s-app": "istio-cni-node"}}
    assert spec["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}}


def test_pod_labels_and_annotations(default_objects: list[dict[str, Any]]) -> None:
    meta = the(default_objects, "DaemonSet", "istio-cni-node")["spec"]["template"]["metadata"]
    expected = {
        "k8s-app": "istio-cni-node",
        "sidecar.istio.io/inject": "false",
        "istio.io/dataplane-mode": "none",
        "app.kubernetes.io/name": "istio-cni",
    }
    assert meta["labels"].items() >= expected.items()
    assert meta["annotations"] == {
        "sidecar.istio.io/inject": "false",
        "prometheus.io/scrape": "true",
        "prometheus.io/port": "15014",
        "prometheus.io/path": "/metrics",
    }


def test_pod_spec(default_objects: list[dict[str, Any]]) -> None:
    pod = the(default_objects, "DaemonSet", "istio-cni-node")["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {"kubernetes.io/os": "linux"}
    assert pod["priorityClassName"] == "system-node-critical"
    assert pod["serviceAccountName"] == "istio-cni"
    assert pod["terminationGracePeriodSeconds"] == 30
    assert pod["tolerations"] == TOLERATIONS
    assert "hostNetwork" not in pod
    assert "dnsPolicy" not in pod
    assert "affinity" not in pod


def test_install_cni_container(default_objects: list[dict[str, Any]]) -> None:
    install = container(default_objects)
    assert install["image"] == "docker.io/istio/install-cni:1.30.3"
    assert install["command"] == ["install-cni"]
    assert install["args"] == ["--log_output_level=info"]
    assert install["ports"] == [{"containerPort": 15014, "name": "metrics", "protocol": "TCP"}]
    assert install["readinessProbe"] == {"httpGet": {"path": "/readyz", "port": 8000}}
    assert install["resources"] == {"requests": {"cpu": "100m", "memory": "100Mi"}}
    assert install["envFrom"] == [{"configMapRef": {"name": "istio-cni-config"}}]
    assert env_table(install) == ENV


def test_security_context(default_objects: list[dict[str, Any]]) -> None:
    security = container(default_objects)["securityContext"]
    assert security["privileged"] is False
    assert (security["runAsUser"], security["runAsGroup"], security["runAsNonRoot"]) == (0, 0, False)
    assert security["capabilities"] == CAPABILITIES
    # The field replaces the deprecated pod annotation (Kubernetes >= 1.30).
    assert security["appArmorProfile"] == {"type": "Unconfined"}
    assert "seLinuxOptions" not in security


def test_app_armor_annotation_instead_of_the_field() -> None:
    objects = render_cni({"cni": {"useAppArmorAnnotation": True}})
    annotations = the(objects, "DaemonSet", "istio-cni-node")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["container.apparmor.security.beta.kubernetes.io/install-cni"] == "unconfined"
    assert "appArmorProfile" not in container(objects)["securityContext"]


def test_volumes_without_ambient(default_objects: list[dict[str, Any]]) -> None:
    # Upstream declares cni-netns-dir even when nothing mounts it; the clean object declares it only under ambient.
    assert_volumes(default_objects, VOLUMES)


def test_volumes_under_ambient(ambient_objects: list[dict[str, Any]]) -> None:
    assert_volumes(ambient_objects, {**VOLUMES, **AMBIENT_VOLUMES})


def test_procfs_only_for_repair_or_ambient() -> None:
    objects = render_cni({"cni": {"repair": {"repairPods": False}}})
    assert_volumes(objects, {k: v for k, v in VOLUMES.items() if k != "cni-host-procfs"})


def test_ambient_image_is_distroless(ambient_objects: list[dict[str, Any]]) -> None:
    assert container(ambient_objects)["image"] == "docker.io/istio/install-cni:1.30.3-distroless"


def test_shared_host_network_namespace() -> None:
    # Istio 1.30's values schema refuses the key in spec.values (inventory §0.1); unvalidatedValues passes it.
    objects = render_cni(profile="ambient", unvalidated={"cni": {"ambient": {"shareHostNetworkNamespace": True}}})
    pod = the(objects, "DaemonSet", "istio-cni-node")["spec"]["template"]["spec"]
    assert pod["hostNetwork"] is True
    assert pod["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert "ALLOW_SWITCH_TO_HOST_NS" not in dict(env_table(container(objects)))


def test_openshift_platform_paths_and_selinux() -> None:
    objects = render_cni(profile="openshift")
    volumes = {v["name"]: v for v in the(objects, "DaemonSet", "istio-cni-node")["spec"]["template"]["spec"]["volumes"]}
    assert volumes["cni-bin-dir"]["hostPath"]["path"] == "/var/lib/cni/bin"
    assert volumes["cni-net-dir"]["hostPath"]["path"] == "/etc/cni/multus/net.d"
    assert container(objects)["securityContext"]["seLinuxOptions"] == {"type": "spc_t"}
    attachment = the(objects, "NetworkAttachmentDefinition", "istio-cni")
    assert attachment["apiVersion"] == "k8s.cni.cncf.io/v1"
    assert attachment["metadata"]["namespace"] == "default"


def test_gke_empty_bin_dir_means_the_platform_directory() -> None:
    objects = render_cni({"global": {"platform": "gke"}})
    volumes = {v["name"]: v for v in the(objects, "DaemonSet", "istio-cni-node")["spec"]["template"]["spec"]["volumes"]}
    assert volumes["cni-bin-dir"]["hostPath"]["path"] == "/home/kubernetes/bin"


def test_cni_hub_tag_and_log_settings() -> None:
    values = {"cni": {"logging": {"level": "debug"}}, "global": {"logAsJson": True}}
    objects = render_cni(values, entry={"hub": "registry.example/mesh", "tag": "1.30.3-patch"})
    install = container(objects)
    assert install["image"] == "registry.example/mesh/install-cni:1.30.3-patch"
    assert install["args"] == ["--log_output_level=debug", "--log_as_json"]
    assert the(objects, "ConfigMap", "istio-cni-config")["data"]["CURRENT_AGENT_VERSION"] == "1.30.3-patch"


def test_k8s_tolerations_replace_the_defaults() -> None:
    # Reference §4 row 14.
    toleration = {"key": "example-key", "operator": "Exists", "effect": "NoSchedule"}
    objects = render_cni(entry={"k8s": {"tolerations": [toleration]}})
    assert the(objects, "DaemonSet", "istio-cni-node")["spec"]["template"]["spec"]["tolerations"] == [toleration]


def test_demo_resources() -> None:
    objects = render_cni(profile="demo")
    assert container(objects)["resources"] == {"requests": {"cpu": "10m", "memory": "40Mi"}}


# --------------------------------------------------------------------------------------------------------------
# Optional objects


def test_resource_quota() -> None:
    objects = render_cni({"cni": {"resourceQuotas": {"enabled": True}}})
    quota = the(objects, "ResourceQuota", "istio-cni-resource-quota")
    assert quota["spec"] == {
        "hard": {"pods": "5000"},
        "scopeSelector": {
            "matchExpressions": [{"operator": "In", "scopeName": "PriorityClass", "values": ["system-node-critical"]}]
        },
    }
    kubernetes_validate.validate(quota, KUBERNETES_VERSIONS[0], strict=True)


def test_network_policy() -> None:
    objects = render_cni({"global": {"networkPolicy": {"enabled": True}}})
    policy = the(objects, "NetworkPolicy", "istio-cni")
    spec = policy["spec"]
    assert spec["podSelector"] == {"matchLabels": {"k8s-app": "istio-cni-node"}}
    assert spec["policyTypes"] == ["Ingress", "Egress"]
    assert spec["ingress"] == [{"ports": [{"port": 15014, "protocol": "TCP"}, {"port": 8000, "protocol": "TCP"}]}]
    assert spec["egress"] == [{}]
    kubernetes_validate.validate(policy, KUBERNETES_VERSIONS[0], strict=True)
