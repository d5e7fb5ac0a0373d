"""Upgrade: install plus checks (``cluster.md`` §4), on install's one code path.

Before anything is written (and again under the lock, on the inventories the plan reads): the revision's
installation must exist (else :class:`errors.InputError`, exit 3, with the hint to use install), and the target
Istio version — the image ``tag`` being installed, meshctl's Istio version unless ``tag`` is set — may be at most
one minor version ahead of the version recorded in the inventory and not behind it, unless ``skip_version_check``.
A tag that is not a version skips the check with a warning. The plan, deletions included, goes to ``confirm``
before anything is written (the CLI prints it, and asks unless ``-y``); the inventory's history keeps the run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from meshctl import errors, objects
from meshctl.config import layering
from meshctl.kube import client as kclient
from meshctl.kube import inventory
from meshctl.ops import install as ops_install
from meshctl.ops import plan as planning

_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.(\d+))?(?:[-+].*)?$")

SKIP_HINT = "pass --skip-version-check to upgrade anyway"


def parse_version(text: str) -> tuple[int, int, int] | None:
    """``(major, minor, patch)`` of a version-like tag (``1.30.3``, ``v1.31.0``, ``1.30.3-distroless``), else None."""
    match = _VERSION.match(text.strip())
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2)), int(match.group(3) or 0)


def check_version(installed: str, target: str, *, skip: bool = False) -> list[str]:
    """Refuse a skew of more than one minor version or a downgrade (``errors.InputError``, exit 3); returns the
    warnings to show (a version that cannot be compared, or a check that was skipped and mattered)."""
    have, want = parse_version(installed), parse_version(target)
    if want is None:
        return [f"the tag {target!r} is not a version: the version skew check is skipped"]
    if have is None:
        return [f"the installation records no comparable Istio version ({installed!r}): the version check is skipped"]
    problem = ""
    if want < have:
        problem = f"{target} is older than the installed {installed} (a downgrade)"
    elif want[0] != have[0] or want[1] > have[1] + 1:
        problem = f"{target} is more than one minor version ahead of the installed {installed}"
    if not problem:
        return []
    if skip:
        return [f"version check skipped: {problem}"]
    raise errors.InputError(
        f"cannot upgrade: {problem}",
        hint=f"upgrade one minor version at a time (e.g. to {have[0]}.{have[1] + 1}.x), or {SKIP_HINT}"
        if want > have
        else SKIP_HINT,
    )


def require_installation(
    config: layering.EffectiveConfig, found: Mapping[str, inventory.Inventory]
) -> inventory.Inventory:
    """The inventory of the revision ``config`` installs; :class:`errors.InputError` (exit 3) when there is none."""
    name = objects.installation_name(config.revision)
    current = found.get(name)
    if current is None:
        where = f"namespace {config.istio_namespace}"
        others = sorted(n for n in found if n != objects.BASE_INSTALLATION)
        context = [f"installations found: {', '.join(others)}"] if others else []
        revision = config.revision or "default"
        raise errors.InputError(
            f"there is no installation to upgrade: no inventory {name} (revision {revision}) in {where}",
            context=context,
            hint="use 'meshctl install' to install it",
        )
    return current


def prompt_text(config: layering.EffectiveConfig, plan: planning.Plan) -> str:
    """The confirmation question of upgrade, naming the versions."""
    current = plan.previous.get(objects.installation_name(config.revision))
    before = current.istio_version if current is not None and current.istio_version else "an unknown version"
    revision = config.revision or "default"
    return (
        f'This will upgrade the Istio installation "{revision}" from {before} to '
        f'{ops_install.target_version(config)} (profile "{config.profile}"). Proceed?'
    )


def upgrade(
    config: layering.EffectiveConfig,
    client: kclient.KubeClient,
    options: ops_install.InstallOptions | None = None,
    *,
    skip_version_check: bool = False,
    reporter: ops_install.Reporter | None = None,
    confirm: Callable[[planning.Plan], bool] | None = None,
) -> ops_install.InstallResult:
    """Upgrade the installation ``config`` names; see the module docstring."""
    reporter = reporter or ops_install.NullReporter()
    target = ops_install.target_version(config)

    def check(found: Mapping[str, inventory.Inventory]) -> list[str]:
        current = require_installation(config, found)
        return check_version(current.istio_version, target, skip=skip_version_check)

    # First without the lock, so that a refusal writes nothing (install would create namespaces first) ...
    for warning in check(inventory.read_all(client, config.istio_namespace)):
        reporter.warn(warning)
    # ... then again on what the plan reads under the lock (another meshctl may have changed it meanwhile).
    return ops_install.install(
        config, client, options or ops_install.InstallOptions(), reporter=reporter, confirm=confirm, check=check
    )
