"""The Lease lock, the inventory Secrets and the apply helpers."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from meshctl import errors, objects
from meshctl.kube import apply as kapply
from meshctl.kube import client as kclient
from meshctl.kube import errors as kerrors
from meshctl.kube import inventory, lock
from tests.apiserver.server import ApiServer

NS = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}


def test_lock_is_taken_renewed_and_released(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    apiserver.objects.create(NS)
    held = lock.acquire(kube, "istio-system", holder="me", duration=1)
    lease = apiserver.objects.get("leases", lock.LOCK_NAME, "istio-system")
    assert lease["spec"]["holderIdentity"] == "me"
    assert lease["spec"]["leaseDurationSeconds"] == 1
    first = lease["metadata"]["resourceVersion"]
    apiserver.objects.wait_for(
        "leases", lock.LOCK_NAME, "istio-system", lambda o: o is not None and o["metadata"]["resourceVersion"] != first
    )  # renewed in the background
    held.release()
    assert apiserver.objects.get("leases", lock.LOCK_NAME, "istio-system") is None


def test_lock_held_by_a_live_holder_times_out_naming_it(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    apiserver.objects.create(NS)
    apiserver.objects.create(lock.lease_object("istio-system", holder="other meshctl", duration=3600))
    waited: list[str] = []
    with pytest.raises(lock.LockTimeout) as caught:
        lock.acquire(kube, "istio-system", holder="me", timeout=0.3, on_wait=waited.append)
    assert waited == ["other meshctl"]
    assert caught.value.message == "the installation lock istio-system/meshctl-lock is held by other meshctl"
    assert caught.value.exit_code == errors.ExitCode.CLUSTER


def test_expired_lock_is_taken_over(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    apiserver.objects.create(NS)
    stale = lock.lease_object("istio-system", holder="killed", duration=1)
    past = (datetime.datetime.now(datetime.UTC) - datetime.timedelta(seconds=30)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    stale["spec"].update(renewTime=past, acquireTime=past)
    apiserver.objects.create(stale)
    with lock.acquire(kube, "istio-system", holder="me", timeout=5) as held:
        assert held.took_over_from == "killed"
        lease = apiserver.objects.get("leases", lock.LOCK_NAME, "istio-system")
        assert lease["spec"]["holderIdentity"] == "me"
        assert lease["spec"]["leaseTransitions"] == 1


def test_lock_duration_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(lock.DURATION_ENV, "3")
    assert lock.default_duration() == 3
    monkeypatch.setenv(lock.DURATION_ENV, "soon")
    with pytest.raises(errors.UsageError):
        lock.default_duration()
    monkeypatch.delenv(lock.DURATION_ENV)
    assert lock.default_duration() == 15
    assert "(pid " in lock.holder_identity()


def _inventory(**kwargs: Any) -> inventory.Inventory:
    members = [
        objects.ObjectRef("apps", "v1", "Deployment", "istio-system", "istiod"),
        objects.ObjectRef("", "v1", "ConfigMap", "kube-system", "cni"),
        objects.ObjectRef("rbac.authorization.k8s.io", "v1", "ClusterRole", "", "istiod"),
    ]
    return inventory.Inventory(name="meshctl-default", namespace="istio-system", members=members, **kwargs)


def test_inventory_secret_follows_the_applyset_convention() -> None:
    secret = inventory.encode(_inventory(config={"spec": {"profile": "default"}}))
    assert secret["type"] == "meshctl.io/installation"
    labels = secret["metadata"]["labels"]
    assert labels["applyset.kubernetes.io/id"] == objects.applyset_id("meshctl-default", "istio-system")
    annotations = secret["metadata"]["annotations"]
    assert annotations["applyset.kubernetes.io/tooling"].startswith("meshctl/")
    assert annotations["applyset.kubernetes.io/contains-group-kinds"] == (
        "ClusterRole.rbac.authorization.k8s.io,ConfigMap,Deployment.apps"
    )
    assert annotations["applyset.kubernetes.io/additional-namespaces"] == "kube-system"
    decoded = inventory.decode(secret)
    assert decoded.members == sorted(_inventory().members)
    assert decoded.config == {"spec": {"profile": "default"}}


def test_inventory_history_keeps_the_last_ten_and_fits_512_kib() -> None:
    inv = _inventory()
    for i in range(15):
        inv.record_run(result="deployed", config_digest=str(i))
    assert [h["configDigest"] for h in inv.history] == [str(i) for i in range(5, 15)]
    import os

    # Hex of random bytes compresses to about half: 10 runs of ~50 KiB plus a ~150 KiB configuration are too much.
    big = _inventory(history=[{"pad": os.urandom(50_000).hex()} for _ in range(10)])
    big.config = {"noise": os.urandom(150_000).hex()}
    secret = inventory.encode(big)
    assert len(inventory.decode(secret).history) < 10
    with pytest.raises(errors.InputError, match="more than the 524288 allowed"):
        inventory.encode(_inventory(config={"noise": os.urandom(600_000).hex()}))


def test_damaged_inventory_is_a_cluster_error() -> None:
    secret = inventory.encode(_inventory())
    secret["data"]["inventory"] = "bm90IGd6aXA="
    with pytest.raises(kerrors.KubeError, match="is damaged"):
        inventory.decode(secret)


def test_inventory_read_modify_write_retries_after_a_conflict(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    apiserver.objects.create(NS)
    stored = inventory.update(kube, "istio-system", "meshctl-default", lambda inv: inv.revisions.append("a"))
    stale = inventory.read(kube, "istio-system", "meshctl-default")
    assert stale is not None
    inventory.update(kube, "istio-system", "meshctl-default", lambda inv: inv.revisions.append("b"))
    # `stale` is out of date: the write gets 409 and is retried on a fresh read, keeping the other change.
    result = inventory.update(
        kube, "istio-system", "meshctl-default", lambda inv: inv.revisions.append("c"), current=stale, known=True
    )
    assert result.revisions == ["a", "b", "c"]
    assert stored.resource_version != result.resource_version
    assert list(inventory.read_all(kube, "istio-system")) == ["meshctl-default"]


def test_changes_ignore_what_every_write_touches() -> None:
    live = {"metadata": {"name": "a", "resourceVersion": "1", "managedFields": [{"manager": "x"}]}, "spec": {"r": 1}}
    same = {"metadata": {"name": "a", "resourceVersion": "2", "managedFields": []}, "spec": {"r": 1}}
    assert kapply.changes(live, same) == []
    other = {"metadata": {"name": "a"}, "spec": {"r": 2, "new": [1]}}
    found = kapply.changes(live, other)
    assert [c.describe() for c in found] == [".spec.new: (none) → [1]", ".spec.r: 1 → 2"]
    assert kapply.changes({"l": [1, 2]}, {"l": [1, 3]})[0].path == ".l[1]"
    assert kapply.FieldChange(".x", "a" * 100, None).describe(10) == ".x: aaaaaaaaa… → (none)"
    assert kapply.managers(live) == ["x"]


def test_run_parallel_keeps_order_and_catches_only_cluster_errors() -> None:
    def work(n: int) -> int:
        if n == 3:
            raise kerrors.NotFound("gone", code=404)
        return n * 2

    outcomes = kapply.run_parallel(work, list(range(6)), workers=4)
    assert [o.value for o in outcomes] == [0, 2, 4, None, 8, 10]
    assert isinstance(outcomes[3].error, kerrors.NotFound)
    assert kapply.run_parallel(work, [], 4) == []
    with pytest.raises(ZeroDivisionError):
        kapply.run_parallel(lambda n: 1 // n, [0, 1], 2)


def test_a_lock_taken_over_behind_our_back_is_reported_lost_and_not_deleted(
    apiserver: ApiServer, kube: kclient.RestClient
) -> None:
    apiserver.objects.create(NS)
    held = lock.acquire(kube, "istio-system", holder="slow", duration=1)
    other = apiserver.objects.get("leases", lock.LOCK_NAME, "istio-system")
    other["spec"]["holderIdentity"] = "thief"
    apiserver.objects.put(other)
    apiserver.objects.wait_for("leases", lock.LOCK_NAME, "istio-system", lambda o: o is not None)
    held._thread.join(timeout=5)  # the renewal meets a 409 and stops
    assert held.lost is not None
    held.release()
    assert apiserver.objects.get("leases", lock.LOCK_NAME, "istio-system")["spec"]["holderIdentity"] == "thief"


def test_a_released_lease_without_holder_is_taken_and_bad_times_count_as_expired(
    apiserver: ApiServer, kube: kclient.RestClient
) -> None:
    apiserver.objects.create(NS)
    empty = lock.lease_object("istio-system", holder="x", duration=60)
    empty["spec"]["holderIdentity"] = ""
    apiserver.objects.create(empty)
    with lock.acquire(kube, "istio-system", holder="me") as held:
        assert held.holder == "me"
        assert held.took_over_from is None
    assert lock._expired({"renewTime": "garbage"}, datetime.datetime.now(datetime.UTC))
    assert lock._parse("2026-01-01T00:00:00") is not None
    assert lock._duration_of({"leaseDurationSeconds": "x"}) == lock.DEFAULT_DURATION
