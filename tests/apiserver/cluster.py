"""The API's semantics, independent of HTTP: resource types, verbs, admission (defaults and validation), managed
fields and the start state of a fresh cluster.

`Cluster` is what the HTTP layer calls; it holds the store, the set of served resource types (built-ins plus those
of established CRDs) and the scheduler on which lifecycles and controllers run.
"""

from __future__ import annotations

import base64
import copy
import dataclasses
import datetime
import heapq
import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from tests.apiserver import apply, defaults, errors, patch, resources, selectors, store, validation
from tests.apiserver.resources import ResourceType

MAX_OBJECT_BYTES = 1_572_864  # 1.5 MiB, etcd's default request limit as kube-apiserver stores objects
MAX_DATA_BYTES = 1_048_576  # ConfigMap and Secret payloads

# Kinds whose metadata.generation the server maintains (custom resources always have it).
_GENERATION_KINDS = {
    ("apps", "Deployment"),
    ("apps", "DaemonSet"),
    ("apps", "StatefulSet"),
    ("apps", "ReplicaSet"),
    ("batch", "Job"),
    ("policy", "PodDisruptionBudget"),
    ("networking.k8s.io", "NetworkPolicy"),
    ("apiextensions.k8s.io", "CustomResourceDefinition"),
    ("admissionregistration.k8s.io", "MutatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingWebhookConfiguration"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicy"),
    ("admissionregistration.k8s.io", "ValidatingAdmissionPolicyBinding"),
}

# What a new object's status shows before any controller ran (Go's zero values that are always serialized).
_INITIAL_STATUS: dict[tuple[str, str], dict[str, Any]] = {
    ("", "Service"): {"loadBalancer": {}},
    ("apps", "ReplicaSet"): {"replicas": 0},
    ("apps", "StatefulSet"): {"replicas": 0, "availableReplicas": 0},
    ("apps", "DaemonSet"): {
        "currentNumberScheduled": 0,
        "numberMisscheduled": 0,
        "desiredNumberScheduled": 0,
        "numberReady": 0,
    },
    ("autoscaling", "HorizontalPodAutoscaler"): {"currentReplicas": 0, "desiredReplicas": 0},
    ("policy", "PodDisruptionBudget"): {
        "currentHealthy": 0,
        "desiredHealthy": 0,
        "disruptionsAllowed": 0,
        "expectedPods": 0,
    },
}

CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io"
FOREGROUND_FINALIZER = "foregroundDeletion"
ORPHAN_FINALIZER = "orphan"


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclasses.dataclass
class Options:
    """Timings of the simulated cluster (seconds); tests make them short, a manual run keeps them realistic."""

    crd_establish_delay: float = 0.0
    namespace_delete_delay: float = 0.0
    rollout_delay: float = 0.0
    load_balancer_delay: float = 0.0
    progress_deadline_delay: float = 1.0
    job_delay: float = 0.0
    bookmark_interval: float = 1.0
    watch_history: int = 10_000
    create_pods: bool = False


@dataclasses.dataclass
class WriteContext:
    """What a write request says besides its body."""

    user: str = "admin"
    manager: str = ""
    dry_run: bool = False
    field_validation: str = "Warn"  # Strict | Warn | Ignore
    subresource: str = ""
    warnings: list[str] = dataclasses.field(default_factory=list)

    @classmethod
    def from_query(
        cls, query: dict[str, str], user: str, user_agent: str, subresource: str, options_kind: str = "CreateOptions"
    ) -> WriteContext:
        dry_run = query.get("dryRun", "")
        if dry_run and dry_run != "All":
            cause = validation.cause(
                "dryRun", f'Unsupported value: ["{dry_run}"]: supported values: "All"', "FieldValueNotSupported"
            )
            raise errors.invalid(options_kind, "meta.k8s.io", "", [cause])
        validation_mode = query.get("fieldValidation", "Warn") or "Warn"
        if validation_mode not in ("Strict", "Warn", "Ignore"):
            raise errors.bad_request(
                f'fieldValidation: Unsupported value: "{validation_mode}": supported values: "Ignore", "Strict", "Warn"'
            )
        manager = query.get("fieldManager", "")
        if not manager:
            manager = user_agent.split("/", 1)[0] if user_agent else "unknown"
        if len(manager) > 128:
            raise errors.ApiError(422, "Invalid", "fieldManager: Too long: may not be longer than 128 bytes")
        return cls(user, manager, dry_run == "All", validation_mode, subresource)


class Scheduler:
    """One background thread running delayed tasks in time order (lifecycles, controllers, GC)."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._counter = itertools.count()
        self._cond = threading.Condition()
        self._stopped = False
        self._thread: threading.Thread | None = None
        self.errors: list[BaseException] = []

    def start(self) -> None:
        self._stopped = False
        self._thread = threading.Thread(target=self._run, name="apiserver-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._heap.clear()
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def call_later(self, delay: float, fn: Callable[[], None]) -> None:
        with self._cond:
            heapq.heappush(self._heap, (time.monotonic() + max(0.0, delay), next(self._counter), fn))
            self._cond.notify_all()

    def idle(self) -> bool:
        with self._cond:
            return not self._heap

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stopped and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                if self._stopped:
                    return
                _, _, fn = heapq.heappop(self._heap)
            try:
                fn()
            except Exception as exc:  # a task's failure must not stop the others; tests can inspect it
                self.errors.append(exc)


class Cluster:
    """The API's objects and verbs."""

    def __init__(self, options: Options | None = None) -> None:
        self.options = options or Options()
        self.store = store.Store(history=self.options.watch_history)
        self.scheduler = Scheduler()
        self._custom: dict[tuple[str, str, str], ResourceType] = {}
        self._builtin = resources.by_plural(resources.BUILTIN)
        self._ip_counter = itertools.count(2)
        self._node_port_counter = itertools.count(30000)

    # --- resource types ------------------------------------------------------------------------------------------

    def served_types(self) -> list[ResourceType]:
        with self.store.lock:
            return list(self._builtin.values()) + list(self._custom.values())

    def resolve(self, group: str, version: str, plural: str) -> ResourceType | None:
        key = (group, version, plural)
        found = self._builtin.get(key)
        if found is not None:
            return found
        with self.store.lock:
            return self._custom.get(key)

    def find_type(self, name: str) -> ResourceType:
        """Resource type by plural, `plural.group`, kind or short name (the forms tests use)."""
        lowered = name.lower()
        for rt in self.served_types():
            if lowered in (rt.plural, rt.qualified, rt.kind.lower(), f"{rt.kind.lower()}.{rt.group}", *rt.short_names):
                return rt
        raise KeyError(name)

    def refresh_custom_types(self) -> None:
        """Serve the resources of every established, not terminating CRD (and nothing else)."""
        with self.store.lock:
            served: dict[tuple[str, str, str], ResourceType] = {}
            for crd in self.store.list(resources.CRD.group_resource):
                if not condition_true(crd, "Established"):
                    continue
                for rt in resources.from_crd(crd):
                    served[(rt.group, rt.version, rt.plural)] = rt
            self._custom = served

    # --- reads ---------------------------------------------------------------------------------------------------

    def get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self.store.get(rt.group_resource, namespace if rt.namespaced else "", name)
        if obj is None:
            raise errors.not_found(rt.qualified, name, rt.group, rt.plural)
        return self.present(rt, obj)

    def present(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """The stored object as the requested version shows it (custom resources: apiVersion only)."""
        if rt.custom and obj.get("apiVersion") != rt.api_version:
            return dict(obj, apiVersion=rt.api_version)
        return obj

    def list(
        self,
        rt: ResourceType,
        namespace: str | None,
        label_selector: str = "",
        field_selector: str = "",
        limit: int = 0,
        continue_token: str = "",
    ) -> dict[str, Any]:
        labels = selectors.parse_labels(label_selector)
        fields = selectors.parse_fields(field_selector, rt.kind)
        start_after: tuple[str, str] | None = None
        with self.store.lock:
            list_rv = self.store.rv
            if continue_token:
                token = _decode_continue(continue_token)
                start_after = (token["ns"], token["name"])
                list_rv = int(token["rv"])
                if list_rv < self.store.oldest_rv:
                    raise errors.ApiError(
                        410,
                        "Expired",
                        "The provided continue parameter is too old to display a consistent list result. You can "
                        "start a new list without the continue parameter.",
                    )
            items = self.store.list(rt.group_resource, namespace if rt.namespaced else None)
        selected = []
        for obj in items:
            meta = obj["metadata"]
            if start_after is not None and (meta.get("namespace", ""), meta["name"]) <= start_after:
                continue
            if labels and not selectors.matches(labels, meta.get("labels")):
                continue
            if fields and not all(f.matches(obj) for f in fields):
                continue
            selected.append(obj)
        metadata: dict[str, Any] = {"resourceVersion": str(list_rv)}
        if limit and len(selected) > limit:
            remaining = len(selected) - limit
            selected = selected[:limit]
            last = selected[-1]["metadata"]
            metadata["continue"] = _encode_continue(list_rv, last.get("namespace", ""), last["name"])
            if not labels and not fields:
                metadata["remainingItemCount"] = remaining
        return {
            "kind": f"{rt.kind}List",
            "apiVersion": rt.api_version,
            "metadata": metadata,
            "items": [self.present(rt, obj) for obj in selected],
        }

    # --- writes --------------------------------------------------------------------------------------------------

    def create(self, rt: ResourceType, namespace: str, body: Any, ctx: WriteContext) -> dict[str, Any]:
        obj = self._decode_body(rt, body, namespace, None)
        meta = obj.setdefault("metadata", {})
        if not meta.get("name"):
            if meta.get("generateName"):
                meta["name"] = str(meta["generateName"]) + uuid.uuid4().hex[:5]
            else:
                raise errors.invalid(
                    rt.kind,
                    rt.group,
                    "",
                    [
                        validation.cause(
                            "metadata.name", "Required value: name or generateName is required", "FieldValueRequired"
                        )
                    ],
                )
        self._prune(rt, obj, ctx)
        with self.store.lock:
            self._check_namespace(rt, meta.get("namespace", ""), meta["name"])
            if self.store.get(rt.group_resource, meta.get("namespace", ""), meta["name"]) is not None:
                raise errors.already_exists(rt.qualified, meta["name"], rt.group, rt.plural)
            # As kube-apiserver: defaults are applied when decoding, so the creating manager owns them; server
            # allocations (a Service's cluster IP) come later and belong to nobody.
            self._default(rt, obj)
            if (rt.group, rt.kind) == ("apps", "DaemonSet"):  # the DaemonSet strategy's PrepareForCreate
                meta.setdefault("annotations", {})["deprecated.daemonset.template.generation"] = "1"
            self._track(rt, None, obj, ctx)
            self._init_new(rt, obj)
            return self._commit(rt, None, obj, ctx)

    def update(self, rt: ResourceType, namespace: str, name: str, body: Any, ctx: WriteContext) -> dict[str, Any]:
        obj = self._decode_body(rt, body, namespace, name)
        self._prune(rt, obj, ctx)
        with self.store.lock:
            old = self._existing(rt, namespace, name)
            return self._write_update(rt, name, old, obj, ctx)

    def patch(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: bytes,
        content_type: str,
        query: dict[str, str],
        ctx: WriteContext,
    ) -> dict[str, Any]:
        if content_type == "application/apply-patch+yaml" or content_type == "application/apply-patch+cbor":
            return self._apply(rt, namespace, name, body, query, ctx)
        if "force" in query:
            message = "Forbidden: may not be specified for non-apply patch"
            cause = validation.cause("force", message, "FieldValueForbidden")
            raise errors.invalid("PatchOptions", "meta.k8s.io", "", [cause])
        try:
            document = json.loads(body or b"null")
        except ValueError as exc:
            raise errors.bad_request(f"error decoding patch: {exc}") from exc
        with self.store.lock:
            old = self._existing(rt, namespace, name)
            current = copy.deepcopy(self.present(rt, old))
            if content_type == "application/merge-patch+json":
                patched = patch.merge_patch(current, document)
            elif content_type == "application/json-patch+json":
                patched = patch.json_patch(current, document)
            elif content_type == "application/strategic-merge-patch+json":
                if rt.custom:
                    raise errors.ApiError(
                        415,
                        "UnsupportedMediaType",
                        "the body of the request was in an unknown format - accepted media types include: "
                        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml",
                    )
                patched = patch.strategic_merge_patch(current, document, rt.root())
            else:  # kube-apiserver's own words, with an empty `details`
                error = errors.ApiError(415, "UnsupportedMediaType", "415: Unsupported Media Type")
                error.empty_details = True
                raise error
            if not isinstance(patched, dict):
                raise errors.bad_request("the patch did not produce an object")
            self._check_identity(rt, patched, namespace, name)
            self._prune(rt, patched, ctx)
            return self._write_update(rt, name, old, patched, ctx)

    def _apply(
        self, rt: ResourceType, namespace: str, name: str, body: bytes, query: dict[str, str], ctx: WriteContext
    ) -> dict[str, Any]:
        if not query.get("fieldManager"):
            cause = validation.cause(
                "fieldManager", "Required value: is required for apply patch", "FieldValueRequired"
            )
            raise errors.invalid("PatchOptions", "meta.k8s.io", "", [cause])
        force = query.get("force", "") in ("true", "1")
        applied = _load_yaml_or_json(body)
        if not isinstance(applied, dict):
            raise errors.bad_request("apply patch must be an object")
        if not applied.get("apiVersion") or not applied.get("kind"):
            group, _, version = str(applied.get("apiVersion") or "").rpartition("/")
            raise errors.bad_request(f"invalid object type: {group}/{version}, Kind={applied.get('kind') or ''}")
        self._check_identity(rt, applied, namespace, name)
        meta = applied.setdefault("metadata", {})
        meta.setdefault("name", name)
        if meta.get("managedFields"):
            raise errors.bad_request("metadata.managedFields must be nil")
        unknown: list[str] = []
        validation.prune(applied, rt.root(), "", unknown)
        if unknown:
            if ctx.field_validation == "Strict":
                raise errors.bad_request(", ".join(f".{p}: field not declared in schema" for p in unknown))
            if ctx.field_validation == "Warn":
                ctx.warnings += [f'unknown field "{p}"' for p in unknown]
        with self.store.lock:
            old = self.store.get(rt.group_resource, namespace if rt.namespaced else "", name)
            if old is None and ctx.subresource:
                raise errors.not_found(rt.qualified, name, rt.group, rt.plural)
            _check_resource_version(rt, name, applied, old)
            result = apply.apply(
                copy.deepcopy(old) if old is not None else None,
                applied,
                rt.root(),
                ctx.manager,
                force,
                rt.api_version,
                now_rfc3339(),
                **self._scope(rt, ctx),
            )
            merged = result.obj
            merged["apiVersion"] = rt.api_version
            merged["kind"] = rt.kind
            if old is None:
                self._check_namespace(rt, namespace, name)
                merged.setdefault("metadata", {})["namespace"] = namespace
                if not rt.namespaced:
                    merged["metadata"].pop("namespace", None)
                self._init_new(rt, merged)
                apply.write_managers(merged, result.managers)
                return self._commit(rt, None, merged, ctx)
            new = self._merge_update(rt, old, merged, ctx)
            apply.write_managers(new, result.managers)
            return self._commit(rt, old, new, ctx)

    def delete(
        self, rt: ResourceType, namespace: str, name: str, options: dict[str, Any], ctx: WriteContext
    ) -> tuple[dict[str, Any], bool]:
        """Delete (or start deleting) an object; returns the object or Status to answer, and whether it is gone."""
        with self.store.lock:
            old = self._existing(rt, namespace, name)
            preconditions = options.get("preconditions") or {}
            if preconditions.get("uid") and preconditions["uid"] != old["metadata"].get("uid"):
                raise errors.conflict(
                    rt.kind,
                    name,
                    rt.group,
                    rt.kind,
                    f"the UID in the precondition ({preconditions['uid']}) does not match the UID in record "
                    f"({old['metadata'].get('uid')}). The object might have been deleted and then recreated",
                )
            if preconditions.get("resourceVersion") and preconditions["resourceVersion"] != old["metadata"].get(
                "resourceVersion"
            ):
                raise errors.conflict(
                    rt.qualified,
                    name,
                    rt.group,
                    rt.plural,
                    f"Precondition failed: ResourceVersion in precondition: {preconditions['resourceVersion']}, "
                    f"ResourceVersion in object meta: {old['metadata'].get('resourceVersion')}",
                )
            policy = options.get("propagationPolicy")
            if policy is None and options.get("orphanDependents") is not None:
                policy = "Orphan" if options["orphanDependents"] else "Background"
            if policy not in (None, "Orphan", "Background", "Foreground"):
                raise errors.bad_request(f'propagationPolicy: Unsupported value: "{policy}"')
            new = copy.deepcopy(old)
            meta = new["metadata"]
            finalizers = list(meta.get("finalizers") or ())
            if rt.group_resource == resources.CRD.group_resource and CRD_CLEANUP_FINALIZER not in finalizers:
                finalizers.append(CRD_CLEANUP_FINALIZER)
                set_condition(
                    new,
                    "Terminating",
                    "True",
                    "InstanceDeletionPending",
                    "CustomResourceDefinition marked for deletion; instances will be deleted",
                )
            if policy == "Foreground" and FOREGROUND_FINALIZER not in finalizers and self._has_dependents(old):
                finalizers.append(FOREGROUND_FINALIZER)
            if policy == "Orphan" and not ctx.dry_run:
                self._orphan_dependents(old)
            if rt.group_resource == resources.NAMESPACE.group_resource:
                new.setdefault("status", {})["phase"] = "Terminating"
            if finalizers or (rt.group_resource == resources.NAMESPACE.group_resource):
                if meta.get("deletionTimestamp") and finalizers == list(meta.get("finalizers") or ()):
                    return self.present(rt, old), False
                meta["finalizers"] = finalizers
                meta.setdefault("deletionTimestamp", now_rfc3339())
                meta.setdefault("deletionGracePeriodSeconds", 0)
                if not finalizers:
                    meta.pop("finalizers", None)
                if ctx.dry_run:
                    return self.present(rt, new), False
                stored = self.store.put(rt.group_resource, new)
                return self.present(rt, stored), False
            if ctx.dry_run:
                return self._delete_response(rt, old), True
            gone = self.store.remove(rt.group_resource, old["metadata"].get("namespace", ""), name)
            assert gone is not None
            return self._delete_response(rt, gone), True

    def _delete_response(self, rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
        """What an immediate delete answers: a Status, for built-ins and custom resources alike."""
        return {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {
                "name": obj["metadata"]["name"],
                **({"group": rt.group} if rt.group else {}),
                "kind": rt.plural,
                "uid": obj["metadata"].get("uid"),
            },
        }

    def delete_collection(
        self,
        rt: ResourceType,
        namespace: str | None,
        label_selector: str,
        field_selector: str,
        options: dict[str, Any],
        ctx: WriteContext,
    ) -> dict[str, Any]:
        listed = self.list(rt, namespace, label_selector, field_selector)
        deleted = []
        for obj in listed["items"]:
            meta = obj["metadata"]
            try:
                result, _ = self.delete(rt, meta.get("namespace", ""), meta["name"], options, ctx)
            except errors.ApiError as exc:
                if exc.code == 404:
                    continue
                raise
            item = result if result.get("kind") != "Status" else obj
            # kube-apiserver's list items carry no apiVersion/kind (the list has them).
            deleted.append({k: v for k, v in item.items() if k not in ("apiVersion", "kind")})
        return dict(listed, items=deleted)

    def remove_finalizer(self, rt: ResourceType, obj: dict[str, Any], finalizer: str) -> None:
        """Controller-side: drop one finalizer; an object being deleted with none left is removed."""
        with self.store.lock:
            meta = obj["metadata"]
            current = self.store.get(rt.group_resource, meta.get("namespace", ""), meta["name"])
            if current is None or current["metadata"].get("uid") != meta.get("uid"):
                return
            finalizers = [f for f in current["metadata"].get("finalizers") or () if f != finalizer]
            new = copy.deepcopy(current)
            if finalizers:
                new["metadata"]["finalizers"] = finalizers
            else:
                new["metadata"].pop("finalizers", None)
            if new == current:
                return
            self._store_or_remove(rt, new)

    def write_status(
        self, rt: ResourceType, obj: dict[str, Any], status: dict[str, Any], manager: str
    ) -> dict[str, Any] | None:
        """Controller-side status update (only when it changes), tracked as the controller's Update."""
        with self.store.lock:
            meta = obj["metadata"]
            current = self.store.get(rt.group_resource, meta.get("namespace", ""), meta["name"])
            if current is None or current["metadata"].get("uid") != meta.get("uid"):
                return None
            if current.get("status") == status:
                return current
            new = copy.deepcopy(current)
            new["status"] = copy.deepcopy(status)
            apply.track_update(
                current, new, rt.root(), manager, rt.api_version, now_rfc3339(), subresource="status", only="status"
            )
            return self._store_or_remove(rt, new)

    def put_object(self, rt: ResourceType, obj: dict[str, Any], manager: str = "") -> dict[str, Any]:
        """Direct write used by controllers and tests: defaults and identity, no validation."""
        with self.store.lock:
            meta = obj.setdefault("metadata", {})
            obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
            old = self.store.get(rt.group_resource, meta.get("namespace", "") if rt.namespaced else "", meta["name"])
            if old is None:
                self._init_new(rt, obj)
            else:
                for key in ("uid", "creationTimestamp"):
                    meta[key] = old["metadata"].get(key)
                defaults.apply_defaults(rt.group, rt.kind, obj)
            if manager:
                apply.track_update(old, obj, rt.root(), manager, rt.api_version, now_rfc3339())
            stored = self.store.put(rt.group_resource, obj)
            return stored

    def remove_object(self, rt: ResourceType, namespace: str, name: str) -> None:
        with self.store.lock:
            self.store.remove(rt.group_resource, namespace if rt.namespaced else "", name)

    # --- helpers -------------------------------------------------------------------------------------------------

    def _write_update(
        self, rt: ResourceType, name: str, old: dict[str, Any], obj: dict[str, Any], ctx: WriteContext
    ) -> dict[str, Any]:
        """Write ``obj`` over ``old`` (an update, or a patch that is not an apply), under the store lock: the
        resourceVersion precondition, the merge with the stored object, defaults, managedFields, commit."""
        _check_resource_version(rt, name, obj, old)
        new = self._merge_update(rt, old, obj, ctx)
        self._default(rt, new)
        self._track(rt, old, new, ctx)
        return self._commit(rt, old, new, ctx)

    def _track(self, rt: ResourceType, old: dict[str, Any] | None, new: dict[str, Any], ctx: WriteContext) -> None:
        """Record the write of ``ctx.manager`` (an Update operation) in the managedFields of ``new``."""
        apply.track_update(
            old, new, rt.root(), ctx.manager, rt.api_version, now_rfc3339(), custom=rt.custom, **self._scope(rt, ctx)
        )

    def _scope(self, rt: ResourceType, ctx: WriteContext) -> dict[str, Any]:
        if ctx.subresource == "status":
            return {"subresource": "status", "only": "status"}
        if rt.has_status:
            return {"exclude": ("status",)}
        return {}

    def _existing(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        old = self.store.get(rt.group_resource, namespace if rt.namespaced else "", name)
        if old is None:
            raise errors.not_found(rt.qualified, name, rt.group, rt.plural)
        return old

    def _decode_body(self, rt: ResourceType, body: Any, namespace: str, name: str | None) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise errors.bad_request("the body of the request must be an object")
        obj = copy.deepcopy(body)
        if not obj.get("kind") and not obj.get("apiVersion"):
            obj["kind"] = rt.kind  # kube-apiserver decodes with the URL's kind and version as defaults
        if not obj.get("kind"):
            raise errors.bad_request(f"Object 'Kind' is missing in '{json.dumps(body)[:200]}'")
        self._check_identity(rt, obj, namespace, name)
        obj["apiVersion"] = rt.api_version
        return obj

    def _check_identity(self, rt: ResourceType, obj: dict[str, Any], namespace: str, name: str | None) -> None:
        """kind/apiVersion must match the URL, and so must the namespace and name."""
        api_version = obj.get("apiVersion")
        if api_version and api_version != rt.api_version:
            raise errors.bad_request(
                f"the API version in the data ({api_version}) does not match the expected API version "
                f"({rt.api_version})"
            )
        if obj.get("kind") and obj["kind"] != rt.kind:
            version = rt.version
            package = rt.group.split(".", 1)[0] if rt.group else "core"
            raise errors.bad_request(
                f'{obj["kind"]} in version "{version}" cannot be handled as a {rt.kind}: converting '
                f"({version}.{obj['kind']}) to ({package}.{rt.kind}): unknown conversion"
            )
        meta = obj.setdefault("metadata", {})
        if not isinstance(meta, dict):
            raise errors.bad_request("metadata must be an object")
        if rt.namespaced:
            if meta.get("namespace") and meta["namespace"] != namespace:
                raise errors.bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request"
                )
            meta["namespace"] = namespace
        else:
            meta.pop("namespace", None)
        if name is not None and meta.get("name") and meta["name"] != name:
            raise errors.bad_request(
                f"the name of the object ({meta['name']}) does not match the name on the URL ({name})"
            )
        if name is not None:
            meta["name"] = name

    def _prune(self, rt: ResourceType, obj: dict[str, Any], ctx: WriteContext) -> None:
        unknown: list[str] = []
        validation.prune(obj, rt.root(), "", unknown)
        if not unknown:
            return
        if ctx.field_validation == "Strict":
            raise errors.bad_request(
                f'{rt.kind} in version "{rt.version}" cannot be handled as a {rt.kind}: strict decoding error: '
                + ", ".join(f'unknown field "{p}"' for p in unknown)
            )
        if ctx.field_validation == "Warn":
            ctx.warnings += [f'unknown field "{p}"' for p in unknown]

    def _check_namespace(self, rt: ResourceType, namespace: str, name: str) -> None:
        if not rt.namespaced:
            return
        ns = self.store.get(resources.NAMESPACE.group_resource, "", namespace)
        if ns is None:
            raise errors.not_found("namespaces", namespace, "", "namespaces")
        if ns["metadata"].get("deletionTimestamp"):
            raise errors.ApiError(
                403,
                "Forbidden",
                f'{rt.qualified} "{name}" is forbidden: unable to create new content in namespace {namespace} '
                "because it is being terminated",
                name=name,
                kind=rt.plural,
                causes=[
                    {
                        "reason": "NamespaceTerminating",
                        "message": f"namespace {namespace} is being terminated",
                        "field": "metadata.namespace",
                    }
                ],
            )

    def _init_new(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        meta = obj["metadata"]
        for key in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink"):
            meta.pop(key, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        if rt.custom or (rt.group, rt.kind) in _GENERATION_KINDS:
            meta["generation"] = 1
        else:
            meta.pop("generation", None)
        if rt.has_status and (rt.group, rt.kind) not in (("", "Node"), ("", "Pod")):
            # Built-in status structs are never null in Kubernetes' JSON: a new object shows an empty one.
            obj.pop("status", None)
            if not rt.custom:
                obj["status"] = copy.deepcopy(_INITIAL_STATUS.get((rt.group, rt.kind), {}))
        if rt.group_resource == resources.NAMESPACE.group_resource:
            obj["status"] = {"phase": "Active"}
            # The namespace strategy's PrepareForCreate, after field tracking: owned by no manager.
            obj.setdefault("spec", {})["finalizers"] = ["kubernetes"]
        if (rt.group, rt.kind) == ("", "Service"):
            self._allocate_service(obj)

    def _allocate_service(self, obj: dict[str, Any]) -> None:
        spec = obj.setdefault("spec", {})
        kind = spec.get("type") or "ClusterIP"
        if kind != "ExternalName":  # set with the allocation, so owned by no field manager
            spec.setdefault("ipFamilies", ["IPv4"])
            spec.setdefault("ipFamilyPolicy", "SingleStack")
        if kind != "ExternalName" and not spec.get("clusterIP"):
            number = next(self._ip_counter)
            spec["clusterIP"] = f"10.96.{number // 250}.{number % 250 + 1}"
        if spec.get("clusterIP") and not spec.get("clusterIPs"):
            spec["clusterIPs"] = [spec["clusterIP"]]
        if kind in ("NodePort", "LoadBalancer"):
            for port in spec.get("ports") or ():
                port.setdefault("nodePort", next(self._node_port_counter))

    def _merge_update(
        self, rt: ResourceType, old: dict[str, Any], new: dict[str, Any], ctx: WriteContext
    ) -> dict[str, Any]:
        """The object an update stores: identity and server fields kept, status or spec protected by subresource."""
        old_meta = old["metadata"]
        if ctx.subresource == "status":
            result = copy.deepcopy(old)
            if "status" in new:
                result["status"] = new["status"]
            else:
                result.pop("status", None)
            return result
        result = copy.deepcopy(new)
        meta = result.setdefault("metadata", {})
        if meta.get("uid") and meta["uid"] != old_meta.get("uid"):
            raise errors.conflict(
                rt.qualified,
                old_meta["name"],
                rt.group,
                rt.plural,
                f"Precondition failed: UID in precondition: {meta['uid']}, UID in object meta: {old_meta.get('uid')}",
            )
        for key in ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
            if key in old_meta:
                meta[key] = old_meta[key]
            else:
                meta.pop(key, None)
        meta["resourceVersion"] = old_meta["resourceVersion"]
        if rt.has_status:
            if "status" in old:
                result["status"] = copy.deepcopy(old["status"])
            else:
                result.pop("status", None)
        if rt.group_resource == resources.NAMESPACE.group_resource:
            result["status"] = copy.deepcopy(old.get("status", {"phase": "Active"}))
            if "finalizers" in (old.get("spec") or {}):  # kept by updates (only /finalize changes them)
                result.setdefault("spec", {})["finalizers"] = old["spec"]["finalizers"]
        if old_meta.get("deletionTimestamp"):
            added = set(meta.get("finalizers") or ()) - set(old_meta.get("finalizers") or ())
            if added:
                raise errors.invalid(
                    rt.kind,
                    rt.group,
                    old_meta["name"],
                    [
                        validation.cause(
                            "metadata.finalizers",
                            "Forbidden: no new finalizers can be added if the object is being deleted",
                            "FieldValueForbidden",
                        )
                    ],
                )
        if (rt.group, rt.kind) == ("", "Service"):
            spec, old_spec = result.setdefault("spec", {}), old.get("spec", {})
            for key in ("clusterIP", "clusterIPs"):
                if key in old_spec and not spec.get(key):
                    spec[key] = old_spec[key]
            self._allocate_service(result)
        return result

    def _commit(
        self, rt: ResourceType, old: dict[str, Any] | None, new: dict[str, Any], ctx: WriteContext
    ) -> dict[str, Any]:
        """Default, validate, bump generation, and store unless nothing changed (or this is a dry run)."""
        self._default(rt, new)
        validation.validate(rt, new)
        if old is not None and ctx.subresource != "status":
            validation.validate_update(rt, old, new)
        self._check_size(rt, new)
        meta = new["metadata"]
        if old is not None:
            if "generation" in old["metadata"] and _spec_of(old) != _spec_of(new):
                meta["generation"] = int(old["metadata"]["generation"]) + 1
            if _same(old, new):
                return self.present(rt, old)
        if ctx.dry_run:
            if old is None:
                meta.pop("resourceVersion", None)
            return self.present(rt, new)
        stored = self._store_or_remove(rt, new)
        return self.present(rt, stored)

    def _default(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        if rt.custom:
            defaults.apply_schema_defaults(obj, rt.root())
        else:
            defaults.apply_defaults(rt.group, rt.kind, obj)

    def _store_or_remove(self, rt: ResourceType, new: dict[str, Any]) -> dict[str, Any]:
        meta = new["metadata"]
        if meta.get("deletionTimestamp") and not meta.get("finalizers"):
            gone = self.store.remove(rt.group_resource, meta.get("namespace", ""), meta["name"])
            if gone is not None:  # kube-apiserver answers the object as this write left it
                return new
        stored = self.store.put(rt.group_resource, new)
        return stored

    def _check_size(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        if (rt.group, rt.kind) in (("", "ConfigMap"), ("", "Secret")):
            size = sum(
                len(str(v)) for key in ("data", "binaryData", "stringData") for v in (obj.get(key) or {}).values()
            )
            if size > MAX_DATA_BYTES:
                raise errors.invalid(
                    rt.kind,
                    rt.group,
                    obj["metadata"]["name"],
                    [
                        validation.cause(
                            "data", f"Too long: must have at most {MAX_DATA_BYTES} bytes", "FieldValueTooLong"
                        )
                    ],
                )
        if len(store.encode(obj)) > MAX_OBJECT_BYTES:
            raise errors.ApiError(413, "RequestEntityTooLarge", "etcdserver: request is too large")

    def _has_dependents(self, owner: dict[str, Any]) -> bool:
        uid = owner["metadata"].get("uid")
        return any(_owned_by(obj, uid) for _, obj in self.store.iter_all())

    def _orphan_dependents(self, owner: dict[str, Any]) -> None:
        uid = owner["metadata"].get("uid")
        for gr, obj in self.store.iter_all():
            if _owned_by(obj, uid):
                new = copy.deepcopy(obj)
                new["metadata"]["ownerReferences"] = [
                    r for r in obj["metadata"]["ownerReferences"] if r.get("uid") != uid
                ]
                if not new["metadata"]["ownerReferences"]:
                    del new["metadata"]["ownerReferences"]
                self.store.put(gr, new)

    def type_of(self, gr: tuple[str, str]) -> ResourceType | None:
        for rt in self.served_types():
            if rt.group_resource == gr:
                return rt
        return None


def _owned_by(obj: dict[str, Any], uid: Any) -> bool:
    return any(ref.get("uid") == uid for ref in obj["metadata"].get("ownerReferences") or ())


def _spec_of(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status")}


def _comparable(obj: dict[str, Any]) -> dict[str, Any]:
    meta = dict(obj.get("metadata", {}))
    meta.pop("resourceVersion", None)
    meta["managedFields"] = [
        {k: v for k, v in entry.items() if k != "time"} for entry in meta.get("managedFields") or ()
    ]
    return dict(obj, metadata=meta)


def _same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """A write that changes nothing but timestamps of managed fields is not stored (resourceVersion stays)."""
    return _comparable(old) == _comparable(new)


def condition_true(obj: dict[str, Any], kind: str) -> bool:
    return any(
        c.get("type") == kind and c.get("status") == "True" for c in obj.get("status", {}).get("conditions") or ()
    )


def set_condition(obj: dict[str, Any], kind: str, status: str, reason: str, message: str) -> None:
    conditions = obj.setdefault("status", {}).setdefault("conditions", [])
    for condition in conditions:
        if condition.get("type") == kind:
            if condition.get("status") != status:
                condition["lastTransitionTime"] = now_rfc3339()
            condition.update(status=status, reason=reason, message=message)
            return
    conditions.append(
        {"type": kind, "status": status, "lastTransitionTime": now_rfc3339(), "reason": reason, "message": message}
    )


def _encode_continue(rv: int, namespace: str, name: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "ns": namespace, "name": name}).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_continue(token: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        data = json.loads(raw)
        return {"rv": int(data["rv"]), "ns": str(data["ns"]), "name": str(data["name"])}
    except (ValueError, KeyError, TypeError) as exc:
        raise errors.bad_request(f"continue key is not valid: {exc}") from exc


def _load_yaml_or_json(body: bytes) -> Any:
    text = body.decode("utf-8", errors="replace")
    try:
        return json.loads(text)
    except ValueError:
        pass
    import yaml

    try:
        return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise errors.bad_request(f"error decoding YAML: {exc}") from exc


def _check_resource_version(rt: ResourceType, name: str, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
    """A write that names a resourceVersion succeeds only against that version (optimistic concurrency); an apply
    that creates (``old`` None) and names one fails too."""
    requested_rv = obj.get("metadata", {}).get("resourceVersion")
    if requested_rv and (old is None or requested_rv != old["metadata"]["resourceVersion"]):
        raise errors.conflict(
            rt.qualified,
            name,
            rt.group,
            rt.plural,
            "the object has been modified; please apply your changes to the latest version and try again",
        )
