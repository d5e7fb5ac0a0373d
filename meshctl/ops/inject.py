"""``kube-inject``: where the injection settings come from, then the injection of a manifest stream.

Three sources, each giving the injector ``config``, the injector ``values`` and the ``mesh`` configuration:

- offline (the default): the ``istio-sidecar-injector`` and ``istio`` ConfigMaps meshctl renders for the
  IstioOperator input (profile, ``--operatorFileName``, ``--set``, ``--revision``), i.e. exactly what ``install``
  would put in the cluster;
- ``--from-cluster``: those ConfigMaps as they are in the cluster (``<name>-<revision>`` for a revision);
- files, as istioctl accepts them (``--injectConfigFile``, ``--valuesFile``, ``--meshConfigFile``): each replaces
  its part of whichever of the two sources above is used, and with all three no other source is read at all.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, TextIO

from meshctl import errors
from meshctl.config import layering
from meshctl.inject import settings, workloads


@dataclasses.dataclass(frozen=True)
class Sources:
    """The command's choice of settings (see the module docstring)."""

    config_input: layering.ConfigInput
    from_cluster: bool = False
    istio_namespace: str = "istio-system"
    revision: str = ""
    inject_config_file: str | None = None
    values_file: str | None = None
    mesh_config_file: str | None = None
    injector_configmap: str = settings.INJECTOR_CONFIGMAP
    mesh_configmap: str = settings.MESH_CONFIGMAP

    @property
    def files_only(self) -> bool:
        return all((self.inject_config_file, self.values_file, self.mesh_config_file))


#: ``get_configmap(name, namespace)``: a ConfigMap from the cluster, None when it does not exist.
ConfigMapReader = Callable[[str, str], Mapping[str, Any] | None]


def read_text(path: str, stdin: TextIO | None, what: str) -> str:
    """A file's text, or stdin's for ``-``; an unreadable file is invalid input naming the path and the reason."""
    if path == "-":
        if stdin is None:
            raise errors.InputError(f"{what}: no standard input to read")
        return stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise errors.InputError(f"{what}: cannot read {path}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise errors.InputError(f"{what}: {path} is not UTF-8 text: {exc.reason}") from exc


def _rendered_configmaps(sources: Sources, stdin: TextIO | None) -> tuple[dict[str, Any], dict[str, Any], str, str]:
    """The injector and mesh ConfigMaps ``install`` would apply for the IstioOperator input, and the revision."""
    from meshctl.render import pipeline

    config = layering.build_effective_config(sources.config_input, stdin=stdin)
    objs = pipeline.render_manifests(config, components=["Pilot"])
    revision = config.revision or ""
    names = {
        settings.configmap_name(settings.INJECTOR_CONFIGMAP, revision): "injector",
        settings.configmap_name(settings.MESH_CONFIGMAP, revision): "mesh",
    }
    found = {
        names[o["metadata"]["name"]]: o for o in objs if o["kind"] == "ConfigMap" and o["metadata"]["name"] in names
    }
    if "injector" not in found:
        raise errors.InputError(
            "this configuration renders no istio-sidecar-injector ConfigMap (is components.pilot disabled, or "
            "values.global.omitSidecarInjectorConfigMap set?)",
            hint="inject with --from-cluster, or give --injectConfigFile, --valuesFile and --meshConfigFile",
        )
    return found["injector"], found.get("mesh") or {}, revision, "the rendered configuration"


def _cluster_configmaps(sources: Sources, read: ConfigMapReader) -> tuple[dict[str, Any], dict[str, Any], str, str]:
    revision = sources.revision
    ns = sources.istio_namespace
    injector_name = settings.configmap_name(sources.injector_configmap, revision)
    mesh_name = settings.configmap_name(sources.mesh_configmap, revision)
    injector = read(injector_name, ns) if not (sources.inject_config_file and sources.values_file) else {}
    if injector is None:
        raise errors.InputError(
            f"ConfigMap {ns}/{injector_name} not found in the cluster",
            hint="is Istio installed there (with this --revision and --istioNamespace)?",
        )
    mesh = read(mesh_name, ns) if not sources.mesh_config_file else {}
    if mesh is None:
        raise errors.InputError(f"ConfigMap {ns}/{mesh_name} not found in the cluster", hint="pass --meshConfigFile")
    return dict(injector), dict(mesh), revision, f"the cluster's ConfigMaps in {ns}"


def load_settings(sources: Sources, stdin: TextIO | None, read_configmap: ConfigMapReader | None) -> settings.Settings:
    """The injection settings from the chosen sources; ``read_configmap`` is needed only for ``--from-cluster``."""
    if sources.files_only:
        injector_cm: dict[str, Any] = {}
        mesh_cm: dict[str, Any] = {}
        revision, origin = sources.revision, "files"
    elif sources.from_cluster:
        if read_configmap is None:
            raise errors.UsageError("--from-cluster needs a cluster connection")
        injector_cm, mesh_cm, revision, origin = _cluster_configmaps(sources, read_configmap)
    else:
        injector_cm, mesh_cm, revision, origin = _rendered_configmaps(sources, stdin)
    data = dict(injector_cm.get("data") or {})
    mesh_data = dict(mesh_cm.get("data") or {})

    injector_text, injector_source = data.get(settings.CONFIG_KEY), f"{origin} (config)"
    if sources.inject_config_file:
        injector_text = read_text(sources.inject_config_file, stdin, "--injectConfigFile")
        injector_source = sources.inject_config_file
    values_text, values_source = data.get(settings.VALUES_KEY), f"{origin} (values)"
    if sources.values_file:
        values_text = read_text(sources.values_file, stdin, "--valuesFile")
        values_source = sources.values_file
    mesh_text, mesh_source = mesh_data.get(settings.MESH_KEY) or "", f"{origin} (mesh)"
    if sources.mesh_config_file:
        mesh_text = read_text(sources.mesh_config_file, stdin, "--meshConfigFile")
        mesh_source = sources.mesh_config_file
    if not isinstance(injector_text, str) or not isinstance(values_text, str):
        raise errors.InputError(f"{origin}: the injector ConfigMap lacks its 'config' or 'values' key")
    values = settings.parse_values(values_text, values_source)
    if not revision:
        revision = str(values.get("revision") or "")
    return settings.Settings(
        injector=settings.parse_injector_config(injector_text, injector_source),
        mesh=settings.parse_mesh_config(mesh_text, mesh_source),
        values=values,
        revision=revision,
    )


def inject(text: str, conf: settings.Settings, source: str) -> workloads.Result:
    """Inject the workloads of a manifest stream (:func:`meshctl.inject.workloads.inject_stream`)."""
    return workloads.inject_stream(text, conf, source)


class ClusterConfigMaps:
    """Reads ConfigMaps through the cluster client (``--from-cluster``); a context manager that closes it."""

    def __init__(self, *, kubeconfig: str | None, context: str | None, warn: Callable[[str], None]) -> None:
        from meshctl.kube import client as kube_client

        self._client = kube_client.connect(kubeconfig=kubeconfig, context=context, warn=warn)
        self._resource: Any = None

    def __call__(self, name: str, namespace: str) -> Mapping[str, Any] | None:
        if self._resource is None:
            self._resource = self._client.resource_for("v1", "ConfigMap")
            if self._resource is None:
                raise errors.ClusterError("the cluster does not serve v1 ConfigMaps")
        return self._client.get(self._resource, name, namespace)

    def __enter__(self) -> ClusterConfigMaps:
        return self

    def __exit__(self, *exc: object) -> None:
        self._client.close()
