"""KWOK's configuration: fake nodes and the pod lifecycle, with the simulated failures of this project.

Stages come from KWOK's release (node initialisation, lease heartbeats, pod ready/complete/delete; copied next to
the binaries at build time) and from `stages/` here (ImagePullBackOff, CrashLoopBackOff). A pod fails the way its
annotation or images say:

- annotation `meshctl.test/simulate: ImagePullBackOff` (every container), or an image reference containing
  `imagepullbackoff` (those containers): Pending, containers waiting in ImagePullBackOff, never Ready;
- annotation `meshctl.test/simulate: CrashLoopBackOff`, or an image containing `crashloopbackoff`: Running with the
  containers waiting in CrashLoopBackOff after an exit code 1, never Ready.

Every other pod on a fake node becomes Running and Ready at once; Job pods then complete.
"""

from __future__ import annotations

import pathlib
from typing import Any

import yaml

SIMULATE_ANNOTATION = "meshctl.test/simulate"
IMAGE_PULL_BACKOFF = "ImagePullBackOff"
CRASH_LOOP_BACKOFF = "CrashLoopBackOff"
NODE_ANNOTATION = "kwok.x-k8s.io/node"  # value "fake": the nodes KWOK manages

_STAGES_DIR = pathlib.Path(__file__).parent / "stages"


def _simulates(reason: str) -> str:
    """A jq expression (KWOK's selector language): true when the pod is to show `reason`."""
    return (
        f'((.metadata.annotations["{SIMULATE_ANNOTATION}"] // "") == "{reason}")'
        f' or ([.spec.containers[].image | ascii_downcase | contains("{reason.lower()}")] | any)'
    )


def _require(stage: dict[str, Any], key: str, operator: str) -> None:
    stage["spec"]["selector"]["matchExpressions"].append({"key": key, "operator": operator, "values": ["true"]})


def configuration(kwok_stage_files: list[pathlib.Path]) -> list[dict[str, Any]]:
    """The documents of KWOK's `--config` file."""
    docs: list[dict[str, Any]] = [
        {
            "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
            "kind": "KwokConfiguration",
            "options": {
                "manageNodesWithAnnotationSelector": f"{NODE_ANNOTATION}=fake",
                "nodeLeaseDurationSeconds": 40,
                "cidr": "10.244.0.0/16",
                # Set explicitly: a --config file's options are not defaulted.
                "nodeLeaseParallelism": 4,
                "nodePlayStageParallelism": 4,
                "podPlayStageParallelism": 4,
                "podsOnNodeSyncParallelism": 1,
            },
        }
    ]
    for path in kwok_stage_files:
        stage = yaml.safe_load(path.read_text())
        if stage["metadata"]["name"] == "pod-ready":  # a pod made to fail never gets ready
            _require(stage, _simulates(IMAGE_PULL_BACKOFF), "NotIn")
            _require(stage, _simulates(CRASH_LOOP_BACKOFF), "NotIn")
        docs.append(stage)
    pull = yaml.safe_load((_STAGES_DIR / "pod-image-pull-backoff.yaml").read_text())
    _require(pull, _simulates(IMAGE_PULL_BACKOFF), "In")
    crash = yaml.safe_load((_STAGES_DIR / "pod-crash-loop-backoff.yaml").read_text())
    _require(crash, _simulates(CRASH_LOOP_BACKOFF), "In")
    _require(crash, _simulates(IMAGE_PULL_BACKOFF), "NotIn")  # a pod that cannot pull never runs to crash
    docs += [pull, crash]
    return docs


def write_configuration(path: pathlib.Path, kwok_stage_files: list[pathlib.Path]) -> pathlib.Path:
    path.write_text(yaml.safe_dump_all(configuration(kwok_stage_files), sort_keys=False))
    return path


def node(name: str) -> dict[str, Any]:
    """A fake node as `kwokctl scale node` makes it (KWOK fills in its status and keeps its lease)."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {NODE_ANNOTATION: "fake", "node.alpha.kubernetes.io/ttl": "0"},
            "labels": {
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": name,
                "kubernetes.io/os": "linux",
                "kubernetes.io/role": "agent",
                "node-role.kubernetes.io/agent": "",
                "type": "kwok",
            },
        },
        "status": {
            "allocatable": {"cpu": "32", "memory": "256Gi", "pods": "110"},
            "capacity": {"cpu": "32", "memory": "256Gi", "pods": "110"},
        },
    }
