"""Many gateways, rendered fast: one template render per gateway *shape*, each entry's name filled in afterwards.

Rendering the gateway templates and parsing their YAML costs several milliseconds per gateway; a configuration
with hundreds of gateways that differ only in their names would repeat the same work for each. Gateway entries
with the same shape (component, namespace, settings and values — everything but the name) render to the same
objects up to the name, because the gateway templates use the name only as text (``docs/dev/templates.md``).

So the first entry of a shape is rendered normally, and once more with a placeholder name (:data:`PLACEHOLDER`)
given to the templates as an :class:`OpaqueName`, a string that refuses every operation other than being written
out (comparison, length, slicing, methods): a template that inspects the name makes the shortcut unavailable for
that shape rather than wrong. The placeholder render, with the first entry's name put back, must equal the normal
render; only then do the following entries of that shape reuse it, by copying it with their own name put in.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

import yaml

from meshctl.config import layering

#: Letters only: a plain YAML scalar that reads as a string wherever it appears, and occurs in no template.
PLACEHOLDER = "zzmeshctlgatewaynameplaceholderzz"

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


class NameInspected(Exception):
    """A template did something with the gateway name other than writing it out."""


class OpaqueName(str):
    """The placeholder name as templates see it: it can be written out, joined and quoted, nothing else."""

    __slots__ = ()

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise NameInspected("a template inspects the gateway name")

    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = _refuse
    __contains__ = __len__ = __getitem__ = __iter__ = __mul__ = __rmul__ = _refuse
    capitalize = casefold = center = count = endswith = find = index = isalnum = isalpha = _refuse
    isdigit = islower = isspace = istitle = isupper = ljust = lower = lstrip = partition = _refuse
    removeprefix = removesuffix = replace = rfind = rindex = rjust = rpartition = rsplit = _refuse
    rstrip = split = splitlines = startswith = strip = swapcase = title = upper = zfill = _refuse
    __hash__ = str.__hash__


def eligible(name: str) -> bool:
    """Whether ``name`` can be put in place of the placeholder without changing how YAML reads or writes a value.

    A DNS label with a letter that YAML reads as a string on its own (not ``on``, ``no``, ``null``, ...): never a
    number, boolean, null or date alone or joined to text, and never quoted where the placeholder is not.
    """
    if not (_DNS_LABEL.fullmatch(name) and any(c.isalpha() for c in name)) or PLACEHOLDER in name:
        return False
    tag: str = yaml.resolver.Resolver().resolve(yaml.ScalarNode, name, (True, False))  # type: ignore[no-untyped-call]
    return tag == "tag:yaml.org,2002:str"


def shape_key(instance: layering.Component) -> str:
    """Everything a gateway's template render depends on besides its name (values are per component)."""
    values = {k: v for k, v in instance.values.items() if k != "name"}
    spec = {k: v for k, v in instance.spec.items() if k != "name"}
    return json.dumps([instance.key, instance.namespace, values, spec], sort_keys=True, default=repr)


def fill(tree: Any, name: str) -> Any:
    """A copy of ``tree`` with the placeholder replaced by ``name`` in every string (keys included)."""
    return _fill(tree, name)


def _fill(tree: Any, name: str) -> Any:
    kind = type(tree)
    if kind is str:
        return tree.replace(PLACEHOLDER, name) if PLACEHOLDER in tree else tree
    if kind is dict:
        return {_fill(k, name): _fill(v, name) for k, v in tree.items()}
    if kind is list:
        return [_fill(v, name) for v in tree]
    return tree  # int, float, bool, None: immutable


def placeholder_context(context: Mapping[str, Any], name: str) -> dict[str, Any]:
    """The context of a normal render, with the entry's name replaced by the opaque placeholder."""
    opaque = OpaqueName(PLACEHOLDER)
    result = dict(context)
    result["gateway"] = {**context["gateway"], "name": opaque}
    component = dict(context["component"])
    spec = dict(component.get("spec") or {})
    if spec.get("name") == name:
        spec["name"] = opaque
    component["spec"] = spec
    result["component"] = component
    return result


def make_template(
    render: Callable[[Mapping[str, Any]], list[dict[str, Any]]],
    context: Mapping[str, Any],
    name: str,
    rendered: list[dict[str, Any]],
) -> list[dict[str, Any]] | None:
    """The placeholder render of a shape, or ``None`` when this shape must be rendered entry by entry.

    ``rendered`` is the normal render of the entry called ``name``; the placeholder render must reproduce it.
    """
    if not eligible(name):
        return None
    try:
        template = render(placeholder_context(context, name))
    except Exception:  # any failure (a template inspecting the name, ...) only disables the shortcut
        return None
    if fill(template, name) != rendered:
        return None
    return template
