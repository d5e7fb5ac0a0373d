"""quality.md's fault suite: the 14 scenarios, each on the test API server and on the real control plane (its faults
injected by the fault proxy in front of kube-apiserver), each ending with `consistency.check`.

Points "mid-install" are request counts (the request log), not times: a fault lands in the phase it was meant for on
any machine. No sleeps: the tests wait for conditions.
"""

from __future__ import annotations

import json
import pathlib
import random
import signal
import threading
from typing import Any

import pytest
import yaml

from meshctl.kube import lock as klock
from tests.integration import install_helpers as h
from tests.integration import lifecycle_helpers as lh
from tests.integration.conftest import Backend
from tests.reliability import consistency as c
from tests.reliability.conftest import Controls

SEED = 20261206
ISTIO = c.ISTIO
DONE = "✔ Installation complete"


def meshctl(backend: Backend, *args: str) -> c.Outcome:
    return c.Outcome.of(h.run_unchecked(*args, "--kubeconfig", str(backend.kubeconfig)))


def _until(condition: Any, what: str, timeout: float = 120.0) -> None:
    """Wait for a condition only the request log or the cluster shows (neither notifies)."""
    pause = threading.Event()
    for _ in range(int(timeout / 0.01)):
        if condition():
            return
        pause.wait(0.01)
    raise TimeoutError(what)


# --- 1–3: error answers, throttling, dropped connections -----------------------------------------------------------


def test_01_a_fifth_of_requests_answer_500_or_503_and_install_succeeds_through_retries(
    backend: Backend, tmp_path: pathlib.Path
) -> None:
    docs = h.generate()
    users = c.user_objects(backend, tmp_path)
    backend.raw.faults.add_error(500, share=0.1)
    backend.raw.faults.add_error(503, share=0.1 / 0.9)  # a tenth of the rest: a fifth in all
    outcome = meshctl(backend, "install", "-y")
    failed = [e for e in backend.requests.entries if e.status in (500, 503)]
    assert len(failed) >= 5, "the faults did not happen"
    c.check(backend, tmp_path, docs, users, outcome, says=(DONE,))


def test_02_429_with_retry_after_is_honoured_and_install_succeeds(backend: Backend, tmp_path: pathlib.Path) -> None:
    docs = h.generate()
    users = c.user_objects(backend, tmp_path)
    backend.raw.faults.add_error(429, count=2, verbs="patch", retry_after=1)
    backend.raw.faults.add_error(429, count=1, verbs="list", retry_after=1)
    outcome = meshctl(backend, "install", "-y", "--no-wait", "-vv")
    assert len([e for e in backend.requests.entries if e.status == 429]) == 3
    # Each retry waited what the server asked for (the client's debug log names the delay it used).
    waits = [line for line in outcome.stderr.splitlines() if line.startswith("debug: retrying ")]
    assert len(waits) == 3, outcome.stderr
    assert all(" in 1.00 s " in line for line in waits), waits
    c.check(backend, tmp_path, docs, users, outcome, says=(DONE,))


def test_03_connections_dropped_mid_response_on_writes_leave_no_duplicates(
    backend: Backend, tmp_path: pathlib.Path
) -> None:
    docs = h.generate()
    users = c.user_objects(backend, tmp_path)
    backend.raw.faults.close_connections(share=0.3, verbs=("create", "patch", "update"))
    outcome = meshctl(backend, "install", "-y")
    cut = [e for e in backend.requests.entries if e.is_write]
    assert len(cut) > len(docs), "the dropped writes were not retried"
    c.check(backend, tmp_path, docs, users, outcome, says=(DONE,))  # `labelled`: nothing twice, nothing extra


# --- 4–6: the server goes away, meshctl goes away ------------------------------------------------------------------


def _through_an_interruption(
    backend: Backend, tmp_path: pathlib.Path, at: int, action: Any, retry_budget_covers_it: bool
) -> None:
    """Install; `action` at request `at`; then: the install completes, or fails with exit 4 and a rerun completes."""
    docs = h.generate()
    users = c.user_objects(backend, tmp_path)
    proc, acted = lh.at_request(backend, ("install", "-y"), at, lambda _: action())
    assert acted, "the install ended before the fault"
    outcome = c.Outcome.of(proc)
    if outcome.exit_code != 0 or not retry_budget_covers_it:
        assert outcome.exit_code in (0, 4), outcome.stderr
        if outcome.exit_code == 4:
            assert "error: " in outcome.stderr
        outcome = meshctl(backend, "install", "-y")
    c.check(backend, tmp_path, docs, users, outcome, says=(DONE,))


def test_04_api_server_down_for_5_s_mid_install(backend: Backend, tmp_path: pathlib.Path, controls: Controls) -> None:
    # Request 25 of a default install falls in the apply phase (after the plan's LISTs and dry runs).
    _through_an_interruption(backend, tmp_path, 25, lambda: controls.down(5.0), retry_budget_covers_it=True)


def test_05_api_server_restarted_mid_install_with_its_state(
    backend: Backend, tmp_path: pathlib.Path, controls: Controls
) -> None:
    _through_an_interruption(backend, tmp_path, 25, controls.restart, retry_budget_covers_it=False)


KILL_POINTS = sorted(random.Random(SEED).sample(range(2, 64), 20))
TARGETS = (
    (),
    ("--set", "components.pilot.k8s.replicaCount=2", "--set", "components.ingressGateways[0].enabled=false"),
)


def test_06_killed_at_20_seeded_points_then_a_rerun_completes_every_time(
    backend: Backend, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SIGKILL at 20 request counts spread over plan, applies, prunes and inventory writes; the configurations
    alternate so that every killed run has creates, updates and prunes to do. The lock's lease is 1 s, so a rerun
    takes over the dead run's lock at once."""
    monkeypatch.setenv(klock.DURATION_ENV, "1")
    rendered = [h.generate(*target) for target in TARGETS]
    meshctl(backend, "install", "-y", "--no-wait")
    users = c.user_objects(backend, tmp_path)
    killed, states = 0, set()
    for i, point in enumerate(KILL_POINTS):
        target = TARGETS[(i + 1) % 2]
        backend.raw.faults.set_latency(0.01)  # spread the run out, so that the kill lands inside it
        if lh.kill_at(backend, ("install", "-y", "--no-wait", *target), point) is None:
            killed += 1
        states.add(h.inventories(backend)["meshctl-default"].state)
        backend.raw.faults.set_latency(0.0)
        rerun = meshctl(backend, "install", "-y", "--no-wait", *target)
        c.check(backend, tmp_path, rendered[(i + 1) % 2], users, rerun, says=(DONE,))
    assert killed >= 15  # the kills landed inside the runs ...
    assert "pending" in states  # ... some between the first write and the last


# --- 7–8: ordering and readiness -----------------------------------------------------------------------------------


def test_07_nothing_that_needs_a_crd_is_applied_before_it_is_established(
    backend: Backend, tmp_path: pathlib.Path
) -> None:
    """A rendering with a custom resource (a Telemetry, from a --manifests DIR). On the test API server the CRDs
    take 1 s to become Established, and a guard in front of it notes any member sent while one is not; on the real
    one (it establishes in milliseconds) the proxy holds back CRD reads and watches for 1 s, so meshctl learns late,
    and a custom resource sent before its CRD is served would get kube-apiserver's 404. Either way the log must show
    every CRD applied before any other member, the CRDs looked at in between, and the Telemetry created at once."""
    manifests = h.with_telemetry(tmp_path)
    docs = h.generate("-d", str(manifests))
    crds = [d["metadata"]["name"] for d in docs if d["kind"] == "CustomResourceDefinition"]
    users = c.user_objects(backend, tmp_path)
    early: list[str] = []
    api = backend.api
    if api is not None:
        api.options.crd_establish_delay = 1.0
        inner = api._http.handler

        def guard(request: Any) -> Any:
            if request.method == "PATCH" and "customresourcedefinitions" not in request.target:
                for name in crds:
                    crd = api.objects.get("customresourcedefinitions", name) or {}
                    status = {x["type"]: x["status"] for x in crd.get("status", {}).get("conditions", [])}
                    if status.get("Established") != "True" and "dryRun" not in request.target:
                        early.append(f"{request.target} before {name} was established")
            return inner(request)

        api._http.handler = guard
    else:
        backend.raw.faults.delay(1.0, verbs=("get", "list", "watch"), resources="customresourcedefinitions")
    backend.requests.clear()  # meshctl's requests only
    try:
        outcome = meshctl(backend, "install", "-y", "--no-wait", "-d", str(manifests))
    finally:
        if api is not None:
            api._http.handler = inner
    assert early == []
    entries = backend.requests.entries
    applies = [
        (i, e)
        for i, e in enumerate(entries)
        if e.method == "PATCH" and "apply-patch" in e.content_type and not e.dry_run
    ]
    crd_applies = [i for i, e in applies if e.resource == "customresourcedefinitions"]
    others = [i for i, e in applies if e.resource != "customresourcedefinitions"]
    assert len(crd_applies) == len(crds)
    assert max(crd_applies) < min(others)
    assert any(
        e.resource == "customresourcedefinitions" and e.verb in ("watch", "list") and i > max(crd_applies)
        for i, e in enumerate(entries)
    ), "meshctl did not look at the CRDs after applying them"
    assert [e.status for _, e in applies if e.resource == "telemetries"] == [201]  # created at once, no 404
    c.check(backend, tmp_path, docs, users, outcome, says=(DONE,))


PULL_FAILURE = ("--set", "values.pilot.podAnnotations.meshctl\\.test/simulate=ImagePullBackOff")


def test_08_a_workload_that_never_becomes_ready_ends_on_the_reason_not_the_timeout(
    backend: Backend, tmp_path: pathlib.Path
) -> None:
    """istiod's image cannot be pulled: the test API server's controller is told so; on the real control plane
    KWOK's ImagePullBackOff stage takes pods annotated for it. A 10-minute readiness timeout, and a test-level guard
    (the subprocess timeout of `Outcome.of`, 300 s) far below it."""
    if backend.api is not None:
        backend.api.controllers.fail("Deployment", "istiod", reason="ImagePullBackOff")
        args: tuple[str, ...] = ()
    else:
        args = PULL_FAILURE
    docs = h.generate(*args)
    users = c.user_objects(backend, tmp_path)
    outcome = c.Outcome.of(lh.spawn(backend, "install", "-y", "--readiness-timeout", "10m", *args))
    c.check(
        backend, tmp_path, docs, users, outcome, code=5,
        says=(
            "error: Deployment/istio-system/istiod is not ready: ImagePullBackOff (pod istiod-",
            "✘ Istiod encountered an error: Deployment/istio-system/istiod is not ready: ImagePullBackOff",
            "✔ Istio core installed",
        ),
    )  # fmt: skip
    assert DONE not in outcome.stderr
    assert "after 10m" not in outcome.stderr  # not the timeout


# --- 9–11, 13–14: ownership --------------------------------------------------------------------------------------


def test_09_a_field_owned_by_another_manager_is_exit_8_naming_it_and_forced_takes_it_over(
    backend: Backend, tmp_path: pathlib.Path
) -> None:
    docs = h.generate()
    meshctl(backend, "install", "-y", "--no-wait")
    users = c.user_objects(backend, tmp_path)
    patch = tmp_path / "patch.yaml"
    patch.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {"name": "istio", "namespace": ISTIO},
                "data": {"meshNetworks": "networks: {changed: true}"},
            }
        )
    )
    backend.kubectl("apply", "--server-side", "--force-conflicts", "--field-manager=someone-else", "-f", str(patch))
    refused = meshctl(backend, "install", "-y", "--no-wait")
    assert refused.exit_code == 8, refused.stderr
    assert "ConfigMap/istio-system/istio" in refused.stderr
    assert ".data.meshNetworks" in refused.stderr
    assert "someone-else" in refused.stderr
    assert backend.objects.get("configmaps", "istio", ISTIO)["data"]["meshNetworks"] == "networks: {changed: true}"
    forced = h.run_unchecked("install", "-y", "--no-wait", "--force-conflicts", "-o", "json",
                             "--kubeconfig", str(backend.kubeconfig))  # fmt: skip
    assert {o["action"] for o in json.loads(forced.stdout)["objects"] if o["name"] == "istio"} == {"updated"}
    c.check(backend, tmp_path, docs, users, c.Outcome.of(forced), says=(DONE,))


def test_10_an_unmanaged_object_with_a_wanted_name_is_not_overwritten_without_consent(
    backend: Backend, tmp_path: pathlib.Path
) -> None:
    docs = h.generate()
    users = c.user_objects(backend, tmp_path)
    mine = tmp_path / "mine.yaml"
    mine.write_text(
        yaml.safe_dump(
            {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "istio", "namespace": ISTIO},
             "data": {"mesh": "mine"}}
        )
    )  # fmt: skip
    backend.kubectl("create", "-f", str(mine))
    refused = meshctl(backend, "install", "-y")
    assert refused.exit_code == 8, refused.stderr
    assert "ConfigMap/istio-system/istio: exists and was not installed by meshctl" in refused.stderr
    assert "hint: pass --force-conflicts" in refused.stderr
    assert backend.objects.get("configmaps", "istio", ISTIO)["data"] == {"mesh": "mine"}
    assert backend.objects.get("deployments", "istiod", ISTIO) is None  # nothing applied
    assert h.inventories(backend) == {}  # and nothing recorded
    forced = meshctl(backend, "install", "-y", "--force-conflicts")
    c.check(backend, tmp_path, docs, users, forced, says=(DONE,))
    assert backend.objects.get("configmaps", "istio", ISTIO)["data"]["mesh"] != "mine"


def test_11_user_objects_survive_install_upgrade_uninstall_and_purge(backend: Backend, tmp_path: pathlib.Path) -> None:
    default, minimal = h.generate(), h.generate("--set", "profile=minimal")
    users = c.user_objects(backend, tmp_path)  # before the install: istio-system is the user's
    c.check(backend, tmp_path, default, users, meshctl(backend, "install", "-y", "--no-wait"), says=(DONE,))
    users = {**users, **c.user_objects(backend, tmp_path, with_virtual_service=True)}
    upgraded = meshctl(backend, "upgrade", "-y", "--no-wait", "--set", "profile=minimal")
    c.check(backend, tmp_path, minimal, users, upgraded, says=("✔ Upgrade complete",))
    removed = meshctl(backend, "uninstall", "--revision", "default", "-y")
    assert removed.exit_code == 0, removed.stderr
    lh.assert_untouched(backend, users)
    purged = meshctl(backend, "uninstall", "--purge", "-y")
    assert purged.exit_code == 0, purged.stderr
    assert "✔ Uninstall complete" in purged.stderr
    assert lh.present(backend, default + minimal) == {
        ("apiextensions.k8s.io", "CustomResourceDefinition", "", lh.VS_CRD)
    }
    assert h.inventories(backend) == {}
    assert c.labelled(backend, default + minimal) == {
        ("apiextensions.k8s.io", "CustomResourceDefinition", "", lh.VS_CRD)
    }  # the VirtualService CRD stays, with its members' label: it is still the user's only way to reach the VS
    lh.assert_untouched(backend, users)


def test_13_a_forbidden_verb_is_exit_4_naming_it_and_nothing_applied_goes_unrecorded(
    backend: Backend, tmp_path: pathlib.Path, controls: Controls
) -> None:
    docs = h.generate()
    users = c.user_objects(backend, tmp_path)
    backend.raw.faults.forbid(controls.admin_user, verbs=["patch"], resources=["deployments"])
    denied = meshctl(backend, "install", "-y", "--no-wait")
    assert denied.exit_code == 4, denied.stderr
    assert f'hint: user "{controls.admin_user}" may not patch deployments.apps' in denied.stderr
    # Everything that was applied is recorded in an inventory, so a rerun (or an uninstall) can find it.
    recorded = set().union(*h.inventory_members(backend).values())
    assert c.labelled(backend, docs) <= recorded
    assert backend.objects.get("deployments", "istiod", ISTIO) is None
    assert backend.objects.get("leases", klock.LOCK_NAME, ISTIO) is None
    backend.raw.faults.clear()
    c.check(backend, tmp_path, docs, users, meshctl(backend, "install", "-y", "--no-wait"), says=(DONE,))


def test_14_an_upgrade_that_drops_a_component_prunes_its_objects_and_nothing_else(
    backend: Backend, tmp_path: pathlib.Path
) -> None:
    """default → minimal drops the ingress gateway: exactly its objects are pruned, the plan names every deletion
    before anything is written, and (on the test API server, which shows every write) only the values ConfigMap
    (the profile's name) of the kept objects changes."""
    default, minimal = h.generate(), h.generate("--set", "profile=minimal")
    meshctl(backend, "install", "-y", "--no-wait")
    users = c.user_objects(backend, tmp_path, with_virtual_service=True)
    dropped = {h.identity(d) for d in default} - {h.identity(d) for d in minimal}
    assert {kind for _, kind, _, name in dropped if "ingressgateway" in name} == {
        "ServiceAccount", "Service", "Deployment", "HorizontalPodAutoscaler", "Role", "RoleBinding",
    }  # fmt: skip
    assert all("ingressgateway" in name for _, _, _, name in dropped)
    kept_versions = h.member_versions(backend.api, minimal) if backend.api is not None else {}

    result = h.run_unchecked("upgrade", "-y", "--no-wait", "--set", "profile=minimal", "-o", "json",
                             "--kubeconfig", str(backend.kubeconfig))  # fmt: skip

    pruned = {(o["group"], o["kind"], o["namespace"], o["name"]) for o in json.loads(result.stdout)["objects"]
              if o["action"] == "pruned"}  # fmt: skip
    assert pruned == dropped
    lines = result.stderr.splitlines()
    plan_end = next(i for i, line in enumerate(lines) if line.startswith("Plan: "))
    for _, kind, namespace, name in dropped:
        assert f"  prune      {kind}/{namespace}/{name}" in lines[:plan_end]
    assert lines.index(f"  Pruned Deployment/{ISTIO}/istio-ingressgateway") > plan_end
    assert lh.present(backend, default) == {h.identity(d) for d in minimal}
    c.check(backend, tmp_path, minimal, users, c.Outcome.of(result), says=("✔ Upgrade complete",))
    if backend.api is not None:
        changed = {k for k, v in h.member_versions(backend.api, minimal).items() if kept_versions[k] != v}
        assert changed == {("", "ConfigMap", ISTIO, "values")}


# --- 12: two installs at once --------------------------------------------------------------------------------------


def _first_install_holding_the_lock(backend: Backend) -> Any:
    """An install that holds the lock while its read of the inventories hangs (until `faults.release()`)."""
    backend.raw.faults.hang(count=1, verbs="list", resources="secrets")
    first = lh.spawn(backend, "install", "-y", "--no-wait")
    _until(lambda: backend.objects.get("leases", klock.LOCK_NAME, ISTIO) is not None, "the first install's lock")
    return first


def test_12_a_second_install_waits_for_the_lock_naming_the_holder_then_proceeds(
    backend: Backend, tmp_path: pathlib.Path
) -> None:
    docs = h.generate()
    users = c.user_objects(backend, tmp_path)
    first = _first_install_holding_the_lock(backend)
    second = lh.spawn(backend, "install", "-y", "--no-wait")
    _until(lambda: backend.requests.count(verb="get", resource="leases") > 0, "the second install reading the lock")
    backend.raw.faults.release()
    outcomes = [c.Outcome.of(first), c.Outcome.of(second)]
    assert [o.exit_code for o in outcomes] == [0, 0], outcomes
    assert "- Waiting for the installation lock, held by " in outcomes[1].stderr
    assert "(pid " in outcomes[1].stderr
    c.check(backend, tmp_path, docs, users, outcomes[1], says=(DONE,))


def test_12_or_fails_with_exit_4_after_lock_timeout_and_the_result_is_consistent(
    backend: Backend, tmp_path: pathlib.Path
) -> None:
    docs = h.generate()
    users = c.user_objects(backend, tmp_path)
    first = _first_install_holding_the_lock(backend)
    second = meshctl(backend, "install", "-y", "--no-wait", "--lock-timeout", "0.5s")
    assert second.exit_code == 4, second.stderr
    assert "error: the installation lock istio-system/meshctl-lock is held by " in second.stderr
    backend.raw.faults.release()
    c.check(backend, tmp_path, docs, users, c.Outcome.of(first), says=(DONE,))


def test_06_a_killed_install_leaves_its_lock_to_expire_then_it_is_taken_over(
    backend: Backend, tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(klock.DURATION_ENV, "1")
    docs = h.generate()
    users = c.user_objects(backend, tmp_path)
    backend.raw.faults.set_latency(0.02)
    proc, acted = lh.at_request(backend, ("install", "-y", "--no-wait"), 12, lambda p: p.send_signal(signal.SIGKILL))
    proc.communicate(timeout=60)
    assert acted
    backend.raw.faults.set_latency(0.0)
    holder = backend.objects.get("leases", klock.LOCK_NAME, ISTIO)["spec"]["holderIdentity"]
    rerun = meshctl(backend, "install", "-y", "--no-wait", "--lock-timeout", "30s")
    c.check(backend, tmp_path, docs, users, rerun, says=(DONE, f"Took over the lock of {holder}, which had expired"))
