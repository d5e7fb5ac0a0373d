"""Versions: the client's, and with a cluster the control plane's and the data plane's (``cluster.md`` §7).

Control plane: the ready pods labelled ``app=istiod`` in the Istio namespace, grouped by revision (``istio.io/rev``)
and version. Data plane: the running pods of every namespace that have an ``istio-proxy`` container (a sidecar,
a native sidecar among the init containers, or a gateway), grouped by the version of that container's image.

A version is the image tag (``docker.io/istio/pilot:1.30.3`` → ``1.30.3``, image variants such as ``-distroless``
dropped); an image without a tag, or pinned by digest, falls back to the pod's version labels. Reads: two LISTs
(istiod pods; all pods).
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import meshctl

if TYPE_CHECKING:
    from meshctl.kube import client as kclient

# meshctl.kube is imported inside the functions that talk to a cluster: `meshctl version` without --remote pays
# nothing for it (B1 measures that command's start-up).

PROXY_CONTAINER = "istio-proxy"
CONTROL_PLANE_SELECTOR = "app=istiod"
#: Pod labels that carry a version, in the order they are trusted when the image tag says nothing.
VERSION_LABELS = ("app.kubernetes.io/version", "operator.istio.io/version", "version")
UNKNOWN = "unknown"
_VARIANT = re.compile(r"-(distroless|debug)$")


@dataclasses.dataclass(frozen=True)
class ComponentVersion:
    """Running control-plane pods of one component, revision and version."""

    component: str
    revision: str
    version: str
    pods: int


@dataclasses.dataclass(frozen=True)
class ProxyVersion:
    """Running proxies of one version."""

    version: str
    proxies: int


@dataclasses.dataclass(frozen=True)
class MeshVersions:
    """What the cluster runs: control-plane components (empty: no control plane) and proxies by version."""

    namespace: str
    control_plane: tuple[ComponentVersion, ...]
    data_plane: tuple[ProxyVersion, ...]

    @property
    def control_plane_versions(self) -> list[str]:
        return sorted({c.version for c in self.control_plane}, key=version_key)


def client_version() -> dict[str, str]:
    """The client's versions: ``version`` and ``istioVersion`` the Istio version it installs, and meshctl's own."""
    return {
        "version": meshctl.ISTIO_VERSION,
        "istioVersion": meshctl.ISTIO_VERSION,
        "meshctlVersion": meshctl.__version__,
    }


def as_json(mesh: MeshVersions | None) -> dict[str, Any]:
    """``{clientVersion, meshVersion: [{component, revision, version, pods}], dataPlaneVersion: [{version, proxies}]}``;
    only ``clientVersion`` without a cluster (``mesh`` None)."""
    document: dict[str, Any] = {"clientVersion": client_version()}
    if mesh is not None:
        document["meshVersion"] = [dataclasses.asdict(c) for c in mesh.control_plane]
        document["dataPlaneVersion"] = [dataclasses.asdict(p) for p in mesh.data_plane]
    return document


def remote_versions(client: kclient.KubeClient, namespace: str = "istio-system") -> MeshVersions:
    """Ask the cluster of ``client`` which control plane (in ``namespace``) and proxies run."""
    from meshctl.kube import errors as kerrors

    pods = client.resource_for("v1", "Pod")
    if pods is None:  # pragma: no cover - every cluster serves pods
        raise kerrors.KubeError("the cluster does not serve v1 Pods")
    istiod = client.list(pods, namespace, label_selector=CONTROL_PLANE_SELECTOR).items
    components: Counter[tuple[str, str, str]] = Counter()
    for pod in istiod:
        if not _ready(pod):
            continue
        labels = _labels(pod)
        revision = str(labels.get("istio.io/rev") or "default")
        component = str(labels.get("app") or "istiod")
        components[(component, revision, pod_version(pod, _main_container(pod)))] += 1
    proxies: Counter[str] = Counter()
    for pod in client.list(pods).items:
        container = _proxy_container(pod)
        if container is not None and (pod.get("status") or {}).get("phase") == "Running":
            proxies[pod_version(pod, container)] += 1
    return MeshVersions(
        namespace=namespace,
        control_plane=tuple(
            ComponentVersion(component, revision, version, count)
            for (component, revision, version), count in sorted(
                components.items(), key=lambda item: (item[0][0], item[0][1], version_key(item[0][2]))
            )
        ),
        data_plane=tuple(
            ProxyVersion(version, count) for version, count in sorted(proxies.items(), key=lambda i: version_key(i[0]))
        ),
    )


def image_version(image: str) -> str | None:
    """The version an image's tag names (``…/proxyv2:1.30.3-distroless`` → ``1.30.3``); None without a tag."""
    name = image.split("@", 1)[0]  # a digest pins the content, not a version
    last = name.rsplit("/", 1)[-1]
    if ":" not in last:
        return None
    tag = last.rsplit(":", 1)[1]
    return _VARIANT.sub("", tag) or None


def pod_version(pod: Mapping[str, Any], container: Mapping[str, Any] | None) -> str:
    """A pod's version: its container's image tag, else its version labels, else ``unknown``."""
    found = image_version(str((container or {}).get("image") or ""))
    if found:
        return found
    labels = _labels(pod)
    for key in VERSION_LABELS:
        if labels.get(key):
            return str(labels[key])
    return UNKNOWN


def version_key(version: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that orders ``1.9.0`` before ``1.10.0`` and puts names (``unknown``, ``latest``) after numbers."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"[.\-+]", version))


def _labels(pod: Mapping[str, Any]) -> Mapping[str, Any]:
    return (pod.get("metadata") or {}).get("labels") or {}


def _ready(pod: Mapping[str, Any]) -> bool:
    from meshctl.kube import readiness

    if (pod.get("metadata") or {}).get("deletionTimestamp"):
        return False
    ready = readiness.condition(pod, "Ready")
    return (pod.get("status") or {}).get("phase") == "Running" and bool(ready and ready.get("status") == "True")


def _main_container(pod: Mapping[str, Any]) -> Mapping[str, Any] | None:
    containers = (pod.get("spec") or {}).get("containers") or []
    named = [c for c in containers if isinstance(c, Mapping) and c.get("name") == "discovery"]
    first: Mapping[str, Any] | None = (named or containers or [None])[0]
    return first


def _proxy_container(pod: Mapping[str, Any]) -> Mapping[str, Any] | None:
    spec = pod.get("spec") or {}
    for container in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]:
        if isinstance(container, Mapping) and container.get("name") == PROXY_CONTAINER:
            return container
    return None
