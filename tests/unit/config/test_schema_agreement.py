"""The validator and the shipped schema cannot disagree.

meshctl validates with ``jsonschema`` against the schema file ``meshctl profile schema`` prints
(``meshctl/config/schemacheck.py``). Here the other side is *plain* jsonschema: ``Draft202012Validator`` over the
file read afresh, with meshctl's format checker (JSON Schema's ``format`` asserts only with one). On documents
generated from the schema itself — valid and invalid values, typos, unknown keys, nulls:

- every document meshctl accepts is valid per plain jsonschema (nulls, which meshctl treats as unset, removed);
- every error meshctl reports is a plain jsonschema error at the same path and keyword, but for meshctl's two
  documented extras: a likely typo under ``x-meshctl-unknown`` (a keyword plain jsonschema ignores) and an integral
  float where the schema says ``integer`` (draft 2020-12 counts ``2.0`` as an integer; meshctl does not);
- every plain jsonschema error is reported by meshctl at the same path.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import meshctl.config
from meshctl.config import layering, profiles, schema, schemacheck, schemagate

SHIPPED_FILE = Path(meshctl.config.__file__).with_name("istiooperator.schema.json")
SHIPPED = json.loads(SHIPPED_FILE.read_text(encoding="utf-8"))
PLAIN = jsonschema.Draft202012Validator(SHIPPED, format_checker=schemacheck.format_checker())

#: Per format: values it accepts, values it rejects.
FORMAT_SAMPLES: dict[str, tuple[list[Any], list[Any]]] = {
    "quantity": (["100m", "0.5", "128Mi", "2Gi", "1e3", "", 2, 0.25], ["lots", "-", "1.5.5", -1]),
    "dns1123-label": (["istio-system", "canary", "a", ""], ["Canary", "-x", "x-", "a" * 64, "a.b"]),
    "dns1123-subdomain": (["istio-ingressgateway", "a.b.c", ""], ["Bad_Name", "a..b", "x" * 254]),
    "image-hub": (["docker.io/istio", "gcr.io/x/y", "localhost:5000/a", ""], ["docker.io/Istio", "a b", "/x"]),
    "image-tag": (["1.30.3", "latest", "1.30.3-distroless", ""], ["-x", ".x", "a/b", "x" * 129]),
    "cidr-list": (["*", "10.0.0.0/8", "10.0.0.0/8, 192.168.0.0/16", ""], ["10.0.0.0/8,1.2.3/16", "x"]),
    "port-list": (["*", "22,80", "15020", ""], ["222x", "70000", "-1"]),
}
ANYTHING = st.one_of(
    st.booleans(),
    st.integers(-3, 70000),
    st.sampled_from([2.0, 0.0, 1.5, -0.5]),
    st.text(max_size=4),
    st.sampled_from(["", "true", "1.30", "Always", "istio-system"]),
    st.just([]),
    st.just({}),
    st.lists(st.integers(0, 3), max_size=2),
    st.dictionaries(st.sampled_from(["a", "name", "enabled"]), st.integers(0, 3), max_size=2),
)
UNKNOWN_KEYS = st.sampled_from(["somethingNew", "x", "zz-top", "a.b", "enabeld", "Enabled"])


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = SHIPPED["$defs"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def typo(key: str, where: int) -> str:
    """A likely misspelling of ``key``: two neighbouring letters swapped, or one dropped."""
    if len(key) < 3:
        return key + "x"
    i = where % (len(key) - 1)
    if where % 2:
        return key[:i] + key[i + 1] + key[i] + key[i + 2 :]
    return key[:i] + key[i + 1 :]


@st.composite
def value_for(draw: st.DrawFn, node: dict[str, Any], depth: int, wild: bool, nulls: bool) -> Any:
    """A value for a schema node: of its type and valid unless ``wild`` (then sometimes anything, sometimes out of
    range, misspelt or unknown keys); ``null`` now and then with ``nulls``."""
    node = resolve(node)
    if nulls and draw(st.integers(0, 15)) == 0:
        return None
    if wild and draw(st.integers(0, 14)) == 0:
        return draw(ANYTHING)
    declared = node.get("type", ["string", "integer", "boolean", "object", "array"])
    kind = draw(st.sampled_from([declared] if isinstance(declared, str) else declared))
    if depth > 8 and kind in ("object", "array"):
        return {} if kind == "object" else []
    if "format" in node and kind in ("string", "number"):
        good, bad = FORMAT_SAMPLES[node["format"]]
        return draw(st.sampled_from(good + bad if wild else good))
    if kind == "string":
        if "enum" in node:
            return draw(st.sampled_from(node["enum"] + ["always", "x"] if wild else node["enum"]))
        return draw(st.text(max_size=6))
    if kind == "integer":
        slack = 2 if wild else 0
        return draw(st.integers(node.get("minimum", -5) - slack, node.get("maximum", 100) + slack))
    if kind == "number":
        return draw(st.one_of(st.integers(-3, 3), st.floats(-10, 10, allow_nan=False)))
    if kind == "boolean":
        return draw(st.booleans())
    if kind == "array":
        items = node.get("items")
        element = value_for(items, depth + 1, wild, nulls) if isinstance(items, dict) else ANYTHING
        return draw(st.lists(element, max_size=2))
    return draw(map_for(node, depth, wild, nulls))


@st.composite
def map_for(draw: st.DrawFn, node: dict[str, Any], depth: int, wild: bool, nulls: bool) -> dict[str, Any]:
    known: dict[str, Any] = node.get("properties") or {}
    extra = node.get("additionalProperties", True)
    out: dict[str, Any] = {}
    if known:
        keys = st.lists(st.sampled_from(sorted(known)), min_size=1 if depth < 3 else 0, max_size=4, unique=True)
        for key in draw(keys):
            out[key] = draw(value_for(known[key], depth + 1, wild, nulls))
    if not wild:
        for key in node.get("required", ()):
            out.setdefault(key, draw(value_for(known[key], depth + 1, wild, nulls=False)))
    if isinstance(extra, dict):  # a typed map: any key
        for key in draw(st.lists(UNKNOWN_KEYS, max_size=2, unique=True)):
            out[key] = draw(value_for(extra, depth + 1, wild, nulls))
    elif wild and draw(st.integers(0, 4)) == 0:  # misspelt or unknown keys
        for _ in range(draw(st.integers(1, 2))):
            if known and draw(st.booleans()):
                key = typo(draw(st.sampled_from(sorted(known))), draw(st.integers(0, 20)))
            else:
                key = draw(UNKNOWN_KEYS)
            out[key] = draw(ANYTHING)
    return out


@st.composite
def documents(draw: st.DrawFn, *, nulls: bool) -> dict[str, Any]:
    """An IstioOperator document; its spec has at least one of components, values and meshConfig."""
    wild = draw(st.booleans())
    spec_node = resolve(SHIPPED["properties"]["spec"])
    spec = draw(map_for(spec_node, 1, wild, nulls))
    big = draw(st.sampled_from(["components", "values", "meshConfig"]))
    if big not in spec:
        spec[big] = draw(value_for(spec_node["properties"][big], 2, wild, nulls))
    outside = draw(map_for(SHIPPED, 1, wild, nulls))
    outside.pop("spec", None)
    return {**outside, "spec": spec}


def without_nulls(tree: Any) -> Any:
    """Nulls removed: map entries dropped, list items dropped (``items`` is the only list keyword in the schema)."""
    if isinstance(tree, dict):
        return {k: without_nulls(v) for k, v in tree.items() if v is not None}
    if isinstance(tree, list):
        return [without_nulls(v) for v in tree if v is not None]
    return tree


def at(tree: Any, path: tuple[Any, ...]) -> Any:
    for segment in path:
        tree = tree[segment]
    return tree


def plain_errors(document: dict[str, Any]) -> list[Any]:
    return list(PLAIN.iter_errors(schemacheck.checked_document(document)))


def _settings(examples: int) -> Any:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


@_settings(400)
@given(documents(nulls=True))
def test_every_document_meshctl_accepts_is_valid_per_jsonschema(document: dict[str, Any]) -> None:
    found = schemacheck.problems(document)
    if not [p for p in found if not p.warning]:
        assert plain_errors(without_nulls(document)) == []


@_settings(400)
@given(documents(nulls=False))
def test_errors_of_meshctl_and_jsonschema_correspond(document: dict[str, Any]) -> None:
    checked = schemacheck.checked_document(document)
    plain = {(tuple(e.absolute_path), e.validator) for e in plain_errors(document)}
    found = [p for p in schemacheck.problems(document) if not p.warning]
    for problem in found:
        if (problem.error_path, problem.keyword) in plain:
            continue
        if problem.keyword == schema.UNKNOWN_KEYWORD:
            assert "unknown key (did you mean" in problem.message  # a likely typo: meshctl's own keyword
            assert all(path != problem.error_path for path, _ in plain)  # plain jsonschema lets the key through
        else:
            value = at(checked, problem.error_path)
            assert problem.keyword == "type", problem
            assert isinstance(value, float), problem
            assert value.is_integer(), problem  # 2.0 where an integer belongs
    reported = {p.error_path for p in found}
    for path, keyword in plain:
        assert path in reported, (path, keyword)


def test_the_extras_are_exactly_the_two_documented_ones() -> None:
    typo_and_float = {
        "spec": {
            "components": {"pilot": {"k8s": {"replicaCount": 2.0}}},
            "values": {"pilot": {"autoscaleEnable": True}},
        }
    }
    assert plain_errors(typo_and_float) == []
    assert [(p.message, p.keyword) for p in schemacheck.problems(typo_and_float)] == [
        ("components.pilot.k8s.replicaCount: expected an integer, got a number (2.0)", "type"),
        (
            "values.pilot.autoscaleEnable: unknown key (did you mean values.pilot.autoscaleEnabled?)",
            "x-meshctl-unknown",
        ),
    ]


@pytest.mark.parametrize("name", profiles.list_profiles())
def test_every_profile_is_accepted_by_both(name: str) -> None:
    iop = layering.build_effective_config(layering.ConfigInput(profile=name)).iop
    assert schemacheck.problems(iop) == []
    assert plain_errors(iop) == []


def test_every_format_of_the_schema_has_a_check() -> None:
    def formats(node: Any) -> Iterator[str]:
        if isinstance(node, dict):
            if isinstance(node.get("format"), str):
                yield node["format"]
            for value in node.values():
                yield from formats(value)
        elif isinstance(node, list):
            for value in node:
                yield from formats(value)

    used = set(formats(SHIPPED))
    assert used == set(schemacheck.FORMATS) == set(schemacheck.format_checker().checkers)


# --- one source of truth ---------------------------------------------------------------------------------------


def test_the_validator_uses_the_document_loaded_from_the_shipped_file() -> None:
    assert schema.SCHEMA_FILE == SHIPPED_FILE
    assert schemacheck.validator().schema is schema.shipped()
    assert schema.shipped() == SHIPPED
    assert schema.document() == SHIPPED  # what `meshctl profile schema` prints


@pytest.fixture
def fresh_schema_caches() -> Iterator[None]:
    def clear() -> None:
        schema._document.cache_clear()
        schemacheck.validator.cache_clear()
        schemagate.gate.cache_clear()

    clear()
    yield
    clear()


def test_the_validator_reads_the_file_not_a_copy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_schema_caches: None
) -> None:
    """Point the schema module at another file: validation follows it, so nothing else holds the schema."""
    document = {"spec": {"revision": "canary"}}
    assert schemacheck.problems(document) == []
    changed = json.loads(SHIPPED_FILE.read_text(encoding="utf-8"))
    changed["$defs"]["IstioOperatorSpec"]["properties"]["revision"]["enum"] = ["stable"]
    other = tmp_path / "istiooperator.schema.json"
    other.write_text(json.dumps(changed), encoding="utf-8")
    monkeypatch.setattr(schema, "SCHEMA_FILE", other)
    schema._document.cache_clear()
    schemacheck.validator.cache_clear()
    assert [p.message for p in schemacheck.problems(document)] == ["revision: 'canary' is not one of: stable"]


def _probe(code: str, **env: str) -> None:
    subprocess.run([sys.executable, "-c", code], check=True, env={**os.environ, **env})


def test_jsonschema_is_imported_only_when_the_gate_does_not_pass_a_document(tmp_path: Path) -> None:
    build = "from meshctl.config import layering; layering.build_effective_config(layering.ConfigInput(sets={}))"
    clean = build.format("('revision=canary',)")
    warned = build.format("('values.somethingNew=1',)")
    loaded = "import sys; assert 'jsonschema' {} sys.modules, sorted(sys.modules)"
    cache = {"XDG_CACHE_HOME": str(tmp_path), schemagate.CACHE_ENV: "on"}
    _probe(f"{loaded.format('not in')}; import meshctl.config.validation; {loaded.format('not in')}", **cache)
    _probe(f"{clean}; {loaded.format('not in')}", **cache)  # compiles and stores the gate
    assert len(list((tmp_path / "meshctl" / "schema").glob("gate-*.marshal"))) == 1
    _probe(f"{clean}; {loaded.format('not in')}", **cache)  # from the cache
    _probe(f"{warned}; {loaded.format('in')}", **cache)  # something to say: jsonschema says it
    _probe(f"{clean}; {loaded.format('in')}", **{**cache, schemagate.CACHE_ENV: "off"})


# --- the gate ----------------------------------------------------------------------------------------------------


@functools.cache
def compiled_gate() -> schemagate.Validate:
    return schemagate._validator(schemagate.compile_gate())


@_settings(400)
@given(documents(nulls=True))
def test_the_gate_passes_only_documents_jsonschema_has_nothing_to_say_about(document: dict[str, Any]) -> None:
    if schemagate.passes(document, compiled_gate()):
        assert schemacheck.problems(document) == []


@_settings(300)
@given(documents(nulls=False))
def test_the_gate_passes_every_document_jsonschema_has_nothing_to_say_about(document: dict[str, Any]) -> None:
    if schemacheck.problems(document) == []:
        assert schemagate.passes(document, compiled_gate())


@pytest.mark.parametrize(
    "document",
    [
        {"spec": {"values": {"pilot": {"somethingNew": 1}}}},  # only a warning
        {"spec": {"values": {"pilot": {"autoscaleEnable": True}}}},  # a likely typo
        {"spec": {"components": {"pilot": {"k8s": {"replicaCount": 2.0}}}}},  # 2.0 is no integer for meshctl
        {"spec": {"components": {"pilot": {"k8s": {"resources": {"requests": {"cpu": -1}}}}}}},  # negative quantity
        {"spec": {"revision": "Canary"}},  # a custom format
        {"spec": {"hub": None}},  # null: jsonschema decides (nothing to say)
    ],
)
def test_the_gate_stops_what_meshctl_has_something_to_say_about(document: dict[str, Any]) -> None:
    assert not schemagate.passes(document, compiled_gate())


def test_validation_says_the_same_with_and_without_the_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    inputs = [
        layering.ConfigInput(profile="demo"),
        layering.ConfigInput(sets=("values.somethingNew=1", "revision=Canary", "tag=-"), force=True),
    ]
    with_gate = [layering.build_effective_config(i).warnings for i in inputs]
    monkeypatch.setattr(schemagate, "passes", lambda document, validate=None: False)
    assert [layering.build_effective_config(i).warnings for i in inputs] == with_gate
    assert with_gate[0] == ()
    assert len(with_gate[1]) == 3


def test_the_gate_is_compiled_from_the_shipped_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_schema_caches: None
) -> None:
    document = {"spec": {"revision": "canary"}}
    assert schemagate.passes(document, compiled_gate())
    key = schemagate.cache_key()
    changed = json.loads(SHIPPED_FILE.read_text(encoding="utf-8"))
    changed["$defs"]["IstioOperatorSpec"]["properties"]["revision"]["enum"] = ["stable"]
    other = tmp_path / "istiooperator.schema.json"
    other.write_text(json.dumps(changed), encoding="utf-8")
    monkeypatch.setattr(schema, "SCHEMA_FILE", other)
    schema._document.cache_clear()
    assert not schemagate.passes(document, schemagate._validator(schemagate.compile_gate()))
    assert schemagate.cache_key() != key  # a cached gate of the old schema is never used


def test_the_gate_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv(schemagate.CACHE_ENV, "on")
    directory = schemagate.cache_dir()
    assert directory == tmp_path / "meshctl" / "schema"
    code = schemagate.load_gate(directory)  # compiled and stored
    (entry,) = directory.glob("gate-*.marshal")
    assert schemagate.passes({"spec": {}}, schemagate._validator(code))

    def no_compiling() -> Any:
        raise AssertionError("compiled although the cache holds the gate")

    with monkeypatch.context() as patched:
        patched.setattr(schemagate, "compile_gate", no_compiling)
        assert schemagate.passes({"spec": {}}, schemagate._validator(schemagate.load_gate(directory)))

    entry.write_bytes(b"\x00garbage")  # a damaged entry is compiled again and replaced
    (directory / "gate-of-an-older-meshctl.marshal").write_bytes(b"old")  # and the gates of other versions go
    (directory / "unrelated.txt").write_text("kept")
    assert schemagate.passes({"spec": {}}, schemagate._validator(schemagate.load_gate(directory)))
    assert entry.read_bytes() != b"\x00garbage"
    assert sorted(p.name for p in directory.iterdir()) == sorted([entry.name, "unrelated.txt"])  # no scratch left

    monkeypatch.setenv(schemagate.CACHE_ENV, "off")
    assert schemagate.cache_dir() is None
    monkeypatch.setenv(schemagate.CACHE_ENV, "on")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "file"))
    (tmp_path / "file").write_text("not a directory")
    assert schemagate.cache_dir() is None


def test_without_a_usable_cache_there_is_no_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(schemagate.CACHE_ENV, "off")
    schemagate.gate.cache_clear()
    try:
        assert schemagate.gate() is None
        assert not schemagate.passes({"spec": {}})
    finally:
        schemagate.gate.cache_clear()
