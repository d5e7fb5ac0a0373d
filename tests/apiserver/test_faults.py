"""Each fault, as the real kubernetes Python client sees it."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator

import kubernetes.client
import kubernetes.config
import pytest
import urllib3

from tests.apiserver.server import ApiServer
from tests.apiserver.testclient import CM, Client, configmap


def _client(api: ApiServer, user: str | None = None, retries: bool = False) -> kubernetes.client.ApiClient:
    path = api.kubeconfig_path if user is None else api.write_kubeconfig(api.workdir / f"{user}.kubeconfig", user=user)
    configuration = kubernetes.client.Configuration()
    kubernetes.config.load_kube_config(config_file=str(path), client_configuration=configuration, persist_config=False)
    configuration.retries = retries  # see each fault as it happens, no urllib3 retries
    return kubernetes.client.ApiClient(configuration)


@pytest.fixture
def core(apiserver: ApiServer) -> Iterator[kubernetes.client.CoreV1Api]:
    with _client(apiserver) as client:
        yield kubernetes.client.CoreV1Api(client)


def test_latency_is_added_to_every_request(apiserver: ApiServer, core: kubernetes.client.CoreV1Api) -> None:
    core.list_namespace()
    apiserver.faults.set_latency(0.1)
    start = time.monotonic()
    core.list_namespace()
    assert time.monotonic() - start >= 0.1
    assert apiserver.requests.entries[-1].latency >= 0.1


def test_error_for_next_n_matching_requests(apiserver: ApiServer, core: kubernetes.client.CoreV1Api) -> None:
    apiserver.faults.add_error(503, count=2, verbs="create", resources="configmaps")
    core.list_namespaced_config_map("default")  # other verbs are not affected
    for _ in range(2):
        with pytest.raises(kubernetes.client.ApiException) as info:
            core.create_namespaced_config_map("default", configmap("a"))
        assert info.value.status == 503
        assert json.loads(info.value.body)["reason"] == "ServiceUnavailable"
    assert core.create_namespaced_config_map("default", configmap("a")).metadata.name == "a"


@pytest.mark.parametrize("status", [500, 503, 504, 409])
def test_error_statuses(apiserver: ApiServer, core: kubernetes.client.CoreV1Api, status: int) -> None:
    apiserver.faults.add_error(status, count=1)
    with pytest.raises(kubernetes.client.ApiException) as info:
        core.read_namespace("default")
    assert info.value.status == status
    assert json.loads(info.value.body)["code"] == status


def test_429_carries_retry_after(apiserver: ApiServer, core: kubernetes.client.CoreV1Api) -> None:
    apiserver.faults.add_error(429, count=1, retry_after=2)
    with pytest.raises(kubernetes.client.ApiException) as info:
        core.read_namespace("default")
    assert info.value.status == 429
    assert info.value.headers["Retry-After"] == "2"
    assert json.loads(info.value.body)["details"]["retryAfterSeconds"] == 2


def test_error_share_is_seeded_and_partial(apiserver: ApiServer) -> None:
    apiserver.faults.add_error(500, share=0.2)
    with Client(apiserver) as client:
        statuses = [client.get("/api/v1/namespaces/default").status for _ in range(200)]
    failures = statuses.count(500)
    assert 15 <= failures <= 65
    assert set(statuses) == {200, 500}


def test_connection_closed_mid_response_after_the_write(
    apiserver: ApiServer, core: kubernetes.client.CoreV1Api
) -> None:
    apiserver.faults.close_connections(count=1, verbs="create")
    with pytest.raises(urllib3.exceptions.HTTPError):
        core.create_namespaced_config_map("default", configmap("a"))
    # the write happened although the client saw no answer: a retry gets AlreadyExists
    assert apiserver.objects.get("configmaps", "a", "default") is not None
    with pytest.raises(kubernetes.client.ApiException) as info:
        core.create_namespaced_config_map("default", configmap("a"))
    assert info.value.status == 409


def test_hang_until_client_gives_up(apiserver: ApiServer, core: kubernetes.client.CoreV1Api) -> None:
    apiserver.faults.hang(count=1, verbs="get", resources="namespaces")
    start = time.monotonic()
    with pytest.raises(urllib3.exceptions.ReadTimeoutError):
        core.read_namespace("default", _request_timeout=0.3)
    assert time.monotonic() - start >= 0.3
    assert core.read_namespace("default").metadata.name == "default"


def test_released_hang_is_answered(apiserver: ApiServer) -> None:
    apiserver.faults.hang(verbs="list")
    with Client(apiserver) as client:
        client.conn.request("GET", CM, headers={"Authorization": f"Bearer {apiserver.token}"})
        assert client.conn.sock is not None
        client.conn.sock.settimeout(0.2)
        with pytest.raises(TimeoutError):
            client.conn.getresponse()
    apiserver.faults.release()
    with Client(apiserver) as client:
        assert client.get(CM).status == 200


def test_api_server_down_refuses_connections(apiserver: ApiServer, core: kubernetes.client.CoreV1Api) -> None:
    core.list_namespace()
    apiserver.down()
    with pytest.raises(urllib3.exceptions.NewConnectionError):
        core.list_namespace()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection((apiserver.host, apiserver.port), timeout=1).close()
    apiserver.up()
    assert len(core.list_namespace().items) == 4


def test_api_server_down_for_a_period(apiserver: ApiServer) -> None:
    apiserver.down(0.3)
    assert not apiserver.is_up
    deadline = time.monotonic() + 10
    while not apiserver.is_up:
        assert time.monotonic() < deadline
        time.sleep(0.02)  # polling a state with a deadline
    with Client(apiserver) as client:
        assert client.get(CM).status == 200


def test_restart_keeping_state(apiserver: ApiServer, core: kubernetes.client.CoreV1Api) -> None:
    created = core.create_namespaced_config_map("default", configmap("kept"))
    apiserver.restart(keep_state=True)
    again = core.read_namespaced_config_map("kept", "default")
    assert again.metadata.uid == created.metadata.uid
    assert again.metadata.resource_version == created.metadata.resource_version
    later = core.create_namespaced_config_map("default", configmap("later"))
    assert int(later.metadata.resource_version) > int(created.metadata.resource_version)


def test_restart_losing_state(apiserver: ApiServer, core: kubernetes.client.CoreV1Api) -> None:
    core.create_namespaced_config_map("default", configmap("lost"))
    apiserver.restart(keep_state=False)
    with pytest.raises(kubernetes.client.ApiException) as info:
        core.read_namespaced_config_map("lost", "default")
    assert info.value.status == 404
    assert [n.metadata.name for n in core.list_namespace().items] == [
        "default",
        "kube-node-lease",
        "kube-public",
        "kube-system",
    ]


def test_forbidden_user_gets_403(apiserver: ApiServer) -> None:
    apiserver.add_user("installer")
    apiserver.faults.forbid("installer", verbs=["create", "patch"], resources="secrets")
    with _client(apiserver, user="installer") as client:
        core = kubernetes.client.CoreV1Api(client)
        core.create_namespaced_config_map("default", configmap("allowed"))
        with pytest.raises(kubernetes.client.ApiException) as info:
            core.create_namespaced_secret("default", {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}})
    assert info.value.status == 403
    body = json.loads(info.value.body)
    assert body["reason"] == "Forbidden"
    assert body["message"] == (
        'secrets is forbidden: User "installer" cannot create resource "secrets" in API group "" '
        'in the namespace "default"'
    )


def test_missing_or_wrong_token_is_401(apiserver: ApiServer) -> None:
    with Client(apiserver, token="") as anonymous, Client(apiserver, token="wrong") as wrong:
        assert anonymous.get(CM).status == 401
        assert wrong.get(CM).body["reason"] == "Unauthorized"


def test_faults_through_admin_endpoint(apiserver: ApiServer) -> None:
    with Client(apiserver) as client:
        spec = {"errors": [{"status": 500, "count": 1, "verbs": ["list"]}]}
        assert client.request("POST", "/admin/faults", spec).status == 200
        assert client.get(CM).status == 500
        assert client.get(CM).status == 200
        log = client.get("/admin/requests").body
        assert [e["status"] for e in log if e["verb"] == "list"] == [500, 200]
