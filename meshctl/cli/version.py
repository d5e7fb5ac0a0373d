"""``meshctl version [--remote]``: the client version, and with ``--remote`` the cluster's control and data planes.

Without ``--remote`` no cluster is contacted (and the Kubernetes client is not imported). The text form (the
default; ``--short`` is accepted as istioctl has it) is the lines of ``product.md`` §5. With no control plane in the
cluster, only the client line is printed and stderr says why, with exit 0.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from meshctl.cli import app as cli_app
from meshctl.cli import output

if TYPE_CHECKING:
    from meshctl.ops import version as ops_version


def version(
    remote: Annotated[
        bool, typer.Option("--remote", help="Also ask the cluster for the control-plane and data-plane versions.")
    ] = False,
    short: Annotated[
        bool, typer.Option("--short", help="Print the short text form (the default; kept for istioctl users).")
    ] = False,
    istio_namespace: Annotated[
        str,
        typer.Option(
            "--istioNamespace", "-i", metavar="NAMESPACE", help="Namespace of the control plane (with --remote)."
        ),
    ] = "istio-system",
    output_format: Annotated[
        str | None,
        typer.Option(
            "--output", "-o", metavar="FORMAT", help="Output format: yaml, json or jsonpath=EXPR.", show_default=False
        ),
    ] = None,
) -> None:
    """Print the client version (the Istio version meshctl installs, and meshctl's own); --remote adds the mesh's."""
    from meshctl.ops import version as ops_version

    env = output.ENV
    fmt, expr = output.parse_output_format(output_format, allowed=("yaml", "json", "jsonpath"))
    mesh = _remote(istio_namespace) if remote else None
    if output_format is not None:
        env.write_data(output.format_data(ops_version.as_json(mesh), fmt, expr))
    else:
        env.write_data("\n".join(_lines(mesh)))
    if mesh is not None and not mesh.control_plane:
        env.note(f'Istio is not present in the cluster: no running Istio pods in namespace "{mesh.namespace}"')


def _remote(namespace: str) -> ops_version.MeshVersions:
    from meshctl.ops import configure
    from meshctl.ops import version as ops_version

    env = output.ENV
    with output.logging_to_stderr(env.verbosity):
        client = configure.cluster_client(kubeconfig=env.kubeconfig, context=env.context, warn=env.warn)
        try:
            return ops_version.remote_versions(client, namespace)
        finally:
            client.close()


def client_version_info() -> dict[str, str]:
    """The client's versions (``clientVersion`` of ``-o json``)."""
    from meshctl.ops import version as ops_version

    return ops_version.client_version()


def _lines(mesh: ops_version.MeshVersions | None) -> list[str]:
    client = client_version_info()
    lines = [f"client version: {client['istioVersion']} (meshctl {client['meshctlVersion']})"]
    if mesh is None or not mesh.control_plane:
        return lines
    lines.append(f"control plane version: {', '.join(mesh.control_plane_versions)}")
    proxies = ", ".join(f"{p.version} ({p.proxies} proxies)" for p in mesh.data_plane)
    lines.append(f"data plane version: {proxies or 'none'}")
    return lines


def register(root: typer.Typer) -> None:
    """Add ``version`` to the root app."""
    root.command("version")(cli_app.command(version))
