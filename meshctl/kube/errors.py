"""The Kubernetes error tree: every failure of the client layer, built from the API's ``Status`` body.

No exception type of the client library (``kubernetes``, ``urllib3``) leaves :mod:`meshctl.kube`: the one boundary
in :mod:`meshctl.kube.client` turns them into these, chained with ``from``. All are :class:`meshctl.errors.ClusterError`
(exit 4) except :class:`FieldConflict` (exit 8: another field manager owns a field meshctl wants to set).

::

    ClusterError (meshctl.errors)         exit 4
    └── KubeError
        ├── ConfigError                   kubeconfig missing or unusable, unknown context
        ├── ConnectionFailed              unreachable, connection dropped, timed out (after retries)
        └── ApiError                      the server answered with a Status: code, reason, message, details
            ├── BadRequest        400
            ├── Unauthorized      401
            ├── Forbidden         403     hint names verb, resource and user
            ├── NotFound          404
            ├── Conflict          409
            │   ├── AlreadyExists         reason AlreadyExists
            │   └── FieldConflict         server-side apply conflicts (exit 8), one per field with its manager
            ├── Gone              410     a watch or continue token too old (Expired)
            ├── Invalid           422
            ├── TooManyRequests   429
            └── ServerError       5xx
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any

from meshctl import errors


class KubeError(errors.ClusterError):
    """Base of the client layer's errors."""


class ConfigError(KubeError):
    """No usable kubeconfig, or the requested context does not exist."""


class ConnectionFailed(KubeError):
    """The API server could not be reached (or the connection broke) and retries did not help."""


@dataclasses.dataclass(frozen=True)
class FieldOwner:
    """One field of a server-side apply conflict and the manager that owns it."""

    field: str
    manager: str


class ApiError(KubeError):
    """The API server answered with an error ``Status``."""

    def __init__(
        self,
        message: str,
        *,
        code: int,
        reason: str = "",
        details: Mapping[str, Any] | None = None,
        verb: str = "",
        what: str = "",
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.code = code
        self.reason = reason
        self.details: dict[str, Any] = dict(details or {})
        self.verb = verb
        self.what = what  # the request's object, e.g. "Deployment istio-system/istiod"

    @property
    def causes(self) -> list[dict[str, Any]]:
        return [c for c in self.details.get("causes") or [] if isinstance(c, dict)]


class BadRequest(ApiError):
    pass


class Unauthorized(ApiError):
    pass


class Forbidden(ApiError):
    pass


class NotFound(ApiError):
    pass


class Conflict(ApiError):
    pass


class AlreadyExists(Conflict):
    pass


class FieldConflict(Conflict):
    """Server-side apply refused: fields are owned by other managers (``--force-conflicts`` takes them over)."""

    exit_code = errors.ExitCode.CONFLICT

    @property
    def owners(self) -> list[FieldOwner]:
        """Each conflicting field with its owning manager, from the Status causes (or, failing that, the message)."""
        found: list[FieldOwner] = []
        for cause in self.causes:
            if cause.get("type") == "FieldManagerConflict":
                match = _MANAGER.search(str(cause.get("message", "")))
                found.append(FieldOwner(str(cause.get("field", "")), match.group(1) if match else "?"))
        if not found:
            for match in _MESSAGE_CONFLICT.finditer(self.message):
                found.append(FieldOwner(match.group(2), match.group(1)))
        return found


class Gone(ApiError):
    pass


class Invalid(ApiError):
    pass


class TooManyRequests(ApiError):
    pass


class ServerError(ApiError):
    pass


_USER = re.compile(r'User "([^"]*)"')
_MANAGER = re.compile(r'conflict with "([^"]*)"')
_MESSAGE_CONFLICT = re.compile(r'conflict with "([^"]*)"[^:]*: (\S+)')

_BY_CODE: dict[int, type[ApiError]] = {
    400: BadRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    410: Gone,
    422: Invalid,
    429: TooManyRequests,
}


def parse_status(body: bytes | str | None) -> dict[str, Any]:
    """The ``Status`` object of an error response body, or ``{}`` when the body is not one."""
    if not body:
        return {}
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) and data.get("kind") == "Status" else {}


def from_status(
    code: int,
    body: bytes | str | None,
    *,
    verb: str = "",
    what: str = "",
    user: str = "",
    resource: str = "",
) -> ApiError:
    """The error for an HTTP status and its ``Status`` body; ``verb``/``what``/``user`` make messages and hints."""
    status = parse_status(body)
    code = int(status.get("code") or code)
    reason = str(status.get("reason") or "")
    message = str(status.get("message") or "") or _default_message(code)
    details = status.get("details") if isinstance(status.get("details"), dict) else {}
    cls: type[ApiError]
    if code == 409 and reason == "AlreadyExists":
        cls = AlreadyExists
    elif code == 409 and (_has_field_conflicts(details) or message.startswith("Apply failed")):
        cls = FieldConflict
    elif code >= 500:
        cls = ServerError
    else:
        cls = _BY_CODE.get(code, ApiError)
    text = f"{verb} {what}: {message}" if verb and what else message
    said = _USER.search(message)
    if said:
        user = said.group(1)  # who the server says we are beats the kubeconfig's name for the user
    hint = _hint(cls, verb=verb, resource=resource, user=user, what=what)
    return cls(text, code=code, reason=reason, details=details, verb=verb, what=what, hint=hint)


def _has_field_conflicts(details: Mapping[str, Any] | None) -> bool:
    causes = (details or {}).get("causes") or []
    return any(isinstance(c, dict) and c.get("type") == "FieldManagerConflict" for c in causes)


def _default_message(code: int) -> str:
    return {
        400: "bad request",
        401: "unauthorized",
        403: "forbidden",
        404: "not found",
        409: "conflict",
        410: "gone",
        422: "invalid",
        429: "too many requests",
    }.get(code, f"the server answered HTTP {code}")


def _hint(cls: type[ApiError], *, verb: str, resource: str, user: str, what: str) -> str | None:
    if cls is Forbidden:
        who = f'user "{user}"' if user else "your user"
        return (
            f"{who} may not {verb or 'access'} {resource or 'this resource'}; ask a cluster admin for that "
            "permission, or use --context/--kubeconfig for a user who has it"
        )
    if cls is Unauthorized:
        return "the credentials of the kubeconfig were refused: log in again, or pick another --context"
    if cls is FieldConflict:
        return "pass --force-conflicts to take these fields over"
    return None
