"""List (selectors, paging) and watch (events, resume, 410, timeouts, bookmarks, history)."""

from __future__ import annotations

import http.client
import json
import ssl
import urllib.parse
from collections.abc import Iterator
from typing import Any

import pytest

from tests.apiserver import selectors
from tests.apiserver.server import ApiServer
from tests.apiserver.testclient import CM, Client, configmap


def _names(reply_body: dict[str, Any]) -> list[str]:
    return [o["metadata"]["name"] for o in reply_body["items"] if o["metadata"]["name"] != "kube-root-ca.crt"]


def _seed(client: Client) -> None:
    labels = [
        {"app": "a", "tier": "web"},
        {"app": "b", "tier": "db"},
        {"app": "c"},
        {"app": "a", "tier": "db", "version": "3"},
    ]
    for i, label in enumerate(labels):
        client.post(CM, configmap(f"cm{i}", labels=label))


@pytest.mark.parametrize(
    ("selector", "expected"),
    [
        ("app=a", ["cm0", "cm3"]),
        ("app==a", ["cm0", "cm3"]),
        ("app!=a", ["cm1", "cm2", "kube-root-ca.crt"]),
        ("app in (a,b)", ["cm0", "cm1", "cm3"]),
        ("app notin (a, b)", ["cm2", "kube-root-ca.crt"]),
        ("tier", ["cm0", "cm1", "cm3"]),
        ("!tier", ["cm2", "kube-root-ca.crt"]),
        ("app=a,tier=db", ["cm3"]),
        ("version>2", ["cm3"]),
        ("version<3", []),
    ],
)
def test_label_selectors(client: Client, selector: str, expected: list[str]) -> None:
    _seed(client)
    reply = client.get(f"{CM}?labelSelector={urllib.parse.quote(selector)}")
    assert reply.status == 200
    assert [o["metadata"]["name"] for o in reply.body["items"]] == expected


def test_bad_label_selector_is_400(client: Client) -> None:
    assert client.get(f"{CM}?labelSelector={urllib.parse.quote('a in ()')}").status == 400
    assert client.get(f"{CM}?labelSelector={urllib.parse.quote('=x')}").status == 400


def test_field_selectors(client: Client) -> None:
    _seed(client)
    assert _names(client.get(f"{CM}?fieldSelector=metadata.name%3Dcm1").body) == ["cm1"]
    assert _names(client.get(f"{CM}?fieldSelector=metadata.name!%3Dcm1").body) == ["cm0", "cm2", "cm3"]
    all_ns = client.get("/api/v1/configmaps?fieldSelector=metadata.namespace%3Dkube-system").body
    assert {o["metadata"]["namespace"] for o in all_ns["items"]} == {"kube-system"}
    assert client.get(f"{CM}?fieldSelector=spec.foo%3Dx").status == 400


def test_list_metadata_and_kind(client: Client) -> None:
    _seed(client)
    reply = client.get(CM).body
    assert reply["kind"] == "ConfigMapList"
    assert reply["apiVersion"] == "v1"
    assert int(reply["metadata"]["resourceVersion"]) > 0
    assert "continue" not in reply["metadata"]


def test_paging_with_limit_and_continue(client: Client) -> None:
    for i in range(7):
        client.post(CM, configmap(f"p{i}"))
    seen: list[str] = []
    token = ""
    pages = 0
    while True:
        query = "?limit=3" + (f"&continue={token}" if token else "")
        reply = client.get(CM + query).body
        pages += 1
        seen += [o["metadata"]["name"] for o in reply["items"]]
        token = reply["metadata"].get("continue", "")
        if not token:
            break
        assert reply["metadata"]["remainingItemCount"] == 8 - len(seen)
    assert pages == 3
    assert seen == ["kube-root-ca.crt"] + [f"p{i}" for i in range(7)] or sorted(seen) == seen
    assert len(seen) == 8


def test_invalid_continue_is_400(client: Client) -> None:
    assert client.get(f"{CM}?limit=1&continue=garbage").status == 400


def test_all_namespaces_list(client: Client) -> None:
    client.post("/api/v1/namespaces", {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "n2"}})
    client.post("/api/v1/namespaces/n2/configmaps", configmap("x", namespace="n2"))
    client.post(CM, configmap("y"))
    items = client.get("/api/v1/configmaps").body["items"]
    pairs = [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in items]
    assert ("n2", "x") in pairs
    assert ("default", "y") in pairs
    assert pairs == sorted(pairs)


class _Watch:
    """A raw watch connection reading newline-delimited JSON events."""

    def __init__(self, api: ApiServer, path: str) -> None:
        context = ssl.create_default_context(cafile=str(api.ca_path))
        self.conn = http.client.HTTPSConnection(api.host, api.port, context=context, timeout=10)
        self.conn.request("GET", path, headers={"Authorization": f"Bearer {api.token}"})
        self.response = self.conn.getresponse()
        assert self.response.status == 200

    def next(self) -> dict[str, Any]:
        line = self.response.readline()
        assert line, "watch ended"
        return dict(json.loads(line))

    def rest(self) -> list[dict[str, Any]]:
        """Events until the server ends the stream (timeoutSeconds)."""
        return [json.loads(line) for line in self.response if line.strip()]

    def close(self) -> None:
        self.response.close()
        self.conn.close()


@pytest.fixture
def watcher(apiserver: ApiServer) -> Iterator[Any]:
    opened: list[_Watch] = []

    def open_watch(path: str) -> _Watch:
        w = _Watch(apiserver, path)
        opened.append(w)
        return w

    yield open_watch
    for w in opened:
        w.close()


def test_watch_added_modified_deleted(client: Client, watcher: Any) -> None:
    start = client.get(CM).rv
    w = watcher(f"{CM}?watch=1&resourceVersion={start}")
    created = client.post(CM, configmap("a")).body
    client.patch(f"{CM}/a", {"data": {"k": "2"}})
    client.delete(f"{CM}/a")
    events = [w.next() for _ in range(3)]
    assert [e["type"] for e in events] == ["ADDED", "MODIFIED", "DELETED"]
    assert events[0]["object"]["metadata"]["uid"] == created["metadata"]["uid"]
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in events]
    assert rvs == sorted(rvs)
    assert len(set(rvs)) == 3


def test_watch_without_resource_version_starts_with_current_objects(client: Client, watcher: Any) -> None:
    client.post(CM, configmap("a"))
    w = watcher(f"{CM}?watch=true&fieldSelector=metadata.name%3Da")
    first = w.next()
    assert first["type"] == "ADDED"
    assert first["object"]["metadata"]["name"] == "a"


def test_watch_resumes_from_resource_version(client: Client, watcher: Any) -> None:
    a = client.post(CM, configmap("a")).body
    client.post(CM, configmap("b"))
    client.post(CM, configmap("c"))
    w = watcher(f"{CM}?watch=1&resourceVersion={a['metadata']['resourceVersion']}")
    assert [w.next()["object"]["metadata"]["name"] for _ in range(2)] == ["b", "c"]


def test_watch_label_selector_transitions(client: Client, watcher: Any) -> None:
    start = client.get(CM).rv
    w = watcher(f"{CM}?watch=1&labelSelector=app%3Dx&resourceVersion={start}")
    client.post(CM, configmap("a", labels={"app": "y"}))
    client.patch(f"{CM}/a", {"metadata": {"labels": {"app": "x"}}})
    client.patch(f"{CM}/a", {"metadata": {"labels": {"app": "z"}}})
    assert [w.next()["type"] for _ in range(2)] == ["ADDED", "DELETED"]


def test_watch_too_old_resource_version_is_410(apiserver: ApiServer, client: Client, watcher: Any) -> None:
    apiserver.cluster.store.events = type(apiserver.cluster.store.events)(maxlen=5)
    old = client.post(CM, configmap("old")).rv
    for i in range(10):
        client.post(CM, configmap(f"n{i}"))
    w = watcher(f"{CM}?watch=1&resourceVersion={old}")
    event = w.next()
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410
    assert event["object"]["reason"] == "Expired"


def test_history_keeps_at_least_1000_events(apiserver: ApiServer, client: Client, watcher: Any) -> None:
    start = client.get(CM).rv
    for i in range(1100):
        apiserver.objects.put(configmap(f"h{i}"))
    w = watcher(f"{CM}?watch=1&resourceVersion={start}")
    first = w.next()
    assert first["type"] == "ADDED"
    assert first["object"]["metadata"]["name"] == "h0"


def test_watch_timeout_seconds_ends_stream(client: Client, watcher: Any) -> None:
    start = client.get(CM).rv
    w = watcher(f"{CM}?watch=1&timeoutSeconds=1&resourceVersion={start}")
    assert w.rest() == []


def test_watch_bookmarks(client: Client, watcher: Any) -> None:
    start = client.get(CM).rv
    w = watcher(f"{CM}?watch=1&allowWatchBookmarks=true&resourceVersion={start}")
    event = w.next()
    assert event["type"] == "BOOKMARK"
    assert int(event["object"]["metadata"]["resourceVersion"]) >= int(start)


def test_watch_send_initial_events_ends_with_marked_bookmark(client: Client, watcher: Any) -> None:
    client.post(CM, configmap("a"))
    w = watcher(f"{CM}?watch=1&sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan")
    events = []
    while True:
        event = w.next()
        events.append(event)
        if event["type"] == "BOOKMARK":
            break
    assert {e["object"]["metadata"]["name"] for e in events[:-1]} == {"a", "kube-root-ca.crt"}
    assert events[-1]["object"]["metadata"]["annotations"] == {"k8s.io/initial-events-end": "true"}


def test_selector_parser_unit() -> None:
    reqs = selectors.parse_labels("a=1, b in (x, y), !c, d notin (z), e")
    assert selectors.matches(reqs, {"a": "1", "b": "x", "e": ""})
    assert not selectors.matches(reqs, {"a": "1", "b": "x", "c": "1", "e": ""})
    assert not selectors.matches(reqs, {"a": "1", "b": "q", "e": ""})
