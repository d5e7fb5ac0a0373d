"""The control plane's only way out: an HTTP CONNECT proxy on a Unix socket that refuses every tunnel and logs it.

kube-apiserver reaches the "cluster" network (admission webhooks at Service cluster IPs, aggregated API servers,
`pods/log`, `exec`, `proxy`) through the egress selector named `cluster`; `--egress-selector-config-file` points it
here. Every CONNECT is answered `403` and recorded, so a webhook configured for Istio's Service fails the way a
cluster with an unreachable webhook does, and no packet leaves 127.0.0.0/8.
"""

from __future__ import annotations

import contextlib
import dataclasses
import pathlib
import socket
import threading
import time

import yaml


@dataclasses.dataclass(frozen=True)
class Attempt:
    """One refused dial: the `host:port` kube-apiserver asked for, and when."""

    target: str
    at: float


class EgressProxy:
    """Listens on `socket_path`; `attempts` lists every refused CONNECT."""

    def __init__(self, socket_path: pathlib.Path) -> None:
        self.socket_path = socket_path
        self._lock = threading.Lock()
        self._attempts: list[Attempt] = []
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None

    @property
    def attempts(self) -> list[Attempt]:
        with self._lock:
            return list(self._attempts)

    def start(self) -> EgressProxy:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        listener.bind(str(self.socket_path))
        listener.listen(64)
        self._listener = listener
        self._thread = threading.Thread(target=self._accept, name="egress-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()

    def config(self) -> dict[str, object]:
        """The EgressSelectorConfiguration: `cluster` through this proxy; etcd and the control plane direct (both
        are on 127.0.0.1)."""
        return {
            "apiVersion": "apiserver.k8s.io/v1beta1",
            "kind": "EgressSelectorConfiguration",
            "egressSelections": [
                {
                    "name": "cluster",
                    "connection": {
                        "proxyProtocol": "HTTPConnect",
                        "transport": {"uds": {"udsName": str(self.socket_path)}},
                    },
                },
                {"name": "controlplane", "connection": {"proxyProtocol": "Direct"}},
                {"name": "etcd", "connection": {"proxyProtocol": "Direct"}},
            ],
        }

    def write_config(self, path: pathlib.Path) -> pathlib.Path:
        path.write_text(yaml.safe_dump(self.config(), sort_keys=False))
        return path

    def _accept(self) -> None:
        while self._listener is not None:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._refuse, args=(conn,), name="egress-refuse", daemon=True).start()

    def _refuse(self, conn: socket.socket) -> None:
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
            with self._lock:
                self._attempts.append(Attempt(target, time.time()))
            body = f"the test cluster sends nothing beyond 127.0.0.0/8: refused {target}\n".encode()
            with contextlib.suppress(OSError):
                conn.sendall(
                    b"HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nConnection: close\r\n"
                    + f"Content-Length: {len(body)}\r\n\r\n".encode()
                    + body
                )
