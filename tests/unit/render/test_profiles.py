"""Object inventories of the built-in profiles (istio-manifest-inventory.md §1.4 and rendering.md §2), and the
acceptance install of product.md §5."""

from __future__ import annotations

from collections import Counter

import pytest

from meshctl import objects
from meshctl.config import layering
from meshctl.render import pipeline
from tests.golden import goldens

COUNTS = {
    "default": 39,
    "preview": 39,
    "minimal": 33,
    "empty": 0,
    "stable": 41,
    "remote": 20,
    "ambient": 44,
    "openshift": 47,
    "openshift-ambient": 47,
    "demo": 65,
}

COMPONENT_COUNTS = {
    "default": {"Base": 16, "Pilot": 17, "IngressGateways": 6},
    "demo": {"Base": 16, "Pilot": 16, "IngressGateways": 5, "EgressGateways": 5, "AddonComponents": 23},
    "minimal": {"Base": 16, "Pilot": 17},
    "ambient": {"Base": 16, "Pilot": 17, "Cni": 9, "Ztunnel": 2},
    "openshift": {"Base": 16, "Pilot": 17, "IngressGateways": 6, "Cni": 8},
    "openshift-ambient": {"Base": 16, "Pilot": 17, "Cni": 10, "Ztunnel": 4},
}


@pytest.mark.parametrize(("profile", "count"), sorted(COUNTS.items()))
def test_profile_object_count(profile: str, count: int) -> None:
    objs = goldens.render_profile(profile)
    assert len(objs) == count, sorted(f"{o['kind']}/{o['metadata']['name']}" for o in objs)


@pytest.mark.parametrize(("profile", "counts"), sorted(COMPONENT_COUNTS.items()))
def test_profile_objects_per_component(profile: str, counts: dict[str, int]) -> None:
    labels = Counter(o["metadata"]["labels"][objects.COMPONENT_LABEL] for o in goldens.render_profile(profile))
    assert dict(labels) == counts


def test_demo_has_23_addon_objects_and_no_other_profile_has_any() -> None:
    for profile in COUNTS:
        addon = [
            o
            for o in goldens.render_profile(profile)
            if o["metadata"]["labels"][objects.COMPONENT_LABEL] == "AddonComponents"
        ]
        assert len(addon) == (23 if profile == "demo" else 0), profile


ACCEPTANCE_SETS = (
    "profile=default",
    "addonComponents.prometheus.enabled=false",
    "addonComponents.grafana.enabled=false",
    "addonComponents.kiali.enabled=false",
    "addonComponents.tracing.enabled=false",
    'components.ingressGateways[0].enabled="true"',
    'components.ingressGateways[0].k8s.serviceAnnotations."service\\.beta\\.kubernetes\\.io/aws-load-balancer-internal"=\\"true\\"',
)


@pytest.mark.parametrize(
    "sets",
    [
        ACCEPTANCE_SETS,
        # The same flags after a shell removed the quotes.
        (
            *ACCEPTANCE_SETS[:5],
            "components.ingressGateways[0].enabled=true",
            "components.ingressGateways[0].k8s.serviceAnnotations.service\\.beta\\.kubernetes\\.io/aws-load-balancer-internal=true",
        ),
    ],
    ids=["quoted", "shell-unquoted"],
)
def test_acceptance_install_flags(sets: tuple[str, ...]) -> None:
    config = layering.build_effective_config(layering.ConfigInput(sets=sets))
    objs = pipeline.render_manifests(config)
    services = [o for o in objs if o["kind"] == "Service" and o["metadata"]["name"] == "istio-ingressgateway"]
    assert len(services) == 1
    service = services[0]
    assert service["metadata"]["namespace"] == "istio-system"
    assert service["spec"]["type"] == "LoadBalancer"
    assert service["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-internal"] == "true"
    ports = {p["name"]: (p["port"], p.get("targetPort")) for p in service["spec"]["ports"]}
    assert "status-port" in ports
    assert ports["http2"] == (80, 8080)
    assert ports["https"] == (443, 8443)
    assert not [o for o in objs if o["metadata"]["labels"][objects.COMPONENT_LABEL] == "AddonComponents"]
    assert len(objs) == COUNTS["default"]
