"""The IstioOperator files in examples/ (the README's tour uses them) render cleanly and say what they claim."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.helpers import run_cli

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _is_istio_operator(path: Path) -> bool:
    return any(d and d.get("kind") == "IstioOperator" for d in yaml.safe_load_all(path.read_text(encoding="utf-8")))


OPERATOR_FILES = [p for p in sorted(EXAMPLES.glob("*.yaml")) if _is_istio_operator(p)]
WORKLOAD_FILES = [p for p in sorted(EXAMPLES.glob("*.yaml")) if not _is_istio_operator(p)]


@pytest.mark.parametrize("path", OPERATOR_FILES, ids=lambda p: p.name)
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


@pytest.mark.parametrize("path", WORKLOAD_FILES, ids=lambda p: p.name)
def test_workload_example_is_injected(path: Path) -> None:
    result = run_cli("kube-inject", "-f", str(path))
    assert result.stderr == ""
    pods = [d for d in yaml.safe_load_all(result.stdout) if d and d["kind"] == "Deployment"]
    assert pods
    for deployment in pods:
        assert "sidecar.istio.io/status" in deployment["spec"]["template"]["metadata"]["annotations"]


def test_every_example_is_in_the_readme_table() -> None:
    table = (EXAMPLES / "README.md").read_text(encoding="utf-8")
    assert WORKLOAD_FILES, "examples/httpbin.yaml is the kube-inject example"
    for path in [*OPERATOR_FILES, *WORKLOAD_FILES]:
        assert f"[{path.name}]({path.name})" in table, path.name
