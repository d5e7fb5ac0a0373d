"""``meshctl install`` (aliases ``apply`` and ``manifest install``) and ``meshctl upgrade``: parse the options, call
the install (or upgrade) use case, print what it reports and returns.

Upgrade is install plus checks (an installation exists, the version skew of ``cluster.md`` §4) and a plan that is
always shown before it proceeds, deletions included: one code path (:func:`_run`).

Progress, prompts, warnings and the upgrade's plan go to stderr; the result (``-o json|yaml``) and the ``--dry-run``
plan are data and go to stdout. Without a terminal and without ``-y`` there is no prompt: exit 7 before anything
touches the cluster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from meshctl import errors
from meshctl.cli import app as cli_app
from meshctl.cli import options, output, progress

if TYPE_CHECKING:
    from meshctl.ops import install as ops_install
    from meshctl.ops import plan as ops_plan

NO_PROMPT_HINT = progress.NO_PROMPT_HINT

OutputOpt = Annotated[
    str | None,
    typer.Option("--output", "-o", metavar="FORMAT", help="Print the result (or plan) as json or yaml."),
]
SkipVersionCheckOpt = Annotated[
    bool,
    typer.Option(
        "--skip-version-check",
        help="Upgrade even across more than one minor version, or to an older version.",
    ),
]


def install(
    filename: options.FilenameOpt = None,
    set_: options.SetOpt = None,
    revision: options.RevisionOpt = None,
    manifests: options.ManifestsOpt = None,
    force: options.ForceOpt = False,
    skip_confirmation: options.SkipConfirmationOpt = False,
    dry_run: options.DryRunOpt = False,
    readiness_timeout: options.ReadinessTimeoutOpt = "5m",
    no_wait: options.NoWaitOpt = False,
    force_conflicts: options.ForceConflictsOpt = False,
    concurrency: options.ConcurrencyOpt = 8,
    lock_timeout: options.LockTimeoutOpt = "2m",
    output_format: OutputOpt = None,
) -> None:
    """Install Istio into the cluster: render, plan, confirm, apply, prune and wait for readiness."""
    _run(**locals(), upgrade=False, skip_version_check=False)


def upgrade(
    filename: options.FilenameOpt = None,
    set_: options.SetOpt = None,
    revision: options.RevisionOpt = None,
    manifests: options.ManifestsOpt = None,
    force: options.ForceOpt = False,
    skip_confirmation: options.SkipConfirmationOpt = False,
    dry_run: options.DryRunOpt = False,
    readiness_timeout: options.ReadinessTimeoutOpt = "5m",
    no_wait: options.NoWaitOpt = False,
    force_conflicts: options.ForceConflictsOpt = False,
    concurrency: options.ConcurrencyOpt = 8,
    lock_timeout: options.LockTimeoutOpt = "2m",
    output_format: OutputOpt = None,
    skip_version_check: SkipVersionCheckOpt = False,
) -> None:
    """Upgrade an existing installation: like install, after checking that it exists and the version skew, with
    the plan (deletions included) shown before it proceeds."""
    _run(**locals(), upgrade=True)


def _run(
    *,
    filename: list[str] | None,
    set_: list[str] | None,
    revision: str | None,
    manifests: str | None,
    force: bool,
    skip_confirmation: bool,
    dry_run: bool,
    readiness_timeout: str,
    no_wait: bool,
    force_conflicts: bool,
    concurrency: int,
    lock_timeout: str,
    output_format: str | None,
    upgrade: bool,
    skip_version_check: bool,
) -> None:
    from meshctl.ops import configure
    from meshctl.ops import install as ops_install
    from meshctl.ops import upgrade as ops_upgrade

    env = output.ENV
    fmt = output.parse_output_format(output_format, allowed=("json", "yaml"))[0] if output_format else None
    settings = ops_install.InstallOptions(
        dry_run=dry_run,
        force_conflicts=force_conflicts,
        wait=not no_wait,
        readiness_timeout=options.parse_duration(readiness_timeout, flag="--readiness-timeout"),
        lock_timeout=options.parse_duration(lock_timeout, flag="--lock-timeout"),
        heartbeat=progress.heartbeat(),
    )
    if not dry_run and not skip_confirmation and not env.stdin_isatty:
        raise errors.Aborted("confirmation is needed, but stdin is not a terminal", hint=NO_PROMPT_HINT)
    config = options.build_config(
        options.config_input(files=filename, sets=set_, manifests=manifests, revision=revision, force=force)
    )
    reporter = progress.reporter(env, live=not dry_run)

    def confirm(plan: ops_plan.Plan) -> bool:
        if upgrade:
            reporter.close()  # the plan and the question are permanent lines, not a spinner's
            env.stderr.write(_plan_text(plan, verbose=env.verbosity >= 1) + "\n")
            env.stderr.flush()
            if skip_confirmation:
                return True
            return output.ask(ops_upgrade.prompt_text(config, plan))
        env.stderr.write(_summary(plan) + "\n")
        return output.ask(ops_install.prompt_text(config))

    with output.logging_to_stderr(env.verbosity):
        client = configure.cluster_client(
            kubeconfig=env.kubeconfig, context=env.context, concurrency=concurrency, warn=env.warn
        )
        try:
            if upgrade:
                result = ops_upgrade.upgrade(
                    config,
                    client,
                    settings,
                    skip_version_check=skip_version_check,
                    reporter=reporter,
                    confirm=None if dry_run or (skip_confirmation and env.quiet) else confirm,
                )
            else:
                result = ops_install.install(
                    config,
                    client,
                    settings,
                    reporter=reporter,
                    confirm=None if skip_confirmation or dry_run else confirm,
                )
        finally:
            reporter.close()
            client.close()
    if dry_run:
        _print_plan(result, fmt)
        if not result.ok:
            conflicts = [o for o in result.objects if o.action == "conflict"]
            raise errors.OwnershipConflict(
                f"{len(conflicts)} {'object is' if len(conflicts) == 1 else 'objects are'} owned by another "
                "manager or installation",
                context=[f"{progress.object_name(o.ref)}: {o.note}" for o in conflicts],
                hint="pass --force-conflicts to take them over",
            )
        return
    if result.unchanged:
        reporter.note("✔ Nothing to change: the cluster already holds the rendered objects")
    reporter.note("✔ Upgrade complete" if upgrade else "✔ Installation complete")
    for line in result.ingress:
        reporter.note(f"  {line}")
    if fmt:
        env.write_data(output.format_data(result.as_json(), fmt))


def _summary(plan: ops_plan.Plan) -> str:
    from meshctl.ops import plan as ops_plan

    counts = {action: len(plan.by_action(action)) for action in ops_plan.Action}
    parts = [f"{counts[a]} to {a.value}" for a in ops_plan.Action if counts[a] and a is not ops_plan.Action.UNCHANGED]
    parts.append(f"{counts[ops_plan.Action.UNCHANGED]} unchanged")
    return "Plan: " + ", ".join(parts)


def _plan_text(plan: ops_plan.Plan, *, verbose: bool) -> str:
    """The upgrade's plan before it proceeds: every object it changes or deletes, then the summary line."""
    from meshctl.ops import plan as ops_plan

    lines = [f"Plan (installations: {', '.join(plan.installations)}):"]
    for item in plan.items:
        if item.action is ops_plan.Action.UNCHANGED:
            continue
        note = f"  ({item.note})" if item.note else ""
        lines.append(f"  {item.action.value:<10} {progress.object_name(item.ref)}{note}")
        if verbose:
            lines.extend(f"      ~ {change.describe()}" for change in item.changes)
    lines.append(_summary(plan))
    return "\n".join(lines)


def _print_plan(result: ops_install.InstallResult, fmt: str | None) -> None:
    env = output.ENV
    if fmt:
        env.write_data(output.format_data(result.as_json(), fmt))
        return
    lines = [f"Plan (dry run, nothing was written; installations: {', '.join(result.inventories)}):"]
    counts: dict[str, int] = {}
    unchecked = 0
    for item in result.objects:
        counts[item.action] = counts.get(item.action, 0) + 1
        note = ""
        if not item.checked:
            unchecked += 1
            note = f"  (not checked by the server: {item.note})"
        elif item.note:
            note = f"  ({item.note})"
        lines.append(f"  {item.action:<10} {progress.object_name(item.ref)}{note}")
        if env.verbosity >= 1:
            lines.extend(f"      ~ {change.describe()}" for change in item.changes)
    summary = ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))
    if unchecked:
        summary += f" ({unchecked} not checked by the server)"
    lines.append(f"Summary: {summary or 'nothing to do'}")
    for stray in result.strays:
        lines.append(f"  note: {progress.object_name(stray)} carries meshctl's label but is in no inventory")
    env.write_data("\n".join(lines))


def register(root: typer.Typer, manifest_group: typer.Typer) -> None:
    """Add ``install``, its aliases ``apply`` and ``manifest install``, and ``upgrade``."""
    command = cli_app.command(install)
    root.command("install")(command)
    root.command("apply", help="Alias of install.")(command)
    manifest_group.command("install", help="Alias of install.")(command)
    root.command("upgrade")(cli_app.command(upgrade))
