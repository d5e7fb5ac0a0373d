"""The control plane's only ways out: HTTP CONNECT proxies on Unix sockets, configured as kube-apiserver's egress
selections (`--egress-selector-config-file`), that log every dial and let nothing leave 127.0.0.0/8.

- `cluster` (admission webhooks at Service cluster IPs, aggregated API servers, `pods/log`, `exec`, `proxy`): every
  CONNECT is refused (`403`) and logged, so a webhook configured for Istio's Service fails the way a cluster with an
  unreachable webhook does;
- `controlplane` (webhooks configured by URL): a CONNECT to a loopback address is tunnelled (a test may run a webhook
  server on 127.0.0.1), anything else refused and logged;
- `etcd`: direct, to etcd on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import pathlib
import select
import socket
import threading
import time

import yaml


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One dial through an egress selection: the `host:port` kube-apiserver asked for, and what became of it."""

    selection: str  # "cluster" or "controlplane"
    target: str
    allowed: bool
    at: float


def _loopback_target(target: str) -> bool:
    host = target.rsplit(":", 1)[0].strip("[]")
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: not resolved here, so not dialled


class _Listener:
    """One CONNECT proxy on a Unix socket."""

    def __init__(self, owner: EgressProxy, selection: str, path: pathlib.Path, tunnel_loopback: bool) -> None:
        self.owner = owner
        self.selection = selection
        self.path = path
        self.tunnel_loopback = tunnel_loopback
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(str(self.path))
        sock.listen(64)
        self._sock = sock
        self._thread = threading.Thread(target=self._accept, name=f"egress-{self.selection}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def _accept(self) -> None:
        while self._sock is not None:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), name="egress-conn", daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            head = b""
            with contextlib.suppress(OSError):
                while b"\r\n\r\n" not in head and len(head) < 65_536:
                    chunk = conn.recv(4096)
                    if not chunk:
                        break
                    head += chunk
            request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
            parts = request_line.split()
            target = parts[1] if len(parts) >= 2 and parts[0] == "CONNECT" else f"(not a CONNECT: {request_line!r})"
            allowed = self.tunnel_loopback and parts[:1] == ["CONNECT"] and _loopback_target(target)
            self.owner._record(Attempt(self.selection, target, allowed, time.time()))
            if allowed:
                self._tunnel(conn, target, head.split(b"\r\n\r\n", 1)[1])
            else:
                _refuse(conn, target)

    def _tunnel(self, conn: socket.socket, target: str, early: bytes) -> None:
        host, port = target.rsplit(":", 1)
        try:
            upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        except OSError as exc:
            _answer(conn, 502, f"cannot reach {target}: {exc}")
            return
        with upstream:
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if early:
                upstream.sendall(early)
            conn.settimeout(None)
            upstream.settimeout(None)
            _pump(conn, upstream)


def _pump(a: socket.socket, b: socket.socket) -> None:
    peers = {a: b, b: a}
    with contextlib.suppress(OSError):
        while True:
            readable, _, _ = select.select(list(peers), [], [], 300)
            if not readable:
                return
            for sock in readable:
                data = sock.recv(65_536)
                if not data:
                    return
                peers[sock].sendall(data)


def _answer(conn: socket.socket, status: int, text: str) -> None:
    reason = {403: "Forbidden", 502: "Bad Gateway"}[status]
    body = (text + "\n").encode()
    with contextlib.suppress(OSError):
        conn.sendall(
            f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nConnection: close\r\n"
            f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )


def _refuse(conn: socket.socket, target: str) -> None:
    _answer(conn, 403, f"the test cluster sends nothing beyond 127.0.0.0/8: refused {target}")


class EgressProxy:
    """The egress proxies of one cluster, their sockets in `directory`; `attempts` lists every dial."""

    def __init__(self, directory: pathlib.Path) -> None:
        self._lock = threading.Lock()
        self._attempts: list[Attempt] = []
        self.listeners = {
            "cluster": _Listener(self, "cluster", directory / "egress-cluster.sock", tunnel_loopback=False),
            "controlplane": _Listener(
                self, "controlplane", directory / "egress-controlplane.sock", tunnel_loopback=True
            ),
        }

    @property
    def attempts(self) -> list[Attempt]:
        with self._lock:
            return list(self._attempts)

    def refused(self) -> list[Attempt]:
        return [a for a in self.attempts if not a.allowed]

    def _record(self, attempt: Attempt) -> None:
        with self._lock:
            self._attempts.append(attempt)

    def start(self) -> EgressProxy:
        for listener in self.listeners.values():
            listener.start()
        return self

    def stop(self) -> None:
        for listener in self.listeners.values():
            listener.stop()

    def config(self) -> dict[str, object]:
        """The EgressSelectorConfiguration for kube-apiserver."""
        selections: list[dict[str, object]] = [
            {
                "name": name,
                "connection": {
                    "proxyProtocol": "HTTPConnect",
                    "transport": {"uds": {"udsName": str(listener.path)}},
                },
            }
            for name, listener in self.listeners.items()
        ]
        selections.append({"name": "etcd", "connection": {"proxyProtocol": "Direct"}})
        return {
            "apiVersion": "apiserver.k8s.io/v1beta1",
            "kind": "EgressSelectorConfiguration",
            "egressSelections": selections,
        }

    def write_config(self, path: pathlib.Path) -> pathlib.Path:
        path.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        return path
