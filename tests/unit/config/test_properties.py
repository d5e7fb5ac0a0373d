"""Property tests of the configuration engine (quality.md bad-input suite).

Alphabet: the grammar's special characters ``. \\ [ ] = : " '``, whitespace, non-ASCII text, empty keys, empty and
nested containers. Every generated input either works or fails with an :class:`InputError` (exit 3) — never
another exception. Example counts add up to more than 10,000 generated cases in this module (see ``EXAMPLES``).
"""

from __future__ import annotations

import contextlib
import copy
import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshctl import errors
from meshctl.config import layering, loading, merging, paths, schema

ALPHABET = st.sampled_from(list(".\\[]=:\"' \t\nab0é日_-/{}#&*!|>-"))
TEXT = st.text(ALPHABET, max_size=24)
KEY = st.one_of(st.text(ALPHABET, max_size=8), st.sampled_from(["", "spec", "a", "b", "enabled", "name", "0"]))

#: Examples per property; the module total is what quality.md counts (≥ 10,000).
EXAMPLES = {
    "assignments": 4000,
    "path_text": 1500,
    "structured_paths": 1000,
    "flags_round_trip": 600,
    "values_typing": 800,
    "yaml_text": 2500,
    "iop_documents": 400,
    "merge": 300,
}
assert sum(EXAMPLES.values()) >= 10_000


def _settings(name: str) -> Any:
    return settings(
        max_examples=EXAMPLES[name],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        database=None,
    )


# A realistic tree to apply paths to: the merged default profile.
BASE_SPEC = layering.merge_config(layering.ConfigInput())["spec"]


@_settings("assignments")
@given(st.one_of(TEXT, st.builds(lambda p, v: f"{p}={v}", TEXT, TEXT)))
def test_any_assignment_applies_or_fails_with_an_input_error(arg: str) -> None:
    tree = copy.deepcopy(BASE_SPEC)
    failure: errors.InputError | None = None
    try:
        assignment = paths.parse_assignment(arg)
        value = paths.type_value(assignment, schema.spec_type_at(assignment.path.segments))
        paths.set_value(tree, assignment.path, value)
    except errors.InputError as exc:
        failure = exc
    if failure is not None:
        assert failure.exit_code == 3
        assert failure.message.startswith("--set: ")
        return
    last = assignment.path.segments[-1]
    if last.kind in (paths.Kind.KEY, paths.Kind.INDEX):
        assert paths.get_value(tree, assignment.path) == value


@_settings("path_text")
@given(TEXT, st.sampled_from([paths.Mode.OVERLAY, paths.Mode.CONFIG_PATH]))
def test_any_path_text_parses_or_fails_with_a_path_error(text: str, mode: paths.Mode) -> None:
    failure: errors.PathError | None = None
    try:
        parsed = paths.parse_path(text, mode)
    except errors.PathError as exc:
        failure = exc
    if failure is not None:
        assert failure.segment_start is not None
        assert 0 <= failure.segment_start <= len(failure.path)
        return
    with contextlib.suppress(errors.PathError):
        paths.get_value(copy.deepcopy(BASE_SPEC), parsed)


SEGMENT = st.one_of(
    st.builds(lambda k: paths.Segment(paths.Kind.KEY, key=k), KEY),
    st.builds(lambda i: paths.Segment(paths.Kind.INDEX, index=i), st.integers(0, 20)),
    st.builds(
        lambda k, v: paths.Segment(paths.Kind.SELECT, key=k, value=v),
        st.text(ALPHABET, min_size=1, max_size=6),
        st.text(ALPHABET, max_size=6),
    ),
    st.builds(lambda v: paths.Segment(paths.Kind.MATCH, value=v), st.text(ALPHABET, min_size=1, max_size=6)),
)


def _canonical(segments: tuple[paths.Segment, ...]) -> list[tuple[Any, ...]]:
    return [(s.kind, s.key, s.value, s.index) for s in segments]


@_settings("structured_paths")
@given(st.lists(SEGMENT, min_size=1, max_size=6))
def test_written_paths_parse_back(segments: list[paths.Segment]) -> None:
    # Overlay paths allow every segment kind; a [v] whose text is all digits would read back as an index.
    segments = [
        s
        for s in segments
        if not (s.kind is paths.Kind.MATCH and s.value.isascii() and s.value.strip("0123456789") == "")
    ]
    if not segments:
        return
    text = paths.format_path(segments)
    parsed = paths.parse_path(text, paths.Mode.OVERLAY)
    assert _canonical(parsed.segments) == _canonical(tuple(segments))


SCALAR = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(paths.MIN_INT, paths.MAX_INT),
    st.floats(allow_nan=False, allow_infinity=False),
    TEXT,
)
TREE = st.recursive(
    SCALAR,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(KEY, children, max_size=4)),
    max_leaves=10,
)


def _prune(tree: Any) -> Any:
    """The tree without empty maps and lists (what the flags round trip cannot carry)."""
    if isinstance(tree, dict):
        pruned = {k: _prune(v) for k, v in tree.items()}
        return {k: v for k, v in pruned.items() if not (isinstance(v, dict | list) and not v)}
    if isinstance(tree, list):
        return [_prune(v) for v in tree]
    return tree


def _fill_holes(tree: Any) -> Any:
    """Replace list elements that prune to nothing (their index could not be addressed) by a scalar."""
    if isinstance(tree, dict):
        return {k: _fill_holes(v) for k, v in tree.items()}
    if isinstance(tree, list):
        out = []
        for v in tree:
            v = _fill_holes(v)
            pruned = _prune(v)
            out.append(0 if isinstance(pruned, dict | list) and not pruned else v)
        return out
    return tree


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float):
        return a == b and math.copysign(1, a) == math.copysign(1, b)
    return bool(a == b)


@_settings("flags_round_trip")
@given(st.dictionaries(KEY, TREE, max_size=5))
def test_flags_round_trip(tree: dict[str, Any]) -> None:
    tree = _fill_holes(tree)
    rebuilt: dict[str, Any] = {}
    for line in paths.format_flags(tree):
        assignment = paths.parse_assignment(line)
        paths.set_value(rebuilt, assignment.path, paths.type_value(assignment, None))
    expected = _prune(tree)
    assert _same(rebuilt, expected)
    assert rebuilt == expected


@_settings("values_typing")
@given(SCALAR.filter(lambda v: not isinstance(v, str)))
def test_non_string_scalars_survive_free_form_typing(value: Any) -> None:
    line = paths.format_flags({"v": value})[0]
    assignment = paths.parse_assignment(line)
    assert _same(paths.type_value(assignment, None), value)


@_settings("yaml_text")
@given(st.one_of(TEXT, st.binary(max_size=64).map(lambda b: b.decode("latin-1"))))
def test_any_text_loads_or_fails_with_an_input_error(text: str) -> None:
    try:
        doc = loading.load_iop(loading.decode(text.encode("utf-8", "surrogatepass"), "t.yaml"), "t.yaml")
    except errors.InputError:
        return
    assert isinstance(doc, dict)


IOP_KEYS = st.sampled_from(
    ["components", "values", "meshConfig", "hub", "tag", "revision", "profile", "pilot", "enabled", "k8s", "global"]
)
IOP_TREE = st.recursive(
    SCALAR,
    lambda children: st.one_of(
        st.lists(children, max_size=3), st.dictionaries(st.one_of(IOP_KEYS, KEY), children, max_size=3)
    ),
    max_leaves=12,
)


@_settings("iop_documents")
@given(spec=st.dictionaries(st.one_of(IOP_KEYS, KEY), IOP_TREE, max_size=4), sets=st.lists(TEXT, max_size=2))
def test_any_document_layers_or_fails_with_an_input_error(
    spec: dict[str, Any], sets: list[str], tmp_path_factory: Any
) -> None:
    from meshctl import yamlio

    path = tmp_path_factory.getbasetemp() / "iop.yaml"
    path.write_text(yamlio.dump_yaml({"spec": spec}), encoding="utf-8")
    try:
        config = layering.build_effective_config(layering.ConfigInput(files=(str(path),), sets=tuple(sets), force=True))
    except errors.InputError:
        return
    assert isinstance(config.values, dict)


@_settings("merge")
@given(st.dictionaries(KEY, TREE, max_size=4), st.dictionaries(KEY, TREE, max_size=4))
def test_merge_then_diff_round_trip(base: dict[str, Any], new: dict[str, Any]) -> None:
    def drop_nulls(tree: Any) -> Any:
        if isinstance(tree, dict):
            return {k: drop_nulls(v) for k, v in tree.items() if v is not None}
        return tree

    new = drop_nulls(new)
    overlay = merging.diff(base, new)
    assert drop_nulls(merging.merge(base, overlay)) == new
