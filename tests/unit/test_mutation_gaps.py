"""Tests for gaps a mutation run found (``nox -s mutate``): each names the mutant it kills.

Mutant names are mutmut's (``meshctl.<package>.<module>.x_<function>__mutmut_<n>``, seed 1, 100 per package);
``tests/mutation/equivalent.md`` lists the survivors that cannot change behaviour.
"""

from __future__ import annotations

import datetime
import json
import types
from typing import Any

import pytest

from meshctl import errors, objects
from meshctl.config import layering, loading, paths
from meshctl.kube import client as kclient
from meshctl.kube import errors as kerrors
from meshctl.kube import inventory, lock, wait
from meshctl.ops import install as ops_install
from meshctl.ops import plan as ops_plan
from meshctl.ops import uninstall as ops_uninstall
from meshctl.ops import version as ops_version
from meshctl.render import components, k8s, k8scheck
from tests.apiserver.server import ApiServer
from tests.helpers import run_cli
from tests.unit.kube.test_wait import deployment as _deployment
from tests.unit.kube.test_wait import target as _target
from tests.unit.kube_fixtures import kube, own_cache

__all__ = ["kube", "own_cache"]  # fixtures


def test_depth_error_carries_its_hint() -> None:
    # kills meshctl.config.loading.x__depth_error__mutmut_6 (hint dropped)
    with pytest.raises(errors.InputLimitError) as caught:
        loading.load_documents("[" * 101 + "1" + "]" * 101, "f")
    assert caught.value.hint == "an IstioOperator file is shallow"


def test_missing_top_level_key_lists_the_keys_there() -> None:
    # kills meshctl.config.paths.x__missing_key__mutmut_21 (", " join), _29 ("at the top level"),
    # and xǁPathǁprefix__mutmut_4 ("<root>")
    path = paths.parse_path("zzzzzzzz", paths.Mode.CONFIG_PATH)
    with pytest.raises(errors.PathNotFound) as caught:
        paths.get_value({"alpha": 1, "beta": 2, "a.b": 3}, path)
    assert "no key 'zzzzzzzz' at the top level" in str(caught.value)
    assert caught.value.hint == r"keys in <root>: alpha, beta, a\.b"


def _conflict(causes: list[Any], message: str = "conflict") -> kerrors.ApiError:
    body = {"kind": "Status", "code": 409, "reason": "Conflict", "message": message, "details": {"causes": causes}}
    return kerrors.from_status(409, json.dumps(body).encode())


def test_only_field_manager_conflict_causes_make_a_field_conflict() -> None:
    # kills meshctl.kube.errors.x__has_field_conflicts__mutmut_8 (`and` -> `or`)
    assert type(_conflict([{"type": "FieldValueInvalid", "field": ".x"}])) is kerrors.Conflict
    assert type(_conflict([])) is kerrors.Conflict
    assert type(_conflict([{"type": "FieldManagerConflict", "field": ".x", "message": "m"}])) is kerrors.FieldConflict


class _NoSecrets:
    def resource_for(self, api_version: str, kind: str) -> None:
        return None

    def list(self, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError("listed without a resource")


def test_inventory_needs_the_secrets_resource() -> None:
    # kills meshctl.kube.inventory.x__secrets__mutmut_12 (message replaced by None)
    with pytest.raises(kerrors.KubeError, match=r"^the cluster does not serve v1 Secrets$"):
        inventory.read_all(_NoSecrets(), "istio-system")  # type: ignore[arg-type]


# --- kube.wait ---------------------------------------------------------------------------------------------------


def test_wait_deleted_follows_only_objects_that_match_the_selector(
    apiserver: ApiServer, kube: kclient.RestClient
) -> None:
    # kills meshctl.kube.wait.x_wait_deleted__mutmut_33 (the selector not passed to the watch)
    obj = _deployment("relabelled")
    apiserver.objects.create(obj)
    gone: list[objects.ObjectRef] = []
    wait.wait_deleted(kube, [_target(kube, obj)], timeout=2, label_selector="x=other", on_gone=gone.append)
    assert [ref.name for ref in gone] == ["relabelled"]
    with pytest.raises(errors.ReadinessTimeout, match="1 object is still there"):
        wait.wait_deleted(kube, [_target(kube, obj)], timeout=0.2, label_selector="x=y")


class _RecordingQueue:
    def __init__(self, items: list[Any]) -> None:
        self.items = items
        self.timeouts: list[float] = []

    def get(self, timeout: float) -> Any:
        self.timeouts.append(timeout)
        return self.items.pop(0)


def test_watchers_next_waits_up_to_the_timeout_across_sync_markers() -> None:
    # kills meshctl.kube.wait.xǁ_Watchersǁnext__mutmut_2 (deadline = now - timeout)
    watchers = wait._Watchers()
    change = object()
    recording = _RecordingQueue([wait.Synced(None), change])  # type: ignore[arg-type]
    watchers.queue = recording  # type: ignore[assignment]
    assert watchers.next(30.0) is change
    assert len(recording.timeouts) == 2
    assert all(25.0 < t <= 30.0 for t in recording.timeouts), recording.timeouts


# --- kube.client ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("verb", ["patch", "update", "delete"])
def test_forbidden_writes_name_the_verb_and_the_resource(
    apiserver: ApiServer, kube: kclient.RestClient, verb: str
) -> None:
    # kills meshctl.kube.client.xǁRestClientǁapply__mutmut_33 (res not passed: the hint names the object instead),
    # xǁRestClientǁreplace__mutmut_31 (verb "update" misspelt) and xǁRestClientǁ_send__mutmut_131 (res ignored)
    cm_res = kube.resource_for("v1", "ConfigMap")
    assert cm_res is not None
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "namespace": "default"}, "data": {}}
    kube.create(cm_res, obj)
    apiserver.add_user("ci")
    apiserver.faults.forbid("ci", verbs=[verb], resources=["configmaps"])
    client = kclient.connect(kubeconfig=str(apiserver.write_kubeconfig(apiserver.workdir / "ci", user="ci")))
    res = client.resource_for("v1", "ConfigMap")
    assert res is not None
    calls = {
        "patch": lambda: client.apply(res, obj),
        "update": lambda: client.replace(res, {**obj, "data": {"a": "b"}}),
        "delete": lambda: client.delete(res, "x", "default"),
    }
    with pytest.raises(kerrors.Forbidden) as caught:
        calls[verb]()
    assert caught.value.hint is not None
    assert caught.value.hint.startswith(f'user "ci" may not {verb} configmaps'), caught.value.hint


# --- ops -----------------------------------------------------------------------------------------------------------


def test_control_plane_version_falls_back_to_the_pods_version_label(
    apiserver: ApiServer, kube: kclient.RestClient
) -> None:
    # kills meshctl.ops.version.x_remote_versions__mutmut_49 (the pod not passed to pod_version)
    from tests.unit.ops.test_version import pod, seed

    untagged = pod(
        "istio-system",
        image="registry.local/pilot",
        container="discovery",
        labels={"app": "istiod", ops_version.VERSION_LABELS[0]: "1.29.9"},
    )
    seed(apiserver, untagged)
    found = ops_version.remote_versions(kube)
    assert [(c.component, c.version) for c in found.control_plane] == [("istiod", "1.29.9")]


def _removal(kind: str, name: str) -> ops_uninstall.Removal:
    ref = objects.ObjectRef("", "v1", kind, "istio-system", name)
    return ops_uninstall.Removal(ref, "meshctl-default", None)  # type: ignore[arg-type]


def test_removals_are_described_by_kind_with_plurals() -> None:
    # kills meshctl.ops.uninstall.x__describe__mutmut_13 (never a plural)
    items = [_removal("Service", "a"), _removal("ConfigMap", "b"), _removal("Service", "c")]
    assert ops_uninstall._describe(items) == "1 ConfigMap, 2 Services"


class _Reporter:
    def __init__(self) -> None:
        self.warnings: list[str] = []
        self.notes: list[str] = []

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    def note(self, text: str) -> None:
        self.notes.append(text)


@pytest.mark.parametrize(("count", "more"), [(30, ""), (31, " and 1 more"), (35, " and 5 more")])
def test_proxies_left_behind_are_listed_up_to_30_then_counted(count: int, more: str) -> None:
    # kills meshctl.ops.uninstall.xǁ_Uninstallǁ_warn__mutmut_18 (`len(pods) - 30` -> `+`)
    pods = [f"default/p{i}" for i in range(count)]
    plan = types.SimpleNamespace(strays=[], left_alone=[], gateways=[], proxies={"canary": pods}, base_users=[])
    fake = types.SimpleNamespace(reporter=_Reporter())
    ops_uninstall._Uninstall._warn(fake, plan)  # type: ignore[arg-type]
    (warning,) = fake.reporter.warnings
    assert f"there are still {count} proxies pointing to the control plane revision canary: " in warning
    assert f"default/p29{more}; if you proceed" in warning
    assert "default/p30," not in warning


def test_installed_components_are_named_in_install_order() -> None:
    # kills meshctl.ops.install.xǁ_Installǁ_component_names__mutmut_3 (sorted by name instead)
    labels = ["IngressGateways", "Ztunnel", "Base", "", "Pilot", "Cni"]
    fake = types.SimpleNamespace(
        desired=[types.SimpleNamespace(component=label) for label in labels],
        _component_name=ops_install._Install._component_name,
        _component_order=ops_install._Install._component_order,
    )
    assert ops_install._Install._component_names(fake) == [  # type: ignore[arg-type]
        "Istio core",
        "Istiod",
        "CNI",
        "Ztunnel",
        "Ingress gateways",
        "Other",
    ]


def test_forbidden_create_names_the_verb_and_the_object(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    # kills meshctl.kube.client.xǁRestClientǁcreate__mutmut_13 (verb None) and _31 (the object's name dropped)
    apiserver.add_user("ci")
    apiserver.faults.forbid("ci", verbs=["create"], resources=["configmaps"])
    client = kclient.connect(kubeconfig=str(apiserver.write_kubeconfig(apiserver.workdir / "ci", user="ci")))
    res = client.resource_for("v1", "ConfigMap")
    assert res is not None
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "made", "namespace": "default"}}
    with pytest.raises(kerrors.Forbidden) as caught:
        client.create(res, obj)
    assert caught.value.message.startswith("create ConfigMap default/made: "), caught.value.message
    assert caught.value.hint is not None
    assert caught.value.hint.startswith('user "ci" may not create configmaps')


def test_connect_falls_back_to_the_kubeconfig_in_home(
    apiserver: ApiServer, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # kills meshctl.kube.client.x_connect__mutmut_4 (`or ~/.kube/config` -> `and`)
    (tmp_path / ".kube").mkdir()
    apiserver.write_kubeconfig(tmp_path / ".kube" / "config")
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    client = kclient.connect()
    assert client.resource_for("v1", "ConfigMap") is not None


def test_a_new_watcher_has_not_resumed(kube: kclient.RestClient) -> None:
    # kills meshctl.kube.wait.xǁWatcherǁ__init____mutmut_24 (resumes starts at 1)
    import queue

    res = kube.resource_for("v1", "ConfigMap")
    assert res is not None
    watcher = wait.Watcher(kube, res, queue.Queue())
    assert (watcher.resumes, watcher.relists) == (0, 0)


def test_a_negative_numeric_quantity_is_refused() -> None:
    # kills meshctl.config.schemagate.x_gate_schema__mutmut_61 (the gate's `minimum: 0` for quantities dropped, so
    # the fast gate passed a negative number and the full check never ran)
    result = run_cli("profile", "dump", "--set", "components.pilot.k8s.resources.requests.cpu=-1", expect=3)
    assert "components.pilot.k8s.resources.requests.cpu: -1 is not a valid quantity (negative)" in result.stderr
    run_cli("profile", "dump", "--set", "components.pilot.k8s.resources.requests.cpu=0")


def test_an_empty_addon_hub_keeps_the_default_hub() -> None:
    # kills meshctl.render.components.x_addon_values__mutmut_8 (an empty hub taken as the entry's own)
    spec = {"components": {}, "addonComponents": {"prometheus": {"enabled": True, "hub": "", "tag": "v9"}}}
    (instance,) = [c for c in layering.build_components(spec, {}, "istio-system") if c.name == "prometheus"]
    row = components.PROMETHEUS
    values = components.addon_values(row, instance, {row.values_root: {"hub": "quay.io/prom", "tag": "v1"}})
    assert (values["hub"], values["tag"]) == ("quay.io/prom", "v9")


def test_credential_strings_of_a_kubeconfig_user_are_all_found_for_redaction() -> None:
    # kills meshctl.kube.client.x__credential_strings__mutmut_1 (a dict entry yields nothing), _11 (the value
    # replaced by None) and _20 (a key that is not UTF-8 loses its lines)
    import base64

    key = b"-----BEGIN PRIVATE KEY-----\nMIIBVQIBADAN\xffBgkq\n-----END PRIVATE KEY-----\n"
    user = {
        "token": "tok-123",
        "password": "pw-456",
        "client-key-data": base64.b64encode(key).decode(),
        "auth-provider": {"config": {"id-token": "idt", "refresh-token": "rt", "cmd-path": "/bin/x"}},
    }
    found = kclient._credential_strings(user)
    assert found[:3] == ["tok-123", "pw-456", base64.b64encode(key).decode()]
    assert "MIIBVQIBADAN\ufffdBgkq" in found
    assert {"idt", "rt"} <= set(found)
    assert "/bin/x" not in found
    assert not any("-----" in line for line in found)
    assert kclient._credential_strings("not a map") == []


@pytest.mark.parametrize(
    ("port", "problem"), [(0, None), (65535, None), (65536, "above the maximum 65535"), (-1, "below the minimum 0")]
)
def test_port_bounds_are_checked_with_their_own_message(port: int, problem: str | None) -> None:
    # kills meshctl.config.schemacheck.x__describe__mutmut_75 (the "maximum" message)
    setting = "components.ingressGateways[0].k8s.service.ports[0].port"
    args = ("profile", "dump", "--set", "components.ingressGateways[0].name=gw", "--set", f"{setting}={port}")
    args += ("--set", "components.ingressGateways[0].k8s.service.ports[0].targetPort=8080")
    if problem is None:
        run_cli(*args)
    else:
        assert f"{setting}: {port} is {problem}" in run_cli(*args, expect=3).stderr


def test_walking_through_a_scalar_names_the_prefix_that_is_not_a_map() -> None:
    # kills meshctl.config.paths.x__locate__mutmut_12 (the error names the whole path instead of the prefix)
    with pytest.raises(errors.PathError) as caught:
        paths.set_value({"a": 5}, paths.parse_path("a.b.c", paths.Mode.SET), 1)
    assert str(caught.value) == "--set: a is a number (5), not a map"


def test_a_single_value_for_a_map_or_a_list_says_how_to_set_it() -> None:
    # kills meshctl.config.paths.x_type_value__mutmut_86 (the hint for a map)
    as_map = run_cli("profile", "dump", "--set", "components.pilot.k8s=1", expect=3).stderr
    assert "components.pilot.k8s is a map; a single value cannot be set there" in as_map
    assert "hint: set its fields one by one, e.g. components.pilot.k8s.FIELD=VALUE" in as_map
    as_list = run_cli("profile", "dump", "--set", "components.ingressGateways=1", expect=3).stderr
    assert "components.ingressGateways is a list; a single value cannot be set there" in as_list
    assert "hint: set its elements one by one, e.g. components.ingressGateways[0]=VALUE" in as_list


# --- kube.lock -------------------------------------------------------------------------------------------------------


def test_lock_times_are_utc_and_a_zoneless_time_is_read_as_utc() -> None:
    # kills meshctl.kube.lock.x__now__mutmut_1 (a naive local time) and x__parse__mutmut_15 (a zoneless time left
    # naive, which cannot be compared with the aware "now")
    assert lock._now().utcoffset() == datetime.timedelta(0)
    parsed = lock._parse("2026-01-02T03:04:05")
    assert parsed == datetime.datetime(2026, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    assert lock._parse("2026-01-02T03:04:05.5Z") == datetime.datetime(2026, 1, 2, 3, 4, 5, 500000, tzinfo=datetime.UTC)


class _LiveHolder:
    """A Lease held by another meshctl that keeps renewing it: each read shows a new resourceVersion."""

    def __init__(self) -> None:
        self.reads = 0

    def resource_for(self, api_version: str, kind: str) -> str:
        return "leases"

    def create(self, res: Any, lease: Any) -> Any:
        body = json.dumps({"kind": "Status", "code": 409, "reason": "AlreadyExists", "message": "exists"})
        raise kerrors.from_status(409, body)

    def get(self, res: Any, name: str, namespace: str) -> dict[str, Any]:
        self.reads += 1
        spec = {"holderIdentity": "other", "leaseDurationSeconds": 10, "renewTime": lock._micro(lock._now())}
        return {"metadata": {"name": name, "resourceVersion": str(self.reads)}, "spec": spec}

    def replace(self, res: Any, obj: Any) -> Any:
        raise AssertionError("took over a lock whose holder keeps renewing it")


def test_a_lock_whose_holder_keeps_renewing_it_is_not_taken_over() -> None:
    # kills meshctl.kube.lock.x_acquire__mutmut_85 (the resourceVersion not read: a renewing holder looked stuck)
    ticks = iter(range(0, 10_000, 4))
    client = _LiveHolder()
    with pytest.raises(lock.LockTimeout, match="is held by other"):
        lock.acquire(
            client,
            "istio-system",
            holder="me",
            duration=10,
            timeout=60,
            clock=lambda: float(next(ticks)),
            sleep=lambda s: None,
        )  # type: ignore[arg-type]
    assert client.reads > 3


def test_objects_left_alone_by_uninstall_are_reported_unchanged_with_the_reason() -> None:
    # kills meshctl.ops.uninstall.xǁ_Uninstallǁ_untouched__mutmut_24 (the action dropped) and _28 (the reason)
    stray = objects.ObjectRef("", "v1", "ConfigMap", "istio-system", "stray")
    kept = objects.ObjectRef("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "", "things.example.com")
    plan = types.SimpleNamespace(
        kept=[ops_uninstall.HeldCrd(kept, (("Thing", 2),))], left_alone=[(stray, "changed hands")], strays=[stray]
    )
    results = ops_uninstall._Uninstall._untouched(None, plan)  # type: ignore[arg-type]
    assert results == [
        ops_install.ObjectResult(kept, "unchanged", "kept: 2 Things (user objects) still use it"),
        ops_install.ObjectResult(stray, "unchanged", "changed hands"),
        ops_install.ObjectResult(stray, "unchanged", "carries meshctl's label but is in no inventory; left alone"),
    ]


def test_a_crd_kept_for_user_objects_says_how_to_delete_it_anyway() -> None:
    # kills meshctl.ops.uninstall.xǁ_Uninstallǁ_warn_held__mutmut_4 (the advice's text)
    ref = objects.ObjectRef("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "", "things.example.com")
    fake = types.SimpleNamespace(reporter=_Reporter())
    ops_uninstall._Uninstall._warn_held(fake, [ops_uninstall.HeldCrd(ref, (("Thing", 1), ("Other", 3)))])  # type: ignore[arg-type]
    (warning,) = fake.reporter.warnings
    assert warning.endswith(
        "stays: 1 Thing, 3 Others (user objects) still use it; "
        "'uninstall --purge --delete-user-config' deletes it with them"
    )


class _DryRunClient:
    def __init__(self, answer: dict[str, Any] | Exception) -> None:
        self.answer = answer

    def apply(self, res: Any, manifest: Any, *, force: bool, dry_run: bool) -> dict[str, Any]:
        assert dry_run
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def _planned() -> ops_plan.Planned:
    ref = objects.ObjectRef("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "", "things.example.com")
    res = types.SimpleNamespace(qualified="customresourcedefinitions.apiextensions.k8s.io")
    manifest = {"apiVersion": ref.api_version, "kind": ref.kind, "metadata": {"name": ref.name}}
    return ops_plan.Planned(ref, ops_plan.Action.CREATE, "meshctl-base", manifest, res)  # type: ignore[arg-type]


def test_dry_run_conflict_names_each_field_and_its_manager() -> None:
    # kills meshctl.ops.plan.x__dry_run__mutmut_23 (the owners left out of the note)
    causes = [
        {"type": "FieldManagerConflict", "message": 'conflict with "helm"', "field": ".spec.a"},
        {"type": "FieldManagerConflict", "message": 'conflict with "kubectl-edit"', "field": ".spec.b"},
    ]
    body = {
        "kind": "Status",
        "code": 409,
        "reason": "Conflict",
        "message": "Apply failed",
        "details": {"causes": causes},
    }
    item = _planned()
    ops_plan._dry_run(_DryRunClient(kerrors.from_status(409, json.dumps(body))), item, {}, False)  # type: ignore[arg-type]
    assert item.action is ops_plan.Action.CONFLICT
    assert item.note == "fields owned by other managers: .spec.a (helm), .spec.b (kubectl-edit)"


@pytest.mark.parametrize(
    ("managers", "note"),
    [
        (["helm", "meshctl"], "exists and was not installed by meshctl (managers: helm)"),
        (["meshctl"], "exists, not installed by meshctl"),
    ],
)
def test_dry_run_of_a_create_that_finds_the_object_is_a_conflict(managers: list[str], note: str) -> None:
    # kills meshctl.ops.plan.x__dry_run__mutmut_34 ("metadata" misspelt: the object seems new), _40 (`is not`),
    # and x__non_member__mutmut_6 (an empty manager list still named)
    answer = {"metadata": {"resourceVersion": "7", "managedFields": [{"manager": m} for m in managers]}}
    item = _planned()
    ops_plan._dry_run(_DryRunClient(answer), item, {}, False)  # type: ignore[arg-type]
    assert (item.action, item.note) == (ops_plan.Action.CONFLICT, note)
    forced = _planned()
    ops_plan._dry_run(_DryRunClient(answer), forced, {}, True)  # type: ignore[arg-type]
    assert (forced.action, forced.note) == (ops_plan.Action.ADOPT, f"{note}; taken over")


@pytest.mark.parametrize("where", ["containers", "initContainers"])
def test_a_pod_has_a_proxy_as_a_container_or_a_native_sidecar(where: str) -> None:
    # kills meshctl.ops.uninstall.x__has_proxy__mutmut_7 (the regular containers ignored)
    proxy = {"name": ops_uninstall.PROXY_CONTAINER}
    spec: dict[str, Any] = {"containers": [{"name": "app"}]}
    if where == "containers":
        spec["containers"].append(proxy)
    else:
        spec["initContainers"] = [proxy]
    assert ops_uninstall._has_proxy({"spec": spec})
    assert not ops_uninstall._has_proxy({"spec": {"containers": [{"name": "app"}]}})


def test_install_refuses_conflicts_naming_each_object_and_why() -> None:
    # kills meshctl.ops.install.xǁ_Installǁ_refuse_conflicts__mutmut_3 (the object's name left out)
    cm = objects.ObjectRef("", "v1", "ConfigMap", "istio-system", "istio")
    crd = objects.ObjectRef("apiextensions.k8s.io", "v1", "CustomResourceDefinition", "", "things.example.com")
    conflicts = [types.SimpleNamespace(ref=cm, note="managers: helm"), types.SimpleNamespace(ref=crd, note="x")]
    with pytest.raises(errors.OwnershipConflict) as caught:
        ops_install._Install._refuse_conflicts(None, types.SimpleNamespace(conflicts=conflicts))  # type: ignore[arg-type]
    assert str(caught.value).startswith("2 objects are owned by another manager or installation")
    assert list(caught.value.context) == [
        "ConfigMap/istio-system/istio: managers: helm",
        "CustomResourceDefinition/things.example.com: x",
    ]


@pytest.mark.parametrize("dry_run", [False, True])
def test_install_runs_its_check_on_what_it_read_under_the_lock(
    apiserver: ApiServer, kube: kclient.RestClient, dry_run: bool
) -> None:
    # kills meshctl.ops.install.xǁ_Installǁ__init____mutmut_1 (the check, upgrade's version rule, never called)
    from meshctl.ops import configure

    seen: list[list[str]] = []

    def check(found: Any) -> list[str]:
        seen.append(sorted(found))
        raise errors.InputError("refused by the check")

    config = configure.effective_config(configure.config_input(files=None, sets=["profile=minimal"]), None)
    options = ops_install.InstallOptions(wait=False, dry_run=dry_run)
    with pytest.raises(errors.InputError, match="refused by the check"):
        ops_install.install(config, kube, options, check=check)
    assert seen == [[]]
    assert apiserver.objects.get("deployments", "istiod", "istio-system") is None


def test_uninstall_reports_every_object_including_those_already_gone(
    apiserver: ApiServer, kube: kclient.RestClient
) -> None:
    # kills meshctl.ops.uninstall.xǁ_Uninstallǁ_result__mutmut_5 (no objects in the result) and
    # xǁ_Uninstallǁ_execute__mutmut_46 (an object already gone reported with another action)
    from meshctl.ops import configure

    config = configure.effective_config(configure.config_input(files=None, sets=["profile=minimal"]), None)
    installed = ops_install.install(config, kube, ops_install.InstallOptions(wait=False))
    names = {(o.ref.kind, o.ref.name) for o in installed.objects}
    assert ("ConfigMap", "istio") in names
    apiserver.objects.delete("configmaps", "istio", "istio-system")
    result = ops_uninstall.uninstall(kube, "istio-system", ops_uninstall.UninstallOptions(purge=True, timeout=30))
    by_name = {(o.ref.kind, o.ref.name): o for o in result.objects}
    assert (by_name[("ConfigMap", "istio")].action, by_name[("ConfigMap", "istio")].note) == ("deleted", "already gone")
    assert by_name[("Deployment", "istiod")].action == "deleted"
    assert apiserver.objects.get("deployments", "istiod", "istio-system") is None


def _rendered_configmaps() -> dict[str, dict[str, Any]]:
    import yaml

    out = run_cli("manifest", "generate", "--component", "Pilot").stdout
    docs = [d for d in yaml.safe_load_all(out) if d and d["kind"] == "ConfigMap"]
    return {d["metadata"]["name"]: d for d in docs}


def test_injection_settings_from_the_cluster_read_both_configmaps() -> None:
    # kills meshctl.ops.inject.x_load_settings__mutmut_10 and x__cluster_configmaps__mutmut_14/_20 (the injector
    # ConfigMap not read when no files replace it)
    from meshctl.ops import configure
    from meshctl.ops import inject as ops_inject

    maps = _rendered_configmaps()
    reads: list[tuple[str, str]] = []

    def read(name: str, namespace: str) -> dict[str, Any] | None:
        reads.append((namespace, name))
        return maps.get(name)

    sources = ops_inject.Sources(configure.config_input(files=None, sets=[]), from_cluster=True)
    loaded = ops_inject.load_settings(sources, None, read)
    assert loaded is not None
    assert reads == [("istio-system", "istio-sidecar-injector"), ("istio-system", "istio")]


def test_injection_from_a_cluster_without_istio_says_what_is_missing() -> None:
    # kills meshctl.ops.inject.x__cluster_configmaps__mutmut_29 (the hint's text)
    from meshctl.ops import configure
    from meshctl.ops import inject as ops_inject

    sources = ops_inject.Sources(configure.config_input(files=None, sets=[]), from_cluster=True, revision="canary")
    with pytest.raises(errors.InputError) as caught:
        ops_inject.load_settings(sources, None, lambda name, namespace: None)
    assert str(caught.value) == "ConfigMap istio-system/istio-sidecar-injector-canary not found in the cluster"
    assert caught.value.hint == "is Istio installed there (with this --revision and --istioNamespace)?"


def _config(*sets: str) -> Any:
    from meshctl.ops import configure

    return configure.effective_config(configure.config_input(files=None, sets=list(sets)), None)


def test_reinstalling_without_a_component_prunes_its_namespaced_objects(
    apiserver: ApiServer, kube: kclient.RestClient
) -> None:
    # kills meshctl.ops.install.xǁ_Installǁ_prune__mutmut_12 (the prune's delete without the namespace)
    ops_install.install(_config("profile=default"), kube, ops_install.InstallOptions(wait=False))
    assert apiserver.objects.get("deployments", "istio-ingressgateway", "istio-system") is not None
    result = ops_install.install(_config("profile=minimal"), kube, ops_install.InstallOptions(wait=False))
    pruned = {(o.ref.kind, o.ref.name) for o in result.objects if o.action == "pruned"}
    assert ("Deployment", "istio-ingressgateway") in pruned
    assert apiserver.objects.get("deployments", "istio-ingressgateway", "istio-system") is None


def test_uninstalling_one_revision_forgets_it_in_the_base_inventory(
    apiserver: ApiServer, kube: kclient.RestClient
) -> None:
    # kills meshctl.ops.uninstall.xǁ_Uninstallǁmake_plan__mutmut_45 (the revision never forgotten)
    ops_install.install(_config("profile=minimal"), kube, ops_install.InstallOptions(wait=False))
    ops_install.install(_config("profile=minimal", "revision=canary"), kube, ops_install.InstallOptions(wait=False))
    base = inventory.read(kube, "istio-system", objects.BASE_INSTALLATION)
    assert base is not None
    assert "canary" in base.revisions
    ops_uninstall.uninstall(kube, "istio-system", ops_uninstall.UninstallOptions(revision="canary", timeout=30))
    base = inventory.read(kube, "istio-system", objects.BASE_INSTALLATION)
    assert base is not None
    assert "canary" not in base.revisions


def test_cluster_configmaps_reads_through_the_kubeconfig(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    # kills meshctl.ops.inject.xǁClusterConfigMapsǁ__init____mutmut_1 (no client)
    from meshctl.ops import inject as ops_inject

    apiserver.objects.create(
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m", "namespace": "default"}, "data": {"k": "v"}}
    )
    path = apiserver.write_kubeconfig(apiserver.workdir / "cm-reader")
    with ops_inject.ClusterConfigMaps(kubeconfig=str(path), context=None, warn=lambda text: None) as read:
        found = read("m", "default")
        assert found is not None
        assert found["data"] == {"k": "v"}
        assert read("absent", "default") is None


def test_a_failed_apply_reports_each_component_with_its_reason() -> None:
    # kills meshctl.ops.install.xǁ_Installǁ_fail_apply__mutmut_6 (the reason not reported)
    failed: list[tuple[str, str]] = []
    reporter = types.SimpleNamespace(component_failed=lambda name, reason: failed.append((name, reason)))
    fake = types.SimpleNamespace(reporter=reporter, _component_name=ops_install._Install._component_name)
    ref = objects.ObjectRef("apps", "v1", "Deployment", "istio-system", "istiod")
    failures = [
        types.SimpleNamespace(item=types.SimpleNamespace(component="Pilot", ref=ref), error=kerrors.KubeError("boom")),
        types.SimpleNamespace(item=types.SimpleNamespace(component="Base", ref=ref), error=kerrors.KubeError("bang")),
    ]
    with pytest.raises(kerrors.KubeError, match="boom") as caught:
        ops_install._Install._fail_apply(fake, failures)  # type: ignore[arg-type]
    assert failed == [("Istiod", "boom"), ("Istio core", "bang")]
    assert list(caught.value.context)[-1] == "also: bang"


class _ProgressReporter(ops_install.NullReporter):
    def __init__(self) -> None:
        self.done: list[str] = []

    def component_done(self, name: str) -> None:
        self.done.append(name)


def test_install_reports_each_component_done_by_its_name(apiserver: ApiServer, kube: kclient.RestClient) -> None:
    # kills meshctl.ops.install.xǁ_Installǁ_desired__mutmut_24 (objects planned without their component)
    reporter = _ProgressReporter()
    ops_install.install(_config("profile=default"), kube, ops_install.InstallOptions(wait=False), reporter=reporter)
    assert reporter.done == ["Istio core", "Istiod", "Ingress gateways"]


def test_created_objects_are_managed_by_meshctl(kube: kclient.RestClient) -> None:
    # pins the manager; it does not kill xǁRestClientǁcreate__mutmut_11 (see equivalent.md)
    res = kube.resource_for("v1", "ConfigMap")
    assert res is not None
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "mine", "namespace": "default"}, "data": {}}
    created = kube.create(res, obj)
    assert [m["manager"] for m in created["metadata"]["managedFields"]] == [kclient.FIELD_MANAGER]


def test_a_missing_kubeconfig_says_where_one_can_come_from(tmp_path: Any) -> None:
    # kills meshctl.kube.client.x__load_kubeconfig__mutmut_12 (the hint's text)
    missing = tmp_path / "nope"
    with pytest.raises(kerrors.ConfigError) as caught:
        kclient.connect(kubeconfig=str(missing))
    assert str(caught.value) == f"no kubeconfig found at {missing}"
    assert caught.value.hint == "pass --kubeconfig PATH, set KUBECONFIG, or create ~/.kube/config"


# --- render.k8scheck: what the API server would reject -------------------------------------------------------------


def _workload(kind: str = "Deployment", **spec: Any) -> dict[str, Any]:
    container = {"name": "c", "image": "docker.io/istio/pilot:1.30.3", "ports": [{"containerPort": 8080}]}
    pod_spec: dict[str, Any] = {"containers": [container]}
    base = {"selector": {"matchLabels": {"app": "x"}}, "template": {"metadata": {"labels": {"app": "x"}}}}
    base["template"]["spec"] = pod_spec
    return {
        "apiVersion": "apps/v1",
        "kind": kind,
        "metadata": {"name": "w", "namespace": "ns"},
        "spec": {**base, **spec},
    }


def test_a_valid_workload_has_no_problems() -> None:
    assert list(k8scheck.object_problems(_workload())) == []


def test_replicas_of_a_deployment_are_checked() -> None:
    # kills meshctl.render.k8scheck.x_object_problems__mutmut_46 ("deployment") and _56 (the field's name)
    assert list(k8scheck.object_problems(_workload(replicas=-1))) == [
        "Deployment ns/w: spec.replicas: -1 is out of range (0 to 2147483647)"
    ]


def test_a_selectors_match_labels_are_checked() -> None:
    # kills meshctl.render.k8scheck.x_object_problems__mutmut_96 ("matchlabels")
    obj = _workload(selector={"matchLabels": {"bad key!": "x"}})
    (problem,) = k8scheck.object_problems(obj)
    assert problem.startswith(
        "Deployment ns/w: spec.selector.matchLabels: label key 'bad key!' is not valid: at most 63"
    )
    assert problem.endswith("beginning and ending with a letter or digit (optionally after a DNS prefix and '/')")


def test_ports_and_quantities_of_regular_containers_are_checked() -> None:
    # kills meshctl.render.k8scheck.x__pod__mutmut_17 ("containers" skipped), _51 ("containerPort" misspelt) and
    # _67 (a numeric quantity read as None)
    obj = _workload()
    container = obj["spec"]["template"]["spec"]["containers"][0]
    container["ports"] = [{"containerPort": 70000}]
    container["resources"] = {"requests": {"cpu": 0.5, "memory": "1 Gi"}}
    assert list(k8scheck.object_problems(obj)) == [
        "Deployment ns/w: spec.template.spec.containers[0].ports[0].containerPort: 70000 is out of range (1 to 65535)",
        "Deployment ns/w: spec.template.spec.containers[0].resources.requests.memory: '1 Gi' is not a quantity "
        "(e.g. 100m, 128Mi)",
    ]


def test_an_overlay_that_is_not_a_map_is_named() -> None:
    # kills meshctl.render.k8s.x_apply_overlays__mutmut_11 (the overlay's path left out of the error)
    target = k8s.Target(
        where="components.pilot", label="Pilot", workload_kind="Deployment", workload_name="istiod", container=None
    )
    with pytest.raises(errors.RenderError, match=r"^components\.pilot\.k8s\.overlays\[0\] must be a map$"):
        k8s.apply_overlays([], ["not a map"], target)


def test_binary_input_and_a_doubled_dot_have_their_hints() -> None:
    # kills meshctl.config.loading.x_decode__mutmut_64 and meshctl.config.paths.xǁ_Scannerǁscan__mutmut_44 (hints)
    with pytest.raises(errors.InputLimitError) as binary:
        loading.decode(b"a: 1\x00\n", "f")
    assert binary.value.hint == "-f takes YAML text"
    with pytest.raises(errors.PathError) as dots:
        paths.parse_path("a..b", paths.Mode.SET)
    assert dots.value.hint == r"remove the extra dot, or write \. for a dot in a key"


def test_service_ports_are_checked() -> None:
    # kills meshctl.render.k8scheck.x_object_problems__mutmut_140 ("port" misspelt) and _146 (targetPort's name)
    service = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": "s", "namespace": "ns"},
        "spec": {
            "selector": {"app": "x"},
            "ports": [{"port": 0, "targetPort": 70000}, {"port": 80, "targetPort": 8080}],
        },
    }
    assert list(k8scheck.object_problems(service)) == [
        "Service ns/s: spec.ports[0].port: 0 is out of range (1 to 65535)",
        "Service ns/s: spec.ports[0].targetPort: 70000 is out of range (1 to 65535)",
    ]


def test_an_autoscaler_without_min_replicas_starts_at_one() -> None:
    # kills meshctl.render.k8scheck.x_object_problems__mutmut_180 (minReplicas' default of 1 dropped)
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "h", "namespace": "ns"},
        "spec": {"maxReplicas": 0},
    }
    assert list(k8scheck.object_problems(hpa)) == [
        "HorizontalPodAutoscaler ns/h: spec.maxReplicas: 0 is out of range (1 to 2147483647)",
        "HorizontalPodAutoscaler ns/h: spec.minReplicas: 1 is above spec.maxReplicas 0",
    ]


def test_deep_flow_nesting_after_a_quoted_string_is_refused_by_the_depth_limit() -> None:
    # pins the outcome; does not kill meshctl.config.loading.x__check_flow_depth__mutmut_10 (see equivalent.md)
    text = 'a: "x"\nb: ' + "[" * 2000 + "]" * 2000 + "\n"
    with pytest.raises(errors.InputLimitError) as caught:
        loading.load_documents(text, "f")
    assert caught.value.limit == "depth"


def test_an_autoscaler_whose_minimum_is_above_its_maximum_is_refused_with_a_hint() -> None:
    # kills meshctl.render.k8scheck.x_object_problems__mutmut_183 ("minReplicas" misspelt) and
    # x_check_objects__mutmut_8 (the hint's text)
    hpa = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "h", "namespace": "ns"},
        "spec": {"minReplicas": 5, "maxReplicas": 3},
    }
    with pytest.raises(errors.ValidationError) as caught:
        k8scheck.check_objects([hpa])
    assert (
        caught.value.hint == "a setting renders an object the API server would reject; fix the value at the named field"
    )
    assert list(k8scheck.object_problems(hpa)) == [
        "HorizontalPodAutoscaler ns/h: spec.minReplicas: 5 is above spec.maxReplicas 3"
    ]
