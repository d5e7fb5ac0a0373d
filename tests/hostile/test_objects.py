"""Values that would render objects the API server rejects are errors (exit 3) naming the object and field."""

from __future__ import annotations

import pytest

from meshctl.render import k8scheck
from tests.helpers import run_cli


@pytest.mark.parametrize(
    ("sets", "words"),
    [
        (["values.global.hub="], ["istiod", "image: '/pilot:1.30.3'", "not a valid image reference"]),
        (['values.global.tag=""'], ["image: 'docker.io/istio/pilot:'"]),
        (["values.pilot.podLabels.app=a\nb"], ["spec.template.metadata.labels.app", "label value 'a\\nb'"]),
        (["components.pilot.k8s.podAnnotations.bad key!=x"], ["annotation key 'bad key!'"]),
        (["components.pilot.k8s.hpaSpec.minReplicas=9"], ["HorizontalPodAutoscaler", "9 is above spec.maxReplicas 5"]),
        (
            ["values.pilot.autoscaleEnabled=false", "components.pilot.k8s.replicaCount=9999999999"],
            ["spec.replicas: 9999999999 is out of range (0 to 2147483647)"],
        ),
    ],
)
def test_invalid_object_values_are_errors_with_their_field(sets: list[str], words: list[str]) -> None:
    args = [arg for value in sets for arg in ("--set", value)]
    result = run_cli("manifest", "generate", *args, expect=3)
    lines = result.stderr.splitlines()
    assert lines[0].startswith("error: invalid configuration")
    text = "\n".join(lines[1:]).replace(".image: ", " image: ")
    for word in words:
        assert word in text, result.stderr


def test_valid_objects_pass() -> None:
    obj = {
        "kind": "Deployment",
        "metadata": {"name": "a", "labels": {"app.kubernetes.io/name": "x", "empty": ""}},
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": {"app": "a"}},
            "template": {
                "metadata": {"annotations": {"sidecar.istio.io/inject": "false"}},
                "spec": {
                    "containers": [
                        {"image": "localhost:5000/istio/pilot:1.30.3-distroless", "ports": [{"containerPort": 15010}]}
                    ]
                },
            },
        },
    }
    assert list(k8scheck.object_problems(obj)) == []
    digest = "docker.io/istio/pilot@sha256:" + "a" * 64
    obj["spec"]["template"]["spec"]["containers"][0]["image"] = digest  # type: ignore[index]
    assert list(k8scheck.object_problems(obj)) == []


def test_service_port_out_of_range() -> None:
    svc = {"kind": "Service", "metadata": {"name": "s"}, "spec": {"ports": [{"port": 70000}], "selector": {"app": "x"}}}
    assert list(k8scheck.object_problems(svc)) == ["Service s: spec.ports[0].port: 70000 is out of range (1 to 65535)"]
