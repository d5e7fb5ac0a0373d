"""The one path grammar: ``--set PATH=VALUE``, ``--config-path PATH`` and ``k8s.overlays[].patches[].path``.

A path is a sequence of segments separated by unescaped dots (``config.md`` §4)::

    key          a map key; ``\\.`` is a literal dot; ``"a.b"`` is a quoted key (dots need no escaping there)
    key[N]       list index (also ``key.[N]``); N == len appends one element when setting
    key[k:v]     the first map element of a list whose field ``k`` equals ``v`` as a string
    key[v]       overlay paths only: the scalar element equal to ``v`` (also ``[:v]``)

Parsing never touches a tree; :func:`set_value`, :func:`get_value` and :func:`delete_value` apply a parsed
:class:`Path` to a tree and raise :class:`meshctl.errors.PathError` naming the prefix and what was found there.
Every error carries the character span of the offending segment, so the CLI can draw a caret under it.

``--set`` values are typed by :func:`type_value` (schema types when known, otherwise a small fixed inference);
they are never parsed with a YAML loader.
"""

from __future__ import annotations

import dataclasses
import enum
import math
import re
from collections.abc import Iterator, Sequence
from typing import Any

from meshctl import errors

#: At most this many segments in a path: the nesting limit of files (``loading.MAX_DEPTH``), so no input depth
#: can drive recursion elsewhere.
MAX_SEGMENTS = 100
#: Integers are 64-bit signed, as in Kubernetes' JSON; longer digit strings are refused before conversion.
MAX_INT = 2**63 - 1
MIN_INT = -(2**63)
_MAX_INT_DIGITS = 19
#: List indexes beyond this are refused (a list that long is not an IstioOperator setting).
MAX_INDEX = 100_000


def checked_int(text: str) -> int | None:
    """``int(text)`` for a decimal within 64 bits, else ``None`` (never converts a long digit string)."""
    if len(text.lstrip("-+")) > _MAX_INT_DIGITS:
        return None
    value = int(text)
    return value if MIN_INT <= value <= MAX_INT else None


def int_range_error(where: str, text: str) -> errors.InputLimitError:
    shown = text if len(text) <= 24 else f"{text[:12]}…{text[-6:]} ({len(text)} characters)"
    return errors.InputLimitError(
        f"{where}: integer {shown} is out of range (64-bit signed: {MIN_INT} to {MAX_INT})",
        limit="integer",
        hint="write a smaller number, or quote it to make it a string",
    )


class Kind(enum.Enum):
    KEY = "key"
    INDEX = "index"
    SELECT = "select"  # [k:v]
    MATCH = "match"  # [v] / [:v], overlays only


class Mode(enum.Enum):
    """Where a path comes from; decides the accepted forms and the error wording."""

    SET = "--set"  # relative to spec; a leading unquoted ``spec.`` is dropped
    CONFIG_PATH = "--config-path"  # relative to spec; may be empty (the whole spec)
    OVERLAY = "overlay"  # relative to the patched object; allows [v] scalar selectors


@dataclasses.dataclass(frozen=True)
class Segment:
    """One step of a path; ``start``/``end`` index its characters in the path text."""

    kind: Kind
    key: str = ""  # KEY: the key; SELECT: the field name
    value: str = ""  # SELECT / MATCH: the value compared as a string
    index: int = 0  # INDEX
    start: int = 0
    end: int = 0
    quoted: bool = False

    def render(self) -> str:
        """The segment in canonical path syntax (as :func:`format_path` writes it)."""
        if self.kind is Kind.KEY:
            return escape_key(self.key)
        if self.kind is Kind.INDEX:
            return f"[{self.index}]"
        if self.kind is Kind.SELECT:
            return f"[{_escape_bracket(self.key)}:{_escape_bracket(self.value)}]"
        return f"[{_escape_bracket(self.value)}]"


@dataclasses.dataclass(frozen=True)
class Source:
    """Where a path text came from, for error messages: e.g. flag ``--set`` and the whole argument."""

    flag: str
    text: str  # the whole argument as given (``a.b=1``)
    offset: int = 0  # where the path starts inside ``text``

    @property
    def display(self) -> str:
        return f"{self.flag} {self.text}" if self.flag else self.text

    @property
    def base(self) -> int:
        return (len(self.flag) + 1 if self.flag else 0) + self.offset


@dataclasses.dataclass(frozen=True)
class Path:
    """A parsed path: its segments, and where it came from (for carets)."""

    segments: tuple[Segment, ...]
    source: Source

    def __str__(self) -> str:
        return format_path(self.segments)

    def prefix(self, upto: int) -> str:
        """The canonical text of the first ``upto`` segments (``<root>`` for none)."""
        return format_path(self.segments[:upto]) or "<root>"

    def error(
        self, message: str, seg: Segment | None = None, *, hint: str | None = None, not_found: bool = False
    ) -> errors.PathError:
        """A :class:`PathError` whose caret sits under ``seg`` (or under the whole path).

        ``not_found``: the path is fine but selects nothing in the tree (:class:`errors.PathNotFound`).
        """
        if seg is None:
            start = 0
            end = self.segments[-1].end if self.segments else 0
        else:
            start, end = seg.start, seg.end
        return _source_error(self.source, message, start, end, hint=hint, not_found=not_found)


# Escapes shared by keys and values (config.md §4); ``[``/``]``/``:`` are also escapable in keys and selectors.
_SIMPLE_ESCAPES = {",": ",", ".": ".", "=": "=", '"': '"', "'": "'", "\\": "\\", "[": "[", "]": "]", ":": ":"}
# Only inside quoted keys and quoted values: control characters, so every string survives ``-o flags``.
_CONTROL_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}
_INDEX_RE = re.compile(r"[0-9]+")


def _source_error(
    source: Source, message: str, start: int, end: int, *, hint: str | None = None, not_found: bool = False
) -> errors.PathError:
    where = source.flag or "path"
    cls = errors.PathNotFound if not_found else errors.PathError
    return cls(
        f"{where}: {message}",
        path=source.display,
        segment_start=source.base + start,
        segment_end=source.base + max(end, start + 1),
        hint=hint,
    )


class _Scanner:
    """Reads path text into segments; optionally stops at the first ``=`` outside quotes and brackets."""

    def __init__(self, text: str, source: Source, mode: Mode, stop_at_equals: bool) -> None:
        self.text = text
        self.source = source
        self.mode = mode
        self.stop_at_equals = stop_at_equals
        self.pos = 0
        self.segments: list[Segment] = []

    def fail(self, message: str, start: int, end: int | None = None, hint: str | None = None) -> errors.PathError:
        return _source_error(self.source, message, start, end if end is not None else start + 1, hint=hint)

    def at_end(self) -> bool:
        if self.pos >= len(self.text):
            return True
        return self.stop_at_equals and self.text[self.pos] == "="

    def scan(self) -> int:
        """Scan segments; return the position where scanning stopped (the ``=`` or the end)."""
        text = self.text
        expect_key = True  # at the start or right after a dot
        while not self.at_end():
            ch = text[self.pos]
            if ch == "[":
                self.bracket()
                expect_key = False
            elif expect_key or not self.segments:
                if ch == '"':
                    self.quoted_key()
                else:
                    self.plain_key()
                expect_key = False
            else:  # pragma: no cover - the branches below always consume a dot or fail
                raise self.fail(f"unexpected {ch!r}", self.pos)
            if self.at_end():
                break
            nxt = text[self.pos]
            if nxt == ".":
                dot = self.pos
                self.pos += 1
                if self.at_end() or text[self.pos] == ".":
                    raise self.fail(
                        "empty key after '.'",
                        dot,
                        dot + 1,
                        hint=r"remove the extra dot, or write \. for a dot in a key",
                    )
                expect_key = True
            elif nxt == "[":
                continue
            else:
                raise self.fail(f"unexpected {nxt!r}; expected '.', '[' or the end of the path", self.pos)
        return self.pos

    def plain_key(self) -> None:
        text = self.text
        start = self.pos
        chars: list[str] = []
        while self.pos < len(text):
            ch = text[self.pos]
            if ch == "\\" and self.pos + 1 < len(text):
                nxt = text[self.pos + 1]
                if nxt in _SIMPLE_ESCAPES:
                    chars.append(_SIMPLE_ESCAPES[nxt])
                else:  # an unknown escape is kept as written
                    chars.append("\\" + nxt)
                self.pos += 2
                continue
            if ch in ".[" or (self.stop_at_equals and ch == "="):
                break
            if ch == "]":
                raise self.fail("unmatched ']'", self.pos, hint=r"write \] for a bracket in a key")
            chars.append(ch)
            self.pos += 1
        if self.pos == start:
            raise self.fail("empty key", start, start + 1, hint='write "" for a key that is the empty string')
        self.segments.append(Segment(Kind.KEY, key="".join(chars), start=start, end=self.pos))

    def quoted_key(self) -> None:
        text = self.text
        start = self.pos
        self.pos += 1
        chars: list[str] = []
        while True:
            if self.pos >= len(text):
                raise self.fail("unterminated quoted key", start, len(text), hint='close the key with a "')
            ch = text[self.pos]
            if ch == "\\" and self.pos + 1 < len(text):
                nxt = text[self.pos + 1]
                if nxt in _SIMPLE_ESCAPES:
                    chars.append(_SIMPLE_ESCAPES[nxt])
                elif nxt in _CONTROL_ESCAPES:
                    chars.append(_CONTROL_ESCAPES[nxt])
                else:
                    chars.append("\\" + nxt)
                self.pos += 2
                continue
            if ch == '"':
                self.pos += 1
                break
            chars.append(ch)
            self.pos += 1
        self.segments.append(Segment(Kind.KEY, key="".join(chars), start=start, end=self.pos, quoted=True))

    def bracket(self) -> None:
        text = self.text
        start = self.pos
        self.pos += 1
        chars: list[str] = []
        colon: int | None = None
        while True:
            if self.pos >= len(text):
                raise self.fail("unterminated '['", start, len(text), hint="close the selector with ']'")
            ch = text[self.pos]
            if ch == "\\" and self.pos + 1 < len(text):
                nxt = text[self.pos + 1]
                chars.append(_SIMPLE_ESCAPES.get(nxt, "\\" + nxt))
                self.pos += 2
                continue
            if ch == "]":
                self.pos += 1
                break
            if ch == ":" and colon is None:
                colon = len(chars)
                chars.append("")  # placeholder keeps positions of later characters
                self.pos += 1
                continue
            chars.append(ch)
            self.pos += 1
        end = self.pos
        raw = text[start + 1 : end - 1]
        if colon is not None:
            field, value = "".join(chars[:colon]), "".join(chars[colon + 1 :])
            if field:
                self.segments.append(Segment(Kind.SELECT, key=field, value=value, start=start, end=end))
                return
            self.match(value, start, end)
            return
        content = "".join(chars)
        if not content:
            raise self.fail("empty selector '[]'", start, end, hint="use [N] for an index or [key:value] to select")
        if _INDEX_RE.fullmatch(raw):
            if len(raw) > len(str(MAX_INDEX)) or int(raw) > MAX_INDEX:
                raise self.fail(
                    f"index [{raw if len(raw) <= 24 else raw[:12] + '…'}] is out of range (at most {MAX_INDEX})",
                    start,
                    end,
                    hint="indexes start at 0; [N] with N equal to the list length appends",
                )
            self.segments.append(Segment(Kind.INDEX, index=int(raw), start=start, end=end))
            return
        self.match(content, start, end)

    def match(self, value: str, start: int, end: int) -> None:
        if self.mode is not Mode.OVERLAY:
            if re.fullmatch(r"-[0-9]+", value):
                raise self.fail(
                    f"invalid index [{value}]",
                    start,
                    end,
                    hint="indexes start at 0; [N] with N equal to the list length appends",
                )
            raise self.fail(
                f"value selector [{value}] is allowed only in overlay paths",
                start,
                end,
                hint="use [N] for an index or [key:value] to select a map element",
            )
        self.segments.append(Segment(Kind.MATCH, value=value, start=start, end=end))


def _strip_spec(segments: list[Segment], mode: Mode) -> list[Segment]:
    if mode is not Mode.OVERLAY and segments and segments[0].kind is Kind.KEY:
        first = segments[0]
        if first.key == "spec" and not first.quoted:
            return segments[1:]
    return segments


def _check_depth(segments: Sequence[Segment], flag: str) -> None:
    if len(segments) > MAX_SEGMENTS:
        raise errors.InputLimitError(
            f"{flag}: path has {len(segments)} segments; the limit is {MAX_SEGMENTS} (the nesting limit of files)",
            limit="depth",
            hint="a configuration path is a few segments long; check how the argument was generated",
        )


def parse_path(text: str, mode: Mode = Mode.OVERLAY, *, source: Source | None = None) -> Path:
    """Parse a path (``--config-path`` or overlay form); surrounding whitespace is ignored."""
    if source is None:
        source = Source("" if mode is Mode.OVERLAY else mode.value, text)
    stripped = text.strip()
    lead = len(text) - len(text.lstrip())
    inner = dataclasses.replace(source, offset=source.offset + lead)
    scanner = _Scanner(stripped, inner, mode, stop_at_equals=False)
    scanner.scan()
    _check_depth(scanner.segments, inner.flag or "path")
    segments = _strip_spec(scanner.segments, mode)
    if not segments and mode is Mode.OVERLAY:
        raise _source_error(inner, "empty path", 0, 1)
    return Path(tuple(segments), inner)


@dataclasses.dataclass(frozen=True)
class Assignment:
    """A parsed ``--set PATH=VALUE``: the path, the value text after unescaping, and whether it was quoted."""

    path: Path
    text: str
    quoted: bool
    raw: str  # the argument as given


def parse_assignment(arg: str, *, flag: str = "--set") -> Assignment:
    """Split ``PATH=VALUE`` at the first ``=`` outside quoted keys and brackets, and parse both sides."""
    source = Source(flag, arg)
    lead = len(arg) - len(arg.lstrip())
    inner = dataclasses.replace(source, offset=lead)
    body = arg[lead:]
    scanner = _Scanner(body, inner, Mode.SET, stop_at_equals=True)
    stop = scanner.scan()
    if stop >= len(body):
        raise _source_error(
            source,
            f"missing '=' in {arg!r}",
            len(arg),
            len(arg) + 1,
            hint=f'write {flag} PATH=VALUE (an empty value is PATH="")',
        )
    path_text = body[:stop]
    trailing = len(path_text) - len(path_text.rstrip())
    if trailing:  # whitespace before '=' belongs to no key: rescan the trimmed text for exact positions
        scanner = _Scanner(path_text.rstrip(), inner, Mode.SET, stop_at_equals=False)
        scanner.scan()
    if not scanner.segments:
        raise _source_error(inner, "empty path before '='", 0, max(stop, 1), hint=f"write {flag} PATH=VALUE")
    _check_depth(scanner.segments, flag)
    segments = _strip_spec(scanner.segments, Mode.SET)
    if not segments:
        raise _source_error(inner, "cannot replace the whole spec", 0, stop, hint="set its fields one by one")
    text, quoted = unescape_value(body[stop + 1 :])
    return Assignment(Path(tuple(segments), inner), text, quoted, arg)


def unescape_value(raw: str) -> tuple[str, bool]:
    """Resolve backslash escapes and strip one pair of surrounding quotes (escaped or not).

    Returns the text and whether it was quoted. ``\\n``, ``\\t`` and ``\\r`` are control characters only inside
    quotes, so an unquoted Windows path keeps its backslashes.
    """
    text = raw.strip()
    tokens: list[tuple[str, str]] = []  # (character(s), class) with class "plain", "escaped" or "control"
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in _SIMPLE_ESCAPES:
                tokens.append((nxt, "escaped"))
            elif nxt in _CONTROL_ESCAPES:
                tokens.append((nxt, "control"))
            else:
                tokens.append(("\\" + nxt, "plain"))
            i += 2
            continue
        tokens.append((ch, "plain"))
        i += 1
    quoted = (
        len(tokens) >= 2
        and tokens[0][0] in ("'", '"')
        and tokens[0][0] == tokens[-1][0]
        and tokens[0][1] != "control"
        and tokens[-1][1] != "control"
    )
    if quoted:
        tokens = tokens[1:-1]
    out = []
    for chars, cls in tokens:
        if cls == "control":
            out.append(_CONTROL_ESCAPES[chars] if quoted else "\\" + chars)
        else:
            out.append(chars)
    return "".join(out), quoted


# ---------------------------------------------------------------------------------------------------------------
# Value typing

_INT_RE = re.compile(r"-?(?:0|[1-9][0-9]*)")
_FLOAT_RE = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


def infer_scalar(text: str) -> Any:
    """Free-form typing: bool, null, int (no leading zeros), float (round-trip exact), else the string."""
    lowered = text.lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    if text == "null":
        return None
    if _INT_RE.fullmatch(text):
        value = checked_int(text)
        if value is None:
            raise int_range_error("--set", text)
        return value
    if _FLOAT_RE.fullmatch(text) and ("." in text or "e" in lowered):
        number = float(text)
        if math.isfinite(number) and repr(number) == text:
            return number
    return text


def type_value(assignment: Assignment, types: frozenset[str] | None) -> Any:
    """The typed value of an assignment, given the JSON types the schema allows at its path (or ``None``)."""
    text, quoted = assignment.text, assignment.quoted
    if types is None:
        return text if quoted else infer_scalar(text)
    if not quoted and text == "null":
        return None
    if quoted and "string" in types:
        return text
    if "boolean" in types and text.lower() in ("true", "false"):
        return text.lower() == "true"
    if ("integer" in types or "number" in types) and _INT_RE.fullmatch(text):
        value = checked_int(text)
        if value is None:
            raise int_range_error(f"--set {assignment.path}", text)
        return value
    if "number" in types:
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if math.isfinite(number) and _FLOAT_RE.fullmatch(text):
            return number
    if "string" in types:
        return text
    if "boolean" not in types and "integer" not in types and "number" not in types:
        kind = "a list" if "array" in types else "a map"
        raise assignment.path.error(
            f"{assignment.path} is {kind}; a single value cannot be set there",
            assignment.path.segments[-1],
            hint=f"set its fields one by one, e.g. {assignment.path}.FIELD=VALUE"
            if kind == "a map"
            else f"set its elements one by one, e.g. {assignment.path}[0]=VALUE",
        )
    expected = " or ".join(_TYPE_NAMES[t] for t in sorted(types) if t in _TYPE_NAMES)
    raise assignment.path.error(
        f"{assignment.path} expects {expected}, got {text!r}",
        assignment.path.segments[-1],
        hint="write true or false" if types == frozenset({"boolean"}) else None,
    )


_TYPE_NAMES = {
    "boolean": "a boolean (true or false)",
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "object": "a map",
    "array": "a list",
}


# ---------------------------------------------------------------------------------------------------------------
# Tree operations


def describe(value: Any) -> str:
    """A short description of what was found at a path (for errors)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"a boolean ({'true' if value else 'false'})"
    if isinstance(value, int | float):
        return f"a number ({value!r})"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"a string ({shown!r})"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, dict):
        return "a map"
    return type(value).__name__


def scalar_text(value: Any) -> str:
    """How selectors compare values: ``true``/``false``, ``null``, numbers and strings as written."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def _find_select(items: list[Any], seg: Segment) -> int | None:
    for i, item in enumerate(items):
        if isinstance(item, dict) and seg.key in item and scalar_text(item[seg.key]) == seg.value:
            return i
    return None


def _find_match(items: list[Any], seg: Segment) -> int | None:
    for i, item in enumerate(items):
        if not isinstance(item, dict | list) and scalar_text(item) == seg.value:
            return i
    return None


def _select_error(path: Path, at: int, items: list[Any]) -> errors.PathError:
    seg = path.segments[at]
    prefix = path.prefix(at)
    if seg.kind is Kind.SELECT:
        present = [scalar_text(i[seg.key]) for i in items if isinstance(i, dict) and seg.key in i]
        if present:
            listed = ", ".join(present[:20]) + (", ..." if len(present) > 20 else "")
            hint = f"{seg.key} values in {prefix}: {listed}"
        else:
            hint = f"no element of {prefix} has a field {seg.key!r}"
        return path.error(f"no element of {prefix} has {seg.key}={seg.value}", seg, hint=hint, not_found=True)
    present = [scalar_text(i) for i in items if not isinstance(i, dict | list)]
    hint = f"values in {prefix}: {', '.join(present[:20])}" if present else f"{prefix} holds no scalar values"
    return path.error(f"no element of {prefix} equals {seg.value!r}", seg, hint=hint, not_found=True)


def _index_error(path: Path, at: int, length: int, *, appending: bool) -> errors.PathError:
    seg = path.segments[at]
    prefix = path.prefix(at)
    limit = f"at most {length} (to append)" if appending else f"below {length}"
    noun = "element" if length == 1 else "elements"
    return path.error(
        f"index {seg.index} is out of range: {prefix} has {length} {noun}",
        seg,
        hint=f"use an index {limit}" if length or appending else f"{prefix} is empty",
        not_found=not appending,
    )


def _container_error(path: Path, at: int, found: Any) -> errors.PathError:
    seg = path.segments[at]
    prefix = path.prefix(at)
    if seg.kind is Kind.KEY:
        wanted = "a map"
        hint = f"{prefix} is a list: address an element with [N] or [key:value]" if isinstance(found, list) else None
    else:
        wanted = "a list"
        hint = None
    return path.error(f"{prefix} is {describe(found)}, not {wanted}", seg, hint=hint)


def _new_container(seg: Segment) -> Any:
    return [] if seg.kind is not Kind.KEY else {}


def _new_child(path: Path, at: int) -> Any:
    """A new, empty container for segment ``at``, which does not exist: a map or list as the next segment wants.

    A selection (``[key:value]``, ``[value]``) in a list that does not exist yet is an error: nothing matches.
    """
    following = path.segments[at + 1]
    if following.kind in (Kind.SELECT, Kind.MATCH):
        raise path.error(
            f"{path.prefix(at + 1)} does not exist, so nothing can be selected in it", following, not_found=True
        )
    return _new_container(following)


def _locate(tree: Any, path: Path, *, create: bool) -> tuple[Any, Segment]:
    """Walk to the parent of the last segment; create missing maps/lists when ``create``."""
    node = tree
    segs = path.segments
    for i, seg in enumerate(segs[:-1]):
        following = segs[i + 1]
        if seg.kind is Kind.KEY:
            if not isinstance(node, dict):
                raise _container_error(path, i, node)
            child = node.get(seg.key)
            if child is None:
                if not create:
                    raise _missing_key(path, i, node)
                child = _new_child(path, i)
                node[seg.key] = child
            node = child
            continue
        if not isinstance(node, list):
            raise _container_error(path, i, node)
        if seg.kind is Kind.INDEX:
            if seg.index < len(node):
                child = node[seg.index]
                if child is None and create:
                    child = _new_container(following)
                    node[seg.index] = child
            elif seg.index == len(node) and create:
                child = _new_child(path, i)
                node.append(child)
            else:
                raise _index_error(path, i, len(node), appending=create)
        else:
            found = _find_select(node, seg) if seg.kind is Kind.SELECT else _find_match(node, seg)
            if found is None:
                raise _select_error(path, i, node)
            child = node[found]
        node = child
    return node, segs[-1]


def _missing_key(path: Path, at: int, node: dict[str, Any]) -> errors.PathError:
    from meshctl.config import suggest  # small module; imported here to keep this one self-contained

    seg = path.segments[at]
    prefix = path.prefix(at)
    guess = suggest.closest(seg.key, [k for k in node if isinstance(k, str)])
    hint = f"did you mean {format_path((*path.segments[:at], dataclasses.replace(seg, key=guess)))}?" if guess else None
    if hint is None and node:
        keys = ", ".join(escape_key(k) for k in list(node)[:20])
        hint = f"keys in {prefix}: {keys}"
    where = f"in {prefix}" if at else "at the top level"
    return path.error(f"no key {seg.key!r} {where}", seg, hint=hint, not_found=True)


def set_value(tree: Any, path: Path, value: Any) -> None:
    """Set ``value`` at ``path`` in ``tree`` (in place), creating missing maps and appending at ``[len]``."""
    if not path.segments:
        raise path.error("empty path")
    parent, last = _locate(tree, path, create=True)
    at = len(path.segments) - 1
    if last.kind is Kind.KEY:
        if not isinstance(parent, dict):
            raise _container_error(path, at, parent)
        parent[last.key] = value
        return
    if not isinstance(parent, list):
        raise _container_error(path, at, parent)
    if last.kind is Kind.INDEX:
        if last.index < len(parent):
            parent[last.index] = value
        elif last.index == len(parent):
            parent.append(value)
        else:
            raise _index_error(path, at, len(parent), appending=True)
        return
    found = _find_select(parent, last) if last.kind is Kind.SELECT else _find_match(parent, last)
    if found is None:
        raise _select_error(path, at, parent)
    parent[found] = value


def get_value(tree: Any, path: Path) -> Any:
    """The value at ``path`` (the tree itself for an empty path); missing parts are errors naming the prefix."""
    if not path.segments:
        return tree
    parent, _last = _locate(tree, path, create=False)
    return _child(parent, path, len(path.segments) - 1)


def _child(parent: Any, path: Path, at: int) -> Any:
    last = path.segments[at]
    if last.kind is Kind.KEY:
        if not isinstance(parent, dict):
            raise _container_error(path, at, parent)
        if last.key not in parent:
            raise _missing_key(path, at, parent)
        return parent[last.key]
    if not isinstance(parent, list):
        raise _container_error(path, at, parent)
    if last.kind is Kind.INDEX:
        if last.index >= len(parent):
            raise _index_error(path, at, len(parent), appending=False)
        return parent[last.index]
    found = _find_select(parent, last) if last.kind is Kind.SELECT else _find_match(parent, last)
    if found is None:
        raise _select_error(path, at, parent)
    return parent[found]


def delete_value(tree: Any, path: Path) -> None:
    """Remove the map key or list element at ``path``; deleting what does not exist is an error."""
    if not path.segments:
        raise path.error("empty path")
    parent, last = _locate(tree, path, create=False)
    at = len(path.segments) - 1
    _child(parent, path, at)  # raises when missing
    if last.kind is Kind.KEY:
        del parent[last.key]
        return
    if last.kind is Kind.INDEX:
        del parent[last.index]
        return
    found = _find_select(parent, last) if last.kind is Kind.SELECT else _find_match(parent, last)
    assert found is not None  # _child succeeded
    del parent[found]


# ---------------------------------------------------------------------------------------------------------------
# Writing paths and flags


_PLAIN_KEY_RE = re.compile(r"[^\s\"\\\[\]=.']+(?:\.[^\s\"\\\[\]=.']+)*")


def escape_key(key: str) -> str:
    """A key in path syntax: as is, with dots escaped, or quoted when it holds other special characters."""
    if key and _PLAIN_KEY_RE.fullmatch(key):
        return key.replace(".", "\\.")
    body = key.replace("\\", "\\\\").replace('"', '\\"')
    body = body.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r")
    return f'"{body}"'


def _escape_bracket(text: str) -> str:
    out = []
    for ch in text:
        if ch in "\\]:[":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def format_path(segments: Sequence[Segment]) -> str:
    """Canonical text of a path: keys joined by dots, selectors appended without a dot."""
    out = ""
    for seg in segments:
        piece = seg.render()
        if seg.kind is Kind.KEY and out:
            out += "." + piece
        else:
            out += piece
    return out


def format_scalar(value: Any) -> str:
    """A leaf in ``-o flags`` syntax: strings double-quoted with escapes, others bare."""
    if isinstance(value, str):
        body = value.replace("\\", "\\\\").replace('"', '\\"')
        body = body.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
        return f'"{body}"'
    return scalar_text(value)


def _leaves(tree: Any, prefix: str, key: tuple[Any, ...]) -> Iterator[tuple[str, tuple[Any, ...], Any]]:
    if isinstance(tree, dict):
        for name, value in tree.items():
            # A leading unquoted `spec` is dropped from --set paths, so a top-level key of that name is quoted.
            piece = escape_key(str(name)) if prefix or name != "spec" else '"spec"'
            yield from _leaves(value, f"{prefix}.{piece}" if prefix else piece, (*key, (0, str(name), 0)))
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            yield from _leaves(value, f"{prefix}[{i}]", (*key, (1, "", i)))
    else:
        yield prefix, key, tree


def format_flags(tree: Any) -> list[str]:
    """``-o flags`` lines: one ``path=value`` per leaf (a bare scalar tree prints just its value).

    Sorted by path, comparing list indexes as numbers (``[2]`` before ``[10]``), so that applying the lines in
    order with ``--set`` rebuilds the tree (except its empty maps and lists).
    """
    if not isinstance(tree, dict | list):
        return [format_scalar(tree)]
    leaves = sorted(_leaves(tree, "", ()), key=lambda leaf: leaf[1])
    return [f"{path}={format_scalar(value)}" for path, _key, value in leaves]
