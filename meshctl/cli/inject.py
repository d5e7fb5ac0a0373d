"""``meshctl kube-inject``: inject the sidecar into workload manifests, from the injection templates meshctl ships.

stdout carries only the injected YAML (or nothing with ``-o FILE``); notes about workloads left alone go to stderr.
The injection library is imported when the command runs, so ``meshctl --help`` pays for none of it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from meshctl import errors
from meshctl.cli import app as cli_app
from meshctl.cli import options, output

_OFFLINE_HINT = "use --from-cluster alone, or the offline options (--set, --operatorFileName, --manifests) alone"


def kube_inject(
    filename: Annotated[
        str,
        typer.Option(
            "--filename", "-f", metavar="FILE", help="Workload manifests to inject ('-' = stdin).", show_default=False
        ),
    ],
    output_path: Annotated[
        str | None,
        typer.Option("--output", "-o", metavar="FILE", help="Write to FILE instead of stdout.", show_default=False),
    ] = None,
    revision: options.RevisionOpt = None,
    set_: options.SetOpt = None,
    operator_files: Annotated[
        list[str] | None,
        typer.Option(
            "--operatorFileName",
            metavar="FILE",
            help="IstioOperator file the injection settings are rendered from (repeatable), as for install -f.",
            show_default=False,
        ),
    ] = None,
    manifests: options.ManifestsOpt = None,
    force: options.ForceOpt = False,
    from_cluster: Annotated[
        bool, typer.Option("--from-cluster", help="Read the injector and mesh ConfigMaps from the cluster.")
    ] = False,
    istio_namespace: Annotated[
        str,
        typer.Option("--istioNamespace", "-i", metavar="NS", help="Namespace of the ConfigMaps (--from-cluster)."),
    ] = "istio-system",
    inject_configmap: Annotated[
        str,
        typer.Option("--injectConfigMapName", metavar="NAME", help="Injector ConfigMap name (--from-cluster)."),
    ] = "istio-sidecar-injector",
    mesh_configmap: Annotated[
        str, typer.Option("--meshConfigMapName", metavar="NAME", help="Mesh ConfigMap name (--from-cluster).")
    ] = "istio",
    inject_config_file: Annotated[
        str | None,
        typer.Option(
            "--injectConfigFile",
            metavar="FILE",
            help="Injector configuration (the ConfigMap's 'config' key, or the ConfigMap).",
            show_default=False,
        ),
    ] = None,
    mesh_config_file: Annotated[
        str | None,
        typer.Option(
            "--meshConfigFile",
            metavar="FILE",
            help="Mesh configuration (the 'istio' ConfigMap's 'mesh' key, or the ConfigMap).",
            show_default=False,
        ),
    ] = None,
    values_file: Annotated[
        str | None,
        typer.Option(
            "--valuesFile",
            metavar="FILE",
            help="Injector values (the ConfigMap's 'values' key, or the ConfigMap).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Inject the Istio sidecar into the workloads of FILE and print the result (kinds without a pod template pass
    through unchanged)."""
    from meshctl.ops import inject as inject_ops

    env = output.ENV
    _check_options(
        from_cluster=from_cluster,
        offline=bool(set_ or operator_files or manifests or force),
        cluster_only={
            "--istioNamespace": istio_namespace != "istio-system",
            "--injectConfigMapName": inject_configmap != "istio-sidecar-injector",
            "--meshConfigMapName": mesh_configmap != "istio",
        },
        stdin_users=[
            name
            for name, value in (
                ("--filename", filename),
                ("--injectConfigFile", inject_config_file),
                ("--meshConfigFile", mesh_config_file),
                ("--valuesFile", values_file),
                *(("--operatorFileName", f) for f in operator_files or ()),
            )
            if value == "-"
        ],
    )
    sources = inject_ops.Sources(
        config_input=options.config_input(
            files=operator_files, sets=set_, manifests=manifests, revision=revision, force=force
        ),
        from_cluster=from_cluster,
        istio_namespace=istio_namespace,
        revision=revision or "",
        inject_config_file=inject_config_file,
        values_file=values_file,
        mesh_config_file=mesh_config_file,
        injector_configmap=inject_configmap,
        mesh_configmap=mesh_configmap,
    )
    text = inject_ops.read_text(filename, env.stdin, "--filename")
    if from_cluster and not sources.files_only:
        with inject_ops.ClusterConfigMaps(kubeconfig=env.kubeconfig, context=env.context, warn=env.warn) as read:
            conf = inject_ops.load_settings(sources, env.stdin, read)
    else:
        conf = inject_ops.load_settings(sources, env.stdin, None)
    result = inject_ops.inject(text, conf, "<stdin>" if filename == "-" else filename)
    for note in result.notes:
        env.note(note)
    if output_path is None:
        env.write_data(result.text)
        return
    _write_file(output_path, result.text)
    env.note(f"Wrote {result.documents} documents ({result.injected} injected) to {output_path}")


def _check_options(*, from_cluster: bool, offline: bool, cluster_only: dict[str, bool], stdin_users: list[str]) -> None:
    if from_cluster and offline:
        raise errors.UsageError(
            "--from-cluster does not go with --set, --operatorFileName, --manifests or --force", hint=_OFFLINE_HINT
        )
    given = [name for name, used in cluster_only.items() if used]
    if given and not from_cluster:
        raise errors.UsageError(f"{', '.join(given)} only apply with --from-cluster", hint="add --from-cluster")
    if len(stdin_users) > 1:
        raise errors.UsageError(
            f"only one input can be read from stdin ('-'), not {', '.join(stdin_users)}",
            hint="save all but one of them to a file",
        )


def _write_file(target: str, text: str) -> None:
    """Write the output via a temporary file and a rename, so a failure leaves no partial file behind."""
    path = Path(target)
    try:
        import tempfile  # here, not at the top: start-up time (B1)

        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise errors.InputError(f"cannot write {path}: {exc.strerror or exc}") from exc
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise errors.InputError(f"cannot write {path}: {exc.strerror or exc}") from exc


def register(root: typer.Typer) -> None:
    """Add ``kube-inject`` to the root app."""
    root.command("kube-inject")(cli_app.command(kube_inject))
