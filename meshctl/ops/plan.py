"""The install plan: what install would do to each object, asked of the cluster (``cluster.md`` §2 step 4).

Each rendered object is a ``create``, ``update``, ``unchanged``, ``adopt`` or ``conflict``; each member of a previous
inventory that is no longer rendered is a ``prune``. Live objects are read with one LIST per kind (per namespace for
namespaced kinds), never one read per object. Updates are decided by a server-side dry run of the apply compared
with the live object, so defaulted fields never show as changes.

What the plan knows without asking: an object in a namespace that does not exist yet (or that this run just
created) cannot exist, and neither can a CRD whose API group the server does not serve. Objects whose namespace or
CRD does not exist yet cannot be dry-run by the server either: they are planned as creates marked as not checked,
with the reason. ``exhaustive`` (``--dry-run``) also dry-runs plain creates, so that the server validates everything
it can.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from meshctl import objects
from meshctl.kube import apply as kapply
from meshctl.kube import client as kclient
from meshctl.kube import errors as kerrors
from meshctl.kube import inventory


class Action(enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    ADOPT = "adopt"
    CONFLICT = "conflict"
    PRUNE = "prune"


#: The result word of each planned action once carried out (``-o json`` of install).
DONE = {
    Action.CREATE: "created",
    Action.UPDATE: "updated",
    Action.UNCHANGED: "unchanged",
    Action.ADOPT: "adopted",
    Action.CONFLICT: "conflict",
    Action.PRUNE: "pruned",
}

CRD_KIND = "CustomResourceDefinition"


@dataclasses.dataclass
class Planned:
    """One object and what install will do with it."""

    ref: objects.ObjectRef
    action: Action
    installation: str  # name of the parent Secret the object belongs to
    manifest: dict[str, Any] | None = None  # None for prunes
    res: kclient.Resource | None = None  # None while its CRD is not served
    component: str = ""
    checked: bool = True  # False: the server could not dry-run it (the note says why)
    note: str = ""
    changes: list[kapply.FieldChange] = dataclasses.field(default_factory=list)
    owners: list[kerrors.FieldOwner] = dataclasses.field(default_factory=list)  # conflicts: who owns what

    @property
    def sends(self) -> bool:
        """Whether carrying the plan out writes this object."""
        return self.action in (Action.CREATE, Action.UPDATE, Action.ADOPT)


@dataclasses.dataclass
class Plan:
    items: list[Planned]
    previous: dict[str, inventory.Inventory]  # inventories found, by parent name
    installations: dict[str, list[objects.ObjectRef]]  # installation -> rendered members
    strays: list[objects.ObjectRef] = dataclasses.field(default_factory=list)
    # Members of a previous inventory that are no longer rendered but now carry another label (taken over by another
    # installation or by a user): not pruned, with why.
    released: list[tuple[objects.ObjectRef, str]] = dataclasses.field(default_factory=list)
    missing_namespaces: list[str] = dataclasses.field(default_factory=list)  # --dry-run: would be created

    def by_action(self, *actions: Action) -> list[Planned]:
        return [p for p in self.items if p.action in actions]

    @property
    def conflicts(self) -> list[Planned]:
        return self.by_action(Action.CONFLICT)

    @property
    def changes_anything(self) -> bool:
        return any(p.action not in (Action.UNCHANGED, Action.CONFLICT) for p in self.items)


@dataclasses.dataclass(frozen=True)
class Desired:
    """A rendered object with the installation it belongs to."""

    manifest: dict[str, Any]
    installation: str
    component: str

    @property
    def ref(self) -> objects.ObjectRef:
        return objects.ObjectRef.from_object(self.manifest)


def make_plan(
    client: kclient.KubeClient,
    desired: Sequence[Desired],
    *,
    namespace: str,
    installations: Sequence[str],
    existing_namespaces: Iterable[str],
    new_namespaces: Iterable[str] = (),
    force_conflicts: bool = False,
    exhaustive: bool = False,
) -> Plan:
    """Classify every rendered object and every member to prune.

    ``namespace`` holds the inventories; ``installations`` are the parent names this run installs (prunes are
    limited to their previous members). ``existing_namespaces`` are the namespaces the cluster has;
    ``new_namespaces`` those this run created (nothing can be in them yet).
    """
    existing = set(existing_namespaces)
    new = set(new_namespaces)
    ids = {objects.applyset_id(name, namespace): name for name in installations}
    previous = inventory.read_all(client, namespace) if namespace in existing else {}
    old_members: dict[objects.ObjectRef, str] = {}
    for name in installations:
        if name in previous:
            for ref in previous[name].members:
                old_members[ref] = name
    inventoried = {ref for inv in previous.values() for ref in inv.members}
    owners = {inv.applyset_id: inv_name for inv_name, inv in previous.items()}
    rendered_refs = {d.ref for d in desired}
    crd_groups = {str((d.manifest.get("spec") or {}).get("group") or "") for d in desired if d.ref.kind == CRD_KIND}

    resources: dict[tuple[str, str], kclient.Resource | None] = {}

    def resource(ref: objects.ObjectRef) -> kclient.Resource | None:
        key = (ref.api_version, ref.kind)
        if key not in resources:
            resources[key] = client.resource_for(ref.api_version, ref.kind)
        return resources[key]

    # --- one LIST per kind (and namespace) ------------------------------------------------------------------------
    live: dict[tuple[str, str, str], dict[str, Any]] = {}
    listed_scopes: set[tuple[str, str]] = set()  # (qualified resource, namespace or "*")
    scopes: dict[kclient.Resource, set[str]] = {}
    for ref in [*rendered_refs, *old_members]:
        res = resource(ref)
        if res is None:
            continue
        scopes.setdefault(res, set()).add(ref.namespace if res.namespaced else "*")
    selector = f"{objects.PART_OF_LABEL} in ({','.join(sorted(ids))})"
    to_list = [
        (res, scope)
        for res, where in sorted(scopes.items(), key=lambda item: (item[0].group, item[0].kind))
        for scope in sorted(where)
        if scope == "*" or (scope in existing and scope not in new)  # else nothing can be there
    ]

    def list_scope(task: tuple[kclient.Resource, str]) -> list[dict[str, Any]]:
        res, scope = task
        if res.kind == CRD_KIND:
            # Listing every CRD of a cluster is heavy (their schemas): list the members; the rest are
            # looked at one by one below, and only when their API group is served at all.
            return list(client.list(res, label_selector=selector).items)
        return list(client.list(res, None if scope == "*" else scope).items)

    # The LISTs are independent reads: run them in parallel, like the phases' writes (B4: they used to be a
    # third of a default install's wall time at 20 ms per round trip).
    for listed in kapply.run_parallel(list_scope, to_list, client.concurrency):
        if listed.error is not None:
            raise listed.error
        res, scope = listed.item
        listed_scopes.add((res.qualified, scope))
        for obj in listed.value or []:
            ref = objects.ObjectRef.from_object(obj)
            live[(res.qualified, ref.namespace, ref.name)] = obj

    served_groups: dict[str, list[str]] | None = None

    def group_served(group: str) -> bool:
        nonlocal served_groups
        if served_groups is None:
            served_groups = client.served_groups()
        return group in served_groups

    # --- classify rendered objects --------------------------------------------------------------------------------
    planned: list[Planned] = []
    to_dry_run: list[Planned] = []
    for d in desired:
        ref = d.ref
        res = resource(ref)
        item = Planned(ref, Action.CREATE, d.installation, d.manifest, res, d.component)
        planned.append(item)
        if res is None:
            item.checked = False
            if ref.group in crd_groups:
                item.note = f"its CRD ({ref.kind}.{ref.group}) is not established yet"
            else:
                item.note = f"the cluster does not serve {ref.api_version} {ref.kind} (is its CRD installed?)"
            continue
        if res.namespaced and ref.namespace not in existing:
            item.checked = False
            item.note = f"namespace {ref.namespace} does not exist yet"
            continue
        if res.namespaced and ref.namespace in new:
            item.note = f"namespace {ref.namespace} is new"
            if exhaustive:
                to_dry_run.append(item)
            continue
        found = live.get((res.qualified, ref.namespace, ref.name))
        scope = ref.namespace if res.namespaced else "*"
        known_absent = found is None and (res.qualified, scope) in listed_scopes and res.kind != CRD_KIND
        if res.kind == CRD_KIND and found is None:
            group = str((d.manifest.get("spec") or {}).get("group") or "")
            known_absent = not group_served(group)
        if found is not None:
            owner_id = str(((found.get("metadata") or {}).get("labels") or {}).get(objects.PART_OF_LABEL) or "")
            if owner_id not in ids:
                _non_member(item, found, owners.get(owner_id, owner_id), force_conflicts)
                if item.action is Action.CONFLICT:
                    continue
        elif known_absent and not exhaustive:
            continue
        to_dry_run.append(item)

    outcomes = kapply.run_parallel(lambda p: _dry_run(client, p, live, force_conflicts), to_dry_run, client.concurrency)
    for outcome in outcomes:
        if outcome.error is not None:
            raise outcome.error

    # --- prunes and strays ----------------------------------------------------------------------------------------
    released: list[tuple[objects.ObjectRef, str]] = []
    for ref, name in sorted(old_members.items()):
        if ref in rendered_refs:
            continue
        res = resource(ref)
        if res is None:
            continue  # its CRD is gone, and with it the object
        found = live.get((res.qualified, ref.namespace, ref.name))
        if found is None:
            continue
        owner_id = _part_of(found)
        if owner_id != objects.applyset_id(name, namespace):
            # Only what still carries this installation's label is ours to delete.
            holder = (
                f"the label of installation {owners.get(owner_id, owner_id)}" if owner_id else "no membership label"
            )
            released.append((ref, f"a member of {name}, but it now carries {holder}; not pruned"))
            continue
        planned.append(Planned(ref, Action.PRUNE, name, None, res, _component_of_live(live, res, ref)))
    strays = sorted(
        objects.ObjectRef.from_object(obj)
        for obj in live.values()
        if str(((obj.get("metadata") or {}).get("labels") or {}).get(objects.PART_OF_LABEL) or "") in ids
        and objects.ObjectRef.from_object(obj) not in rendered_refs
        and objects.ObjectRef.from_object(obj) not in inventoried
    )
    members: dict[str, list[objects.ObjectRef]] = {name: [] for name in installations}
    for d in desired:
        members.setdefault(d.installation, []).append(d.ref)
    return Plan(planned, previous, members, strays, released)


def _part_of(obj: Mapping[str, Any]) -> str:
    return str(((obj.get("metadata") or {}).get("labels") or {}).get(objects.PART_OF_LABEL) or "")


def _component_of_live(
    live: Mapping[tuple[str, str, str], dict[str, Any]], res: kclient.Resource, ref: objects.ObjectRef
) -> str:
    obj = live.get((res.qualified, ref.namespace, ref.name)) or {}
    return str(((obj.get("metadata") or {}).get("labels") or {}).get(objects.COMPONENT_LABEL) or "")


def _non_member(item: Planned, found: Mapping[str, Any], owner: str, force: bool) -> None:
    """An existing object that is not this installation's: a conflict, or (forced) adopted.

    ``owner`` is the installation whose membership label it carries ("" when none): another meshctl installation
    (e.g. a second revision's gateway of the same name) is named as such.
    """
    managers = kapply.managers(found)
    if owner:
        what = f"belongs to another meshctl installation ({owner})"
    else:
        who = "managers: " + ", ".join(managers) if managers else ""
        what = f"exists and was not installed by meshctl ({who})" if who else "exists, not installed by meshctl"
    if force:
        item.action = Action.ADOPT
        item.note = f"{what}; taken over"
    else:
        item.action = Action.CONFLICT
        item.note = what
        item.owners = [kerrors.FieldOwner("(object)", m) for m in managers]


def _dry_run(
    client: kclient.KubeClient, item: Planned, live: Mapping[tuple[str, str, str], dict[str, Any]], force: bool
) -> None:
    assert item.res is not None
    assert item.manifest is not None
    before = live.get((item.res.qualified, item.ref.namespace, item.ref.name))
    try:
        result = client.apply(item.res, item.manifest, force=force or item.action is Action.ADOPT, dry_run=True)
    except kerrors.FieldConflict as exc:
        item.action = Action.CONFLICT
        item.owners = exc.owners
        item.note = "fields owned by other managers: " + ", ".join(f"{o.field} ({o.manager})" for o in exc.owners)
        return
    except kerrors.NotFound as exc:
        # Its namespace or CRD went away since we looked: plan it as a create the server could not check.
        item.action, item.checked, item.note = Action.CREATE, False, f"the server could not check it: {exc.message}"
        return
    existed = bool((result.get("metadata") or {}).get("resourceVersion")) and before is None
    if existed and item.action is Action.CREATE:
        # It exists but was not among the listed members (a CRD installed by something else).
        others = [m for m in (result.get("metadata") or {}).get("managedFields") or [] if m.get("manager") != "meshctl"]
        _non_member(item, {"metadata": {"managedFields": others}}, "", force)
        if not force:
            return  # a conflict
        before = result
    if before is None:
        return
    item.changes = kapply.changes(before, result)
    if item.action is Action.CREATE:
        item.action = Action.UPDATE if item.changes else Action.UNCHANGED
