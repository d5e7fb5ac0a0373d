"""The schema half of validation: the shipped JSON Schema, checked by the ``jsonschema`` library.

One source of truth: the validator is built from the document :func:`meshctl.config.schema.shipped` loads from
``istiooperator.schema.json``, the file ``meshctl profile schema`` prints. What meshctl adds on top is registered
with jsonschema, so the validator is a jsonschema ``Draft202012Validator`` extended with:

- the custom ``format`` values (``quantity``, ``dns1123-label``, ``dns1123-subdomain``, ``image-hub``,
  ``image-tag``, ``cidr-list``, ``port-list``): a :class:`jsonschema.FormatChecker` whose checks fail with meshctl's
  message (``format`` asserts only with a format checker; the empty string is always accepted);
- the vendor keyword ``x-meshctl-unknown`` (objects under ``values`` and ``meshConfig``): an unknown key there is
  reported, and meshctl makes it an error when it is a likely typo of a known sibling, otherwise a warning (the key
  is passed through). jsonschema has no warnings, so both come out of the validator as errors and
  :func:`problems` tells them apart;
- ``null`` counts as unset, as in the merge rules: no keyword judges a null value, and ``required`` counts a null
  as missing;
- ``integer`` means a whole number written as one: ``2.0`` is not an integer (jsonschema's draft 2020-12 type
  checker would accept it; Kubernetes rejects it in an int32 field).

Anything the shipped schema accepts that these extensions do not touch, meshctl accepts; everything meshctl
rejects here is a jsonschema error of the extended validator (``tests/unit/config/test_schema_agreement.py``).

On top, the messages: every error becomes one line starting with meshctl's path syntax (spec-relative, like
``--set``: ``components.ingressGateways[0].name``), did-you-mean hints for unknown fields, all errors at once in
document order. ``spec.unvalidatedValues`` is never looked at.

``jsonschema`` is imported on first use: it costs tens of milliseconds, so a document the fast gate of
:mod:`meshctl.config.schemagate` passes (compiled from the same file) never comes here, nor do commands that do
not validate.
"""

from __future__ import annotations

import dataclasses
import functools
import ipaddress
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from meshctl.config import paths, schema, suggest

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_HUB = re.compile(
    r"[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]+)?"  # registry host (or first path component)
    r"(?:/[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*)*"
)
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
#: The string formats checked by a pattern: format -> (pattern, maximum length, message).
_PATTERNS: dict[str, tuple[re.Pattern[str], int, str]] = {
    "dns1123-label": (
        _DNS1123_LABEL,
        63,
        "{text!r} is not a valid DNS-1123 label (lower-case letters, digits and '-', at most 63)",
    ),
    "dns1123-subdomain": (
        _DNS1123_SUBDOMAIN,
        253,
        "{text!r} is not a valid name (lower-case letters, digits, '-' and '.', at most 253)",
    ),
    "image-hub": (_HUB, 255, "bad hub {text!r}: not an image registry/repository such as docker.io/istio"),
    "image-tag": (
        _TAG,
        128,  # the pattern's own bound
        "bad tag {text!r}: letters, digits, '_', '.' and '-', at most 128, not starting with '.' or '-'",
    ),
}
_QUANTITY = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+|[KMGTPE]i|[numkMGTPE])?")
#: Every custom format of the shipped schema (``schemagen`` writes them; a test checks this list is complete).
FORMATS = ("quantity", *_PATTERNS, "cidr-list", "port-list")

_JSON_TYPES = {
    "object": "a map",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
}
#: Order of messages about one node (the hand-written checker's order, kept).
_KEYWORD_ORDER = {"type": 0, "enum": 1, "minimum": 2, "maximum": 3, "format": 4}


# --- formats -----------------------------------------------------------------------------------------------------


class FormatProblem(ValueError):
    """A value that does not have its schema ``format``; the message is meshctl's."""


def check_format(fmt: str, value: Any) -> str | None:
    """A problem with ``value`` under a custom ``format``, or ``None``.

    A format judges strings (``quantity`` also numbers); other types are the ``type`` keyword's business. The empty
    string is accepted everywhere (an unset hub, tag, revision, ...).
    """
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if value == "" or not (isinstance(value, str) or (fmt == "quantity" and is_number)):
        return None
    if fmt == "quantity":
        if is_number:
            return None if value >= 0 else f"{value} is not a valid quantity (negative)"
        if not _QUANTITY.fullmatch(value):
            return f"{value!r} is not a valid quantity (e.g. 100m, 0.5, 128Mi, 2Gi)"
        return None
    if fmt in _PATTERNS:
        pattern, limit, message = _PATTERNS[fmt]
        return message.format(text=value) if len(value) > limit or not pattern.fullmatch(value) else None
    if fmt == "cidr-list":
        return _check_cidrs(value)
    if fmt == "port-list":
        return _check_ports(value)
    return None


def _check_cidrs(text: str) -> str | None:
    if text.strip() in ("", "*"):
        return None
    for part in text.split(","):
        try:
            ipaddress.ip_network(part.strip(), strict=False)
        except ValueError:
            return f"{part.strip()!r} is not a CIDR (write '*' or a comma-separated list such as 10.0.0.0/8)"
    return None


def _check_ports(text: str) -> str | None:
    if text.strip() in ("", "*"):
        return None
    for part in text.split(","):
        part = part.strip()
        if not part.isdigit() or not 0 <= int(part) <= 65535:
            return f"{part!r} is not a port in 0..65535 (write '*' or a comma-separated list of ports)"
    return None


def _format_check(fmt: str) -> Callable[[Any], bool]:
    def check(value: Any) -> bool:
        problem = check_format(fmt, value)
        if problem is not None:
            raise FormatProblem(problem)
        return True

    return check


@functools.cache
def format_checker() -> Any:
    """The :class:`jsonschema.FormatChecker` of meshctl's formats (and no others)."""
    import jsonschema  # type: ignore[import-untyped]  # no type information shipped

    checker = jsonschema.FormatChecker(formats=())
    for fmt in FORMATS:
        checker.checks(fmt, raises=FormatProblem)(_format_check(fmt))
    return checker


# --- the validator -----------------------------------------------------------------------------------------------


def _unless_null(keyword: Callable[..., Any]) -> Callable[..., Any]:
    """A keyword that does not judge ``null`` (unset) values."""

    def check(validator: Any, value: Any, instance: Any, node: Mapping[str, Any]) -> Any:
        if instance is None:
            return ()
        return keyword(validator, value, instance, node)

    return check


def _required(validator: Any, names: Any, instance: Any, node: Mapping[str, Any]) -> Iterator[Any]:
    """``required``, with a ``null`` value counting as missing."""
    from jsonschema import ValidationError

    if isinstance(instance, dict):
        for name in names:
            if instance.get(name) is None:
                yield ValidationError(f"{name!r} is a required property")


#: Did-you-mean is computed for at most this many unknown keys per validation: its cost is the number of unknown
#: keys times the number of known ones, and 100,000 unknown keys must not take minutes. Beyond it, an unknown key
#: under ``values`` is a warning (no typo check) and elsewhere an error without a suggestion.
MAX_SUGGESTIONS = 200
_suggestions: dict[tuple[str, int], str | None] = {}


def _closest(key: str, known: Mapping[str, Any]) -> str | None:
    cache_key = (key, id(known))
    if cache_key in _suggestions:
        return _suggestions[cache_key]
    if len(_suggestions) >= MAX_SUGGESTIONS:
        return None
    guess = suggest.closest(key, known)
    _suggestions[cache_key] = guess
    return guess


def _unknown_keys(validator: Any, mode: Any, instance: Any, node: Mapping[str, Any]) -> Iterator[Any]:
    """``x-meshctl-unknown: warn``: report the keys of an open object that its ``properties`` do not name."""
    from jsonschema import ValidationError

    if mode != "warn" or not isinstance(instance, dict) or node.get("additionalProperties", True) is not True:
        return
    known: Mapping[str, Any] = node.get("properties") or {}
    for key, value in instance.items():
        if key not in known:
            guess = _closest(key, known)
            message = f"{key!r} is a likely typo of {guess!r}" if guess else f"{key!r} is not used by meshctl"
            yield ValidationError(message, path=[key], instance=value)


def _is_integer(checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


@functools.cache
def validator_class() -> Any:
    """jsonschema's draft 2020-12 validator with meshctl's extensions (see the module docstring)."""
    import jsonschema
    from jsonschema import validators

    base = jsonschema.Draft202012Validator
    keywords = {name: _unless_null(keyword) for name, keyword in base.VALIDATORS.items()}
    keywords["required"] = _required
    keywords[schema.UNKNOWN_KEYWORD] = _unknown_keys
    return validators.extend(base, validators=keywords, type_checker=base.TYPE_CHECKER.redefine("integer", _is_integer))


@functools.cache
def validator() -> Any:
    """The validator of the shipped schema (the document loaded from the file, not a copy)."""
    return validator_class()(schema.shipped(), format_checker=format_checker())


# --- messages ----------------------------------------------------------------------------------------------------

Location = tuple[str | int, ...]


@dataclasses.dataclass(frozen=True)
class Problem:
    """One finding: ``message`` starts with meshctl's path of ``location`` (a path in the document).

    ``keyword`` is the schema keyword whose jsonschema error it comes from, at ``error_path`` (jsonschema's
    ``absolute_path``: the node the keyword judged; for ``required`` and ``additionalProperties`` the object,
    while ``location`` names the missing or unknown key).
    """

    location: Location
    keyword: str
    message: str
    error_path: Location
    warning: bool = False


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def display(location: Location, *, in_spec: bool = True) -> str:
    """meshctl's path syntax for a document path; paths into ``spec`` are spec-relative (as ``--set`` takes them)."""
    if in_spec and location[:1] == ("spec",):
        location = location[1:]
    text = ""
    for segment in location:
        if isinstance(segment, int):
            text += f"[{segment}]"
        else:
            piece = paths.escape_key(segment)
            text = f"{text}.{piece}" if text else piece
    return text


def _describe(error: Any) -> Iterator[Problem]:
    """meshctl's message(s) for one jsonschema error."""
    at: Location = tuple(error.absolute_path)
    where = display(at)
    keyword = str(error.validator)
    value = error.instance
    node: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}

    def problem(message: str, location: Location = at, *, warning: bool = False) -> Problem:
        return Problem(location, keyword, message, at, warning)

    if keyword == "type":
        allowed = [error.validator_value] if isinstance(error.validator_value, str) else list(error.validator_value)
        expected = " or ".join(_JSON_TYPES.get(t, t) for t in sorted(allowed))
        hint = ""
        if "string" in allowed and _json_type(value) in ("integer", "number", "boolean"):
            hint = f' (quote it: "{paths.scalar_text(value)}")'
        yield problem(f"{where or '<root>'}: expected {expected}, got {paths.describe(value)}{hint}")
    elif keyword == "enum":
        listed = ", ".join(str(v) for v in error.validator_value if v != "")
        yield problem(f"{where}: {paths.scalar_text(value)!r} is not one of: {listed}")
    elif keyword == "minimum":
        yield problem(f"{where}: {value} is below the minimum {error.validator_value}")
    elif keyword == "maximum":
        yield problem(f"{where}: {value} is above the maximum {error.validator_value}")
    elif keyword == "format":
        yield problem(f"{where}: {error.cause if isinstance(error.cause, FormatProblem) else error.message}")
    elif keyword == "required":
        for name in error.validator_value:
            if isinstance(value, dict) and value.get(name) is None:
                yield problem(f"{display((*at, name))}: required", (*at, name))
    elif keyword == "additionalProperties" and error.validator_value is False:
        known: Mapping[str, Any] = node.get("properties") or {}
        for key in value:
            if key in known:
                continue
            guess = _closest(key, known)
            hint = f" (did you mean {display((*at, guess), in_spec=bool(at))}?)" if guess else ""
            listed = "" if guess else f"; known fields: {', '.join(sorted(known))}" if known else ""
            yield problem(f"{display((*at, key))}: unknown field{hint}{listed}", (*at, key))
    elif keyword == "not" and node.get("description"):  # a value Istio 1.30 does not have (schemagen.rejected)
        yield problem(f"{where}: {node['description']}")
    elif keyword == schema.UNKNOWN_KEYWORD:
        guess = _closest(str(at[-1]), node.get("properties") or {})
        if guess is not None:
            yield problem(f"{where}: unknown key (did you mean {display((*at[:-1], guess))}?)")
        else:
            yield problem(f"{where}: meshctl does not use this key; it is passed through as is", warning=True)
    else:  # a keyword the schema does not use today: jsonschema's own words
        yield problem(f"{where or '<root>'}: {error.message}")


def _order(
    document: Any, found: Problem, positions_of: dict[int, dict[Any, int]] | None = None
) -> tuple[tuple[int, ...], int]:
    """Sort key: outside ``spec`` first, then document order, a node's own problems before its children's.

    ``positions_of`` caches each map's key positions (by the map's id): with many problems in one map, looking
    each key up by position would be quadratic.
    """
    cache: dict[int, dict[Any, int]] = {} if positions_of is None else positions_of
    missing = found.keyword == "required"  # the location names a key that is not there (or null)
    positions = [1 if found.location[:1] == ("spec",) else 0]
    node = document
    for segment in found.location[:-1] if missing else found.location:
        if isinstance(node, dict) and segment in node:
            index = cache.get(id(node))
            if index is None:
                index = cache[id(node)] = {key: i for i, key in enumerate(node)}
            positions.append(index[segment])
            node = node[segment]
        elif isinstance(node, list) and isinstance(segment, int) and segment < len(node):
            positions.append(segment)
            node = node[segment]
    if missing:
        positions.append(-1)  # before the keys that are there
    return tuple(positions), _KEYWORD_ORDER.get(found.keyword, len(_KEYWORD_ORDER))


def checked_document(iop: Mapping[str, Any]) -> dict[str, Any]:
    """The part of the document validation looks at: all of it but ``spec.unvalidatedValues``."""
    document = dict(iop)
    spec = document.get("spec")
    if isinstance(spec, dict) and "unvalidatedValues" in spec:
        document["spec"] = {key: value for key, value in spec.items() if key != "unvalidatedValues"}
    return document


def problems(iop: Mapping[str, Any]) -> list[Problem]:
    """Every schema problem of an IstioOperator document, errors and warnings, in document order.

    A node of the wrong type gets that one message: jsonschema's other verdicts on the same node (``enum``,
    ``format``) would only repeat it.
    """
    document = checked_document(iop)
    _suggestions.clear()
    errors = list(validator().iter_errors(document))
    mistyped = {tuple(error.absolute_path) for error in errors if error.validator == "type"}
    found = [
        item
        for error in errors
        if error.validator == "type" or tuple(error.absolute_path) not in mistyped
        for item in _describe(error)
    ]
    _suggestions.clear()
    positions_of: dict[int, dict[Any, int]] = {}
    return sorted(found, key=lambda item: _order(document, item, positions_of))
