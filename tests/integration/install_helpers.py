"""Helpers of the install tests: what `manifest generate` renders, what the cluster holds, what install sent."""

from __future__ import annotations

import decimal
import json
import pathlib
import re
import shutil
import threading
import urllib.parse
from collections.abc import Iterator, Mapping
from typing import Any

import yaml

from meshctl import objects
from meshctl.kube import inventory
from tests.apiserver.server import ApiServer
from tests.helpers import CliResult, run_cli

Identity = tuple[str, str, str, str]  # group, kind, namespace, name


def generate(*args: str) -> list[dict[str, Any]]:
    """The objects `meshctl manifest generate ARGS` prints."""
    out = run_cli("manifest", "generate", *args).stdout
    return [doc for doc in yaml.safe_load_all(out) if doc]


def identity(obj: Mapping[str, Any]) -> Identity:
    ref = objects.ObjectRef.from_object(obj)
    return ref.group, ref.kind, ref.namespace, ref.name


def read_back(backend: Any, docs: list[dict[str, Any]], tmp: Any) -> dict[Identity, dict[str, Any]]:
    """The live objects for ``docs``, read with the real kubectl (`kubectl get -f FILE -o json`)."""
    path = tmp / "rendered.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    listed = json.loads(backend.kubectl("get", "-f", str(path), "-o", "json").stdout)
    items = listed["items"] if listed.get("kind") == "List" else [listed]
    return {identity(item): item for item in items}


_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$")
_FACTORS = {
    "": 1, "m": decimal.Decimal("0.001"), "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15, "E": 10**18,
    "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60,
}  # fmt: skip


def _quantity(value: Any) -> decimal.Decimal | None:
    match = _QUANTITY.match(value) if isinstance(value, str) else None
    return decimal.Decimal(match.group(1)) * _FACTORS[match.group(2) or ""] if match else None


def missing_fields(want: Any, have: Any, path: str = "") -> list[str]:
    """Paths of rendered fields that the live object lacks or holds with another value.

    As a real API server stores them: resource quantities in canonical form (``2048Mi`` is ``2Gi``) and empty
    values omitted (Go's ``omitempty``: ``value: ""`` of an env var is not stored).
    """
    if isinstance(want, dict):
        if not isinstance(have, dict):
            return [f"{path}: expected a map, found {have!r}"]
        found: list[str] = []
        for key, value in want.items():
            if key not in have:
                if value not in ("", {}, [], None):
                    found.append(f"{path}.{key}: missing")
            else:
                found.extend(missing_fields(value, have[key], f"{path}.{key}"))
        return found
    if isinstance(want, list):
        if not isinstance(have, list) or len(have) != len(want):
            return [f"{path}: expected {len(want)} items, found {have!r}"[:300]]
        return [
            p for i, (a, b) in enumerate(zip(want, have, strict=True)) for p in missing_fields(a, b, f"{path}[{i}]")
        ]
    if want == have or (_quantity(want) is not None and _quantity(want) == _quantity(have)):
        return []
    return [f"{path}: expected {want!r}, found {have!r}"]


def inventory_members(backend: Any, namespace: str = "istio-system") -> dict[str, set[Identity]]:
    """Members of each meshctl inventory in ``namespace``, by parent name."""
    found: dict[str, set[Identity]] = {}
    for secret in backend.objects.list("secrets", namespace):
        if secret.get("type") == inventory.SECRET_TYPE:
            inv = inventory.decode(secret)
            found[inv.name] = {(m.group, m.kind, m.namespace, m.name) for m in inv.members}
    return found


def inventories(backend: Any, namespace: str = "istio-system") -> dict[str, inventory.Inventory]:
    return {
        s["metadata"]["name"]: inventory.decode(s)
        for s in backend.objects.list("secrets", namespace)
        if s.get("type") == inventory.SECRET_TYPE
    }


class BodyLog:
    """Records the bodies of the server-side applies the test API server receives (its request log has none)."""

    def __init__(self, api: ApiServer) -> None:
        self.applies: list[tuple[str, dict[str, str], dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._api = api
        self._inner = api._http.handler
        api._http.handler = self._handle

    def _handle(self, request: Any) -> Any:
        if request.method == "PATCH" and request.headers.get("content-type", "").startswith("application/apply-patch"):
            parsed = urllib.parse.urlsplit(request.target)
            query = dict(urllib.parse.parse_qsl(parsed.query))
            with self._lock:
                self.applies.append((parsed.path, query, json.loads(request.body)))
        return self._inner(request)

    def written(self) -> list[dict[str, Any]]:
        """The bodies of applies that were not dry runs."""
        return [body for _, query, body in self.applies if query.get("dryRun") != "All"]

    def restore(self) -> None:
        self._api._http.handler = self._inner

    def __enter__(self) -> BodyLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.restore()


def member_versions(api: ApiServer, docs: list[dict[str, Any]]) -> dict[Identity, str]:
    """The resourceVersion of every rendered object on the test API server."""
    versions = {}
    for doc in docs:
        ref = objects.ObjectRef.from_object(doc)
        plural = _plural(api, doc)
        live = api.objects.get(plural, ref.name, ref.namespace)
        assert live is not None, ref
        versions[identity(doc)] = live["metadata"]["resourceVersion"]
    return versions


def _plural(api: ApiServer, doc: Mapping[str, Any]) -> str:
    group, _, version = str(doc["apiVersion"]).rpartition("/")
    for rt in api.cluster.served_types():
        if rt.group == group and rt.version == version and rt.kind == doc["kind"]:
            return str(rt.plural)
    raise KeyError(doc["kind"])


def iter_lines(text: str) -> Iterator[str]:
    yield from (line for line in text.splitlines() if line.strip())


NAD_CRD = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "network-attachment-definitions.k8s.cni.cncf.io"},
    "spec": {
        "group": "k8s.cni.cncf.io",
        "scope": "Namespaced",
        "names": {
            "plural": "network-attachment-definitions",
            "singular": "network-attachment-definition",
            "kind": "NetworkAttachmentDefinition",
            "shortNames": ["net-attach-def"],
        },
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {"type": "object", "properties": {"config": {"type": "string"}}},
                        },
                    }
                },
            }
        ],
    },
}


def run_unchecked(*args: str, stdin: str = "", tty: bool = False) -> CliResult:
    """Run ``meshctl ARGS`` in-process without tests.helpers.run_cli's rule that stderr starts with ``error:``:
    install writes progress (and prompts) to stderr before an error can happen. The error line must still be there.
    """
    import contextlib
    import io
    import sys

    from meshctl.cli import app

    class _Stdin(io.StringIO):
        def isatty(self) -> bool:
            return tty

    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin
    sys.stdin = _Stdin(stdin)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = app.run(list(args))
    finally:
        sys.stdin = old
    result = CliResult(int(code), out.getvalue(), err.getvalue())
    if result.exit_code not in (0, 1):
        # A prompt answered on a terminal ends its line with the user's echoed answer; here the stream is not echoed.
        lines = [line.split("(y/N) ")[-1] for line in result.stderr.splitlines()]
        assert any(line.startswith("error: ") for line in lines), result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    return result


REPO = pathlib.Path(__file__).resolve().parents[2]


def with_telemetry(tmp_path: pathlib.Path) -> pathlib.Path:
    """A --manifests DIR whose pilot also renders a custom resource of one of the base CRDs (a Telemetry)."""
    target = tmp_path / "manifests"
    shutil.copytree(REPO / "manifests", target)
    shutil.copytree(REPO / "profiles", target / "profiles")
    (target / "pilot" / "telemetry.yaml.j2").write_text(
        "apiVersion: telemetry.istio.io/v1\n"
        "kind: Telemetry\n"
        "metadata:\n"
        "  name: mesh-default\n"
        "  namespace: {{ namespace }}\n"
        "spec:\n"
        "  accessLogging:\n"
        "  - providers:\n"
        "    - name: envoy\n"
    )
    return target
