"""The IstioOperator files in examples/ (the README's tour uses them) render cleanly and say what they claim."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.helpers import run_cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("path", sorted(EXAMPLES.glob("*.yaml")), ids=lambda p: p.name)
def test_example_renders_without_warnings(path: Path) -> None:
    result = run_cli("manifest", "generate", "-f", str(path))
    assert result.stderr == ""
    assert [d for d in yaml.safe_load_all(result.stdout) if d]


def test_my_operator_sets_what_its_comment_says() -> None:
    docs = [
        d
        for d in yaml.safe_load_all(run_cli("manifest", "generate", "-f", str(EXAMPLES / "my-operator.yaml")).stdout)
        if d
    ]
    by_kind_name = {(d["kind"], d["metadata"]["name"]): d for d in docs}
    assert by_kind_name[("HorizontalPodAutoscaler", "istiod")]["spec"]["minReplicas"] == 2
    service = by_kind_name[("Service", "istio-ingressgateway")]
    assert service["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-internal"] == "true"
    mesh = yaml.safe_load(by_kind_name[("ConfigMap", "istio")]["data"]["mesh"])
    assert mesh["accessLogFile"] == "/dev/stdout"


def test_canary_example_is_a_revision() -> None:
    out = run_cli("manifest", "generate", "-f", str(EXAMPLES / "canary.yaml")).stdout
    names = {d["metadata"]["name"] for d in yaml.safe_load_all(out) if d}
    assert "istiod-canary" in names
