"""A minimal HTTP client for the server's own tests: exact requests, exact responses (status, headers, JSON)."""

from __future__ import annotations

import dataclasses
import http.client
import json
import ssl
from typing import Any

from tests.apiserver.server import ApiServer


def encode_body(body: Any) -> bytes | None:
    """A request body as bytes: None stays None, text is UTF-8, bytes pass, anything else is JSON."""
    if body is None or isinstance(body, bytes):
        return body
    return body.encode() if isinstance(body, str) else json.dumps(body).encode()


@dataclasses.dataclass
class Reply:
    status: int
    body: Any
    headers: http.client.HTTPMessage
    raw: bytes

    @property
    def rv(self) -> str:
        return str(self.body["metadata"]["resourceVersion"])


class Client:
    """One keep-alive connection to an `ApiServer` with its token (or another user's)."""

    def __init__(self, api: ApiServer, token: str | None = None, timeout: float = 10.0) -> None:
        self.api = api
        self.token = api.token if token is None else token
        if api.tls:
            context = ssl.create_default_context(cafile=str(api.ca_path))
            self.conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                api.host, api.port, context=context, timeout=timeout
            )
        else:
            self.conn = http.client.HTTPConnection(api.host, api.port, timeout=timeout)

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
    ) -> Reply:
        data = encode_body(body)
        all_headers = {"Accept": "application/json", **(headers or {})}
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        if data is not None:
            all_headers["Content-Type"] = content_type
        self.conn.request(method, path, body=data, headers=all_headers)
        response = self.conn.getresponse()
        raw = response.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return Reply(response.status, parsed, response.headers, raw)

    def get(self, path: str) -> Reply:
        return self.request("GET", path)

    def post(self, path: str, body: Any) -> Reply:
        return self.request("POST", path, body)

    def put(self, path: str, body: Any) -> Reply:
        return self.request("PUT", path, body)

    def delete(self, path: str, body: Any = None) -> Reply:
        return self.request("DELETE", path, body)

    def patch(self, path: str, body: Any, content_type: str = "application/merge-patch+json") -> Reply:
        return self.request("PATCH", path, body, content_type)

    def apply(self, path: str, body: Any, manager: str = "test", force: bool = False, extra: str = "") -> Reply:
        sep = "&" if "?" in path else "?"
        query = f"{sep}fieldManager={manager}" + ("&force=true" if force else "") + extra
        return self.request("PATCH", path + query, body, "application/apply-patch+yaml")


def configmap(name: str, namespace: str = "default", data: dict[str, str] | None = None, **meta: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace, **meta},
        "data": data if data is not None else {"k": "v"},
    }


def deployment(
    name: str = "web", namespace: str = "default", replicas: int | None = 2, image: str = "nginx:1.27"
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "selector": {"matchLabels": {"app": name}},
        "template": {
            "metadata": {"labels": {"app": name}},
            "spec": {"containers": [{"name": "app", "image": image, "ports": [{"containerPort": 8080}]}]},
        },
    }
    if replicas is not None:
        spec["replicas"] = replicas
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


def crd(
    plural: str = "widgets", group: str = "example.com", kind: str = "Widget", scope: str = "Namespaced"
) -> dict[str, Any]:
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{plural}.{group}"},
        "spec": {
            "group": group,
            "scope": scope,
            "names": {"plural": plural, "singular": kind.lower(), "kind": kind, "shortNames": ["wd"]},
            "versions": [
                {
                    "name": "v1",
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [{"name": "Size", "type": "integer", "jsonPath": ".spec.size"}],
                    "schema": {
                        "openAPIV3Schema": {
                            "type": "object",
                            "properties": {
                                "spec": {
                                    "type": "object",
                                    "properties": {
                                        "size": {"type": "integer", "default": 1, "minimum": 0},
                                        "color": {"type": "string", "enum": ["red", "blue"]},
                                        "tags": {"type": "array", "items": {"type": "string"}},
                                        "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                                    },
                                },
                                "status": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                            },
                        }
                    },
                }
            ],
        },
    }


def widget(name: str = "w1", namespace: str = "default", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "example.com/v1",
        "kind": "Widget",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }


CM = "/api/v1/namespaces/default/configmaps"
DEPLOY = "/apis/apps/v1/namespaces/default/deployments"
CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"
WIDGETS = "/apis/example.com/v1/namespaces/default/widgets"
