"""Pins the public surface: the commands of product.md §2, their options, and the library entry points install uses.

A change here is a change of the product contract (docs, users' scripts): make it on purpose.
"""

from __future__ import annotations

import inspect
from typing import Any

import pytest
import typer

from meshctl.cli import app
from meshctl.config import layering
from meshctl.render import pipeline

GLOBAL = {"--kubeconfig", "-c", "--context", "--verbose", "-v", "--quiet", "-q", "--no-color", "--traceback",
          "--strict"}  # fmt: skip
INSTALL_STYLE = {"--filename", "-f", "--set", "-s", "--revision", "-r", "--manifests", "-d", "--force"}
CLUSTER_CHANGING = {"--skip-confirmation", "-y", "--yes", "--dry-run", "--readiness-timeout", "--no-wait",
                    "--force-conflicts", "--concurrency", "--lock-timeout", "--output", "-o"}  # fmt: skip
UNINSTALL = INSTALL_STYLE | {"--purge", "--delete-user-config", "--skip-confirmation", "-y", "--yes", "--dry-run",
                             "--readiness-timeout", "--concurrency", "--lock-timeout", "--output", "-o"}  # fmt: skip

EXPECTED: dict[str, set[str]] = {
    "profile list": {"--manifests", "-d", "--output", "-o"},
    "profile dump": INSTALL_STYLE | {"--config-path", "--output", "-o"},
    "profile diff": {"--manifests", "-d"},
    "profile schema": {"--output", "-o"},
    "manifest generate": INSTALL_STYLE | {"--output", "-o", "--component", "--with-namespace"},
    "version": {"--short", "--output", "-o", "--remote", "--istioNamespace", "-i"},
    "verify-install": INSTALL_STYLE | {"--output", "-o"},
    "install": INSTALL_STYLE | CLUSTER_CHANGING,
    "apply": INSTALL_STYLE | CLUSTER_CHANGING,
    "manifest install": INSTALL_STYLE | CLUSTER_CHANGING,
    "upgrade": INSTALL_STYLE | CLUSTER_CHANGING | {"--skip-version-check"},
    "uninstall": UNINSTALL,
    "x uninstall": UNINSTALL,
    "kube-inject": {"--filename", "-f", "--output", "-o", "--set", "-s", "--revision", "-r", "--manifests", "-d",
                    "--force", "--operatorFileName", "--from-cluster", "--istioNamespace", "-i",
                    "--injectConfigMapName", "--meshConfigMapName", "--injectConfigFile", "--meshConfigFile",
                    "--valuesFile"},
}  # fmt: skip


def _commands() -> dict[str, Any]:
    found: dict[str, Any] = {}

    def walk(command: Any, path: str) -> None:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}".strip())
        else:
            found[path] = command

    walk(typer.main.get_command(app.app), "")
    return found


def test_every_registered_command_is_a_documented_one() -> None:
    assert set(_commands()) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_command_has_its_options_and_the_global_ones(name: str) -> None:
    opts = {opt for param in _commands()[name].params for opt in param.opts}
    missing = (EXPECTED[name] | GLOBAL) - opts
    assert not missing, f"meshctl {name} lacks {sorted(missing)}"


def test_root_has_version_and_the_global_options() -> None:
    root = typer.main.get_command(app.app)
    opts = {opt for param in root.params for opt in param.opts}
    assert GLOBAL | {"--version"} <= opts


def test_library_entry_points_install_will_reuse() -> None:
    assert list(inspect.signature(layering.build_effective_config).parameters) == ["inp", "stdin"]
    assert list(inspect.signature(pipeline.render_manifests).parameters) == ["config", "components"]
    fields = {f for f in layering.ConfigInput.__dataclass_fields__}
    assert {"files", "sets", "profile", "manifests", "revision", "force"} <= fields
