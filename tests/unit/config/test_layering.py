"""Layering order, merge rules, translation into values and the component table (config.md §1-3)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest

from meshctl import ISTIO_VERSION, errors
from meshctl.config import layering, merging, profiles

ALL_PROFILES = [
    "ambient",
    "default",
    "demo",
    "empty",
    "minimal",
    "openshift",
    "openshift-ambient",
    "preview",
    "remote",
    "stable",
]


def build(*sets: str, files: tuple[str, ...] = (), **kwargs: Any) -> layering.EffectiveConfig:
    return layering.build_effective_config(layering.ConfigInput(files=files, sets=sets, **kwargs))


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def enabled(config: layering.EffectiveConfig) -> list[tuple[str, str, str]]:
    return [(c.key, c.name, c.namespace) for c in layering.enabled_components(config)]


def test_all_ten_profiles_are_listed_and_valid() -> None:
    assert profiles.list_profiles() == ALL_PROFILES
    for name in ALL_PROFILES:
        config = build(profile=name)
        assert config.warnings == ()
        assert config.profile == name
        assert config.spec["profile"] == name
        assert config.values["global"]["hub"] == "docker.io/istio"
        assert config.values["global"]["tag"] == ISTIO_VERSION


@pytest.mark.parametrize(
    ("profile", "expected"),
    [
        ("default", ["base", "pilot", "ingressGateways"]),
        ("demo", ["base", "pilot", "ingressGateways", "egressGateways", "prometheus", "grafana", "kiali", "tracing"]),
        ("minimal", ["base", "pilot"]),
        ("empty", []),
        ("preview", ["base", "pilot", "ingressGateways"]),
        ("remote", ["base", "pilot"]),
        ("stable", ["base", "pilot", "ingressGateways"]),
        ("ambient", ["base", "pilot", "cni", "ztunnel"]),
        ("openshift", ["base", "pilot", "cni", "ingressGateways"]),
        ("openshift-ambient", ["base", "pilot", "cni", "ztunnel"]),
    ],
)
def test_profile_components(profile: str, expected: list[str]) -> None:
    assert [key for key, _name, _ns in enabled(build(profile=profile))] == expected


def test_profile_values() -> None:
    demo = build(profile="demo").values
    assert demo["profile"] == "demo"
    assert demo["meshConfig"]["accessLogFile"] == "/dev/stdout"
    assert [p["name"] for p in demo["gateways"]["istio-ingressgateway"]["ports"]] == [
        "status-port",
        "http2",
        "https",
        "tcp",
        "tls",
    ]
    assert demo["pilot"]["autoscaleEnabled"] is False
    assert demo["pilot"]["traceSampling"] == 100
    ambient = build(profile="ambient").values
    assert ambient["global"]["variant"] == "distroless"
    assert ambient["pilot"]["env"]["PILOT_ENABLE_AMBIENT"] == "true"
    assert ambient["pilot"]["cni"]["enabled"] is True
    assert ambient["meshConfig"]["defaultConfig"]["proxyMetadata"]["ISTIO_META_ENABLE_HBONE"] == "true"
    openshift = build(profile="openshift")
    assert openshift.values["cni"]["provider"] == "multus"  # platform layer
    assert openshift.values["pilot"]["cni"]["provider"] == "multus"
    assert layering.find_component(openshift, "cni") is not None
    assert enabled(openshift)[2] == ("cni", "cni", "kube-system")
    remote = build(profile="remote").values
    assert remote["pilot"]["configMap"] is False
    assert remote["istiodRemote"]["enabled"] is True
    assert build(profile="stable").values["experimental"]["stableValidationPolicy"] is True
    assert build().values["profile"] == "default"


def test_profile_precedence(tmp_path: Path) -> None:
    empty = write(tmp_path, "empty.yaml", "spec:\n  profile: empty\n")
    # istioctl-behaviours §3 example 16: the flag beats the file
    assert build("profile=minimal", files=(empty,)).profile == "minimal"
    assert build(files=(empty,)).profile == "empty"
    # the positional argument is below files and --set; the last --set wins
    assert build(files=(empty,), profile="demo").profile == "empty"
    assert build("profile=demo", "profile=ambient", profile="minimal").profile == "ambient"
    assert build(profile="demo").profile == "demo"


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(errors.InputError) as info:
        build("profile=dmeo")
    assert info.value.message == "unknown profile 'dmeo'"
    assert info.value.hint is not None
    assert info.value.hint.startswith("did you mean demo? known: ambient, default, demo")
    with pytest.raises(errors.InputError, match=r"unknown profile '\.\./etc/passwd'"):
        build("profile=../etc/passwd")


def test_files_layer_in_order_and_sets_apply_to_the_merged_tree(tmp_path: Path) -> None:
    # istioctl-behaviours §3 example 14
    gateways = write(
        tmp_path,
        "gateways.yaml",
        "spec:\n  components:\n    ingressGateways:\n"
        "    - name: istio-ingressgateway\n      k8s:\n        resources:\n          requests: {cpu: 111m}\n"
        "    - name: user-ingressgateway\n      k8s:\n        resources:\n          requests: {memory: 888Mi}\n",
    )
    config = build(
        "components.ingressGateways.[0].k8s.resources.requests.memory=999Mi",
        "components.ingressGateways.[name:user-ingressgateway].k8s.resources.requests.cpu=555m",
        files=(gateways,),
    )
    entries = config.spec["components"]["ingressGateways"]
    assert entries[0]["k8s"]["resources"]["requests"] == {"cpu": "111m", "memory": "999Mi"}
    assert entries[1]["k8s"]["resources"]["requests"] == {"memory": "888Mi", "cpu": "555m"}
    assert [(c.name, c.enabled) for c in config.components if c.is_gateway and c.key == "ingressGateways"] == [
        ("istio-ingressgateway", True),
        ("user-ingressgateway", True),
    ]
    second = write(tmp_path, "second.yaml", "spec:\n  hub: second.io/istio\n")
    first = write(tmp_path, "first.yaml", "spec:\n  hub: first.io/istio\n  tag: '1.2'\n")
    both = build(files=(first, second))
    assert both.values["global"]["hub"] == "second.io/istio"
    assert both.values["global"]["tag"] == "1.2"


def test_set_addresses_the_profile_gateway() -> None:
    config = build("components.ingressGateways[name:istio-ingressgateway].enabled=false")
    assert config.spec["components"]["ingressGateways"] == [{"name": "istio-ingressgateway", "enabled": False}]
    assert "ingressGateways" not in [key for key, _n, _ns in enabled(config)]


def test_merge_rules() -> None:
    base = {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "keep": True}
    overlay = {"a": {"c": [3], "d": None, "f": "new"}}
    assert merging.merge(base, overlay) == {"a": {"b": 1, "c": [3], "f": "new"}, "keep": True}
    assert base["a"]["d"] == {"e": 1}  # inputs untouched


def test_null_in_a_file_removes_a_profile_key(tmp_path: Path) -> None:
    no_egress = write(
        tmp_path, "f.yaml", "spec:\n  components:\n    egressGateways: null\n  values:\n    gateways: null\n"
    )
    config = build(files=(no_egress,))
    assert "egressGateways" not in config.spec["components"]
    assert "gateways" not in config.values


def test_stdin_only_last(tmp_path: Path) -> None:
    other = write(tmp_path, "a.yaml", "spec: {}\n")
    with pytest.raises(errors.UsageError, match="only be the last"):
        layering.build_effective_config(layering.ConfigInput(files=("-", other)), stdin=io.StringIO(""))
    config = layering.build_effective_config(
        layering.ConfigInput(files=(other, "-")), stdin=io.StringIO("spec:\n  revision: canary\n")
    )
    assert config.revision == "canary"


def test_translation_of_hub_tag_revision_meshconfig_and_compatibility() -> None:
    # istioctl-behaviours §3 example 15 (hub and tag reach the values the images are built from)
    config = build("profile=minimal", "hub=foo", "tag=bar")
    assert config.values["global"]["hub"] == "foo"
    assert config.values["global"]["tag"] == "bar"
    # user values beat spec.hub; spec.meshConfig merges into values.meshConfig, user values.meshConfig wins
    config = build(
        "hub=spec.io/x",
        "values.global.hub=values.io/x",
        "meshConfig.accessLogFile=/spec",
        "meshConfig.enableTracing=true",
        "values.meshConfig.accessLogFile=/values",
        profile="demo",
    )
    assert config.values["global"]["hub"] == "values.io/x"
    assert config.values["meshConfig"]["accessLogFile"] == "/values"
    assert config.values["meshConfig"]["enableTracing"] is True
    assert config.values["meshConfig"]["extensionProviders"][0]["name"] == "otel"  # the profile's, kept
    # a profile's values.global.hub loses to spec.hub
    assert build("hub=spec.io/y").values["global"]["hub"] == "spec.io/y"
    config = build("compatibilityVersion=1.25")
    assert config.values["compatibilityVersion"] == "1.25"
    assert config.values["pilot"]["env"]["ENABLE_NATIVE_SIDECARS"] == "false"
    assert config.values["cni"]["ambient"]["shareHostNetworkNamespace"] is True
    # user values beat the compatibility layer
    config = build("compatibilityVersion=1.25", "values.pilot.env.ENABLE_NATIVE_SIDECARS=true")
    assert config.values["pilot"]["env"]["ENABLE_NATIVE_SIDECARS"] == "true"


def test_revision_flag_equals_set_revision() -> None:
    # istioctl-behaviours §3 example 18
    by_flag = build(revision="foo")
    by_set = build("revision=foo")
    assert by_flag.values == by_set.values
    assert by_flag.revision == by_set.revision == "foo"
    assert by_flag.values["revision"] == "foo"
    assert build(revision="default").revision == ""
    assert build("revision=canary", revision="stable").revision == "stable"  # the alias comes last


def test_manifests_flag_equals_install_package_path(tmp_path: Path) -> None:
    # istioctl-behaviours §3 example 20: profiles come from DIR/profiles
    root = tmp_path / "pkg"
    (root / "profiles").mkdir(parents=True)
    source = profiles.load_profile("default")
    from meshctl import yamlio

    source["spec"]["hub"] = "custom.io/istio"
    (root / "profiles" / "default.yaml").write_text(yamlio.dump_yaml(source))
    (root / "profiles" / "tiny.yaml").write_text("spec:\n  components:\n    pilot:\n      enabled: false\n")
    by_flag = build(profile="tiny", manifests=str(root))
    by_set = build(f"installPackagePath={root}", profile="tiny")
    assert by_flag.values == by_set.values
    assert by_flag.values["global"]["hub"] == "custom.io/istio"
    assert by_flag.manifests == str(root)
    assert profiles.list_profiles(str(root)) == ["default", "tiny"]
    with pytest.raises(errors.InputError, match="not a directory"):
        build(manifests=str(tmp_path / "missing"))


def test_derived_values() -> None:
    config = build("components.cni.enabled=true", "values.global.istioNamespace=mesh")
    assert config.values["pilot"]["enabled"] is True
    assert config.values["pilot"]["cni"]["enabled"] is True
    assert config.values["global"]["istioNamespace"] == "mesh"
    assert config.istio_namespace == "mesh"
    assert {c.namespace for c in layering.enabled_components(config)} == {"mesh"}
    assert build("components.pilot.enabled=false").values["pilot"]["enabled"] is False


def test_only_hub_tag_and_gateway_name_label_ports_become_values() -> None:
    """Istio 1.30.3 (inventory §0.1, "istioctl value translation"): the other k8s settings only patch objects."""
    config = build(
        "components.pilot.hub=pilot.io/x",
        "components.pilot.tag=2",
        "components.pilot.k8s.hpaSpec.minReplicas=2",
        "components.pilot.k8s.hpaSpec.maxReplicas=7",
        "components.pilot.k8s.replicaCount=3",
        "components.pilot.k8s.resources.requests.cpu=250m",
        "components.pilot.k8s.resources.requests.memory=1Gi",
        "components.cni.enabled=true",
        "components.cni.k8s.resources.limits.cpu=1",
        "components.ingressGateways[0].hub=gw.io/x",
        "components.ingressGateways[0].label.team=edge",
        "components.ingressGateways[0].k8s.service.ports[0].port=8443",
        "components.ingressGateways[0].k8s.service.ports[0].targetPort=8443",
        "components.ingressGateways[0].k8s.service.ports[0].name=https",
        "components.ingressGateways[0].k8s.hpaSpec.maxReplicas=9",
        "values.pilot.autoscaleEnabled=false",
        "addonComponents.grafana.tag=9.9.9",
    )
    pilot = config.values["pilot"]
    assert pilot["hub"] == "pilot.io/x"
    assert pilot["tag"] == "2"
    for key in ("autoscaleMin", "autoscaleMax", "replicaCount", "resources"):
        assert key not in pilot, key
    assert "resources" not in config.values.get("cni", {})
    gateway = layering.find_component(config, "ingressGateways", "istio-ingressgateway")
    assert gateway is not None
    assert gateway.values == {
        "name": "istio-ingressgateway",
        "labels": {"team": "edge"},
        "ports": [{"port": 8443, "targetPort": 8443, "name": "https"}],
        "hub": "gw.io/x",
    }
    assert gateway.values_root == "gateways.istio-ingressgateway"
    assert gateway.path == "components.ingressGateways[0]"
    grafana = layering.find_component(config, "grafana")
    assert grafana is not None
    assert grafana.enabled is True  # present with enabled unset
    assert grafana.label == "AddonComponents"
    assert config.values["grafana"]["tag"] == "9.9.9"


def test_component_enablement_rules() -> None:
    # present with enabled unset counts as enabled
    assert ("cni", "cni", "kube-system") in enabled(build("components.cni.namespace=kube-system"))
    # values.gateways.<gw>.enabled=true force-enables the listed gateways (istioctl-behaviours §3 example 19)
    config = build("values.gateways.istio-egressgateway.enabled=true")
    assert ("egressGateways", "istio-egressgateway", "istio-system") in enabled(config)
    # ... false disables nothing
    assert ("ingressGateways", "istio-ingressgateway", "istio-system") in enabled(
        build("values.gateways.istio-ingressgateway.enabled=false")
    )
    # istiodRemote renders nothing, with a warning
    config = build("components.istiodRemote.enabled=true")
    assert "istiodRemote" not in [c.key for c in layering.enabled_components(config)]
    assert any(w.startswith("components.istiodRemote: accepted for compatibility") for w in config.warnings)
    # the default profile's component table is complete
    keys = [c.key for c in build().components]
    assert keys == [
        "base",
        "pilot",
        "cni",
        "ztunnel",
        "istiodRemote",
        "ingressGateways",
        "egressGateways",
        "prometheus",
        "grafana",
        "kiali",
        "tracing",
    ]


def test_platform_and_compatibility_layers_are_checked() -> None:
    for platform in profiles.list_platforms():
        config = build(f"values.global.platform={platform}", "components.cni.enabled=true")
        assert config.values["global"]["platform"] == platform
    assert build("values.global.platform=k3s").values["cni"]["cniBinDir"] == "/var/lib/rancher/k3s/data/cni"
    assert build("values.global.platform=k3s", "values.cni.cniBinDir=/mine").values["cni"]["cniBinDir"] == "/mine"
    assert profiles.list_compatibility_versions() == ["1.25", "1.26", "1.27", "1.28", "1.29", "1.30"]
    with pytest.raises(errors.InputError, match="unknown platform 'mars'"):
        build("values.global.platform=mars")
    with pytest.raises(errors.InputError, match=r"unknown compatibility version '1\.9'"):
        build("compatibilityVersion=1.9")


def test_unvalidated_values_are_merged_after_validation() -> None:
    config = build("unvalidatedValues.pilot.autoscaleEnable=oops", "unvalidatedValues.newThing.x=1")
    assert config.values["pilot"]["autoscaleEnable"] == "oops"
    assert config.values["newThing"] == {"x": 1}
    assert config.warnings == ()


def test_force_turns_errors_into_warnings() -> None:
    with pytest.raises(errors.ValidationError):
        build("revision=Not_Valid")
    config = build("revision=Not_Valid", force=True)
    assert config.warnings == (
        "revision: 'Not_Valid' is not a valid DNS-1123 label (lower-case letters, digits and '-', at most 63) "
        "(continuing because of --force)",
    )


def test_merge_config_is_the_dumped_document() -> None:
    iop = layering.merge_config(layering.ConfigInput(profile="minimal"))
    assert list(iop) == ["apiVersion", "kind", "metadata", "spec"]
    assert iop["spec"]["profile"] == "minimal"
    assert next(iter(iop["spec"])) == "profile"
