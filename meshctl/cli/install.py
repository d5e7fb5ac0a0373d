"""``meshctl install`` (aliases ``apply`` and ``manifest install``): parse the options, call the install use case,
print what it reports and returns.

Progress, prompts and warnings go to stderr; the result (``-o json|yaml``) and the ``--dry-run`` plan are data and go
to stdout. Without a terminal and without ``-y`` there is no prompt: exit 7 before anything touches the cluster.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Annotated

import typer

from meshctl import errors
from meshctl.cli import app as cli_app
from meshctl.cli import options, output

if TYPE_CHECKING:
    from meshctl.kube import wait
    from meshctl.ops import install as ops_install
    from meshctl.ops import plan as ops_plan

HEARTBEAT_ENV = "MESHCTL_HEARTBEAT"
NO_PROMPT_HINT = "pass --skip-confirmation (-y) to proceed without a prompt"


class PlainReporter:
    """Install's progress as plain lines on stderr: one line per state change, no escape codes."""

    def __init__(self, env: output.Environment) -> None:
        self.env = env
        self._last = ""

    def _line(self, text: str) -> None:
        if text != self._last:  # identical consecutive states are one line
            self._last = text
            self.env.note(text)

    def note(self, text: str) -> None:
        self._line(text)

    def warn(self, text: str) -> None:
        self.env.warn(text)

    def lock_waiting(self, holder: str) -> None:
        self._line(f"- Waiting for the installation lock, held by {holder}")

    def progress(self, text: str) -> None:
        self._line(f"- {text}")

    def component_done(self, name: str) -> None:
        self._line(f"✔ {name} installed")

    def component_failed(self, name: str, reason: str) -> None:
        self._last = ""
        self.env.stderr.write(f"✘ {name} encountered an error: {reason}\n")
        self.env.stderr.flush()

    def waiting(self, pending: Sequence[wait.Pending]) -> None:
        from meshctl.ops import install as ops_install

        # A heartbeat: printed even when nothing changed, so that a CI log shows install is alive.
        self._last = ""
        self._line("- Still waiting for " + "; ".join(f"{ops_install.object_name(p.ref)} ({p.why})" for p in pending))

    def close(self) -> None:
        pass


class RichReporter(PlainReporter):
    """On a terminal: a live spinner line for what is in flight, permanent lines for results (rich, lazily)."""

    def __init__(self, env: output.Environment) -> None:
        super().__init__(env)
        from rich.console import Console

        self.console = Console(file=env.stderr, no_color=not env.color, highlight=False, soft_wrap=True)
        self.status = self.console.status("", spinner="dots")
        self._started = False

    def _line(self, text: str) -> None:
        if self.env.quiet:
            return
        self.console.print(text, markup=False, highlight=False)

    def progress(self, text: str) -> None:
        if self.env.quiet:
            return
        self.status.update(text)
        if not self._started:
            self.status.start()
            self._started = True

    def lock_waiting(self, holder: str) -> None:
        self._line(f"- Waiting for the installation lock, held by {holder}")

    def waiting(self, pending: Sequence[wait.Pending]) -> None:
        from meshctl.ops import install as ops_install

        self.progress("Waiting for " + ", ".join(f"{ops_install.object_name(p.ref)} ({p.why})" for p in pending))

    def component_failed(self, name: str, reason: str) -> None:
        self.console.print(f"✘ {name} encountered an error: {reason}", markup=False, highlight=False)

    def close(self) -> None:
        if self._started:
            self.status.stop()
            self._started = False


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
    output_format: Annotated[
        str | None,
        typer.Option("--output", "-o", metavar="FORMAT", help="Print the result (or plan) as json or yaml."),
    ] = None,
) -> None:
    """Install Istio into the cluster: render, plan, confirm, apply, prune and wait for readiness."""
    from meshctl.ops import configure
    from meshctl.ops import install as ops_install

    env = output.ENV
    fmt = output.parse_output_format(output_format, allowed=("json", "yaml"))[0] if output_format else None
    settings = ops_install.InstallOptions(
        dry_run=dry_run,
        force_conflicts=force_conflicts,
        wait=not no_wait,
        readiness_timeout=options.parse_duration(readiness_timeout, flag="--readiness-timeout"),
        lock_timeout=options.parse_duration(lock_timeout, flag="--lock-timeout"),
        heartbeat=_heartbeat(),
    )
    if not dry_run and not skip_confirmation and not env.stdin_isatty:
        raise errors.Aborted("confirmation is needed, but stdin is not a terminal", hint=NO_PROMPT_HINT)
    config = options.build_config(
        options.config_input(files=filename, sets=set_, manifests=manifests, revision=revision, force=force)
    )

    def confirm(plan: ops_plan.Plan) -> bool:
        env.stderr.write(_summary(plan) + "\n")
        return output.ask(ops_install.prompt_text(config))

    reporter = RichReporter(env) if env.stderr_isatty and not dry_run else PlainReporter(env)
    with output.logging_to_stderr(env.verbosity):
        client = configure.cluster_client(
            kubeconfig=env.kubeconfig, context=env.context, concurrency=concurrency, warn=env.warn
        )
        try:
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
                context=[f"{ops_install.object_name(o.ref)}: {o.note}" for o in conflicts],
                hint="pass --force-conflicts to take them over",
            )
        return
    if result.unchanged:
        reporter.note("✔ Nothing to change: the cluster already holds the rendered objects")
    reporter.note("✔ Installation complete")
    for line in result.ingress:
        reporter.note(f"  {line}")
    if fmt:
        env.write_data(output.format_data(result.as_json(), fmt))


def _heartbeat() -> float:
    value = os.environ.get(HEARTBEAT_ENV, "")
    try:
        return max(0.1, float(value)) if value else 15.0
    except ValueError:
        raise errors.UsageError(f"{HEARTBEAT_ENV}={value!r} is not a number of seconds") from None


def _summary(plan: ops_plan.Plan) -> str:
    from meshctl.ops import plan as ops_plan

    counts = {action: len(plan.by_action(action)) for action in ops_plan.Action}
    parts = [f"{counts[a]} to {a.value}" for a in ops_plan.Action if counts[a] and a is not ops_plan.Action.UNCHANGED]
    parts.append(f"{counts[ops_plan.Action.UNCHANGED]} unchanged")
    return "Plan: " + ", ".join(parts)


def _print_plan(result: ops_install.InstallResult, fmt: str | None) -> None:
    env = output.ENV
    if fmt:
        env.write_data(output.format_data(result.as_json(), fmt))
        return
    from meshctl.ops import install as ops_install

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
        lines.append(f"  {item.action:<10} {ops_install.object_name(item.ref)}{note}")
        if env.verbosity >= 1:
            lines.extend(f"      ~ {change.describe()}" for change in item.changes)
    summary = ", ".join(f"{n} {action}" for action, n in sorted(counts.items()))
    if unchecked:
        summary += f" ({unchecked} not checked by the server)"
    lines.append(f"Summary: {summary or 'nothing to do'}")
    for stray in result.strays:
        lines.append(f"  note: {ops_install.object_name(stray)} carries meshctl's label but is in no inventory")
    env.write_data("\n".join(lines))


def register(root: typer.Typer, manifest_group: typer.Typer) -> None:
    """Add ``install``, its alias ``apply``, and ``manifest install``."""
    command = cli_app.command(install)
    root.command("install")(command)
    root.command("apply", help="Alias of install.")(command)
    manifest_group.command("install", help="Alias of install.")(command)
