"""Options to effective configuration: the one step every command that reads IstioOperator input shares."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TextIO

from meshctl.config import layering

if TYPE_CHECKING:
    from meshctl.kube import client as kclient


def config_input(
    *,
    files: Sequence[str] | None,
    sets: Sequence[str] | None,
    manifests: str | None = None,
    revision: str | None = None,
    force: bool = False,
    profile: str | None = None,
) -> layering.ConfigInput:
    """A :class:`layering.ConfigInput` from the common options (``-f``, ``--set``, ``-d``, ``-r``, ``--force``)."""
    return layering.ConfigInput(
        files=tuple(files or ()),
        sets=tuple(sets or ()),
        profile=profile,
        manifests=manifests,
        revision=revision,
        force=force,
    )


def effective_config(inp: layering.ConfigInput, stdin: TextIO | None) -> layering.EffectiveConfig:
    """Layer, translate and validate; the warnings are on the result (``.warnings``) for the caller to show."""
    return layering.build_effective_config(inp, stdin=stdin)


def cluster_client(
    *,
    kubeconfig: str | None,
    context: str | None,
    concurrency: int = 8,
    warn: Callable[[str], None] | None = None,
) -> kclient.KubeClient:
    """A client for the cluster the kubeconfig (and ``--context``) name; imports the Kubernetes client lazily."""
    from meshctl.kube import client

    return client.connect(kubeconfig=kubeconfig, context=context, concurrency=concurrency, warn=warn)
