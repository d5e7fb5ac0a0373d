"""kube-inject on manifests: every kind with a pod template, Lists and streams, pass-through, bad input, the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from meshctl import errors, yamlio
from meshctl.inject import workloads
from tests.helpers import run_cli
from tests.unit.facts.helpers import KUBERNETES_VERSIONS
from tests.unit.inject.helpers import conf, container, deployment, find, pod_spec, template_of

ROOT = Path(__file__).resolve().parents[3]
HTTPBIN = ROOT / "examples" / "httpbin.yaml"

TEMPLATE = {"metadata": {"labels": {"app": "w"}}, "spec": pod_spec(container("w"))}
WORKLOADS = {
    "Pod": {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "w", "labels": {"app": "w"}}, "spec": pod_spec()},
    "Deployment": deployment(),
    "StatefulSet": {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "w"},
                    "spec": {"serviceName": "w", "selector": {"matchLabels": {"app": "w"}}, "template": TEMPLATE}},
    "DaemonSet": {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "w"},
                  "spec": {"selector": {"matchLabels": {"app": "w"}}, "template": TEMPLATE}},
    "ReplicaSet": {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": "w"},
                   "spec": {"selector": {"matchLabels": {"app": "w"}}, "template": TEMPLATE}},
    "Job": {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "w"},
            "spec": {"template": {**TEMPLATE, "spec": {**TEMPLATE["spec"], "restartPolicy": "Never"}}}},
    "CronJob": {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "w"},
                "spec": {"schedule": "* * * * *", "jobTemplate": {"spec": {
                    "template": {**TEMPLATE, "spec": {**TEMPLATE["spec"], "restartPolicy": "OnFailure"}}}}}},
    "ReplicationController": {"apiVersion": "v1", "kind": "ReplicationController", "metadata": {"name": "w"},
                              "spec": {"selector": {"app": "w"}, "template": TEMPLATE}},
}  # fmt: skip
PASS_THROUGH = """\
# a comment the output keeps
apiVersion: v1
kind: Service
metadata:
  name: w   # and this one
spec:
  ports: [{port: 80}]
  selector: {app: w}
"""
CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata:\n  key: 'true'\n"


@pytest.mark.parametrize("kind", sorted(WORKLOADS))
def test_every_kind_with_a_pod_template_is_injected_where_it_keeps_it(kind: str) -> None:
    obj = WORKLOADS[kind]
    notes: list[str] = []
    out, count = workloads.inject_object(obj, conf(), notes, "t")
    assert count == 1
    spec = template_of(out)["spec"]
    assert find(spec, "istio-proxy")["image"] == "docker.io/istio/proxyv2:1.30.3"
    assert spec["containers"][0]["name"] == template_of(obj)["spec"]["containers"][0]["name"]
    owner = json.loads(json.dumps(find(spec, "istio-proxy")["env"]))
    meta_owner = next(e["value"] for e in owner if e["name"] == "ISTIO_META_OWNER")
    namespace, name = obj["metadata"].get("namespace", "default"), obj["metadata"]["name"]
    assert meta_owner == f"kubernetes://apis/{obj['apiVersion']}/namespaces/{namespace}/{kind.lower()}s/{name}"
    assert "istio-proxy" not in json.dumps(obj)  # the input is not changed


@pytest.mark.parametrize("kind", sorted(WORKLOADS))
def test_output_is_valid_kubernetes(kind: str) -> None:
    out, _ = workloads.inject_object(WORKLOADS[kind], conf(), [], "t")
    for version in (KUBERNETES_VERSIONS[0], KUBERNETES_VERSIONS[-1]):
        kubernetes_validate.validate(out, version, strict=True)


def test_example_output_is_valid_kubernetes_for_every_supported_version() -> None:
    result = workloads.inject_stream(HTTPBIN.read_text(encoding="utf-8"), conf(), "httpbin.yaml")
    documents = list(yaml.safe_load_all(result.text))
    assert [d["kind"] for d in documents] == ["ServiceAccount", "Service", "Deployment"]
    for document in documents:
        for version in KUBERNETES_VERSIONS:
            kubernetes_validate.validate(document, version, strict=True)


def test_kinds_without_a_pod_template_pass_through_byte_for_byte() -> None:
    stream = PASS_THROUGH + "---\n" + yamlio.dump_yaml(deployment()) + "---\n" + CONFIGMAP
    result = workloads.inject_stream(stream, conf(), "s.yaml")
    parts = result.text.split("---\n")
    assert parts[0] == PASS_THROUGH
    assert parts[2] == CONFIGMAP
    assert "istio-proxy" in parts[1]
    assert (result.injected, result.documents) == (1, 3)


def test_lists_have_their_items_injected() -> None:
    listed = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [deployment(), yaml.safe_load(CONFIGMAP), deployment(name="b")],
    }
    result = workloads.inject_stream(yamlio.dump_yaml(listed), conf(), "l.yaml")
    (out,) = yaml.safe_load_all(result.text)
    assert out["kind"] == "List"
    assert [i["kind"] for i in out["items"]] == ["Deployment", "ConfigMap", "Deployment"]
    assert out["items"][1] == yaml.safe_load(CONFIGMAP)
    assert result.injected == 2


def test_skipped_workloads_pass_through_and_are_noted() -> None:
    opted_out = yamlio.dump_yaml(deployment(annotations={"sidecar.istio.io/inject": "false"}))
    result = workloads.inject_stream(opted_out, conf(), "o.yaml")
    assert result.text == opted_out
    assert result.notes == ("skipped Deployment shop/web: its sidecar.istio.io/inject annotation is 'false'",)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 1}\n",
         "Deployment d (bad.yaml:1): spec.template is missing"),
        ("apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec: {schedule: x, jobTemplate: {}}\n",
         "spec.jobTemplate.spec is missing"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: []}\n",
         "Pod p (bad.yaml:1): the pod has no containers (spec.containers is missing or empty)"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n", "the pod has no containers"),
        ("kind: Service\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: [p\n", "bad.yaml:7:1: not valid YAML"),
        ("a: b\n  c: d\n", "bad.yaml:2:4: not valid YAML"),
    ],
)  # fmt: skip
def test_bad_input_is_an_input_error_naming_the_place(text: str, message: str) -> None:
    with pytest.raises(errors.InputError) as caught:
        workloads.inject_stream(text, conf(), "bad.yaml")
    assert message in caught.value.message
    assert caught.value.exit_code == errors.ExitCode.INVALID_INPUT


# ---------------------------------------------------------------------------------------------------------------
# The command


def test_cli_prints_yaml_only_and_writes_files(tmp_path: Path) -> None:
    result = run_cli("kube-inject", "-f", str(HTTPBIN))
    assert result.stderr == ""
    assert "istio-proxy" in result.stdout
    target = tmp_path / "out.yaml"
    written = run_cli("kube-inject", "-f", "-", "-o", str(target), stdin=HTTPBIN.read_text(encoding="utf-8"))
    assert written.stdout == ""
    assert target.read_text(encoding="utf-8") == result.stdout
    assert "Wrote 3 documents (1 injected)" in written.stderr
    unwritable = run_cli("kube-inject", "-f", str(HTTPBIN), "-o", str(tmp_path / "no" / "x.yaml"), expect=3)
    assert unwritable.stderr.startswith("error: cannot write")
    assert not (tmp_path / "no").exists()


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (("-f", "/nonexistent.yaml"), 3, "error: --filename: cannot read /nonexistent.yaml"),
        (("-f", "{bad}"), 3, "cannot read"),
        (("-f", str(HTTPBIN), "--set", "nope.x=1"), 3, "error:"),
        (("-f", str(HTTPBIN), "--from-cluster", "--set", "revision=x"), 2, "--from-cluster does not go with"),
        (("-f", str(HTTPBIN), "--istioNamespace", "x"), 2, "--istioNamespace only apply with --from-cluster"),
        (("-f", "-", "--valuesFile", "-"), 2, "only one input can be read from stdin"),
        ((), 2, "Missing option"),
    ],
)
def test_cli_errors_and_exit_codes(args: tuple[str, ...], code: int, message: str) -> None:
    result = run_cli("kube-inject", *args, expect=code)
    assert message in result.stderr
    assert result.stdout == ""


def test_cli_bad_manifest_exit_code_and_message() -> None:
    result = run_cli(
        "kube-inject", "-f", "-", stdin="apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\n", expect=3
    )
    assert result.stderr.splitlines()[0] == (
        "error: Deployment d (<stdin>:1): spec is missing: a Deployment needs a pod template at spec.template"
    )


def test_cli_configuration_files_as_istioctl_takes_them(tmp_path: Path) -> None:
    generated = run_cli("manifest", "generate", "--component", "Pilot", "--set", "values.global.proxy.logLevel=debug")
    maps = {d["metadata"]["name"]: d for d in yaml.safe_load_all(generated.stdout) if d and d["kind"] == "ConfigMap"}
    (tmp_path / "inject.yaml").write_text(maps["istio-sidecar-injector"]["data"]["config"], encoding="utf-8")
    (tmp_path / "values.json").write_text(maps["istio-sidecar-injector"]["data"]["values"], encoding="utf-8")
    (tmp_path / "mesh.yaml").write_text(yamlio.dump_yaml(maps["istio"]), encoding="utf-8")  # the whole ConfigMap
    files = run_cli(
        "kube-inject", "-f", str(HTTPBIN),
        "--injectConfigFile", str(tmp_path / "inject.yaml"),
        "--valuesFile", str(tmp_path / "values.json"),
        "--meshConfigFile", str(tmp_path / "mesh.yaml"),
    )  # fmt: skip
    offline = run_cli("kube-inject", "-f", str(HTTPBIN), "--set", "values.global.proxy.logLevel=debug")
    assert files.stdout == offline.stdout
    assert "--proxyLogLevel=debug" in files.stdout
    # One file replaces its part of the offline settings.
    (tmp_path / "values2.json").write_text(json.dumps({"global": {}}), encoding="utf-8")
    broken = run_cli("kube-inject", "-f", str(HTTPBIN), "--valuesFile", str(tmp_path / "values2.json"), expect=3)
    assert "injection template 'sidecar' read a value the settings lack" in broken.stderr.splitlines()[0]
