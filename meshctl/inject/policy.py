"""Whether a pod gets the sidecar: its own opt-in or opt-out, the injector's selectors, then the policy.

The order istiod's injector follows:

1. host-network pods and pods in ``kube-system`` / ``kube-public`` never;
2. the ``sidecar.istio.io/inject`` label (or, without it, the annotation of that name): ``y``, ``yes``, ``true``,
   ``on`` (any case) inject; any other non-empty value does not;
3. without either: a matching ``neverInjectSelector`` entry does not inject, else a matching
   ``alwaysInjectSelector`` entry injects (empty selectors match nothing);
4. still undecided: the policy (``enabled`` injects, ``disabled`` does not; any other value injects nothing).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from meshctl import errors
from meshctl.inject import settings

INJECT_KEY = "sidecar.istio.io/inject"
IGNORED_NAMESPACES = frozenset({"kube-system", "kube-public"})
_YES = frozenset({"y", "yes", "true", "on"})


@dataclasses.dataclass(frozen=True)
class Decision:
    """``inject`` and, when it is false, why (for the note kube-inject prints)."""

    inject: bool
    reason: str = ""


def decide(meta: Mapping[str, Any], spec: Mapping[str, Any], injector: settings.InjectorConfig) -> Decision:
    """Whether the pod (template) with ``meta`` and ``spec`` is injected under ``injector``'s rules."""
    if spec.get("hostNetwork"):
        return Decision(False, "it uses the host network")
    namespace = str(meta.get("namespace") or "")
    if namespace in IGNORED_NAMESPACES:
        return Decision(False, f"namespace {namespace} is never injected")
    labels = _str_map(meta.get("labels"))
    annotations = _str_map(meta.get("annotations"))
    choice, where = annotations.get(INJECT_KEY, ""), "annotation"
    if INJECT_KEY in labels:  # the label is the newer API and wins over the annotation
        choice, where = labels[INJECT_KEY], "label"
    if choice:
        if choice.lower() in _YES:
            return Decision(True)
        return Decision(False, f"its {INJECT_KEY} {where} is {choice!r}")
    for selector in injector.never_inject_selector:
        if _selects(selector, labels):
            return Decision(False, "it matches the injector's neverInjectSelector")
    for selector in injector.always_inject_selector:
        if _selects(selector, labels):
            return Decision(True)
    if injector.policy == settings.POLICY_ENABLED:
        return Decision(True)
    if injector.policy == settings.POLICY_DISABLED:
        return Decision(False, f"the injection policy is disabled and it does not set {INJECT_KEY}")
    return Decision(False, f"the injector's policy {injector.policy!r} is neither enabled nor disabled")


def _str_map(value: Any) -> dict[str, str]:
    return {str(k): "" if v is None else str(v) for k, v in value.items()} if isinstance(value, Mapping) else {}


def _selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A Kubernetes label selector (``matchLabels``, ``matchExpressions``); an empty one selects nothing here."""
    if not isinstance(selector, Mapping):
        raise errors.InputError(f"injector selector {selector!r} is not a label selector")
    match_labels = _str_map(selector.get("matchLabels"))
    expressions: Sequence[Any] = selector.get("matchExpressions") or []
    if not isinstance(expressions, list) or not all(isinstance(e, Mapping) for e in expressions):
        raise errors.InputError(f"injector selector {selector!r}: matchExpressions must be a list of expressions")
    if not match_labels and not expressions:
        return False
    if any(labels.get(key) != value for key, value in match_labels.items()):
        return False
    return all(_expression(expression, labels) for expression in expressions)


def _expression(expression: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    key = str(expression.get("key", ""))
    operator = str(expression.get("operator", ""))
    values = expression.get("values") or []
    if not isinstance(values, list):
        raise errors.InputError(f"injector selector: the values of key {key!r} must be a list")
    values = [str(v) for v in values]
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    raise errors.InputError(f"injector selector: unknown operator {operator!r} for key {key!r}")
