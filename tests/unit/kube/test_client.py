"""The real client against the test API server: kubeconfig handling, retries, errors, discovery, watches, logging."""

from __future__ import annotations

import logging
import pathlib
import queue
import socket
from typing import Any

import pytest
import yaml

from meshctl import errors
from meshctl.kube import client as kclient
from meshctl.kube import discovery, redact, wait
from meshctl.kube import errors as kerrors
from tests.apiserver.server import ApiServer

CM = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a", "namespace": "default"}, "data": {"k": "v"}}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _write(path: pathlib.Path, document: dict[str, Any]) -> str:
    path.write_text(yaml.safe_dump(document))
    return str(path)


# --- kubeconfig ------------------------------------------------------------------------------------------------------


def test_colon_separated_kubeconfig_is_merged_and_context_selected(
    apiserver: ApiServer, tmp_path: pathlib.Path
) -> None:
    full = apiserver.kubeconfig()
    first = _write(
        tmp_path / "clusters",
        {"apiVersion": "v1", "kind": "Config", "clusters": full["clusters"], "users": full["users"]},
    )
    second = _write(
        tmp_path / "contexts",
        {
            "apiVersion": "v1",
            "kind": "Config",
            "contexts": [
                *full["contexts"],
                {"name": "other", "context": {"cluster": "test", "user": "test-admin", "namespace": "x"}},
            ],
            "current-context": "test",
        },
    )
    client = kclient.connect(kubeconfig=f"{first}:{second}", context="other")
    assert client.info.context == "other"
    assert client.info.namespace == "x"
    assert client.info.server == apiserver.url
    assert client.server_version()["gitVersion"].startswith("v1.")


def test_unknown_context_and_missing_or_broken_kubeconfig_are_config_errors(
    apiserver: ApiServer, tmp_path: pathlib.Path
) -> None:
    with pytest.raises(kerrors.ConfigError) as unknown:
        kclient.connect(kubeconfig=str(apiserver.kubeconfig_path), context="nope")
    assert unknown.value.hint == "available contexts: test"
    with pytest.raises(kerrors.ConfigError, match="no kubeconfig found"):
        kclient.connect(kubeconfig=str(tmp_path / "absent"))
    broken = tmp_path / "broken"
    broken.write_text(f"apiVersion: v1\nkind: Config\nusers:\n- name: u\n  user: {{token: {apiserver.token}}}\n")
    with pytest.raises(kerrors.ConfigError) as bad:
        kclient.connect(kubeconfig=str(broken))
    assert apiserver.token not in str(bad.value)
    assert bad.value.exit_code == errors.ExitCode.CLUSTER


def test_insecure_skip_tls_verify_is_honoured_with_a_warning(apiserver: ApiServer, tmp_path: pathlib.Path) -> None:
    config = apiserver.kubeconfig()
    config["clusters"][0]["cluster"] = {"server": apiserver.url, "insecure-skip-tls-verify": True}
    warnings: list[str] = []
    client = kclient.connect(kubeconfig=_write(tmp_path / "kc", config), warn=warnings.append)
    assert warnings == [
        f"the kubeconfig sets insecure-skip-tls-verify for cluster {apiserver.url}: "
        "the server's certificate is not verified"
    ]
    assert client.server_version()


def test_tls_verification_is_on(apiserver: ApiServer, tmp_path: pathlib.Path) -> None:
    config = apiserver.kubeconfig()
    config["clusters"][0]["cluster"] = {"server": apiserver.url}  # no CA: the test CA is not trusted
    client = kclient.connect(kubeconfig=_write(tmp_path / "kc", config))
    with pytest.raises(kerrors.ConnectionFailed) as caught:
        client.server_version()
    assert "TLS handshake" in caught.value.message
    assert client.requests == 1  # not retried


# --- errors never leak from the client library ----------------------------------------------------------------------


def test_unreachable_server_is_connection_failed_chained_and_retried_within_budget(
    apiserver: ApiServer, tmp_path: pathlib.Path
) -> None:
    config = apiserver.kubeconfig()
    config["clusters"][0]["cluster"]["server"] = f"https://127.0.0.1:{_free_port()}"
    sleeps: list[float] = []
    client = kclient.RestClient(
        *_loaded(_write(tmp_path / "kc", config)), retry=kclient.RetryPolicy(budget=1.0), sleep=sleeps.append
    )
    with pytest.raises(kerrors.ConnectionFailed) as caught:
        client.server_version()
    assert caught.value.__cause__ is not None
    assert not type(caught.value).__module__.startswith(("urllib3", "kubernetes"))
    assert caught.value.hint == "check that the cluster is running and that --context/--kubeconfig point at it"
    assert len(sleeps) >= 2
    assert all(0 < s <= 1.0 for s in sleeps)


def _loaded(path: str) -> tuple[Any, kclient.ClusterInfo]:
    configuration, info, _ = kclient._load_kubeconfig(path, None)
    return configuration, info


def test_every_failure_mode_raises_only_meshctl_errors(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    cm = kube.resource_for("v1", "ConfigMap")
    assert cm is not None
    failures = []
    for call in (
        lambda: kube.create(cm, {**CM, "metadata": {"name": "Bad Name!", "namespace": "default"}}),
        lambda: kube.create(cm, {**CM, "metadata": {"name": "a", "namespace": "missing"}}),
        lambda: kube.replace(cm, {**CM, "metadata": {**CM["metadata"], "resourceVersion": "1"}}),
    ):
        try:
            call()
        except Exception as exc:
            failures.append(exc)
    assert [type(f).__name__ for f in failures] == ["Invalid", "NotFound", "NotFound"]
    assert all(isinstance(f, kerrors.KubeError) for f in failures)


# --- retries ---------------------------------------------------------------------------------------------------------


def test_retries_503_and_honours_retry_after(apiserver: ApiServer) -> None:
    sleeps: list[float] = []
    client = kclient.RestClient(*_loaded(str(apiserver.kubeconfig_path)), sleep=sleeps.append)
    cm = client.resource_for("v1", "ConfigMap")
    assert cm is not None
    apiserver.faults.add_error(503, count=2, verbs="patch")
    client.apply(cm, CM)
    assert len(sleeps) == 2
    apiserver.faults.add_error(429, count=1, verbs="patch", retry_after=2)
    client.apply(cm, CM)
    assert sleeps[2:] == [2.0]
    assert apiserver.objects.get("configmaps", "a", "default") is not None


def test_retry_budget_runs_out_with_exit_4(apiserver: ApiServer) -> None:
    client = kclient.RestClient(
        *_loaded(str(apiserver.kubeconfig_path)), retry=kclient.RetryPolicy(budget=0.5), sleep=lambda s: None
    )
    cm = client.resource_for("v1", "ConfigMap")
    assert cm is not None
    apiserver.faults.add_error(500, share=1.0, verbs="list")
    with pytest.raises(kerrors.ServerError) as caught:
        client.list(cm)
    assert caught.value.exit_code == errors.ExitCode.CLUSTER


def test_non_retryable_errors_fail_at_once(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    apiserver.add_user("ci")
    apiserver.faults.forbid("ci", verbs=["list"], resources=["configmaps"])
    path = apiserver.write_kubeconfig(apiserver.workdir / "ci", user="ci")
    client = kclient.connect(kubeconfig=str(path))
    cm = client.resource_for("v1", "ConfigMap")
    assert cm is not None
    before = client.requests
    with pytest.raises(kerrors.Forbidden) as caught:
        client.list(cm, "default")
    assert client.requests == before + 1
    assert caught.value.hint is not None
    assert caught.value.hint.startswith('user "ci" may not list configmaps')


def test_backoff_is_capped_and_jittered() -> None:
    policy = kclient.RetryPolicy(base=0.2, cap=1.0)
    assert policy.delay(1, rng=lambda: 1.0) == pytest.approx(0.2)
    assert policy.delay(1, rng=lambda: 0.0) == pytest.approx(0.1)
    assert policy.delay(10, rng=lambda: 1.0) == pytest.approx(1.0)
    assert policy.delay(3, retry_after=7) == 7


# --- verbs -----------------------------------------------------------------------------------------------------------


def test_get_list_apply_delete(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    cm = kube.resource_for("v1", "ConfigMap")
    assert cm is not None
    assert kube.get(cm, "a", "default") is None
    dry = kube.apply(cm, CM, dry_run=True)
    assert not dry["metadata"].get("resourceVersion")
    created = kube.apply(cm, CM)
    assert created["metadata"]["managedFields"][0]["manager"] == "meshctl"
    for i in range(3):
        kube.create(cm, {**CM, "metadata": {"name": f"n{i}", "namespace": "default", "labels": {"x": "y"}}})
    listed = kube.list(cm, "default", label_selector="x=y")
    assert sorted(o["metadata"]["name"] for o in listed.items) == ["n0", "n1", "n2"]
    assert listed.items[0]["kind"] == "ConfigMap"
    assert listed.resource_version
    with pytest.raises(kerrors.AlreadyExists):
        kube.create(cm, CM)
    assert kube.delete(cm, "a", "default") is True
    assert kube.delete(cm, "a", "default") is False


def test_apply_conflict_names_field_and_manager(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    cm = kube.resource_for("v1", "ConfigMap")
    assert cm is not None
    kube.apply(cm, CM)
    apiserver.objects.apply({**CM, "data": {"k": "theirs"}}, manager="helm", force=True)
    with pytest.raises(kerrors.FieldConflict) as caught:
        kube.apply(cm, CM)
    assert caught.value.owners == [kerrors.FieldOwner(".data.k", "helm")]
    assert kube.apply(cm, CM, force=True)["data"] == {"k": "v"}


# --- discovery -------------------------------------------------------------------------------------------------------


def test_discovery_is_cached_per_cluster_and_refreshed_on_a_miss(apiserver: ApiServer, tmp_path: pathlib.Path) -> None:
    first = kclient.connect(kubeconfig=str(apiserver.kubeconfig_path))
    assert first.resource_for("apps/v1", "Deployment") is not None
    cache = discovery.cache_file(first.info.server, first.info.context)
    assert cache.is_file()
    assert cache.is_relative_to(tmp_path / "meshctl-cache")
    second = kclient.connect(kubeconfig=str(apiserver.kubeconfig_path))
    res = second.resource_for("apps/v1", "Deployment")
    assert res == kclient.Resource("apps", "v1", "Deployment", "deployments", True)
    assert second.requests == 0  # warm: no discovery request
    assert second.resource_for("apps/v1", "NoSuchKind") is None
    assert second.requests == 1  # a miss refreshes the group version once
    assert second.resource_for("nope.example/v1", "Thing") is None
    assert "apps" in second.served_groups()


def test_damaged_cache_is_ignored(apiserver: ApiServer) -> None:
    client = kclient.connect(kubeconfig=str(apiserver.kubeconfig_path))
    cache = discovery.cache_file(client.info.server, client.info.context)
    cache.parent.mkdir(parents=True)
    cache.write_text("{not json")
    assert client.resource_for("v1", "ConfigMap") is not None


# --- watches ---------------------------------------------------------------------------------------------------------


def _next_change(sink: queue.Queue[Any], name: str) -> Any:
    while True:
        item = sink.get(timeout=10)
        if isinstance(item, wait.Failed):
            raise item.error
        if item.key[1] == name:
            return item


def test_watcher_resumes_after_a_dropped_connection_and_relists_after_410(
    apiserver: ApiServer, kube: kclient.RestClient
) -> None:
    cm = kube.resource_for("v1", "ConfigMap")
    assert cm is not None
    sink: queue.Queue[Any] = queue.Queue()
    watcher = wait.Watcher(kube, cm, sink, namespace="default")
    watcher.start()
    try:
        kube.create(cm, {**CM, "metadata": {"name": "one", "namespace": "default"}})
        assert _next_change(sink, "one").obj is not None
        apiserver.down(0.2)  # drops the open watch
        apiserver.objects.wait_for("namespaces", "default")
        kube.create(cm, {**CM, "metadata": {"name": "two", "namespace": "default"}})
        assert _next_change(sink, "two").obj is not None
        assert watcher.relists == 1
        apiserver.restart(keep_state=True)  # every connection drops; the history is gone
        kube.create(cm, {**CM, "metadata": {"name": "three", "namespace": "default"}})
        assert _next_change(sink, "three").obj is not None
        kube.delete(cm, "three", "default")
        assert _next_change(sink, "three").obj is None
        assert watcher.resumes >= 2
    finally:
        watcher.stop()
        watcher.join(5)
    assert not watcher.is_alive()


class _GoneOnce:
    """A client whose first watch answers 410 Gone: the watcher must relist, reporting deletions it missed."""

    concurrency = 1

    def __init__(self) -> None:
        self.lists = 0
        self.watches = 0

    def list(self, res: Any, namespace: Any = None, **kw: Any) -> kclient.ObjectList:
        self.lists += 1
        items = [{"metadata": {"name": "a", "namespace": "default", "resourceVersion": "5"}}]
        if self.lists == 1:
            items.append({"metadata": {"name": "gone", "namespace": "default", "resourceVersion": "4"}})
        return kclient.ObjectList(items, str(self.lists * 10))

    def watch(self, res: Any, namespace: Any = None, **kw: Any) -> Any:
        self.watches += 1
        if self.watches == 1:
            raise kerrors.Gone("too old", code=410)
        return _Stream([kclient.WatchEvent("BOOKMARK", {"metadata": {"resourceVersion": "30"}})])


class _Stream:
    def __init__(self, events: list[kclient.WatchEvent]) -> None:
        self.events = events

    def __iter__(self) -> Any:
        return iter(self.events)

    def close(self) -> None:
        pass

    def __enter__(self) -> _Stream:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def test_watcher_relists_after_410_and_reports_what_disappeared() -> None:
    fake = _GoneOnce()
    sink: queue.Queue[Any] = queue.Queue()
    res = kclient.Resource("", "v1", "ConfigMap", "configmaps", True)
    watcher = wait.Watcher(fake, res, sink)  # type: ignore[arg-type]
    watcher.start()
    seen = [sink.get(timeout=5) for _ in range(4)]
    watcher.stop()
    watcher.join(5)
    assert [(c.key[1], c.obj is None) for c in seen] == [
        ("a", False),
        ("gone", False),
        ("gone", True),  # deleted while the watch was gone
        ("a", False),
    ]
    assert fake.lists == 2
    assert watcher.resumes >= 1


# --- logging and redaction -------------------------------------------------------------------------------------------


def test_trace_logging_never_shows_tokens_or_secret_data(
    apiserver: ApiServer, kube: kclient.RestClient, caplog: pytest.LogCaptureFixture
) -> None:
    secrets = kube.resource_for("v1", "Secret")
    assert secrets is not None
    with caplog.at_level(kclient.TRACE, logger="meshctl.kube"):
        kube.apply(
            secrets,
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "s", "namespace": "default"},
                "data": {"password": "c2VjcmV0LXZhbHVl"},
            },
        )
        kube.list(secrets, "default")
    text = caplog.text
    assert "request body:" in text
    assert "c2VjcmV0LXZhbHVl" not in text
    assert apiserver.token not in text
    assert redact.MASK in text


def test_redactor_masks_known_secrets_longest_first() -> None:
    redactor = redact.Redactor(["abcdef123456", "abcdef123456789", "short"])
    assert redactor.text("token abcdef123456789 and abcdef123456") == "token <redacted> and <redacted>"
    assert redactor.text("short stays") == "short stays"
    secret = {
        "kind": "Secret",
        "metadata": {"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "x"}},
        "data": {"a": "b"},
    }
    masked = redact.redact_object({"items": [secret]})
    assert masked["items"][0]["data"] == {"a": redact.MASK}
    assert (
        masked["items"][0]["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] == redact.MASK
    )
    assert redact.redact_object({"type": "ADDED", "object": secret})["object"]["data"] == {"a": redact.MASK}
    assert secret["data"] == {"a": "b"}  # the original is untouched


def test_public_api_is_pinned() -> None:
    assert set(kclient.__all__) == {
        "TRACE",
        "ClusterInfo",
        "KubeClient",
        "ObjectList",
        "Resource",
        "RestClient",
        "RetryPolicy",
        "Watch",
        "WatchEvent",
        "connect",
    }
    methods = {name for name in dir(kclient.KubeClient) if not name.startswith("_")}
    assert methods == {
        "apply",
        "close",
        "create",
        "delete",
        "get",
        "invalidate",
        "list",
        "replace",
        "resource_for",
        "served_groups",
        "server_version",
        "watch",
    }


def test_kubernetes_is_not_imported_by_using_the_package() -> None:
    import subprocess
    import sys

    code = "import sys, meshctl.kube.client, meshctl.ops.install; print('kubernetes' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )


def test_logging_helper_is_quiet_by_default(caplog: pytest.LogCaptureFixture) -> None:
    assert logging.getLevelName(kclient.TRACE) == "TRACE"
