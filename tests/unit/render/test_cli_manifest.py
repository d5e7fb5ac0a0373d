"""`meshctl manifest generate` end to end in-process: outputs, filters, and every error message with its exit code.

Runs against the fake templates (``--manifests``, with the built-in profiles), so it pins the command's behaviour
independently of the real templates.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from meshctl import objects
from meshctl.render import output as render_output
from tests.helpers import run_cli


def docs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d is not None]


def names(objs: list[dict[str, Any]]) -> list[str]:
    return [f"{o['kind']}/{o['metadata']['name']}" for o in objs]


def test_generate_prints_only_yaml_on_stdout(fake_package: Path) -> None:
    result = run_cli("manifest", "generate", "-d", str(fake_package))
    assert result.stderr == ""
    objs = docs(result.stdout)
    assert names(objs)[0] == "CustomResourceDefinition/widgets.example.istio.io"
    assert "Deployment/istiod" in names(objs)
    assert "Deployment/istio-ingressgateway" in names(objs)
    assert not result.stdout.rstrip().endswith("---")
    assert result.stdout.startswith("apiVersion: ")


def test_empty_profile_prints_nothing(fake_package: Path) -> None:
    result = run_cli("manifest", "generate", "-d", str(fake_package), "--set", "profile=empty")
    assert result.stdout == ""
    assert result.stderr == ""


def test_set_file_and_revision_are_layered(fake_package: Path, tmp_path: Path) -> None:
    iop = tmp_path / "iop.yaml"
    iop.write_text(
        "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nmetadata:\n  name: from-file\n"
        "spec:\n  components:\n    ingressGateways:\n    - name: istio-ingressgateway\n      enabled: false\n"
    )
    result = run_cli(
        "manifest", "generate", "-d", str(fake_package), "-f", str(iop), "-r", "canary", "-s", "hub=quay.io/x"
    )
    objs = docs(result.stdout)
    assert "Deployment/istiod-canary" in names(objs)
    assert not any(n.startswith("Deployment/istio-ingressgateway") for n in names(objs))
    deployment = next(o for o in objs if o["kind"] == "Deployment")
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == "quay.io/x/pilot:1.30.3"
    assert deployment["metadata"]["labels"]["install.operator.istio.io/owning-resource"] == "from-file"


def test_stdin_file(fake_package: Path) -> None:
    iop = "apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n  revision: blue\n"
    result = run_cli("manifest", "generate", "-d", str(fake_package), "-f", "-", stdin=iop)
    assert "Deployment/istiod-blue" in names(docs(result.stdout))


def test_component_filter(fake_package: Path) -> None:
    result = run_cli("manifest", "generate", "-d", str(fake_package), "--component", "Pilot", "--component", "base")
    labels = {o["metadata"]["labels"][objects.COMPONENT_LABEL] for o in docs(result.stdout)}
    assert labels == {"Pilot", "Base"}


def test_component_filter_accepts_comma_separated_names(fake_package: Path) -> None:
    result = run_cli("manifest", "generate", "-d", str(fake_package), "--component", "Pilot,IngressGateways")
    labels = {o["metadata"]["labels"][objects.COMPONENT_LABEL] for o in docs(result.stdout)}
    assert labels == {"Pilot", "IngressGateways"}


def test_unknown_component_exits_2_naming_the_valid_ones(fake_package: Path) -> None:
    result = run_cli("manifest", "generate", "-d", str(fake_package), "--component", "Galley", expect=2)
    assert result.stderr == (
        "error: unknown component 'Galley'\n"
        "hint: valid components: Base, Pilot, Cni, Ztunnel, IngressGateways, EgressGateways, AddonComponents\n"
    )
    assert result.stdout == ""


def test_component_that_is_not_enabled_is_a_warning(fake_package: Path) -> None:
    result = run_cli("manifest", "generate", "-d", str(fake_package), "--component", "Cni")
    assert result.stdout == ""
    assert result.stderr == "warning: component Cni is not enabled in this configuration; nothing rendered for it\n"


def test_with_namespace_puts_the_namespaces_first(fake_package: Path) -> None:
    result = run_cli(
        "manifest", "generate", "-d", str(fake_package), "--with-namespace", "--set", "components.cni.enabled=true"
    )
    objs = docs(result.stdout)
    assert objs[0] == {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}
    assert [o["kind"] for o in objs].count("Namespace") == 1


def test_output_file(fake_package: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.yaml"
    result = run_cli("manifest", "generate", "-d", str(fake_package), "-o", str(target))
    assert result.stdout == ""
    stdout = run_cli("manifest", "generate", "-d", str(fake_package)).stdout
    assert target.read_text() == render_output.HEADER + stdout
    assert result.stderr.startswith(f"Wrote {len(docs(stdout))} objects to {target}")
    run_cli("manifest", "generate", "-d", str(fake_package), "-o", str(target))  # its own file: replaced
    assert run_cli("-q", "manifest", "generate", "-d", str(fake_package), "-o", str(target)).stderr == ""


def test_output_file_refuses_a_users_file(fake_package: Path, tmp_path: Path) -> None:
    target = tmp_path / "mine.yaml"
    target.write_text("keep: me\n")
    result = run_cli("manifest", "generate", "-d", str(fake_package), "-o", str(target), expect=3)
    assert result.stderr == (
        f"error: refusing to overwrite {target}: it exists and was not written by meshctl\n"
        "hint: meshctl replaces only files it wrote itself; remove the file or choose another -o path\n"
    )
    assert target.read_text() == "keep: me\n"


def test_output_file_in_a_missing_directory(fake_package: Path, tmp_path: Path) -> None:
    target = tmp_path / "nope" / "out.yaml"
    result = run_cli("manifest", "generate", "-d", str(fake_package), "-o", str(target), expect=3)
    assert result.stderr == (
        f"error: cannot write {target}: directory {target.parent} does not exist\nhint: create the directory first\n"
    )


def test_output_directory(fake_package: Path, tmp_path: Path) -> None:
    target = tmp_path / "out"
    result = run_cli(
        "manifest", "generate", "-d", str(fake_package), "-o", str(target), "--with-namespace",
        "--set", "components.cni.enabled=true",
    )  # fmt: skip
    assert result.stdout == ""
    kustomization = yaml.safe_load((target / "kustomization.yaml").read_text())
    assert kustomization["resources"] == [
        "Namespaces.yaml",
        "Base.yaml",
        "Pilot.yaml",
        "Cni.yaml",
        "IngressGateways.yaml",
    ]
    pilot = docs((target / "Pilot.yaml").read_text())
    assert {o["metadata"]["labels"][objects.COMPONENT_LABEL] for o in pilot} == {"Pilot"}
    assert result.stderr.startswith("Wrote ")
    assert result.stderr.rstrip().endswith(f"objects to 6 files in {target}")


def test_output_directory_refuses_a_directory_with_a_users_file(fake_package: Path, tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("mine")
    result = run_cli("manifest", "generate", "-d", str(fake_package), "-o", str(tmp_path), expect=3)
    assert result.stderr == (
        f"error: refusing to overwrite {tmp_path}: it holds README.md, which meshctl did not write\n"
        "hint: meshctl replaces only files it wrote itself; remove the file or choose another -o path\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]


def test_k8s_setting_without_a_target_is_a_warning_and_the_rest_renders(fake_package: Path) -> None:
    args = ["manifest", "generate", "-d", str(fake_package)]
    plain = run_cli(*args)
    result = run_cli(*args, "--set", "components.pilot.k8s.podDisruptionBudget.maxUnavailable=1")
    assert result.stdout == plain.stdout
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "warning: components.pilot.k8s.podDisruptionBudget has no effect: Pilot renders no PodDisruptionBudget "
        "istiod: a budget is rendered only for more than one replica (values.pilot.autoscaleMin above 1 with "
        "autoscaling, values.pilot.replicaCount above 1 without)"
    )
    assert lines[1].startswith("hint: remove the setting, or raise the replicas through those values")
    assert len(lines) == 2


def test_strict_turns_a_setting_without_effect_into_exit_3(fake_package: Path) -> None:
    sets = ["--set", "components.pilot.k8s.podDisruptionBudget.maxUnavailable=1"]
    for args in (["--strict", "manifest", "generate"], ["manifest", "generate", "--strict"]):
        result = run_cli(*args, "-d", str(fake_package), *sets, expect=3)
        lines = result.stderr.splitlines()
        assert lines[0].startswith(
            "error: components.pilot.k8s.podDisruptionBudget has no effect: Pilot renders no PodDisruptionBudget"
        )
        assert lines[1].startswith("hint: remove the setting, or raise the replicas")
        assert lines[1].endswith("; without --strict this is a warning")
        assert result.stdout == ""


def test_strict_lists_every_setting_without_effect_at_once(fake_package: Path) -> None:
    result = run_cli(
        "--strict", "manifest", "generate", "-d", str(fake_package),
        "--set", "components.pilot.k8s.podDisruptionBudget.maxUnavailable=1",
        "--set", "components.base.k8s.nodeSelector.a=b",
        "--set", "components.pilot.k8s.overlays[0].kind=Deployment",
        "--set", "components.pilot.k8s.overlays[0].name=istio-pilot",
        "--set", "components.pilot.k8s.overlays[0].patches[0].path=spec.replicas",
        "--set", "components.pilot.k8s.overlays[0].patches[0].value=2",
        expect=3,
    )  # fmt: skip
    lines = result.stderr.splitlines()
    assert lines[0] == "error: 3 settings have no effect (errors because of --strict)"
    assert [line.split(" has no effect")[0] for line in lines[1:4]] == [
        "  components.base.k8s.nodeSelector",
        "  components.pilot.k8s.podDisruptionBudget",
        "  components.pilot.k8s.overlays[0]",
    ]
    assert lines[4] == "hint: remove or fix them, or run without --strict to render with warnings"


def test_strict_with_force_fails_on_settings_without_effect_but_not_on_validation_errors(
    fake_package: Path,
) -> None:
    invalid = ["--set", "values.global.hubb=x"]  # a likely typo: a validation error
    forced = run_cli("--strict", "manifest", "generate", "-d", str(fake_package), "--force", *invalid, expect=None)
    assert "(continuing because of --force)" in forced.stderr
    assert forced.exit_code == 0, forced.stderr
    no_effect = ["--set", "components.base.k8s.nodeSelector.a=b"]
    failed = run_cli(
        "--strict", "manifest", "generate", "-d", str(fake_package), "--force", *invalid, *no_effect, expect=3
    )
    assert failed.stderr.startswith("error: components.base.k8s.nodeSelector has no effect: Base has no workload\n")


def test_strict_makes_configuration_warnings_errors_too(fake_package: Path) -> None:
    sets = ["--set", "components.pilot.k8s.volumes[0].name=x"]
    warned = run_cli("manifest", "generate", "-d", str(fake_package), *sets)
    assert warned.stderr == "warning: components.pilot.k8s.volumes: accepted as istioctl does, but not applied\n"
    failed = run_cli("--strict", "manifest", "generate", "-d", str(fake_package), *sets, expect=3)
    assert failed.stderr == (
        "error: components.pilot.k8s.volumes: accepted as istioctl does, but not applied\n"
        "hint: without --strict this is a warning\n"
    )


def test_overlay_that_matches_no_object_is_a_warning(fake_package: Path) -> None:
    result = run_cli(
        "manifest", "generate", "-d", str(fake_package),
        "--set", "components.pilot.k8s.overlays[0].kind=Deployment",
        "--set", "components.pilot.k8s.overlays[0].name=istio-pilot",
        "--set", "components.pilot.k8s.overlays[0].patches[0].path=spec.replicas",
        "--set", "components.pilot.k8s.overlays[0].patches[0].value=2",
    )  # fmt: skip
    assert result.stderr == (
        "warning: components.pilot.k8s.overlays[0] has no effect: Pilot renders no Deployment istio-pilot\n"
        "hint: Deployments of Pilot here: istiod\n"
    )
    assert "kind: Deployment" in result.stdout


def test_overlay_path_error_draws_a_caret(fake_package: Path) -> None:
    result = run_cli(
        "manifest", "generate", "-d", str(fake_package),
        "--set", "components.pilot.k8s.overlays[0].kind=Deployment",
        "--set", "components.pilot.k8s.overlays[0].name=istiod",
        "--set", "components.pilot.k8s.overlays[0].patches[0].path=spec.template.spec.containers.name",
        "--set", "components.pilot.k8s.overlays[0].patches[0].value=x",
        expect=3,
    )  # fmt: skip
    lines = result.stderr.splitlines()
    assert lines[0] == (
        "error: components.pilot.k8s.overlays[0].patches[0].path: "
        "spec.template.spec.containers is a list of 1, not a map"
    )
    display = "components.pilot.k8s.overlays[0].patches[0].path spec.template.spec.containers.name"
    assert lines[1] == f"  {display}"
    assert lines[2] == "  " + " " * display.rindex("name") + "^" * len("name")
    assert lines[3].startswith("hint: spec.template.spec.containers is a list: address an element with")


def test_bad_set_exits_3(fake_package: Path) -> None:
    result = run_cli("manifest", "generate", "-d", str(fake_package), "--set", "components.pilot", expect=3)
    assert result.stderr.startswith("error: --set: missing '='")


def test_missing_manifests_directory_exits_3(tmp_path: Path) -> None:
    result = run_cli("manifest", "generate", "-d", str(tmp_path / "nope"), expect=3)
    assert result.stderr.startswith(f"error: --manifests {tmp_path / 'nope'}: not a directory")


def test_template_error_exits_3_naming_the_template(fake_package: Path, tmp_path: Path) -> None:
    import shutil

    broken = tmp_path / "pkg"
    shutil.copytree(fake_package, broken)
    (broken / "pilot" / "broken.yaml.j2").write_text("{{ values.nothing.here }}\n")
    result = run_cli("manifest", "generate", "-d", str(broken), expect=3)
    assert result.stderr.startswith(f"error: template {broken / 'pilot' / 'broken.yaml.j2'}: undefined value")


def test_positional_arguments_are_a_usage_error(fake_package: Path) -> None:
    result = run_cli("manifest", "generate", "-d", str(fake_package), "extra", expect=2)
    assert result.stderr.startswith("error: Got unexpected extra argument")
    assert "(extra)" in result.stderr


def test_manifest_without_subcommand_shows_help() -> None:
    result = run_cli("manifest", expect=None)
    assert result.exit_code in (0, 2)
    assert "generate" in result.stdout + result.stderr


def test_generate_does_not_import_kubernetes(fake_package: Path) -> None:
    code = (
        "import sys\n"
        "from meshctl.cli import app\n"
        f"code = app.run(['manifest', 'generate', '-d', {str(fake_package)!r}])\n"
        "sys.stdout.flush()\n"
        "print('LOADED' if 'kubernetes' in sys.modules else 'CLEAN', code, file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stderr.strip().splitlines()[-1] == "CLEAN 0"


@pytest.mark.parametrize("flag", ["--help", "-h"])
def test_help_lists_the_options(flag: str) -> None:
    result = run_cli("manifest", "generate", flag)
    for option in (
        "--filename",
        "--set",
        "--revision",
        "--manifests",
        "--force",
        "--output",
        "--component",
        "--with-namespace",
    ):
        assert option in result.stdout


@pytest.mark.parametrize(
    ("sets", "warning"),
    [
        (
            ["components.cni.enabled=true", "components.cni.k8s.replicaCount=2"],
            "warning: components.cni.k8s.replicaCount has no effect: DaemonSet istio-cni-node has no spec.replicas\n"
            "hint: a DaemonSet runs one pod per node; remove the setting\n",
        ),
        (
            ["components.cni.enabled=true", "components.cni.k8s.strategy.type=Recreate"],
            "warning: components.cni.k8s.strategy has no effect: DaemonSet istio-cni-node has no spec.strategy\n"
            "hint: strategy applies to Deployments; use k8s.overlays for updateStrategy\n",
        ),
        (
            ["components.base.k8s.nodeSelector.a=b"],
            "warning: components.base.k8s.nodeSelector has no effect: Base has no workload\n"
            "hint: only k8s.overlays apply to this component\n",
        ),
        (
            ["values.pilot.autoscaleEnabled=false", "components.pilot.k8s.hpaSpec.maxReplicas=3"],
            "warning: components.pilot.k8s.hpaSpec has no effect: Pilot renders no HorizontalPodAutoscaler istiod: "
            "autoscaling is off for it (values.pilot.autoscaleEnabled)\n"
            "hint: remove the setting, or turn autoscaling on\n",
        ),
        (
            ["components.cni.enabled=true", "components.cni.k8s.serviceAnnotations.a=b"],
            "warning: components.cni.k8s.serviceAnnotations has no effect: Cni renders no Service istio-cni-node\n"
            "hint: remove the setting\n",
        ),
    ],
    ids=["replicas-on-daemonset", "strategy-on-daemonset", "base-workload", "hpa-off", "no-service"],
)
def test_settings_without_effect_warn_and_render_the_rest(fake_package: Path, sets: list[str], warning: str) -> None:
    args = [arg for value in sets for arg in ("--set", value)]
    result = run_cli("manifest", "generate", "-d", str(fake_package), *args)
    assert result.stderr == warning
    assert result.stdout.startswith("apiVersion: ")
    strict = run_cli("manifest", "generate", "-d", str(fake_package), "--strict", *args, expect=3)
    assert strict.stderr.splitlines()[0] == warning.splitlines()[0].replace("warning: ", "error: ", 1)


@pytest.mark.parametrize(
    ("sets", "stderr"),
    [
        (
            [
                "values.pilot.autoscaleMin=2",
                "components.pilot.k8s.podDisruptionBudget.minAvailable=1",
                "components.pilot.k8s.podDisruptionBudget.maxUnavailable=1",
            ],
            "error: components.pilot.k8s.podDisruptionBudget sets both minAvailable and maxUnavailable\n"
            "hint: a PodDisruptionBudget takes only one of them\n",
        ),
        (
            ["components.egressGateways[0].name=istio-ingressgateway", "components.egressGateways[0].enabled=true"],
            "error: Deployment istio-system/istio-ingressgateway is rendered twice "
            "(by IngressGateways and EgressGateways)\n"
            "hint: give each gateway its own name, or each component its own namespace\n",
        ),
    ],
    ids=["pdb-both", "twice"],
)
def test_render_errors_exit_3(fake_package: Path, sets: list[str], stderr: str) -> None:
    args = [arg for value in sets for arg in ("--set", value)]
    result = run_cli("manifest", "generate", "-d", str(fake_package), *args, expect=3)
    assert result.stderr == stderr
    assert result.stdout == ""


def test_output_into_a_subdirectory_holding_directory_is_refused(fake_package: Path, tmp_path: Path) -> None:
    (tmp_path / "nested").mkdir()
    result = run_cli("manifest", "generate", "-d", str(fake_package), "-o", str(tmp_path), expect=3)
    assert result.stderr == (
        f"error: refusing to overwrite {tmp_path}: it holds a directory meshctl did not create (nested)\n"
        "hint: meshctl replaces only files it wrote itself; remove the file or choose another -o path\n"
    )


def test_output_to_something_that_is_not_a_directory_is_refused(fake_package: Path, tmp_path: Path) -> None:
    target = tmp_path / "plain"
    target.write_text("x")
    result = run_cli("manifest", "generate", "-d", str(fake_package), "-o", str(target), expect=3)
    assert result.stderr.startswith(f"error: refusing to overwrite {target}: it is not a directory\n")


def test_output_file_path_that_is_not_a_regular_file_is_refused(fake_package: Path, tmp_path: Path) -> None:
    import os

    fifo = tmp_path / "pipe.yaml"
    os.mkfifo(fifo)
    result = run_cli("manifest", "generate", "-d", str(fake_package), "-o", str(fifo), expect=3)
    assert result.stderr.startswith(f"error: refusing to overwrite {fifo}: it is not a regular file\n")


def test_missing_component_templates_exit_3(fake_package: Path, tmp_path: Path) -> None:
    import shutil

    partial = tmp_path / "pkg"
    shutil.copytree(fake_package, partial)
    shutil.rmtree(partial / "cni")
    result = run_cli("manifest", "generate", "-d", str(partial), "--set", "components.cni.enabled=true", expect=3)
    assert result.stderr == (
        f"error: no templates for component Cni: {partial / 'cni'} is not a directory\n"
        "hint: --manifests DIR must hold a directory per component (base, pilot, gateway, cni, ztunnel, addons/…)\n"
    )
