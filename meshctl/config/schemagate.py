"""The fast path of schema validation: the shipped schema, made strict and compiled by ``fastjsonschema``.

Most documents have nothing to report. Importing ``jsonschema`` costs tens of milliseconds (it pulls ``referencing``,
``rpds`` and ``attrs``): as much as half the rest of ``manifest generate`` (benchmark B2, ``docs/performance.md``).
So a document first goes through a *gate*: a validator compiled by ``fastjsonschema`` from the very schema the
``jsonschema`` validator reads (:func:`meshctl.config.schema.shipped`), made strict where meshctl would have
something to say (:func:`gate_schema`). Only a document the gate does not pass is checked by ``jsonschema``, which
reports every problem with meshctl's messages (:mod:`meshctl.config.schemacheck`). The gate never decides what a
message says, only that there is none: it passes a document exactly when the ``jsonschema`` validator would report
nothing, no error and no warning (``tests/unit/config/test_schema_agreement.py`` checks both directions on
generated documents). What it lets through on its own, it checks the way meshctl's validator does:

- an unknown key under ``x-meshctl-unknown`` (a typo error or an "unused key" warning) does not pass;
- ``integer`` means an int, not ``2.0`` (the gate is compiled as draft 4, where that is so);
- a ``quantity`` given as a number must not be negative (the gate adds ``minimum: 0``);
- the custom formats run meshctl's own checks; a ``null`` on a typed field does not pass (``jsonschema`` then
  decides, with null meaning unset).

Compiling the gate costs more than importing ``jsonschema`` (about 0.1 s), so its code is compiled on the first run
and kept in the user's cache directory (``$XDG_CACHE_HOME/meshctl/schema``, else ``~/.cache/meshctl/schema``),
keyed by the schema file, this module, the ``fastjsonschema`` version and the Python version (storing a new gate
removes the others: one file, whatever the upgrades). Without a usable
cache (unwritable, or ``MESHCTL_SCHEMA_CACHE=off``) there is no gate and ``jsonschema`` checks every document:
slower, never different. (The switch is not the template cache's: a run with cold templates, benchmark B2's "cold"
case, still finds the gate it compiled before.)
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import marshal
import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from types import CodeType
from typing import Any

from meshctl.config import schema, schemacheck

CACHE_ENV = "MESHCTL_SCHEMA_CACHE"
_DRAFT4 = "http://json-schema.org/draft-04/schema#"
#: Keywords that do not judge a value (dropped from the gate).
_ANNOTATIONS = ("description", "title", "$id", "$schema", schema.UNKNOWN_KEYWORD)

Validate = Callable[..., Any]


def gate_schema(shipped: Mapping[str, Any]) -> dict[str, Any]:
    """The shipped schema as the gate checks it: strict where meshctl reports something (see the module docstring)."""

    def strict(node: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key in ("properties", "$defs"):
                out[key] = {name: strict(sub) for name, sub in value.items()}
            elif key in ("items", "additionalProperties") and isinstance(value, Mapping):
                out[key] = strict(value)
            elif key not in _ANNOTATIONS:
                out[key] = value
        if "$ref" in out and len(out) > 1:  # draft 4 ignores a $ref's siblings; 2020-12 applies them
            ref = out.pop("$ref")
            out = {"allOf": [{"$ref": ref}, out]}
        if node.get(schema.UNKNOWN_KEYWORD) == "warn" and node.get("additionalProperties", True) is True:
            out["additionalProperties"] = False
        if node.get("format") == "quantity":
            out["minimum"] = 0
        return out

    return {**strict(shipped), "$schema": _DRAFT4}


def _formats() -> dict[str, Callable[[Any], bool]]:
    def check(fmt: str) -> Callable[[Any], bool]:
        return lambda value: schemacheck.check_format(fmt, value) is None

    return {fmt: check(fmt) for fmt in schemacheck.FORMATS}


FORMATS = _formats()


def compile_gate() -> CodeType:
    """The gate's code, compiled now from the shipped schema."""
    import fastjsonschema

    source = fastjsonschema.compile_to_code(
        gate_schema(schema.shipped()), formats=FORMATS, use_default=False, detailed_exceptions=False
    )
    return compile(source, "<meshctl schema gate>", "exec")


def cache_dir() -> Path | None:
    """Where the compiled gate is kept, or ``None`` when the cache is off or unusable."""
    if os.environ.get(CACHE_ENV, "").lower() in ("off", "0", "false", "no"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    directory = Path(base, "meshctl", "schema")
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError:
        return None
    return directory if os.access(directory, os.W_OK | os.X_OK) else None


def cache_key() -> str:
    """What the compiled gate depends on: the schema file, this module, fastjsonschema, Python."""
    import fastjsonschema

    digest = hashlib.sha256()
    for part in (schema.SCHEMA_FILE.read_bytes(), Path(__file__).read_bytes()):
        digest.update(hashlib.sha256(part).digest())
    digest.update(f"{fastjsonschema.VERSION} {sys.implementation.cache_tag}".encode())
    return digest.hexdigest()[:32]


def load_gate(directory: Path) -> CodeType:
    """The gate's code from the cache, compiled and stored there first when missing or unreadable."""
    path = directory / f"gate-{cache_key()}.marshal"
    with contextlib.suppress(OSError, ValueError, EOFError, TypeError):
        code = marshal.loads(path.read_bytes())
        if isinstance(code, CodeType):
            return code
    code = compile_gate()
    scratch = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:  # write then rename: a concurrent run reads the old file or the whole new one
        scratch.write_bytes(marshal.dumps(code))
        os.replace(scratch, path)
        for stale in directory.glob("gate-*.marshal"):  # gates of other schemas or meshctl versions: never read again
            if stale != path:
                with contextlib.suppress(OSError):
                    stale.unlink()
    except OSError:  # read-only or full disk: this run compiled, the next one compiles again
        with contextlib.suppress(OSError):
            scratch.unlink()
    return code


def _validator(code: CodeType) -> Validate:
    namespace: dict[str, Any] = {}
    exec(code, namespace)  # code fastjsonschema compiled from our schema (or our cache of it)
    validate: Validate = namespace["validate"]
    return validate


@functools.cache
def gate() -> Validate | None:
    """The gate's validate function, or ``None`` without a usable cache."""
    directory = cache_dir()
    if directory is None:
        return None
    return _validator(load_gate(directory))


def passes(document: Mapping[str, Any], validate: Validate | None = None) -> bool:
    """True when the gate passes ``document``: the ``jsonschema`` validator would report nothing about it."""
    validate = validate if validate is not None else gate()
    if validate is None:
        return False
    try:
        validate(document, custom_formats=FORMATS)
    except Exception:  # any objection (or surprise) of the gate: let jsonschema decide and explain
        return False
    return True
