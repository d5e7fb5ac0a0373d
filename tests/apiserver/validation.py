"""Validation: names, unknown fields (pruned or rejected) and schemas.

Built-in objects are checked against the official definitions shipped by kubernetes-validate (the same schema
files its `validate()` uses, loaded once and compiled per kind), custom resources against their CRD's
`openAPIV3Schema`. A handful of semantic rules that matter to installers (selectors matching template labels,
container images, label syntax) are checked as kube-apiserver does.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema

from tests.apiserver import errors, schema
from tests.apiserver.resources import ResourceType

_DNS1123_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")
_DNS1123_SUBDOMAIN = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*")
_LABEL_NAME = re.compile(r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]")
_LABEL_VALUE = re.compile(r"(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?")

SUBDOMAIN_MESSAGE = (
    "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start "
    "and end with an alphanumeric character (e.g. 'example.com', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')"
)
LABEL_MESSAGE = (
    "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end "
    "with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
    "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"
)

# Kinds whose names are DNS labels rather than subdomains; RBAC kinds accept any path segment.
_LABEL_NAMED = {("", "Namespace"), ("", "Service")}
_PATH_SEGMENT_NAMED = {"rbac.authorization.k8s.io"}


def cause(field: str, message: str, reason: str = "FieldValueInvalid") -> dict[str, Any]:
    return {"reason": reason, "message": message, "field": field}


def _invalid_value(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


def name_causes(rt: ResourceType, name: str, field: str = "metadata.name") -> list[dict[str, Any]]:
    """Causes for an invalid object name (empty list when valid)."""
    if rt.group in _PATH_SEGMENT_NAMED and not rt.custom:
        if name in (".", "..") or "/" in name or "%" in name:
            return [cause(field, f"Invalid value: {_invalid_value(name)}: may not contain '/' or '%'")]
        return []
    if (rt.group, rt.kind) in _LABEL_NAMED:
        if len(name) > 63:
            return [cause(field, f"Invalid value: {_invalid_value(name)}: must be no more than 63 characters")]
        if not _DNS1123_LABEL.fullmatch(name):
            return [cause(field, f"Invalid value: {_invalid_value(name)}: {LABEL_MESSAGE}")]
        return []
    if len(name) > 253:
        return [cause(field, f"Invalid value: {_invalid_value(name)}: must be no more than 253 characters")]
    if not _DNS1123_SUBDOMAIN.fullmatch(name):
        return [cause(field, f"Invalid value: {_invalid_value(name)}: {SUBDOMAIN_MESSAGE}")]
    return []


def _label_causes(labels: Any, field: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if not isinstance(labels, dict):
        return out
    for key, value in labels.items():
        prefix, _, name = key.rpartition("/")
        if (prefix and not _DNS1123_SUBDOMAIN.fullmatch(prefix)) or len(name) > 63 or not _LABEL_NAME.fullmatch(name):
            out.append(
                cause(
                    field,
                    f"Invalid value: {_invalid_value(key)}: name part must consist of alphanumeric characters, '-', "
                    "'_' or '.', and must start and end with an alphanumeric character",
                )
            )
        if not isinstance(value, str) or len(value) > 63 or not _LABEL_VALUE.fullmatch(value):
            out.append(
                cause(
                    f"{field}",
                    f"Invalid value: {_invalid_value(value)}: a valid label must be an empty string or consist of "
                    "alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character"
                    " (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is "
                    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
                )
            )
    return out


def metadata_causes(obj: dict[str, Any]) -> list[dict[str, Any]]:
    meta = obj.get("metadata") or {}
    out = _label_causes(meta.get("labels"), "metadata.labels")
    annotations = meta.get("annotations")
    if isinstance(annotations, dict):
        size = sum(len(str(k)) + len(str(v)) for k, v in annotations.items())
        if size > MAX_ANNOTATIONS_BYTES:
            message = f"Too long: may not be more than {MAX_ANNOTATIONS_BYTES} bytes"
            out.append(cause("metadata.annotations", message, "FieldValueTooLong"))
    return out


MAX_ANNOTATIONS_BYTES = 256 * 1024


def _port_range(value: Any, field: str) -> list[dict[str, Any]]:
    if isinstance(value, int) and not 1 <= value <= 65535:
        return [cause(field, f"Invalid value: {value}: must be between 1 and 65535, inclusive")]
    return []


def _service_causes(spec: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    selector = spec.get("selector")
    for value in (selector or {}).values() if isinstance(selector, dict) else ():
        if isinstance(value, str) and len(value.encode()) > 63:
            out.append(cause("spec.selector", f"Invalid value: {_invalid_value(value)}: must be no more than 63 bytes"))
    ports = spec.get("ports")
    if spec.get("type", "ClusterIP") != "ExternalName" and not ports:
        out.append(cause("spec.ports", "Required value", "FieldValueRequired"))
    for index, port in enumerate(ports if isinstance(ports, list) else ()):
        if isinstance(port, dict):
            out += _port_range(port.get("port"), f"spec.ports[{index}].port")
            out += _port_range(port.get("targetPort"), f"spec.ports[{index}].targetPort")
    return out


# --- unknown fields ---------------------------------------------------------------------------------------------


def prune(value: Any, node: schema.Node, path: str, unknown: list[str]) -> None:
    """Drop fields the schema does not declare (recording their paths) and nulls, in place."""
    if isinstance(value, dict) and node.kind in ("struct", "map") and not node.is_any:
        for key in list(value):
            child = node.field(key)
            sub = f"{path}.{key}" if path else key
            if child is None:
                unknown.append(sub)
                del value[key]
            elif value[key] is None and not child.raw.get("nullable"):
                del value[key]
            elif not child.is_any:
                prune(value[key], child, sub, unknown)
    elif isinstance(value, list) and node.kind == "list":
        items = node.items
        if items.is_any:
            return
        for index, item in enumerate(value):
            prune(item, items, f"{path}[{index}]", unknown)


# --- schemas ----------------------------------------------------------------------------------------------------


@functools.cache
def _builtin_validator(definition: str) -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(
        {"$ref": f"urn:kubernetes:definitions#/$defs/{definition}"},
        registry=_registry_with_id(),
    )


@functools.cache
def _registry_with_id() -> referencing.Registry[Any]:
    body = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "urn:kubernetes:definitions",
        "$defs": schema.definitions(),
    }
    return referencing.Resource.from_contents(body) @ referencing.Registry()  # type: ignore[return-value]


def _crd_schema_to_jsonschema(node: Any) -> Any:
    """A CRD structural schema as plain JSON Schema (int-or-string and nullable spelled out)."""
    if isinstance(node, list):
        return [_crd_schema_to_jsonschema(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _crd_schema_to_jsonschema(v) for k, v in node.items() if not k.startswith("x-kubernetes-")}
    out.pop("default", None)
    if node.get("x-kubernetes-int-or-string"):
        out.pop("type", None)
        out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
    if node.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    if node.get("x-kubernetes-preserve-unknown-fields") or node.get("x-kubernetes-embedded-resource"):
        out.pop("additionalProperties", None)
    return out


@functools.lru_cache(maxsize=256)
def _custom_validator(key: str, body: str) -> jsonschema.protocols.Validator:
    import json

    raw = json.loads(body)
    converted = _crd_schema_to_jsonschema(raw)
    props = dict(converted.get("properties", {}))
    props.pop("metadata", None)
    converted["properties"] = props
    return jsonschema.Draft4Validator(converted)


def _field_of(error: jsonschema.ValidationError) -> str:
    out = ""
    for part in error.absolute_path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _error_causes(errors_: list[jsonschema.ValidationError]) -> list[dict[str, Any]]:
    causes = []
    for error in errors_:
        field = _field_of(error)
        if error.validator == "required":
            missing = re.match(r"'([^']*)'", error.message)
            name = missing.group(1) if missing else "?"
            causes.append(cause(f"{field}.{name}" if field else name, "Required value", "FieldValueRequired"))
        elif error.validator == "enum":
            allowed = ", ".join(f'"{v}"' for v in error.validator_value)
            causes.append(
                cause(
                    field,
                    f"Unsupported value: {_invalid_value(error.instance)}: supported values: {allowed}",
                    "FieldValueNotSupported",
                )
            )
        elif error.validator in ("type", "oneOf", "anyOf"):
            expected = error.validator_value if error.validator == "type" else "integer or string"
            if isinstance(expected, list):
                expected = " or ".join(t for t in expected if t != "null")
            causes.append(
                cause(
                    field,
                    f"Invalid value: {_invalid_value(error.instance)}: {field} in body must be of type {expected}",
                    "FieldValueTypeInvalid",
                )
            )
        elif error.validator in _BOUNDS:  # kube-openapi's words
            bound = f"{_BOUNDS[error.validator]} {error.validator_value}"
            message = f"Invalid value: {_invalid_value(error.instance)}: {field} in body should be {bound}"
            causes.append(cause(field, message))
        else:
            causes.append(cause(field, f"Invalid value: {_invalid_value(error.instance)}: {error.message}"))
    return causes


_BOUNDS = {
    "maximum": "less than or equal to",
    "minimum": "greater than or equal to",
    "exclusiveMaximum": "less than",
    "exclusiveMinimum": "greater than",
}


def schema_causes(rt: ResourceType, obj: dict[str, Any]) -> list[dict[str, Any]]:
    if rt.custom:
        if not rt.crd_schema:
            return []
        import json

        validator = _custom_validator(rt.qualified + "/" + rt.version, json.dumps(rt.crd_schema, sort_keys=True))
        body = {k: v for k, v in obj.items() if k != "metadata"}
    else:
        definition = schema.definition_for_kind(rt.group, rt.version, rt.kind)
        if definition is None:
            return []
        validator = _builtin_validator(definition)
        body = obj
    found = sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.absolute_path)))
    return _error_causes(found)


# --- semantic rules ---------------------------------------------------------------------------------------------

_WORKLOADS = {("apps", "Deployment"), ("apps", "DaemonSet"), ("apps", "StatefulSet"), ("apps", "ReplicaSet")}


def _pod_spec_causes(spec: Any, field: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if not isinstance(spec, dict):
        return out
    for key in ("containers", "initContainers"):
        for index, container in enumerate(spec.get(key) or ()):
            if isinstance(container, dict) and not container.get("image"):
                out.append(cause(f"{field}.{key}[{index}].image", "Required value", "FieldValueRequired"))
    return out


def semantic_causes(rt: ResourceType, obj: dict[str, Any]) -> list[dict[str, Any]]:
    out = metadata_causes(obj)
    spec = obj.get("spec") if isinstance(obj.get("spec"), dict) else {}
    assert isinstance(spec, dict)
    replicas = spec.get("replicas")
    if (rt.group, rt.kind) in _WORKLOADS and isinstance(replicas, int) and replicas < 0:
        out.append(cause("spec.replicas", f"Invalid value: {replicas}: must be greater than or equal to 0"))
    if (rt.group, rt.kind) == ("", "Service"):
        out += _service_causes(spec)
    if (rt.group, rt.kind) in _WORKLOADS or (rt.group, rt.kind) == ("batch", "Job"):
        template = spec.get("template") or {}
        labels = (template.get("metadata") or {}).get("labels") or {}
        selector = spec.get("selector")
        if (rt.group, rt.kind) in _WORKLOADS and isinstance(selector, dict):
            match_labels = selector.get("matchLabels") or {}
            if not match_labels and not selector.get("matchExpressions"):
                out.append(cause("spec.selector", "Invalid value: empty selector is invalid for deployment"))
            elif any(labels.get(k) != v for k, v in match_labels.items()):
                out.append(
                    cause(
                        "spec.template.metadata.labels",
                        f"Invalid value: {_compact(labels)}: `selector` does not match template `labels`",
                    )
                )
        out += _label_causes(labels, "spec.template.metadata.labels")
        out += _pod_spec_causes(template.get("spec"), "spec.template.spec")
    if (rt.group, rt.kind) == ("", "Pod"):
        out += _pod_spec_causes(spec, "spec")
    if (rt.group, rt.kind) == ("apiextensions.k8s.io", "CustomResourceDefinition"):
        out += _crd_causes(obj)
    return out


def _crd_causes(obj: dict[str, Any]) -> list[dict[str, Any]]:
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    out = []
    expected = f"{names.get('plural', '')}.{spec.get('group', '')}"
    if obj.get("metadata", {}).get("name") != expected:
        out.append(
            cause(
                "metadata.name",
                f"Invalid value: {_invalid_value(obj.get('metadata', {}).get('name'))}: "
                'must be spec.names.plural+"."+spec.group',
            )
        )
    versions = spec.get("versions") or []
    if versions and sum(1 for v in versions if v.get("storage")) != 1:
        out.append(cause("spec.versions", "Invalid value: must have exactly one version marked as storage version"))
    return out


_SELECTOR_IMMUTABLE = {("apps", "Deployment"), ("apps", "DaemonSet"), ("apps", "StatefulSet"), ("apps", "ReplicaSet")}


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def update_causes(rt: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    """kube-apiserver's immutable fields (ValidateUpdate): the ones meshctl's objects touch."""
    out: list[dict[str, Any]] = []
    key = (rt.group, rt.kind)
    old_spec, new_spec = old.get("spec") or {}, new.get("spec") or {}
    if key in _SELECTOR_IMMUTABLE and old_spec.get("selector") != new_spec.get("selector"):
        selector = new_spec.get("selector")
        out.append(cause("spec.selector", f"Invalid value: {_compact(selector)}: field is immutable"))
    if key == ("", "Service"):
        old_ips, new_ips = old_spec.get("clusterIPs") or [], new_spec.get("clusterIPs") or []
        if old_ips and old_ips[0] not in ("None", "") and new_ips and new_ips[0] != old_ips[0]:
            out.append(cause("spec.clusterIPs[0]", f"Invalid value: {_compact(new_ips)}: may not change once set"))
    if key in (("", "ConfigMap"), ("", "Secret")) and old.get("immutable"):
        for field in ("data", "binaryData") if rt.kind == "ConfigMap" else ("data",):
            if (old.get(field) or {}) != (new.get(field) or {}):
                message = "Forbidden: field is immutable when `immutable` is set"
                out.append(cause(field, message, "FieldValueForbidden"))
        if not new.get("immutable"):
            out.append(
                cause("immutable", "Forbidden: field is immutable when `immutable` is set", "FieldValueForbidden")
            )
    return out


def validate_update(rt: ResourceType, old: dict[str, Any], new: dict[str, Any]) -> None:
    causes = update_causes(rt, old, new)
    if causes:
        raise errors.invalid(rt.kind, rt.group, str(new["metadata"].get("name", "")), causes)


def validate(rt: ResourceType, obj: dict[str, Any]) -> None:
    """Raise 422 Invalid with every cause found (names first, then schema, then semantic rules)."""
    meta = obj.get("metadata") or {}
    causes = name_causes(rt, str(meta.get("name", "")))
    # managedFields are the server's own bookkeeping: not worth validating on every write.
    checked = dict(obj, metadata={k: v for k, v in meta.items() if k != "managedFields"})
    causes += schema_causes(rt, copy.deepcopy(checked) if rt.custom else checked)
    causes += semantic_causes(rt, obj)
    if causes:
        raise errors.invalid(rt.kind, rt.group, str(meta.get("name", "")), causes)
