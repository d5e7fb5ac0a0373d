"""Running one scenario on one server, normalising what it answers, and comparing the two transcripts.

A scenario is a function of a `Run`: it sends requests (`run.req`, `run.watch`, `run.kubectl`) and every answer it
records becomes one entry of the run's transcript. The two transcripts (test API server, kube-apiserver) are
normalised (uids, timestamps, resourceVersions, managedFields times, generated names and IPs, ages, continue
tokens) and compared; `diff` lists every differing JSON path with both values.
"""

from __future__ import annotations

import dataclasses
import http.client
import json
import os
import pathlib
import re
import ssl
import subprocess
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from tests.apiserver import testclient

KUBECTL = "kubectl"

_UID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")
_AGE = re.compile(r"^(\d+[smhd])+$|^<unknown>$|^<invalid>$")
_AGE_COLUMN = re.compile(r"(?<=  )(\d+[smhd])+(?=  |$)")
_IP = re.compile(r"^10\.96\.\d+\.\d+$|^10\.0\.\d+\.\d+$")
_VOLATILE = {"uid", "creationTimestamp", "resourceVersion", "deletionTimestamp", "time", "continue", "selfLink"}


@dataclasses.dataclass
class Server:
    """One side: where to connect and how to authenticate."""

    name: str  # "apiserver" or "real"
    host: str
    port: int
    context: ssl.SSLContext
    token: str | None
    write_kubeconfig: Callable[[pathlib.Path, str], pathlib.Path]  # (path, namespace) -> path

    def connect(self, timeout: float = 15.0) -> http.client.HTTPSConnection:
        return http.client.HTTPSConnection(self.host, self.port, context=self.context, timeout=timeout)


@dataclasses.dataclass
class Reply:
    status: int
    body: Any


class Run:
    """One scenario on one server, in its own namespace `ns` (same name on both sides)."""

    def __init__(self, server: Server, ns: str, tmp: pathlib.Path) -> None:
        self.server, self.ns, self.tmp = server, ns, tmp
        self.transcript: list[Any] = []
        self._conn = server.connect()
        self._kubeconfig: pathlib.Path | None = None

    def close(self) -> None:
        self._conn.close()

    def record(self, label: str, value: Any) -> None:
        self.transcript.append({"step": label, "result": value})

    def req(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        query: dict[str, str] | None = None,
        content_type: str = "application/json",
        accept: str = "application/json",
        record: str | None = "",
    ) -> Reply:
        """Send one request; record its status and body (under `record`, default "METHOD path") unless None."""
        path = path.replace("{ns}", self.ns)
        full = f"{path}?{urllib.parse.urlencode(query)}" if query else path
        data = testclient.encode_body(body)
        headers = {"Accept": accept}
        if data is not None:
            headers["Content-Type"] = content_type
        if self.server.token:
            headers["Authorization"] = f"Bearer {self.server.token}"
        for attempt in range(2):
            try:
                self._conn.request(method, full, body=data, headers=headers)
                response = self._conn.getresponse()
                raw = response.read()
                break
            except (OSError, http.client.HTTPException):
                self._conn.close()
                self._conn = self.server.connect()
                if attempt:
                    raise
        try:
            parsed: Any = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        reply = Reply(response.status, parsed)
        if record is not None:
            self.record(record or f"{method} {path.replace(self.ns, '{ns}')}", {"status": reply.status, "body": parsed})
        return reply

    def wait(self, check: Callable[[], Any], what: str, timeout: float = 30.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.server.name}: timed out waiting for {what}")
            time.sleep(0.05)

    def gone(self, path: str, timeout: float = 30.0) -> None:
        self.wait(lambda: self.req("GET", path, record=None).status == 404, f"{path} to be gone", timeout)

    def watch(
        self, path: str, query: dict[str, str], *, events: int, timeout: float = 10.0, record: str = "watch"
    ) -> list[dict[str, Any]]:
        """Open a watch, read until `events` events arrived (or the server ended the stream), record them."""
        path = path.replace("{ns}", self.ns)
        conn = self.server.connect(timeout=timeout)
        headers = {"Accept": "application/json"}
        if self.server.token:
            headers["Authorization"] = f"Bearer {self.server.token}"
        got: list[dict[str, Any]] = []
        try:
            conn.request("GET", f"{path}?{urllib.parse.urlencode({**query, 'watch': 'true'})}", headers=headers)
            response = conn.getresponse()
            deadline = time.monotonic() + timeout
            if response.status != 200:
                self.record(record, {"status": response.status, "body": json.loads(response.read() or b"null")})
                return []
            while len(got) < events and time.monotonic() < deadline:
                try:
                    line = response.readline()
                except TimeoutError:
                    break
                if not line:
                    break
                if line.strip():
                    got.append(json.loads(line))
        finally:
            conn.close()
        self.record(record, {"status": 200, "events": got})
        return got

    # --- kubectl -------------------------------------------------------------------------------------------------

    def kubeconfig(self) -> pathlib.Path:
        if self._kubeconfig is None:
            self._kubeconfig = self.server.write_kubeconfig(self.tmp / f"{self.server.name}.kubeconfig", self.ns)
        return self._kubeconfig

    def _env(self) -> dict[str, str]:
        home = self.tmp / f"home-{self.server.name}"
        home.mkdir(exist_ok=True)
        return dict(os.environ, KUBECONFIG=str(self.kubeconfig()), KUBECACHEDIR=str(home / "cache"), HOME=str(home))

    def kubectl(
        self, *args: str, stdin: str | None = None, record: str | None = ""
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [KUBECTL, *args], env=self._env(), input=stdin, capture_output=True, text=True, timeout=60
        )
        if record is not None:
            out = {"rc": result.returncode, "stdout": result.stdout, "stderr": result.stderr}
            self.record(record or f"kubectl {' '.join(args)}", out)
        return result

    def kubectl_lines(self, *args: str, lines: int, timeout: float = 15.0, record: str = "") -> list[str]:
        """A kubectl that runs until stopped (`get -w`): read `lines` lines of its output, then stop it."""
        process = subprocess.Popen(
            [KUBECTL, *args], env=self._env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        got: list[str] = []
        try:
            assert process.stdout is not None
            deadline = time.monotonic() + timeout
            os.set_blocking(process.stdout.fileno(), True)
            while len(got) < lines and time.monotonic() < deadline:
                line = process.stdout.readline()
                if not line:
                    break
                got.append(line.rstrip("\n"))
        finally:
            process.terminate()
            process.wait(10)
            stderr = process.stderr.read() if process.stderr else ""
            for stream in (process.stdout, process.stderr):
                if stream:
                    stream.close()
        self.record(record or f"kubectl {' '.join(args)}", {"stdout": got, "stderr": stderr})
        return got


# --- normalisation and comparison ------------------------------------------------------------------------------


def normalise(value: Any, ns: str, key: str = "") -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            if k in _VOLATILE and isinstance(v, str | int) and v != "":
                out[k] = f"<{k}>"
            elif k in ("clusterIP", "clusterIPs") and v not in ("None", ["None"]):
                out[k] = "<ip>"
            elif k == "generateName" or (k == "name" and isinstance(v, str) and v.startswith("gen-")):
                out[k] = re.sub(r"^(gen-[a-z-]*?)[a-z0-9]{5}$", r"\1<rand>", v) if k == "name" else v
            else:
                out[k] = normalise(v, ns, k)
        return out
    if isinstance(value, list):
        return [normalise(v, ns, key) for v in value]
    if isinstance(value, str):
        value = _UID.sub("<uid>", value)
        value = _TIME.sub("<time>", value)
        value = re.sub(r"\bgen-([a-z-]*?)[a-z0-9]{5}\b", r"gen-\1<rand>", value)
        # 410 Expired names the oldest resourceVersion still served, which depends on the server's history.
        value = re.sub(r"^(too old resource version: \d+) \(\d+\)$", r"\1 (<oldest>)", value)
        if _AGE.match(value) or _IP.match(value):
            return "<age>" if _AGE.match(value) else "<ip>"
        # A table row printed by kubectl (`a      0      1s`): its AGE column depends on when the row was printed.
        return _AGE_COLUMN.sub("<age>", value) if "  " in value else value
    return value


def diff(left: Any, right: Any, path: str = "") -> dict[str, tuple[Any, Any]]:
    """Every JSON path where `left` and `right` differ, with both values ('<absent>' when missing)."""
    if isinstance(left, dict) and isinstance(right, dict):
        out: dict[str, tuple[Any, Any]] = {}
        for k in sorted(set(left) | set(right)):
            out.update(diff(left.get(k, "<absent>"), right.get(k, "<absent>"), f"{path}.{k}"))
        return out
    if isinstance(left, list) and isinstance(right, list) and len(left) == len(right):
        out = {}
        for i, (a, b) in enumerate(zip(left, right, strict=True)):
            out.update(diff(a, b, f"{path}[{i}]"))
        return out
    return {} if left == right else {path or ".": (left, right)}
