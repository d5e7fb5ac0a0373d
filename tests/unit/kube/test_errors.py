"""The error tree is built from the Status body; each code gets its class, message, hint and exit code."""

from __future__ import annotations

import json

import pytest

from meshctl import errors
from meshctl.kube import errors as kerrors


def status(code: int, reason: str, message: str, **details: object) -> bytes:
    return json.dumps(
        {"kind": "Status", "code": code, "reason": reason, "message": message, "details": details}
    ).encode()


@pytest.mark.parametrize(
    ("code", "reason", "cls"),
    [
        (400, "BadRequest", kerrors.BadRequest),
        (401, "Unauthorized", kerrors.Unauthorized),
        (403, "Forbidden", kerrors.Forbidden),
        (404, "NotFound", kerrors.NotFound),
        (409, "AlreadyExists", kerrors.AlreadyExists),
        (409, "Conflict", kerrors.Conflict),
        (410, "Expired", kerrors.Gone),
        (422, "Invalid", kerrors.Invalid),
        (429, "TooManyRequests", kerrors.TooManyRequests),
        (500, "InternalError", kerrors.ServerError),
        (503, "ServiceUnavailable", kerrors.ServerError),
        (418, "Teapot", kerrors.ApiError),
    ],
)
def test_status_codes_map_to_classes_with_exit_4(code: int, reason: str, cls: type[kerrors.ApiError]) -> None:
    exc = kerrors.from_status(code, status(code, reason, "it failed"), verb="get", what="ConfigMap a/b")
    assert type(exc) is cls
    assert exc.code == code
    assert exc.reason == reason
    assert exc.message == "get ConfigMap a/b: it failed"
    assert exc.exit_code == errors.ExitCode.CLUSTER
    assert isinstance(exc, errors.ClusterError)


def test_field_conflicts_name_field_and_manager_and_exit_8() -> None:
    body = status(
        409,
        "Conflict",
        'Apply failed with 1 conflict: conflict with "kubectl-edit" using v1: .data.mesh',
        causes=[
            {"type": "FieldManagerConflict", "message": 'conflict with "kubectl-edit" using v1', "field": ".data.mesh"}
        ],
    )
    exc = kerrors.from_status(409, body, verb="patch", what="ConfigMap istio-system/istio")
    assert isinstance(exc, kerrors.FieldConflict)
    assert exc.owners == [kerrors.FieldOwner(".data.mesh", "kubectl-edit")]
    assert exc.exit_code == errors.ExitCode.CONFLICT
    assert exc.hint == "pass --force-conflicts to take these fields over"


def test_field_conflicts_from_the_message_alone() -> None:
    body = status(409, "Conflict", 'Apply failed with 1 conflict: conflict with "helm" using apps/v1: .spec.replicas')
    exc = kerrors.from_status(409, body)
    assert isinstance(exc, kerrors.FieldConflict)
    assert exc.owners == [kerrors.FieldOwner(".spec.replicas", "helm")]


def test_forbidden_hint_names_verb_resource_and_the_user_the_server_saw() -> None:
    body = status(
        403, "Forbidden", 'leases.coordination.k8s.io is forbidden: User "ci" cannot create resource "leases"'
    )
    exc = kerrors.from_status(
        403, body, verb="create", what="Lease x", user="kubeconfig-name", resource="leases.coordination.k8s.io"
    )
    assert exc.hint is not None
    assert exc.hint.startswith('user "ci" may not create leases.coordination.k8s.io')


def test_a_body_that_is_not_a_status() -> None:
    exc = kerrors.from_status(502, b"<html>bad gateway</html>")
    assert isinstance(exc, kerrors.ServerError)
    assert exc.message == "the server answered HTTP 502"
    assert kerrors.parse_status(b"not json") == {}
    assert kerrors.parse_status(None) == {}
