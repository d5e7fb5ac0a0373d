"""k8s settings and overlays (rendering.md §4): each setting, its merge rule, and every no-op istioctl swallows
(a :class:`k8s.NoEffect` warning here) or input it cannot work with (an error)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from meshctl import errors
from meshctl.render import k8s, pipeline
from tests.unit.render.conftest import find, make_config

PILOT = k8s.Target("components.pilot", "Pilot", "Deployment", "istiod", "discovery")
GATEWAY = k8s.Target("components.ingressGateways[0]", "IngressGateways", "Deployment", "gw", "istio-proxy", True)
CNI = k8s.Target("components.cni", "Cni", "DaemonSet", "istio-cni-node", "install-cni")
BASE = k8s.Target("components.base", "Base", None, "", None)


def deployment(name: str = "istiod", container: str = "discovery") -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "istio-system"},
        "spec": {
            "strategy": {"rollingUpdate": {"maxSurge": "100%", "maxUnavailable": "25%"}},
            "template": {
                "metadata": {"labels": {"app": name}, "annotations": {"prometheus.io/scrape": "true"}},
                "spec": {
                    "tolerations": [{"key": "cni.istio.io/not-ready", "operator": "Exists"}],
                    "nodeSelector": {"kubernetes.io/os": "linux"},
                    "containers": [
                        {
                            "name": container,
                            "args": ["discovery", "--keepaliveMaxServerConnectionAge", "30m"],
                            "ports": [{"containerPort": 8080, "name": "http-debug"}],
                            "env": [
                                {"name": "REVISION", "value": "default"},
                                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                            ],
                            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "periodSeconds": 3},
                            "resources": {"requests": {"cpu": "500m", "memory": "2048Mi"}},
                            "securityContext": {"runAsNonRoot": True},
                        }
                    ],
                },
            },
        },
    }


def service(name: str = "istiod") -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": name, "namespace": "istio-system"},
        "spec": {"ports": [{"name": "grpc-xds", "port": 15010}, {"name": "https-dns", "port": 15012}]},
    }


def hpa(name: str = "istiod") -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name},
        "spec": {
            "minReplicas": 1,
            "maxReplicas": 5,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu"}}],
        },
    }


def pdb(name: str = "istiod") -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name},
        "spec": {"minAvailable": 1},
    }


def pilot_objects() -> list[dict[str, Any]]:
    return [deployment(), service(), hpa(), pdb()]


def container_of(objs: list[dict[str, Any]], name: str = "istiod") -> dict[str, Any]:
    container: dict[str, Any] = find(objs, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]
    return container


def pod_spec(objs: list[dict[str, Any]], kind: str = "Deployment", name: str = "istiod") -> dict[str, Any]:
    spec: dict[str, Any] = find(objs, kind, name)["spec"]["template"]["spec"]
    return spec


def applied(
    settings: dict[str, Any], target: k8s.Target = PILOT, objs: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    objs = pilot_objects() if objs is None else objs
    k8s.apply(objs, settings, target)
    return objs


# --- container settings -------------------------------------------------------------------------------------------


def test_resources_deep_merge_keeps_unset_fields() -> None:
    objs = applied({"resources": {"requests": {"memory": "999Mi"}, "limits": {"cpu": "2"}}})
    assert container_of(objs)["resources"] == {"requests": {"cpu": "500m", "memory": "999Mi"}, "limits": {"cpu": "2"}}


def test_readiness_probe_deep_merge_keeps_template_fields() -> None:
    objs = applied({"readinessProbe": {"initialDelaySeconds": 555}})
    assert container_of(objs)["readinessProbe"] == {
        "httpGet": {"path": "/ready", "port": 8080},
        "periodSeconds": 3,
        "initialDelaySeconds": 555,
    }


def test_env_replaces_by_name_in_place_and_appends_new_names() -> None:
    objs = applied(
        {
            "env": [
                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
                {"name": "GODEBUG", "value": "x509ignoreCN=0"},
            ]
        }
    )
    assert container_of(objs)["env"] == [
        {"name": "REVISION", "value": "default"},
        {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.uid"}}},
        {"name": "GODEBUG", "value": "x509ignoreCN=0"},
    ]


def test_env_entry_without_a_name_is_an_error() -> None:
    with pytest.raises(errors.RenderError, match=r"components\.pilot\.k8s\.env\[0\] must be a map with a name"):
        applied({"env": [{"value": "x"}]})


def test_image_pull_policy_is_set_on_the_main_container() -> None:
    assert container_of(applied({"imagePullPolicy": "Always"}))["imagePullPolicy"] == "Always"


def test_first_container_is_the_main_one_when_none_is_named() -> None:
    target = k8s.Target("addonComponents.kiali", "AddonComponents", "Deployment", "kiali", None)
    objs = [deployment("kiali", container="kiali")]
    k8s.apply(objs, {"imagePullPolicy": "Never"}, target)
    assert container_of(objs, "kiali")["imagePullPolicy"] == "Never"


def test_missing_main_container_is_an_error() -> None:
    objs = [deployment(container="other")]
    with pytest.raises(errors.RenderError, match="Deployment istiod has no container discovery"):
        k8s.apply(objs, {"imagePullPolicy": "Always"}, PILOT)


# --- pod settings --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("tolerations", [{"key": "example-key", "operator": "Exists", "effect": "NoSchedule"}]),
        ("priorityClassName", "system-cluster-critical"),
    ],
)
def test_list_and_scalar_pod_settings_replace(setting: str, value: Any) -> None:
    objs = applied({setting: value})
    assert pod_spec(objs)[setting] == value


def test_pod_security_context_deep_merges_and_its_lists_replace() -> None:
    objs = pilot_objects()
    pod_spec(objs)["securityContext"] = {
        "runAsUser": 1337,
        "runAsGroup": 1337,
        "runAsNonRoot": True,
        "sysctls": [{"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}],
    }
    sysctls = [{"name": "net.ipv4.ip_local_port_range", "value": "80 65535"}]
    k8s.apply(objs, {"securityContext": {"sysctls": sysctls, "fsGroup": 1337}}, PILOT)
    assert pod_spec(objs)["securityContext"] == {
        "runAsUser": 1337,
        "runAsGroup": 1337,
        "runAsNonRoot": True,
        "sysctls": sysctls,
        "fsGroup": 1337,
    }


def test_a_null_in_a_map_valued_setting_removes_the_template_key() -> None:
    objs = pilot_objects()
    pod_spec(objs)["securityContext"] = {"runAsUser": 1337, "runAsNonRoot": True}
    k8s.apply(objs, {"securityContext": {"runAsUser": None}, "resources": {"requests": {"cpu": None}}}, PILOT)
    assert pod_spec(objs)["securityContext"] == {"runAsNonRoot": True}
    assert container_of(objs)["resources"] == {"requests": {"memory": "2048Mi"}}
    k8s.apply(objs, {"securityContext": {"runAsNonRoot": None}}, PILOT)
    assert "securityContext" not in pod_spec(objs)  # no empty block left behind


def test_node_selector_and_affinity_deep_merge_into_the_template() -> None:
    objs = pilot_objects()
    anti = {"preferredDuringSchedulingIgnoredDuringExecution": [{"weight": 1, "podAffinityTerm": {"topologyKey": "h"}}]}
    pod_spec(objs)["affinity"] = {"podAntiAffinity": anti}
    node = {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [{"matchExpressions": []}]}}
    k8s.apply(objs, {"nodeSelector": {"master": "true"}, "affinity": {"nodeAffinity": node}}, PILOT)
    assert pod_spec(objs)["nodeSelector"] == {"kubernetes.io/os": "linux", "master": "true"}
    assert pod_spec(objs)["affinity"] == {"podAntiAffinity": anti, "nodeAffinity": node}


def test_tolerations_on_a_daemonset_replace_the_defaults() -> None:
    daemonset = deployment("istio-cni-node", container="install-cni")
    daemonset["kind"] = "DaemonSet"
    objs = [daemonset]
    k8s.apply(objs, {"tolerations": [{"key": "example-key", "operator": "Exists"}]}, CNI)
    assert pod_spec(objs, "DaemonSet", "istio-cni-node")["tolerations"] == [
        {"key": "example-key", "operator": "Exists"}
    ]


def test_pod_annotations_merge() -> None:
    objs = applied({"podAnnotations": {"example.com/a": "b"}})
    annotations = find(objs, "Deployment", "istiod")["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {"prometheus.io/scrape": "true", "example.com/a": "b"}


def test_set_values_are_copies_not_shared_with_the_configuration() -> None:
    settings = {"tolerations": [{"key": "k", "operator": "Exists"}]}
    objs = applied(settings)
    pod_spec(objs)["tolerations"][0]["key"] = "changed"
    assert settings["tolerations"][0]["key"] == "k"


# --- workload settings ---------------------------------------------------------------------------------------------


def test_replica_count_and_strategy_are_set_on_the_deployment() -> None:
    strategy = {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}
    spec = find(applied({"replicaCount": 3, "strategy": strategy}), "Deployment", "istiod")["spec"]
    assert spec["replicas"] == 3
    assert spec["strategy"] == strategy


@pytest.mark.parametrize(("setting", "field"), [("replicaCount", "replicas"), ("strategy", "strategy")])
def test_deployment_only_settings_on_a_daemonset_have_no_effect(setting: str, field: str) -> None:
    daemonset = deployment("istio-cni-node", container="install-cni")
    daemonset["kind"] = "DaemonSet"
    before = copy.deepcopy(daemonset)
    found = k8s.apply([daemonset], {setting: 2 if setting == "replicaCount" else {"type": "Recreate"}}, CNI)
    assert daemonset == before
    assert [f.message for f in found] == [
        f"components.cni.k8s.{setting} has no effect: DaemonSet istio-cni-node has no spec.{field}"
    ]


# --- HPA, PDB, Service -----------------------------------------------------------------------------------------------


def test_hpa_spec_deep_merges_and_metrics_replace() -> None:
    metrics = [{"resource": {"name": "memory", "target": {"type": "Utilization", "averageUtilization": 80}}}]
    spec = find(applied({"hpaSpec": {"maxReplicas": 333, "metrics": metrics}}), "HorizontalPodAutoscaler", "istiod")[
        "spec"
    ]
    assert spec == {"minReplicas": 1, "maxReplicas": 333, "metrics": metrics}


def no_effect(settings: dict[str, Any], objs: list[dict[str, Any]], target: k8s.Target = PILOT) -> list[k8s.NoEffect]:
    """Apply ``settings`` and check that nothing changed; the no-ops found."""
    before = copy.deepcopy(objs)
    found = k8s.apply(objs, settings, target)
    assert objs == before
    return found


PILOT_WITH_ROOT = k8s.Target("components.pilot", "Pilot", "Deployment", "istiod", "discovery", values_root="pilot")


def test_hpa_spec_without_an_hpa_has_no_effect_and_says_why() -> None:
    (found,) = no_effect({"hpaSpec": {"maxReplicas": 3}}, [deployment()], PILOT_WITH_ROOT)
    assert found.setting == "components.pilot.k8s.hpaSpec"
    assert found.message == (
        "components.pilot.k8s.hpaSpec has no effect: Pilot renders no HorizontalPodAutoscaler istiod: "
        "autoscaling is off for it (values.pilot.autoscaleEnabled)"
    )
    assert found.hint == "remove the setting, or turn autoscaling on"
    assert str(found) == f"{found.message}\nhint: {found.hint}"


def test_pdb_deep_merge_keeps_only_the_field_the_user_set() -> None:
    spec = find(applied({"podDisruptionBudget": {"maxUnavailable": 1}}), "PodDisruptionBudget", "istiod")["spec"]
    assert spec == {"maxUnavailable": 1}  # no `minAvailable: null` as istioctl writes


def test_pdb_min_available_replaces_template_max_unavailable() -> None:
    budget = pdb()
    budget["spec"] = {"maxUnavailable": 1}
    spec = find(applied({"podDisruptionBudget": {"minAvailable": 2}}, objs=[budget]), "PodDisruptionBudget", "istiod")
    assert spec["spec"] == {"minAvailable": 2}


def test_pdb_with_both_fields_is_an_error() -> None:
    with pytest.raises(errors.RenderError, match="sets both minAvailable and maxUnavailable"):
        applied({"podDisruptionBudget": {"minAvailable": 1, "maxUnavailable": 1}})


def test_pdb_setting_without_a_pdb_has_no_effect_and_names_the_values_that_render_one() -> None:
    (found,) = no_effect({"podDisruptionBudget": {"maxUnavailable": 1}}, [deployment(), hpa()], PILOT_WITH_ROOT)
    assert found.message == (
        "components.pilot.k8s.podDisruptionBudget has no effect: Pilot renders no PodDisruptionBudget istiod: "
        "a budget is rendered only for more than one replica (values.pilot.autoscaleMin above 1 with autoscaling, "
        "values.pilot.replicaCount above 1 without)"
    )
    assert found.hint is not None
    assert "k8s.hpaSpec.minReplicas and k8s.replicaCount only patch" in found.hint


def test_service_annotations_merge_and_service_spec_deep_merges_with_ports_replacing() -> None:
    ports = [{"name": "grpc", "port": 1234}]
    objs = applied(
        {
            "serviceAnnotations": {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"},
            "service": {"externalTrafficPolicy": "Local", "ports": ports},
        }
    )
    svc = find(objs, "Service", "istiod")
    assert svc["metadata"]["annotations"] == {"service.beta.kubernetes.io/aws-load-balancer-internal": "true"}
    assert svc["spec"] == {"ports": ports, "externalTrafficPolicy": "Local"}


def test_gateway_service_ports_come_from_values_so_the_patch_leaves_them() -> None:
    objs = [deployment("gw", container="istio-proxy"), service("gw")]
    k8s.apply(objs, {"service": {"ports": [{"name": "x", "port": 1}], "externalTrafficPolicy": "Local"}}, GATEWAY)
    assert find(objs, "Service", "gw")["spec"]["ports"] == service("gw")["spec"]["ports"]
    assert find(objs, "Service", "gw")["spec"]["externalTrafficPolicy"] == "Local"


def test_service_settings_without_a_service_have_no_effect() -> None:
    daemonset = deployment("istio-cni-node", container="install-cni")
    daemonset["kind"] = "DaemonSet"
    found = no_effect({"serviceAnnotations": {"a": "b"}, "service": {"type": "NodePort"}}, [daemonset], CNI)
    assert [(f.message, f.hint) for f in found] == [
        ("components.cni.k8s.serviceAnnotations has no effect: Cni renders no Service istio-cni-node",
         "remove the setting"),
        ("components.cni.k8s.service has no effect: Cni renders no Service istio-cni-node", "remove the setting"),
    ]  # fmt: skip


def test_target_with_another_name_is_listed() -> None:
    (found,) = no_effect({"serviceAnnotations": {"a": "b"}}, [deployment(), service("other")])
    assert found.reason == "Pilot renders no Service istiod (Services of Pilot: other)"


def test_workload_settings_on_base_have_no_effect() -> None:
    found = no_effect({"nodeSelector": {"a": "b"}, "env": [{"name": "A", "value": "1"}]}, [], BASE)
    assert [f.message for f in found] == [
        "components.base.k8s.env has no effect: Base has no workload",
        "components.base.k8s.nodeSelector has no effect: Base has no workload",
    ]  # in the order of application
    assert {f.hint for f in found} == {"only k8s.overlays apply to this component"}


def test_unknown_setting_is_an_error() -> None:
    with pytest.raises(errors.RenderError, match=r"components\.pilot\.k8s\.bogus is not a k8s setting"):
        applied({"bogus": []})


def test_volumes_and_volume_mounts_are_accepted_and_not_applied_as_istioctl_does() -> None:
    assert applied({"volumes": [{"name": "x"}], "volumeMounts": [{"name": "x"}]}) == pilot_objects()


def test_null_settings_are_ignored() -> None:
    objs = applied({"resources": None, "env": None})
    assert objs == pilot_objects()


# --- overlays -----------------------------------------------------------------------------------------------------


def overlay(kind: str, name: str, *patches: dict[str, Any]) -> dict[str, Any]:
    return {"overlays": [{"kind": kind, "name": name, "patches": list(patches)}]}


def test_overlay_sets_through_selectors_and_scalar_values() -> None:
    objs = applied(
        overlay(
            "Deployment",
            "istiod",
            {"path": "spec.template.spec.containers.[name:discovery].args.[30m]", "value": "60m"},
            {
                "path": "spec.template.spec.containers[name:discovery].ports[containerPort:8080].containerPort",
                "value": 1234,
            },
            {"path": "spec.template.spec.containers.[name:discovery].env.[name:REVISION]"},
            {"path": "spec.template.spec.containers.[name:discovery].securityContext"},
        )
    )
    container = container_of(objs)
    assert container["args"] == ["discovery", "--keepaliveMaxServerConnectionAge", "60m"]
    assert container["ports"] == [{"containerPort": 1234, "name": "http-debug"}]
    assert [e["name"] for e in container["env"]] == ["POD_NAME"]
    assert "securityContext" not in container


def test_overlay_creates_missing_map_keys_and_appends_at_the_list_length() -> None:
    objs = applied(
        overlay(
            "Deployment",
            "istiod",
            {"path": "spec.template.spec.hostNetwork", "value": True},
            {"path": "metadata.annotations.example\\.com/owner", "value": "team-a"},
            {"path": "spec.template.spec.tolerations[1]", "value": {"key": "k", "operator": "Exists"}},
        )
    )
    obj = find(objs, "Deployment", "istiod")
    assert obj["spec"]["template"]["spec"]["hostNetwork"] is True
    assert obj["metadata"]["annotations"] == {"example.com/owner": "team-a"}
    assert obj["spec"]["template"]["spec"]["tolerations"][1] == {"key": "k", "operator": "Exists"}


def test_overlay_multiline_mapping_string_becomes_a_mapping() -> None:
    value = "fieldRef:\n  apiVersion: v2\n  fieldPath: metadata.myPath\n"
    objs = applied(
        overlay(
            "Deployment",
            "istiod",
            {"path": "spec.template.spec.containers.[name:discovery].env.[name:POD_NAME].valueFrom", "value": value},
        )
    )
    assert container_of(objs)["env"][1]["valueFrom"] == {
        "fieldRef": {"apiVersion": "v2", "fieldPath": "metadata.myPath"}
    }


@pytest.mark.parametrize("value", ["fooPort: 15015", "line one\nline two\n", "[a, b]\n- c\n"])
def test_overlay_other_strings_stay_strings(value: str) -> None:
    objs = applied(overlay("Service", "istiod", {"path": "metadata.annotations.note", "value": value}))
    assert find(objs, "Service", "istiod")["metadata"]["annotations"]["note"] == value


def test_overlay_applies_to_webhooks_by_escaped_name_selector() -> None:
    webhook = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "istio-sidecar-injector"},
        "webhooks": [{"name": "namespace.sidecar-injector.istio.io", "clientConfig": {"service": {"name": "istiod"}}}],
    }
    path = "webhooks.[name:namespace\\.sidecar-injector\\.istio\\.io].clientConfig.service.name"
    objs = applied(
        overlay("MutatingWebhookConfiguration", "istio-sidecar-injector", {"path": path, "value": "foo"}),
        objs=[webhook],
    )
    assert objs[0]["webhooks"][0]["clientConfig"]["service"]["name"] == "foo"


def test_overlay_works_on_base_objects() -> None:
    account = {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "istio-reader-service-account"}}
    objs = [account]
    k8s.apply(
        objs,
        overlay(
            "ServiceAccount", "istio-reader-service-account", {"path": "automountServiceAccountToken", "value": False}
        ),
        BASE,
    )
    assert account["automountServiceAccountToken"] is False


def test_overlays_apply_after_settings() -> None:
    settings = {
        "imagePullPolicy": "Always",
        **overlay(
            "Deployment", "istiod", {"path": "spec.template.spec.containers[0].imagePullPolicy", "value": "Never"}
        ),
    }
    assert container_of(applied(settings))["imagePullPolicy"] == "Never"


def test_overlay_matching_no_object_has_no_effect_and_lists_what_exists() -> None:
    (found,) = no_effect(overlay("Deployment", "istio-pilot", {"path": "spec.replicas", "value": 1}), pilot_objects())
    assert found.message == "components.pilot.k8s.overlays[0] has no effect: Pilot renders no Deployment istio-pilot"
    assert found.hint == "Deployments of Pilot here: istiod"
    (found,) = no_effect(overlay("ConfigMap", "x", {"path": "data.a", "value": "1"}), pilot_objects())
    assert found.hint == "Pilot renders these kinds: Deployment, HorizontalPodAutoscaler, PodDisruptionBudget, Service"


def test_overlay_matching_no_object_still_checks_its_paths() -> None:
    with pytest.raises(errors.PathError, match="unterminated"):
        applied(overlay("ConfigMap", "x", {"path": "data.[a", "value": "1"}))


def test_overlay_without_kind_or_name_is_an_error() -> None:
    with pytest.raises(errors.RenderError, match=r"overlays\[0\] needs a kind and a name"):
        applied({"overlays": [{"kind": "Deployment", "patches": []}]})


def test_overlay_patch_without_a_path_is_an_error() -> None:
    with pytest.raises(errors.RenderError, match=r"overlays\[0\]\.patches\[0\] needs a path"):
        applied(overlay("Deployment", "istiod", {"value": 1}))


@pytest.mark.parametrize(
    ("path", "reason"),
    [
        (
            "spec.template.spec.containers.[name:nope].image",
            "no element of spec.template.spec.containers has name=nope in Deployment istiod",
        ),
        (
            "spec.template.spec.containers.[name:discovery].args.[45m]",
            "no element of spec.template.spec.containers[name:discovery].args equals '45m' in Deployment istiod",
        ),
        (
            "spec.template.spec.volumes.[name:x].secret",
            "spec.template.spec.volumes does not exist, so nothing can be selected in it in Deployment istiod",
        ),
    ],
)
def test_overlay_selector_that_matches_nothing_has_no_effect(path: str, reason: str) -> None:
    found = no_effect(overlay("Deployment", "istiod", {"path": path, "value": "x"}), pilot_objects())
    assert [(f.setting, f.reason) for f in found] == [("components.pilot.k8s.overlays[0].patches[0]", reason)]


def test_overlay_patches_after_one_without_effect_still_apply() -> None:
    objs = applied(
        overlay(
            "Deployment",
            "istiod",
            {"path": "spec.template.spec.containers.[name:nope].image", "value": "x"},
            {"path": "spec.template.spec.containers.[name:discovery].image", "value": "y"},
        )
    )
    assert container_of(objs)["image"] == "y"


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("spec.template.spec.containers[5].image", "index 5 is out of range"),
        ("spec.strategy.rollingUpdate.maxSurge.foo", "maxSurge is a string"),
    ],
)
def test_overlay_path_through_the_wrong_type_or_past_the_end_is_an_error(path: str, message: str) -> None:
    with pytest.raises(errors.PathError, match=message) as info:
        applied(overlay("Deployment", "istiod", {"path": path, "value": "x"}))
    assert not isinstance(info.value, errors.PathNotFound)
    assert info.value.message.startswith("components.pilot.k8s.overlays[0].patches[0].path: ")
    assert info.value.exit_code == 3


def test_overlay_deleting_what_does_not_exist_has_no_effect() -> None:
    (found,) = no_effect(overlay("Deployment", "istiod", {"path": "spec.template.spec.hostNetwork"}), pilot_objects())
    assert found.reason == "no key 'hostNetwork' in spec.template.spec in Deployment istiod"
    assert found.hint is not None
    assert "hostNetwork" not in found.hint


def test_overlay_caret_points_at_the_bad_segment() -> None:
    path = "spec.strategy.rollingUpdate.maxSurge.foo"
    with pytest.raises(errors.PathError) as info:
        applied(overlay("Deployment", "istiod", {"path": path, "value": "x"}))
    exc = info.value
    assert exc.segment_start is not None
    assert exc.path[exc.segment_start : exc.segment_end] == "foo"


def test_overlay_applies_to_every_object_of_that_kind_and_name() -> None:
    objs = [service(), copy.deepcopy(service())]
    objs[1]["metadata"]["namespace"] = "other"
    k8s.apply(objs, overlay("Service", "istiod", {"path": "spec.type", "value": "NodePort"}), PILOT)
    assert [o["spec"]["type"] for o in objs] == ["NodePort", "NodePort"]


def test_pipeline_applies_settings_then_overlays_before_labels(fake_manifests: Path) -> None:
    config = make_config(
        fake_manifests,
        components={
            "pilot": {
                "k8s": {
                    "nodeSelector": {"master": "true"},
                    "overlays": [
                        {
                            "kind": "Service",
                            "name": "istiod",
                            "patches": [{"path": "metadata.labels", "value": {"x": "y"}}],
                        }
                    ],
                }
            }
        },
    )
    objs = pipeline.render_manifests(config)
    assert pod_spec(objs)["nodeSelector"] == {"master": "true"}
    labels = find(objs, "Service", "istiod")["metadata"]["labels"]
    assert labels["x"] == "y"
    assert labels["app.kubernetes.io/managed-by"] == "meshctl"  # overlays cannot drop the pipeline's labels


def test_pipeline_targets_the_revisioned_workload(fake_manifests: Path) -> None:
    config = make_config(fake_manifests, components={"pilot": {"k8s": {"replicaCount": 2}}}, revision="canary")
    assert find(pipeline.render_manifests(config), "Deployment", "istiod-canary")["spec"]["replicas"] == 2
