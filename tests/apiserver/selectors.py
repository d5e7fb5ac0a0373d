"""Label selectors (the full string syntax) and field selectors on metadata.name / metadata.namespace."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable
from typing import Any

from tests.apiserver import errors

_KEY = r"[A-Za-z0-9][-A-Za-z0-9_./]*"
_VALUE = r"(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?)?"
_TOKEN = re.compile(
    rf"""\s*(?:
        (?P<notexists>!\s*(?P<nkey>{_KEY}))
      | (?P<key>{_KEY})\s*(?:
            (?P<setop>in|notin)\s*\((?P<values>[^)]*)\)
          | (?P<op>==|=|!=|>|<)\s*(?P<value>{_VALUE})
        )?
    )\s*(?:,|$)""",
    re.VERBOSE,
)


@dataclasses.dataclass(frozen=True)
class Requirement:
    key: str
    op: str  # "=", "!=", "in", "notin", "exists", "!", ">", "<"
    values: tuple[str, ...] = ()

    def matches(self, labels: dict[str, str]) -> bool:
        present = self.key in labels
        value = labels.get(self.key)
        if self.op == "exists":
            return present
        if self.op == "!":
            return not present
        if self.op in ("=", "in"):
            return present and value in self.values
        if self.op in ("!=", "notin"):
            return not present or value not in self.values
        if not present:
            return False
        try:
            number, bound = int(value or ""), int(self.values[0])
        except ValueError:
            return False
        return number > bound if self.op == ">" else number < bound


def parse_labels(text: str) -> list[Requirement]:
    """Parse a label selector string; a syntax error is a 400 as in kube-apiserver."""
    text = text.strip()
    if not text:
        return []
    result: list[Requirement] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise errors.bad_request(f"unable to parse requirement: found '{text[pos:]}', expected: identifier")
        pos = match.end()
        if match.group("notexists"):
            result.append(Requirement(match.group("nkey"), "!"))
        elif match.group("setop"):
            values = tuple(v.strip() for v in match.group("values").split(",") if v.strip())
            if match.group("setop") == "in" and not values:
                raise errors.bad_request(
                    "unable to parse requirement: for 'in', 'notin' operators, values set can't be empty"
                )
            result.append(Requirement(match.group("key"), match.group("setop"), values))
        elif match.group("op"):
            op = "=" if match.group("op") == "==" else match.group("op")
            if op in (">", "<") and not match.group("value").isdigit():
                raise errors.bad_request(
                    "unable to parse requirement: for 'gt', 'lt' operators, the value must be an integer"
                )
            result.append(Requirement(match.group("key"), op, (match.group("value"),)))
        else:
            result.append(Requirement(match.group("key"), "exists"))
    return result


def matches(requirements: list[Requirement], labels: dict[str, str] | None) -> bool:
    labels = labels or {}
    return all(r.matches(labels) for r in requirements)


_FIELDS: dict[str, Callable[[dict[str, Any]], str]] = {
    "metadata.name": lambda o: str(o["metadata"].get("name", "")),
    "metadata.namespace": lambda o: str(o["metadata"].get("namespace", "")),
}


@dataclasses.dataclass(frozen=True)
class FieldRequirement:
    field: str
    value: str
    equal: bool

    def matches(self, obj: dict[str, Any]) -> bool:
        return (_FIELDS[self.field](obj) == self.value) == self.equal


def parse_fields(text: str, kind_name: str) -> list[FieldRequirement]:
    result = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        match = re.fullmatch(r"([A-Za-z0-9_.]+)\s*(==|=|!=)\s*(.*)", part)
        if match is None:
            raise errors.bad_request(f"invalid selector: '{text}'; can't understand '{part}'")
        field, op, value = match.groups()
        if field not in _FIELDS:
            raise errors.bad_request(f"field label not supported: {field}")
        result.append(FieldRequirement(field, value, op != "!="))
    return result
