"""``meshctl uninstall`` (also ``meshctl x uninstall``): remove a revision (``--revision``, ``-f``, ``--set
revision=…``) or, with ``--purge``, everything meshctl installed.

The plan (what is deleted, what stays and why) is printed on stderr before the prompt, or on stdout with
``--dry-run``; ``-o json|yaml`` prints the result (or the plan) on stdout. Without a terminal and without ``-y`` it
stops before contacting the cluster, with exit 7.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from meshctl import errors
from meshctl.cli import app as cli_app
from meshctl.cli import options, output, progress

if TYPE_CHECKING:
    from meshctl.ops import uninstall as ops_uninstall

NEEDS_TARGET = "at least one of --revision (or --set revision=REV), --filename or --purge must be given"

PurgeOpt = Annotated[
    bool,
    typer.Option(
        "--purge",
        help="Remove every meshctl installation (all revisions and base). CRDs that still hold user objects stay.",
    ),
]
DeleteUserConfigOpt = Annotated[
    bool,
    typer.Option(
        "--delete-user-config",
        help="With --purge: also delete the CRDs that hold user objects, and those objects (asked again on a TTY).",
    ),
]
RemovalTimeoutOpt = Annotated[
    str,
    typer.Option(
        "--readiness-timeout", metavar="DURATION", help="How long to wait for removed objects to be gone (e.g. 5m)."
    ),
]
OutputOpt = Annotated[
    str | None,
    typer.Option("--output", "-o", metavar="FORMAT", help="Print the result (or plan) as json or yaml."),
]


def uninstall(
    filename: options.FilenameOpt = None,
    set_: options.SetOpt = None,
    revision: options.RevisionOpt = None,
    manifests: options.ManifestsOpt = None,
    force: options.ForceOpt = False,
    purge: PurgeOpt = False,
    delete_user_config: DeleteUserConfigOpt = False,
    skip_confirmation: options.SkipConfirmationOpt = False,
    dry_run: options.DryRunOpt = False,
    readiness_timeout: RemovalTimeoutOpt = "5m",
    concurrency: options.ConcurrencyOpt = 8,
    lock_timeout: options.LockTimeoutOpt = "2m",
    output_format: OutputOpt = None,
) -> None:
    """Remove Istio from the cluster: one revision (--revision, -f, --set revision=REV), or everything (--purge)."""
    from meshctl.ops import configure
    from meshctl.ops import uninstall as ops_uninstall

    env = output.ENV
    fmt = output.parse_output_format(output_format, allowed=("json", "yaml"))[0] if output_format else None
    if not (purge or revision or filename or _sets_revision(set_)):
        raise errors.UsageError(NEEDS_TARGET, hint="run 'meshctl uninstall --help' for usage")
    if delete_user_config and not purge:
        raise errors.UsageError(
            "--delete-user-config only goes with --purge", hint="use 'meshctl uninstall --purge --delete-user-config'"
        )
    timeout = options.parse_duration(readiness_timeout, flag="--readiness-timeout")
    lock_wait = options.parse_duration(lock_timeout, flag="--lock-timeout")
    if not dry_run and not skip_confirmation and not env.stdin_isatty:
        raise errors.Aborted("confirmation is needed, but stdin is not a terminal", hint=progress.NO_PROMPT_HINT)
    config = options.build_config(
        options.config_input(files=filename, sets=set_, manifests=manifests, revision=revision, force=force)
    )
    if purge and (revision or filename or _sets_revision(set_)):
        env.warn("--purge removes every meshctl installation, ignoring the revision or file given")
    settings = ops_uninstall.UninstallOptions(
        revision=config.revision,
        purge=purge,
        delete_user_config=delete_user_config,
        dry_run=dry_run,
        timeout=timeout,
        lock_timeout=lock_wait,
    )
    reporter = progress.reporter(env, live=not dry_run)

    def confirm(plan: ops_uninstall.UninstallPlan) -> bool:
        reporter.close()
        env.stderr.write(plan_text(plan) + "\n")
        env.stderr.flush()
        if skip_confirmation:
            return True
        return output.ask(ops_uninstall.prompt_text(plan))

    def confirm_user_config(held: Sequence[ops_uninstall.HeldCrd]) -> bool:
        lines = ["These CustomResourceDefinitions hold user objects, which will be deleted with them:"]
        lines.extend(f"  {progress.object_name(h.ref)} ({h.describe()})" for h in held)
        env.stderr.write("\n".join(lines) + "\n")
        return output.ask("Delete them and every object in them?")

    with output.logging_to_stderr(env.verbosity):
        client = configure.cluster_client(
            kubeconfig=env.kubeconfig, context=env.context, concurrency=concurrency, warn=env.warn
        )
        try:
            result = ops_uninstall.uninstall(
                client,
                config.istio_namespace,
                settings,
                reporter=reporter,
                confirm=None if dry_run or (skip_confirmation and env.quiet) else confirm,
                confirm_user_config=None if skip_confirmation else confirm_user_config,
            )
        finally:
            reporter.close()
            client.close()
    if dry_run:
        if fmt:
            env.write_data(output.format_data(result.as_json(), fmt))
        elif not result.nothing:
            env.write_data(_dry_run_text(result))
        return
    if not result.nothing and settings.purge:
        reporter.note(f"  Namespaces are not deleted: {config.istio_namespace} stays")
    reporter.note("✔ Uninstall complete")
    if fmt:
        env.write_data(output.format_data(result.as_json(), fmt))


def _sets_revision(sets: Sequence[str] | None) -> bool:
    return any(item.split("=", 1)[0].strip() == "revision" for item in sets or ())


def _heading(plan: ops_uninstall.UninstallPlan) -> str:
    text = f"installations: {', '.join(plan.targets) or 'none'}"
    if plan.base_users:
        text += f"; meshctl-base stays, used by revisions {', '.join(plan.base_users)}"
    return text


def plan_text(plan: ops_uninstall.UninstallPlan) -> str:
    """What the uninstall will delete and what stays, before the prompt."""
    lines = [f"Plan ({_heading(plan)}):"]
    for removal in plan.removals:
        lines.append(f"  {'delete':<10} {progress.object_name(removal.ref)}")
    for held in plan.kept:
        lines.append(f"  {'keep':<10} {progress.object_name(held.ref)}  ({held.describe()} (user objects) use it)")
    for ref, why in plan.left_alone:
        lines.append(f"  {'keep':<10} {progress.object_name(ref)}  ({why})")
    for ref in plan.strays:
        lines.append(f"  {'keep':<10} {progress.object_name(ref)}  (carries meshctl's label but is in no inventory)")
    summary = f"{len(plan.removals)} to delete"
    if plan.gone:
        summary += f", {len(plan.gone)} already gone"
    kept = len(plan.kept) + len(plan.left_alone) + len(plan.strays)
    if kept:
        summary += f", {kept} kept"
    lines.append(f"Summary: {summary}")
    return "\n".join(lines)


def _dry_run_text(result: ops_uninstall.UninstallResult) -> str:
    lines = [f"Plan (dry run, nothing was removed; installations: {', '.join(result.inventories) or 'none'}):"]
    counts: dict[str, int] = {}
    for item in result.objects:
        counts[item.action] = counts.get(item.action, 0) + 1
        note = f"  ({item.note})" if item.note else ""
        lines.append(f"  {item.action:<10} {progress.object_name(item.ref)}{note}")
    if result.base_users:
        lines.append(f"  note: meshctl-base stays, used by revisions {', '.join(result.base_users)}")
    summary = ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))
    lines.append(f"Summary: {summary or 'nothing to do'}")
    return "\n".join(lines)


def register(root: typer.Typer) -> None:
    """Add ``uninstall`` and ``x uninstall`` (the experimental group istioctl had it in)."""
    command = cli_app.command(uninstall)
    root.command("uninstall")(command)
    experimental = typer.Typer(
        name="x", help="Experimental commands (kept for istioctl users).", no_args_is_help=True, rich_markup_mode=None
    )
    experimental.command("uninstall", help="Alias of uninstall.")(command)
    root.add_typer(experimental, name="x")
