"""API errors as Kubernetes `Status` objects."""

from __future__ import annotations

from typing import Any

REASONS = {
    400: "BadRequest",
    401: "Unauthorized",
    403: "Forbidden",
    404: "NotFound",
    405: "MethodNotAllowed",
    406: "NotAcceptable",
    409: "Conflict",
    410: "Expired",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    429: "TooManyRequests",
    500: "InternalError",
    503: "ServiceUnavailable",
    504: "Timeout",
}


class ApiError(Exception):
    """An error answered as a `Status` object with `code`, `reason`, `message` and `details`."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        *,
        name: str | None = None,
        group: str | None = None,
        kind: str | None = None,
        causes: list[dict[str, Any]] | None = None,
        retry_after: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details: dict[str, Any] = {}
        if name:  # omitted when empty (omitempty)
            self.details["name"] = name
        if group:  # omitted when empty, as kube-apiserver's omitempty does
            self.details["group"] = group
        if kind is not None:
            self.details["kind"] = kind
        if causes:
            self.details["causes"] = causes
        if retry_after is not None:
            self.details["retryAfterSeconds"] = retry_after
        self.headers = dict(headers or {})
        self.empty_details = False  # answer `"details": {}` (kube-apiserver does for some errors)
        if retry_after is not None:
            self.headers["Retry-After"] = str(retry_after)

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details or self.empty_details:
            body["details"] = self.details
        return body


def not_found(qualified: str, name: str, group: str, kind: str) -> ApiError:
    return ApiError(404, "NotFound", f'{qualified} "{name}" not found', name=name, group=group, kind=kind)


def already_exists(qualified: str, name: str, group: str, kind: str) -> ApiError:
    return ApiError(409, "AlreadyExists", f'{qualified} "{name}" already exists', name=name, group=group, kind=kind)


def conflict(qualified: str, name: str, group: str, kind: str, detail: str) -> ApiError:
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified} "{name}": {detail}',
        name=name,
        group=group,
        kind=kind,
    )


def unknown_path() -> ApiError:
    """kube-apiserver's 404 for a path that names no served resource (not a missing object)."""
    return ApiError(404, "NotFound", "the server could not find the requested resource")


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def invalid(kind: str, group: str, name: str, causes: list[dict[str, Any]]) -> ApiError:
    """422 Invalid; the message lists the causes as kube-apiserver does."""
    qualified = f"{kind}.{group}" if group else kind
    parts = [f"{c['field']}: {c['message']}" if c.get("field") else c["message"] for c in causes]
    text = parts[0] if len(parts) == 1 else "[" + ", ".join(parts) + "]"
    return ApiError(
        422, "Invalid", f'{qualified} "{name}" is invalid: {text}', name=name, group=group, kind=kind, causes=causes
    )
