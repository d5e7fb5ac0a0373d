"""YAML and JSON serialisation shared by every layer: one dumper, so every command prints YAML the same way.

Uses PyYAML's C-accelerated safe dumper when available. Multi-line strings are written as literal blocks so that
injection templates and mesh config stay readable; strings YAML would misread (``"true"``, ``"1.20"``, ``"on"``)
are quoted by the safe representer.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import yaml

_BaseDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
#: PyYAML's C-accelerated safe loader when available (plain data only): what meshctl's own files are read with.
SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_INT = "tag:yaml.org,2002:int"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
#: Implicit tags of plain scalars already resolved (the emitter asks twice per scalar); bounded.
_RESOLVED: dict[Any, str] = {}
_RESOLVED_MAX = 200_000


def memoised_tag(cache: dict[Any, str], key: Any, compute: Callable[[], str]) -> str:
    """The tag cached under ``key``, computed once; the cache is cleared when it reaches its bound.

    Scalar resolution (matching a plain scalar against YAML's implicit types) dominates dumping and loading large
    manifests, and the same keys and values recur in every object: both the dumper here and the template loader
    use this.
    """
    tag = cache.get(key)
    if tag is None:
        tag = compute()
        if len(cache) >= _RESOLVED_MAX:
            cache.clear()
        cache[key] = tag
    return tag


class _Dumper(_BaseDumper):  # type: ignore[misc,valid-type]
    """Safe dumper with block-style multi-line strings (sequences are not indented under their key).

    The representer is a direct walk over the plain data meshctl writes (dicts, lists, strings, ints, bools,
    None), producing the same nodes as PyYAML's safe representer (anything else goes through it), and scalar
    resolution is memoised: together about twice as fast on large manifests, with identical output.
    """

    def ignore_aliases(self, data: Any) -> bool:
        # A value shared by two places of a tree is written out twice: anchors and aliases (&id001 / *id001)
        # are valid YAML, but kubectl users and reviewers of manifests should never have to resolve them.
        return True

    def represent_data(self, data: Any) -> yaml.Node:
        kind = type(data)
        if kind is str:
            if "\n" not in data:
                return yaml.ScalarNode(_STR, data)
            return _represent_str(self, data)
        if kind is dict:
            pairs = [(self.represent_data(k), self.represent_data(v)) for k, v in data.items()]
            return yaml.MappingNode(_MAP, pairs, flow_style=False)
        if kind is list:
            return yaml.SequenceNode(_SEQ, [self.represent_data(v) for v in data], flow_style=False)
        if kind is bool:
            return yaml.ScalarNode(_BOOL, "true" if data else "false")
        if kind is int:
            return yaml.ScalarNode(_INT, str(data))
        if data is None:
            return yaml.ScalarNode(_NULL, "null")
        node: yaml.Node = super().represent_data(data)
        return node

    def descend_resolver(self, current_node: Any, current_index: Any) -> None:
        pass  # no path resolvers are registered: skip the bookkeeping the emitter asks for at every node

    def ascend_resolver(self) -> None:
        pass

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is not yaml.ScalarNode:
            tag: str = super().resolve(kind, value, implicit)
            return tag
        if not implicit[0]:
            return _STR  # only plain scalars are matched against the implicit types (no path resolvers here)
        return memoised_tag(_RESOLVED, value, lambda: super(_Dumper, self).resolve(kind, value, implicit))


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # Literal blocks cannot hold trailing spaces on a line or some control characters; fall back to quoting.
    lines = data.split("\n")
    if len(lines) > 1 and all(line.isprintable() and line == line.rstrip(" \t") for line in lines):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _represent_str)


#: How every document is written: keys in their given (deterministic) order, block style, no line wrapping.
_DUMP_OPTIONS: dict[str, Any] = {
    "Dumper": _Dumper,
    "sort_keys": False,
    "default_flow_style": False,
    "allow_unicode": True,
    "width": 1 << 16,
}


def dump_yaml(data: Any) -> str:
    """Serialise one document, keys in their given (deterministic) order."""
    text: str = yaml.dump(data, **_DUMP_OPTIONS)
    return text


def dump_yaml_documents(documents: list[Any]) -> str:
    """Serialise documents separated by ``---`` lines, without a trailing separator."""
    if not documents:
        return ""
    # One emitter for the whole stream: it writes the `---` lines between documents itself.
    text: str = yaml.dump_all(documents, **_DUMP_OPTIONS)
    return text


def load_yaml(text: str) -> Any:
    """One YAML document as plain data, read with :data:`SafeLoader`."""
    return yaml.load(text, Loader=SafeLoader)  # noqa: S506 - SafeLoader is the (C) safe loader


def dump_json(data: Any) -> str:
    """One JSON document, indented, with a trailing newline."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
