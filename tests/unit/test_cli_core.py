"""The CLI skeleton: global options, the error model and exit codes, the output contract."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

from meshctl import __version__, errors
from meshctl.cli import output
from tests.helpers import run_cli


def test_version_flag_prints_client_version_on_stdout() -> None:
    result = run_cli("--version")
    assert result.stdout == f"meshctl {__version__}\n"
    assert result.stderr == ""


def test_unknown_command_is_a_usage_error_with_hint() -> None:
    result = run_cli("no-such-command", expect=2)
    assert result.stderr.splitlines()[0] == "error: No such command 'no-such-command'."
    assert result.stderr.splitlines()[-1].startswith("hint: run 'meshctl --help'")
    assert result.stdout == ""


def test_unknown_flag_is_a_usage_error() -> None:
    result = run_cli("--no-such-flag", expect=2)
    assert "No such option: --no-such-flag" in result.stderr


def test_help_does_not_import_kubernetes() -> None:
    code = (
        "import sys\n"
        "from meshctl.cli import app\n"
        "try:\n"
        "    app.run(['--help'])\n"
        "finally:\n"
        "    sys.stdout.flush()\n"
        "print('LOADED' if 'kubernetes' in sys.modules else 'CLEAN', file=sys.stderr)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stderr.strip().splitlines()[-1] == "CLEAN"
    assert "Usage: meshctl" in proc.stdout


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (errors.InputError("bad input"), 3),
        (errors.ClusterError("unreachable"), 4),
        (errors.ReadinessTimeout("slow"), 5),
        (errors.VerificationFailed("missing"), 6),
        (errors.Aborted("declined"), 7),
        (errors.OwnershipConflict("owned"), 8),
        (errors.UsageError("wrong"), 2),
    ],
)
def test_errors_map_to_documented_exit_codes(error: errors.MeshctlError, code: int) -> None:
    assert error.exit_code == code
    assert output.format_error(error).startswith(f"error: {error.message}\n")


def test_path_error_draws_a_caret_under_the_bad_segment() -> None:
    exc = errors.PathError(
        "no such key",
        path="components.pilto.enabled",
        segment_start=11,
        segment_end=16,
        hint="did you mean components.pilot?",
    )
    text = output.format_error(exc)
    lines = text.splitlines()
    assert lines[0] == "error: no such key"
    assert lines[1] == "  components.pilto.enabled"
    assert lines[2] == "  " + " " * 11 + "^^^^^"
    assert lines[3] == "hint: did you mean components.pilot?"


def test_output_formats() -> None:
    data = {"spec": {"hub": "docker.io/istio", "tag": "1.30", "list": [1, {"a": True}]}}
    assert output.format_data(data, "json").startswith("{\n")
    assert output.format_data(data, "yaml").splitlines()[1] == "  hub: docker.io/istio"
    assert output.format_data(data, "jsonpath", "{.spec.tag}") == "1.30\n"
    assert output.format_data(data, "jsonpath", "{.spec.list[1].a}") == "true\n"
    with pytest.raises(errors.UsageError):
        output.parse_output_format("xml", allowed=("yaml", "json"))
    assert output.parse_output_format("jsonpath={.a}", allowed=("yaml", "jsonpath")) == ("jsonpath", "{.a}")


def test_version_client_only() -> None:
    from meshctl import ISTIO_VERSION

    assert run_cli("version").stdout == f"client version: {ISTIO_VERSION} (meshctl {__version__})\n"
    # --short is the text form, the default (cluster.md §7), as istioctl has it.
    assert run_cli("version", "--short").stdout == run_cli("version").stdout
    doc = json.loads(run_cli("version", "-o", "json").stdout)
    assert doc == {
        "clientVersion": {"version": ISTIO_VERSION, "istioVersion": ISTIO_VERSION, "meshctlVersion": __version__}
    }
    assert run_cli("version", "-o", "jsonpath={.clientVersion.meshctlVersion}").stdout == f"{__version__}\n"


def test_bad_output_format_is_a_usage_error_naming_the_choices() -> None:
    result = run_cli("version", "-o", "xml", expect=2)
    assert result.stderr == "error: unknown output format 'xml'\nhint: use one of: yaml, json, jsonpath=EXPR\n"
    assert result.stdout == ""


def test_global_options_are_accepted_after_the_command() -> None:
    result = run_cli("version", "--short", "-q", "-vv", "--no-color", "--context", "x", "--kubeconfig", "/nonexistent")
    assert result.stdout.strip() == run_cli("-q", "version", "--short").stdout.strip()


def test_internal_errors_exit_70_and_traceback_only_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    from meshctl.cli import version as version_cmd

    def boom() -> dict[str, object]:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(version_cmd, "client_version_info", boom)
    result = run_cli("version", expect=70)
    assert result.stderr.splitlines() == [
        "error: internal error: RuntimeError: kaboom",
        "hint: this is a bug in meshctl; rerun with --traceback and report the output",
    ]
    traced = run_cli("version", "--traceback", expect=70)
    assert traced.stderr.splitlines()[0] == "error: internal error: RuntimeError: kaboom"
    assert "Traceback (most recent call last)" in traced.stderr
    assert traced.stderr.rstrip().endswith("RuntimeError: kaboom")


@pytest.mark.parametrize("args", [(), ("profile",), ("manifest",)])
def test_bare_command_prints_help_on_stdout_and_succeeds(args: tuple[str, ...]) -> None:
    result = run_cli(*args)
    assert result.stdout.startswith(f"Usage: meshctl {' '.join(args)}".rstrip() + " [OPTIONS] COMMAND")
    assert "Commands:" in result.stdout
    assert result.stderr == ""


def _every_command_path() -> list[tuple[str, ...]]:
    import typer

    from meshctl.cli import app

    paths: list[tuple[str, ...]] = []

    def walk(command: object, path: tuple[str, ...]) -> None:
        paths.append(path)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, (*path, name))

    walk(typer.main.get_command(app.app), ())
    return paths


@pytest.mark.parametrize("path", _every_command_path(), ids=lambda p: " ".join(p) or "meshctl")
def test_every_option_names_what_its_value_is(path: tuple[str, ...]) -> None:
    """No option shows a type placeholder such as <str>: each says FILE, DIR, PATH=VALUE, REV, FORMAT, ..."""
    text = run_cli(*path, "--help").stdout
    assert "<str>" not in text, text
    assert "<int>" not in text, text
    assert "Usage: meshctl" in text


def test_no_command_module_imports_another() -> None:
    """Command modules share code through cli.options, cli.output, cli.progress and ops, never through each other."""
    import ast
    from pathlib import Path

    import meshctl.cli

    cli_dir = Path(meshctl.cli.__file__).parent
    shared = {"__init__", "app", "output", "options", "progress"}
    commands = {p.stem for p in cli_dir.glob("*.py")} - shared
    assert {"profile", "manifest", "version"} <= commands
    for name in sorted(commands):
        tree = ast.parse((cli_dir / f"{name}.py").read_text())
        imported: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module == "meshctl.cli":
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("meshctl.cli."):
                imported.add((node.module or "").split(".")[2])
            elif isinstance(node, ast.Import):
                imported.update(a.name.split(".")[2] for a in node.names if a.name.startswith("meshctl.cli."))
        assert not (imported & (commands - {name})), f"cli/{name}.py imports {imported & commands}"


@pytest.mark.parametrize(("unknown", "shown"), [(100, 100), (101, 100), (150, 100)])
def test_configuration_warnings_stop_at_the_limit_and_count_the_rest(
    tmp_path: pathlib.Path, unknown: int, shown: int
) -> None:
    path = tmp_path / "unknown.yaml"
    path.write_text("spec:\n  values:\n    global:\n" + "".join(f"      k{i}: 1\n" for i in range(unknown)))
    result = run_cli("manifest", "generate", "-f", str(path))
    lines = result.stderr.splitlines()
    assert [line for line in lines if line.endswith("it is passed through as is")] == [
        f"warning: values.global.k{i}: meshctl does not use this key; it is passed through as is" for i in range(shown)
    ]
    rest = [line for line in lines if "more warnings" in line]
    assert rest == ([f"warning: {unknown - shown} more warnings like these are not shown"] if unknown > shown else [])
    assert len(lines) == shown + len(rest)
