"""Each scenario of `scenarios.SCENARIOS` against the test API server and the real kube-apiserver: the normalised
transcripts must be equal, or differ exactly at the paths of the scenario's documented `Deviation`."""

from __future__ import annotations

import json
import os
import pathlib
import re
import ssl
from collections.abc import Iterator

import pytest

from tests.apiserver.server import ApiServer
from tests.cluster import pki
from tests.cluster.fixtures import SessionCluster
from tests.conformance import harness
from tests.conformance.scenarios import GROUP, REASONS, SCENARIOS, Scenario

pytestmark = pytest.mark.realcluster


class Sides:
    def __init__(self, api: ApiServer, real: SessionCluster) -> None:
        self.api, self.real = api, real
        context = ssl.create_default_context(cafile=str(api.ca_path))
        self.apiserver = harness.Server("apiserver", api.host, api.port, context, api.token, self._api_kubeconfig)
        admin = real.cluster.admin
        self.cluster = harness.Server("real", admin.host, admin.port, admin.context, None, self._real_kubeconfig)
        self.namespaces: list[str] = []

    def _api_kubeconfig(self, path: pathlib.Path, namespace: str) -> pathlib.Path:
        config = self.api.kubeconfig()
        config["contexts"][0]["context"]["namespace"] = namespace
        return pki.write_kubeconfig(path, config)

    def _real_kubeconfig(self, path: pathlib.Path, namespace: str) -> pathlib.Path:
        return self.real.cluster.write_kubeconfig(path, namespace=namespace)


@pytest.fixture(scope="module")
def sides(real_cluster: SessionCluster) -> Iterator[Sides]:
    with ApiServer(watch_history=200, bookmark_interval=60.0) as api:
        both = Sides(api, real_cluster)
        yield both
    admin = real_cluster.cluster.admin
    for crd in admin.list("customresourcedefinitions"):
        if crd["spec"]["group"] == GROUP:
            admin.delete("customresourcedefinitions", crd["metadata"]["name"])
    for namespace in both.namespaces:  # they terminate in the background
        admin.delete("namespaces", namespace)


def _namespace(scenario: Scenario) -> str:
    return ("c-" + re.sub(r"[^a-z0-9-]", "-", scenario.id))[:50].rstrip("-")


def run_both(sides: Sides, scenario: Scenario, tmp: pathlib.Path) -> tuple[list[object], list[object]]:
    ns = _namespace(scenario)
    transcripts = []
    for server in (sides.apiserver, sides.cluster):
        run = harness.Run(server, ns, tmp)
        try:
            body = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}
            created = run.req("POST", "/api/v1/namespaces", body, record=None)
            assert created.status == 201, f"{server.name}: namespace {ns}: {created.body}"
            if server is sides.cluster:
                sides.namespaces.append(ns)
            scenario.run(run)
        finally:
            run.close()
        transcripts.append(harness.normalise(run.transcript, ns))
    return transcripts[0], transcripts[1]


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.id for s in SCENARIOS])
def test_scenario(sides: Sides, scenario: Scenario, tmp_path: pathlib.Path) -> None:
    ours, real = run_both(sides, scenario, tmp_path)
    differences = harness.diff(ours, real)
    report = json.dumps({k: {"apiserver": a, "real": b} for k, (a, b) in differences.items()}, indent=1, default=str)
    if os.environ.get("CONFORMANCE_DUMP"):  # a directory: every scenario's differences, for a look by hand
        (pathlib.Path(os.environ["CONFORMANCE_DUMP"]) / f"{scenario.id}.json").write_text(report)
    if scenario.deviation is None:
        assert not differences, f"the test API server differs from kube-apiserver:\n{report}"
    else:
        expected = [sorted(scenario.deviation.paths)] + ([[]] if scenario.deviation.may_agree else [])
        assert sorted(differences) in expected, (
            f"documented deviation ({REASONS[scenario.deviation.reason]}) no longer as expected:\n{report}"
        )
