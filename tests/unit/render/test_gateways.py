"""The many-gateways shortcut (meshctl.render.gateways) gives exactly the objects of a full render."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshctl.config import layering
from meshctl.render import gateways, pipeline
from tests.unit.render.conftest import make_config, write_manifests


def _full_render(config: layering.EffectiveConfig, monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    with monkeypatch.context() as patch:
        patch.setattr(gateways, "make_template", lambda *args: None)  # every entry rendered from the templates
        return pipeline.render_manifests(config)


def _many(n: int, **extra: Any) -> list[dict[str, Any]]:
    return [{"name": f"gw-{i}", "enabled": True, **extra} for i in range(n)]


def test_builtin_templates_same_objects_as_a_full_render(monkeypatch: pytest.MonkeyPatch) -> None:
    edge = [{"name": f"edge-{i}", "namespace": "edge", "label": {"istio": "edge"}} for i in range(2)]
    spec = {
        "components": {
            "ingressGateways": [*_many(4), *edge, {"name": "on", "enabled": True}],
            "egressGateways": _many(2, k8s={"nodeSelector": {"a": "b"}}),
        }
    }
    spec["components"]["egressGateways"] = [
        {**e, "name": f"e{e['name']}"} for e in spec["components"]["egressGateways"]
    ]
    text = yaml.safe_dump({"apiVersion": "install.istio.io/v1alpha1", "kind": "IstioOperator", "spec": spec})
    config = layering.build_effective_config(layering.ConfigInput(files=("-",)), stdin=io.StringIO(text))
    fast = pipeline.render_manifests(config)
    assert fast == _full_render(config, monkeypatch)
    names = {o["metadata"]["name"] for o in fast if o["kind"] == "Deployment"}
    assert {"gw-0", "gw-3", "edge-1", "egw-1", "istiod"} <= names


def test_shortcut_is_used_for_entries_of_one_shape(fake_manifests: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    original = gateways.fill
    monkeypatch.setattr(gateways, "fill", lambda tree, name: calls.append(name) or original(tree, name))
    config = make_config(fake_manifests, components={"ingressGateways": _many(5)})
    pipeline.render_manifests(config)
    assert calls[-4:] == ["gw-1", "gw-2", "gw-3", "gw-4"]


def test_template_that_inspects_the_name_is_rendered_entry_by_entry(tmp_path: Path) -> None:
    special = """
        {% if gateway.name == "gw-2" %}
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: special-{{ gateway.name }}
          namespace: {{ namespace }}
        {% endif %}
        """
    root = write_manifests(tmp_path, {"gateway/special.yaml.j2": special})
    objs = pipeline.render_manifests(make_config(root, components={"ingressGateways": _many(4)}))
    assert [o["metadata"]["name"] for o in objs if o["kind"] == "ConfigMap"] == ["special-gw-2"]


@pytest.mark.parametrize(
    ("name", "ok"),
    [("istio-ingressgateway", True), ("on", False), ("null", False), ("123", False), ("0x1f", False), ("Gw", False)],
)
def test_eligible_names(name: str, ok: bool) -> None:
    assert gateways.eligible(name) is ok


def test_opaque_name_refuses_inspection_but_can_be_written() -> None:
    name = gateways.OpaqueName(gateways.PLACEHOLDER)
    assert str(name) == gateways.PLACEHOLDER
    assert f"{name}-sds" == f"{gateways.PLACEHOLDER}-sds"
    assert "x-" + name == f"x-{gateways.PLACEHOLDER}"
    for probe in (
        lambda: name == "a",
        lambda: len(name),
        lambda: name.startswith("a"),
        lambda: name[0],
        lambda: "a" in name,
    ):
        with pytest.raises(gateways.NameInspected):
            probe()


def test_fill_replaces_the_placeholder_in_keys_and_values_and_copies() -> None:
    p = gateways.PLACEHOLDER
    tree = {"a": [f"{p}-sds", 1, None, True], f"k/{p}": {"n": p}}
    filled = gateways.fill(tree, "gw")
    assert filled == {"a": ["gw-sds", 1, None, True], "k/gw": {"n": "gw"}}
    filled["a"].append("x")
    assert len(tree["a"]) == 4
