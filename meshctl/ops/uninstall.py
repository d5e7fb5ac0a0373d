"""Uninstall: remove one installation, or with ``purge`` every meshctl installation (``cluster.md`` §3 and §5).

What is removed is read from the inventories, never guessed from labels:

- a revision (``revision``; ``""`` is the default one): the members of ``meshctl-<revision>``, and the members of
  ``meshctl-base`` too when no other revision uses it (its recorded users and every other revision's inventory);
  otherwise ``base`` stays and forgets the revision;
- ``purge``: the members of every installation in the Istio namespace, the revisions first, then ``base``.

Only members are deleted, and only while they still carry their installation's membership label (an object that a
user or another installation took over is reported and left alone; so is a labelled object that no inventory
lists). A CRD is deleted only when no custom resources of it remain besides the installation's own; otherwise it
stays and is reported with the counts of the objects that keep it, unless ``delete_user_config`` is given (then it
is deleted with them, after ``confirm_user_config``). Namespaces are never deleted.

Steps: take the lock (none for a dry run), read the inventories and the live members (one LIST per kind and
namespace, by membership label), plan, ``confirm(plan)``, then delete in reverse phase order (webhooks first, CRDs
last) with foreground propagation, each phase in parallel and waited for by watch until its objects are gone, then
the inventories; release the lock (deleting the Lease). Already-gone objects are fine, so a rerun after an
interruption completes the removal. Like install, this never prints, prompts or exits: it reports and returns.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from meshctl import errors, objects
from meshctl.kube import apply as kapply
from meshctl.kube import client as kclient
from meshctl.kube import errors as kerrors
from meshctl.kube import inventory, lock, readiness, wait
from meshctl.ops import install as ops_install

CRD_KIND = "CustomResourceDefinition"
GATEWAY_COMPONENTS = frozenset({"IngressGateways", "EgressGateways"})
REVISION_LABEL = "istio.io/rev"
PROXY_CONTAINER = "istio-proxy"
_ObjectRef = objects.ObjectRef  # UninstallResult has a field named `objects`
PURGE_PROMPT = "All Istio resources will be removed from the cluster. Proceed?"
#: Proxies listed one by one in the warning; more are counted.
PROXIES_LISTED = 30


@dataclasses.dataclass(frozen=True)
class UninstallOptions:
    revision: str = ""  # "" (or "default"): the default revision
    purge: bool = False
    delete_user_config: bool = False
    dry_run: bool = False
    timeout: float = 300.0  # seconds to wait for removed objects to be gone
    lock_timeout: float = 120.0
    lock_duration: int | None = None


@dataclasses.dataclass(frozen=True)
class HeldCrd:
    """A CRD that custom resources other than the installation's own (user objects) still use, with their counts."""

    ref: objects.ObjectRef
    counts: tuple[tuple[str, int], ...]  # (kind, number of objects)

    def describe(self) -> str:
        """``3 VirtualServices`` (``1 VirtualService``), several kinds joined by commas."""
        return ", ".join(f"{n} {kind}{'' if n == 1 else 's'}" for kind, n in self.counts)


@dataclasses.dataclass
class Removal:
    """A member to delete."""

    ref: objects.ObjectRef
    installation: str
    res: kclient.Resource
    component: str = ""
    live: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)


@dataclasses.dataclass
class UninstallPlan:
    namespace: str
    revision: str | None  # None: purge
    found: dict[str, inventory.Inventory]  # every inventory in the namespace
    targets: list[str]  # the inventories removed: revisions first, base last
    base_users: list[str]  # revisions that keep base (then base stays)
    removals: list[Removal]  # members to delete
    held: list[HeldCrd]  # CRDs that user objects keep (kept, or deleted with them under delete_user_config)
    gone: list[objects.ObjectRef]  # members already gone
    left_alone: list[tuple[objects.ObjectRef, str]]  # members taken over by someone else, with why
    strays: list[objects.ObjectRef]  # labelled as a member, listed by no inventory
    gateways: list[objects.ObjectRef]  # gateway Deployments among the removals
    proxies: dict[str, list[str]]  # revision -> "namespace/pod" of the proxies still using it
    forget_revision: bool = False  # base stays and forgets the revision

    @property
    def nothing(self) -> bool:
        """No installation to act on."""
        return not self.targets and not self.forget_revision

    @property
    def kept(self) -> list[HeldCrd]:
        """The held CRDs that stay (all of them, unless user config is deleted too)."""
        removing = {r.ref for r in self.removals}
        return [h for h in self.held if h.ref not in removing]


@dataclasses.dataclass(frozen=True)
class UninstallResult:
    ok: bool
    revision: str | None  # None: purge
    inventories: tuple[str, ...]
    objects: tuple[ops_install.ObjectResult, ...]
    dry_run: bool = False
    kept: tuple[HeldCrd, ...] = ()
    strays: tuple[_ObjectRef, ...] = ()
    base_users: tuple[str, ...] = ()
    nothing: bool = False

    def as_json(self) -> dict[str, Any]:
        """The result shape of ``product.md`` §3 (``revision`` is null for ``--purge``)."""
        return ops_install.result_json(self.ok, self.revision, self.inventories, self.objects)


Confirm = Callable[[UninstallPlan], bool]
ConfirmUserConfig = Callable[[Sequence[HeldCrd]], bool]


def revision_of(installation: str) -> str:
    """``canary`` for ``meshctl-canary``."""
    return installation.removeprefix("meshctl-")


def prompt_text(plan: UninstallPlan) -> str:
    """The confirmation question (``cluster.md`` §5)."""
    if plan.revision is None:
        return PURGE_PROMPT
    what = f'the Istio installation "{plan.revision or "default"}"'
    if objects.BASE_INSTALLATION in plan.targets:
        what += " and the shared base"
    count = len(plan.removals)
    return f"This will remove {what} ({count} {'object' if count == 1 else 'objects'}) from the cluster. Proceed?"


def uninstall(
    client: kclient.KubeClient,
    namespace: str,
    options: UninstallOptions = UninstallOptions(),
    *,
    reporter: ops_install.Reporter | None = None,
    confirm: Confirm | None = None,
    confirm_user_config: ConfirmUserConfig | None = None,
) -> UninstallResult:
    """Remove what ``options`` selects from the installations recorded in ``namespace`` (see the module docstring).

    ``confirm(plan)`` is asked before anything is deleted, ``confirm_user_config(held)`` after it when CRDs with
    user objects would be deleted too; either declining raises :class:`errors.Aborted` with nothing removed.
    """
    return _Uninstall(
        client, namespace, options, reporter or ops_install.NullReporter(), confirm, confirm_user_config
    ).run()


class _Uninstall:
    def __init__(
        self,
        client: kclient.KubeClient,
        namespace: str,
        options: UninstallOptions,
        reporter: ops_install.Reporter,
        confirm: Confirm | None,
        confirm_user_config: ConfirmUserConfig | None,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.options = options
        self.reporter = reporter
        self.confirm = confirm
        self.confirm_user_config = confirm_user_config
        self.revision = "" if options.revision in ("", "default") else options.revision
        self._resources: dict[tuple[str, str], kclient.Resource | None] = {}

    # --- steps ---------------------------------------------------------------------------------------------------

    def run(self) -> UninstallResult:
        if self.options.dry_run:
            plan = self.make_plan()
            if plan.nothing:
                return self._nothing(plan)
            self._warn(plan)
            self._warn_held(plan.kept)
            return self._result(plan, self._planned(plan), dry_run=True)
        try:
            held = lock.acquire(
                self.client,
                self.namespace,
                timeout=self.options.lock_timeout,
                duration=self.options.lock_duration,
                on_wait=self.reporter.lock_waiting,
            )
        except kerrors.NotFound:  # the Istio namespace does not exist: nothing was installed there
            return self._nothing(None)
        with held:
            if held.took_over_from:
                self.reporter.note(f"Took over the lock of {held.took_over_from}, which had expired")
            plan = self.make_plan()
            if plan.nothing:
                return self._nothing(plan)
            self._warn(plan)
            if self.confirm is not None and not self.confirm(plan):
                raise errors.Aborted("uninstall cancelled: nothing was removed")
            doomed = [h for h in plan.held if h not in plan.kept]
            if doomed and self.confirm_user_config is not None and not self.confirm_user_config(doomed):
                raise errors.Aborted("uninstall cancelled: nothing was removed")
            results = self._execute(plan)
            if held.lost:
                raise kerrors.KubeError(f"the installation lock was lost: {held.lost}", hint="rerun uninstall")
        self._warn_held(plan.kept)
        return self._result(plan, results)

    def _nothing(self, plan: UninstallPlan | None) -> UninstallResult:
        found = sorted(plan.found) if plan is not None else []
        what = "no meshctl installation" if self.options.purge else f"no installation {self._installation()}"
        context = f" (installations there: {', '.join(found)})" if found else ""
        self.reporter.warn(f"{what} in namespace {self.namespace}{context}; nothing to remove")
        return UninstallResult(
            ok=True,
            revision=self._revision_json(),
            inventories=(),
            objects=(),
            dry_run=self.options.dry_run,
            nothing=True,
        )

    def _installation(self) -> str:
        return objects.installation_name(self.revision)

    def _revision_json(self) -> str | None:
        return None if self.options.purge else (self.revision or "default")

    # --- plan ----------------------------------------------------------------------------------------------------

    def make_plan(self) -> UninstallPlan:
        found = inventory.read_all(self.client, self.namespace)
        revisions = sorted(n for n in found if n != objects.BASE_INSTALLATION)
        base = found.get(objects.BASE_INSTALLATION)
        users: list[str] = []
        forget = False
        if self.options.purge:
            targets = list(revisions)
            base_target = base is not None
        else:
            name = self._installation()
            revision = revision_of(name)
            targets = [name] if name in found else []
            others = {revision_of(n) for n in revisions if n != name}
            recorded = set(base.revisions) if base is not None else set()
            users = sorted((recorded - {revision}) | others)
            base_target = base is not None and not users and (bool(targets) or revision in recorded)
            forget = base is not None and not base_target and revision in recorded
        if base_target:
            targets.append(objects.BASE_INSTALLATION)
        plan = UninstallPlan(
            namespace=self.namespace,
            revision=None if self.options.purge else self.revision,
            found=found,
            targets=targets,
            base_users=users if base is not None and not base_target else [],
            removals=[],
            held=[],
            gone=[],
            left_alone=[],
            strays=[],
            gateways=[],
            proxies={},
            forget_revision=forget,
        )
        if targets:
            self._classify(plan)
        return plan

    def _resource(self, ref: objects.ObjectRef) -> kclient.Resource | None:
        key = (ref.api_version, ref.kind)
        if key not in self._resources:
            self._resources[key] = self.client.resource_for(ref.api_version, ref.kind)
        return self._resources[key]

    def _selector(self, plan: UninstallPlan) -> str:
        ids = sorted(plan.found[name].applyset_id for name in plan.targets)
        return f"{objects.PART_OF_LABEL} in ({','.join(ids)})"

    def _classify(self, plan: UninstallPlan) -> None:
        ids = {plan.found[name].applyset_id: name for name in plan.targets}
        owners = {inv.applyset_id: name for name, inv in plan.found.items()}
        members: dict[objects.ObjectRef, str] = {}
        for name in plan.targets:
            for ref in plan.found[name].members:
                members.setdefault(ref, name)
        # One LIST per kind and namespace, by membership label: the live members, and the strays.
        scopes: dict[kclient.Resource, set[str]] = {}
        for ref in members:
            res = self._resource(ref)
            if res is not None:
                scopes.setdefault(res, set()).add(ref.namespace if res.namespaced else "")
        selector = self._selector(plan)
        live: dict[tuple[str, str, str], dict[str, Any]] = {}
        for res, where in sorted(scopes.items(), key=lambda item: (item[0].group, item[0].kind)):
            for scope in sorted(where):
                for obj in self.client.list(res, scope or None, label_selector=selector).items:
                    ref = objects.ObjectRef.from_object(obj)
                    live[(res.qualified, ref.namespace, ref.name)] = obj
        for ref, name in sorted(members.items()):
            res = self._resource(ref)
            if res is None:  # its CRD is gone, and with it the object
                plan.gone.append(ref)
                continue
            found = live.get((res.qualified, ref.namespace, ref.name))
            if found is None:
                # Not among the labelled objects: gone, or no longer this installation's (one read tells).
                other = self.client.get(res, ref.name, ref.namespace)
                if other is None:
                    plan.gone.append(ref)
                else:
                    owner = _part_of(other)
                    now = f"installation {owners.get(owner, owner)}'s label" if owner else "no membership label"
                    plan.left_alone.append((ref, f"a member of {name}, but it now carries {now}; left alone"))
                continue
            owner = ids.get(_part_of(found), name)
            plan.removals.append(Removal(ref, owner, res, _component(found), found))
        known = {_identity(ref) for ref in members}  # a kind may be listed at another version than recorded
        plan.strays = sorted(
            ref for ref in (objects.ObjectRef.from_object(obj) for obj in live.values()) if _identity(ref) not in known
        )
        plan.removals.sort(key=_deletion_order)
        self._find_held(plan, members)
        plan.gateways = [
            r.ref for r in plan.removals if r.ref.kind == "Deployment" and r.component in GATEWAY_COMPONENTS
        ]
        plan.proxies = self._proxies(plan)

    def _find_held(self, plan: UninstallPlan, members: Mapping[objects.ObjectRef, str]) -> None:
        own = {_identity(ref) for ref in members}
        for removal in [r for r in plan.removals if r.ref.kind == CRD_KIND]:
            counts = self._user_objects(removal.live, own)
            if counts:
                plan.held.append(HeldCrd(removal.ref, counts))
        if not self.options.delete_user_config:
            kept = {h.ref for h in plan.held}
            plan.removals = [r for r in plan.removals if r.ref not in kept]

    def _user_objects(self, crd: Mapping[str, Any], own: set[tuple[str, str, str, str]]) -> tuple[tuple[str, int], ...]:
        """The custom resources of ``crd`` that are not members being removed, counted by kind."""
        spec = crd.get("spec") or {}
        names = spec.get("names") or {}
        group, kind, plural = str(spec.get("group") or ""), str(names.get("kind") or ""), str(names.get("plural") or "")
        versions = [v for v in spec.get("versions") or [] if isinstance(v, dict) and v.get("served", True)]
        version = next((str(v.get("name")) for v in versions if v.get("storage")), "")
        version = version or (str(versions[0].get("name")) if versions else "")
        if not group or not kind or not plural or not version:
            return ()
        # The CRD says where its objects are served: no discovery round trip (install never resolved these kinds).
        res = kclient.Resource(group, version, kind, plural, spec.get("scope") == "Namespaced")
        try:
            items = self.client.list(res).items
        except kerrors.NotFound:  # not served (not established): it can hold no objects we could see
            return ()
        count = sum(1 for item in items if _identity(objects.ObjectRef.from_object(item)) not in own)
        return ((kind, count),) if count else ()

    def _proxies(self, plan: UninstallPlan) -> dict[str, list[str]]:
        """Pods with a proxy that still point at a revision being removed (its own workloads' pods excepted)."""
        revisions = [revision_of(n) for n in plan.targets if n != objects.BASE_INSTALLATION]
        pods_res = self.client.resource_for("v1", "Pod")
        if not revisions or pods_res is None:
            return {}
        selector = f"{REVISION_LABEL} in ({','.join(sorted(revisions))})"
        workloads = [r.live for r in plan.removals if r.ref.kind in ("Deployment", "DaemonSet", "StatefulSet")]
        found: dict[str, list[str]] = {}
        for pod in self.client.list(pods_res, None, label_selector=selector).items:
            meta = pod.get("metadata") or {}
            if not _has_proxy(pod) or any(readiness.pods_of(w, [pod]) for w in workloads):
                continue
            revision = str((meta.get("labels") or {}).get(REVISION_LABEL) or "")
            found.setdefault(revision, []).append(f"{meta.get('namespace')}/{meta.get('name')}")
        return {rev: sorted(pods) for rev, pods in sorted(found.items())}

    # --- what the user is told before anything happens ------------------------------------------------------------

    def _warn(self, plan: UninstallPlan) -> None:
        for stray in plan.strays:
            self.reporter.warn(f"{_name(stray)} carries meshctl's membership label but is in no inventory; left alone")
        for ref, why in plan.left_alone:
            self.reporter.warn(f"{_name(ref)} is {why}")
        if plan.gateways:
            names = ", ".join(_name(ref) for ref in plan.gateways)
            self.reporter.warn(
                f"you are about to remove the gateways {names}; to avoid downtime, reinstall them with a revision "
                "that is not being removed first"
            )
        for revision, pods in plan.proxies.items():
            shown = ", ".join(pods[:PROXIES_LISTED]) + (
                f" and {len(pods) - PROXIES_LISTED} more" if len(pods) > PROXIES_LISTED else ""
            )
            self.reporter.warn(
                f"there are still {len(pods)} {'proxy' if len(pods) == 1 else 'proxies'} pointing to the control "
                f"plane revision {revision}: {shown}; if you proceed, they will be detached from any control plane "
                "and will not function correctly"
            )
        if plan.base_users:
            self.reporter.note(f"meshctl-base stays: revisions {', '.join(plan.base_users)} use it")

    def _warn_held(self, kept: Sequence[HeldCrd]) -> None:
        for held in kept:
            self.reporter.warn(
                f"{_name(held.ref)} stays: {held.describe()} (user objects) still use it; "
                "'uninstall --purge --delete-user-config' deletes it with them"
            )

    # --- delete --------------------------------------------------------------------------------------------------

    def _execute(self, plan: UninstallPlan) -> list[ops_install.ObjectResult]:
        results: list[ops_install.ObjectResult] = []
        revision_targets = [n for n in plan.targets if n != objects.BASE_INSTALLATION]
        selector = self._selector(plan)
        first = [r for r in plan.removals if r.installation != objects.BASE_INSTALLATION]
        results.extend(self._delete(plan, first, selector))
        if plan.forget_revision:
            revision = revision_of(self._installation())

            def forget(inv: inventory.Inventory) -> None:
                inv.revisions = [r for r in inv.revisions if r != revision]

            inventory.update(self.client, self.namespace, objects.BASE_INSTALLATION, forget)
        for name in revision_targets:
            self._delete_inventory(name)
        if objects.BASE_INSTALLATION in plan.targets:
            base = [r for r in plan.removals if r.installation == objects.BASE_INSTALLATION]
            results.extend(self._delete(plan, base, selector))
            self._delete_inventory(objects.BASE_INSTALLATION)
        results.extend(ops_install.ObjectResult(ref, "deleted", "already gone") for ref in plan.gone)
        results.extend(self._untouched(plan))
        return results

    def _delete(
        self, plan: UninstallPlan, removals: Sequence[Removal], selector: str
    ) -> list[ops_install.ObjectResult]:
        results: list[ops_install.ObjectResult] = []
        for phase in sorted({objects.phase_of(r.ref.kind) for r in removals}, reverse=True):
            items = [r for r in removals if objects.phase_of(r.ref.kind) == phase]
            if phase == objects.Phase.CRDS and not self.options.delete_user_config:
                items = self._recheck_crds(plan, items)
            if not items:
                continue
            self.reporter.progress(f"Removing {_describe(items)}.")
            outcomes = kapply.run_parallel(self._delete_one, items, self.client.concurrency)
            failures = [o for o in outcomes if o.error is not None]
            if failures:
                first = failures[0].error
                assert first is not None
                first.context = (*first.context, *(f"also: {f.error}" for f in failures[1:]))
                raise first
            targets = [wait.Target(r.ref, r.res) for r in items]
            wait.wait_deleted(
                self.client,
                targets,
                timeout=self.options.timeout,
                label_selector=selector,
                on_gone=lambda ref: self.reporter.note(f"  Removed {_name(ref)}"),
            )
            for removal in items:
                held = next((h for h in plan.held if h.ref == removal.ref), None)
                note = f"deleted with {held.describe()}" if held is not None else ""
                results.append(ops_install.ObjectResult(removal.ref, "deleted", note))
                if removal.ref.kind == CRD_KIND:
                    self._forget_crd(removal.live)
        return results

    def _delete_one(self, removal: Removal) -> bool:
        return self.client.delete(removal.res, removal.ref.name, removal.ref.namespace, propagation="Foreground")

    def _recheck_crds(self, plan: UninstallPlan, items: Sequence[Removal]) -> list[Removal]:
        """Count the user objects again right before the CRDs go: one created since the plan keeps its CRD."""
        own = {_identity(ref) for name in plan.targets for ref in plan.found[name].members}
        keep: list[Removal] = []
        for removal in items:
            counts = self._user_objects(removal.live, own)
            if counts:
                plan.held.append(HeldCrd(removal.ref, counts))
                plan.removals.remove(removal)
            else:
                keep.append(removal)
        return keep

    def _forget_crd(self, crd: Mapping[str, Any]) -> None:
        spec = crd.get("spec") or {}
        for version in spec.get("versions") or []:
            if isinstance(version, dict):
                self.client.invalidate(f"{spec.get('group')}/{version.get('name')}")

    def _delete_inventory(self, name: str) -> None:
        secrets = self.client.resource_for("v1", "Secret")
        if secrets is not None:
            self.client.delete(secrets, name, self.namespace)

    # --- results -------------------------------------------------------------------------------------------------

    def _untouched(self, plan: UninstallPlan) -> list[ops_install.ObjectResult]:
        found: list[ops_install.ObjectResult] = [
            ops_install.ObjectResult(h.ref, "unchanged", f"kept: {h.describe()} (user objects) still use it")
            for h in plan.kept
        ]
        found.extend(ops_install.ObjectResult(ref, "unchanged", why) for ref, why in plan.left_alone)
        found.extend(
            ops_install.ObjectResult(ref, "unchanged", "carries meshctl's label but is in no inventory; left alone")
            for ref in plan.strays
        )
        return found

    def _planned(self, plan: UninstallPlan) -> list[ops_install.ObjectResult]:
        results: list[ops_install.ObjectResult] = []
        for removal in plan.removals:
            held = next((h for h in plan.held if h.ref == removal.ref), None)
            results.append(
                ops_install.ObjectResult(removal.ref, "delete", f"with {held.describe()}" if held is not None else "")
            )
        results.extend(ops_install.ObjectResult(ref, "unchanged", "already gone") for ref in plan.gone)
        results.extend(self._untouched(plan))
        return results

    def _result(
        self, plan: UninstallPlan, results: Sequence[ops_install.ObjectResult], *, dry_run: bool = False
    ) -> UninstallResult:
        return UninstallResult(
            ok=True,
            revision=self._revision_json(),
            inventories=tuple(plan.targets),
            objects=tuple(results),
            dry_run=dry_run,
            kept=tuple(plan.kept),
            strays=tuple(plan.strays),
            base_users=tuple(plan.base_users),
        )


def _part_of(obj: Mapping[str, Any]) -> str:
    return str(((obj.get("metadata") or {}).get("labels") or {}).get(objects.PART_OF_LABEL) or "")


def _component(obj: Mapping[str, Any]) -> str:
    return str(((obj.get("metadata") or {}).get("labels") or {}).get(objects.COMPONENT_LABEL) or "")


def _identity(ref: objects.ObjectRef) -> tuple[str, str, str, str]:
    """An object's identity across API versions (a custom resource is listed at its storage version)."""
    return ref.group, ref.kind, ref.namespace, ref.name


def _deletion_order(removal: Removal) -> tuple[int, str, str, str]:
    return (-objects.kind_rank(removal.ref.kind), removal.ref.kind, removal.ref.namespace, removal.ref.name)


def _has_proxy(pod: Mapping[str, Any]) -> bool:
    spec = pod.get("spec") or {}
    containers = [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]
    return any(isinstance(c, dict) and c.get("name") == PROXY_CONTAINER for c in containers)


def _name(ref: objects.ObjectRef) -> str:
    return ops_install.object_name(ref)


def _describe(items: Sequence[Removal]) -> str:
    kinds: dict[str, int] = {}
    for item in items:
        kinds[item.ref.kind] = kinds.get(item.ref.kind, 0) + 1
    return ", ".join(f"{n} {kind}{'' if n == 1 else 's'}" for kind, n in sorted(kinds.items()))
