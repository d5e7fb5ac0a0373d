"""The server as a whole: discovery, OpenAPI, TLS, the request log, state files and the command line."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import pytest
import yaml

from tests.apiserver.__main__ import parse_duration
from tests.apiserver.server import ApiServer
from tests.apiserver.testclient import CM, DEPLOY, Client, configmap, deployment


def test_discovery_documents(client: Client) -> None:
    version = client.get("/version").body
    assert (version["major"], version["minor"]) == ("1", "37")
    assert client.get("/api").body["versions"] == ["v1"]
    core = client.get("/api/v1").body
    assert core["kind"] == "APIResourceList"
    names = {r["name"]: r for r in core["resources"]}
    assert names["configmaps"]["namespaced"] is True
    assert names["namespaces"]["namespaced"] is False
    assert names["pods/status"]["verbs"] == ["get", "patch", "update"]
    assert "deletecollection" not in names["namespaces"]["verbs"]
    groups = {g["name"]: g for g in client.get("/apis").body["groups"]}
    assert groups["apps"]["preferredVersion"]["groupVersion"] == "apps/v1"
    assert client.get("/apis/apps").body["kind"] == "APIGroup"
    assert client.get("/apis/nothere").status == 404


def test_openapi_v3_declares_field_validation_for_patch(client: Client) -> None:
    root = client.get("/openapi/v3").body
    url = root["paths"]["apis/apps/v1"]["serverRelativeURL"]
    doc = client.get(url).body
    patch = doc["paths"]["/apis/apps/v1/namespaces/{namespace}/deployments/{name}"]["patch"]
    assert patch["x-kubernetes-group-version-kind"] == {"group": "apps", "version": "v1", "kind": "Deployment"}
    assert "fieldValidation" in [p["name"] for p in patch["parameters"]]
    schema = doc["components"]["schemas"]["io.k8s.api.apps.v1.DeploymentSpec"]
    assert schema["properties"]["template"]["$ref"] == "#/components/schemas/io.k8s.api.core.v1.PodTemplateSpec"
    assert client.get("/openapi/v2").status == 404


def test_https_only_with_the_ca(apiserver: ApiServer) -> None:
    import ssl
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.URLError, match="CERTIFICATE_VERIFY_FAILED"):
        urllib.request.urlopen(apiserver.url + "/version", context=ssl.create_default_context(), timeout=5).close()
    trusted = ssl.create_default_context(cafile=str(apiserver.ca_path))
    with pytest.raises(urllib.error.HTTPError) as info:  # TLS is fine; the token is missing
        urllib.request.urlopen(apiserver.url + "/version", context=trusted, timeout=5).close()
    info.value.close()
    assert info.value.code == 401


def test_plain_http_option(tmp_path: pathlib.Path) -> None:
    with ApiServer(tls=False, kubeconfig_path=tmp_path / "kc") as api, Client(api) as client:
        assert api.url.startswith("http://")
        assert client.get("/version").status == 200
        config = yaml.safe_load((tmp_path / "kc").read_text())
        assert "certificate-authority-data" not in config["clusters"][0]["cluster"]


def test_kubeconfig_written_with_context_test(apiserver: ApiServer) -> None:
    config = yaml.safe_load(apiserver.kubeconfig_path.read_text())
    assert config["current-context"] == "test"
    assert config["clusters"][0]["cluster"]["server"] == apiserver.url
    assert config["users"][0]["user"]["token"] == apiserver.token


def test_request_log_and_counters(apiserver: ApiServer, client: Client) -> None:
    apiserver.requests.clear()
    client.post(CM, configmap("a"))
    client.get(f"{CM}/a")
    client.get(CM)
    client.apply(f"{DEPLOY}/web", deployment("web"), extra="&dryRun=All")
    client.get(f"{CM}/missing")
    entries = apiserver.requests.entries
    assert [(e.method, e.verb, e.resource, e.status) for e in entries] == [
        ("POST", "create", "configmaps", 201),
        ("GET", "get", "configmaps", 200),
        ("GET", "list", "configmaps", 200),
        ("PATCH", "patch", "deployments", 201),
        ("GET", "get", "configmaps", 404),
    ]
    assert entries[3].content_type == "application/apply-patch+yaml"
    assert entries[3].dry_run
    assert not entries[3].is_write
    assert "fieldManager=test" in entries[3].query
    assert entries[0].namespace == "default"
    assert entries[1].name == "a"
    assert apiserver.requests.count(verb="get", resource="configmaps") == 2
    assert apiserver.requests.counters()[("create", "configmaps")] == 1
    assert [e.verb for e in apiserver.requests.writes()] == ["create"]
    assert all(e.latency >= 0 for e in entries)


def test_state_file_survives_a_new_server(tmp_path: pathlib.Path) -> None:
    state = tmp_path / "state.json"
    with ApiServer(state_file=state) as api:
        uid = api.objects.create(configmap("persisted"))["metadata"]["uid"]
    assert json.loads(state.read_text())["objects"]
    with ApiServer(state_file=state) as api:
        found = api.objects.get("configmaps", "persisted", "default")
        assert found is not None
        assert found["metadata"]["uid"] == uid


def test_parse_duration() -> None:
    assert parse_duration("10ms") == pytest.approx(0.01)
    assert parse_duration("1.5s") == 1.5
    assert parse_duration("2m") == 120
    assert parse_duration("3") == 3


def test_command_line_serves_until_sigterm(tmp_path: pathlib.Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.apiserver", "--port", "0", "--kubeconfig", str(kubeconfig), "--latency", "1ms"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=pathlib.Path(__file__).parents[2],
        env=dict(os.environ, PYTHONWARNINGS="error"),
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line.startswith("serving https://127.0.0.1:")
        config = yaml.safe_load(kubeconfig.read_text())
        env = dict(os.environ, KUBECONFIG=str(kubeconfig), KUBECACHEDIR=str(tmp_path / "cache"))
        result = subprocess.run(
            ["kubectl", "get", "ns", "-o", "name"], env=env, capture_output=True, text=True, timeout=60
        )
        assert result.returncode == 0, result.stderr
        assert "namespace/kube-system" in result.stdout
        assert config["current-context"] == "test"
    finally:
        process.send_signal(signal.SIGTERM)
        _out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "stopped" in err


def test_no_threads_left_after_stop(tmp_path: pathlib.Path) -> None:
    import threading

    before = set(threading.enumerate())
    with ApiServer(kubeconfig_path=tmp_path / "kc") as api, Client(api) as client:
        client.get(CM)
        api.down(0.05)
        deadline = time.monotonic() + 5
        while not api.is_up and time.monotonic() < deadline:
            time.sleep(0.01)
    assert set(threading.enumerate()) - before == set()
