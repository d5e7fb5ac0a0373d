"""The fast YAML paths give exactly what PyYAML's safe loader and safe representer give.

``meshctl.render.templates.parse_documents`` (template output → objects) and ``meshctl.yamlio``'s representer
(objects → the stream) bypass parts of PyYAML for speed; these properties pin them to the stock behaviour.
"""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from meshctl import yamlio
from meshctl.render import templates

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63),
    st.floats(allow_nan=False),
    st.text(max_size=20),
    st.sampled_from(
        ["true", "on", "1.20", "010", "0x1F", "~", "null", "- a", "a: b", "#x", "2024-01-01", "a\nb\n", ""]
    ),
)
trees = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=25,
)


class _Reference(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    """The dumper yamlio had before its fast path: same emitter, PyYAML's own representer."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


_Reference.add_representer(str, lambda dumper, data: yamlio._represent_str(dumper, data))


def _reference_stream(docs: list[Any]) -> str:
    return "---\n".join(
        yaml.dump(d, Dumper=_Reference, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1 << 16)
        for d in docs
    )


@settings(max_examples=300, deadline=None)
@given(st.lists(st.dictionaries(st.text(max_size=8), trees, min_size=1, max_size=4), min_size=1, max_size=3))
def test_dumper_matches_the_stock_safe_representer(docs: list[dict[str, Any]]) -> None:
    ours = yamlio.dump_yaml_documents(docs)
    assert list(yaml.safe_load_all(ours)) == docs
    # One emitter for the stream ends a document with the next `---`; separately dumped documents that end in a
    # keep-chomped block scalar (`|+`) carry an explicit `...` end marker before it. Both read back the same.
    assert ours == _reference_stream(docs).replace("...\n---\n", "---\n")


@settings(max_examples=300, deadline=None)
@given(st.lists(trees, min_size=1, max_size=3))
def test_parser_matches_safe_load_all(docs: list[Any]) -> None:
    text = yaml.safe_dump_all(docs, allow_unicode=True)
    assert templates.parse_documents(text) == list(yaml.safe_load_all(text))


def test_parser_handles_anchors_merge_keys_and_tags() -> None:
    text = "a: &x {k: 1}\nb: *x\nc:\n  <<: *x\n  j: 2\nd: !!str 12\ne: 0o17\nf: 1_000\n---\n---\n[1, 2]\n"
    assert templates.parse_documents(text) == list(yaml.safe_load_all(text))


def test_stream_of_nothing_is_empty() -> None:
    assert yamlio.dump_yaml_documents([]) == ""
