"""A fault-injecting HTTPS proxy in front of the real kube-apiserver, with the fault controls and the request log of
the test API server (`tests/apiserver/faults.py`, `requestlog.py`, reused as they are).

Clients authenticate to the proxy with bearer tokens (`add_user`); the proxy talks to kube-apiserver with its own
client certificate (in system:masters) and, for every user but the admin, impersonates the user
(`Impersonate-User`), so kube-apiserver's RBAC decides what each user may do and its 403s are real. Injected faults
are decided before the request goes upstream: latency, error statuses for a share or the next N matching requests
(429 with `Retry-After`), dropped connections (the real response is cut half-way), hangs, and down periods.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import pathlib
import secrets
import socket
import ssl
import threading
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from typing import Any

from tests.apiserver import errors, faults, httpserver, requestlog, serving, store, watch
from tests.apiserver.server import _fault_message, _verb  # the test API server's own wording and verb mapping
from tests.cluster import controlplane, pki, rest

ADMIN_USER = "proxy-admin"

# Not forwarded: per-connection headers, the client's credentials and anything the proxy sets itself.
_REQUEST_DROP = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "host", "content-length", "authorization"}
)
_RESPONSE_DROP = frozenset({"connection", "keep-alive", "transfer-encoding", "content-length", "date", "content-type"})
_NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})


def request_info(method: str, path: str, query: dict[str, str]) -> tuple[str, str, str, str]:
    """(verb, resource with "/subresource", namespace, name) as kube-apiserver's RequestInfo reads a path; the verb
    is "" and the resource "" for non-resource paths (discovery, /version, /healthz …)."""
    parts = [p for p in path.split("/") if p]
    if len(parts) >= 3 and parts[0] == "api":
        rest_parts = parts[2:]
    elif len(parts) >= 4 and parts[0] == "apis":
        rest_parts = parts[3:]
    else:
        return "", "", "", ""
    namespace = ""
    if rest_parts[0] == "namespaces" and len(rest_parts) > 1:
        namespace = rest_parts[1]
        if len(rest_parts) > 2 and rest_parts[2] not in _NAMESPACE_SUBRESOURCES:
            rest_parts = rest_parts[2:]
        else:
            namespace = ""  # the Namespace object itself (or its subresource) is cluster-scoped
    resource = rest_parts[0]
    name = rest_parts[1] if len(rest_parts) > 1 else ""
    if len(rest_parts) > 2:
        resource += "/" + rest_parts[2]
    try:
        verb = _verb(method, bool(name), query)
    except errors.ApiError:
        verb = method.lower()
    return verb, resource, namespace, name


class _Upstream:
    """A thread's connection to kube-apiserver, registered so that `down()` and `stop()` can close it; closed when
    the thread's locals go (the client connection ended)."""

    def __init__(
        self, conn: http.client.HTTPSConnection, registry: set[http.client.HTTPSConnection], lock: threading.Lock
    ) -> None:
        self.conn, self._registry, self._lock = conn, registry, lock
        with lock:
            registry.add(conn)

    def close(self) -> None:
        with self._lock:
            self._registry.discard(self.conn)
        self.conn.close()

    def __del__(self) -> None:
        self.close()


class FaultProxy(serving.Serving):
    """`with FaultProxy(cluster) as proxy:` — serves HTTPS on a free 127.0.0.1 port.

    `proxy.kubeconfig_path` (admin token), `proxy.faults`, `proxy.requests`, `proxy.add_user(name)`,
    `proxy.write_kubeconfig(path, user)`, `proxy.down(seconds)`, `proxy.up()`. Faults and log as in
    tests/apiserver/README.md; `faults.forbid(user, …)` answers a 403 at the proxy, for tests that need a refusal
    without RBAC (a user bound to a narrow Role gets real ones).
    """

    def __init__(
        self,
        cluster: controlplane.RealCluster,
        *,
        kubeconfig_path: str | pathlib.Path | None = None,
        seed: int = 0,
        upstream_timeout: float = 330.0,
    ) -> None:
        self.cluster = cluster
        assert cluster.pki is not None, "start the cluster first"
        self._pki = cluster.pki
        cert = self._pki.client("meshctl-test-fault-proxy", "system:masters")
        self._upstream_context = rest.ssl_context(self._pki.ca_path, cert.cert_path, cert.key_path)
        self._upstream_timeout = upstream_timeout
        self.faults = faults.Faults(seed)
        self.requests = requestlog.RequestLog()
        self.token = secrets.token_urlsafe(24)
        self._users: dict[str, tuple[str, tuple[str, ...]]] = {self.token: (ADMIN_USER, ())}
        self.kubeconfig_path = (
            pathlib.Path(kubeconfig_path) if kubeconfig_path else cluster.workdir / "fault-proxy.kubeconfig"
        )
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.set_alpn_protocols(["http/1.1"])
        context.load_cert_chain(str(self._pki.serving_cert_path), str(self._pki.serving_key_path))
        self._http = httpserver.HttpServer(self._handle, controlplane.HOST, 0, context)
        self._local = threading.local()
        self._upstreams_lock = threading.Lock()
        self._upstreams: set[http.client.HTTPSConnection] = set()
        self._timers: list[threading.Timer] = []
        self._started = False

    # --- lifecycle -----------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return f"https://{controlplane.HOST}:{self.port}"

    @property
    def ca_path(self) -> pathlib.Path:
        return self._pki.ca_path

    def start(self) -> FaultProxy:
        self._http.listen()
        self.write_kubeconfig(self.kubeconfig_path)
        self._started = True
        return self

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self._end_timers()
        # Upstream first: a thread relaying a watch waits on kube-apiserver, not on its client, and the server's
        # shutdown would wait for it.
        self._close_upstreams()
        self._http.shutdown()
        self._close_upstreams()

    def _drop(self) -> None:
        # Upstream connections too, so that threads relaying watches end now (see `stop`).
        self._close_upstreams()

    # --- users ---------------------------------------------------------------------------------------------------

    def add_user(self, name: str, groups: Iterable[str] = (), token: str | None = None) -> str:
        """A user known to the proxy by its bearer token; upstream, the proxy impersonates `name` in `groups`
        (plus system:authenticated, as for any authenticated user)."""
        token = token or secrets.token_urlsafe(24)
        self._users[token] = (name, tuple(groups))
        return token

    def kubeconfig(self, user: str = ADMIN_USER, namespace: str = "default") -> dict[str, Any]:
        token = next(t for t, (u, _) in self._users.items() if u == user)
        return pki.kubeconfig(self.url, self._pki.ca_pem, user, {"token": token}, namespace)

    def write_kubeconfig(
        self, path: str | pathlib.Path, user: str = ADMIN_USER, namespace: str = "default"
    ) -> pathlib.Path:
        return pki.write_kubeconfig(pathlib.Path(path), self.kubeconfig(user, namespace))

    # --- requests ------------------------------------------------------------------------------------------------

    def _handle(self, request: httpserver.Request) -> httpserver.Response:
        started = time.monotonic()
        parsed = urllib.parse.urlsplit(request.target)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
        verb, resource, namespace, name = request_info(request.method, parsed.path, query)
        user = ""
        try:
            user, groups = self._authenticate(request)
            if parsed.path.startswith("/admin/"):
                response = self._admin(request, parsed.path, user)
            else:
                response = self._faulted(request, user, groups, verb, resource, namespace, name)
        except errors.ApiError as exc:
            response = httpserver.Response(exc.code, store.encode(exc.status()), headers=list(exc.headers.items()))
        self.requests.record(
            requestlog.Entry(
                method=request.method,
                path=parsed.path,
                query=parsed.query,
                content_type=request.headers.get("content-type", ""),
                status=response.status,
                latency=time.monotonic() - started,
                verb=verb,
                resource=resource,
                namespace=namespace,
                name=name,
                user=user,
                dry_run=query.get("dryRun") == "All",
            )
        )
        return response

    def _faulted(
        self,
        request: httpserver.Request,
        user: str,
        groups: tuple[str, ...],
        verb: str,
        resource: str,
        namespace: str,
        name: str,
    ) -> httpserver.Response:
        plural = resource.split("/", 1)[0]
        decision = self.faults.decide(verb, plural)
        if decision.latency:
            time.sleep(decision.latency)
        if decision.hang:
            self._hang(request)
        if decision.error is not None:
            rule = decision.error
            raise errors.ApiError(
                rule.status,
                faults.ERROR_REASONS[rule.status],
                _fault_message(rule.status),
                retry_after=rule.retry_after,
            )
        if plural and self.faults.is_forbidden(user, verb, plural):
            scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
            subject = f'{plural} "{name}"' if name else plural
            raise errors.ApiError(
                403,
                "Forbidden",
                f'{subject} is forbidden: User "{user}" cannot {verb} resource "{resource}" {scope}',
                name=name or None,
                kind=plural,
            )
        response = self._forward(request, user, groups)
        response.close_midway = decision.close and response.stream is None
        return response

    def _authenticate(self, request: httpserver.Request) -> tuple[str, tuple[str, ...]]:
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer "):
            found = self._users.get(header[7:].strip())
            if found is not None:
                return found
        raise errors.ApiError(401, "Unauthorized", "Unauthorized")

    def _hang(self, request: httpserver.Request) -> None:
        """Wait until the client gives up (closes), the hang is released, or the proxy stops."""
        while not self.faults.release_hangs.wait(0.05):
            if self._http.stopping.is_set() or watch.client_gone(request.sock):
                raise errors.ApiError(504, "Timeout", "the client gave up")

    def _admin(self, request: httpserver.Request, path: str, user: str) -> httpserver.Response:
        if user != ADMIN_USER:
            raise errors.ApiError(403, "Forbidden", "admin endpoints are for the admin user")
        body = json.loads(request.body or b"{}") if request.method in ("POST", "PUT") else {}
        if path == "/admin/requests" and request.method == "GET":
            return httpserver.Response(200, json.dumps(self.requests.as_json()).encode())
        if path == "/admin/faults" and request.method in ("POST", "PUT"):
            self.faults.configure(body)
        elif path == "/admin/down" and request.method == "POST":
            seconds = float(body.get("seconds", 1.0))
            self._later(0.05, lambda: self.down(seconds))  # answer first, then go down
        else:
            raise errors.unknown_path()
        return httpserver.Response(200, b"{}")

    # --- upstream ------------------------------------------------------------------------------------------------

    def _connection(self) -> http.client.HTTPSConnection:
        """This client connection's upstream connection (kept alive; closed when the client's thread ends)."""
        holder: _Upstream | None = getattr(self._local, "upstream", None)
        if holder is None:
            conn = http.client.HTTPSConnection(
                controlplane.HOST, self.cluster.port, context=self._upstream_context, timeout=self._upstream_timeout
            )
            holder = self._local.upstream = _Upstream(conn, self._upstreams, self._upstreams_lock)
        return holder.conn

    def _drop_connection(self) -> None:
        holder: _Upstream | None = getattr(self._local, "upstream", None)
        self._local.upstream = None
        if holder is not None:
            holder.close()

    def _close_upstreams(self) -> None:
        """Cut every upstream connection (down, stop). Each belongs to a client connection's thread, which may be
        reading a response from it right now: closing the `HTTPSConnection` here would close that response under the
        reader (its `fp` becomes None: AttributeError in `read1`). Shutting the socket down instead ends the reader's
        read with EOF or an error, and the owning thread drops the connection itself (`_drop_connection`)."""
        with self._upstreams_lock:
            conns = list(self._upstreams)
            self._upstreams.clear()
        for conn in conns:
            sock = conn.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)  # not SSLSocket.shutdown: it unsets _sslobj

    def _forward(self, request: httpserver.Request, user: str, groups: tuple[str, ...]) -> httpserver.Response:
        headers = {k: v for k, v in request.headers.items() if k not in _REQUEST_DROP}
        if user != ADMIN_USER:  # only the admin may impersonate by itself
            headers = {k: v for k, v in headers.items() if not k.startswith("impersonate-")}
            headers["Impersonate-User"] = user
        if request.body or request.method in ("POST", "PUT", "PATCH"):
            headers["Content-Length"] = str(len(request.body))
        for attempt in range(2):
            conn = self._connection()
            try:
                conn.putrequest(request.method, request.target, skip_host=True, skip_accept_encoding=True)
                conn.putheader("Host", f"{controlplane.HOST}:{self.cluster.port}")
                for key, value in headers.items():
                    conn.putheader(key, value)
                for group in groups if user != ADMIN_USER else ():
                    conn.putheader("Impersonate-Group", group)
                conn.endheaders(request.body or None)
                upstream = conn.getresponse()
                break
            except (OSError, http.client.HTTPException):
                self._drop_connection()  # a kept-alive connection the server closed: one fresh try
                if attempt:
                    raise errors.ApiError(
                        503, "ServiceUnavailable", "the fault proxy cannot reach kube-apiserver"
                    ) from None
        # A 304 carries no Content-Type; inventing one would be merged by the client's HTTP cache into the cached
        # response (client-go's discovery cache then reads aggregated discovery as a legacy APIGroupList, and
        # kubectl finds no kinds at all).
        content_type = upstream.getheader("Content-Type")
        out_headers = [(k, v) for k, v in upstream.getheaders() if k.lower() not in _RESPONSE_DROP]
        # 204 and 304 never carry a body (nor does any answer to HEAD): relaying one as a chunked stream would put a
        # stray "0" chunk on the connection, which the client reads as the next response (kubectl's cached
        # discovery gets 304s: "malformed HTTP response \"0\"").
        bodiless = upstream.status in (204, 304) or request.method == "HEAD"
        if upstream.getheader("Content-Length") is None and not bodiless:
            return httpserver.Response(
                upstream.status, content_type=content_type, headers=out_headers, stream=self._relay(upstream)
            )
        body = upstream.read()
        if upstream.will_close:
            self._drop_connection()
        return httpserver.Response(upstream.status, body, content_type=content_type, headers=out_headers)

    def _relay(self, upstream: http.client.HTTPResponse) -> Iterator[bytes]:
        """Chunks of a streamed answer (watches) as they come; the upstream connection is dropped if the client
        leaves before the end."""
        finished = False
        try:
            while chunk := upstream.read1(65_536):
                yield chunk
            finished = True
        except (OSError, http.client.HTTPException):
            return
        finally:
            if not finished or upstream.will_close:
                self._drop_connection()
