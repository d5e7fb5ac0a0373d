"""Boundaries of input limits and rules the rest of the suite only tests far from the edge (issue 13, item 5).

Each limit is checked at the limit (accepted) and one past it (refused with the limit's own error), so that moving a
limit by a little, or turning ``>`` into ``>=``, fails a test. The rules that a hand-run mutation campaign found
untested are here too: the did-you-mean threshold, ``k8s.env`` merging by name, label precedence, a ``[k:v]``
selector whose value holds ``:``, an index one past the end of a list, and ``eq`` with several arguments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from meshctl import errors, gotemplate
from meshctl.config import loading, paths, schemacheck, suggest
from meshctl.render import k8s, k8scheck, pipeline
from tests.helpers import run_cli

MIB = 1024 * 1024


def limit_error(exc: pytest.ExceptionInfo[errors.InputLimitError], limit: str) -> str:
    assert exc.value.limit == limit, f"tripped {exc.value.limit!r}, expected {limit!r}: {exc.value}"
    return str(exc.value)


# --- loading: size, depth, aliases, integers --------------------------------------------------------------------


def test_size_limit_accepts_exactly_max_bytes_and_refuses_one_more() -> None:
    assert loading.MAX_BYTES == 4 * MIB
    assert len(loading.decode(b"#" * loading.MAX_BYTES, "f")) == loading.MAX_BYTES
    assert len(loading.decode("#" * loading.MAX_BYTES, "f")) == loading.MAX_BYTES
    with pytest.raises(errors.InputLimitError) as caught:
        loading.decode(b"#" * (loading.MAX_BYTES + 1), "f")
    assert "input too large (4.0 MiB; the limit is 4 MiB)" in limit_error(caught, "size")
    with pytest.raises(errors.InputLimitError) as caught:
        loading.decode("#" * (loading.MAX_BYTES + 1), "f")
    limit_error(caught, "size")


def test_size_limit_of_a_file_is_exact(tmp_path: Path) -> None:
    at_limit = tmp_path / "at.yaml"
    at_limit.write_bytes(b"#" * loading.MAX_BYTES)
    assert len(loading.read_source(str(at_limit))) == loading.MAX_BYTES
    past = tmp_path / "past.yaml"
    past.write_bytes(b"#" * (loading.MAX_BYTES + 1))
    with pytest.raises(errors.InputLimitError) as caught:
        loading.read_source(str(past))
    limit_error(caught, "size")


def test_total_size_of_all_files_accepts_exactly_the_limit_and_refuses_one_byte_more(tmp_path: Path) -> None:
    assert loading.MAX_TOTAL_BYTES == 16 * MIB
    names = []
    for i in range(4):  # 4 x 4 MiB = 16 MiB exactly
        path = tmp_path / f"part{i}.yaml"
        path.write_bytes(b"#" * loading.MAX_BYTES)
        names.append(str(path))
    assert [doc for _, doc in loading.load_iop_files(names)] == [{}, {}, {}, {}]
    one_more = tmp_path / "one.yaml"
    one_more.write_bytes(b"#")
    with pytest.raises(errors.InputLimitError) as caught:
        loading.load_iop_files([*names, str(one_more)])
    assert "exceed 16 MiB" in limit_error(caught, "total-size")


@pytest.mark.parametrize("flow", [True, False])
def test_depth_limit_accepts_max_depth_and_refuses_one_more(flow: bool) -> None:
    def nested(levels: int) -> str:
        if flow:
            return "[" * levels + "1" + "]" * levels
        return "\n".join("  " * i + f"k{i}:" for i in range(levels)) + " 1"

    assert loading.MAX_DEPTH == 100
    assert loading.load_documents(nested(loading.MAX_DEPTH), "f")
    with pytest.raises(errors.InputLimitError) as caught:
        loading.load_documents(nested(loading.MAX_DEPTH + 1), "f")
    assert "nesting deeper than 100 levels" in limit_error(caught, "depth")


def _aliases(count: int, anchored: str = "x") -> str:
    return f"a: &a {anchored}\nb: [" + ", ".join(["*a"] * count) + "]\n"


def test_alias_node_budget_is_exact() -> None:
    assert loading.MAX_ALIAS_NODES == 10_000
    doc = loading.load_documents(_aliases(loading.MAX_ALIAS_NODES), "f")[0]
    assert len(doc["b"]) == 10_000
    with pytest.raises(errors.InputLimitError) as caught:
        loading.load_documents(_aliases(loading.MAX_ALIAS_NODES + 1), "f")
    assert "expand to more than 10000 extra nodes" in limit_error(caught, "aliases")


def test_alias_node_budget_counts_every_node_of_an_aliased_collection() -> None:
    # An aliased list of two scalars is three nodes built again per alias: 3333 aliases are 9999 extra nodes,
    # 3334 are 10002.
    doc = loading.load_documents(_aliases(3333, "[p, q]"), "f")[0]
    assert doc["b"][0] == ["p", "q"]
    assert doc["b"][0] is not doc["b"][1]  # independent copies
    with pytest.raises(errors.InputLimitError) as caught:
        loading.load_documents(_aliases(3334, "[p, q]"), "f")
    limit_error(caught, "aliases")


def test_alias_byte_budget_is_exact() -> None:
    assert loading.MAX_ALIAS_BYTES == MIB
    quarter = "y" * (MIB // 4)
    doc = loading.load_documents(_aliases(4, quarter), "f")[0]  # 4 x 256 KiB = 1 MiB exactly
    assert doc["b"] == [quarter] * 4
    with pytest.raises(errors.InputLimitError) as caught:
        loading.load_documents(_aliases(5, quarter), "f")
    assert "expand to more than 1 MiB of text" in limit_error(caught, "aliases")
    # One character past the budget in one alias trips it too.
    with pytest.raises(errors.InputLimitError) as caught:
        loading.load_documents(f"a: &a {quarter}\nb: &b z\nc: [*a, *a, *a, *a, *b]\n", "f")
    limit_error(caught, "aliases")


def test_recursive_alias_is_refused_by_the_alias_limit() -> None:
    with pytest.raises(errors.InputLimitError) as caught:
        loading.load_documents("a: &a [1, *a]\n", "f")
    assert "recursive YAML alias" in limit_error(caught, "aliases")


def test_integer_limits_are_64_bit_signed() -> None:
    top, bottom = 2**63 - 1, -(2**63)
    assert loading.load_documents(f"a: {top}\nb: {bottom}\n", "f") == [{"a": top, "b": bottom}]
    for past in (2**63, -(2**63) - 1):
        with pytest.raises(errors.InputLimitError) as caught:
            loading.load_documents(f"a: {past}\n", "f")
        assert "out of range" in limit_error(caught, "integer")
    # The cheap textual bound: 24 characters (after dropping '_') are converted, 25 are refused unseen.
    assert loading.load_documents("a: " + "0" * 23 + "1\n", "f") == [{"a": 1}]
    with pytest.raises(errors.InputLimitError) as caught:
        loading.load_documents("a: " + "0" * 24 + "1\n", "f")
    limit_error(caught, "integer")


def test_checked_int_boundaries() -> None:
    assert paths.checked_int(str(2**63 - 1)) == 2**63 - 1
    assert paths.checked_int(str(-(2**63))) == -(2**63)
    assert paths.checked_int(str(2**63)) is None
    assert paths.checked_int(str(-(2**63) - 1)) is None
    assert paths.checked_int("0" * 18 + "7") == 7  # 19 digits: converted
    assert paths.checked_int("0" * 19 + "7") is None  # 20 digits: refused before conversion


def test_one_document_per_file() -> None:
    assert loading.load_iop("a: 1\n---\n", "f") == {"a": 1}
    with pytest.raises(errors.InputLimitError) as caught:
        loading.load_iop("a: 1\n---\nb: 2\n", "f")
    assert "holds 2 YAML documents" in limit_error(caught, "documents")


# --- paths: segments, indexes, selectors ------------------------------------------------------------------------


def test_path_segment_limit_accepts_max_segments_and_refuses_one_more() -> None:
    assert paths.MAX_SEGMENTS == 100
    at_limit = ".".join(["k"] * paths.MAX_SEGMENTS)
    assert len(paths.parse_path(at_limit, paths.Mode.CONFIG_PATH).segments) == 100
    with pytest.raises(errors.InputLimitError) as caught:
        paths.parse_path(at_limit + ".k", paths.Mode.CONFIG_PATH)
    assert "path has 101 segments; the limit is 100" in limit_error(caught, "depth")
    # Index segments count like keys.
    with pytest.raises(errors.InputLimitError):
        paths.parse_path(".".join(["k"] * 99) + "[0][0]", paths.Mode.OVERLAY)


def test_index_limit_accepts_max_index_and_refuses_one_more() -> None:
    assert paths.MAX_INDEX == 100_000
    parsed = paths.parse_path("a[100000]", paths.Mode.SET)
    assert parsed.segments[-1].index == 100_000
    with pytest.raises(errors.PathError, match=r"index \[100001\] is out of range \(at most 100000\)"):
        paths.parse_path("a[100001]", paths.Mode.SET)
    with pytest.raises(errors.PathError, match="out of range"):
        paths.parse_path("a[0100000]", paths.Mode.SET)  # seven digits are refused unconverted


def _set(tree: Any, path: str, value: Any) -> Any:
    paths.set_value(tree, paths.parse_path(path, paths.Mode.SET), value)
    return tree


def test_index_equal_to_the_length_appends_and_one_more_is_refused() -> None:
    tree: dict[str, Any] = {"l": ["a", "b"]}
    _set(tree, "l[1]", "B")  # inside: replaces
    assert tree == {"l": ["a", "B"]}
    _set(tree, "l[2]", "c")  # == len: appends
    assert tree == {"l": ["a", "B", "c"]}
    with pytest.raises(errors.PathError) as caught:
        _set(tree, "l[4]", "e")  # len + 1: refused, nothing changed
    assert "index 4 is out of range: l has 3 elements" in str(caught.value)
    assert caught.value.hint == "use an index at most 3 (to append)"
    assert not isinstance(caught.value, errors.PathNotFound)
    assert tree == {"l": ["a", "B", "c"]}


def test_index_equal_to_the_length_appends_inside_a_path_and_one_more_is_refused() -> None:
    tree: dict[str, Any] = {"l": [{"n": 1}]}
    _set(tree, "l[1].n", 2)
    assert tree == {"l": [{"n": 1}, {"n": 2}]}
    _set(tree, "l[2][0]", "x")  # a new list appended, then its first element
    assert tree == {"l": [{"n": 1}, {"n": 2}, ["x"]]}
    with pytest.raises(errors.PathError, match="index 4 is out of range: l has 3 elements"):
        _set(tree, "l[4].n", 5)
    assert len(tree["l"]) == 3


def test_reading_at_the_length_is_not_found() -> None:
    tree = {"l": ["a"]}
    assert paths.get_value(tree, paths.parse_path("l[0]", paths.Mode.CONFIG_PATH)) == "a"
    with pytest.raises(errors.PathNotFound) as caught:
        paths.get_value(tree, paths.parse_path("l[1]", paths.Mode.CONFIG_PATH))
    assert "index 1 is out of range: l has 1 element" in str(caught.value)
    assert caught.value.hint == "use an index below 1"
    with pytest.raises(errors.PathNotFound, match="index 1 is out of range"):
        paths.get_value({"l": [{"a": 1}]}, paths.parse_path("l[1].a", paths.Mode.CONFIG_PATH))


def test_selector_value_may_hold_colons() -> None:
    parsed = paths.parse_path("ports[name:http:8080].port", paths.Mode.SET)
    select = parsed.segments[1]
    assert (select.kind, select.key, select.value) == (paths.Kind.SELECT, "name", "http:8080")
    tree = {"ports": [{"name": "http", "port": 1}, {"name": "http:8080", "port": 2}, {"name": "8080", "port": 3}]}
    assert paths.get_value(tree, parsed) == 2
    paths.set_value(tree, parsed, 9)
    assert [p["port"] for p in tree["ports"]] == [1, 9, 3]
    assert str(parsed) == r"ports[name:http\:8080].port"
    again = paths.parse_path(str(parsed), paths.Mode.SET).segments[1]
    assert (again.kind, again.key, again.value) == (paths.Kind.SELECT, "name", "http:8080")


def test_selector_with_an_empty_field_and_colons_is_a_value_match() -> None:
    seg = paths.parse_path("l[:a:b]", paths.Mode.OVERLAY).segments[1]
    assert (seg.kind, seg.value) == (paths.Kind.MATCH, "a:b")
    assert paths.get_value({"l": ["a", "a:b"]}, paths.parse_path("l[:a:b]")) == "a:b"


# --- did-you-mean ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "threshold"), [(1, 1), (3, 1), (4, 2), (8, 2), (9, 3), (20, 3)], ids=lambda v: str(v)
)
def test_threshold_by_word_length(length: int, threshold: int) -> None:
    assert suggest.threshold("x" * length) == threshold


@pytest.mark.parametrize(
    ("word", "at_threshold", "beyond"),
    [
        ("abc", "abd", "ade"),  # 3 letters: 1 edit
        ("abcd", "abxy", "axyz"),  # 4 letters: 2 edits
        ("abcdefgh", "abcdefxy", "abcdexyz"),  # 8 letters: 2 edits
        ("abcdefghi", "abcdefxyz", "abcdewxyz"),  # 9 letters: 3 edits
    ],
)
def test_did_you_mean_suggests_at_the_threshold_and_not_beyond(word: str, at_threshold: str, beyond: str) -> None:
    limit = suggest.threshold(word)
    assert suggest.distance(word, at_threshold) == limit
    assert suggest.distance(word, beyond, limit=10) == limit + 1
    assert suggest.closest(word, [at_threshold]) == at_threshold
    assert suggest.closest(word, [beyond]) is None
    assert suggest.closest(word, [beyond, at_threshold]) == at_threshold


def test_did_you_mean_prefers_the_nearest_and_the_first_of_equals() -> None:
    assert suggest.closest("pilotx", ["pilxxx", "pilot"]) == "pilot"
    assert suggest.closest("pilotx", ["pilotz", "pilotq"]) == "pilotz"
    assert suggest.closest("Pilot", ["pilots", "pilot"]) == "pilot"  # equal ignoring case wins at once
    assert suggest.closest("pilot", ["pilot"]) is None  # the word itself is not a suggestion


def test_distance_counts_a_transposition_as_one_and_caps_at_limit_plus_one() -> None:
    assert suggest.distance("ab", "ba") == 1
    assert suggest.distance("pilot", "pilto") == 1
    assert suggest.distance("kitten", "sitting") == 3
    assert suggest.distance("kitten", "sitting", limit=2) == 3
    assert suggest.distance("a", "abcdef", limit=3) == 4  # length difference alone beyond the cap
    assert suggest.distance("abcd", "abcdxyz", limit=3) == 3  # length difference exactly at the cap
    assert suggest.distance("", "abc") == 3
    assert suggest.distance("abcdef", "uvwxyz", limit=2) == 3


def test_cli_says_did_you_mean_at_the_threshold() -> None:
    near = run_cli("profile", "dump", "--config-path", "components.pilto", "default", expect=3)
    assert "did you mean components.pilot?" in near.stderr
    far = run_cli("profile", "dump", "--config-path", "components.xyzzy", "default", expect=3)
    assert "did you mean" not in far.stderr


# --- formats with a length bound -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "limit", "char"),
    [("dns1123-label", 63, "a"), ("dns1123-subdomain", 253, "a"), ("image-tag", 128, "t"), ("image-hub", 255, "h")],
)
def test_format_length_bound_accepts_the_limit_and_refuses_one_more(fmt: str, limit: int, char: str) -> None:
    assert schemacheck.check_format(fmt, char * limit) is None
    problem = schemacheck.check_format(fmt, char * (limit + 1))
    assert problem is not None
    assert char * (limit + 1) in problem


def test_revision_is_a_dns_1123_label_of_at_most_63_characters() -> None:
    run_cli("manifest", "generate", "--set", "revision=" + "r" * 63, "--component", "Base")
    refused = run_cli("manifest", "generate", "--set", "revision=" + "r" * 64, "--component", "Base", expect=3)
    assert "is not a valid DNS-1123 label" in refused.stderr


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        ("n" * 63, True),
        ("n" * 64, False),
        ("p" * 253 + "/n", True),
        ("p" * 254 + "/n", False),
        ("example.com/" + "n" * 63, True),
        ("example.com/" + "n" * 64, False),
    ],
    ids=["name-63", "name-64", "prefix-253", "prefix-254", "prefixed-name-63", "prefixed-name-64"],
)
def test_label_key_length_bounds(key: str, ok: bool) -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {key: "v"}}}
    problems = list(k8scheck.object_problems(obj))
    assert problems == [] if ok else len(problems) == 1, problems


@pytest.mark.parametrize(("length", "ok"), [(0, True), (63, True), (64, False)])
def test_label_value_length_bound(length: int, ok: bool) -> None:
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "labels": {"k": "v" * length}}}
    assert (list(k8scheck.object_problems(obj)) == []) is ok


# --- k8s.env ---------------------------------------------------------------------------------------------------------


_TARGET = k8s.Target(
    where="components.pilot", label="Pilot", workload_kind="Deployment", workload_name="istiod", container="discovery"
)


def _deployment(env: list[dict[str, Any]] | None) -> dict[str, Any]:
    main: dict[str, Any] = {"name": "discovery", "image": "pilot"}
    if env is not None:
        main["env"] = env
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "istiod", "namespace": "istio-system"},
        "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "image": "x"}, main]}}},
    }


def test_k8s_env_replaces_by_name_keeps_the_others_and_appends_new_ones() -> None:
    obj = _deployment(
        [
            {"name": "A", "value": "1"},
            {"name": "B", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
            {"name": "C", "value": "3"},
        ]
    )
    setting = [{"name": "B", "value": "2"}, {"name": "D", "value": "4"}, {"name": "E", "value": "5"}]
    assert k8s.apply([obj], {"env": setting}, _TARGET) == []
    containers = obj["spec"]["template"]["spec"]["containers"]
    assert "env" not in containers[0]  # another container is not touched
    assert containers[1]["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "2"},  # replaced whole, in place (its valueFrom is gone)
        {"name": "C", "value": "3"},
        {"name": "D", "value": "4"},
        {"name": "E", "value": "5"},
    ]
    setting[0]["value"] = "changed"  # the object holds a copy, deep
    assert containers[1]["env"][1]["value"] == "2"
    source = {"name": "F", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}
    k8s.apply([obj], {"env": [source, {"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}]}, _TARGET)
    source["valueFrom"]["fieldRef"]["fieldPath"] = "changed"
    assert containers[1]["env"][-1] == {"name": "F", "valueFrom": {"fieldRef": {"fieldPath": "spec.nodeName"}}}
    assert containers[1]["env"][0] == {"name": "A", "valueFrom": {"fieldRef": {"fieldPath": "x"}}}


def test_k8s_env_replaces_only_the_first_of_duplicate_names_and_later_settings_win() -> None:
    obj = _deployment([{"name": "A", "value": "1"}, {"name": "A", "value": "dup"}])
    k8s.apply([obj], {"env": [{"name": "A", "value": "x"}, {"name": "A", "value": "y"}]}, _TARGET)
    assert obj["spec"]["template"]["spec"]["containers"][1]["env"] == [
        {"name": "A", "value": "y"},
        {"name": "A", "value": "dup"},
    ]


def test_k8s_env_creates_the_list_when_the_container_has_none() -> None:
    obj = _deployment(None)
    k8s.apply([obj], {"env": [{"name": "A", "value": "1"}]}, _TARGET)
    assert obj["spec"]["template"]["spec"]["containers"][1]["env"] == [{"name": "A", "value": "1"}]


@pytest.mark.parametrize("item", [{"value": "1"}, {"name": "", "value": "1"}, "A=1"])
def test_k8s_env_entry_without_a_name_is_an_error(item: Any) -> None:
    with pytest.raises(errors.RenderError, match=r"components\.pilot\.k8s\.env\[1\] must be a map with a name"):
        k8s.apply([_deployment([])], {"env": [{"name": "ok"}, item]}, _TARGET)


# --- labels ----------------------------------------------------------------------------------------------------------


def test_pipeline_labels_win_over_the_objects_own_and_keys_are_sorted() -> None:
    objs: list[dict[str, Any]] = [
        {"kind": "ConfigMap", "metadata": {"name": "a", "labels": {"z": "own", "shared": "own", "a": "own"}}},
        {"kind": "ConfigMap", "metadata": {"name": "b"}},
    ]
    pipeline.add_labels(objs, {"shared": "pipeline", "m": "pipeline"})
    assert list(objs[0]["metadata"]["labels"].items()) == [
        ("a", "own"),
        ("m", "pipeline"),
        ("shared", "pipeline"),
        ("z", "own"),
    ]
    assert objs[1]["metadata"]["labels"] == {"m": "pipeline", "shared": "pipeline"}


def _gateway_deployment(*args: str) -> dict[str, Any]:
    out = run_cli("manifest", "generate", "--component", "IngressGateways", *args).stdout
    docs = [d for d in yaml.safe_load_all(out) if d]
    (found,) = [d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "istio-ingressgateway"]
    return found


def test_label_precedence_with_every_source_present(tmp_path: Path) -> None:
    iop = tmp_path / "iop.yaml"
    iop.write_text(
        """
apiVersion: install.istio.io/v1alpha1
kind: IstioOperator
spec:
  values:
    gateways:
      istio-ingressgateway:
        labels: {fromValues: v, both: values, app: values-app}
  components:
    ingressGateways:
    - name: istio-ingressgateway
      enabled: true
      label: {fromEntry: e, both: entry, istio: entry-istio}
      k8s:
        overlays:
        - kind: Deployment
          name: istio-ingressgateway
          patches:
          - path: metadata.labels.fromOverlay
            value: o
          - path: metadata.labels.app\\.kubernetes\\.io/managed-by
            value: overlay
          - path: metadata.labels.release
            value: overlay-release
""",
        encoding="utf-8",
    )
    labels = _gateway_deployment("-f", str(iop))["metadata"]["labels"]
    assert labels["fromValues"] == "v"  # values.gateways.<name>.labels reach the objects
    assert labels["fromEntry"] == "e"  # so does the entry's label map
    assert labels["both"] == "entry"  # the entry wins over the values
    assert labels["app"] == "values-app"  # both win over the template's defaults
    assert labels["istio"] == "entry-istio"
    assert labels["fromOverlay"] == "o"  # an overlay may add labels
    assert labels["release"] == "overlay-release"  # and change a template's own
    assert labels["app.kubernetes.io/managed-by"] == "meshctl"  # but the pipeline's labels win over everything
    assert labels["operator.istio.io/component"] == "IngressGateways"
    assert list(labels) == sorted(labels)


def test_template_labels_are_defaults_when_no_source_sets_them() -> None:
    labels = _gateway_deployment()["metadata"]["labels"]
    assert labels["app"] == "istio-ingressgateway"
    assert labels["istio"] == "ingressgateway"
    assert labels["release"] == "istio"


# --- eq (Go template) -------------------------------------------------------------------------------------------


def _tpl(text: str, data: Any = None) -> str:
    return gotemplate.render(gotemplate.parse(text, "t"), data if data is not None else {})


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ('"b" "a" "b" "c"', "true"),  # equal to the second of three
        ('"c" "a" "b" "c"', "true"),  # equal to the last
        ('"a" "a" "b" "c"', "true"),  # equal to the first
        ('"d" "a" "b" "c"', "false"),  # equal to none
        ("2 1 2", "true"),
        ("3 1 2", "false"),
        ('"a" "a"', "true"),
        ('"a" "b"', "false"),
    ],
)
def test_eq_with_several_arguments_is_true_when_the_first_equals_any_of_the_rest(args: str, expected: str) -> None:
    assert _tpl("{{ eq " + args + " }}") == expected


def test_eq_with_several_arguments_in_a_condition_and_with_nil() -> None:
    text = '{{ if eq .K "x" "y" "z" }}in{{ else }}out{{ end }}'
    assert [_tpl(text, {"K": k}) for k in ("x", "y", "z", "w")] == ["in", "in", "in", "out"]
    assert _tpl("{{ eq .Missing 1 .Missing }}", {"Missing": None}) == "true"
    assert _tpl('{{ ne "a" "b" }} {{ ne "a" "a" }}') == "true false"


def test_eq_errors_like_go() -> None:
    with pytest.raises(gotemplate.TemplateError, match="missing argument for comparison"):
        _tpl('{{ eq "a" }}')
    with pytest.raises(gotemplate.TemplateError, match="incompatible types for comparison"):
        _tpl('{{ eq "a" "b" 1 }}')  # the third argument is compared too
