"""A small Kubernetes REST client over HTTPS with a client certificate or a bearer token: what the cluster's own
setup, readiness checks and per-test resets need, plus resource paths from discovery."""

from __future__ import annotations

import builtins
import http.client
import json
import pathlib
import ssl
import threading
import time
import urllib.parse
from collections.abc import Callable
from typing import Any


class ApiError(RuntimeError):
    def __init__(self, method: str, path: str, status: int, body: Any) -> None:
        message = body.get("message") if isinstance(body, dict) else body
        super().__init__(f"{method} {path}: {status} {message}")
        self.status = status
        self.body = body


def ssl_context(
    ca_path: pathlib.Path, cert_path: pathlib.Path | None = None, key_path: pathlib.Path | None = None
) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(ca_path))
    if cert_path is not None:
        context.load_cert_chain(str(cert_path), str(key_path) if key_path else None)
    return context


class Rest:
    """One keep-alive connection (reopened when it breaks), serialised by a lock: enough for setup and checks."""

    def __init__(
        self, host: str, port: int, context: ssl.SSLContext, token: str | None = None, timeout: float = 30.0
    ) -> None:
        self.host, self.port, self.context, self.token, self.timeout = host, port, context, token, timeout
        self._lock = threading.Lock()
        self._conn: http.client.HTTPSConnection | None = None
        self._paths: dict[str, tuple[str, bool]] = {}  # plural (or plural.group) -> (collection prefix, namespaced)

    def __enter__(self) -> Rest:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        query: dict[str, str] | None = None,
    ) -> tuple[int, Any]:
        """(status, parsed JSON or text). Never raises for an HTTP status; retries once on a dropped connection."""
        if query:
            path = f"{path}?{urllib.parse.urlencode(query)}"
        data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = content_type
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        with self._lock:
            for attempt in range(2):
                if self._conn is None:
                    self._conn = http.client.HTTPSConnection(
                        self.host, self.port, context=self.context, timeout=self.timeout
                    )
                try:
                    self._conn.request(method, path, body=data, headers=headers)
                    response = self._conn.getresponse()
                    raw = response.read()
                    break
                except (OSError, http.client.HTTPException):
                    self._conn.close()
                    self._conn = None
                    if attempt:
                        raise
        try:
            return response.status, json.loads(raw) if raw else None
        except ValueError:
            return response.status, raw.decode(errors="replace")

    def call(self, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
        """The parsed body of a 2xx answer; `ApiError` otherwise."""
        status, parsed = self.request(method, path, body, **kwargs)
        if not 200 <= status < 300:
            raise ApiError(method, path, status, parsed)
        return parsed

    # --- objects -------------------------------------------------------------------------------------------------

    def collection(self, resource: str, namespace: str | None = None) -> str:
        """The collection path of `resource` (a plural, or `plural.group` where plurals clash), from discovery."""
        if resource not in self._paths:
            self._discover()
        if resource not in self._paths:
            self._discover(force=True)
        try:
            prefix, namespaced = self._paths[resource]
        except KeyError:
            raise KeyError(f"the API server serves no resource {resource!r}") from None
        if namespaced and namespace:
            return f"{prefix}/namespaces/{namespace}/{resource.split('.', 1)[0]}"
        return f"{prefix}/{resource.split('.', 1)[0]}"

    def namespaced(self, resource: str) -> bool:
        self.collection(resource)
        return self._paths[resource][1]

    def _discover(self, force: bool = False) -> None:
        if self._paths and not force:
            return
        paths: dict[str, tuple[str, bool]] = {}
        versions = [("", "/api/v1")]
        for group in self.call("GET", "/apis")["groups"]:
            versions.append((group["name"], f"/apis/{group['preferredVersion']['groupVersion']}"))
        for group, prefix in versions:
            status, listing = self.request("GET", prefix)
            if status != 200:  # an aggregated API that is not available
                continue
            for item in listing["resources"]:
                if "/" in item["name"]:
                    continue
                entry = (prefix, bool(item["namespaced"]))
                paths[f"{item['name']}.{group}" if group else item["name"]] = entry
                paths.setdefault(item["name"], entry)
        self._paths = paths

    def get(self, resource: str, name: str, namespace: str = "") -> dict[str, Any] | None:
        status, body = self.request("GET", f"{self.collection(resource, namespace)}/{name}")
        if status == 404:
            return None
        if status != 200:
            raise ApiError("GET", f"{resource}/{name}", status, body)
        result: dict[str, Any] = body
        return result

    def list(
        self, resource: str, namespace: str | None = None, label_selector: str | None = None
    ) -> list[dict[str, Any]]:
        query = {"labelSelector": label_selector} if label_selector else None
        items: list[dict[str, Any]] = self.call("GET", self.collection(resource, namespace), query=query)["items"]
        return items

    def names(self, resource: str, namespace: str | None = None) -> builtins.list[str]:
        return sorted(item["metadata"]["name"] for item in self.list(resource, namespace))

    def create(self, resource: str, obj: dict[str, Any], namespace: str = "") -> dict[str, Any]:
        created: dict[str, Any] = self.call("POST", self.collection(resource, namespace), obj)
        return created

    def apply(self, resource: str, obj: dict[str, Any], manager: str = "meshctl-test") -> dict[str, Any]:
        """Server-side apply (force)."""
        namespace = obj["metadata"].get("namespace", "")
        path = f"{self.collection(resource, namespace)}/{obj['metadata']['name']}"
        applied: dict[str, Any] = self.call(
            "PATCH",
            path,
            json.dumps(obj).encode(),
            content_type="application/apply-patch+yaml",
            query={"fieldManager": manager, "force": "true"},
        )
        return applied

    def delete(self, resource: str, name: str, namespace: str = "", propagation: str | None = "Background") -> bool:
        """True if it was there (404 is fine)."""
        body = {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation} if propagation else None
        status, parsed = self.request("DELETE", f"{self.collection(resource, namespace)}/{name}", body)
        if status == 404:
            return False
        if not 200 <= status < 300:
            raise ApiError("DELETE", f"{resource}/{name}", status, parsed)
        return True


def poll(check: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Call `check` until it returns something truthy (returned), or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            result = check()
            if result:
                return result
        except (OSError, ApiError, http.client.HTTPException) as exc:
            last_error = exc
        if time.monotonic() > deadline:
            suffix = f" (last error: {last_error})" if last_error else ""
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}{suffix}")
        time.sleep(interval)
