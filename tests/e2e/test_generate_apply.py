"""`meshctl manifest generate --with-namespace | kubectl apply --server-side -f -` on a fresh real cluster."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

pytestmark = pytest.mark.e2e


def test_generated_default_profile_applies_and_crds_become_established(kind_cluster_e2e: Any) -> None:
    manifest = subprocess.run(
        [sys.executable, "-m", "meshctl", "manifest", "generate", "--with-namespace"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    kind_cluster_e2e.kubectl("apply", "--server-side", "-f", "-", input=manifest)
    kind_cluster_e2e.kubectl(
        "wait", "--for=condition=Established", "--timeout=120s", "crd/virtualservices.networking.istio.io"
    )
    out = kind_cluster_e2e.kubectl("-n", "istio-system", "get", "service", "istio-ingressgateway", "-o", "name")
    assert out.strip() == "service/istio-ingressgateway"
