"""YAML and JSON serialisation shared by every layer: one dumper, so every command prints YAML the same way.

Uses PyYAML's C-accelerated safe dumper when available. Multi-line strings are written as literal blocks so that
injection templates and mesh config stay readable; strings YAML would misread (``"true"``, ``"1.20"``, ``"on"``)
are quoted by the safe representer.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

_BaseDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class _Dumper(_BaseDumper):  # type: ignore[misc,valid-type]
    """Safe dumper with block-style multi-line strings (sequences are not indented under their key)."""

    def ignore_aliases(self, data: Any) -> bool:
        # A value shared by two places of a tree is written out twice: anchors and aliases (&id001 / *id001)
        # are valid YAML, but kubectl users and reviewers of manifests should never have to resolve them.
        return True


def _represent_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    # Literal blocks cannot hold trailing spaces on a line or some control characters; fall back to quoting.
    lines = data.split("\n")
    if len(lines) > 1 and all(line.isprintable() and line == line.rstrip(" \t") for line in lines):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _represent_str)


def dump_yaml(data: Any) -> str:
    """Serialise one document, keys in their given (deterministic) order."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=1 << 16)


def dump_yaml_documents(documents: list[Any]) -> str:
    """Serialise documents separated by ``---`` lines, without a trailing separator."""
    return "---\n".join(dump_yaml(doc) for doc in documents)


def dump_json(data: Any) -> str:
    """One JSON document, indented, with a trailing newline."""
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"
