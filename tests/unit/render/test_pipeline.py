"""The pipeline against small templates: enablement, context, labels, membership, ordering, errors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from meshctl import errors, objects
from meshctl.render import components, pipeline
from tests.unit.render.conftest import find, make_config, write_manifests


def kinds_and_names(objs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(o["kind"], o["metadata"]["name"]) for o in objs]


def test_default_components_render_in_the_one_order(fake_manifests: Path) -> None:
    objs = pipeline.render_manifests(make_config(fake_manifests))
    assert kinds_and_names(objs) == [
        ("CustomResourceDefinition", "widgets.example.istio.io"),
        ("ServiceAccount", "istio-reader-service-account"),
        ("ConfigMap", "istio"),
        ("Service", "istiod"),
        ("Service", "istio-ingressgateway"),
        ("Deployment", "istiod"),
        ("Deployment", "istio-ingressgateway"),
        ("HorizontalPodAutoscaler", "istiod"),
        ("HorizontalPodAutoscaler", "istio-ingressgateway"),
        ("MutatingWebhookConfiguration", "istio-sidecar-injector"),
    ]


def test_order_is_kind_rank_then_component_then_namespace_then_name(fake_manifests: Path) -> None:
    config = make_config(
        fake_manifests,
        components={
            "pilot": {},
            "ingressGateways": [
                {"name": "zz-gw", "namespace": "aaa"},
                {"name": "aa-gw", "namespace": "zzz"},
                {"name": "mm-gw", "namespace": "aaa"},
            ],
            "cni": {},
        },
    )
    objs = pipeline.render_manifests(config)
    assert objs == sorted(objs, key=objects.sort_key)
    deployments = [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in objs if o["kind"] == "Deployment"]
    assert deployments == [("istio-system", "istiod"), ("aaa", "mm-gw"), ("aaa", "zz-gw"), ("zzz", "aa-gw")]
    workloads = [o["kind"] for o in objs if o["kind"] in ("Deployment", "DaemonSet")]
    assert workloads == ["Deployment", "DaemonSet", "Deployment", "Deployment", "Deployment"]  # Pilot, Cni, gateways


def test_present_component_without_enabled_counts_as_enabled_and_false_disables(fake_manifests: Path) -> None:
    objs = pipeline.render_manifests(make_config(fake_manifests, components={"cni": {}, "pilot": {"enabled": False}}))
    assert kinds_and_names(objs) == [("DaemonSet", "istio-cni-node")]


def test_empty_configuration_renders_nothing(fake_manifests: Path) -> None:
    assert pipeline.render_manifests(make_config(fake_manifests, components={})) == []


def test_values_enabled_forces_the_listed_gateways_of_that_kind(fake_manifests: Path) -> None:
    config = make_config(fake_manifests, values={"gateways": {"istio-egressgateway": {"enabled": True}}})
    objs = pipeline.render_manifests(config)
    service = find(objs, "Service", "istio-egressgateway")
    assert service["spec"]["type"] == "ClusterIP"
    assert service["metadata"]["labels"][objects.COMPONENT_LABEL] == "EgressGateways"


def test_gateway_without_a_name_gets_the_default_name_of_its_kind(fake_manifests: Path) -> None:
    config = make_config(fake_manifests, components={"ingressGateways": [{"enabled": True}]})
    find(pipeline.render_manifests(config), "Deployment", "istio-ingressgateway")


def test_two_gateways_with_one_name_are_an_error(fake_manifests: Path) -> None:
    config = make_config(fake_manifests, components={"ingressGateways": [{"name": "gw"}, {"name": "gw"}]})
    with pytest.raises(errors.RenderError, match="Deployment istio-system/gw is rendered twice") as info:
        pipeline.render_manifests(config)
    assert info.value.exit_code == 3


def test_several_gateways_get_their_own_objects_and_custom_labels(fake_manifests: Path) -> None:
    config = make_config(
        fake_manifests,
        components={
            "ingressGateways": [
                {"name": "istio-ingressgateway"},
                {"name": "internal-gw", "label": {"istio": "internal", "team": "a"}, "namespace": "edge"},
            ]
        },
    )
    objs = pipeline.render_manifests(config)
    internal = find(objs, "Deployment", "internal-gw")
    assert internal["metadata"]["namespace"] == "edge"
    assert internal["spec"]["selector"]["matchLabels"] == {
        "app": "istio-ingressgateway",
        "istio": "internal",
        "team": "a",
    }
    assert find(objs, "Deployment", "istio-ingressgateway")["spec"]["selector"]["matchLabels"] == {
        "app": "istio-ingressgateway",
        "istio": "ingressgateway",
    }


def test_gateway_context_takes_ports_hpa_replicas_hub_and_tag_from_the_entry(fake_manifests: Path) -> None:
    entry = {
        "name": "gw",
        "hub": "example.com/mirror",
        "tag": "1.30.3-custom",
        "k8s": {
            "service": {"ports": [{"name": "https", "port": 443, "targetPort": 8443}]},
            "hpaSpec": {"minReplicas": 2, "maxReplicas": 9},
            "replicaCount": 3,
        },
    }
    objs = pipeline.render_manifests(make_config(fake_manifests, components={"ingressGateways": [entry]}))
    deployment = find(objs, "Deployment", "gw")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "example.com/mirror/proxyv2:1.30.3-custom"
    assert container["ports"] == [{"containerPort": 8443, "protocol": "TCP"}]
    assert deployment["spec"]["replicas"] == 3
    assert find(objs, "Service", "gw")["spec"]["ports"] == [{"name": "https", "port": 443, "targetPort": 8443}]
    hpa = find(objs, "HorizontalPodAutoscaler", "gw")["spec"]
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 9)


def test_context_names_revision_namespace_owner_and_version(fake_manifests: Path) -> None:
    config = make_config(
        fake_manifests, components={"pilot": {"namespace": "istio-control"}}, revision="canary", name="my-iop"
    )
    objs = pipeline.render_manifests(config)
    deployment = find(objs, "Deployment", "istiod-canary")
    assert deployment["metadata"]["namespace"] == "istio-control"
    assert deployment["metadata"]["labels"]["istio.io/rev"] == "canary"
    webhook = find(objs, "MutatingWebhookConfiguration", "istio-sidecar-injector-canary")
    assert webhook["webhooks"][0]["clientConfig"]["service"]["name"] == "istiod-canary"
    data = find(objs, "ConfigMap", "istio-canary")["data"]
    assert data["owner"] == "my-iop"
    assert data["version"] == "1.30.3"
    assert deployment["metadata"]["labels"]["install.operator.istio.io/owning-resource"] == "my-iop"


def test_values_are_shared_defaults_then_component_defaults_then_effective_values(fake_manifests: Path) -> None:
    config = make_config(
        fake_manifests,
        components={"pilot": {}},
        values={"global": {"istioNamespace": "istio-system", "hub": "quay.io/me"}, "pilot": {"autoscaleMin": 3}},
    )
    objs = pipeline.render_manifests(config)
    assert find(objs, "Deployment", "istiod")["spec"]["template"]["spec"]["containers"][0]["image"] == (
        "quay.io/me/pilot:1.30.3"
    )
    assert find(objs, "HorizontalPodAutoscaler", "istiod")["spec"]["minReplicas"] == 3
    assert find(objs, "HorizontalPodAutoscaler", "istiod")["spec"]["maxReplicas"] == 5  # component default kept
    find(objs, "PodDisruptionBudget", "istiod")  # rendered because the minimum is above 1


def test_values_passed_to_templates_are_not_changed_by_rendering(fake_manifests: Path) -> None:
    values = {"global": {"istioNamespace": "istio-system", "hub": "quay.io/me"}}
    config = make_config(fake_manifests, values=values)
    pipeline.render_manifests(config)
    assert config.values == values


def test_addon_context_uses_the_addon_values_and_entry_hub_and_tag(fake_manifests: Path) -> None:
    config = make_config(
        fake_manifests, components={}, addons={"prometheus": {"tag": "v9"}, "grafana": {"enabled": False}}
    )
    objs = pipeline.render_manifests(config)
    deployment = find(objs, "Deployment", "prometheus")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "docker.io/prom/prometheus:v9"
    assert deployment["metadata"]["labels"][objects.COMPONENT_LABEL] == "AddonComponents"
    assert deployment["metadata"]["labels"]["helm.sh/chart"] == "prometheus-1.30.3"


def test_every_object_gets_the_common_labels_and_template_labels_survive(fake_manifests: Path) -> None:
    objs = pipeline.render_manifests(make_config(fake_manifests, components={**_all(), "cni": {}, "ztunnel": {}}))
    for obj in objs:
        labels = obj["metadata"]["labels"]
        assert labels["app.kubernetes.io/managed-by"] == "meshctl"
        assert labels["app.kubernetes.io/instance"] == "istio"
        assert labels["app.kubernetes.io/part-of"] == "istio"
        assert labels["app.kubernetes.io/version"] == "1.30.3"
        assert labels["install.operator.istio.io/owning-resource"] == "unknown"
        assert labels[objects.PART_OF_LABEL].startswith("applyset-")
        assert list(labels) == sorted(labels)
    assert find(objs, "ServiceAccount", "istio-reader-service-account")["metadata"]["labels"]["app"] == "istio-reader"
    charts = {o["metadata"]["labels"][objects.COMPONENT_LABEL]: o["metadata"]["labels"]["helm.sh/chart"] for o in objs}
    assert charts == {
        "Base": "base-1.30.3",
        "Pilot": "istiod-1.30.3",
        "Cni": "cni-1.30.3",
        "Ztunnel": "ztunnel-1.30.3",
        "IngressGateways": "istio-ingress-1.30.3",
    }


def _all() -> dict[str, Any]:
    return {"base": {}, "pilot": {}, "ingressGateways": [{"name": "istio-ingressgateway"}]}


@pytest.mark.parametrize(("revision", "parent"), [("", "meshctl-default"), ("canary", "meshctl-canary")])
def test_membership_base_objects_belong_to_meshctl_base_the_rest_to_the_revision(
    fake_manifests: Path, revision: str, parent: str
) -> None:
    objs = pipeline.render_manifests(make_config(fake_manifests, revision=revision, istio_namespace="mesh"))
    base_id = objects.applyset_id("meshctl-base", "mesh")
    revision_id = objects.applyset_id(parent, "mesh")
    for obj in objs:
        labels = obj["metadata"]["labels"]
        expected = base_id if labels[objects.COMPONENT_LABEL] == "Base" else revision_id
        assert labels[objects.PART_OF_LABEL] == expected


def test_component_filter_keeps_only_those_components(fake_manifests: Path) -> None:
    result = pipeline.render(make_config(fake_manifests), components=["pilot", "IngressGateways"])
    assert {o["metadata"]["labels"][objects.COMPONENT_LABEL] for o in result.objects} == {"Pilot", "IngressGateways"}
    assert result.warnings == ()


def test_component_filter_warns_about_a_component_that_is_not_enabled(fake_manifests: Path) -> None:
    result = pipeline.render(make_config(fake_manifests), components=["Cni"])
    assert result.objects == []
    assert result.warnings == ("component Cni is not enabled in this configuration; nothing rendered for it",)


def test_unknown_component_name_is_a_usage_error_naming_the_valid_ones(fake_manifests: Path) -> None:
    with pytest.raises(errors.UsageError, match="unknown component 'Pilott'") as info:
        pipeline.render(make_config(fake_manifests), components=["Pilott"])
    assert info.value.hint == (
        "valid components: Base, Pilot, Cni, Ztunnel, IngressGateways, EgressGateways, AddonComponents"
    )


@pytest.mark.parametrize(
    ("name", "label"),
    [("pilot", "Pilot"), ("PILOT", "Pilot"), ("ingressGateways", "IngressGateways"), ("kiali", "AddonComponents")],
)
def test_component_names_resolve_case_insensitively(name: str, label: str) -> None:
    assert components.resolve_label(name) == label


def test_by_component_groups_in_component_order(fake_manifests: Path) -> None:
    result = pipeline.render(make_config(fake_manifests, components={**_all(), "cni": {}}))
    grouped = result.by_component()
    assert list(grouped) == ["Base", "Pilot", "Cni", "IngressGateways"]
    assert sum(len(v) for v in grouped.values()) == len(result.objects)


def test_rendering_is_deterministic(fake_manifests: Path) -> None:
    config = make_config(fake_manifests, components={**_all(), "cni": {}, "ztunnel": {}}, revision="r1")
    assert pipeline.render_manifests(config) == pipeline.render_manifests(config)


def test_missing_template_directory_is_a_render_error(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    config = make_config(tmp_path, components={"pilot": {}})
    with pytest.raises(errors.RenderError, match=r"no templates for component Pilot: .*pilot is not a directory"):
        pipeline.render_manifests(config)


def test_undefined_template_value_names_the_template(tmp_path: Path) -> None:
    root = write_manifests(tmp_path, {"cni/daemonset.yaml.j2": "{{ values.cni.nope }}\n"})
    with pytest.raises(errors.RenderError, match=r"template .*daemonset\.yaml\.j2: undefined value"):
        pipeline.render_manifests(make_config(root, components={"cni": {}}))


def test_document_without_a_name_is_a_render_error(tmp_path: Path) -> None:
    root = write_manifests(tmp_path, {"cni/daemonset.yaml.j2": "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n"})
    with pytest.raises(errors.RenderError, match=r"produced a ConfigMap without metadata\.name"):
        pipeline.render_manifests(make_config(root, components={"cni": {}}))


def test_namespaces_for_lists_each_used_namespace_except_builtin_ones(fake_manifests: Path) -> None:
    config = make_config(
        fake_manifests,
        components={
            "pilot": {},
            "cni": {"namespace": "kube-system"},
            "ingressGateways": [{"name": "g", "namespace": "edge"}],
        },
        values={"global": {"istioNamespace": "istio-system", "network": "net1"}},
    )
    objs = pipeline.render_manifests(config)
    namespaces = pipeline.namespaces_for(config, objs)
    assert namespaces == [
        {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {"name": n, "labels": {"topology.istio.io/network": "net1"}},
        }
        for n in ("edge", "istio-system")
    ]
    assert pipeline.namespaces_for(config, []) == []


def test_namespace_of_cluster_scoped_only_output_is_the_istio_namespace(fake_manifests: Path) -> None:
    config = make_config(fake_manifests, components={"base": {}})
    objs = [o for o in pipeline.render_manifests(config) if o["kind"] == "CustomResourceDefinition"]
    assert pipeline.namespaces_for(config, objs) == [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}
    ]


def test_component_table_names_labels_progress_names_and_workloads() -> None:
    assert components.LABELS == (
        "Base", "Pilot", "Cni", "Ztunnel", "IngressGateways", "EgressGateways", "AddonComponents",
    )  # fmt: skip
    assert components.PROGRESS_NAMES == {
        "Base": "Istio core",
        "Pilot": "Istiod",
        "Cni": "CNI",
        "Ztunnel": "Ztunnel",
        "IngressGateways": "Ingress gateways",
        "EgressGateways": "Egress gateways",
        "AddonComponents": "Addons",
    }
    rows = {
        c.key: (c.template_dir, c.chart, c.values_root, c.workload_kind, c.container) for c in components.COMPONENTS
    }
    assert rows == {
        "base": ("base", "base", "global", None, None),
        "pilot": ("pilot", "istiod", "pilot", "Deployment", "discovery"),
        "cni": ("cni", "cni", "cni", "DaemonSet", "install-cni"),
        "ztunnel": ("ztunnel", "ztunnel", "ztunnel", "DaemonSet", "istio-proxy"),
        "ingressGateways": ("gateway", "istio-ingress", "gateways.istio-ingressgateway", "Deployment", "istio-proxy"),
        "egressGateways": ("gateway", "istio-egress", "gateways.istio-egressgateway", "Deployment", "istio-proxy"),
        "prometheus": ("addons/prometheus", "prometheus", "prometheus", "Deployment", None),
        "grafana": ("addons/grafana", "grafana", "grafana", "Deployment", None),
        "kiali": ("addons/kiali", "kiali", "kiali", "Deployment", None),
        "tracing": ("addons/jaeger", "jaeger", "tracing", "Deployment", None),
    }
