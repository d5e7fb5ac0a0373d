"""Istio 1.30.3 facts: every item of inventory §0.1 that changes rendered output, asserted once here.

``../shared/reference/istio-manifest-inventory.md`` §0.1 lists where Istio 1.30.3 (the release meshctl installs)
differs from the development snapshot the rest of the inventory describes; 1.30.3 wins. Each test below names the
§0.1 line it checks (``§0.1 <section>: <item>``) and renders through the full pipeline, so a template or layer
that drifts back to the snapshot fails here even if the goldens were refreshed with it. The component fact files
assert the same facts in their tables; this file is the audit trail, item by item.

Items that change no rendered output are not here: quoting-only and whitespace-only differences (the parsed
objects are equal; a namespace YAML would read as a number is checked as a deliberate difference below), the
Helm-only ``gateway`` and ``default`` charts, the ``Chart.yaml`` versions and the Helm engine version. Injector
templates meshctl does not ship yet (``grpc-*``, ``waypoint``, ``kube-gateway``, ``agentgateway``; ``rendering.md``
§2 lets them follow later) have their §0.1 items listed in ``docs/decisions.md``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshctl import errors, yamlio
from meshctl.config import layering
from meshctl.render import output, pipeline
from tests.helpers import run_cli
from tests.unit.facts.helpers import by_kind, env_table, render_iop, the
from tests.unit.inject.helpers import conf, deployment, find, inject, template_of

Objects = list[dict[str, Any]]
GOMAXPROCS = {"resourceFieldRef": {"resource": "limits.cpu", "divisor": "1"}}


def render(spec: Mapping[str, Any], components: Sequence[str] | None = None) -> pipeline.RenderResult:
    document = {"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator", "spec": dict(spec)}
    config = layering.build_effective_config(
        layering.ConfigInput(files=("-",)), stdin=io.StringIO(yamlio.dump_yaml(document))
    )
    return pipeline.render(config, components=list(components) if components else None)


def main_container(objs: Objects, kind: str, name: str, container: str) -> dict[str, Any]:
    [found] = [c for c in the(objs, kind, name)["spec"]["template"]["spec"]["containers"] if c["name"] == container]
    return found


def env_items(container: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["name"]: item for item in container["env"]}


def env_names(container: Mapping[str, Any]) -> list[str]:
    return [item["name"] for item in container["env"]]


def istiod(values: Mapping[str, Any] | None = None, **spec: Any) -> dict[str, Any]:
    objs = render_iop({"values": dict(values or {}), **spec}, ["Pilot"])
    return main_container(objs, "Deployment", "istiod", "discovery")


def cni_node(values: Mapping[str, Any] | None = None) -> dict[str, Any]:
    objs = render_iop({"components": {"cni": {"enabled": True}}, "values": dict(values or {})}, ["Cni"])
    return main_container(objs, "DaemonSet", "istio-cni-node", "install-cni")


# --------------------------------------------------------------------------------------------------------------
# "Same at 1.30.3": object sets and per-profile counts


@pytest.mark.parametrize(
    ("profile", "count"),
    [("default", 39), ("demo", 42), ("minimal", 33), ("preview", 39), ("stable", 41), ("ambient", 44),
     ("openshift", 47), ("openshift-ambient", 47)],
)  # fmt: skip
def test_profile_object_counts_are_the_live_counts(profile: str, count: int) -> None:
    """§0.1 "Same at 1.30.3": the per-profile counts equal the inventory's live counts (snapshot figures void).

    meshctl's demo also enables the add-ons, which istioctl does not have; they are left out of the count.
    """
    components = ["Base", "Pilot", "Cni", "Ztunnel", "IngressGateways", "EgressGateways"]
    objs = render({"profile": profile}, components).objects
    assert len(objs) == count


def test_recent_features_already_in_1_30_3() -> None:
    """§0.1 "Same at 1.30.3": PILOT_NODE_UNTAINT_CONTROLLERS_TAINT_NAME (with the untaint controller) and the
    stable profile's AuthorizationPolicy trustDomains/notTrustDomains check are in 1.30.3."""
    names = env_names(istiod({"pilot": {"taint": {"enabled": True}}}))
    assert (
        names[names.index("PILOT_ENABLE_NODE_UNTAINT_CONTROLLERS") + 1] == "PILOT_NODE_UNTAINT_CONTROLLERS_TAINT_NAME"
    )
    policy = the(
        render_iop({"profile": "stable"}, ["Pilot"]),
        "ValidatingAdmissionPolicy",
        "stable-channel-policy-istio-system.istio.io",
    )
    expressions = " ".join(v["expression"] for v in policy["spec"]["validations"])
    assert "source.trustDomains" in expressions
    assert "source.notTrustDomains" in expressions


# --------------------------------------------------------------------------------------------------------------
# Inv §0 "snapshot vs live charts" row, restated


def test_fifteen_crds_with_traffic_extensions() -> None:
    """§0.1 row restated: 1.30.3 ships trafficextensions.extensions.istio.io and renders 15 CRDs."""
    crds = by_kind(render_iop({}, ["Base"]), "CustomResourceDefinition")
    assert len(crds) == 15
    assert crds["trafficextensions.extensions.istio.io"]["spec"]["names"]["kind"] == "TrafficExtension"


def test_no_agentgateway_waypoint_injector_template() -> None:
    """§0.1 row restated / istiod: 1.30.3 does not render the agentgateway-waypoint injector template."""
    config_map = the(render_iop({}, ["Pilot"]), "ConfigMap", "istio-sidecar-injector")
    templates = yaml.safe_load(config_map["data"]["config"])["templates"]
    assert "agentgateway-waypoint" not in templates
    assert {"sidecar", "gateway"} <= set(templates)


def test_istiod_sets_gomaxprocs_between_cluster_id_and_platform() -> None:
    """§0.1 istiod: GOMAXPROCS from limits.cpu, divisor "1", no containerName, between CLUSTER_ID and PLATFORM."""
    container = istiod()
    names = env_names(container)
    assert names[names.index("CLUSTER_ID") + 1 : names.index("CLUSTER_ID") + 3] == ["GOMAXPROCS", "PLATFORM"]
    assert env_items(container)["GOMAXPROCS"] == {"name": "GOMAXPROCS", "valueFrom": GOMAXPROCS}


def test_cni_sets_gomaxprocs_between_gomemlimit_and_pod_name() -> None:
    """§0.1 istio-cni: GOMAXPROCS (limits.cpu, divisor "1") between GOMEMLIMIT and POD_NAME."""
    container = cni_node()
    names = env_names(container)
    assert names[names.index("GOMEMLIMIT") : names.index("GOMEMLIMIT") + 3] == ["GOMEMLIMIT", "GOMAXPROCS", "POD_NAME"]
    assert env_items(container)["GOMAXPROCS"]["valueFrom"] == GOMAXPROCS


@pytest.mark.parametrize("template", ["sidecar", "gateway"])
def test_injected_proxy_sets_gomaxprocs_after_gomemlimit_and_no_fips_godebug(template: str) -> None:
    """§0.1 istiod, `sidecar` and `gateway` template env: GOMAXPROCS right after GOMEMLIMIT; no fips GODEBUG.

    Injected through kube-inject from the ConfigMap meshctl renders, with COMPLIANCE_POLICY=fips-140-3 set.
    """
    settings = conf("values.pilot.env.COMPLIANCE_POLICY=fips-140-3")
    annotations = {"inject.istio.io/templates": template} if template == "gateway" else None
    out, count, _ = inject(deployment(annotations=annotations), settings)
    assert count == 1
    proxy = find(template_of(out)["spec"], "istio-proxy")
    names = env_names(proxy)
    assert names[names.index("GOMEMLIMIT") + 1] == "GOMAXPROCS"
    assert env_items(proxy)["GOMAXPROCS"]["valueFrom"] == GOMAXPROCS
    assert "GODEBUG" not in names


def test_ztunnel_has_no_resource_cpu_env_and_its_cpu_limit_has_divisor_one() -> None:
    """§0.1 row restated / ztunnel: only ZTUNNEL_CPU_LIMIT (limits.cpu, divisor "1"); no ZTUNNEL_RESOURCE_CPU_*,
    by default (master renders the request one by default) or with CPU resources set in values or k8s."""
    resources = {"requests": {"cpu": "100m"}, "limits": {"cpu": "200m"}}
    for spec in (
        {"profile": "ambient"},
        {"profile": "ambient", "values": {"ztunnel": {"resources": resources}}},
        {"profile": "ambient", "components": {"ztunnel": {"k8s": {"resources": resources}}}},
    ):
        container = main_container(render_iop(spec, ["Ztunnel"]), "DaemonSet", "ztunnel", "istio-proxy")
        derived = [(name, value) for name, value in env_table(container) if value.startswith("resource:")]
        assert derived == [("ZTUNNEL_CPU_LIMIT", "resource:limits.cpu/1")], spec


@pytest.mark.parametrize("profile", ["default", "openshift"])
def test_istiod_has_no_termination_message_policy(profile: str) -> None:
    """§0.1 istiod and platform-openshift overlay: no terminationMessagePolicy, on any platform."""
    assert "terminationMessagePolicy" not in istiod(profile=profile)


def test_istiod_has_no_fips_godebug_and_env_var_from_follows_the_sorted_env() -> None:
    """§0.1 istiod: never GODEBUG=fips140=only, even with COMPLIANCE_POLICY=fips-140-3; the sorted pilot.env
    entries are followed directly by envVarFrom."""
    var_from = {"name": "FROM_SECRET", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}
    container = istiod({"pilot": {"env": {"COMPLIANCE_POLICY": "fips-140-3"}, "envVarFrom": [var_from]}})
    names = env_names(container)
    assert "GODEBUG" not in names
    assert names[names.index("COMPLIANCE_POLICY") + 1] == "FROM_SECRET"


def test_istiod_cluster_role_updates_only_xbackendtrafficpolicies_status_in_x_k8s() -> None:
    """§0.1 istiod: the gateway.networking.x-k8s.io update/patch rule lists only xbackendtrafficpolicies/status."""
    role = the(render_iop({}, ["Pilot"]), "ClusterRole", "istiod-clusterrole-istio-system")
    writes = [
        rule["resources"]
        for rule in role["rules"]
        if rule["apiGroups"] == ["gateway.networking.x-k8s.io"] and "update" in rule["verbs"]
    ]
    assert writes == [["xbackendtrafficpolicies/status"]]
    assert not any("xbackends/status" in rule["resources"] for rule in role["rules"])


# --------------------------------------------------------------------------------------------------------------
# base


@pytest.mark.parametrize(
    ("values", "rendered"),
    [
        ({}, True),
        ({"global": {"resourceScope": "namespace"}}, True),
        ({"global": {"resourceScope": "cluster"}}, False),
        ({"global": {"enableReaderRBAC": False}}, False),
    ],
)
def test_reader_service_account_follows_resource_scope_and_reader_rbac(values: dict[str, Any], rendered: bool) -> None:
    """§0.1 base: the reader SA renders whenever resourceScope is all/namespace and enableReaderRBAC is not false."""
    accounts = by_kind(render_iop({"values": values}, ["Base"]), "ServiceAccount")
    assert ("istio-reader-service-account" in accounts) is rendered


def test_reader_service_account_option_is_refused_like_istioctl() -> None:
    """§0.1 base: no global.readerServiceAccount; Istio 1.30's values schema rejects it (an error, exit 3)."""
    with pytest.raises(errors.ValidationError) as caught:
        render({"values": {"global": {"readerServiceAccount": {"name": "mine"}}}})
    assert caught.value.problems[0].startswith("values.global.readerServiceAccount: not an Istio 1.30")


def test_reader_binding_subject_is_always_the_reader_account_in_the_istio_namespace() -> None:
    """§0.1 istiod: the istio-reader-clusterrole binding's subject is always SA istio-reader-service-account in
    global.istioNamespace (no override)."""
    for spec in ({}, {"values": {"global": {"istioNamespace": "mesh"}}}):
        namespace = "mesh" if spec else "istio-system"
        binding = the(render_iop(spec, ["Pilot"]), "ClusterRoleBinding", f"istio-reader-clusterrole-{namespace}")
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": "istio-reader-service-account", "namespace": namespace}
        ]


def test_workload_entries_print_age_then_address() -> None:
    """§0.1 "Incidental": workloadentries printer columns come in the order Age, Address."""
    crd = the(render_iop({}, ["Base"]), "CustomResourceDefinition", "workloadentries.networking.istio.io")
    for version in crd["spec"]["versions"]:
        assert [c["name"] for c in version["additionalPrinterColumns"]] == ["Age", "Address"], version["name"]


# --------------------------------------------------------------------------------------------------------------
# Injector templates (sidecar, gateway)


def test_init_container_uses_the_proxy_image_for_a_plain_proxy_init_image() -> None:
    """§0.1 istiod, `sidecar` init container: with global.proxy_init.image without "/", the proxy image."""
    settings = conf("values.global.proxy_init.image=proxyinit", "values.global.hub=registry.example/istio")
    spec = template_of(inject(deployment(), settings)[0])["spec"]
    assert find(spec, "istio-init")["image"] == find(spec, "istio-proxy")["image"]
    assert find(spec, "istio-init")["image"] == "registry.example/istio/proxyv2:1.30.3"


def test_canonical_name_drops_one_trailing_dash_after_the_cut() -> None:
    """§0.1 istiod, `sidecar` template: after cutting to 63 characters, 1.30.3 removes a single trailing "-"
    (master strips every leading or trailing "-", "_" and ".")."""
    name = "_" + "a" * 59 + "--" + "-tail"  # 63rd and 62nd characters are dashes
    out, _, _ = inject(deployment(labels={"app": name}))
    label = template_of(out)["metadata"]["labels"]["service.istio.io/canonical-name"]
    assert label == name[:63][:-1]
    assert label.startswith("_")
    assert label.endswith("-")


def test_gateways_keep_istio_cpu_limit_and_have_no_gomaxprocs() -> None:
    """§0.1 gateways: the gateway env has ISTIO_CPU_LIMIT and no GOMAXPROCS."""
    objs = render_iop({}, ["IngressGateways"])
    names = env_names(main_container(objs, "Deployment", "istio-ingressgateway", "istio-proxy"))
    assert "ISTIO_CPU_LIMIT" in names
    assert "GOMAXPROCS" not in names


# --------------------------------------------------------------------------------------------------------------
# istio-cni values schema


@pytest.mark.parametrize(
    ("key", "value"),
    [("enablementSelectors", []), ("shareHostNetworkNamespace", True), ("enableAmbientDetectionRetry", True)],
)
def test_cni_ambient_keys_istioctl_rejects_are_rejected(key: str, value: Any) -> None:
    """§0.1 istio-cni: Istio 1.30's values schema lacks these three keys, so they are refused in spec.values unless
    --force or unvalidatedValues is used; the chart keeps its defaults."""
    spec = {"components": {"cni": {"enabled": True}}, "values": {"cni": {"ambient": {key: value}}}}
    with pytest.raises(errors.ValidationError) as caught:
        render(spec)
    [problem] = caught.value.problems
    assert problem.startswith(f"values.cni.ambient.{key}: not an Istio 1.30 IstioOperator value (istioctl 1.30 ")
    unvalidated = {"components": {"cni": {"enabled": True}}, "unvalidatedValues": {"cni": {"ambient": {key: value}}}}
    assert render(unvalidated, ["Cni"]).objects


def test_cni_config_keeps_the_chart_defaults_of_those_keys() -> None:
    """§0.1 istio-cni: the chart has the three keys with defaults (the ambient selector list, false, false)."""
    data = the(render_iop({"profile": "ambient"}, ["Cni"]), "ConfigMap", "istio-cni-config")["data"]
    assert data["ENABLE_AMBIENT_DETECTION_RETRY"] == "false"
    assert "istio.io/dataplane-mode" in data["AMBIENT_ENABLEMENT_SELECTOR"]
    assert "ALLOW_SWITCH_TO_HOST_NS" in env_names(cni_node({"cni": {"ambient": {"enabled": True}}}))


# --------------------------------------------------------------------------------------------------------------
# Profiles and compatibility versions

COMPATIBILITY_ENV = {
    "1.25": ["DISABLE_SHADOW_HOST_SUFFIX", "DISABLE_TRACK_REMAINING_CB_METRICS", "ENABLE_NATIVE_SIDECARS",
             "PILOT_SIDECAR_PICK_BEST_SERVICE_NAMESPACE", "PILOT_SPAWN_UPSTREAM_SPAN_FOR_GATEWAY"],
    "1.26": ["DISABLE_SHADOW_HOST_SUFFIX", "DISABLE_TRACK_REMAINING_CB_METRICS", "ENABLE_NATIVE_SIDECARS",
             "PILOT_SIDECAR_PICK_BEST_SERVICE_NAMESPACE", "PILOT_SPAWN_UPSTREAM_SPAN_FOR_GATEWAY"],
    "1.27": ["DISABLE_SHADOW_HOST_SUFFIX", "DISABLE_TRACK_REMAINING_CB_METRICS",
             "PILOT_SIDECAR_PICK_BEST_SERVICE_NAMESPACE", "PILOT_SPAWN_UPSTREAM_SPAN_FOR_GATEWAY"],
    "1.28": ["DISABLE_TRACK_REMAINING_CB_METRICS", "PILOT_SIDECAR_PICK_BEST_SERVICE_NAMESPACE"],
    "1.29": ["PILOT_SIDECAR_PICK_BEST_SERVICE_NAMESPACE"],
}  # fmt: skip


@pytest.mark.parametrize("version", sorted(COMPATIBILITY_ENV))
def test_compatibility_version_sets_what_istio_1_30_3_ships(version: str) -> None:
    """§0.1 Profiles and compatibility versions: each version's pilot.env flags ("false"), the CNI ambient values,
    and no PILOT_ENABLE_STRICT_GATEWAY_MERGING or PILOT_AUTO_SEND_UNHEALTHY_ENDPOINTS."""
    spec = {"compatibilityVersion": version, "components": {"cni": {"enabled": True}}}
    objs = render(spec, ["Pilot", "Cni"]).objects
    container = main_container(objs, "Deployment", "istiod", "discovery")
    baseline = set(env_names(istiod()))
    added = {name: item.get("value") for name, item in env_items(container).items() if name not in baseline}
    assert added == dict.fromkeys(COMPATIBILITY_ENV[version], "false")
    cni = the(objs, "ConfigMap", "istio-cni-config")["data"]
    assert cni["AMBIENT_RECONCILE_POD_RULES_ON_STARTUP"] == ("true" if version == "1.29" else "false")
    host_netns = "ALLOW_SWITCH_TO_HOST_NS" not in env_names(
        main_container(render({**spec, "profile": "ambient"}, ["Cni"]).objects, "DaemonSet", "istio-cni-node",
                       "install-cni")
    )  # fmt: skip
    assert host_netns is (version == "1.25")  # ambient.shareHostNetworkNamespace: true only for 1.25


def test_compatibility_versions_outside_1_25_to_1_30_are_refused() -> None:
    """§0.1: 1.30.3 has 1.25–1.29 only. 1.30 fails in istioctl 1.30.3; meshctl accepts it as an empty layer
    (config.md §2, a deliberate difference in docs/decisions.md). Anything else is an error."""
    with_130 = render({"compatibilityVersion": "1.30"}, ["Pilot"]).objects
    assert the(with_130, "Deployment", "istiod") == the(render({}, ["Pilot"]).objects, "Deployment", "istiod")
    for version in ("1.24", "1.31"):
        with pytest.raises(errors.InputError, match=version):
            render({"compatibilityVersion": version})


# --------------------------------------------------------------------------------------------------------------
# istioctl value translation


def test_k8s_hpa_min_replicas_renders_no_pdb_and_the_pdb_setting_warns() -> None:
    """§0.1 istioctl value translation: k8s.hpaSpec.minReplicas 2 changes the HPA but no PDB appears, so a
    k8s.podDisruptionBudget has nothing to apply to (a warning here; istioctl ignores it silently)."""
    k8s = {"hpaSpec": {"minReplicas": 2}, "podDisruptionBudget": {"maxUnavailable": 1}}
    result = render({"components": {"pilot": {"k8s": k8s}}}, ["Pilot"])
    assert the(result.objects, "HorizontalPodAutoscaler", "istiod")["spec"]["minReplicas"] == 2
    assert not by_kind(result.objects, "PodDisruptionBudget")
    assert [item.setting for item in result.no_effect] == ["components.pilot.k8s.podDisruptionBudget"]


def test_k8s_replica_count_patches_the_deployment_only() -> None:
    """§0.1 istioctl value translation: k8s.replicaCount is not values.pilot.replicaCount, so no PDB appears."""
    spec = {"components": {"pilot": {"k8s": {"replicaCount": 3}}}, "values": {"pilot": {"autoscaleEnabled": False}}}
    objs = render(spec, ["Pilot"]).objects
    assert the(objs, "Deployment", "istiod")["spec"]["replicas"] == 3
    assert not by_kind(objs, "PodDisruptionBudget")


def test_values_config_map_does_not_show_k8s_settings() -> None:
    """§0.1 istioctl value translation: no autoscaleMin/Max, replicaCount or resources CPU from k8s in the values;
    the values ConfigMap does not show them, while hub/tag and a gateway's name/label/ports are translated."""
    import json

    k8s = {"hpaSpec": {"minReplicas": 2, "maxReplicas": 9}, "replicaCount": 3, "resources": {"limits": {"cpu": "3"}}}
    objs = render({"components": {"pilot": {"hub": "example.com/istio", "k8s": k8s}}}, ["Pilot"]).objects
    merged = json.loads(the(objs, "ConfigMap", "values")["data"]["merged-values"])
    pilot = merged["pilot"]
    assert pilot["hub"] == "example.com/istio"
    assert (pilot["autoscaleMin"], pilot["autoscaleMax"], pilot["replicaCount"]) == (1, 5, 1)
    assert "limits" not in pilot["resources"]
    assert main_container(objs, "Deployment", "istiod", "discovery")["resources"]["limits"] == {"cpu": "3"}


# --------------------------------------------------------------------------------------------------------------
# Deliberate difference that protects users (docs/decisions.md): namespaces YAML would misread


def test_a_namespace_that_reads_as_a_number_stays_a_string() -> None:
    """§0.1 quoting: 1.30.3 writes namespaces unquoted, so an all-digit namespace breaks there; meshctl's output,
    read back as YAML, keeps it a string everywhere (metadata, RBAC subjects, webhook service references)."""
    objs = render({"values": {"global": {"istioNamespace": "2024"}}}, ["Pilot"]).objects
    reparsed = list(yaml.safe_load_all(output.format_stream(objs)))
    assert {o["metadata"].get("namespace") for o in reparsed} == {None, "2024"}
    subjects = [s for o in reparsed for s in o.get("subjects", [])]
    services = [h["clientConfig"]["service"] for o in reparsed for h in o.get("webhooks", [])]
    assert subjects
    assert services
    assert {s["namespace"] for s in subjects} == {"2024"}
    assert {s["namespace"] for s in services} == {"2024"}


# --------------------------------------------------------------------------------------------------------------
# Issue 11 "Done when": the two files, as a user runs them


PDB_FILE = """\
apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
spec:
  components:
    pilot:
      k8s:
        podDisruptionBudget:
          maxUnavailable: 1
"""

SYSCTLS_FILE = """\
apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
spec:
  components:
    ingressGateways:
    - name: istio-ingressgateway
      enabled: true
      k8s:
        securityContext:
          sysctls:
          - name: net.ipv4.ip_local_port_range
            value: "80 65535"
"""


def test_pdb_with_one_replica_warns_and_renders_then_fails_under_strict(tmp_path: Path) -> None:
    path = tmp_path / "pdb.yaml"
    path.write_text(PDB_FILE, encoding="utf-8")
    result = run_cli("manifest", "generate", "-f", str(path))
    assert result.stderr.splitlines()[0].startswith(
        "warning: components.pilot.k8s.podDisruptionBudget has no effect: Pilot renders no PodDisruptionBudget istiod"
    )
    assert result.stderr.splitlines()[1].startswith("hint: ")
    assert "kind: PodDisruptionBudget" not in result.stdout
    assert "kind: Deployment" in result.stdout
    strict = run_cli("--strict", "manifest", "generate", "-f", str(path), expect=3)
    assert strict.stderr.startswith("error: components.pilot.k8s.podDisruptionBudget has no effect: ")
    assert strict.stdout == ""


def test_gateway_sysctls_keep_the_pod_identity_settings(tmp_path: Path) -> None:
    path = tmp_path / "sysctls.yaml"
    path.write_text(SYSCTLS_FILE, encoding="utf-8")
    result = run_cli("manifest", "generate", "-f", str(path), "--component", "IngressGateways")
    assert result.stderr == ""
    [gateway] = [d for d in yaml.safe_load_all(result.stdout) if d["kind"] == "Deployment"]
    assert gateway["spec"]["template"]["spec"]["securityContext"] == {
        "runAsUser": 1337,
        "runAsGroup": 1337,
        "runAsNonRoot": True,
        "sysctls": [{"name": "net.ipv4.ip_local_port_range", "value": "80 65535"}],
    }
    run_cli("--strict", "manifest", "generate", "-f", str(path))  # nothing without effect: strict passes
