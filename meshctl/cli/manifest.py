"""``meshctl manifest generate``: print (or write) the objects an installation consists of, without a cluster.

stdout carries only YAML; warnings go to stderr as ``warning: …``. The rendering library is imported when the
command runs, so ``meshctl --help`` pays for neither Jinja2 nor the templates.
"""

from __future__ import annotations

from typing import Annotated

import typer

from meshctl.cli import app as cli_app
from meshctl.cli import options, output

manifest_app = typer.Typer(
    name="manifest",
    help="Generate the Kubernetes manifests of an installation.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def generate(
    filename: options.FilenameOpt = None,
    set_: options.SetOpt = None,
    revision: options.RevisionOpt = None,
    manifests: options.ManifestsOpt = None,
    force: options.ForceOpt = False,
    output_path: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            metavar="PATH",
            help="Write to FILE.yaml, or to a directory: one file per component plus kustomization.yaml.",
            show_default=False,
        ),
    ] = None,
    component: Annotated[
        list[str] | None,
        typer.Option(
            "--component",
            metavar="NAME",
            help="Only this component, e.g. Pilot (repeatable, or comma-separated).",
            show_default=False,
        ),
    ] = None,
    with_namespace: Annotated[
        bool, typer.Option("--with-namespace", help="Add the Namespace objects the installation uses.")
    ] = False,
) -> None:
    """Print the manifests of an installation (the objects install applies) to stdout, or write them to -o."""
    from meshctl.render import components as component_table
    from meshctl.render import output as render_output
    from meshctl.render import pipeline

    env = output.ENV
    wanted: list[str] | None = None
    if component:
        names = [part for value in component for part in value.split(",") if part.strip()]
        wanted = [component_table.resolve_label(name) for name in names]
    config = options.build_config(
        options.config_input(files=filename, sets=set_, manifests=manifests, revision=revision, force=force),
        show_warnings=False,
    )
    result = pipeline.render(config, components=wanted)
    env.warn_all([*config.warnings, *result.warnings])
    namespaces = pipeline.namespaces_for(config, result.objects) if with_namespace else []
    if output_path is None:
        env.write_data(render_output.format_stream([*namespaces, *result.objects]))
        return
    if render_output.is_file_target(output_path):
        path = render_output.write_file(output_path, [*namespaces, *result.objects])
        env.note(f"Wrote {len(namespaces) + len(result.objects)} objects to {path}")
        return
    grouped = {render_output.NAMESPACES: namespaces} if namespaces else {}
    grouped.update(result.by_component())
    written = render_output.write_directory(output_path, grouped, component_table.LABELS)
    env.note(f"Wrote {len(namespaces) + len(result.objects)} objects to {len(written)} files in {output_path}")


def register(root: typer.Typer) -> None:
    """Add the ``manifest`` group (``manifest generate``) to the root app."""
    manifest_app.command("generate")(cli_app.command(generate))
    root.add_typer(manifest_app, name="manifest")
