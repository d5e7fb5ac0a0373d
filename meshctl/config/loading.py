"""Safe loading of IstioOperator files and stdin, with input-safety limits (``config.md`` §5).

Each limit has a name that :class:`meshctl.errors.InputLimitError` carries (``limit``), so tests can check
which one tripped:

==================  ===========================================================================================
``size``            more than :data:`MAX_BYTES` bytes (checked before parsing; never reads more than that)
``encoding``        not UTF-8
``binary``          control characters such as NUL (binary data)
``depth``           nesting deeper than :data:`MAX_DEPTH` (a cheap lexical pre-check guards the C parser)
``aliases``         YAML aliases expanding to more than :data:`MAX_ALIAS_NODES` extra nodes, or a recursive alias
``duplicate-keys``  a key given twice in one mapping
``documents``       more than one non-empty document where one is allowed
==================  ===========================================================================================

Documents are built from PyYAML's C-composed node graph by our own constructor: keys become strings as
written, timestamps stay strings, non-finite numbers and unknown tags are rejected, and aliases are expanded
into independent copies (so a later merge never changes two places at once).
"""

from __future__ import annotations

import errno
import math
import re
from pathlib import Path
from typing import Any, TextIO

import yaml

from meshctl import errors
from meshctl.config import paths

MAX_BYTES = 4 * 1024 * 1024
#: All ``-f`` inputs of one command together (each is also at most :data:`MAX_BYTES`).
MAX_TOTAL_BYTES = 16 * 1024 * 1024
MAX_DEPTH = 100
MAX_ALIAS_NODES = 10_000
#: Aliases may add at most this many characters of scalar text (keys and values) by expansion: aliases of one
#: large scalar are few nodes but many bytes.
MAX_ALIAS_BYTES = 1024 * 1024
# The lexical pre-check only protects the C composer's recursion; the exact limit is MAX_DEPTH on the nodes.
_MAX_FLOW_DEPTH = 1_000

# libyaml's parser lives in yaml.cyaml (``yaml`` itself exports only the C loaders and dumpers).
_CParser: Any = getattr(getattr(yaml, "cyaml", None), "CParser", None)

#: Whether user YAML is parsed by libyaml (C); the pure-Python parser is the fallback.
WITH_LIBYAML = _CParser is not None

if _CParser is not None:

    class _NodeLoader(_CParser, yaml.resolver.Resolver):  # type: ignore[misc]
        """Composes nodes only (C parser + resolver); construction is ours."""

        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            yaml.resolver.Resolver.__init__(self)

else:  # pragma: no cover - PyYAML without libyaml

    class _NodeLoader(  # type: ignore[no-redef]
        yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer, yaml.resolver.Resolver
    ):
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)
            yaml.resolver.Resolver.__init__(self)


_STR = "tag:yaml.org,2002:str"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_BOOL = "tag:yaml.org,2002:bool"
_NULL = "tag:yaml.org,2002:null"
_TIMESTAMP = "tag:yaml.org,2002:timestamp"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
_VALUE = "tag:yaml.org,2002:value"

_scalars = yaml.constructor.SafeConstructor()


def read_source(name: str, stdin: TextIO | None = None) -> str:
    """The text of a file (``-`` = ``stdin``), enforcing the size, encoding and binary limits."""
    if name == "-":
        if stdin is None:
            raise errors.InputError("-f -: no standard input available")
        raw = _read_stdin(stdin)
        return decode(raw, "<stdin>")
    path = Path(name)
    try:
        if path.is_dir():
            raise errors.InputError(f"cannot read {name}: is a directory", hint="-f takes IstioOperator files")
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise _size_error(name, size)
        with path.open("rb") as handle:
            raw = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        reason = errors.describe_os_error(exc)
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EISDIR, errno.ENAMETOOLONG, errno.ELOOP):
            raise errors.InputError(f"cannot read {name}: {reason}") from exc
        # The file is there but the system refuses it (permission, I/O error): a local I/O failure, exit 74.
        raise errors.LocalIOError(f"cannot read {name}: {reason}") from exc
    if len(raw) > MAX_BYTES:
        raise _size_error(name, len(raw))
    return decode(raw, name)


def _read_stdin(stdin: TextIO) -> bytes | str:
    buffer = getattr(stdin, "buffer", None)
    if buffer is not None:
        data: bytes = buffer.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise _size_error("<stdin>", len(data))
        return data
    text = stdin.read(MAX_BYTES + 1)
    if len(text) > MAX_BYTES:
        raise _size_error("<stdin>", len(text))
    return text


def _size_error(name: str, size: int) -> errors.InputLimitError:
    return errors.InputLimitError(
        f"{name}: input too large ({_human(size)}; the limit is {_human(MAX_BYTES)})",
        limit="size",
        hint="an IstioOperator file is a few kilobytes; check that this is the file you meant",
    )


def _human(size: int) -> str:
    if size >= 1024 * 1024:
        return f"{size / (1024 * 1024):.1f} MiB" if size % (1024 * 1024) else f"{size // (1024 * 1024)} MiB"
    return f"{size} bytes"


_SURROGATE = re.compile("[\ud800-\udfff]")
_BINARY = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")


def decode(raw: bytes | str, name: str) -> str:
    """UTF-8 text (a leading byte-order mark is dropped); rejects other encodings and binary data."""
    if isinstance(raw, bytes):
        if len(raw) > MAX_BYTES:
            raise _size_error(name, len(raw))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise errors.InputLimitError(
                f"{name}: not UTF-8 text (invalid byte 0x{raw[exc.start]:02x} at offset {exc.start})",
                limit="encoding",
                hint="save the file as UTF-8",
            ) from exc
    else:
        text = raw
        if len(text) > MAX_BYTES:
            raise _size_error(name, len(text))
        surrogate = _SURROGATE.search(text)
        if surrogate is not None:
            raise errors.InputLimitError(
                f"{name}: not UTF-8 text (lone surrogate at offset {surrogate.start()})", limit="encoding"
            )
    text = text.removeprefix("\ufeff")
    found = _BINARY.search(text)
    if found is not None:
        i, ch = found.start(), found.group()
        line = text.count("\n", 0, i) + 1
        raise errors.InputLimitError(
            f"{name}: binary data (control character U+{ord(ch):04X} on line {line})",
            limit="binary",
            hint="-f takes YAML text",
        )
    return text


def _check_flow_depth(text: str, name: str) -> None:
    """A cheap lexical bound on ``[``/``{`` nesting, before the C composer recurses into it."""
    depth = 0
    quote = ""
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 2
                continue
            if ch == quote:
                quote = ""
        elif ch in "[{":
            depth += 1
            if depth > _MAX_FLOW_DEPTH:
                raise _depth_error(name)
        elif ch in "]}":
            depth = max(0, depth - 1)
        elif ch in "\"'" and (i == 0 or text[i - 1] in " \t\n[{,:"):
            quote = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t\n"):
            newline = text.find("\n", i)
            i = n if newline < 0 else newline
            continue
        i += 1


def _depth_error(name: str) -> errors.InputLimitError:
    return errors.InputLimitError(
        f"{name}: nesting deeper than {MAX_DEPTH} levels", limit="depth", hint="an IstioOperator file is shallow"
    )


class _Builder:
    """Builds Python data from a node graph with limits on depth, alias expansion and duplicate keys."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.seen: set[int] = set()
        self.extra = 0  # nodes built again because an alias referred to them
        self.extra_bytes = 0  # characters of scalars built again because an alias referred to them

    def where(self, node: yaml.Node) -> str:
        mark = node.start_mark
        return f"{self.name}:{mark.line + 1}:{mark.column + 1}"

    def build(self, node: yaml.Node, depth: int = 0, active: frozenset[int] = frozenset()) -> Any:
        if depth > MAX_DEPTH:
            raise _depth_error(self.name)
        ident = id(node)
        if ident in active:
            raise errors.InputLimitError(
                f"{self.where(node)}: recursive YAML alias", limit="aliases", hint="aliases must not contain themselves"
            )
        if ident in self.seen:
            self.extra += 1
            if self.extra > MAX_ALIAS_NODES:
                raise errors.InputLimitError(
                    f"{self.name}: YAML aliases expand to more than {MAX_ALIAS_NODES} extra nodes",
                    limit="aliases",
                    hint="write the repeated parts out, or use fewer aliases",
                )
            if isinstance(node, yaml.ScalarNode):
                self.extra_bytes += len(node.value)
                if self.extra_bytes > MAX_ALIAS_BYTES:
                    raise errors.InputLimitError(
                        f"{self.name}: YAML aliases expand to more than {_human(MAX_ALIAS_BYTES)} of text",
                        limit="aliases",
                        hint="write the repeated parts out, or use fewer aliases",
                    )
        else:
            self.seen.add(ident)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        inner = active | {ident}
        if isinstance(node, yaml.SequenceNode):
            if node.tag not in (_SEQ,):
                raise self.tag_error(node)
            return [self.build(child, depth + 1, inner) for child in node.value]
        if isinstance(node, yaml.MappingNode):
            if node.tag not in (_MAP,):
                raise self.tag_error(node)
            return self.mapping(node, depth, inner)
        raise self.tag_error(node)  # pragma: no cover - PyYAML has only these three node kinds

    def tag_error(self, node: yaml.Node) -> errors.InputError:
        return errors.InputError(f"{self.where(node)}: unsupported YAML tag {node.tag}", hint="remove the tag")

    def scalar(self, node: yaml.ScalarNode) -> Any:
        tag = node.tag
        if tag in (_STR, _TIMESTAMP):
            return str(node.value)
        if tag == _NULL:
            return None
        if tag == _BOOL:
            return _scalars.construct_yaml_bool(node)
        if tag == _INT:
            # Checked on the text first: a long digit string is slow (or refused) to convert, and sexagesimal
            # (1:2:3) or hex forms grow without bound; Kubernetes' integers are 64-bit.
            text = str(node.value).replace("_", "")
            if len(text) > 24:
                raise paths.int_range_error(self.where(node), text)
            try:
                number: int = _scalars.construct_yaml_int(node)
            except (ValueError, IndexError) as exc:  # `0b_`, `-`: YAML 1.1's int pattern admits digitless forms
                raise errors.InputError(
                    f"{self.where(node)}: {node.value} is not a valid integer", hint="quote it if it is meant as text"
                ) from exc
            if not paths.MIN_INT <= number <= paths.MAX_INT:
                raise paths.int_range_error(self.where(node), text)
            return number
        if tag == _FLOAT:
            value = _scalars.construct_yaml_float(node)
            if not math.isfinite(value):
                raise errors.InputError(
                    f"{self.where(node)}: {node.value} is not a finite number", hint="quote it if it is meant as text"
                )
            return value
        raise self.tag_error(node)

    def mapping(self, node: yaml.MappingNode, depth: int, active: frozenset[int]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merged: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if isinstance(key_node, yaml.ScalarNode) and key_node.tag == _MERGE:
                merged.update(self.merge_sources(value_node, depth, active))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                raise errors.InputError(
                    f"{self.where(key_node)}: a mapping key must be a plain value, not a list or map"
                )
            key = str(key_node.value)
            if key in result:
                raise errors.InputLimitError(
                    f"{self.where(key_node)}: duplicate key {key!r}",
                    limit="duplicate-keys",
                    hint="each key may appear once per mapping; remove one of them",
                )
            result[key] = self.build(value_node, depth + 1, active)
        if merged:
            for key, value in merged.items():
                result.setdefault(key, value)
        return result

    def merge_sources(self, node: yaml.Node, depth: int, active: frozenset[int]) -> dict[str, Any]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[str, Any] = {}
        for source in sources:
            value = self.build(source, depth + 1, active)
            if not isinstance(value, dict):
                raise errors.InputError(f"{self.where(source)}: '<<' merges only maps")
            for key, item in value.items():
                merged.setdefault(key, item)
        return merged


def load_documents(text: str, name: str) -> list[Any]:
    """All non-empty documents of a YAML stream, built within the limits."""
    _check_flow_depth(text, name)
    loader = _NodeLoader(text)
    builder = _Builder(name)
    documents: list[Any] = []
    try:
        while loader.check_node():
            node = loader.get_node()
            if node is None:
                continue
            documents.append(builder.build(node))
    except yaml.MarkedYAMLError as exc:
        if "nesting depth" in str(exc.problem):  # libyaml's own bound (1000) on block nesting
            raise _depth_error(name) from exc
        mark = exc.problem_mark or exc.context_mark
        where = f"{name}:{mark.line + 1}:{mark.column + 1}" if mark is not None else name
        problem = exc.problem or exc.context or "invalid YAML"
        raise errors.InputError(f"{where}: invalid YAML: {problem}", hint="check the indentation and quoting") from exc
    except yaml.YAMLError as exc:
        raise errors.InputError(f"{name}: invalid YAML: {exc}") from exc
    except RecursionError as exc:  # belt and braces: the builder's own depth limit normally trips first
        raise _depth_error(name) from exc
    finally:
        loader.dispose()
    return [doc for doc in documents if doc is not None]


def load_overlay_text(text: str, name: str) -> Any:
    """The one document of a YAML text embedded in a file (an overlay patch's string ``value``), within the limits.

    Returns ``None`` when the text is not one valid YAML document (the caller keeps it as a string); a tripped input
    limit is raised (:class:`errors.InputLimitError`), never swallowed.
    """
    text = decode(text, name)
    try:
        documents = load_documents(text, name)
    except errors.InputLimitError:
        raise
    except errors.InputError:
        return None
    return documents[0] if len(documents) == 1 else None


def check_limits(text: str, name: str) -> None:
    """Raise the first input limit ``text`` trips (size, encoding, binary, depth, aliases, integers), if any.

    For readers that keep PyYAML's own construction (kube-inject round-trips manifests) but must not meet an alias
    bomb with it. Invalid YAML is not reported here: the caller's parser reports it in its own words.
    """
    text = decode(text, name)
    try:
        load_documents(text, name)
    except errors.InputLimitError:
        raise
    except errors.InputError:
        return


def load_iop(text: str, name: str) -> dict[str, Any]:
    """One IstioOperator document (an empty file is an empty overlay); checks kind and apiVersion if present."""
    documents = load_documents(text, name)
    if len(documents) > 1:
        raise errors.InputLimitError(
            f"{name}: holds {len(documents)} YAML documents; a file may hold one IstioOperator",
            limit="documents",
            hint="split the file, or pass each part with its own -f",
        )
    if not documents:
        return {}
    doc = documents[0]
    if not isinstance(doc, dict):
        raise errors.InputError(f"{name}: an IstioOperator document must be a map, not {type(doc).__name__}")
    kind = doc.get("kind")
    if kind is not None and kind != "IstioOperator":
        raise errors.InputError(f"{name}: kind is {kind!r}, expected IstioOperator")
    api = doc.get("apiVersion")
    if api is not None and api != "install.istio.io/v1alpha1":
        raise errors.InputError(f"{name}: apiVersion is {api!r}, expected install.istio.io/v1alpha1")
    if "spec" in doc and doc["spec"] is None:
        del doc["spec"]
    if "spec" in doc and not isinstance(doc["spec"], dict):
        raise errors.InputError(f"{name}: spec must be a map")
    return doc


def load_iop_file(name: str, stdin: TextIO | None = None) -> dict[str, Any]:
    """Read and load one ``-f`` argument (``-`` = stdin)."""
    label = "<stdin>" if name == "-" else name
    return load_iop(read_source(name, stdin), label)


def load_iop_files(names: list[str] | tuple[str, ...], stdin: TextIO | None = None) -> list[tuple[str, Any]]:
    """Read and load every ``-f`` argument, in order, within :data:`MAX_TOTAL_BYTES` together (limit ``total-size``)."""
    loaded: list[tuple[str, Any]] = []
    total = 0
    for name in names:
        path = name.strip()
        label = "<stdin>" if path == "-" else path
        text = read_source(path, stdin)
        total += len(text)
        if total > MAX_TOTAL_BYTES:
            raise errors.InputLimitError(
                f"{label}: the -f inputs together exceed {_human(MAX_TOTAL_BYTES)} (the limit on all input files)",
                limit="total-size",
                hint="an IstioOperator configuration is a few files of a few kilobytes",
            )
        loaded.append((name, load_iop(text, label)))
    return loaded


def load_yaml_file(path: Path) -> Any:
    """One document from a file of ours (profiles, value layers), with the same limits."""
    text = read_source(str(path))
    documents = load_documents(text, str(path))
    if len(documents) > 1:
        raise errors.InputError(f"{path}: holds {len(documents)} YAML documents; expected one")
    return documents[0] if documents else {}
