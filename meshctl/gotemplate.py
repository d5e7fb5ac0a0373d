"""Parse, check and evaluate the Go text/template subset of the injection templates.

istiod evaluates the ``sidecar`` and ``gateway`` injection templates (``manifests/pilot/files/``) with Go's
text/template plus sprig and a few functions of its own. meshctl writes them in a documented subset
(``docs/injection-templates.md``) so that it can check them without a Go toolchain, and ``kube-inject`` evaluates
them the way istiod does. This module sits beside :mod:`meshctl.yamlio`, below both ``render`` (which checks the
templates it ships) and ``inject`` (which runs them).

- :func:`parse` turns template text into a tree and rejects everything outside the subset: unknown keywords
  (``define``, ``template``, ``block``, ``break``, ``continue``), functions that are not in :data:`FUNCTIONS`,
  undeclared variables, unbalanced ``if``/``range``/``with``/``end``/``else`` and unterminated actions or strings.
- :func:`render` evaluates a parsed template over data shaped like istiod's: :class:`Struct` for Go structs (an
  absent field is an error, as in Go), ``dict`` for the values tree, :class:`StringMap` for label and annotation
  maps (``index`` answers a missing key with the empty string), lists for slices.

Every error names the template, the line and the column: ``template sidecar:12:5: …``.

The evaluator follows Go where the difference could hide a template bug, and ``tests/gotemplate_check`` compares it
with Go's text/template and sprig on a corpus: ``eq`` refuses to compare a number with a string, a field of a map
without that key is an invalid value (printed ``<no value>``, and its own fields are invalid too) while a field of a
nil that is there (a JSON null) is an error, ``and``/``or`` short-circuit, numbers print the way ``fmt`` prints
them. It is stricter where Go would silently produce nonsense: printing a map or list is an error instead of
``map[...]``.
"""

from __future__ import annotations

import bisect
import dataclasses
import decimal
import functools
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import yaml

from meshctl import errors

_BaseDumper: type[yaml.SafeDumper] = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


class TemplateError(errors.RenderError):
    """A template is outside the documented subset, malformed, or failed to evaluate on the given data."""


# ---------------------------------------------------------------------------------------------------------------
# Data model


@dataclasses.dataclass(frozen=True, eq=False)
class Struct:
    """A Go struct value: fields by their Go names; reading a field it does not have is an error, as in Go.

    ``json`` is the value's JSON form (what ``encoding/json`` or the protobuf JSON encoder would write), used by
    ``toJson`` and ``protoToJSON``; a struct without one cannot be serialised.
    """

    fields: Mapping[str, Any]
    json: Any = None
    type_name: str = "struct"


class StringMap(dict[str, str]):
    """A Go ``map[string]string`` (labels, annotations): a missing key reads as the empty string, not nil."""


# ---------------------------------------------------------------------------------------------------------------
# Syntax tree


@dataclasses.dataclass(frozen=True, order=True)
class Position:
    """Where something is in a template: 1-based line and column (columns count characters)."""

    line: int = 0
    column: int = 0

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


@dataclasses.dataclass(frozen=True)
class Field:
    """``.`` (no names) or ``.A.B``: fields of the current value."""

    names: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class Variable:
    """``$``, ``$name`` or ``$name.A.B``."""

    name: str
    names: tuple[str, ...] = ()


@dataclasses.dataclass(frozen=True)
class Literal:
    """A string, integer or boolean constant."""

    value: str | int | bool


@dataclasses.dataclass(frozen=True)
class Function:
    """The name of a function of :data:`FUNCTIONS`."""

    name: str


@dataclasses.dataclass(frozen=True)
class Command:
    """Operands separated by spaces; the first one is the function when it is a :class:`Function`."""

    args: tuple[Operand, ...]
    pos: Position = Position()


@dataclasses.dataclass(frozen=True)
class Pipeline:
    """``[$v := | $v = | $k, $v :=] command | command ...``."""

    commands: tuple[Command, ...]
    declare: tuple[str, ...] = ()
    assign: bool = False
    pos: Position = Position()


Operand = Field | Variable | Literal | Function | Pipeline


@dataclasses.dataclass(frozen=True)
class Text:
    text: str


@dataclasses.dataclass(frozen=True)
class Action:
    """``{{ pipeline }}``: prints the value, or declares/assigns a variable and prints nothing."""

    pipeline: Pipeline


@dataclasses.dataclass(frozen=True)
class If:
    pipeline: Pipeline
    body: tuple[Node, ...]
    otherwise: tuple[Node, ...] = ()


@dataclasses.dataclass(frozen=True)
class With:
    pipeline: Pipeline
    body: tuple[Node, ...]
    otherwise: tuple[Node, ...] = ()


@dataclasses.dataclass(frozen=True)
class Range:
    pipeline: Pipeline
    body: tuple[Node, ...]


Node = Text | Action | If | With | Range


@dataclasses.dataclass(frozen=True)
class Template:
    """A parsed template: its name (for messages) and its nodes."""

    name: str
    nodes: tuple[Node, ...]


KEYWORDS = frozenset({"if", "else", "end", "range", "with"})
"""The control keywords of the subset (``else if`` is an ``else`` followed by ``if``)."""

_OUTSIDE_KEYWORDS = frozenset({"define", "template", "block", "break", "continue", "nil"})


# ---------------------------------------------------------------------------------------------------------------
# Lexing: split text and actions, then tokenise each action


@dataclasses.dataclass(frozen=True)
class _RawAction:
    body: str
    offset: int  # of the body in the template text
    comment: bool


_SPACE = " \t\r\n"


class _Locator:
    """Offsets in a template's text to :class:`Position` (line and column)."""

    def __init__(self, text: str) -> None:
        self.starts = [0] + [i + 1 for i, char in enumerate(text) if char == "\n"]

    def __call__(self, offset: int) -> Position:
        line = bisect.bisect_right(self.starts, offset)
        return Position(line, offset - self.starts[line - 1] + 1)


def _error(template: str, pos: Position, message: str) -> TemplateError:
    return TemplateError(f"template {template}:{pos}: {message}")


def _split(text: str, name: str, locate: _Locator) -> list[str | _RawAction]:
    """Text and actions in order, with the ``{{-`` / ``-}}`` trim markers already applied to the text."""
    items: list[str | _RawAction] = []
    trim_next = False
    pos = 0
    while True:
        start = text.find("{{", pos)
        chunk = text[pos:] if start < 0 else text[pos:start]
        if trim_next:
            chunk = chunk.lstrip(_SPACE)
        if start < 0:
            items.append(chunk)
            return items
        i = start + 2
        if text.startswith("-", i) and i + 1 < len(text) and text[i + 1] in _SPACE:
            chunk = chunk.rstrip(_SPACE)
            i += 2
        items.append(chunk)
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise _error(name, locate(start), "unclosed comment")
            rest = end + 2
            if text.startswith(" -}}", rest):
                trim_next, pos = True, rest + 4
            elif text.startswith("}}", rest):
                trim_next, pos = False, rest + 2
            else:
                raise _error(name, locate(start), "a comment must end right before the delimiter")
            items.append(_RawAction("", i, comment=True))
            continue
        close = _find_close(text, i, name, locate)
        body = text[i:close]
        trim_next = False
        if len(body) >= 2 and body.endswith("-") and body[-2] in _SPACE:
            body, trim_next = body[:-1], True
        items.append(_RawAction(body, i, comment=False))
        pos = close + 2


def _find_close(text: str, i: int, name: str, locate: _Locator) -> int:
    """Index of the ``}}`` closing the action whose body starts at ``i`` (string literals may contain ``}}``)."""
    action = locate(i - 2)
    while i < len(text):
        char = text[i]
        if text.startswith("}}", i):
            return i
        if char == '"':
            quote = i
            i += 1
            while i < len(text) and text[i] != '"':
                if text[i] == "\n":
                    raise _error(name, locate(quote), "unterminated quoted string")
                i += 2 if text[i] == "\\" else 1
            if i >= len(text):
                raise _error(name, locate(quote), "unterminated quoted string")
        elif char == "`":
            end = text.find("`", i + 1)
            if end < 0:
                raise _error(name, locate(i), "unterminated raw string")
            i = end
        elif text.startswith("{{", i):
            raise _error(name, action, "unclosed action (a new '{{' starts before '}}')")
        i += 1
    raise _error(name, action, "unclosed action")


_TOKEN = re.compile(
    r"""
    (?P<space>\s+)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<declare>:=)
  | (?P<assign>=)
  | (?P<pipe>\|)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<number>-?[0-9]+(?![0-9A-Za-z_.]))
  | (?P<field>(?:\.[A-Za-z_][A-Za-z0-9_]*)+)
  | (?P<dot>\.)
  | (?P<variable>\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
    """,
    re.VERBOSE,
)

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "a": "\a", "b": "\b", "f": "\f", "v": "\v", "\\": "\\", '"': '"'}


def _unquote(token: str, name: str, pos: Position) -> str:
    out: list[str] = []
    body = token[1:-1]
    i = 0
    while i < len(body):
        char = body[i]
        if char != "\\":
            out.append(char)
            i += 1
            continue
        code = body[i + 1] if i + 1 < len(body) else ""
        if code in _ESCAPES:
            out.append(_ESCAPES[code])
            i += 2
            continue
        width = {"x": 2, "u": 4, "U": 8}.get(code)
        digits = body[i + 2 : i + 2 + width] if width else ""
        if not width or len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
            raise _error(name, pos, f"invalid escape in string {token}")
        out.append(chr(int(digits, 16)))
        i += 2 + width
    return "".join(out)


@dataclasses.dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    glued: bool  # no space between this token and the previous one
    pos: Position


def _tokenize(action: _RawAction, name: str, locate: _Locator) -> list[_Token]:
    body = action.body
    tokens: list[_Token] = []
    pos = 0
    glued = False
    while pos < len(body):
        match = _TOKEN.match(body, pos)
        if match is None:
            where = locate(action.offset + pos)
            raise _error(name, where, f"unexpected {body[pos]!r} in action {{{{{body}}}}}")
        kind = match.lastgroup or ""
        if kind == "space":
            glued = False
        else:
            tokens.append(_Token(kind, match.group(), glued, locate(action.offset + pos)))
            glued = True
        pos = match.end()
    return tokens


# ---------------------------------------------------------------------------------------------------------------
# Parsing


class _ActionParser:
    """Recursive descent over the tokens of one action."""

    def __init__(self, tokens: list[_Token], name: str, end: Position, scopes: list[set[str]]) -> None:
        self.tokens = tokens
        self.pos = 0
        self.name = name
        self.end = end  # where the action's closing delimiter is: errors about a missing token point there
        self.scopes = scopes

    def where(self) -> Position:
        token = self.peek()
        return token.pos if token is not None else self.end

    def error(self, message: str, pos: Position | None = None) -> TemplateError:
        return _error(self.name, pos or self.where(), message)

    def peek(self, offset: int = 0) -> _Token | None:
        index = self.pos + offset
        return self.tokens[index] if index < len(self.tokens) else None

    def take(self) -> _Token:
        token = self.peek()
        if token is None:
            raise self.error("unexpected end of action")
        self.pos += 1
        return token

    def at_end(self) -> bool:
        return self.pos >= len(self.tokens)

    def declared(self, variable: str) -> bool:
        return any(variable in scope for scope in self.scopes)

    def pipeline(self, *, allow_declare: bool, range_vars: bool = False) -> Pipeline:
        declare: tuple[str, ...] = ()
        assign = False
        start = self.where()
        first, second = self.peek(), self.peek(1)
        if first is not None and first.kind == "variable" and "." not in first.text and second is not None:
            names = [first.text]
            lookahead = 1
            if range_vars and second.kind == "comma":
                third = self.peek(2)
                if third is None or third.kind != "variable" or "." in third.text:
                    raise self.error("range declares '$index, $element :='")
                names.append(third.text)
                lookahead = 3
                second = self.peek(3)
            if second is not None and second.kind in ("declare", "assign"):
                if not allow_declare:
                    raise self.error("a variable cannot be declared here")
                if second.kind == "assign":
                    if len(names) > 1:
                        raise self.error("only one variable can be assigned")
                    if not self.declared(names[0]):
                        raise self.error(f"undefined variable {names[0]}")
                    assign = True
                declare = tuple(names)
                self.pos += lookahead + 1
        commands = [self.command()]
        while (token := self.peek()) is not None and token.kind == "pipe":
            self.take()
            command = self.command()
            if not isinstance(command.args[0], Function):
                raise self.error("only a function can receive a piped value", command.pos)
            commands.append(command)
        pipeline = Pipeline(tuple(commands), declare, assign, start)
        if declare and not assign:
            self.scopes[-1].update(declare)
        return pipeline

    def command(self) -> Command:
        start = self.where()
        args: list[Operand] = []
        while (token := self.peek()) is not None and token.kind not in ("pipe", "rparen"):
            args.append(self.operand())
        if not args:
            raise self.error("missing value in pipeline")
        if len(args) > 1 and not isinstance(args[0], Function):
            raise self.error("only a function can take arguments", start)
        return Command(tuple(args), start)

    def operand(self) -> Operand:
        token = self.take()
        nxt = self.peek()
        if nxt is not None and nxt.glued and nxt.kind == "field":
            raise self.error(f"field access on {token.text!r} is outside the subset", nxt.pos)
        if token.kind in ("string", "raw"):
            text = _unquote(token.text, self.name, token.pos) if token.kind == "string" else token.text[1:-1]
            return Literal(text)
        if token.kind == "number":
            return Literal(int(token.text))
        if token.kind == "dot":
            return Field(())
        if token.kind == "field":
            return Field(tuple(token.text.split(".")[1:]))
        if token.kind == "variable":
            name, *names = token.text.split(".")
            if not self.declared(name):
                raise self.error(f"undefined variable {name}", token.pos)
            return Variable(name, tuple(names))
        if token.kind == "lparen":
            inner = self.pipeline(allow_declare=False)
            if self.take().kind != "rparen":
                raise self.error("missing ')'", token.pos)
            after = self.peek()
            if after is not None and after.glued and after.kind == "field":
                raise self.error("field access on a parenthesized pipeline is outside the subset", after.pos)
            return inner
        if token.kind == "ident":
            if token.text in ("true", "false"):
                return Literal(token.text == "true")
            if token.text in KEYWORDS or token.text in _OUTSIDE_KEYWORDS:
                raise self.error(f"unexpected keyword {token.text!r}", token.pos)
            if token.text not in FUNCTIONS:
                raise self.error(f"function {token.text!r} is not in the documented subset", token.pos)
            return Function(token.text)
        raise self.error(f"unexpected {token.text!r}", token.pos)


@dataclasses.dataclass
class _Frame:
    kind: str  # "root", "if", "with", "range"
    pos: Position
    pipeline: Pipeline | None
    branches: list[tuple[Pipeline, list[Node]]]
    body: list[Node]
    otherwise: list[Node] | None = None


def _frame_body(frame: _Frame) -> list[Node]:
    """Where the next node goes: the else body, the last branch of an ``if`` chain, or the body."""
    if frame.otherwise is not None:
        return frame.otherwise
    if frame.kind == "if":
        return frame.branches[-1][1]
    return frame.body


def parse(text: str, name: str = "template") -> Template:
    """Parse ``text``; raise :class:`TemplateError` (with line and column) for anything outside the subset."""
    locate = _Locator(text)
    scopes: list[set[str]] = [{"$"}]
    stack: list[_Frame] = [_Frame("root", Position(), None, [], [])]

    for item in _split(text, name, locate):
        if isinstance(item, str):
            if item:
                _frame_body(stack[-1]).append(Text(item))
            continue
        if item.comment:
            continue
        at = locate(item.offset - 2)  # the action's opening delimiter
        tokens = _tokenize(item, name, locate)
        if not tokens:
            raise _error(name, at, "empty action")
        head = tokens[0]
        keyword = (
            head.text if head.kind == "ident" and (head.text in KEYWORDS or head.text in _OUTSIDE_KEYWORDS) else ""
        )
        if keyword in _OUTSIDE_KEYWORDS:
            raise _error(name, head.pos, f"{{{{{keyword}}}}} is not in the documented subset")
        parser = _ActionParser(tokens, name, locate(item.offset + len(item.body)), scopes)
        if keyword:
            parser.take()
        if keyword in ("if", "with", "range"):
            scopes.append(set())
            pipeline = parser.pipeline(allow_declare=keyword == "range", range_vars=keyword == "range")
            stack.append(_Frame(keyword, at, pipeline, [(pipeline, [])] if keyword == "if" else [], []))
        elif keyword == "else":
            frame = stack[-1]
            if frame.kind not in ("if", "with") or frame.otherwise is not None:
                raise _error(name, at, "{{else}} without a matching {{if}} or {{with}}")
            scopes[-1] = set()
            nxt = parser.peek()
            if nxt is not None and nxt.kind == "ident" and nxt.text == "if":
                if frame.kind != "if":
                    raise _error(name, nxt.pos, "{{else if}} is only allowed in an {{if}}")
                parser.take()
                frame.branches.append((parser.pipeline(allow_declare=False), []))
            elif nxt is not None:
                raise _error(name, nxt.pos, f"unexpected {nxt.text!r} after else")
            else:
                frame.otherwise = []
        elif keyword == "end":
            if len(stack) == 1:
                raise _error(name, at, "{{end}} without a matching {{if}}, {{range}} or {{with}}")
            if not parser.at_end():
                raise parser.error("unexpected text after end")
            frame = stack.pop()
            scopes.pop()
            _frame_body(stack[-1]).append(_close(frame))
            continue
        else:
            _frame_body(stack[-1]).append(Action(parser.pipeline(allow_declare=True)))
        if not parser.at_end():
            token = parser.take()
            raise _error(name, token.pos, f"unexpected {token.text!r}")
    if len(stack) > 1:
        frame = stack[-1]
        raise _error(name, frame.pos, f"{{{{{frame.kind}}}}} has no {{{{end}}}}")
    return Template(name, tuple(stack[0].body))


def _close(frame: _Frame) -> Node:
    """Build the node of a finished control structure (an ``else if`` chain becomes nested ``If`` nodes)."""
    assert frame.pipeline is not None
    if frame.kind == "range":
        return Range(frame.pipeline, tuple(frame.body))
    if frame.kind == "with":
        return With(frame.pipeline, tuple(frame.body), tuple(frame.otherwise or ()))
    node: tuple[Node, ...] = tuple(frame.otherwise or ())
    # Each branch collected its body in ``frame.body`` until the next ``else``; rebuild from the branch bodies.
    for pipeline, body in reversed(frame.branches):
        node = (If(pipeline, tuple(body), node),)
    return node[0]


def iter_functions(template: Template) -> Iterator[str]:
    """Every function name the template calls, in order of appearance (with repeats)."""

    def walk_pipeline(pipeline: Pipeline) -> Iterator[str]:
        for command in pipeline.commands:
            for arg in command.args:
                if isinstance(arg, Function):
                    yield arg.name
                elif isinstance(arg, Pipeline):
                    yield from walk_pipeline(arg)

    def walk(nodes: Sequence[Node]) -> Iterator[str]:
        for node in nodes:
            if isinstance(node, Action):
                yield from walk_pipeline(node.pipeline)
            elif isinstance(node, (If, With)):
                yield from walk_pipeline(node.pipeline)
                yield from walk(node.body)
                yield from walk(node.otherwise)
            elif isinstance(node, Range):
                yield from walk_pipeline(node.pipeline)
                yield from walk(node.body)

    return walk(template.nodes)


# ---------------------------------------------------------------------------------------------------------------
# Values as Go sees them


def is_true(value: Any) -> bool:
    """Go's truth: false, 0, nil and empty strings, lists and maps are false; structs are true."""
    if value is None:
        return False
    if isinstance(value, Struct):
        return True
    if isinstance(value, (bool, int, float)):
        return bool(value)
    if isinstance(value, (str, list, tuple, dict)):
        return len(value) > 0
    return True


def _is_empty(value: Any) -> bool:
    """sprig's ``empty``: Go's falsy values."""
    return not is_true(value)


def format_float(value: float) -> str:
    """``fmt.Sprint`` of a float64: shortest digits, exponent form below 1e-4 and from 1e+06 (Helm's ``1e+06``)."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "-0" if math.copysign(1.0, value) < 0 else "0"
    sign, digits, exponent = decimal.Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    point = len(text) + exponent  # position of the decimal point in ``text``
    power = point - 1
    prefix = "-" if sign else ""
    if power < -4 or power >= 6:
        mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
        return f"{prefix}{mantissa}e{'+' if power >= 0 else '-'}{abs(power):02d}"
    if point <= 0:
        return f"{prefix}0.{'0' * -point}{text}"
    if point >= len(text):
        return prefix + text + "0" * (point - len(text))
    return f"{prefix}{text[:point]}.{text[point:]}"


def to_text(value: Any, *, nil: str = "<nil>") -> str:
    """``fmt.Sprint`` for the scalar kinds; maps, lists and structs are refused (they would print Go syntax)."""
    if value is None:
        return nil
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return format_float(value)
    if isinstance(value, str):
        return value
    raise TemplateError(f"cannot print a {type(value).__name__} as text; use toYaml or toJson")


def _go_kind(value: Any) -> str:
    """Go's name for the kind of a value (``other`` for maps, lists and structs)."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    return "other"


def _go_type(value: Any) -> str:
    """Go's name for the type of a value, for messages."""
    if isinstance(value, Struct):
        return value.type_name
    if isinstance(value, Mapping):
        return "map[string]string" if isinstance(value, StringMap) else "map[string]interface {}"
    if isinstance(value, (list, tuple)):
        return "[]interface {}"
    return {"nil": "nil", "float": "float64"}.get(_go_kind(value), _go_kind(value))


def _go_quote(text: str) -> str:
    """``strconv.Quote``: a double-quoted string with Go escapes (all of them valid in YAML double quotes)."""
    out = ['"']
    for char in text:
        if char in ('"', "\\"):
            out.append("\\" + char)
        elif char in "\a\b\f\n\r\t\v":
            out.append("\\" + "abfnrtv"["\a\b\f\n\r\t\v".index(char)])
        elif char == " " or char.isprintable():
            out.append(char)
        elif ord(char) < 0x80:
            out.append(f"\\x{ord(char):02x}")
        elif ord(char) < 0x10000:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(f"\\U{ord(char):08x}")
    out.append('"')
    return "".join(out)


def _plain(value: Any) -> Any:
    """JSON-ready form: structs by their JSON form, integral floats as integers (Go writes 15020, not 15020.0)."""
    if isinstance(value, Struct):
        if value.json is None:
            raise TemplateError("this struct has no JSON form")
        return _plain(value.json)
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _go_json(value: Any, *, sort_keys: bool) -> str:
    """``encoding/json``'s compact text: map keys sorted (``sort_keys``), a struct's JSON form in its own order."""
    if isinstance(value, Struct):
        if value.json is None:
            raise TemplateError("this struct has no JSON form")
        return _go_json(value.json, sort_keys=False)
    if isinstance(value, Mapping):
        keys = sorted(value, key=str) if sort_keys else list(value)
        items = (f"{json.dumps(str(k), ensure_ascii=False)}:{_go_json(value[k], sort_keys=sort_keys)}" for k in keys)
        return "{" + ",".join(items) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_go_json(v, sort_keys=sort_keys) for v in value) + "]"
    if isinstance(value, float) and math.isfinite(value):
        return _go_json_float(value)
    return json.dumps(_plain(value), ensure_ascii=False)


def _go_json_float(value: float) -> str:
    """``encoding/json``'s float64: plain digits from 1e-6 up to 1e21, exponent form (``1e-7``, ``1e+21``) outside."""
    if value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    if value != 0 and (abs(value) < 1e-6 or abs(value) >= 1e21):
        mantissa, _, exponent = f"{value!r}".partition("e")
        if not exponent:  # repr chose plain digits; write them in exponent form
            mantissa, _, exponent = f"{decimal.Decimal(repr(value)).normalize():e}".partition("e")
        power = int(exponent)
        return f"{mantissa}e{'-' if power < 0 else '+'}{abs(power) if power < 0 else f'{power:02d}'}"
    return format(decimal.Decimal(repr(value)), "f")


def _json_text(value: Any, *, sort_keys: bool) -> str:
    text = _go_json(value, sort_keys=sort_keys)
    # encoding/json escapes these so the text can sit in HTML and JavaScript unharmed.
    for char, escape in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028")):
        text = text.replace(char, escape)
    return text.replace("\u2029", "\\u2029")


# ---------------------------------------------------------------------------------------------------------------
# Functions of the subset


_GO_NAMES: Mapping[type, str] = {str: "string", int: "int", list: "slice", tuple: "slice", dict: "map", Mapping: "map"}


def _want(value: Any, kind: type | tuple[type, ...], function: str) -> Any:
    if isinstance(value, bool) and kind is int:
        raise TemplateError(f"{function}: expected int, got bool")
    if not isinstance(value, kind):
        kinds = (kind,) if isinstance(kind, type) else kind
        expected = " or ".join(dict.fromkeys(_GO_NAMES.get(k, k.__name__) for k in kinds))
        raise TemplateError(f"{function}: expected {expected}, got {_go_kind(value)}")
    return value


def _fn_eq(first: Any, *others: Any) -> bool:
    if not others:
        raise TemplateError("eq: missing argument for comparison")
    kind = _go_kind(first)
    for other in others:
        other_kind = _go_kind(other)
        if "nil" in (kind, other_kind) and "other" in (kind, other_kind):
            continue  # a map, list or struct is never nil here
        if "other" in (kind, other_kind):
            raise TemplateError("eq: invalid type for comparison")
        if kind != other_kind:
            if kind != "nil" and other_kind != "nil":
                raise TemplateError(f"eq: incompatible types for comparison ({kind} and {other_kind})")
            continue
        if first == other:
            return True
    return False


def _fn_ne(first: Any, second: Any) -> bool:
    return not _fn_eq(first, second)


def _fn_not(value: Any) -> bool:
    return not is_true(value)


def _fn_index(item: Any, *keys: Any) -> Any:
    for key in keys:
        if item is None:
            raise TemplateError("index of untyped nil")
        if isinstance(item, StringMap):
            item = item.get(_want(key, str, "index"), "")
        elif isinstance(item, Mapping):
            item = item.get(_want(key, str, "index"))
        elif isinstance(item, (list, tuple)):
            position = _want(key, int, "index")
            if not 0 <= position < len(item):
                raise TemplateError(f"index out of range: {position}")
            item = item[position]
        else:
            raise TemplateError(f"can't index item of type {_go_kind(item)}")
    return item


def _fn_default(default: Any, *given: Any) -> Any:
    if not given or _is_empty(given[0]):
        return default
    return given[0]


def _fn_quote(*values: Any) -> str:
    return " ".join(_go_quote(to_text(v)) for v in values if v is not None)


def _fn_list(*items: Any) -> list[Any]:
    return list(items)


def _fn_append(items: Any, value: Any) -> list[Any]:
    return [*_want(items, (list, tuple), "append"), value]


def _fn_dict(*pairs: Any) -> dict[str, Any]:
    if len(pairs) % 2:
        raise TemplateError("dict: expects key/value pairs")
    return {to_text(pairs[i]): pairs[i + 1] for i in range(0, len(pairs), 2)}


def _fn_set(target: Any, key: Any, value: Any) -> dict[str, Any]:
    mapping: dict[str, Any] = _want(target, dict, "set")
    mapping[_want(key, str, "set")] = value
    return mapping


def _fn_join(separator: Any, items: Any) -> str:
    texts = [to_text(v) for v in _want(items, (list, tuple), "join") if v is not None]
    return str(_want(separator, str, "join")).join(texts)


def _fn_trunc(count: Any, text: Any) -> str:
    size, whole = int(_want(count, int, "trunc")), str(_want(text, str, "trunc"))
    if size < 0:
        return whole[size:] if len(whole) + size > 0 else whole
    return whole[:size]


def _fn_trim_suffix(suffix: Any, text: Any) -> str:
    tail, whole = str(_want(suffix, str, "trimSuffix")), str(_want(text, str, "trimSuffix"))
    return whole[: -len(tail)] if tail and whole.endswith(tail) else whole


def _fn_to_lower(text: Any) -> str:
    return str(_want(text, str, "toLower")).lower()


def _fn_nindent(spaces: Any, text: Any) -> str:
    pad = " " * int(_want(spaces, int, "nindent"))
    return "\n" + pad + str(_want(text, str, "nindent")).replace("\n", "\n" + pad)


def _fn_to_json(value: Any) -> str:
    return _json_text(value, sort_keys=True)


def _fn_proto_to_json(value: Any) -> str:
    if not isinstance(value, Struct):
        raise TemplateError("protoToJSON: expected a message")
    return _json_text(value, sort_keys=False)


def _fn_to_yaml(value: Any) -> str:
    return yaml.dump(
        _yaml_ready(_plain(value)), Dumper=_GoYamlDumper, sort_keys=False, default_flow_style=False, allow_unicode=True
    )


# istiod's toYaml is sigs.k8s.io/yaml: JSON, read back by go-yaml v2 and written by it. The emitter is libyaml's
# (go-yaml v2 is a port of it), so PyYAML's C dumper writes the same text once three choices are made go-yaml's way:
# which plain scalars would read back as something other than a string (those strings are double-quoted), the
# order of map keys (digit runs compare as numbers), and how floats are written (Go's shortest 'g' format).

_V2_BOOLS_NULLS = frozenset(
    {
        "y",
        "Y",
        "yes",
        "Yes",
        "YES",
        "true",
        "True",
        "TRUE",
        "on",
        "On",
        "ON",
        "n",
        "N",
        "no",
        "No",
        "NO",
        "false",
        "False",
        "FALSE",
        "off",
        "Off",
        "OFF",
        "~",
        "null",
        "Null",
        "NULL",
    }
)
_V2_SPECIAL_FLOATS = frozenset(
    {
        ".nan",
        ".NaN",
        ".NAN",
        ".inf",
        ".Inf",
        ".INF",
        "+.inf",
        "+.Inf",
        "+.INF",
        "-.inf",
        "-.Inf",
        "-.INF",
    }
)
_V2_FLOAT = re.compile(r"^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$")
_V2_BASE60 = re.compile(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$")
_V2_TIMESTAMP = re.compile(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ \t]+)[0-9]{1,2}:[0-9]{2}:[0-9]{2}.*)?$")
_STR_TAG, _INT_TAG, _FLOAT_TAG = "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float"
_BOOL_TAG, _NULL_TAG = "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null"


def _go_int(text: str) -> bool:
    """``strconv.ParseInt(text, 0, 64)`` or ``ParseUint`` succeeds (base prefixes 0x, 0o, 0b and a leading 0)."""
    body = text[1:] if text[:1] in "+-" else text
    if text[:1] == "+" and not body:
        return False
    lowered = body.lower()
    for prefix, base in (("0x", 16), ("0o", 8), ("0b", 2)):
        if lowered.startswith(prefix):
            digits, radix = body[2:], base
            break
    else:
        digits, radix = (body[1:], 8) if len(body) > 1 and body[0] == "0" else (body, 10)
    try:
        number = int(digits, radix) if digits and "_" not in digits else None
    except ValueError:
        return False
    if number is None:
        return False
    return number < 2**64 if text[:1] != "-" else number <= 2**63


def _v2_tag(text: str) -> str:
    """The tag go-yaml v2 resolves a plain scalar to (``resolve`` in its resolve.go)."""
    if text == "" or text in _V2_BOOLS_NULLS:
        return _NULL_TAG if text in ("", "~", "null", "Null", "NULL") else _BOOL_TAG
    if text in _V2_SPECIAL_FLOATS:
        return _FLOAT_TAG
    head = text[0]
    if head == ".":
        return _FLOAT_TAG if _V2_FLOAT.match(text) else _STR_TAG
    if head in "+-0123456789":
        if _V2_TIMESTAMP.match(text):
            return "tag:yaml.org,2002:timestamp"
        plain = text.replace("_", "")
        if _go_int(plain):
            return _INT_TAG
        if _V2_FLOAT.match(plain):
            return _FLOAT_TAG
    return _STR_TAG


def _v2_less(a: str, b: str) -> bool:
    """go-yaml v2's order of string map keys: like strings, but runs of digits compare as numbers."""
    digits = False
    for i in range(min(len(a), len(b))):
        x, y = a[i], b[i]
        if x == y:
            digits = x.isdigit()
            continue
        x_letter, y_letter = x.isalpha(), y.isalpha()
        if x_letter and y_letter:
            return x < y
        if x_letter or y_letter:
            return x_letter if digits else y_letter
        x_end, y_end, x_num, y_num = i, i, 0, 0
        if x == "0" or y == "0":
            j = i - 1
            while j >= 0 and a[j].isdigit():
                if a[j] != "0":
                    x_num = y_num = 1
                    break
                j -= 1
        while x_end < len(a) and a[x_end].isdigit():
            x_num, x_end = x_num * 10 + int(a[x_end]), x_end + 1
        while y_end < len(b) and b[y_end].isdigit():
            y_num, y_end = y_num * 10 + int(b[y_end]), y_end + 1
        if x_num != y_num:
            return x_num < y_num
        if x_end != y_end:
            return x_end < y_end
        return x < y
    return len(a) < len(b)


def _v2_key_order(a: str, b: str) -> int:
    return -1 if _v2_less(a, b) else 1 if _v2_less(b, a) else 0


def _yaml_ready(value: Any) -> Any:
    """Maps with keys in go-yaml's order; integers beyond 64 bits back to floats (go-yaml reads them so)."""
    if isinstance(value, Mapping):
        keys = sorted((str(k) for k in value), key=functools.cmp_to_key(_v2_key_order))
        return {key: _yaml_ready(value[key]) for key in keys}
    if isinstance(value, list):
        return [_yaml_ready(v) for v in value]
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return float(value)
    return value


class _GoYamlDumper(_BaseDumper):  # type: ignore[misc,valid-type]
    def ignore_aliases(self, data: Any) -> bool:
        return True

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode and implicit[0]:
            return _v2_tag(value)
        tag: str = super().resolve(kind, value, implicit)
        return tag


def _represent_go_str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        style: str | None = "|"
    elif _v2_tag(data) != _STR_TAG or _V2_BASE60.match(data):
        style = '"'
    else:
        style = None
    return dumper.represent_scalar(_STR_TAG, data, style=style)


def _represent_go_float(dumper: yaml.SafeDumper, data: float) -> yaml.ScalarNode:
    text = {"+Inf": ".inf", "-Inf": "-.inf", "NaN": ".nan"}.get(format_float(data), format_float(data))
    return dumper.represent_scalar(_FLOAT_TAG, text)


_GoYamlDumper.add_representer(str, _represent_go_str)
_GoYamlDumper.add_representer(float, _represent_go_float)


def _fn_from_json(text: Any) -> Any:
    try:
        # Go decodes every JSON number into a float64.
        return json.loads(_want(text, str, "fromJSON"), parse_int=float)
    except json.JSONDecodeError as exc:
        raise TemplateError(f"fromJSON: invalid JSON: {exc}") from exc


def _fn_annotation(meta: Any, name: Any, default: Any) -> str:
    if not isinstance(meta, Struct) or "Annotations" not in meta.fields:
        raise TemplateError("annotation: expected an ObjectMeta")
    annotations = meta.fields["Annotations"] or {}
    if _want(name, str, "annotation") in annotations:
        return str(annotations[name])
    return to_text(default)


def _fn_isset(mapping: Any, key: Any) -> bool:
    if mapping is None:
        return False
    return _want(key, str, "isset") in _want(mapping, Mapping, "isset")


def _fn_value_or_default(value: Any, default: Any) -> Any:
    return default if value is None or value == "" else value


def _fn_append_multus_network(existing: Any, network: Any) -> str:
    current, name = str(_want(existing, str, "appendMultusNetwork")), str(_want(network, str, "appendMultusNetwork"))
    if not current:
        return name
    bracket = current.rfind("]")
    if bracket >= 0:
        try:
            entries = json.loads(current)
        except json.JSONDecodeError:
            return current
        if isinstance(entries, list) and any(isinstance(e, Mapping) and e.get("name") == name for e in entries):
            return current
        return f'{current[:bracket]}, {{"name": "{name}"}}]'
    if any(part.strip() == name for part in current.split(",")):
        return current
    return f"{current}, {name}"


FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    # Go built-ins (``and``/``or`` are evaluated lazily by the evaluator; these entries make them known names).
    "and": lambda *args: args[-1],
    "or": lambda *args: args[-1],
    "not": _fn_not,
    "eq": _fn_eq,
    "ne": _fn_ne,
    "index": _fn_index,
    # sprig
    "default": _fn_default,
    "quote": _fn_quote,
    "list": _fn_list,
    "append": _fn_append,
    "dict": _fn_dict,
    "set": _fn_set,
    "join": _fn_join,
    "trunc": _fn_trunc,
    "trimSuffix": _fn_trim_suffix,
    "toJson": _fn_to_json,
    "nindent": _fn_nindent,
    # istiod's injection functions
    "annotation": _fn_annotation,
    "isset": _fn_isset,
    "valueOrDefault": _fn_value_or_default,
    "toYaml": _fn_to_yaml,
    "protoToJSON": _fn_proto_to_json,
    "fromJSON": _fn_from_json,
    "toLower": _fn_to_lower,
    "appendMultusNetwork": _fn_append_multus_network,
}
"""The functions of the documented subset, by the name templates call them with."""


# ---------------------------------------------------------------------------------------------------------------
# Evaluation


class _Evaluator:
    def __init__(self, template: Template, data: Any) -> None:
        self.name = template.name
        self.variables: list[tuple[str, Any]] = [("$", data)]
        self.out: list[str] = []

    def error(self, pos: Position, message: str) -> TemplateError:
        return _error(self.name, pos, message)

    def lookup(self, name: str, pos: Position) -> Any:
        for key, value in reversed(self.variables):
            if key == name:
                return value
        raise self.error(pos, f"undefined variable {name}")

    def set_variable(self, name: str, value: Any, pos: Position) -> None:
        for index in range(len(self.variables) - 1, -1, -1):
            if self.variables[index][0] == name:
                self.variables[index] = (name, value)
                return
        raise self.error(pos, f"undefined variable {name}")

    def field(self, value: Any, names: Sequence[str], pos: Position, *, nil_is_missing: bool) -> Any:
        """Go's field chain: ``.A.B`` on structs and maps.

        As in Go, a map without the key yields an invalid value whose further fields are invalid too (printed
        ``<no value>``), while a field of a nil that is really there (a JSON null in the values, a nil pointer, a
        nil ``.`` in a range) is an error. A variable never holds such a nil: Go unwraps it to the invalid value
        when the pipeline ends, so ``nil_is_missing`` is true for variables.
        """
        missing = value is None and nil_is_missing
        for name in names:
            if missing:
                continue
            if value is None:
                raise self.error(pos, f"nil pointer evaluating interface {{}}.{name}")
            if isinstance(value, Struct):
                if name not in value.fields:
                    raise self.error(pos, f"can't evaluate field {name} in type {value.type_name}")
                value = value.fields[name]
            elif isinstance(value, Mapping):
                if name in value:
                    value = value[name]
                else:
                    value, missing = None, True
            else:
                raise self.error(pos, f"can't evaluate field {name} in type {_go_type(value)}")
        return value

    def operand(self, operand: Operand, dot: Any, pos: Position) -> Any:
        if isinstance(operand, Literal):
            return operand.value
        if isinstance(operand, Field):
            return self.field(dot, operand.names, pos, nil_is_missing=False)
        if isinstance(operand, Variable):
            return self.field(self.lookup(operand.name, pos), operand.names, pos, nil_is_missing=True)
        if isinstance(operand, Pipeline):
            return self.pipeline(operand, dot)
        return self.call(operand.name, (), dot, pos, None)

    def call(self, name: str, args: Sequence[Operand], dot: Any, pos: Position, piped: tuple[Any] | None) -> Any:
        def delay(arg: Operand) -> Callable[[], Any]:
            return lambda: self.operand(arg, dot, pos)

        thunks = [delay(arg) for arg in args]
        if piped is not None:
            value_piped = piped[0]
            thunks.append(lambda: value_piped)
        if name in ("and", "or"):
            if not thunks:
                raise self.error(pos, f"wrong number of args for {name}: want at least 1 got 0")
            value: Any = None
            for thunk in thunks:
                value = thunk()
                if is_true(value) != (name == "and"):
                    return value
            return value
        try:
            return FUNCTIONS[name](*(thunk() for thunk in thunks))
        except TemplateError as exc:
            if exc.message.startswith(f"template {self.name}:"):
                raise
            message = exc.message.removeprefix(f"{name}: ")
            raise self.error(pos, f"error calling {name}: {message}") from exc
        except TypeError as exc:
            raise self.error(pos, f"wrong number of args for {name}: {exc}") from exc

    def pipeline(self, pipeline: Pipeline, dot: Any) -> Any:
        piped: tuple[Any] | None = None
        for command in pipeline.commands:
            head = command.args[0]
            if isinstance(head, Function):
                piped = (self.call(head.name, command.args[1:], dot, command.pos, piped),)
            else:
                piped = (self.operand(head, dot, command.pos),)
        assert piped is not None
        value = piped[0]
        if pipeline.assign:
            self.set_variable(pipeline.declare[0], value, pipeline.pos)
        elif pipeline.declare:
            self.variables.append((pipeline.declare[0], value))
        return value

    def block(self, nodes: Sequence[Node], dot: Any) -> None:
        mark = len(self.variables)
        try:
            for node in nodes:
                self.node(node, dot)
        finally:
            del self.variables[mark:]

    def node(self, node: Node, dot: Any) -> None:
        if isinstance(node, Text):
            self.out.append(node.text)
        elif isinstance(node, Action):
            value = self.pipeline(node.pipeline, dot)
            if not node.pipeline.declare:
                try:
                    self.out.append(to_text(value, nil="<no value>"))
                except TemplateError as exc:
                    raise self.error(node.pipeline.pos, exc.message) from exc
        elif isinstance(node, If):
            self.block(node.body if is_true(self.pipeline(node.pipeline, dot)) else node.otherwise, dot)
        elif isinstance(node, With):
            value = self.pipeline(node.pipeline, dot)
            if is_true(value):
                self.block(node.body, value)
            else:
                self.block(node.otherwise, dot)
        else:
            self.range(node, dot)

    def range(self, node: Range, dot: Any) -> None:
        pipeline = node.pipeline
        value = self.pipeline(Pipeline(pipeline.commands, pos=pipeline.pos), dot)
        items: list[tuple[Any, Any]]
        if value is None:
            items = []
        elif isinstance(value, Mapping):
            items = [(key, value[key]) for key in sorted(value)]
        elif isinstance(value, (list, tuple)):
            items = list(enumerate(value))
        elif isinstance(value, int) and not isinstance(value, bool):
            items = [(i, i) for i in range(value)]  # Go 1.22: range over an integer
        else:
            raise self.error(pipeline.pos, f"range can't iterate over a {_go_type(value)}")
        for key, element in items:
            mark = len(self.variables)
            if len(pipeline.declare) == 1:
                self.variables.append((pipeline.declare[0], element))
            elif len(pipeline.declare) == 2:
                self.variables += [(pipeline.declare[0], key), (pipeline.declare[1], element)]
            try:
                self.block(node.body, element)
            finally:
                del self.variables[mark:]


def render(template: Template, data: Any) -> str:
    """Evaluate ``template`` over ``data`` (the value of ``.`` and ``$``)."""
    evaluator = _Evaluator(template, data)
    evaluator.block(template.nodes, data)
    return "".join(evaluator.out)
