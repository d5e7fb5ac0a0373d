"""The `profile` commands (config.md §6) and every error they can report: stderr text and exit code."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshctl import ISTIO_VERSION
from meshctl.cli import output
from meshctl.config import profiles, resources
from tests.helpers import run_cli

ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-internal"


def write(tmp_path: Path, name: str, text: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


# --- acceptance commands (product.md §5) ---------------------------------------------------------------------


def test_profile_list() -> None:
    result = run_cli("profile", "list")
    assert result.stdout.splitlines() == profiles.list_profiles()
    assert len(result.stdout.splitlines()) == 10
    assert result.stderr == ""
    assert json.loads(run_cli("profile", "list", "-o", "json").stdout) == profiles.list_profiles()
    assert yaml.safe_load(run_cli("profile", "list", "-o", "yaml").stdout) == profiles.list_profiles()


def test_profile_dump_demo() -> None:
    result = run_cli("profile", "dump", "demo")
    doc = yaml.safe_load(result.stdout)
    assert doc["apiVersion"] == "install.istio.io/v1alpha1"
    assert doc["kind"] == "IstioOperator"
    assert doc["spec"]["profile"] == "demo"
    assert doc["spec"]["tag"] == ISTIO_VERSION
    assert doc["spec"]["addonComponents"]["kiali"] == {"enabled": True}
    assert doc["spec"]["values"]["profile"] == "demo"
    assert result.stderr == ""


def test_profile_dump_config_paths() -> None:
    assert yaml.safe_load(run_cli("profile", "dump", "--config-path", "components.pilot", "demo").stdout) == {
        "enabled": True
    }
    assert yaml.safe_load(run_cli("profile", "dump", "--config-path", "components.ingressGateways").stdout) == [
        {"name": "istio-ingressgateway", "enabled": True}
    ]
    assert (
        yaml.safe_load(run_cli("profile", "dump", "--config-path", "values.gateways.istio-ingressgateway").stdout) == {}
    )
    assert run_cli("profile", "dump", "-p", "tag", "-o", "json").stdout == f'"{ISTIO_VERSION}"\n'
    assert run_cli("profile", "dump", "-p", "spec.hub").stdout == "docker.io/istio\n"


@pytest.mark.parametrize(
    ("enabled", "annotation"),
    [
        # the quotes reach meshctl
        (
            'components.ingressGateways[0].enabled="true"',
            r'components.ingressGateways[0].k8s.serviceAnnotations."service\.beta\.kubernetes\.io/aws-load-balancer-internal"=\"true\"',
        ),
        # the shell removed them
        (
            "components.ingressGateways[0].enabled=true",
            r"components.ingressGateways[0].k8s.serviceAnnotations.service\.beta\.kubernetes\.io/aws-load-balancer-internal=\"true\"".replace(
                '\\"', '"'
            ),
        ),
    ],
)
def test_issue_acceptance_command(enabled: str, annotation: str) -> None:
    result = run_cli(
        "profile",
        "dump",
        "--set",
        "profile=default",
        "--set",
        enabled,
        "--set",
        annotation,
        "--config-path",
        "components.ingressGateways",
        "-o",
        "json",
    )
    assert json.loads(result.stdout) == [
        {"name": "istio-ingressgateway", "enabled": True, "k8s": {"serviceAnnotations": {ANNOTATION: "true"}}}
    ]


def test_issue_acceptance_command_through_a_real_shell() -> None:
    """Both spellings through /bin/sh, exactly as a user types them."""
    meshctl = shutil.which("meshctl")
    if meshctl is None:
        pytest.skip("meshctl console script not installed")
    quoted = (
        "meshctl profile dump --set profile=default --set 'components.ingressGateways[0].enabled=\"true\"' "
        "--set 'components.ingressGateways[0].k8s.serviceAnnotations.\"service\\.beta\\.kubernetes\\.io/"
        'aws-load-balancer-internal"=\\"true\\"\' --config-path components.ingressGateways -o json'
    )
    unquoted = (
        'meshctl profile dump --set profile=default --set components.ingressGateways[0].enabled="true" '
        '--set components.ingressGateways[0].k8s.serviceAnnotations."service\\.beta\\.kubernetes\\.io/'
        'aws-load-balancer-internal"=\\"true\\" --config-path components.ingressGateways -o json'
    )
    expected = [{"name": "istio-ingressgateway", "enabled": True, "k8s": {"serviceAnnotations": {ANNOTATION: "true"}}}]
    for command in (quoted, unquoted):
        proc = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, check=False)
        assert proc.returncode == 0, proc.stderr
        assert json.loads(proc.stdout) == expected


def test_profile_diff() -> None:
    result = run_cli("profile", "diff", "default", "demo", expect=1)
    assert result.stdout.startswith("--- default\n+++ demo\n")
    assert "-  profile: default\n+  profile: demo\n" in result.stdout
    assert "\x1b[" not in result.stdout
    same = run_cli("profile", "diff", "default", "default")
    assert same.stdout == ""  # data only on stdout: "identical" is a message, said on stderr
    assert same.stderr == "Profiles are identical\n"


def test_profile_diff_files_and_stdin(tmp_path: Path) -> None:
    file = write(tmp_path, "mine.yaml", "spec:\n  profile: demo\n")
    identical = run_cli("profile", "diff", "demo", file)
    assert (identical.stdout, identical.stderr) == ("", "Profiles are identical\n")
    result = run_cli("profile", "diff", "-", "minimal", stdin="spec:\n  profile: default\n", expect=1)
    assert result.stdout.startswith("--- -\n+++ minimal\n")


def test_profile_diff_colour_only_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output.Environment, "stdout_isatty", property(lambda self: True))
    monkeypatch.delenv("NO_COLOR", raising=False)
    coloured = run_cli("profile", "diff", "default", "minimal", expect=1)
    assert "\x1b[31m-" in coloured.stdout
    assert "\x1b[32m+" in coloured.stdout
    plain = run_cli("profile", "diff", "default", "minimal", "--no-color", expect=1)
    assert "\x1b[" not in plain.stdout
    monkeypatch.setenv("NO_COLOR", "1")
    assert "\x1b[" not in run_cli("profile", "diff", "default", "minimal", expect=1).stdout


def test_profile_schema() -> None:
    document = json.loads(run_cli("profile", "schema").stdout)
    assert document["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert "IstioOperatorSpec" in document["$defs"]
    assert yaml.safe_load(run_cli("profile", "schema", "-o", "yaml").stdout) == document


def test_dump_formats(tmp_path: Path) -> None:
    flags = run_cli("profile", "dump", "minimal", "-o", "flags").stdout.splitlines()
    assert "components.ingressGateways[0].enabled=false" in flags
    assert 'hub="docker.io/istio"' in flags
    assert 'values.defaultRevision=""' in flags
    assert flags == sorted(flags)
    assert run_cli("profile", "dump", "-o", "jsonpath={.spec.hub}").stdout == "docker.io/istio\n"
    assert json.loads(run_cli("profile", "dump", "-o", "json").stdout)["spec"]["profile"] == "default"
    # flags lines feed back into --set
    subtree = run_cli("profile", "dump", "demo", "-p", "values.gateways", "-o", "flags").stdout.splitlines()
    assert 'istio-ingressgateway.ports[1].name="http2"' in subtree


def test_dump_files_stdin_revision_and_manifests(tmp_path: Path) -> None:
    file = write(tmp_path, "f.yaml", "spec:\n  hub: my.registry/istio\n")
    result = run_cli("profile", "dump", "demo", "-f", file, "-p", "hub")
    assert result.stdout == "my.registry/istio\n"
    result = run_cli("profile", "dump", "-f", "-", "-p", "revision", "-r", "canary", stdin="spec:\n  revision: x\n")
    assert result.stdout == "canary\n"
    root = tmp_path / "pkg"
    (root / "profiles").mkdir(parents=True)
    shutil.copy(resources.profiles_dir() / "default.yaml", root / "profiles")
    (root / "profiles" / "tiny.yaml").write_text("spec:\n  hub: tiny.io/x\n")
    assert run_cli("profile", "list", "-d", str(root)).stdout == "default\ntiny\n"
    assert run_cli("profile", "dump", "tiny", "-d", str(root), "-p", "hub").stdout == "tiny.io/x\n"


def test_warnings_go_to_stderr() -> None:
    result = run_cli("profile", "dump", "--set", "values.newKey=1", "-p", "values.newKey")
    assert result.stdout == "1\n"
    assert result.stderr == "warning: values.newKey: meshctl does not use this key; it is passed through as is\n"


def test_force_turns_errors_into_warnings() -> None:
    result = run_cli("profile", "dump", "--set", "revision=Bad", "--force", "-p", "revision")
    assert result.stdout == "Bad\n"
    assert result.stderr.startswith("warning: revision: 'Bad' is not a valid DNS-1123 label")
    assert result.stderr.rstrip().endswith("(continuing because of --force)")


# --- every error, with stderr and exit code ------------------------------------------------------------------------


def test_bad_set_path_shows_the_flag_a_caret_and_a_hint() -> None:
    result = run_cli("profile", "dump", "--set", "components.ingressGateways[name:nope].enabled=true", expect=3)
    assert result.stderr == (
        "error: --set: no element of components.ingressGateways has name=nope\n"
        "  --set components.ingressGateways[name:nope].enabled=true\n"
        "                                  ^^^^^^^^^^^\n"
        "hint: name values in components.ingressGateways: istio-ingressgateway\n"
    )
    assert result.stdout == ""


def test_set_without_equals_is_invalid_input() -> None:
    result = run_cli("profile", "dump", "--set", "components.pilot.enabled", expect=3)
    assert result.stderr.splitlines()[0] == "error: --set: missing '=' in 'components.pilot.enabled'"
    assert result.stderr.splitlines()[-1] == 'hint: write --set PATH=VALUE (an empty value is PATH="")'


def test_bad_set_value_type() -> None:
    result = run_cli("profile", "dump", "--set", "components.pilot.enabled=maybe", expect=3)
    assert result.stderr.splitlines() == [
        "error: --set: components.pilot.enabled expects a boolean (true or false), got 'maybe'",
        "  --set components.pilot.enabled=maybe",
        "                         ^^^^^^^",
        "hint: write true or false",
    ]


def test_unknown_set_field_shows_a_caret_and_did_you_mean() -> None:
    result = run_cli("profile", "dump", "--set", "components.pilto.enabled=true", expect=3)
    assert result.stderr.splitlines() == [
        "error: --set: unknown field 'pilto' in components",
        "  --set components.pilto.enabled=true",
        "                   ^^^^^",
        "hint: did you mean components.pilot?",
    ]


def test_validation_errors_all_at_once(tmp_path: Path) -> None:
    file = write(tmp_path, "f.yaml", "spec:\n  components:\n    pilto:\n      enabled: true\n")
    result = run_cli("profile", "dump", "-f", file, "--set", "revision=A_B", expect=3)
    assert result.stderr.splitlines() == [
        "error: invalid configuration: 2 problems",
        "  components.pilto: unknown field (did you mean components.pilot?)",
        "  revision: 'A_B' is not a valid DNS-1123 label (lower-case letters, digits and '-', at most 63)",
        "hint: fix the settings above, or pass --force to continue despite them",
    ]


def test_config_path_that_does_not_exist() -> None:
    result = run_cli("profile", "dump", "--config-path", "components.pilto", expect=3)
    assert result.stderr.splitlines() == [
        "error: --config-path: no key 'pilto' in components",
        "  --config-path components.pilto",
        "                           ^^^^^",
        "hint: did you mean components.pilot?",
    ]
    result = run_cli("profile", "dump", "--config-path", "components[", expect=3)
    assert result.stderr.startswith("error: --config-path: unterminated '['\n")


def test_unknown_profile() -> None:
    result = run_cli("profile", "dump", "demoo", expect=3)
    assert result.stderr.splitlines() == [
        "error: unknown profile 'demoo'",
        "hint: did you mean demo? known: " + ", ".join(profiles.list_profiles()),
    ]
    assert run_cli("profile", "diff", "default", "nope", expect=3).stderr.startswith("error: unknown profile 'nope'")


def test_bad_files(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.yaml")
    result = run_cli("profile", "dump", "-f", missing, expect=3)
    assert result.stderr == f"error: cannot read {missing}: No such file or directory\n"
    bad = write(tmp_path, "bad.yaml", "spec:\n  hub: [\n")
    result = run_cli("profile", "dump", "-f", bad, expect=3)
    assert result.stderr.startswith(f"error: {bad}:3:1: invalid YAML: ")
    assert result.stderr.endswith("hint: check the indentation and quoting\n")
    dup = write(tmp_path, "dup.yaml", "spec:\n  hub: a\n  hub: b\n")
    result = run_cli("profile", "dump", "-f", dup, expect=3)
    assert result.stderr.splitlines()[0] == f"error: {dup}:3:3: duplicate key 'hub'"
    two = write(tmp_path, "two.yaml", "spec: {}\n---\nspec: {}\n")
    assert run_cli("profile", "dump", "-f", two, expect=3).stderr.startswith(f"error: {two}: holds 2 YAML documents")
    latin = tmp_path / "latin.yaml"
    latin.write_bytes(b"spec:\n  hub: caf\xe9\n")
    result = run_cli("profile", "dump", "-f", str(latin), expect=3)
    assert result.stderr.startswith(f"error: {latin}: not UTF-8 text (invalid byte 0xe9 at offset 16)")
    kind = write(tmp_path, "kind.yaml", "kind: Deployment\n")
    assert "expected IstioOperator" in run_cli("profile", "dump", "-f", kind, expect=3).stderr


def test_unknown_platform_and_compatibility_version() -> None:
    result = run_cli("profile", "dump", "--set", "values.global.platform=mars", expect=3)
    assert result.stderr.splitlines()[0] == "error: unknown platform 'mars'"
    result = run_cli("profile", "dump", "--set", "compatibilityVersion=1.2", expect=3)
    assert result.stderr.splitlines()[0] == "error: unknown compatibility version '1.2'"


def test_missing_manifests_directory(tmp_path: Path) -> None:
    result = run_cli("profile", "list", "-d", str(tmp_path / "nope"), expect=3)
    assert result.stderr.startswith(f"error: --manifests {tmp_path / 'nope'}: not a directory\n")


@pytest.mark.parametrize(
    ("args", "first_line"),
    [
        (("profile", "dump", "-o", "xml"), "error: unknown output format 'xml'"),
        (("profile", "list", "-o", "flags"), "error: unknown output format 'flags'"),
        (("profile", "dump", "-o", "jsonpath="), "error: empty jsonpath expression in -o jsonpath="),
        (("profile", "dump", "-o", "jsonpath={.spec[}"), "error: invalid jsonpath expression '{.spec[}'"),
        (("profile", "dump", "a", "b"), "error: Got unexpected extra argument"),
        (("profile", "diff", "default"), "error: Missing argument 'B'."),
        (("profile", "diff", "-", "-"), "error: standard input can be read once: only one of A and B may be '-'"),
        (("profile", "dump", "-f", "-", "-f", "x.yaml"), "error: -f -: standard input may only be the last -f"),
        (("profile", "dump", "--no-such-flag"), "error: No such option: --no-such-flag"),
    ],
)
def test_usage_errors(args: tuple[str, ...], first_line: str) -> None:
    result = run_cli(*args, expect=2)
    assert result.stderr.splitlines()[0].startswith(first_line)
    assert result.stdout == ""


def test_profile_without_subcommand_shows_help() -> None:
    result = run_cli("profile", expect=None)
    assert result.exit_code in (0, 2)
    assert "dump" in result.stdout + result.stderr


# --- generated input through the CLI entry point -----------------------------------------------------------------

ALPHABET = st.sampled_from(list(".\\[]=:\"' \tab0é日_-"))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(st.text(ALPHABET, max_size=30))
def test_generated_set_flags_exit_0_or_3(arg: str) -> None:
    result = run_cli("profile", "dump", "--set", arg, "-o", "flags", expect=None)
    assert result.exit_code in (0, 3), result.stderr
    if result.exit_code == 3:
        assert result.stderr.startswith("error: ")
        assert result.stdout == ""


_MAIN = "from meshctl.cli.app import main; main()"


@pytest.fixture(scope="module")
def bytecode() -> None:
    """Compile meshctl once, as pip does on install: where PYTHONDONTWRITEBYTECODE is set (CI here), every
    subprocess would otherwise recompile every module, tripling the cost of each generated case."""
    import compileall

    import meshctl

    compileall.compile_dir(str(Path(meshctl.__file__).parent), quiet=1)


# quality.md: "a few hundred through a subprocess".
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)
@given(st.text(ALPHABET, max_size=30))
def test_generated_set_flags_through_a_subprocess(bytecode: None, arg: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", _MAIN, "profile", "dump", "--set", arg, "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.returncode in (0, 3), proc.stderr
    assert "Traceback" not in proc.stderr
    if proc.returncode == 0:
        json.loads(proc.stdout)
    else:
        assert proc.stderr.startswith("error: ")


def test_warnings_found_with_errors_are_shown_with_them(tmp_path: Path) -> None:
    file = write(
        tmp_path,
        "w.yaml",
        "spec:\n  revision: Bad_Rev\n  values:\n    global:\n      zzzUnusedSetting: 1\n",
    )
    result = run_cli("profile", "dump", "-f", file, expect=3)
    lines = result.stderr.splitlines()
    assert lines[0] == "error: invalid configuration: 1 problem"
    assert lines[1].startswith("  revision: 'Bad_Rev' is not a valid DNS-1123 label")
    assert (
        lines[2]
        == "  warning: values.global.zzzUnusedSetting: meshctl does not use this key; it is passed through as is"
    )
    assert lines[3].startswith("hint: ")
    assert result.stdout == ""


def test_manifests_dir_without_a_default_profile_says_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "profiles").mkdir()
    write(tmp_path / "profiles", "mine.yaml", "spec:\n  profile: mine\n")
    assert run_cli("profile", "list", "-d", str(tmp_path)).stdout == "mine\n"
    result = run_cli("profile", "dump", "mine", "-d", str(tmp_path), expect=3)
    assert result.stderr.splitlines() == [
        "error: unknown profile 'default'",
        f"hint: {tmp_path}/profiles/default.yaml is missing; every profile is layered over it "
        "(--manifests replaces the built-in profiles). known: mine",
    ]
