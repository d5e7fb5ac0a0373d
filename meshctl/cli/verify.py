"""``meshctl verify-install``: parse the options, call the verify use case, print one line per checked object.

The lines and the summary are data (stdout); a note on which objects were checked goes to stderr. Any missing or
unready object ends the command with exit 6 after the lines are printed, also with ``-o json|yaml|jsonpath``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from meshctl import errors
from meshctl.cli import app as cli_app
from meshctl.cli import options, output

if TYPE_CHECKING:
    from meshctl.ops import verify as ops_verify


def verify_install(
    filename: options.FilenameOpt = None,
    set_: options.SetOpt = None,
    revision: options.RevisionOpt = None,
    manifests: options.ManifestsOpt = None,
    force: options.ForceOpt = False,
    output_format: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FORMAT",
            help="Print the result as json, yaml or jsonpath=EXPR.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Check that the installation (or what -f/--set describes) exists and is ready; exit 6 if not."""
    from meshctl.ops import configure
    from meshctl.ops import verify as ops_verify

    env = output.ENV
    fmt, expr = output.parse_output_format(output_format, allowed=("json", "yaml", "jsonpath"))
    if output_format is None:
        fmt = ""
    config = options.build_config(
        options.config_input(files=filename, sets=set_, manifests=manifests, revision=revision, force=force)
    )
    with output.logging_to_stderr(env.verbosity):
        client = configure.cluster_client(kubeconfig=env.kubeconfig, context=env.context, warn=env.warn)
        try:
            result = ops_verify.verify(config, client, use_inventory=not (filename or set_), note=env.note)
        finally:
            client.close()
    if fmt:
        env.write_data(output.format_data(result.as_json(), fmt, expr))
    else:
        env.write_data("\n".join(_lines(result)))
    if not result.ok:
        raise _failure(result)


def _lines(result: ops_verify.VerifyResult) -> list[str]:
    lines = []
    for check in result.checks:
        if check.ok:
            lines.append(f"✔ {check.ref.describe()} checked successfully")
        else:
            lines.append(f"✘ {check.ref.describe()}: {check.message}")
    lines.append(f"Checked {result.count('CustomResourceDefinition')} custom resource definitions")
    lines.append(f"Checked {result.count('Deployment')} Istio Deployments")
    if result.ok:
        lines.append("✔ Istio is installed and verified successfully")
    return lines


def _failure(result: ops_verify.VerifyResult) -> errors.VerificationFailed:
    summary = result.summary()
    total = summary["checked"]
    parts = [
        f"{summary[key]} of {total} {'object' if total == 1 else 'objects'} {what}"
        for key, what in (("missing", "missing"), ("notReady", "not ready"))
        if summary[key]
    ]
    return errors.VerificationFailed(
        f"Istio installation verification failed: {', '.join(parts)}",
        hint="see the ✘ lines; 'meshctl install' completes an incomplete installation",
    )


def register(root: typer.Typer) -> None:
    """Add ``verify-install`` to the root app."""
    root.command("verify-install")(cli_app.command(verify_install))
