"""A small threaded HTTP/1.1 server built for throughput with keep-alive clients.

Why not `http.server`: it writes headers and body in separate sends, which with Nagle's algorithm and delayed ACKs
costs tens of milliseconds per response. Here each response goes out in one `sendall`, TCP_NODELAY is set, and the
request parsing is the minimum HTTP/1.1 needs. One thread per connection (watches and hanging requests block their
thread, nothing else); the listening socket can be closed and reopened on the same port ("API server down").
"""

from __future__ import annotations

import contextlib
import dataclasses
import selectors
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from email.utils import formatdate

MAX_LINE = 65_536
MAX_HEADERS = 200
MAX_BODY = 3 * 1024 * 1024 + 65_536

_REASONS = {
    100: "Continue",
    200: "OK",
    201: "Created",
    202: "Accepted",
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    409: "Conflict",
    410: "Gone",
    413: "Request Entity Too Large",
    415: "Unsupported Media Type",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclasses.dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    sock: socket.socket


@dataclasses.dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str | None = "application/json"  # None: no Content-Type header (a relayed 304 has none)
    headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    stream: Iterator[bytes] | None = None
    close_midway: bool = False  # fault: send half of the body, then drop the connection


Handler = Callable[[Request], Response]


class _Closed(Exception):
    pass


class HttpServer:
    def __init__(self, handler: Handler, host: str, port: int, ssl_context: ssl.SSLContext | None) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.ssl_context = ssl_context
        self.stopping = threading.Event()
        self._listener: socket.socket | None = None
        self._accept_thread: threading.Thread | None = None
        self._wake_r, self._wake_w = socket.socketpair()
        self._lock = threading.Lock()
        self._connections: dict[threading.Thread, socket.socket] = {}

    # --- lifecycle -----------------------------------------------------------------------------------------------

    def listen(self) -> None:
        """Bind (the same port again after `close_listener`) and start accepting connections."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(256)
        self.port = sock.getsockname()[1]
        self._listener = sock
        self.stopping.clear()
        self._accept_thread = threading.Thread(
            target=self._accept_loop, args=(sock,), name="apiserver-accept", daemon=True
        )
        self._accept_thread.start()

    def close_listener(self) -> None:
        """Stop accepting (new connections are refused) and drop every open connection."""
        listener, self._listener = self._listener, None
        if listener is not None:
            self._wake_w.send(b"x")
            if self._accept_thread is not None:
                self._accept_thread.join(timeout=10)
                self._accept_thread = None
            listener.close()
            try:
                while self._wake_r.recv(1024, socket.MSG_DONTWAIT):
                    pass
            except BlockingIOError:
                pass
        self.stopping.set()
        self.drop_connections()

    def drop_connections(self) -> None:
        with self._lock:
            items = list(self._connections.items())
        for _, sock in items:
            with contextlib.suppress(OSError):
                socket.socket.shutdown(sock, socket.SHUT_RDWR)
        for thread, _ in items:
            thread.join(timeout=10)

    def shutdown(self) -> None:
        self.close_listener()
        self._wake_r.close()
        self._wake_w.close()

    # --- connections ---------------------------------------------------------------------------------------------

    def _accept_loop(self, listener: socket.socket) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(listener, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while True:
                for key, _ in selector.select():
                    if key.fileobj is self._wake_r:
                        return
                    try:
                        conn, _ = listener.accept()
                    except OSError:
                        continue
                    thread = threading.Thread(target=self._serve, args=(conn,), name="apiserver-conn", daemon=True)
                    with self._lock:
                        self._connections[thread] = conn
                    thread.start()

    def _serve(self, conn: socket.socket) -> None:
        sock: socket.socket = conn
        me = threading.current_thread()
        try:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.ssl_context is not None:
                conn.settimeout(10)
                sock = self.ssl_context.wrap_socket(conn, server_side=True)
                sock.settimeout(None)
                with self._lock:
                    self._connections[me] = sock
            with sock.makefile("rb", buffering=65_536) as rfile:
                while not self.stopping.is_set():
                    request = self._read_request(rfile, sock)
                    if request is None:
                        return
                    if not self._respond(sock, request):
                        return
        except (OSError, ssl.SSLError, ValueError, _Closed):
            return
        finally:
            with self._lock:
                self._connections.pop(me, None)
            with contextlib.suppress(OSError):
                sock.close()

    def _read_request(self, rfile: object, sock: socket.socket) -> Request | None:
        readline = rfile.readline  # type: ignore[attr-defined]
        line = readline(MAX_LINE)
        while line in (b"\r\n", b"\n"):
            line = readline(MAX_LINE)
        if not line:
            return None
        try:
            method, target, version = line.decode("latin-1").split()
        except ValueError:
            sock.sendall(_simple(400, b"malformed request line"))
            return None
        headers: dict[str, str] = {}
        for _ in range(MAX_HEADERS):
            raw = readline(MAX_LINE)
            if raw in (b"\r\n", b"\n", b""):
                break
            name, _, value = raw.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if version == "HTTP/1.0" and headers.get("connection", "").lower() != "keep-alive":
            headers["connection"] = "close"
        if headers.get("expect", "").lower() == "100-continue":
            sock.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
        body = b""
        if "chunked" in headers.get("transfer-encoding", "").lower():
            parts = []
            total = 0
            while True:
                size = int(readline(MAX_LINE).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while readline(MAX_LINE) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                total += size
                if total > MAX_BODY:
                    raise _Closed
                parts.append(rfile.read(size))  # type: ignore[attr-defined]
                readline(MAX_LINE)
            body = b"".join(parts)
        elif headers.get("content-length"):
            length = int(headers["content-length"])
            if length > MAX_BODY:
                sock.sendall(_simple(413, b"request body too large"))
                return None
            body = rfile.read(length)  # type: ignore[attr-defined]
            if len(body) < length:
                return None
        return Request(method, target, headers, body, sock)

    def _respond(self, sock: socket.socket, request: Request) -> bool:
        response = self.handler(request)
        keep_alive = request.headers.get("connection", "").lower() != "close"
        head = [f"HTTP/1.1 {response.status} {_REASONS.get(response.status, 'Unknown')}"]
        if response.content_type is not None:
            head.append(f"Content-Type: {response.content_type}")
        head.append(f"Date: {formatdate(usegmt=True)}")
        head.extend(f"{name}: {value}" for name, value in response.headers)
        if response.stream is not None:
            head.append("Transfer-Encoding: chunked")
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1"))
            try:
                for chunk in response.stream:
                    if chunk:
                        sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            finally:
                close = getattr(response.stream, "close", None)
                if close is not None:
                    close()
            sock.sendall(b"0\r\n\r\n")
            return keep_alive and not self.stopping.is_set()
        head.append(f"Content-Length: {len(response.body)}")
        if not keep_alive:
            head.append("Connection: close")
        payload = ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.body
        if response.close_midway:
            sock.sendall(payload[: len(payload) - max(1, len(response.body) // 2)])
            raise _Closed
        sock.sendall(payload)
        return keep_alive


def _simple(status: int, text: bytes) -> bytes:
    reason = _REASONS.get(status, "Error")
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain\r\nContent-Length: {len(text)}\r\n"
        "Connection: close\r\n\r\n"
    ).encode() + text
