"""Property tests (hypothesis): rendering is deterministic, and every object carries the component label and the
membership label of the installation it belongs to (rendering.md §7, cluster.md §3)."""

from __future__ import annotations

import io
import string
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshctl import objects
from meshctl.config import layering
from meshctl.render import components, pipeline

PROFILES = ["default", "demo", "minimal", "preview", "stable", "remote", "ambient", "openshift", "openshift-ambient"]

dns_label = st.from_regex(r"[a-z]([a-z0-9-]{0,8}[a-z0-9])?", fullmatch=True)
label_value = st.text(alphabet=string.ascii_letters + string.digits + "-_.", min_size=1, max_size=12).filter(
    lambda s: s[0].isalnum() and s[-1].isalnum()
)


@st.composite
def configurations(draw: st.DrawFn) -> dict[str, Any]:
    """An IstioOperator: a profile, maybe a revision and namespace, gateways with custom labels, k8s settings."""
    spec: dict[str, Any] = {"profile": draw(st.sampled_from(PROFILES))}
    if draw(st.booleans()):
        spec["revision"] = draw(dns_label.filter(lambda r: r != "default"))
    values: dict[str, Any] = {}
    if draw(st.booleans()):
        values["global"] = {"istioNamespace": draw(dns_label)}
    gateways: dict[str, list[dict[str, Any]]] = {"ingressGateways": [], "egressGateways": []}
    for name in draw(st.lists(dns_label, max_size=3, unique=True)):
        kind = draw(st.sampled_from(sorted(gateways)))
        entry: dict[str, Any] = {"name": f"gw-{name}", "enabled": draw(st.booleans())}
        labels = draw(st.dictionaries(dns_label, label_value, max_size=2))
        if labels:
            entry["label"] = labels
        gateways[kind].append(entry)
    components: dict[str, Any] = {kind: entries for kind, entries in gateways.items() if entries}
    pilot_k8s: dict[str, Any] = {}
    if draw(st.booleans()):
        pilot_k8s["nodeSelector"] = draw(st.dictionaries(dns_label, label_value, min_size=1, max_size=2))
    if draw(st.booleans()):
        pilot_k8s["podAnnotations"] = {f"example.com/{draw(dns_label)}": draw(label_value)}
    if pilot_k8s and spec["profile"] not in ("empty", "remote"):  # remote has no istiod Deployment
        components["pilot"] = {"k8s": pilot_k8s}
    if draw(st.booleans()):
        components["cni"] = {"enabled": True}
    spec["components"] = components
    if values:
        spec["values"] = values
    return {"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator", "spec": spec}


def _render(iop: dict[str, Any]) -> tuple[layering.EffectiveConfig, list[dict[str, Any]]]:
    text = yaml.safe_dump(iop)
    config = layering.build_effective_config(layering.ConfigInput(files=("-",)), stdin=io.StringIO(text))
    return config, pipeline.render_manifests(config)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configurations())
def test_rendering_is_deterministic_and_labels_every_object(iop: dict[str, Any]) -> None:
    config, first = _render(iop)
    _, second = _render(iop)
    assert first == second
    base_id = objects.applyset_id(objects.BASE_INSTALLATION, config.istio_namespace)
    revision_id = objects.applyset_id(objects.installation_name(config.revision), config.istio_namespace)
    for obj in first:
        labels = obj["metadata"]["labels"]
        component = labels[objects.COMPONENT_LABEL]
        assert component in components.LABELS
        assert labels[objects.PART_OF_LABEL] == (base_id if component == "Base" else revision_id)
        assert labels[objects.MANAGED_BY_LABEL] == "meshctl"
    assert first == sorted(first, key=objects.sort_key)
