"""A real Kubernetes control plane for the tests: kube-apiserver, etcd, kube-controller-manager, kube-scheduler and
KWOK nodes built from pinned Go modules, run on 127.0.0.1 (see README.md in this directory)."""

from __future__ import annotations

from tests.cluster.controlplane import ADMIN_USER, RealCluster
from tests.cluster.faultproxy import FaultProxy

__all__ = ["ADMIN_USER", "FaultProxy", "RealCluster"]
