"""The Kubernetes client: the :class:`KubeClient` protocol (the seam) and its real implementation.

Everything meshctl does to a cluster goes through a :class:`KubeClient`: get, list, create, replace (PUT),
server-side apply, delete, watch, and kind → resource resolution (discovery). :func:`connect` builds the real one,
:class:`RestClient`, from a kubeconfig:

- ``kubernetes`` is imported here lazily, only to read the kubeconfig (merging a colon-separated ``KUBECONFIG`` as
  kubectl does, honouring ``--context``) into an own ``Configuration`` (never the library's global one, with
  ``persist_config=False``) and to build the TLS-configured connection pool from it. TLS verification stays on;
  ``insecure-skip-tls-verify`` in the kubeconfig is honoured only with a warning.
- Requests go over one urllib3 pool sized for ``concurrency`` parallel requests plus the open watches.
- Connection errors, 429 (honouring ``Retry-After``), 500, 502, 503 and 504 are retried with capped exponential
  backoff and full jitter within a total budget per request (:class:`RetryPolicy`). Other errors fail at once, as
  the :mod:`meshctl.kube.errors` built from the ``Status`` body (403 with a hint naming verb, resource and user).
- No client-library exception escapes: they are translated here, chained with ``from``.
- Logging (logger ``meshctl.kube``): request lines at DEBUG, bodies at :data:`TRACE`; tokens, client keys and
  Secret data are redacted in both and in error messages.

Typical use::

    client = kube.client.connect(kubeconfig=None, context=None)
    deployments = client.resource_for("apps/v1", "Deployment")
    live = client.get(deployments, "istiod", "istio-system")  # None when absent
    result = client.apply(deployments, manifest, force=False, dry_run=True)
    with client.watch(deployments, "istio-system", resource_version=rv) as events:
        for event in events: ...
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import logging
import os
import random
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import Any, Protocol, TypedDict, Unpack

from meshctl.kube import discovery, redact
from meshctl.kube import errors as kerrors
from meshctl.kube.discovery import Resource

__all__ = [
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
]

log = logging.getLogger("meshctl.kube")
#: Log level of request and response bodies (below DEBUG): shown at ``-vvv``.
TRACE = 5
logging.addLevelName(TRACE, "TRACE")

FIELD_MANAGER = "meshctl"
RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
APPLY_PATCH = "application/apply-patch+yaml"
JSON = "application/json"


@dataclasses.dataclass(frozen=True)
class ClusterInfo:
    """Which cluster and as whom: for messages, hints and the discovery cache key."""

    server: str
    context: str
    user: str
    namespace: str = "default"


@dataclasses.dataclass(frozen=True)
class ObjectList:
    """The items of a LIST and the list's resourceVersion (where a watch continues from)."""

    items: list[dict[str, Any]]
    resource_version: str


@dataclasses.dataclass(frozen=True)
class WatchEvent:
    """One watch event: ``ADDED``, ``MODIFIED``, ``DELETED`` or ``BOOKMARK`` and the object."""

    type: str
    object: dict[str, Any]

    @property
    def resource_version(self) -> str:
        return str((self.object.get("metadata") or {}).get("resourceVersion") or "")


class _SendOptions(TypedDict, total=False):
    """The optional keyword arguments that ``RestClient._json`` passes on to ``RestClient._send`` as they are."""

    body: bytes | None
    content_type: str
    res: Resource | None


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter, within a total budget per request (seconds)."""

    budget: float = 30.0
    base: float = 0.2
    cap: float = 5.0

    def delay(self, attempt: int, retry_after: float | None = None, rng: Callable[[], float] = random.random) -> float:
        """Seconds to wait before attempt ``attempt + 1``; ``Retry-After`` wins when the server sent one."""
        if retry_after is not None:
            return max(0.0, retry_after)
        ceiling = min(self.cap, self.base * (2 ** max(0, attempt - 1)))
        return float(ceiling * (0.5 + rng() / 2))


class Watch(Protocol):
    """An open watch stream: iterate for events; ``close()`` (from any thread) ends it.

    Iteration ends when the server closes the stream (its timeout) or the connection drops; callers resume from
    the last resourceVersion they saw. A ``410 Gone`` raises :class:`errors.Gone`: relist, then watch again.
    """

    def __iter__(self) -> Iterator[WatchEvent]: ...

    def close(self) -> None: ...

    def __enter__(self) -> Watch: ...

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None: ...


class KubeClient(Protocol):
    """What meshctl needs of a cluster. The seam between use cases and the API (tests may pass their own)."""

    info: ClusterInfo
    concurrency: int

    def resource_for(self, api_version: str, kind: str) -> Resource | None:
        """The resource serving ``kind`` (None: not served, e.g. its CRD is missing or not yet established)."""

    def invalidate(self, api_version: str) -> None:
        """Forget what discovery knows of a group version (after creating or deleting its CRD)."""

    def served_groups(self) -> dict[str, list[str]]:
        """Served API groups and their versions, asked fresh once per client."""

    def get(self, res: Resource, name: str, namespace: str = "") -> dict[str, Any] | None:
        """The object, or None when it does not exist."""

    def list(
        self, res: Resource, namespace: str | None = None, *, label_selector: str = "", field_selector: str = ""
    ) -> ObjectList:
        """All matching objects (following ``continue`` pages); ``namespace`` None lists across namespaces."""

    def create(self, res: Resource, obj: Mapping[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        """POST a new object (:class:`errors.AlreadyExists` when it exists)."""

    def replace(self, res: Resource, obj: Mapping[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        """PUT an object; with ``metadata.resourceVersion`` set, a stale write is :class:`errors.Conflict`."""

    def apply(
        self, res: Resource, obj: Mapping[str, Any], *, force: bool = False, dry_run: bool = False
    ) -> dict[str, Any]:
        """Server-side apply with field manager ``meshctl``; conflicts are :class:`errors.FieldConflict`."""

    def delete(
        self,
        res: Resource,
        name: str,
        namespace: str = "",
        *,
        propagation: str = "Background",
        resource_version: str | None = None,
        dry_run: bool = False,
    ) -> bool:
        """Delete; False when it was already gone. ``resource_version`` is a precondition."""

    def watch(
        self,
        res: Resource,
        namespace: str | None = None,
        *,
        label_selector: str = "",
        field_selector: str = "",
        resource_version: str = "",
        timeout_seconds: int = 300,
    ) -> Watch:
        """Open one watch stream from ``resource_version`` (see :class:`Watch`)."""

    def server_version(self) -> dict[str, Any]:
        """``/version``: gitVersion, major, minor, …"""

    def close(self) -> None:
        """Release the connections."""


# ---------------------------------------------------------------------------------------------------------------
# The real client


def connect(
    *,
    kubeconfig: str | None = None,
    context: str | None = None,
    concurrency: int = 8,
    retry: RetryPolicy | None = None,
    discovery_cache: bool = True,
    warn: Callable[[str], None] | None = None,
) -> RestClient:
    """A :class:`RestClient` for the kubeconfig (``--kubeconfig``, else ``KUBECONFIG``, else ``~/.kube/config``).

    ``kubeconfig`` may be a colon-separated list, merged as kubectl does. ``warn`` receives warnings, e.g. that
    the kubeconfig disables TLS verification.
    """
    path = kubeconfig or os.environ.get("KUBECONFIG") or os.path.expanduser("~/.kube/config")
    configuration, info, secrets = _load_kubeconfig(path, context)
    if not configuration.verify_ssl and warn is not None:
        warn(
            f"the kubeconfig sets insecure-skip-tls-verify for cluster {info.server}: "
            "the server's certificate is not verified"
        )
    return RestClient(
        configuration,
        info,
        concurrency=concurrency,
        retry=retry or RetryPolicy(),
        secrets=secrets,
        cache_path=discovery.cache_file(info.server, info.context) if discovery_cache else None,
    )


def _load_kubeconfig(path: str, context: str | None) -> tuple[Any, ClusterInfo, list[str]]:
    # Imported here, not at module level: the library costs ~0.4 s, paid only by commands that talk to a cluster.
    from kubernetes.client import configuration as configuration_module
    from kubernetes.config import kube_config

    files = [p for p in path.split(os.pathsep) if p]
    if not any(os.path.exists(os.path.expanduser(p)) for p in files):
        raise kerrors.ConfigError(
            f"no kubeconfig found at {path}",
            hint="pass --kubeconfig PATH, set KUBECONFIG, or create ~/.kube/config",
        )
    configuration = configuration_module.Configuration()
    try:
        contexts, active = kube_config.list_kube_config_contexts(config_file=path)
        chosen = active
        if context:
            chosen = next((c for c in contexts if c.get("name") == context), None)
            if chosen is None:
                names = ", ".join(sorted(str(c.get("name")) for c in contexts)) or "none"
                raise kerrors.ConfigError(
                    f"context {context!r} is not in the kubeconfig", hint=f"available contexts: {names}"
                )
        kube_config.load_kube_config(
            config_file=path, context=context, client_configuration=configuration, persist_config=False
        )
        secrets = _kubeconfig_secrets(path)
    except kerrors.ConfigError:
        raise
    except Exception as exc:  # ConfigException, YAML and OS errors, type errors on malformed documents
        raise kerrors.ConfigError(
            f"the kubeconfig {path} cannot be used: {_scrub(str(exc))}",
            hint="check the file with 'kubectl config view', or pass another with --kubeconfig",
        ) from None  # the library's exception may quote the credentials it read
    ctx = (chosen or {}).get("context") or {}
    info = ClusterInfo(
        server=str(configuration.host),
        context=str((chosen or {}).get("name", "")),
        user=str(ctx.get("user", "")),
        namespace=str(ctx.get("namespace") or "default"),
    )
    secrets.extend(str(v) for v in (configuration.api_key or {}).values())
    if configuration.password:
        secrets.append(str(configuration.password))
    return configuration, info, secrets


def _kubeconfig_secrets(path: str) -> list[str]:
    """Every credential string of every user in the kubeconfig files (a merged list may hold several)."""
    from meshctl import yamlio

    found: list[str] = []
    for file in (p for p in path.split(os.pathsep) if p):
        try:
            with open(os.path.expanduser(file), encoding="utf-8", errors="replace") as handle:
                document = yamlio.load_yaml(handle.read())
        except Exception:  # an unreadable or malformed file is reported by the loader, not here
            continue
        users = document.get("users") if isinstance(document, dict) else None
        for user in users if isinstance(users, list) else []:
            if isinstance(user, dict):
                found.extend(_credential_strings(user.get("user")))
    return found


def _credential_strings(entry: Any) -> list[str]:
    import base64

    if not isinstance(entry, dict):
        return []
    out: list[str] = []
    for key in ("token", "password", "client-key-data"):
        value = entry.get(key)
        if isinstance(value, str):
            out.append(value)
            if key == "client-key-data":
                with contextlib.suppress(ValueError):
                    decoded = base64.b64decode(value).decode("utf-8", "replace")
                    out.extend(line for line in decoded.splitlines() if line and "-----" not in line)
    provider = entry.get("auth-provider")
    if isinstance(provider, dict) and isinstance(provider.get("config"), dict):
        out.extend(
            str(v)
            for k, v in provider["config"].items()
            if k in ("id-token", "refresh-token", "access-token", "client-secret")
        )
    key_file = entry.get("client-key")
    if isinstance(key_file, str) and os.path.isfile(key_file):
        with contextlib.suppress(OSError), open(key_file, encoding="utf-8", errors="replace") as handle:
            out.extend(line for line in handle.read().splitlines() if line and "-----" not in line)
    return out


_TOKEN_LIKE = re.compile(r"(?i)(bearer\s+|token[\"':= ]+)[A-Za-z0-9._~+/=-]{8,}")


def _scrub(text: str) -> str:
    """Mask token-like values in text that did not pass through a :class:`redact.Redactor` (kubeconfig errors)."""
    return _TOKEN_LIKE.sub(lambda m: m.group(1) + redact.MASK, text)


class RestClient:
    """The real :class:`KubeClient`: one urllib3 pool from the kubeconfig's TLS settings, retries, discovery."""

    def __init__(
        self,
        configuration: Any,
        info: ClusterInfo,
        *,
        concurrency: int = 8,
        retry: RetryPolicy | None = None,
        secrets: list[str] | None = None,
        cache_path: Any = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        from kubernetes.client import rest

        self.info = info
        self.concurrency = max(1, concurrency)
        self.retry = retry or RetryPolicy()
        self.redactor = redact.Redactor(secrets or ())
        self._configuration = configuration
        # Room for the parallel requests of a phase plus the watches that stay open while they run.
        configuration.connection_pool_maxsize = self.concurrency + 8
        configuration.retries = False  # retries are ours (RetryPolicy), not urllib3's
        if not configuration.verify_ssl:
            import urllib3

            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self._pool = rest.RESTClientObject(configuration).pool_manager
        self._host = str(configuration.host).rstrip("/")
        self._sleep = sleep
        self._discovery = discovery.Discovery(self._get_document, cache_path)
        self.requests = 0  # requests sent (attempts included), for tests and benchmarks
        self._count_lock = threading.Lock()

    # --- KubeClient ----------------------------------------------------------------------------------------------

    def resource_for(self, api_version: str, kind: str) -> Resource | None:
        return self._discovery.resource_for(api_version, kind)

    def invalidate(self, api_version: str) -> None:
        self._discovery.invalidate(api_version)
        self._discovery.forget_groups()

    def served_groups(self) -> dict[str, list[str]]:
        return self._discovery.served_groups()

    def get(self, res: Resource, name: str, namespace: str = "") -> dict[str, Any] | None:
        try:
            return self._json("GET", res.path(namespace, name), verb="get", res=res, what=_what(res, namespace, name))
        except kerrors.NotFound:
            return None

    def list(
        self, res: Resource, namespace: str | None = None, *, label_selector: str = "", field_selector: str = ""
    ) -> ObjectList:
        items: list[dict[str, Any]] = []
        query: dict[str, str] = {"limit": "500"}
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        while True:
            page = self._json("GET", res.path(namespace), query, verb="list", res=res, what=res.qualified)
            kind = res.kind
            for item in page.get("items") or []:
                # List items carry no kind/apiVersion; give them back so that they are complete objects.
                item.setdefault("apiVersion", res.api_version)
                item.setdefault("kind", kind)
                items.append(item)
            meta = page.get("metadata") or {}
            token = meta.get("continue")
            if not token:
                return ObjectList(items, str(meta.get("resourceVersion") or ""))
            query["continue"] = str(token)

    def create(self, res: Resource, obj: Mapping[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        namespace = _namespace_of(obj)
        query = {"fieldManager": FIELD_MANAGER, **_dry(dry_run)}
        return self._json(
            "POST",
            res.path(namespace),
            query,
            body=json.dumps(obj).encode(),
            verb="create",
            res=res,
            what=_what(res, namespace, _name_of(obj)),
        )

    def replace(self, res: Resource, obj: Mapping[str, Any], *, dry_run: bool = False) -> dict[str, Any]:
        namespace, name = _namespace_of(obj), _name_of(obj)
        query = {"fieldManager": FIELD_MANAGER, **_dry(dry_run)}
        return self._json(
            "PUT",
            res.path(namespace, name),
            query,
            body=json.dumps(obj).encode(),
            verb="update",
            res=res,
            what=_what(res, namespace, name),
        )

    def apply(
        self, res: Resource, obj: Mapping[str, Any], *, force: bool = False, dry_run: bool = False
    ) -> dict[str, Any]:
        namespace, name = _namespace_of(obj), _name_of(obj)
        query = {"fieldManager": FIELD_MANAGER, "force": "true" if force else "false", **_dry(dry_run)}
        return self._json(
            "PATCH",
            res.path(namespace, name),
            query,
            body=json.dumps(obj).encode(),
            content_type=APPLY_PATCH,
            verb="patch",
            res=res,
            what=_what(res, namespace, name),
        )

    def delete(
        self,
        res: Resource,
        name: str,
        namespace: str = "",
        *,
        propagation: str = "Background",
        resource_version: str | None = None,
        dry_run: bool = False,
    ) -> bool:
        options: dict[str, Any] = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation}
        if resource_version:
            options["preconditions"] = {"resourceVersion": resource_version}
        if dry_run:
            options["dryRun"] = ["All"]
        try:
            self._json(
                "DELETE",
                res.path(namespace, name),
                _dry(dry_run),
                body=json.dumps(options).encode(),
                verb="delete",
                res=res,
                what=_what(res, namespace, name),
            )
        except kerrors.NotFound:
            return False
        return True

    def watch(
        self,
        res: Resource,
        namespace: str | None = None,
        *,
        label_selector: str = "",
        field_selector: str = "",
        resource_version: str = "",
        timeout_seconds: int = 300,
    ) -> Watch:
        query = {"watch": "true", "allowWatchBookmarks": "true", "timeoutSeconds": str(int(timeout_seconds))}
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        if resource_version:
            query["resourceVersion"] = resource_version
        response = self._send(
            "GET",
            res.path(namespace),
            query,
            verb="watch",
            res=res,
            what=res.qualified,
            stream=True,
            read_timeout=timeout_seconds + 30.0,
        )
        return _StreamWatch(response, self, res)

    def server_version(self) -> dict[str, Any]:
        return self._json("GET", "/version", verb="get", what="the server version")

    def close(self) -> None:
        self._pool.clear()

    # --- transport -----------------------------------------------------------------------------------------------

    def _get_document(self, path: str) -> dict[str, Any] | None:
        try:
            return self._json("GET", path, verb="get", what=f"discovery {path}")
        except kerrors.NotFound:
            return None

    def _json(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None = None,
        *,
        verb: str,
        what: str,
        **options: Unpack[_SendOptions],
    ) -> dict[str, Any]:
        response = self._send(method, path, query, verb=verb, what=what, **options)
        data = response.data
        try:
            document = json.loads(data) if data else {}
        except ValueError as exc:
            raise kerrors.ConnectionFailed(f"{verb} {what}: the server answered something that is not JSON") from exc
        if log.isEnabledFor(TRACE):
            log.log(TRACE, "response body: %s", self._redacted_json(document))
        return document if isinstance(document, dict) else {}

    def _headers(self, content_type: str) -> dict[str, str]:
        headers = {"Accept": JSON, "Content-Type": content_type, "User-Agent": "meshctl"}
        for setting in self._configuration.auth_settings().values():
            if setting.get("in") == "header" and setting.get("value"):
                value = str(setting["value"])
                self.redactor.add(value, value.split(" ", 1)[-1])  # a refreshed token is a new secret
                headers[str(setting["key"]).title()] = value
        if self._configuration.username or self._configuration.password:
            headers["Authorization"] = str(self._configuration.get_basic_auth_token())
        return headers

    def _send(
        self,
        method: str,
        path: str,
        query: Mapping[str, str] | None = None,
        *,
        body: bytes | None = None,
        content_type: str = JSON,
        verb: str,
        what: str,
        res: Resource | None = None,
        stream: bool = False,
        read_timeout: float = 60.0,
    ) -> Any:
        import urllib3

        url = self._host + path + ("?" + urllib.parse.urlencode(query) if query else "")
        deadline = time.monotonic() + self.retry.budget
        attempt = 0
        timeout = urllib3.Timeout(connect=10.0, read=read_timeout)
        if body is not None and log.isEnabledFor(TRACE):
            log.log(TRACE, "request body: %s", self._redacted_json(json.loads(body)))
        while True:
            attempt += 1
            started = time.monotonic()
            retry_after: float | None = None
            failure: kerrors.KubeError
            cause: BaseException | None = None
            try:
                with self._count_lock:
                    self.requests += 1
                response = self._pool.request(
                    method,
                    url,
                    body=body,
                    headers=self._headers(content_type),
                    timeout=timeout,
                    retries=False,
                    preload_content=not stream,
                )
            except urllib3.exceptions.HTTPError as exc:
                cause = exc
                failure = self._connection_error(exc, verb, what)
                log.debug("%s %s: %s", method, self._log_url(url), failure.message)
                if isinstance(exc, urllib3.exceptions.SSLError):
                    raise failure from exc  # a certificate problem does not go away by retrying
            else:
                status = int(response.status)
                log.debug("%s %s %d (%.0f ms)", method, self._log_url(url), status, (time.monotonic() - started) * 1000)
                if status < 400:
                    return response
                data = response.data if stream is False else response.read()
                if stream:
                    response.release_conn()
                failure = kerrors.from_status(
                    status,
                    self.redactor.text(data.decode("utf-8", "replace")) if data else None,
                    verb=verb,
                    what=what,
                    user=self.info.user,
                    resource=res.qualified if res else what,
                )
                if status not in RETRYABLE_STATUSES:
                    raise failure
                retry_after = _retry_after(response.headers.get("Retry-After"))
            delay = self.retry.delay(attempt, retry_after)
            if time.monotonic() + delay > deadline:
                if cause is not None:
                    raise failure from cause
                raise failure
            log.debug("retrying %s %s in %.2f s (attempt %d): %s", method, self._log_url(url), delay, attempt, failure)
            self._sleep(delay)

    def _connection_error(self, exc: Exception, verb: str, what: str) -> kerrors.ConnectionFailed:
        import urllib3

        reason = exc
        while isinstance(reason, urllib3.exceptions.MaxRetryError) and reason.reason is not None:
            reason = reason.reason
        text = self.redactor.text(str(reason))
        if isinstance(reason, urllib3.exceptions.SSLError):
            return kerrors.ConnectionFailed(
                f"{verb} {what}: TLS handshake with {self.info.server} failed: {text}",
                hint="the server's certificate is not trusted by the kubeconfig's certificate-authority",
            )
        return kerrors.ConnectionFailed(
            f"{verb} {what}: cannot reach the API server {self.info.server}: {text}",
            hint="check that the cluster is running and that --context/--kubeconfig point at it",
        )

    def _log_url(self, url: str) -> str:
        return self.redactor.text(url)

    def _redacted_json(self, document: Any) -> str:
        return self.redactor.text(json.dumps(redact.redact_object(document), sort_keys=True))


class _StreamWatch:
    """A :class:`Watch` over one streamed HTTP response of newline-delimited JSON events."""

    def __init__(self, response: Any, client: RestClient, res: Resource) -> None:
        self._response = response
        self._client = client
        self._res = res
        self._closed = threading.Event()

    def __enter__(self) -> _StreamWatch:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._closed.is_set():
            return
        self._closed.set()
        try:
            shutdown = getattr(self._response, "shutdown", None)
            if shutdown is not None:
                shutdown()  # unblocks a reader in another thread (urllib3 >= 2.3)
            self._response.release_conn()
        except Exception as exc:  # closing a dead connection can fail in many ways; it is closed either way
            log.debug("closing a watch: %s", exc)

    def __iter__(self) -> Iterator[WatchEvent]:
        buffer = b""
        try:
            for chunk in self._response.stream(65536, decode_content=True):
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield self._event(line)
        except kerrors.KubeError:
            raise
        except Exception as exc:  # the connection dropped (or close() cut it): the caller resumes
            if not self._closed.is_set():
                log.debug("watch of %s ended: %s", self._res.qualified, self._client.redactor.text(str(exc)))
        finally:
            self.close()

    def _event(self, line: bytes) -> WatchEvent:
        try:
            data = json.loads(line)
        except ValueError as exc:
            raise kerrors.ConnectionFailed(f"watch {self._res.qualified}: a malformed event") from exc
        kind = str(data.get("type", ""))
        obj = data.get("object") if isinstance(data.get("object"), dict) else {}
        if log.isEnabledFor(TRACE):
            log.log(TRACE, "watch event: %s", self._client._redacted_json(data))
        if kind == "ERROR":
            raise kerrors.from_status(
                int(obj.get("code") or 500), json.dumps(obj), verb="watch", what=self._res.qualified
            )
        obj.setdefault("apiVersion", self._res.api_version)
        obj.setdefault("kind", self._res.kind)
        return WatchEvent(kind, obj)


def _dry(dry_run: bool) -> dict[str, str]:
    return {"dryRun": "All"} if dry_run else {}


def _name_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("name") or "")


def _namespace_of(obj: Mapping[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("namespace") or "")


def _what(res: Resource, namespace: str | None, name: str) -> str:
    if namespace and res.namespaced:
        return f"{res.kind} {namespace}/{name}"
    return f"{res.kind} {name}"


def _retry_after(value: str | None) -> float | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return None
