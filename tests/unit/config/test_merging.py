"""The merge rules (config.md §3) of the one configured deepmerge merger, and that merging never changes its inputs."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import deepmerge
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from meshctl.config import layering, loading, merging, profiles, resources

SCALAR = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(allow_nan=False), st.text(max_size=3))
KEY = st.sampled_from(["a", "b", "c", "enabled", "values", "k8s"])
TREE = st.recursive(
    SCALAR,
    lambda children: st.one_of(st.lists(children, max_size=3), st.dictionaries(KEY, children, max_size=4)),
    max_leaves=15,
)
MAP = st.dictionaries(KEY, TREE, max_size=4)


def reference(base: Any, overlay: Any) -> Any:
    """config.md §3 word for word: maps merge key by key, lists and scalars replace, an explicit null removes."""
    if not (isinstance(base, dict) and isinstance(overlay, dict)):
        return overlay
    out = dict(base)
    for key, value in overlay.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = reference(base[key], value) if key in base else value
    return out


def containers(tree: Any) -> list[int]:
    """The ids of every map and list in ``tree``."""
    found: list[int] = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            found.append(id(node))
            stack.extend(node.values())
        elif isinstance(node, list):
            found.append(id(node))
            stack.extend(node)
    return found


def test_the_merger_is_a_configured_deepmerge_merger() -> None:
    assert isinstance(merging.MERGER, deepmerge.Merger)


@pytest.mark.parametrize(
    ("base", "overlay", "expected"),
    [
        ({"a": {"b": 1, "c": 2}}, {"a": {"c": 3, "d": 4}}, {"a": {"b": 1, "c": 3, "d": 4}}),  # maps merge
        ({"a": [1, 2, 3]}, {"a": [9]}, {"a": [9]}),  # lists replace, they do not append or merge by index
        ({"a": [{"x": 1, "y": 2}]}, {"a": [{"x": 5}]}, {"a": [{"x": 5}]}),  # ... even lists of maps
        ({"a": {"b": 1}, "k": 1}, {"a": None}, {"k": 1}),  # an explicit null removes the key
        ({"a": {"b": 1, "c": 2}}, {"a": {"b": None}}, {"a": {"c": 2}}),  # ... at any depth
        ({"k": 1}, {"gone": None}, {"k": 1}),  # removing a key that is not there is no error
        ({"a": {"b": 1}}, {"a": "text"}, {"a": "text"}),  # a scalar replaces a map
        ({"a": "text"}, {"a": {"b": 1}}, {"a": {"b": 1}}),  # a map replaces a scalar
        ({"a": {"b": 1}}, {"a": [1]}, {"a": [1]}),  # a list replaces a map
        ({"a": 1}, {"a": 1.0}, {"a": 1.0}),  # scalars replace (types kept)
        ({}, {"new": {"x": None}}, {"new": {"x": None}}),  # a null inside a new subtree is kept as given
        ({"a": None}, {"a": {"b": 1}}, {"a": {"b": 1}}),
    ],
)
def test_merge_rules(base: dict[str, Any], overlay: dict[str, Any], expected: dict[str, Any]) -> None:
    result = merging.merge(base, overlay)
    assert result == expected
    assert [type(v) for v in result.values()] == [type(v) for v in expected.values()]


@settings(max_examples=300, deadline=None, database=None)
@given(MAP, MAP)
def test_merge_follows_the_rules_and_never_changes_or_shares_its_inputs(
    base: dict[str, Any], overlay: dict[str, Any]
) -> None:
    base_before, overlay_before = copy.deepcopy(base), copy.deepcopy(overlay)
    result = merging.merge(base, overlay)
    assert result == reference(base_before, overlay_before)
    assert base == base_before
    assert overlay == overlay_before
    # The result shares no map or list with an input, so changing the result later changes neither input.
    assert not set(containers(result)) & (set(containers(base)) | set(containers(overlay)))


def test_deepmerge_itself_merges_in_place_which_is_why_merge_copies() -> None:
    base: dict[str, Any] = {"a": {"b": 1}}
    merging.MERGER.merge(base, {"a": {"c": 2}})
    assert base == {"a": {"b": 1, "c": 2}}  # the bare merger changed its base: merging.merge must not pass inputs


def _cached_profile(name: str) -> Any:
    return profiles._load_cached(str(resources.profiles_dir(None) / f"{name}.yaml"))


def test_layering_never_changes_the_cached_profiles(tmp_path: Path) -> None:
    names = ("default", "demo")
    for name in names:  # fill the cache
        profiles.load_profile(name)
    on_disk = {name: loading.load_yaml_file(resources.profiles_dir(None) / f"{name}.yaml") for name in names}
    assert {name: _cached_profile(name) for name in names} == on_disk

    overlay = tmp_path / "f.yaml"
    overlay.write_text(
        "spec:\n"
        "  components:\n"
        "    egressGateways: null\n"  # null removes the profile's key
        "    pilot:\n      k8s:\n        env: [{name: A, value: b}]\n"
        "  meshConfig:\n    defaultConfig:\n      proxyMetadata: {X: y}\n"
        "  values:\n    global:\n      proxy:\n        resources: null\n"
    )
    inp = layering.ConfigInput(
        profile="demo",
        files=(str(overlay),),
        sets=(
            "components.ingressGateways[0].k8s.resources.requests.cpu=1",
            "values.pilot.env.NEW=x",
            "meshConfig.extensionProviders[0].name=changed",
        ),
    )
    config = layering.build_effective_config(inp)
    assert "egressGateways" not in config.spec["components"]
    assert {name: _cached_profile(name) for name in names} == on_disk

    # Changing the result afterwards reaches no cache either, and the next build is the same as the first.
    def scribble(tree: Any) -> None:
        if isinstance(tree, dict):
            for value in list(tree.values()):
                scribble(value)
            tree["scribbled"] = True
        elif isinstance(tree, list):
            for value in tree:
                scribble(value)
            tree.append("scribbled")

    first_values = copy.deepcopy(config.values)
    scribble(config.iop)
    scribble(config.values)
    assert {name: _cached_profile(name) for name in names} == on_disk
    again = layering.build_effective_config(layering.ConfigInput(profile="demo"))
    assert "scribbled" not in again.iop
    assert "scribbled" not in again.values["global"]
    assert layering.build_effective_config(inp).values == first_values
