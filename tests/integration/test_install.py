"""`meshctl install` against a cluster (`backend`): every profile, dry run, no-op re-install, prune, conflicts.

cluster.md §2–3, product.md §3. "The cluster holds exactly the rendered objects" means: the inventory members are
exactly the rendered set, and every rendered field is present in the live object (read back with the real kubectl)
with the rendered value.
"""

from __future__ import annotations

import json
import pathlib

import pytest
import yaml

from tests.integration import install_helpers as h
from tests.integration.conftest import Backend

ALL_PROFILES = [
    "ambient",
    "default",
    "demo",
    "empty",
    "minimal",
    "openshift",
    "openshift-ambient",
    "preview",
    "remote",
    "stable",
]


def _seed_nad_crd(backend: Backend, tmp_path: pathlib.Path) -> None:
    """A cluster with Multus has the NetworkAttachmentDefinition CRD, which the openshift profiles' CNI uses."""
    path = tmp_path / "nad-crd.yaml"
    path.write_text(yaml.safe_dump(h.NAD_CRD))
    backend.kubectl("apply", "--server-side", "-f", str(path))
    backend.kubectl("wait", "--for=condition=Established", "crd/network-attachment-definitions.k8s.cni.cncf.io")


@pytest.mark.parametrize("profile", ALL_PROFILES)
def test_install_leaves_exactly_the_rendered_objects(backend: Backend, tmp_path: pathlib.Path, profile: str) -> None:
    if profile.startswith("openshift"):
        _seed_nad_crd(backend, tmp_path)
    docs = h.generate("--set", f"profile={profile}")
    backend.requests.clear()
    bodies = h.BodyLog(backend.api) if backend.api is not None else None
    try:
        result = backend.meshctl("install", "-y", "--set", f"profile={profile}")
    finally:
        if bodies is not None:
            bodies.restore()
    assert "✔ Installation complete" in result.stderr

    # Every rendered object is there, with every rendered field at its rendered value.
    if docs:
        live = h.read_back(backend, docs, tmp_path)
        assert set(live) == {h.identity(d) for d in docs}
        problems = {h.identity(d): h.missing_fields(d, live[h.identity(d)]) for d in docs}
        assert not {k: v for k, v in problems.items() if v}

    # The inventories list exactly them.
    members = h.inventory_members(backend)
    assert set().union(*members.values()) == {h.identity(d) for d in docs}
    assert all(inv.state == "deployed" for inv in h.inventories(backend).values())

    # What install sent is what `manifest generate` prints: the same objects, byte for byte as JSON.
    sent = [e for e in backend.requests.entries if e.method == "PATCH" and not e.dry_run and e.resource != "leases"]
    assert sorted((e.namespace, e.name) for e in sent) == sorted(
        (d["metadata"].get("namespace", ""), d["metadata"]["name"]) for d in docs
    )
    if bodies is not None:
        by_identity = {h.identity(b): b for b in bodies.written()}
        assert by_identity == {h.identity(d): d for d in docs}


def test_install_prints_component_lines_and_the_ingress_address(backend: Backend) -> None:
    result = backend.meshctl("install", "-y")
    lines = list(h.iter_lines(result.stderr))
    done = [line for line in lines if line.startswith("✔")]
    assert done[:3] == ["✔ Istio core installed", "✔ Istiod installed", "✔ Ingress gateways installed"]
    assert "✔ Installation complete" in done
    if backend.api is not None:  # the test API server gives LoadBalancers an address
        assert any(line.startswith("  Ingress gateway istio-ingressgateway.istio-system: 127.0.1.") for line in lines)
        assert "http2 80" in result.stderr


def test_dry_run_on_a_fresh_cluster_writes_nothing_and_names_every_object(backend: Backend) -> None:
    namespaces_before = {n["metadata"]["name"] for n in backend.objects.list("namespaces")}
    result = backend.meshctl("install", "--dry-run", "-o", "json")
    plan = json.loads(result.stdout)
    docs = h.generate()
    assert plan["ok"] is True
    assert plan["revision"] == "default"
    assert plan["inventory"] == ["meshctl-base", "meshctl-default"]
    planned = {(o["group"], o["kind"], o["namespace"], o["name"]): o for o in plan["objects"]}
    assert set(planned) == {h.identity(d) for d in docs} | {("", "Namespace", "", "istio-system")}
    assert {o["action"] for o in plan["objects"]} == {"create"}
    for doc in docs:
        entry = planned[h.identity(doc)]
        if doc["metadata"].get("namespace"):
            assert entry["message"] == "namespace istio-system does not exist yet"
    assert set(entry) >= {"group", "version", "kind", "namespace", "name", "action"}
    # Writes only as dry runs; no namespace, no lock.
    writes = [e for e in backend.requests.entries if e.is_write]
    assert writes == []
    assert {n["metadata"]["name"] for n in backend.objects.list("namespaces")} == namespaces_before
    assert not any(e.resource == "leases" for e in backend.requests.entries)
    assert any(e.dry_run for e in backend.requests.entries)


def test_dry_run_text_says_what_the_server_could_not_check(backend: Backend) -> None:
    result = backend.meshctl("install", "--dry-run", "--set", "profile=minimal")
    assert "create     Namespace/istio-system" in result.stdout
    assert (
        "create     Deployment/istio-system/istiod  (not checked by the server: namespace istio-system does not exist "
        "yet)" in result.stdout
    )
    assert "create     CustomResourceDefinition/virtualservices.networking.istio.io\n" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1].startswith("Summary: ")


def test_manifest_install_and_apply_are_install(backend: Backend) -> None:
    first = backend.meshctl("manifest", "install", "--skip-confirmation", "--set", "profile=default", "--dry-run")
    second = backend.meshctl("apply", "--yes", "--set", "profile=default", "--dry-run")
    assert first.stdout == second.stdout
    assert "create     Deployment/istio-system/istiod" in first.stdout


def test_second_identical_install_writes_nothing_to_members(backend: Backend) -> None:
    backend.meshctl("install", "-y")
    docs = h.generate()
    before = h.member_versions(backend.api, docs) if backend.api is not None else {}
    backend.requests.clear()
    result = backend.meshctl("install", "-y", "-o", "json")
    member_writes = [e for e in backend.requests.entries if e.is_write and e.resource not in ("leases", "secrets")]
    assert member_writes == []
    # Only the inventories record the run; the lock is taken and released.
    assert {(e.verb, e.resource) for e in backend.requests.entries if e.is_write} == {
        ("create", "leases"),
        ("update", "secrets"),
        ("delete", "leases"),
    }
    assert "Nothing to change" in result.stderr
    assert {o["action"] for o in json.loads(result.stdout)["objects"]} == {"unchanged"}
    if backend.api is not None:
        assert h.member_versions(backend.api, docs) == before
    history = h.inventories(backend)["meshctl-default"].history
    assert [run["result"] for run in history] == ["deployed", "deployed"]


def test_dry_run_after_a_change_shows_the_update_with_its_field_diff(backend: Backend) -> None:
    backend.meshctl("install", "-y")
    backend.requests.clear()
    result = backend.meshctl("install", "--dry-run", "-v", "--set", "components.pilot.k8s.replicaCount=2")
    line = next(line for line in result.stdout.splitlines() if "Deployment/istio-system/istiod" in line)
    assert line.split()[0] == "update"
    assert "~ .spec.replicas: 1 → 2" in result.stdout
    assert "unchanged  ServiceAccount/istio-system/istiod" in result.stdout
    assert [e for e in backend.requests.entries if e.is_write] == []


def test_disabled_component_is_pruned_and_nothing_else(backend: Backend) -> None:
    backend.meshctl("install", "-y")
    result = backend.meshctl(
        "install", "-y", "-o", "json", "--set", "components.ingressGateways[0].name=istio-ingressgateway",
        "--set", "components.ingressGateways[0].enabled=false",
    )  # fmt: skip
    pruned = {o["name"] for o in json.loads(result.stdout)["objects"] if o["action"] == "pruned"}
    assert "istio-ingressgateway" in pruned
    assert "  Pruned Deployment/istio-system/istio-ingressgateway" in result.stderr
    assert backend.objects.get("deployments", "istio-ingressgateway", "istio-system") is None
    assert backend.objects.get("deployments", "istiod", "istio-system") is not None
    docs = h.generate("--set", "components.ingressGateways[0].enabled=false")
    assert set().union(*h.inventory_members(backend).values()) == {h.identity(d) for d in docs}


def test_labelled_stray_is_reported_not_deleted(backend: Backend, tmp_path: pathlib.Path) -> None:
    backend.meshctl("install", "-y", "--no-wait")
    label = next(iter(h.inventories(backend).values()))
    stray = tmp_path / "stray.yaml"
    stray.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": "left-over",
                    "namespace": "istio-system",
                    "labels": {"applyset.kubernetes.io/part-of": h.inventories(backend)["meshctl-default"].applyset_id},
                },
            }
        )
    )
    assert label is not None
    backend.kubectl("apply", "--server-side", "-f", str(stray))
    result = backend.meshctl("install", "-y", "--no-wait")
    assert "ConfigMap/istio-system/left-over carries meshctl's membership label but is in no inventory" in (
        result.stderr
    )
    assert backend.objects.get("configmaps", "left-over", "istio-system") is not None


def test_no_terminal_and_no_yes_is_exit_7_before_touching_the_cluster(backend: Backend) -> None:
    backend.requests.clear()
    result = backend.meshctl("install", expect=7)
    assert result.stderr.splitlines()[-1] == "hint: pass --skip-confirmation (-y) to proceed without a prompt"
    assert len(backend.requests) == 0


def _on_terminal(backend: Backend, answers: str, *args: str) -> tuple[int, str]:
    result = h.run_unchecked("install", "--kubeconfig", str(backend.kubeconfig), *args, stdin=answers, tty=True)
    return result.exit_code, result.stderr


def test_prompt_on_a_terminal(backend: Backend) -> None:
    code, declined = _on_terminal(backend, "n\n", "--no-wait")
    assert code == 7
    assert "error: installation cancelled: nothing was applied" in declined
    assert 'This will install the Istio 1.30.3 profile "default" into the cluster. Proceed? (y/N) ' in declined
    assert backend.objects.get("deployments", "istiod", "istio-system") is None
    code, accepted = _on_terminal(backend, "maybe\nyes\n", "--no-wait")
    assert code == 0, accepted
    assert accepted.count("Proceed? (y/N)") == 2
    assert backend.objects.get("deployments", "istiod", "istio-system") is not None
