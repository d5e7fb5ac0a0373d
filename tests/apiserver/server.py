"""`ApiServer`: the HTTP(S) front of the cluster — routing, authentication, faults, the request log — and its
Python API (`with ApiServer(**options) as api:`)."""

from __future__ import annotations

import base64
import copy
import datetime
import json
import os
import pathlib
import secrets
import ssl
import tempfile
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

import yaml

from tests.apiserver import cluster as cluster_mod
from tests.apiserver import (
    controllers,
    discovery,
    errors,
    faults,
    httpserver,
    lifecycle,
    openapi,
    requestlog,
    resources,
    schema,
    serving,
    store,
    watch,
)
from tests.apiserver.resources import ResourceType

ADMIN_USER = "test-admin"
_JSON = "application/json"


class _Route:
    __slots__ = ("name", "namespace", "rt", "subresource", "verb")

    def __init__(self, rt: ResourceType, namespace: str | None, name: str, subresource: str, verb: str) -> None:
        self.rt, self.namespace, self.name, self.subresource, self.verb = rt, namespace, name, subresource, verb


class Objects:
    """Direct access to stored objects (`api.objects`), bypassing HTTP, faults and the request log."""

    def __init__(self, server: ApiServer) -> None:
        self._server = server

    @property
    def _cluster(self) -> cluster_mod.Cluster:
        return self._server.cluster

    def _type(self, resource: str) -> ResourceType:
        return self._cluster.find_type(resource)

    def _type_of(self, obj: dict[str, Any]) -> ResourceType:
        group, _, version = str(obj.get("apiVersion", "")).rpartition("/")
        for rt in self._cluster.served_types():
            if rt.group == group and rt.version == version and rt.kind == obj.get("kind"):
                return rt
        raise KeyError(f"{obj.get('apiVersion')} {obj.get('kind')} is not served")

    def get(self, resource: str, name: str, namespace: str = "") -> dict[str, Any] | None:
        rt = self._type(resource)
        obj = self._cluster.store.get(rt.group_resource, namespace if rt.namespaced else "", name)
        return copy.deepcopy(obj) if obj is not None else None

    def list(self, resource: str, namespace: str | None = None) -> list[dict[str, Any]]:
        rt = self._type(resource)
        return copy.deepcopy(self._cluster.store.list(rt.group_resource, namespace))

    def names(self, resource: str, namespace: str | None = None) -> list[str]:
        return [o["metadata"]["name"] for o in self.list(resource, namespace)]

    def create(self, obj: dict[str, Any], manager: str = "test") -> dict[str, Any]:
        """Create through the API's admission (defaults, validation), as a user would."""
        rt = self._type_of(obj)
        ctx = cluster_mod.WriteContext(user=ADMIN_USER, manager=manager)
        return copy.deepcopy(self._cluster.create(rt, obj.get("metadata", {}).get("namespace", ""), obj, ctx))

    def apply(self, obj: dict[str, Any], manager: str = "test", force: bool = False) -> dict[str, Any]:
        rt = self._type_of(obj)
        meta = obj.get("metadata", {})
        ctx = cluster_mod.WriteContext(user=ADMIN_USER, manager=manager)
        query = {"fieldManager": manager, "force": "true" if force else "false"}
        body = json.dumps(obj).encode()
        result = self._cluster.patch(
            rt, meta.get("namespace", ""), meta["name"], body, "application/apply-patch+yaml", query, ctx
        )
        return copy.deepcopy(result)

    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        """Store an object as is (defaults and identity filled in, no validation): for seeding odd states."""
        return copy.deepcopy(self._cluster.put_object(self._type_of(obj), copy.deepcopy(obj)))

    def delete(self, resource: str, name: str, namespace: str = "", propagation: str | None = None) -> None:
        rt = self._type(resource)
        options = {"propagationPolicy": propagation} if propagation else {}
        self._cluster.delete(rt, namespace, name, options, cluster_mod.WriteContext(user=ADMIN_USER))

    def wait_for(
        self,
        resource: str,
        name: str,
        namespace: str = "",
        condition: Callable[[dict[str, Any] | None], bool] = lambda o: o is not None,
        timeout: float = 10.0,
    ) -> dict[str, Any] | None:
        """Block until `condition(object or None)` holds (woken by store changes); TimeoutError otherwise."""
        st = self._cluster.store
        deadline = time.monotonic() + timeout
        with st.lock:
            while True:
                current = self.get(resource, name, namespace)
                if condition(current):
                    return current
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"{resource} {namespace}/{name}: condition not met within {timeout}s: {current}")
                st.changed.wait(min(remaining, 0.2))


class ApiServer(serving.Serving):
    """A Kubernetes API server for tests, on 127.0.0.1.

    Options: `port` (0 = free port), `tls` (HTTPS with a trustme CA, default on), `latency` (seconds added to every
    request), `state_file` (loaded at start when present, written at stop and used by `restart(keep_state=True)`),
    `kubeconfig_path` (default: a temporary file), `seed` (of the fault randomness), and every field of
    `cluster.Options` (delays of lifecycles and controllers, watch history, bookmark interval, `create_pods`).
    """

    def __init__(
        self,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        tls: bool = True,
        latency: float = 0.0,
        state_file: str | os.PathLike[str] | None = None,
        kubeconfig_path: str | os.PathLike[str] | None = None,
        seed: int = 0,
        **cluster_options: Any,
    ) -> None:
        self.host = host
        self.tls = tls
        self.options = cluster_mod.Options(**cluster_options)
        self.state_file = pathlib.Path(state_file) if state_file else None
        self._tmp = tempfile.TemporaryDirectory(prefix="apiserver-")
        self.workdir = pathlib.Path(self._tmp.name)
        self.kubeconfig_path = pathlib.Path(kubeconfig_path) if kubeconfig_path else self.workdir / "kubeconfig"
        self.token = secrets.token_urlsafe(24)
        self._users: dict[str, str] = {self.token: ADMIN_USER}
        self.faults = faults.Faults(seed)
        self.faults.set_latency(latency)
        self.controllers = controllers.Controllers()
        self.requests = requestlog.RequestLog()
        self.objects = Objects(self)
        self.ca_path = self.workdir / "ca.crt"
        self._ssl_context = self._make_tls() if tls else None
        self.cluster = self._new_cluster()
        self._http = httpserver.HttpServer(self._handle, host, port, self._ssl_context)
        self._timers: list[threading.Timer] = []
        self._started = False
        self._openapi_cache: dict[tuple[Any, ...], bytes] = {}

    # --- lifecycle -----------------------------------------------------------------------------------------------

    def _make_tls(self) -> ssl.SSLContext:
        import trustme

        ca = trustme.CA()
        cert = ca.issue_cert("127.0.0.1", "localhost")
        ca.cert_pem.write_to_path(str(self.ca_path))
        self._ca_pem = ca.cert_pem.bytes()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.set_alpn_protocols(["http/1.1"])
        cert.configure_cert(context)
        return context

    def _new_cluster(self) -> cluster_mod.Cluster:
        c = cluster_mod.Cluster(self.options)
        lifecycle.Lifecycles(c, self.controllers)
        controllers.WorkloadControllers(c, self.controllers)
        c.store.listeners.append(self._on_namespace)
        return c

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://{self.host}:{self.port}"

    def start(self) -> ApiServer:
        if self.state_file is not None and self.state_file.exists():
            self.cluster.store.load(json.loads(self.state_file.read_text()))
            self._resync()
        elif not self.cluster.store.group_resources():
            seed_fresh_cluster(self.cluster)
        self.cluster.scheduler.start()
        self.wait_idle()  # the start state (namespace defaults) is complete before the first request
        self._http.listen()
        self.write_kubeconfig(self.kubeconfig_path)
        self._started = True
        return self

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        self._end_timers()
        self._http.shutdown()
        self.cluster.scheduler.stop()
        if self.state_file is not None:
            self.save_state(self.state_file)
        self._tmp.cleanup()

    def save_state(self, path: str | os.PathLike[str]) -> None:
        pathlib.Path(path).write_text(json.dumps(self.cluster.store.dump()))

    def restart(self, keep_state: bool = True) -> None:
        """Stop serving, then serve again on the same port and credentials: with the state (through a state
        file, as a restarted kube-apiserver reads etcd) or as a fresh cluster. Open connections and watches drop."""
        self.faults.release_hangs.set()
        self._http.close_listener()
        self.cluster.scheduler.stop()
        state_path = self.state_file or self.workdir / "state.json"
        if keep_state:
            self.save_state(state_path)
        self.cluster = self._new_cluster()
        if keep_state:
            self.cluster.store.load(json.loads(state_path.read_text()))
            self._resync()
        else:
            seed_fresh_cluster(self.cluster)
        self.faults.release_hangs.clear()
        self.cluster.scheduler.start()
        self._http.listen()

    def _resync(self) -> None:
        """After loading state, let lifecycles and controllers see every object again."""
        c = self.cluster
        c.refresh_custom_types()
        for gr, obj in c.store.iter_all():
            event = store.Event(c.store.rv, store.MODIFIED, gr, obj, obj)
            for listener in list(c.store.listeners):
                with c.store.lock:
                    listener(event)

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until lifecycles and controllers have nothing due (delayed tasks count as pending)."""
        deadline = time.monotonic() + timeout
        while not self.cluster.scheduler.idle():
            if time.monotonic() > deadline:
                raise TimeoutError("the simulated controllers still have work after {timeout}s")
            time.sleep(0.005)

    # --- users and kubeconfigs -----------------------------------------------------------------------------------

    def add_user(self, name: str, token: str | None = None) -> str:
        """A user with its own bearer token (use `faults.forbid(name, ...)` to restrict it)."""
        token = token or secrets.token_urlsafe(24)
        self._users[token] = name
        return token

    def kubeconfig(self, user: str = ADMIN_USER) -> dict[str, Any]:
        token = next(t for t, u in self._users.items() if u == user)
        cluster: dict[str, Any] = {"server": self.url}
        if self.tls:
            cluster["certificate-authority-data"] = base64.b64encode(self._ca_pem).decode()
        return {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": "test", "cluster": cluster}],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": "test", "context": {"cluster": "test", "user": user, "namespace": "default"}}],
            "current-context": "test",
            "preferences": {},
        }

    def write_kubeconfig(self, path: str | os.PathLike[str], user: str = ADMIN_USER) -> pathlib.Path:
        target = pathlib.Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(yaml.safe_dump(self.kubeconfig(user), sort_keys=False))
        target.chmod(0o600)
        return target

    # --- request handling ----------------------------------------------------------------------------------------

    def _handle(self, request: httpserver.Request) -> httpserver.Response:
        started = time.monotonic()
        parsed = urllib.parse.urlsplit(request.target)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
        route: _Route | None = None
        user = ""
        try:
            user = self._authenticate(request)
            if parsed.path == _SSAR_PATH and request.method == "POST":
                response = self._access_review(request, user)
                self._log(request, parsed, None, user, response, started, query)
                return response
            route = self._route(request.method, parsed.path, query)
            verb = route.verb if route else ("get" if request.method == "GET" else request.method.lower())
            if route is not None:
                route.rt.plural + (f"/{route.subresource}" if route.subresource else "")
            decision = self.faults.decide(verb, route.rt.plural if route else "")
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
            if route is not None and self.faults.is_forbidden(user, verb, route.rt.plural):
                raise _forbidden(user, verb, route)
            if route is None:
                response = self._non_resource(request, parsed.path, query, user)
            else:
                response = self._resource(request, route, query, user)
            response.close_midway = decision.close and response.stream is None
        except errors.ApiError as exc:
            response = httpserver.Response(exc.code, store.encode(exc.status()), headers=list(exc.headers.items()))
        except Exception as exc:  # an unexpected server bug answers 500 rather than killing the connection
            message = f"internal error: {type(exc).__name__}: {exc}"
            response = httpserver.Response(500, store.encode(errors.ApiError(500, "InternalError", message).status()))
        self._log(request, parsed, route, user, response, started, query)
        return response

    def _log(
        self,
        request: httpserver.Request,
        parsed: urllib.parse.SplitResult,
        route: _Route | None,
        user: str,
        response: httpserver.Response,
        started: float,
        query: dict[str, str],
    ) -> None:
        self.requests.record(
            requestlog.Entry(
                method=request.method,
                path=parsed.path,
                query=parsed.query,
                content_type=request.headers.get("content-type", ""),
                status=response.status,
                latency=time.monotonic() - started,
                verb=route.verb if route else "",
                resource=(route.rt.plural + (f"/{route.subresource}" if route.subresource else "")) if route else "",
                namespace=(route.namespace or "") if route else "",
                name=route.name if route else "",
                user=user,
                dry_run=query.get("dryRun") == "All",
            )
        )

    def _hang(self, request: httpserver.Request) -> None:
        """Wait until the client gives up (closes), the hang is released, or the server stops."""
        while not self.faults.release_hangs.wait(0.05):
            if self._http.stopping.is_set() or watch.client_gone(request.sock):
                raise errors.ApiError(504, "Timeout", "the client gave up")

    def _authenticate(self, request: httpserver.Request) -> str:
        header = request.headers.get("authorization", "")
        if header.startswith("Bearer "):
            user = self._users.get(header[7:].strip())
            if user is not None:
                return user
        raise errors.ApiError(401, "Unauthorized", "Unauthorized")

    def _route(self, method: str, path: str, query: dict[str, str]) -> _Route | None:
        parts = [p for p in path.split("/") if p]
        if len(parts) >= 2 and parts[0] == "api":
            group, version, rest = "", parts[1], parts[2:]
        elif len(parts) >= 3 and parts[0] == "apis":
            group, version, rest = parts[1], parts[2], parts[3:]
        else:
            return None
        if not rest:
            return None
        namespace: str | None = None
        if rest[0] == "namespaces" and len(rest) >= 3:
            candidate = self.cluster.resolve(group, version, rest[2])
            if candidate is not None and candidate.namespaced:
                namespace, rest = rest[1], rest[2:]
        rt = self.cluster.resolve(group, version, rest[0])
        if rt is None:
            raise errors.unknown_path()
        if rt.namespaced and namespace is None and len(rest) > 1:
            raise errors.unknown_path()
        name = rest[1] if len(rest) > 1 else ""
        subresource = rest[2] if len(rest) > 2 else ""
        if subresource and (subresource not in rt.subresources or len(rest) > 3):
            raise errors.unknown_path()
        verb = _verb(method, bool(name), query)
        return _Route(rt, namespace, name, subresource, verb)

    def _non_resource(
        self, request: httpserver.Request, path: str, query: dict[str, str], user: str
    ) -> httpserver.Response:
        if path.startswith("/admin/"):
            return self._admin(request, path, user)
        if request.method != "GET":
            raise errors.ApiError(
                405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
            )
        path = path.rstrip("/") or "/"
        types = self.cluster.served_types()
        body: Any
        if path == "/version":
            body = discovery.version()
        elif path in ("/healthz", "/readyz", "/livez"):
            return httpserver.Response(200, b"ok", content_type="text/plain")
        elif path == "/api":
            body = discovery.core_versions(f"{self.host}:{self.port}")
        elif path == "/api/v1":
            body = discovery.resource_list("v1", [t for t in types if t.group == ""])
        elif path == "/apis":
            body = discovery.group_list(types)
        elif path == "/openapi/v3":
            body = openapi.root(_by_gv(types))
        elif path.startswith("/openapi/v3/"):
            gv_types = _by_gv(types).get(path[len("/openapi/v3/") :])
            if not gv_types:
                raise errors.unknown_path()
            return httpserver.Response(200, self._openapi(gv_types))
        elif path.startswith("/apis/"):
            parts = path.split("/")[2:]
            if len(parts) == 1:
                body = discovery.group(parts[0], types)
            else:
                gv_types = [t for t in types if t.group == parts[0] and t.version == parts[1]]
                body = discovery.resource_list(f"{parts[0]}/{parts[1]}", gv_types) if gv_types else None
            if body is None:
                raise errors.unknown_path()
        else:
            raise errors.unknown_path()
        return httpserver.Response(200, store.encode(body))

    def _access_review(self, request: httpserver.Request, user: str) -> httpserver.Response:
        """SelfSubjectAccessReview: allowed unless a `faults.forbid` rule denies it (there is no RBAC)."""
        review = _decode(request.body, request.headers.get("content-type", _JSON).split(";")[0].strip())
        if not isinstance(review, dict) or not isinstance(review.get("spec"), dict):
            raise errors.bad_request("the body of the request must be a SelfSubjectAccessReview")
        attributes = review["spec"].get("resourceAttributes") or {}
        allowed = not self.faults.is_forbidden(user, attributes.get("verb", ""), attributes.get("resource", ""))
        agent = request.headers.get("user-agent", "")
        entry = {
            "manager": agent.split("/", 1)[0] if agent else "unknown",
            "operation": "Update",
            "apiVersion": "authorization.k8s.io/v1",
            "time": cluster_mod.now_rfc3339(),
            "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": _review_fields(review["spec"], ("f:spec",))},
        }
        body = {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"managedFields": [entry]},
            "spec": review["spec"],
            "status": {"allowed": True} if allowed else {"allowed": False, "denied": True},
        }
        return httpserver.Response(201, store.encode(body))

    def _openapi(self, types: list[ResourceType]) -> bytes:
        key = tuple(sorted((t.group, t.version, t.plural, json.dumps(t.crd_schema, sort_keys=True)) for t in types))
        cached = self._openapi_cache.get(key)
        if cached is None:
            cached = self._openapi_cache[key] = openapi.document(types)
        return cached

    def _admin(self, request: httpserver.Request, path: str, user: str) -> httpserver.Response:
        if user != ADMIN_USER:
            raise errors.ApiError(403, "Forbidden", "admin endpoints are for the admin user")
        if path == "/admin/requests":
            return httpserver.Response(200, json.dumps(self.requests.as_json()).encode())
        if path == "/admin/faults" and request.method in ("POST", "PUT"):
            self.faults.configure(json.loads(request.body or b"{}"))
            return httpserver.Response(200, b"{}")
        if path == "/admin/down" and request.method == "POST":
            seconds = float(json.loads(request.body or b"{}").get("seconds", 1.0))
            timer = threading.Timer(0.05, lambda: self.down(seconds))
            timer.daemon = True
            self._timers.append(timer)
            timer.start()
            return httpserver.Response(200, b"{}")
        raise errors.unknown_path()

    def _resource(
        self, request: httpserver.Request, route: _Route, query: dict[str, str], user: str
    ) -> httpserver.Response:
        c = self.cluster
        rt, verb = route.rt, route.verb
        namespace = route.namespace or ""
        if verb in ("get", "list", "watch"):
            if verb == "get":
                if route.subresource or (not _wants_table(request) and not rt.custom):
                    encoded = c.store.get_encoded(rt.group_resource, namespace if rt.namespaced else "", route.name)
                    if encoded is None:
                        raise errors.not_found(rt.qualified, route.name, rt.group, rt.plural)
                    return httpserver.Response(200, encoded)
                obj = c.get(rt, namespace, route.name)
                if _wants_table(request):
                    return httpserver.Response(
                        200, store.encode(_table(rt, [obj], obj["metadata"]["resourceVersion"], query))
                    )
                return httpserver.Response(200, store.encode(obj))
            if verb == "watch":
                if query.get("sendInitialEvents") == "true" and query.get("resourceVersionMatch") != "NotOlderThan":
                    message = "Forbidden: sendInitialEvents requires setting resourceVersionMatch to NotOlderThan"
                    cause = {"reason": "FieldValueForbidden", "message": message, "field": "resourceVersionMatch"}
                    raise errors.invalid("ListOptions", "meta.k8s.io", "", [cause])
                req = watch.WatchRequest(
                    rt,
                    route.namespace,
                    query.get("labelSelector", ""),
                    query.get("fieldSelector", ""),
                    query.get("resourceVersion", ""),
                    float(query.get("timeoutSeconds") or 1800),
                    query.get("allowWatchBookmarks") in ("true", "1"),
                    {"true": True, "false": False}.get(query.get("sendInitialEvents", "")),
                )
                return httpserver.Response(200, stream=watch.stream(c, req, self._http.stopping, request.sock))
            listed = c.list(
                rt,
                route.namespace,
                query.get("labelSelector", ""),
                query.get("fieldSelector", ""),
                int(query.get("limit") or 0),
                query.get("continue", ""),
            )
            if _wants_table(request):
                return httpserver.Response(
                    200,
                    store.encode(
                        _paged(_table(rt, listed["items"], listed["metadata"]["resourceVersion"], query), listed)
                    ),
                )
            items = listed.pop("items")
            head = store.encode(listed)[:-1]
            if rt.custom:
                encoded_items = [store.encode(o) for o in items]
            else:
                encoded_items = c.store.encoded_list(rt.group_resource, items)
            return httpserver.Response(200, head + b',"items":[' + b",".join(encoded_items) + b"]}")
        content_type = request.headers.get("content-type", _JSON).split(";")[0].strip()
        options_kind = {"create": "CreateOptions", "update": "UpdateOptions", "patch": "PatchOptions"}.get(
            verb, "DeleteOptions"
        )
        ctx = cluster_mod.WriteContext.from_query(
            query, user, request.headers.get("user-agent", ""), route.subresource, options_kind
        )
        if verb in ("create", "update") and content_type not in _BODY_TYPES:
            raise errors.ApiError(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: "
                "application/json, application/yaml, application/vnd.kubernetes.protobuf",
            )
        status = 200
        if verb == "create":
            if route.subresource:
                raise errors.ApiError(
                    405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
                )
            result = c.create(rt, namespace, _decode(request.body, content_type), ctx)
            status = 201
        elif verb == "update":
            result = c.update(rt, namespace, route.name, _decode(request.body, content_type), ctx)
        elif verb == "patch":
            existed = (
                content_type == "application/apply-patch+yaml"
                and c.store.get(rt.group_resource, namespace if rt.namespaced else "", route.name) is not None
            )
            result = c.patch(rt, namespace, route.name, request.body, content_type, query, ctx)
            if content_type == "application/apply-patch+yaml" and not existed:
                status = 201  # a dry-run apply that would create answers 201 too
        elif verb == "delete":
            options = _decode(request.body, content_type) if request.body else {}
            for key in ("propagationPolicy", "gracePeriodSeconds"):
                if key in query:
                    options[key] = query[key]
            if "orphanDependents" in query:
                options["orphanDependents"] = query["orphanDependents"] == "true"
            result, _ = c.delete(rt, namespace, route.name, options or {}, ctx)
        else:  # deletecollection
            options = _decode(request.body, content_type) if request.body else {}
            if "propagationPolicy" in query:
                options["propagationPolicy"] = query["propagationPolicy"]
            result = c.delete_collection(
                rt, route.namespace, query.get("labelSelector", ""), query.get("fieldSelector", ""), options, ctx
            )
        headers = [("Warning", f'299 - "{w.replace(chr(34), chr(92) + chr(34))}"') for w in ctx.warnings]
        return httpserver.Response(status, store.encode(result), headers=headers)

    # --- fresh cluster extras ------------------------------------------------------------------------------------

    def _on_namespace(self, event: store.Event) -> None:
        """New namespaces get their `default` ServiceAccount and `kube-root-ca.crt`, as controllers add them."""
        if event.gr != resources.NAMESPACE.group_resource or event.type != store.ADDED:
            return
        name = event.obj["metadata"]["name"]
        if not self.controllers.enabled("Namespace", name):
            return
        self.cluster.scheduler.call_later(0, lambda: _namespace_defaults(self.cluster, name, self._ca_text()))

    def _ca_text(self) -> str:
        return self._ca_pem.decode() if self.tls else ""


def _namespace_defaults(c: cluster_mod.Cluster, namespace: str, ca: str) -> None:
    with c.store.lock:
        ns = c.store.get(resources.NAMESPACE.group_resource, "", namespace)
        if ns is None or ns["metadata"].get("deletionTimestamp"):
            return
        sa = resources.builtin("", "serviceaccounts")
        if c.store.get(sa.group_resource, namespace, "default") is None:
            c.put_object(sa, {"metadata": {"name": "default", "namespace": namespace}})
        cm = resources.builtin("", "configmaps")
        if c.store.get(cm.group_resource, namespace, "kube-root-ca.crt") is None:
            c.put_object(
                cm,
                {
                    "metadata": {
                        "name": "kube-root-ca.crt",
                        "namespace": namespace,
                        "annotations": {
                            "kubernetes.io/description": (
                                "Contains a CA bundle that can be used to verify the kube-apiserver when using "
                                "internal endpoints such as the internal service IP or kubernetes.default.svc. No "
                                "other usage is guaranteed across distributions of Kubernetes clusters."
                            )
                        },
                    },
                    "data": {"ca.crt": ca},
                },
            )


def seed_fresh_cluster(c: cluster_mod.Cluster) -> None:
    """What a new cluster holds: the four system namespaces, one Ready node and the `kubernetes` Service."""
    ns = resources.NAMESPACE
    for name in ("default", "kube-system", "kube-public", "kube-node-lease"):
        c.put_object(ns, {"metadata": {"name": name}})
    now = cluster_mod.now_rfc3339()
    c.put_object(
        resources.builtin("", "nodes"),
        {
            "metadata": {
                "name": controllers.NODE_NAME,
                "labels": {
                    "kubernetes.io/hostname": controllers.NODE_NAME,
                    "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64",
                    "node-role.kubernetes.io/control-plane": "",
                },
            },
            "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
            "status": {
                "capacity": {"cpu": "2", "memory": "24Gi", "pods": "110"},
                "allocatable": {"cpu": "2", "memory": "24Gi", "pods": "110"},
                "conditions": [
                    {
                        "type": "Ready",
                        "status": "True",
                        "reason": "KubeletReady",
                        "message": "kubelet is posting ready status",
                        "lastHeartbeatTime": now,
                        "lastTransitionTime": now,
                    },
                ],
                "addresses": [
                    {"type": "InternalIP", "address": "127.0.0.1"},
                    {"type": "Hostname", "address": controllers.NODE_NAME},
                ],
                "nodeInfo": {
                    "kubeletVersion": f"v{schema.KUBERNETES_VERSION}",
                    "containerRuntimeVersion": "containerd://2.1.0",
                    "operatingSystem": "linux",
                    "architecture": "amd64",
                    "osImage": "test",
                    "kernelVersion": "6.0.0",
                    "machineID": "",
                    "systemUUID": "",
                    "bootID": "",
                    "kubeProxyVersion": "",
                },
            },
        },
    )
    c.put_object(
        resources.builtin("", "services"),
        {
            "metadata": {
                "name": "kubernetes",
                "namespace": "default",
                "labels": {"component": "apiserver", "provider": "kubernetes"},
            },
            "spec": {
                "clusterIP": "10.96.0.1",
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}],
            },
        },
    )


def _verb(method: str, named: bool, query: dict[str, str]) -> str:
    if method == "GET":
        if query.get("watch") in ("true", "1"):
            return "watch"
        return "get" if named else "list"
    if method == "POST":
        return "create"
    if method == "PUT":
        return "update"
    if method == "PATCH":
        return "patch"
    if method == "DELETE":
        return "delete" if named else "deletecollection"
    raise errors.ApiError(405, "MethodNotAllowed", f"method {method} is not allowed")


_SSAR_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"


def _review_fields(value: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """fieldsV1 of an access review's spec as kube-apiserver records it (pointer structs are owned as wholes)."""
    out: dict[str, Any] = {}
    for key, sub in value.items():
        if isinstance(sub, dict) and sub:
            out["f:" + key] = _review_fields(sub, (*path, "f:" + key))
            if len(path) == 1:
                out["f:" + key]["."] = {}
        else:
            out["f:" + key] = {}
    return out


_BODY_TYPES = ("application/json", "application/yaml", "application/x-yaml", "")


def _decode(body: bytes, content_type: str) -> Any:
    try:
        if content_type in ("application/yaml", "application/x-yaml"):
            return yaml.load(body, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        return json.loads(body or b"null")
    except (ValueError, yaml.YAMLError) as exc:
        raise errors.bad_request(f"couldn't decode the request body: {exc}") from exc


def _fault_message(status: int) -> str:
    return {
        409: "Operation cannot be fulfilled: injected conflict",
        429: "Too many requests, please try again later.",
        500: "Internal error occurred: injected fault",
        503: "The server is currently unable to handle the request (injected fault)",
        504: "The server was unable to return a response in the time allotted (injected fault)",
    }[status]


def _forbidden(user: str, verb: str, route: _Route) -> errors.ApiError:
    rt = route.rt
    resource = rt.plural + (f"/{route.subresource}" if route.subresource else "")
    subject = f'{rt.qualified} "{route.name}"' if route.name else rt.qualified
    scope = f'in the namespace "{route.namespace}"' if route.namespace else "at the cluster scope"
    message = (
        f'{subject} is forbidden: User "{user}" cannot {verb} resource "{resource}" in API group "{rt.group}" {scope}'
    )
    return errors.ApiError(403, "Forbidden", message, name=route.name or None, group=rt.group, kind=rt.plural)


def _by_gv(types: list[ResourceType]) -> dict[str, list[ResourceType]]:
    out: dict[str, list[ResourceType]] = {}
    for rt in types:
        out.setdefault(openapi.gv_path(rt), []).append(rt)
    return out


def _wants_table(request: httpserver.Request) -> bool:
    accept = request.headers.get("accept", "")
    return "as=Table" in accept


def _age(timestamp: str) -> str:
    try:
        created = datetime.datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.UTC)
    except (TypeError, ValueError):
        return "<unknown>"
    seconds = int((datetime.datetime.now(datetime.UTC) - created).total_seconds())
    if seconds < 120:
        return f"{max(seconds, 0)}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _json_path(obj: Any, path: str) -> Any:
    cursor = obj
    for part in path.strip(".").split("."):
        if not part:
            continue
        if "[" in part:
            key, _, index = part.partition("[")
            cursor = cursor.get(key) if isinstance(cursor, dict) else None
            try:
                cursor = cursor[int(index.rstrip("]"))] if isinstance(cursor, list) else None
            except (IndexError, ValueError):
                return None
        else:
            cursor = cursor.get(part) if isinstance(cursor, dict) else None
    return cursor


# Column descriptions as kube-apiserver gives them (from the API's field documentation).
_NAME_DESCRIPTION = (
    "Name must be unique within a namespace. Is required when creating resources, although some resources may allow "
    "a client to request the generation of an appropriate name automatically. Name is primarily intended for "
    "creation idempotence and configuration definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
_AGE_DESCRIPTION = (
    "CreationTimestamp is a timestamp representing the server time when this object was created. It is not "
    "guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is "
    "represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
_NAMESPACE_STATUS = "The status of the namespace"
_CONFIGMAP_DATA = (
    "Data contains the configuration data. Each key must consist of alphanumeric characters, '-', '_' or '.'. Values "
    "with non-UTF-8 byte sequences must use the BinaryData field. The keys stored in Data must not overlap with the "
    "keys in the BinaryData field, this is enforced during validation process."
)


def _paged(table: dict[str, Any], listed: dict[str, Any]) -> dict[str, Any]:
    """A Table of one page carries the list's `continue` and `remainingItemCount`, as the list would."""
    for key in ("continue", "remainingItemCount"):
        if key in listed["metadata"]:
            table["metadata"][key] = listed["metadata"][key]
    return table


def _table(rt: ResourceType, items: list[dict[str, Any]], rv: str, query: dict[str, str]) -> dict[str, Any]:
    """`meta.k8s.io/v1` Table: Name, the CRD's printer columns (or a status column for namespaces), Age."""
    columns: list[dict[str, Any]] = [
        {"name": "Name", "type": "string", "format": "name", "description": _NAME_DESCRIPTION, "priority": 0}
    ]
    # A CRD's printer columns replace Age (kube-apiserver shows Age for a CRD only if it lists it).
    extra = [c for c in rt.printer_columns if c.get("name", "").lower() != "age"]
    with_age = not rt.printer_columns or any(c.get("name", "").lower() == "age" for c in rt.printer_columns)
    if rt.kind == "Namespace":
        extra = [{"name": "Status", "type": "string", "jsonPath": ".status.phase", "description": _NAMESPACE_STATUS}]
    elif (rt.group, rt.kind) == ("", "ConfigMap"):
        extra = [{"name": "Data", "type": "string", "jsonPath": "", "description": _CONFIGMAP_DATA}]
    for column in extra:
        default = f"Custom resource definition column (in JSONPath format): {column.get('jsonPath', '')}"
        columns.append(
            {
                "name": column["name"],
                "type": column.get("type", "string"),
                "format": column.get("format", ""),
                "description": column.get("description", default if rt.custom else ""),
                "priority": column.get("priority", 0),
            }
        )
    if with_age:
        columns.append({"name": "Age", "type": "string", "format": "", "description": _AGE_DESCRIPTION, "priority": 0})
    include = query.get("includeObject", "Metadata")
    rows = []
    for obj in items:
        cells: list[Any] = [obj["metadata"]["name"]]
        for column in extra:
            if column is not None and column.get("description") == _CONFIGMAP_DATA:
                cells.append(len(obj.get("data") or {}) + len(obj.get("binaryData") or {}))
                continue
            value = _json_path(obj, column.get("jsonPath", ""))
            if column.get("type") == "date" and isinstance(value, str):
                value = _age(value)
            cells.append(value if value is not None else "")
        if with_age:
            cells.append(_age(obj["metadata"].get("creationTimestamp", "")))
        row: dict[str, Any] = {"cells": cells}
        if include == "Object":
            row["object"] = obj
        elif include != "None":
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": obj["metadata"],
            }
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": rv},
        "columnDefinitions": columns,
        "rows": rows,
    }
