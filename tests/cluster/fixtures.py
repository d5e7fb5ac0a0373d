"""pytest fixtures for the real control plane (register with `pytest_plugins` in tests/conftest.py).

- `real_cluster` (session): one `RealCluster` with 2 KWOK nodes and a `FaultProxy` in front of it, built and
  started on first use. Skipped, with the reason, when `go` is missing or the build fails; where `go` is present and
  `CI=true`, a failed build fails the run instead.
- `realcluster` (per test): a `ClusterTest` — the session's cluster after the reset rule below, with a namespace of
  its own. `kubeconfig_path` goes through the fault proxy (admin token), so `requests` and `faults` work as on the
  test API server; `direct_kubeconfig_path` goes straight to kube-apiserver.
- `cluster_backend` (per test, parametrised "apiserver" / "real"): a `Backend` with the same surface on both —
  `kubeconfig_path`, `requests`, `faults`, `objects` (get/list/names), `namespace`, `kubectl(...)`.

Reset rule (the cluster is shared by the session):
- each test gets a fresh namespace (`ClusterTest.namespace`, labelled `meshctl.test/test=<id>`), deleted after it;
- objects a test creates at cluster scope (namespaces, CRDs, cluster roles and bindings, webhook configurations,
  admission policies, priority/storage/ingress classes, persistent volumes) — found by comparing with the list
  taken before the test, and anything labelled `meshctl.test/test=<id>` — are deleted after it, and the fixture
  waits until they are gone, so the next test may create the same names (`istio-system`); so are the objects of
  the kinds in KEPT_NAMESPACED it creates in the namespaces that stay (default, kube-system, …); a CRD whose
  instance cleanup kube-apiserver's finalizer failed and backs off from is finished by the fixture, and so is a
  deleted namespace (emptied, pods at once, then finalized: the namespace controller waits 5 s before it starts);
- faults are cleared, hangs released, the proxy brought back up and its request log emptied before each test.
Nodes and the objects the control plane made at start (kube-system's included) are never touched.
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import pathlib
import re
import sys
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest

from tests.apiserver.faults import Faults
from tests.apiserver.kubectl import Kubectl
from tests.apiserver.requestlog import RequestLog
from tests.apiserver.server import ApiServer
from tests.cluster import build, controlplane, faultproxy, pki, rest

TEST_LABEL = "meshctl.test/test"
KEEP_ENV = "MESHCTL_TEST_KEEP_CLUSTER"  # set: the session cluster's data and logs stay (the path is printed)
# Intercept requests: removed first.
_ADMISSION = (
    "mutatingwebhookconfigurations",
    "validatingwebhookconfigurations",
    "validatingadmissionpolicies",
    "validatingadmissionpolicybindings",
    "mutatingadmissionpolicies",
    "mutatingadmissionpolicybindings",
)
RESET_RESOURCES = (
    "namespaces",
    "customresourcedefinitions",
    "clusterroles",
    "clusterrolebindings",
    *_ADMISSION,
    "priorityclasses",
    "storageclasses",
    "ingressclasses",
    "persistentvolumes",
)
# Namespaced kinds a test may create in the kept namespaces (the openshift profiles install istio-cni into
# kube-system): removed after it like the cluster-scoped ones.
KEPT_NAMESPACED = (
    "configmaps",
    "secrets",
    "serviceaccounts",
    "services",
    "deployments",
    "daemonsets",
    "statefulsets",
    "jobs",
    "roles",
    "rolebindings",
    "horizontalpodautoscalers",
    "poddisruptionbudgets",
    "networkpolicies",
)
_KEEP_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})
_RESET_TIMEOUT = 120.0
_counter = itertools.count(1)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "realcluster: runs against the real control plane (tests/cluster); needs `go` to build it"
    )


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def _progress(request: pytest.FixtureRequest) -> Callable[[str], None]:
    """Build and start-up progress on the terminal, past pytest's output capture."""
    capture = request.config.pluginmanager.getplugin("capturemanager")

    def say(line: str) -> None:
        if capture is None:
            print(f"[tests.cluster] {line}", file=sys.stderr, flush=True)
            return
        with capture.global_and_fixture_disabled():
            print(f"[tests.cluster] {line}", file=sys.stderr, flush=True)

    return say


def binaries_or_skip(say: Callable[[str], None]) -> build.Binaries:
    """The built binaries; skips (saying why) without `go` or when the build fails — but where `go` is present
    and CI=true, a failed build fails."""
    if build.find_go() is None:
        pytest.skip("the real-cluster tests need the `go` command (Go 1.26) to build kube-apiserver & co: not found")
    try:
        return build.ensure_binaries(say)
    except build.BuildError as exc:
        if _in_ci():
            pytest.fail(f"`go` is installed but building the control plane failed (CI=true): {exc}")
        pytest.skip(f"building the control plane failed: {exc}")


@dataclasses.dataclass
class SessionCluster:
    cluster: controlplane.RealCluster
    proxy: faultproxy.FaultProxy


@pytest.fixture(scope="session")
def cluster_binaries(request: pytest.FixtureRequest) -> build.Binaries:
    """The control-plane binaries, built on first use (progress on the terminal); see `binaries_or_skip`."""
    return binaries_or_skip(_progress(request))


@pytest.fixture(scope="session")
def real_cluster(request: pytest.FixtureRequest, cluster_binaries: build.Binaries) -> Iterator[SessionCluster]:
    """The session's control plane and fault proxy (see the module docstring)."""
    say = _progress(request)
    binaries = cluster_binaries
    with (
        controlplane.RealCluster(
            nodes=2, binaries=binaries, progress=say, keep_workdir=bool(os.environ.get(KEEP_ENV))
        ) as cluster,
        faultproxy.FaultProxy(cluster) as proxy,
    ):
        if cluster.keep_workdir:
            say(f"data and logs kept in {cluster.workdir}")
        yield SessionCluster(cluster, proxy)
        violations = cluster.audit.violations
    assert not violations, "the control plane used addresses beyond 127.0.0.0/8:\n" + "\n".join(map(str, violations))


@dataclasses.dataclass
class ClusterTest:
    """One test's view of the shared real cluster."""

    cluster: controlplane.RealCluster
    proxy: faultproxy.FaultProxy
    test_id: str
    namespace: str
    tmp_path: pathlib.Path
    kubeconfig_path: pathlib.Path  # through the fault proxy, admin, default namespace = `namespace`
    direct_kubeconfig_path: pathlib.Path  # straight to kube-apiserver, admin

    name = "real"

    @property
    def requests(self) -> RequestLog:
        return self.proxy.requests

    @property
    def faults(self) -> Faults:
        return self.proxy.faults

    @property
    def objects(self) -> rest.Rest:
        """Admin REST client straight to kube-apiserver (not logged, no faults): get/list/names/create/apply/delete."""
        return self.cluster.admin

    @property
    def label(self) -> dict[str, str]:
        """Put this on cluster-scoped objects the test creates by other means, to have them removed after it."""
        return {TEST_LABEL: self.test_id}

    def kubectl(self, *args: str, check: bool = True) -> Any:
        """The real kubectl through the fault proxy (admin)."""
        return Kubectl(cast(ApiServer, self), self.tmp_path)(*args, check=check)

    def restricted_user(
        self, rules: list[dict[str, Any]], user: str | None = None, *, through_proxy: bool = True
    ) -> pathlib.Path:
        """A kubeconfig for a user bound (RoleBinding) to a Role with `rules` in this test's namespace, and nothing
        else: its other requests get kube-apiserver's own 403. Through the fault proxy (bearer token; the proxy
        impersonates the user) or straight to kube-apiserver (a client certificate)."""
        user = user or f"restricted-{self.test_id}"
        admin = self.cluster.admin
        role = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": user, "namespace": self.namespace},
            "rules": rules,
        }
        binding = {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": user, "namespace": self.namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": user},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}],
        }
        admin.create("roles", role, self.namespace)
        admin.create("rolebindings", binding, self.namespace)
        path = self.tmp_path / f"{user}.kubeconfig"
        if through_proxy:
            if user not in {u for u, _ in self.proxy._users.values()}:
                self.proxy.add_user(user)
            return self.proxy.write_kubeconfig(path, user, namespace=self.namespace)
        return self.cluster.write_kubeconfig(path, user, namespace=self.namespace)


def _test_id(nodeid: str) -> str:
    name = nodeid.rsplit("::", 1)[-1].lower()
    slug = re.sub(r"[^a-z0-9]+", "-", name).strip("-")[:40].strip("-")
    return f"{slug}-{next(_counter)}"


def _served(admin: rest.Rest, resource: str) -> bool:
    try:
        admin.collection(resource)
    except KeyError:
        return False
    return True


def _snapshot(admin: rest.Rest) -> set[tuple[str, str, str]]:
    """(resource, namespace, name) of the objects the reset looks after: the cluster-scoped kinds of
    RESET_RESOURCES, and the KEPT_NAMESPACED kinds in the namespaces that are never deleted."""
    found: set[tuple[str, str, str]] = set()
    for resource in RESET_RESOURCES:
        if _served(admin, resource):
            found.update((resource, "", name) for name in admin.names(resource))
    for resource in KEPT_NAMESPACED:
        if _served(admin, resource):
            for item in admin.list(resource):  # every namespace in one request; only the kept ones count
                meta = item["metadata"]
                if meta.get("namespace") in _KEEP_NAMESPACES and not _control_plane_made(meta):
                    found.add((resource, meta["namespace"], meta["name"]))
    return found


_CONTROL_PLANE_MANAGERS = frozenset({"kube-apiserver", "kube-controller-manager", "kube-scheduler"})


def _control_plane_made(meta: dict[str, Any]) -> bool:
    """Written only by the control plane (kube-root-ca.crt, recreated by its publisher whenever it is missing): not
    a test's debris, whenever it appeared."""
    managers = {entry.get("manager", "") for entry in meta.get("managedFields") or ()}
    return bool(managers) and managers <= _CONTROL_PLANE_MANAGERS


def _reset(admin: rest.Rest, before: set[tuple[str, str, str]], test_id: str) -> None:
    """Delete what the test left at cluster scope and in the kept namespaces (and its namespaces), and wait until
    it is gone."""
    doomed = {
        (resource, namespace, name)
        for resource, namespace, name in _snapshot(admin) - before
        if not name.startswith("system:") and not (resource == "namespaces" and name in _KEEP_NAMESPACES)
    }
    for resource in RESET_RESOURCES:
        if _served(admin, resource):
            for item in admin.list(resource, label_selector=f"{TEST_LABEL}={test_id}"):
                doomed.add((resource, "", item["metadata"]["name"]))
    # In phases: first what intercepts requests (webhooks, policies), then CRDs — gone before namespaces terminate,
    # so the namespace controller's discovery does not change under it — then the rest.
    own = f"t-{test_id}"
    for phase in (_ADMISSION, ("customresourcedefinitions",), None):
        batch = {(r, ns, n) for r, ns, n in doomed if (r in phase if phase else True)}
        doomed -= batch
        for resource, namespace, name in sorted(batch):
            admin.delete(resource, name, namespace)
        _finish_namespaces(admin, sorted(name for resource, _, name in batch if resource == "namespaces"))
        # The test's own namespaces have unique names: their termination goes on in the background.
        _wait_gone(admin, {o for o in batch if not (o[0] == "namespaces" and o[2].startswith(own))}, test_id)


def _collections(admin: rest.Rest) -> list[str]:
    """Path templates (``{ns}``) of every namespaced collection that can be listed and deleted as a whole."""
    versions = ["/api/v1"] + [
        f"/apis/{g['preferredVersion']['groupVersion']}" for g in admin.call("GET", "/apis")["groups"]
    ]
    found = []
    for prefix in versions:
        status, listing = admin.request("GET", prefix)
        for item in listing["resources"] if status == 200 else ():
            if item["namespaced"] and "/" not in item["name"] and {"list", "deletecollection"} <= set(item["verbs"]):
                found.append(f"{prefix}/namespaces/{{ns}}/{item['name']}")
    return found


def _finish_namespaces(admin: rest.Rest, names: list[str]) -> None:
    """Do the namespace controller's work for namespaces just deleted: empty them (pods at once, grace period 0)
    and remove the `kubernetes` finalizer. The controller waits 5 s before it looks at a deleted namespace (a fixed
    grace period in kube-controller-manager) and then lets pods end with theirs: 5–10 s a test, most of the reset's
    time. Only an empty namespace is finalized here: if anything stays (an object with a finalizer of its own), the
    controller's slower path finishes it and `_wait_gone` waits for that."""
    if not names:
        return
    collections = _collections(admin)
    zero = {"kind": "DeleteOptions", "apiVersion": "v1", "gracePeriodSeconds": 0, "propagationPolicy": "Background"}
    for name in names:
        for path in collections:
            admin.request("DELETE", path.format(ns=name), zero)
        if any(
            status == 200 and body.get("items")
            for status, body in (
                admin.request("GET", path.format(ns=name), query={"limit": "1"}) for path in collections
            )
        ):
            continue
        live = admin.get("namespaces", name)
        if live is not None and live["metadata"].get("deletionTimestamp"):
            live["spec"]["finalizers"] = []
            admin.request("PUT", f"/api/v1/namespaces/{name}/finalize", live)


_CRD_CLEANUP = "customresourcecleanup.apiextensions.k8s.io"


def _finish_crd_cleanup(admin: rest.Rest, crd: dict[str, Any]) -> None:
    """Do the CRD finalizer's work for a CRD whose instance cleanup failed.

    kube-apiserver's CRD finalizer lists the instances through the resource's watch cache; for a CRD deleted seconds
    after it was created that cache may still be initialising, the list fails ("storage is (re)initializing",
    condition Terminating/InstanceDeletionFailed) and the controller retries with a per-item exponential backoff
    that reaches minutes. The reset does not wait for that: it deletes the instances itself (as the finalizer
    would) and, once none is left, removes the finalizer.
    """
    spec = crd["spec"]
    version = next((v["name"] for v in spec["versions"] if v.get("served")), spec["versions"][0]["name"])
    path = f"/apis/{spec['group']}/{version}/{spec['names']['plural']}"
    status, listing = admin.request("GET", path)
    if status != 200:  # the watch cache is still initialising (429): looked at again on the next poll
        return
    for item in listing["items"]:
        meta = item["metadata"]
        if meta.get("namespace"):
            admin.request(
                "DELETE",
                f"/apis/{spec['group']}/{version}/namespaces/{meta['namespace']}/"
                f"{spec['names']['plural']}/{meta['name']}",
            )
        else:
            admin.request("DELETE", f"{path}/{meta['name']}")
    if listing["items"]:
        return  # gone by the next poll, then the finalizer
    finalizers = [f for f in crd["metadata"].get("finalizers", []) if f != _CRD_CLEANUP]
    admin.request(
        "PATCH",
        f"{admin.collection('customresourcedefinitions')}/{crd['metadata']['name']}",
        {"metadata": {"finalizers": finalizers, "resourceVersion": crd["metadata"]["resourceVersion"]}},
        content_type="application/merge-patch+json",
    )


def _cleanup_failed(crd: dict[str, Any]) -> bool:
    return any(
        c.get("type") == "Terminating" and c.get("reason") == "InstanceDeletionFailed"
        for c in (crd.get("status") or {}).get("conditions") or []
    ) and _CRD_CLEANUP in (crd["metadata"].get("finalizers") or [])


def wait_crds_deleted(admin: rest.Rest, names: list[str], why: str) -> None:
    """For tests that delete CRDs themselves: wait until they are gone, finishing a stuck instance cleanup as the
    reset does (`_finish_crd_cleanup`)."""
    _wait_gone(admin, {("customresourcedefinitions", "", name) for name in names}, why)


def _wait_gone(admin: rest.Rest, objects: set[tuple[str, str, str]], test_id: str) -> None:
    def remaining() -> list[tuple[str, str, str]]:
        left = []
        for resource, namespace, name in sorted(objects):
            live = admin.get(resource, name, namespace)
            if live is None:
                continue
            if resource == "customresourcedefinitions" and _cleanup_failed(live):
                _finish_crd_cleanup(admin, live)
            left.append((resource, namespace, name))
        return left

    try:
        rest.poll(lambda: not remaining(), _RESET_TIMEOUT, f"the objects of test {test_id} to be deleted", 0.2)
    except TimeoutError as exc:
        raise TimeoutError(f"{exc}; still there: {remaining()}") from None


@pytest.fixture
def realcluster(
    real_cluster: SessionCluster, request: pytest.FixtureRequest, tmp_path: pathlib.Path
) -> Iterator[ClusterTest]:
    """The shared real cluster for one test, reset before and after as the module docstring says."""
    cluster, proxy = real_cluster.cluster, real_cluster.proxy
    cluster.check()
    admin = cluster.admin
    proxy.faults.clear()
    proxy.up()
    test_id = _test_id(request.node.nodeid)
    before = _snapshot(admin)
    namespace = f"t-{test_id}"[:63].rstrip("-")
    admin.create(
        "namespaces",
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace, "labels": {TEST_LABEL: test_id}}},
    )
    proxy.requests.clear()
    context = ClusterTest(
        cluster=cluster,
        proxy=proxy,
        test_id=test_id,
        namespace=namespace,
        tmp_path=tmp_path,
        kubeconfig_path=proxy.write_kubeconfig(tmp_path / "kubeconfig", namespace=namespace),
        direct_kubeconfig_path=cluster.write_kubeconfig(tmp_path / "direct.kubeconfig", namespace=namespace),
    )
    try:
        yield context
    finally:
        proxy.faults.clear()
        proxy.up()
        _reset(admin, before, test_id)
        cluster.check()


@dataclasses.dataclass
class Backend:
    """What an integration test needs from either backend."""

    name: str  # "apiserver" or "real"
    kubeconfig_path: pathlib.Path
    requests: RequestLog
    faults: Faults
    objects: Any  # get(resource, name, namespace="") / list(resource, namespace=None) / names(...)
    namespace: str
    tmp_path: pathlib.Path

    def kubectl(self, *args: str, check: bool = True) -> Any:
        return Kubectl(cast(ApiServer, self), self.tmp_path)(*args, check=check)


@pytest.fixture(params=["apiserver", pytest.param("real", marks=pytest.mark.realcluster)])
def cluster_backend(request: pytest.FixtureRequest, tmp_path: pathlib.Path) -> Backend:
    """Runs the test against the test API server and against the real control plane."""
    if request.param == "apiserver":
        api: ApiServer = request.getfixturevalue("apiserver")
        namespace = "test"
        api.objects.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}})
        config = api.kubeconfig()
        config["contexts"][0]["context"]["namespace"] = namespace
        kubeconfig = pki.write_kubeconfig(tmp_path / "backend.kubeconfig", config)
        return Backend("apiserver", kubeconfig, api.requests, api.faults, api.objects, namespace, tmp_path)
    real: ClusterTest = request.getfixturevalue("realcluster")
    return Backend("real", real.kubeconfig_path, real.requests, real.faults, real.objects, real.namespace, tmp_path)
