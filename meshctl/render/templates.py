"""The Jinja2 environment for ``manifests/`` and the helpers templates call (see ``docs/dev/templates.md``).

Templates are YAML with Jinja2 (``StrictUndefined``: a missing value is an error naming the template and the
value). Helpers that build images and common blocks are Python functions here, not copy-pasted template text.
Each rendered document is parsed with the C-accelerated safe loader and checked to be an object.
"""

from __future__ import annotations

import copy
import functools
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jinja2
import yaml

from meshctl import errors, yamlio

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

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


def quote(value: Any) -> str:
    """A double-quoted YAML scalar of ``value``'s string form (JSON string syntax is valid YAML)."""
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif value is None:
        text = ""
    else:
        text = str(value)
    return json.dumps(text, ensure_ascii=False)


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


@functools.cache
def _environment(root: str) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(root),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["toyaml"] = to_yaml
    env.filters["quote"] = quote
    env.globals["merge"] = deep_merge
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
        documents = list(yaml.load_all(text, Loader=_Loader))
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
