"""The Jinja2 environment for ``manifests/`` and the helpers templates call (see ``docs/dev/templates.md``).

Templates are YAML with Jinja2 (``StrictUndefined``: a missing value is an error naming the template and the
value). Helpers that build images and common blocks are Python functions here, not copy-pasted template text.
Each rendered document is parsed with the C-accelerated safe loader and checked to be an object.

Speed: compiling the templates costs far more than rendering them (about a second for all components), so the
environment is built once per directory per process, never re-checks files for changes, and keeps compiled
templates in a bytecode cache in the user's cache directory (``$XDG_CACHE_HOME/meshctl/templates``, else
``~/.cache/meshctl/templates``). Jinja2 keys each entry by template and checks the source checksum and the Python
and Jinja2 versions, so a stale entry is never used; an unwritable cache is skipped silently. Set
``MESHCTL_TEMPLATE_CACHE=off`` to disable it.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import yaml

from meshctl import errors, yamlio

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"
_SEQ = "tag:yaml.org,2002:seq"
_MERGE = "tag:yaml.org,2002:merge"
#: Tags of plain scalars already resolved (the same keys and values recur in every object); bounded.
_RESOLVED: dict[Any, str] = {}


class _Loader(yamlio.SafeLoader):  # type: ignore[misc,valid-type]
    """The (C) safe loader with memoised scalar resolution (see :func:`parse_documents`)."""

    def resolve(self, kind: Any, value: Any, implicit: Any) -> str:
        if kind is not yaml.ScalarNode:
            tag: str = super().resolve(kind, value, implicit)
            return tag
        return yamlio.memoised_tag(
            _RESOLVED, (value, implicit), lambda: super(_Loader, self).resolve(kind, value, implicit)
        )


def _construct(loader: _Loader, node: yaml.Node) -> Any:
    # Strings, maps and lists (nearly every node) directly; other scalars and merge keys through PyYAML's safe
    # constructor, so the result equals yaml.safe_load's (aliases become copies, which objects never share).
    tag = node.tag
    if tag == _STR:
        return node.value
    if tag == _MAP:
        result = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE:
                return loader.construct_object(node, deep=True)
            result[_construct(loader, key_node)] = _construct(loader, value_node)
        return result
    if tag == _SEQ:
        return [_construct(loader, item) for item in node.value]
    return loader.construct_object(node, deep=True)


def parse_documents(text: str) -> list[Any]:
    """Every YAML document of ``text`` (``None`` for empty ones), as ``yaml.safe_load_all`` would return them.

    About a third faster than ``safe_load_all`` with the C loader: parsing template output is the largest cost of
    rendering many gateways.
    """
    loader = _Loader(text)
    try:
        documents = []
        while loader.check_node():
            documents.append(_construct(loader, loader.get_node()))
        return documents
    finally:
        loader.dispose()


TEMPLATE_SUFFIX = ".yaml.j2"


def deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """A new map: ``overlay`` merged into ``base``; maps merge key by key, lists and scalars replace."""
    merged: dict[str, Any] = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def to_yaml(value: Any) -> str:
    """YAML text of ``value`` without the trailing newline (for ``{{ x | toyaml | indent(n) }}``)."""
    return yamlio.dump_yaml(value).rstrip("\n")


def sort_keys(value: Any) -> Any:
    """``value`` with every map's keys sorted, at every depth (lists keep their order), as Go's YAML writer sorts
    a map: for text istiod reads back, such as the mesh configuration."""
    if isinstance(value, Mapping):
        return {key: sort_keys(value[key]) for key in sorted(value, key=str)}
    if isinstance(value, list):
        return [sort_keys(item) for item in value]
    return value


def quote(value: Any) -> str:
    """A double-quoted YAML scalar of ``value``'s string form (JSON string syntax is valid YAML)."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = ""
    else:
        text = str(value)
    return json.dumps(text, ensure_ascii=False)


def str_map(mapping: Mapping[str, Any]) -> str:
    """A flow-style YAML map with every key and value double-quoted as strings (labels, annotations, selectors)."""
    return "{" + ", ".join(f"{quote(key)}: {quote(value)}" for key, value in mapping.items()) + "}"


def make_image(values: Mapping[str, Any]) -> Any:
    """Build the ``image()`` helper bound to a component's values (defaults from ``values.global``)."""
    glob = values.get("global") or {}

    def image(name: str, hub: str | None = None, tag: Any = None, variant: str | None = None) -> str:
        if "/" in name or ":" in name:
            return name
        hub = hub or glob.get("hub")
        tag = tag if tag not in (None, "") else glob.get("tag")
        variant = variant if variant is not None else glob.get("variant")
        suffix = f"-{variant}" if variant else ""
        return f"{hub}/{name}:{tag}{suffix}"

    return image


CACHE_ENV = "MESHCTL_TEMPLATE_CACHE"


class _BytecodeCache(jinja2.FileSystemBytecodeCache):
    """Jinja2's file-system bytecode cache that never fails a render: an unusable cache only costs time."""

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except (OSError, ValueError, EOFError):  # unreadable or truncated entry: compile instead
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):  # read-only or full disk: the next run compiles again
            super().dump_bytecode(bucket)


@functools.cache
def _bytecode_cache() -> jinja2.BytecodeCache | None:
    if os.environ.get(CACHE_ENV, "").lower() in ("off", "0", "false", "no"):
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    directory = os.path.join(base, "meshctl", "templates")
    try:
        os.makedirs(directory, mode=0o700, exist_ok=True)
    except OSError:
        return None
    if not os.access(directory, os.W_OK | os.X_OK):
        return None
    return _BytecodeCache(directory)


@functools.cache
def _environment(root: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(root),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
        auto_reload=False,
        cache_size=-1,
        bytecode_cache=_bytecode_cache(),
    )
    env.filters["toyaml"] = to_yaml
    env.filters["quote"] = quote
    env.filters["sortkeys"] = sort_keys
    env.globals["merge"] = deep_merge
    env.globals["str_map"] = str_map
    return env


def render_template_dir(component_dir: Path, context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Render every ``*.yaml.j2`` file of ``component_dir`` (in file-name order) into objects.

    Adds the helpers ``image`` and ``include_file`` to ``context``. Raises :class:`errors.RenderError` naming the
    template for undefined values, template syntax errors, unparsable YAML and documents that are not objects.
    """
    component_dir = Path(component_dir)
    env = _environment(str(component_dir))
    values = context.get("values") or {}

    def include_file(rel_path: str) -> str:
        path = component_dir / rel_path
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise errors.RenderError(f"template file {path} cannot be read: {exc.strerror}") from exc

    full_context = {"image": make_image(values), "include_file": include_file, **context}
    objects: list[dict[str, Any]] = []
    for path in sorted(component_dir.glob(f"*{TEMPLATE_SUFFIX}")):
        objects.extend(render_template_file(env, path.name, full_context, component_dir))
    return objects


def render_template_file(
    env: jinja2.Environment, name: str, context: Mapping[str, Any], component_dir: Path
) -> list[dict[str, Any]]:
    """Render one template file and parse its documents."""
    where = component_dir / name
    try:
        text = env.get_template(name).render(context)
    except jinja2.UndefinedError as exc:
        raise errors.RenderError(f"template {where}: undefined value: {exc.message}") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise errors.RenderError(f"template {where}:{exc.lineno}: syntax error: {exc.message}") from exc
    except jinja2.TemplateError as exc:
        raise errors.RenderError(f"template {where}: {exc}") from exc
    try:
        documents = parse_documents(text)
    except yaml.YAMLError as exc:
        raise errors.RenderError(f"template {where} produced invalid YAML: {exc}") from exc
    objects: list[dict[str, Any]] = []
    for doc in documents:
        if doc is None:
            continue
        if not isinstance(doc, dict) or not doc.get("apiVersion") or not doc.get("kind"):
            raise errors.RenderError(f"template {where} produced a document that is not a Kubernetes object")
        meta = doc.get("metadata")
        if not isinstance(meta, dict) or not meta.get("name"):
            raise errors.RenderError(f"template {where} produced a {doc['kind']} without metadata.name")
        objects.append(doc)
    return objects
