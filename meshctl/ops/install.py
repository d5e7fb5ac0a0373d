"""Install: render, ensure namespaces, lock, plan, confirm, record, apply in phases, prune, record, wait.

``cluster.md`` §2, step by step. :func:`install` takes the effective configuration and a client and returns an
:class:`InstallResult`; it never prints, prompts or exits. What the user should see as it happens goes to a
:class:`Reporter`; the confirmation is a callback (``confirm(plan) -> bool``) that the CLI implements.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import meshctl
from meshctl import errors, objects
from meshctl.config import layering
from meshctl.kube import apply as kapply
from meshctl.kube import client as kclient
from meshctl.kube import errors as kerrors
from meshctl.kube import inventory, lock, wait
from meshctl.ops import generate
from meshctl.ops import plan as planning
from meshctl.render import components as component_table

INGRESS_LABEL = "IngressGateways"
_ObjectRef = objects.ObjectRef  # InstallResult has a field named `objects`


@dataclasses.dataclass(frozen=True)
class InstallOptions:
    dry_run: bool = False
    force_conflicts: bool = False
    wait: bool = True
    readiness_timeout: float = 300.0
    lock_timeout: float = 120.0
    lock_duration: int | None = None  # seconds; None: lock.default_duration()
    heartbeat: float = 15.0


class Reporter(Protocol):
    """What install tells the user while it works (the CLI renders it: plain lines, or live progress on a TTY)."""

    def note(self, text: str) -> None:
        """An informational line."""

    def warn(self, text: str) -> None:
        """A warning line."""

    def lock_waiting(self, holder: str) -> None:
        """Another meshctl holds the lock; install waits for it."""

    def progress(self, text: str) -> None:
        """What is in flight now (replaces the previous progress text)."""

    def component_done(self, name: str) -> None:
        """A component is installed (``✔ Istiod installed``)."""

    def component_failed(self, name: str, reason: str) -> None:
        """A component failed (``✘ Istiod encountered an error: …``)."""

    def waiting(self, pending: Sequence[wait.Pending]) -> None:
        """The heartbeat while waiting for readiness: what is still pending and why."""


class NullReporter:
    """A :class:`Reporter` that drops everything (library use, tests)."""

    def note(self, text: str) -> None:
        pass

    def warn(self, text: str) -> None:
        pass

    def lock_waiting(self, holder: str) -> None:
        pass

    def progress(self, text: str) -> None:
        pass

    def component_done(self, name: str) -> None:
        pass

    def component_failed(self, name: str, reason: str) -> None:
        pass

    def waiting(self, pending: Sequence[wait.Pending]) -> None:
        pass


@dataclasses.dataclass(frozen=True)
class ObjectResult:
    ref: objects.ObjectRef
    action: str  # planned action (dry run) or what happened: created, updated, unchanged, adopted, pruned, ...
    note: str = ""
    checked: bool = True
    changes: tuple[kapply.FieldChange, ...] = ()


@dataclasses.dataclass(frozen=True)
class InstallResult:
    ok: bool
    revision: str
    inventories: tuple[str, ...]
    objects: tuple[ObjectResult, ...]
    dry_run: bool = False
    strays: tuple[_ObjectRef, ...] = ()
    ingress: tuple[str, ...] = ()
    created_namespaces: tuple[str, ...] = ()

    @property
    def unchanged(self) -> bool:
        """Nothing was (or would be) written to any member."""
        return all(o.action == "unchanged" for o in self.objects)

    def as_json(self) -> dict[str, Any]:
        """``{ok, revision, inventory, objects: [{group, version, kind, namespace, name, action}]}`` (product §3)."""
        return result_json(self.ok, self.revision or "default", self.inventories, self.objects)


def result_json(
    ok: bool, revision: str | None, inventories: Sequence[str], results: Sequence[ObjectResult]
) -> dict[str, Any]:
    """The one result shape of install, upgrade and uninstall (``product.md`` §3); ``message`` where there is a note."""
    items = []
    for o in results:
        entry: dict[str, Any] = {**dataclasses.asdict(o.ref), "action": o.action}
        if o.note:
            entry["message"] = o.note
        items.append(entry)
    return {"ok": ok, "revision": revision, "inventory": list(inventories), "objects": items}


Confirm = Callable[[planning.Plan], bool]
#: A check of the inventories found, under the lock, before anything is written (upgrade: the installation exists).
Check = Callable[[Mapping[str, inventory.Inventory]], object]


def target_version(config: layering.EffectiveConfig) -> str:
    """The Istio version being installed: the image ``tag`` (``values.global.tag``), else meshctl's Istio version."""
    tag = ((config.values.get("global") or {}) if isinstance(config.values, dict) else {}).get("tag")
    return str(tag) if tag not in (None, "") else meshctl.ISTIO_VERSION


def prompt_text(config: layering.EffectiveConfig) -> str:
    """The confirmation question (``cluster.md`` §2 step 5)."""
    return f'This will install the Istio {meshctl.ISTIO_VERSION} profile "{config.profile}" into the cluster. Proceed?'


def install(
    config: layering.EffectiveConfig,
    client: kclient.KubeClient,
    options: InstallOptions = InstallOptions(),
    *,
    reporter: Reporter | None = None,
    confirm: Confirm | None = None,
    check: Check | None = None,
) -> InstallResult:
    """Install ``config`` into the cluster of ``client`` (or, with ``options.dry_run``, plan it without writing).

    ``check`` sees the inventories found (under the lock, before any write) and may refuse by raising.
    """
    return _Install(config, client, options, reporter or NullReporter(), confirm, check).run()


class _Install:
    def __init__(
        self,
        config: layering.EffectiveConfig,
        client: kclient.KubeClient,
        options: InstallOptions,
        reporter: Reporter,
        confirm: Confirm | None,
        check: Check | None = None,
    ) -> None:
        self.check = check
        self.config = config
        self.client = client
        self.options = options
        self.reporter = reporter
        self.confirm = confirm
        self.namespace = config.istio_namespace
        self.revision_parent = objects.installation_name(config.revision)

    # --- steps ---------------------------------------------------------------------------------------------------

    def run(self) -> InstallResult:
        rendered = generate.render(self.config)
        for warning in rendered.warnings:
            self.reporter.warn(warning)
        self.rendered = rendered.objects
        self.desired = [self._desired(obj) for obj in self.rendered]
        self.installations = [self.revision_parent]
        if any(d.installation == objects.BASE_INSTALLATION for d in self.desired):
            self.installations.insert(0, objects.BASE_INSTALLATION)
        namespaces = generate.namespaces(self.config, self.rendered) or self._istio_namespace()
        ns_res = self._resource("v1", "Namespace")
        existing = {str(n["metadata"]["name"]) for n in self.client.list(ns_res).items}
        missing = [n for n in namespaces if n["metadata"]["name"] not in existing]
        if self.options.dry_run:
            return self._dry_run(existing, missing)
        created = self._ensure_namespaces(ns_res, missing)
        with lock.acquire(
            self.client,
            self.namespace,
            timeout=self.options.lock_timeout,
            duration=self.options.lock_duration,
            on_wait=self.reporter.lock_waiting,
        ) as held:
            if held.took_over_from:
                self.reporter.note(f"Took over the lock of {held.took_over_from}, which had expired")
            plan = planning.make_plan(
                self.client,
                self.desired,
                namespace=self.namespace,
                installations=self.installations,
                existing_namespaces=existing | set(created),
                new_namespaces=created,
                force_conflicts=self.options.force_conflicts,
            )
            if self.check is not None:
                self.check(plan.previous)
            self._refuse_conflicts(plan)
            for stray in plan.strays:
                self.reporter.warn(
                    f"{_name(stray)} carries meshctl's membership label but is in no inventory; left alone"
                )
            for ref, why in plan.released:
                self.reporter.warn(f"{_name(ref)} is {why}")
            if self.confirm is not None and not self.confirm(plan):
                raise errors.Aborted("installation cancelled: nothing was applied")
            results = self._execute(plan, created)
            if held.lost:
                raise kerrors.KubeError(f"the installation lock was lost: {held.lost}", hint="rerun install")
        ingress: list[str] = []
        if self.options.wait:
            self._wait()
            ingress = self._ingress()
        else:
            for name in self._component_names():
                self.reporter.component_done(name)
        return InstallResult(
            ok=True,
            revision=self.config.revision,
            inventories=tuple(self.installations),
            objects=tuple(results),
            strays=tuple(plan.strays),
            ingress=tuple(ingress),
            created_namespaces=tuple(created),
        )

    def _istio_namespace(self) -> list[dict[str, Any]]:
        # Nothing rendered (profile empty): the inventory still lives in the Istio namespace.
        return [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}}]

    def _desired(self, obj: dict[str, Any]) -> planning.Desired:
        labels = (obj.get("metadata") or {}).get("labels") or {}
        component = str(labels.get(objects.COMPONENT_LABEL) or "")
        parent = objects.BASE_INSTALLATION if component == "Base" else self.revision_parent
        return planning.Desired(obj, parent, component)

    def _resource(self, api_version: str, kind: str) -> kclient.Resource:
        res = self.client.resource_for(api_version, kind)
        if res is None:
            raise kerrors.KubeError(f"the cluster does not serve {api_version} {kind}")
        return res

    def _dry_run(self, existing: set[str], missing: Sequence[dict[str, Any]]) -> InstallResult:
        plan = planning.make_plan(
            self.client,
            self.desired,
            namespace=self.namespace,
            installations=self.installations,
            existing_namespaces=existing,
            force_conflicts=self.options.force_conflicts,
            exhaustive=True,
        )
        if self.check is not None:
            self.check(plan.previous)
        results = [
            ObjectResult(objects.ObjectRef("", "v1", "Namespace", "", str(n["metadata"]["name"])), "create")
            for n in missing
        ]
        results.extend(ObjectResult(p.ref, p.action.value, p.note, p.checked, tuple(p.changes)) for p in plan.items)
        return InstallResult(
            ok=not plan.conflicts,
            revision=self.config.revision,
            inventories=tuple(self.installations),
            objects=tuple(results),
            dry_run=True,
            strays=tuple(plan.strays),
        )

    def _ensure_namespaces(self, ns_res: kclient.Resource, missing: Sequence[dict[str, Any]]) -> list[str]:
        created = []
        for namespace in missing:
            name = str(namespace["metadata"]["name"])
            try:
                self.client.create(ns_res, namespace)
            except kerrors.AlreadyExists:
                continue  # created meanwhile (by another meshctl, or a retried request of ours)
            created.append(name)
            self.reporter.note(f"Created namespace {name}")
        return created

    def _refuse_conflicts(self, plan: planning.Plan) -> None:
        if not plan.conflicts:
            return
        lines = [f"{_name(p.ref)}: {p.note}" for p in plan.conflicts]
        count = len(plan.conflicts)
        raise errors.OwnershipConflict(
            f"{count} {'object is' if count == 1 else 'objects are'} owned by another manager or installation",
            context=lines,
            hint="pass --force-conflicts to take them over (the plan shows them as 'adopt')",
        )

    # --- apply ---------------------------------------------------------------------------------------------------

    def _execute(self, plan: planning.Plan, created: Sequence[str]) -> list[ObjectResult]:
        sends = [p for p in plan.items if p.sends]
        prunes = plan.by_action(planning.Action.PRUNE)
        digest = _digest(self.rendered)
        previous = plan.previous
        settled = (
            not sends
            and not prunes
            and not created
            and all(
                name in previous and previous[name].state == inventory.DEPLOYED and previous[name].digest == digest
                for name in self.installations
            )
        )
        if not settled:
            self._record(plan, inventory.PENDING, digest, created)
        try:
            self._apply_phases(sends)
            self._prune(prunes)
        except BaseException as exc:
            if isinstance(exc, errors.MeshctlError):
                self._record_safely(plan, inventory.FAILED, digest, error=str(exc))
            raise
        self._record(plan, inventory.DEPLOYED, digest, created)
        if settled:
            self.reporter.note("No changes: every object is already as rendered")
        results = [ObjectResult(p.ref, planning.DONE[p.action], p.note) for p in plan.items]
        return results

    def _record_safely(self, plan: planning.Plan, state: str, digest: str, *, error: str) -> None:
        try:
            self._record(plan, state, digest, (), error=error)
        except kerrors.KubeError as exc:  # the original failure matters more; the rerun records again
            self.reporter.warn(f"could not record the failure in the inventory: {exc}")

    def _record(self, plan: planning.Plan, state: str, digest: str, created: Sequence[str], *, error: str = "") -> None:
        config_digest = _digest(self.config.iop)
        for name in self.installations:
            rendered = plan.installations.get(name, [])

            def change(
                inv: inventory.Inventory, rendered: list[objects.ObjectRef] = rendered, name: str = name
            ) -> None:
                if state == inventory.PENDING:
                    # Until the run is deployed, the old members still exist: both sets are members.
                    inv.members = sorted(set(inv.members) | set(rendered))
                elif state == inventory.DEPLOYED:
                    inv.members = sorted(rendered)
                inv.state = state
                inv.error = error
                inv.config = self.config.iop
                inv.istio_version = target_version(self.config)
                inv.meshctl_version = meshctl.__version__
                inv.digest = digest
                if name == objects.BASE_INSTALLATION:
                    inv.revisions = sorted(set(inv.revisions) | {self.config.revision or "default"})
                if created and name == self.revision_parent:
                    inv.created_namespaces = sorted(set(inv.created_namespaces) | set(created))
                if state != inventory.PENDING:
                    inv.record_run(result=state, config_digest=config_digest)

            current = plan.previous.get(name)
            updated = inventory.update(self.client, self.namespace, name, change, current=current, known=True)
            plan.previous[name] = updated

    def _apply_phases(self, sends: Sequence[planning.Planned]) -> None:
        by_phase: dict[objects.Phase, list[planning.Planned]] = {}
        for item in sends:
            by_phase.setdefault(objects.phase_of(item.ref.kind), []).append(item)
        for phase in sorted(by_phase):
            items = by_phase[phase]
            for item in items:
                if item.res is None:  # a custom resource whose CRD this run established
                    item.res = self._resource(item.ref.api_version, item.ref.kind)
            names = sorted({self._component_name(i.component) for i in items}, key=self._component_order)
            self.reporter.progress(f"Processing resources for {', '.join(names)}.")
            outcomes = kapply.run_parallel(self._apply_one, items, self.client.concurrency)
            failures = [o for o in outcomes if o.error is not None]
            if failures:
                self._fail_apply(failures)
            if phase == objects.Phase.CRDS:
                self._wait_established(items)

    def _apply_one(self, item: planning.Planned) -> dict[str, Any]:
        assert item.res is not None
        assert item.manifest is not None
        force = self.options.force_conflicts or item.action is planning.Action.ADOPT
        return self.client.apply(item.res, item.manifest, force=force)

    def _fail_apply(self, failures: Sequence[kapply.Outcome[planning.Planned, dict[str, Any]]]) -> None:
        first = failures[0]
        assert first.error is not None
        for failure in failures:
            assert failure.error is not None
            self.reporter.component_failed(self._component_name(failure.item.component), failure.error.message)
        if isinstance(first.error, kerrors.FieldConflict):
            lines = [
                f"{_name(f.item.ref)}: " + ", ".join(f"{o.field} ({o.manager})" for o in f.error.owners)
                for f in failures
                if isinstance(f.error, kerrors.FieldConflict)
            ]
            raise errors.OwnershipConflict(
                "fields are owned by another manager", context=lines, hint="pass --force-conflicts to take them over"
            ) from first.error
        if len(failures) > 1:
            first.error.context = (*first.error.context, *(f"also: {f.error}" for f in failures[1:]))
        raise first.error

    def _wait_established(self, items: Sequence[planning.Planned]) -> None:
        crds = [i for i in items if i.ref.kind == planning.CRD_KIND]
        if not crds:
            return
        self.reporter.progress(f"Waiting for {len(crds)} CustomResourceDefinitions to be established.")
        wait.wait_established(
            self.client,
            [i.ref.name for i in crds],
            label_selector=self._selector(),
            timeout=self.options.readiness_timeout,
        )
        for item in crds:
            spec = (item.manifest or {}).get("spec") or {}
            for version in spec.get("versions") or []:
                self.client.invalidate(f"{spec.get('group')}/{version.get('name')}")

    def _prune(self, prunes: Sequence[planning.Planned]) -> None:
        if not prunes:
            return
        self.reporter.progress("Pruning removed resources.")

        def delete(item: planning.Planned) -> bool:
            assert item.res is not None
            return self.client.delete(item.res, item.ref.name, item.ref.namespace)

        # Reverse phase order: webhooks before the workloads they call, CRDs last.
        for phase in sorted({objects.phase_of(p.ref.kind) for p in prunes}, reverse=True):
            items = [p for p in prunes if objects.phase_of(p.ref.kind) == phase]
            for outcome in kapply.run_parallel(delete, items, self.client.concurrency):
                if outcome.error is not None:
                    raise outcome.error
                self.reporter.note(f"  Pruned {_name(outcome.item.ref)}")

    # --- wait ----------------------------------------------------------------------------------------------------

    def _selector(self) -> str:
        ids = sorted(objects.applyset_id(name, self.namespace) for name in self.installations)
        return f"{objects.PART_OF_LABEL} in ({','.join(ids)})"

    def _wait(self) -> None:
        components: dict[str, set[objects.ObjectRef]] = {}
        targets: list[wait.Target] = []
        for d in sorted(self.desired, key=lambda d: self._component_order(self._component_name(d.component))):
            components.setdefault(d.component, set()).add(d.ref)
            res = self.client.resource_for(d.ref.api_version, d.ref.kind)
            if res is not None:
                targets.append(wait.Target(d.ref, res))
        component_of = {d.ref: d.component for d in self.desired}
        remaining = {label: set(refs) for label, refs in components.items()}
        # The component lines come in component order (core, Istiod, gateways, …), whichever gets ready first: a
        # component is reported once it and every component before it are ready.
        unreported = list(components)

        def report_ready() -> None:
            while unreported and unreported[0] not in remaining:
                self.reporter.component_done(self._component_name(unreported.pop(0)))

        def on_ready(ref: objects.ObjectRef) -> None:
            label = component_of.get(ref, "")
            left = remaining.get(label)
            if left is None:
                return
            left.discard(ref)
            if not left:
                del remaining[label]
                report_ready()

        def on_heartbeat(pending: list[wait.Pending]) -> None:
            self.reporter.waiting(pending)

        workloads = [t for t in targets if t.ref.kind in ("Deployment", "DaemonSet", "StatefulSet", "Job")]
        if workloads:
            self.reporter.progress("Waiting for " + ", ".join(_name(t.ref) for t in workloads))
        try:
            wait.wait_ready(
                self.client,
                targets,
                timeout=self.options.readiness_timeout,
                label_selector=self._selector(),
                on_ready=on_ready,
                on_heartbeat=on_heartbeat,
                heartbeat=self.options.heartbeat,
            )
        except errors.ReadinessFailed as exc:
            ref = exc.ref if isinstance(exc.ref, objects.ObjectRef) else None
            label = component_of.get(ref, "") if ref else ""
            self.reporter.component_failed(self._component_name(label), f"{exc.message}: {exc.detail}")
            raise
        remaining.clear()  # wait_ready returned: everything is ready
        report_ready()

    def _ingress(self) -> list[str]:
        lines = []
        for d in self.desired:
            spec = d.manifest.get("spec") or {}
            if d.component != INGRESS_LABEL or d.ref.kind != "Service" or spec.get("type") != "LoadBalancer":
                continue
            res = self.client.resource_for("v1", "Service")
            live = self.client.get(res, d.ref.name, d.ref.namespace) if res else None
            addresses = (
                [
                    str(i.get("ip") or i.get("hostname"))
                    for i in ((live or {}).get("status") or {}).get("loadBalancer", {}).get("ingress") or []
                ]
                if live
                else []
            )
            ports = ", ".join(
                f"{p.get('name')} {p.get('port')}" if p.get("name") else str(p.get("port"))
                for p in spec.get("ports") or []
            )
            where = ", ".join(addresses) if addresses else "address pending"
            lines.append(f"Ingress gateway {d.ref.name}.{d.ref.namespace}: {where} (ports: {ports})")
        return lines

    # --- names ---------------------------------------------------------------------------------------------------

    def _component_names(self) -> list[str]:
        labels = {d.component for d in self.desired}
        return sorted({self._component_name(lbl) for lbl in labels}, key=self._component_order)

    @staticmethod
    def _component_name(label: str) -> str:
        return component_table.PROGRESS_NAMES.get(label, label or "Other")

    @staticmethod
    def _component_order(name: str) -> int:
        order = [
            component_table.PROGRESS_NAMES[lbl]
            for lbl in objects.COMPONENT_ORDER
            if lbl in component_table.PROGRESS_NAMES
        ]
        return order.index(name) if name in order else len(order)


def _digest(data: Any) -> str:
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def _name(ref: objects.ObjectRef) -> str:
    return f"{ref.kind}/{ref.namespace}/{ref.name}" if ref.namespace else f"{ref.kind}/{ref.name}"


def object_name(ref: objects.ObjectRef) -> str:
    """``Kind/namespace/name`` (``Kind/name`` for cluster-scoped objects), as install's lines name objects."""
    return _name(ref)
