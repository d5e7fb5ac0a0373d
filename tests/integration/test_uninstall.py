"""`meshctl uninstall` and canary revisions against a cluster (`backend`): cluster.md §3 and §5, quality.md
scenarios 10, 11 and 14.

Only inventory members are deleted, in reverse phase order, and only while they still carry their installation's
label; labelled strays and objects taken over are reported and left alone; `base` stays while any revision uses it;
`--purge` keeps the CRDs that hold user objects (and says why) unless `--delete-user-config`.
"""

from __future__ import annotations

import json
import pathlib

import yaml

from meshctl import objects
from tests.cluster import fixtures
from tests.integration import install_helpers as h
from tests.integration import lifecycle_helpers as lh
from tests.integration.conftest import Backend

CANARY = ("--set", "profile=minimal", "--revision", "canary")


def _identities(docs: list[dict[str, object]]) -> set[h.Identity]:
    return {h.identity(d) for d in docs}


def test_canary_beside_default_has_its_own_inventory_and_is_removed_alone(
    backend: Backend, tmp_path: pathlib.Path
) -> None:
    backend.meshctl("install", "-y", "--no-wait")
    users = lh.user_objects(backend, tmp_path)
    default, canary = h.generate(), h.generate(*CANARY)
    result = json.loads(backend.meshctl("install", "-y", "--no-wait", *CANARY, "-o", "json").stdout)
    assert result["revision"] == "canary"
    assert result["inventory"] == ["meshctl-base", "meshctl-canary"]
    assert not [o for o in result["objects"] if o["action"] == "pruned"]
    inventories = h.inventories(backend)
    assert set(inventories) == {"meshctl-base", "meshctl-default", "meshctl-canary"}
    assert inventories["meshctl-base"].revisions == ["canary", "default"]
    members = h.inventory_members(backend)
    assert members["meshctl-canary"] == {i for i in _identities(canary) if i[1] != "CustomResourceDefinition"
                                         and i[3] != "istio-reader-service-account"}  # fmt: skip
    assert not members["meshctl-canary"] & members["meshctl-default"]

    # Upgraded independently: the default installation's members are not written.
    before = h.member_versions(backend.api, default) if backend.api is not None else {}
    backend.meshctl("upgrade", "-y", "--no-wait", *CANARY, "--set", "components.pilot.k8s.replicaCount=2")
    assert backend.objects.get("deployments", "istiod-canary", lh.ISTIO)["spec"]["replicas"] == 2
    assert backend.objects.get("deployments", "istiod", lh.ISTIO)["spec"]["replicas"] == 1
    if backend.api is not None:
        assert h.member_versions(backend.api, default) == before

    removed = backend.meshctl("uninstall", "--revision", "canary", "-y", "-o", "json")
    assert "meshctl-base stays: revisions default use it" in removed.stderr
    assert "✔ Uninstall complete" in removed.stderr
    data = json.loads(removed.stdout)
    assert data["revision"] == "canary"
    assert data["inventory"] == ["meshctl-canary"]
    assert {(o["group"], o["kind"], o["namespace"], o["name"]) for o in data["objects"]} == members["meshctl-canary"]
    assert {o["action"] for o in data["objects"]} == {"deleted"}
    # Default is intact: every rendered object, every rendered field; base stays and forgets canary.
    lh.assert_holds_exactly(backend, default, tmp_path)
    assert h.inventories(backend)["meshctl-base"].revisions == ["default"]
    assert lh.present(backend, canary) == _identities(canary) & _identities(default)
    lh.assert_untouched(backend, users)


def test_removing_default_first_keeps_base_for_canary_then_the_last_one_removes_base(
    backend: Backend, tmp_path: pathlib.Path
) -> None:
    backend.meshctl("install", "-y", "--no-wait", "--set", "profile=minimal")
    backend.meshctl("install", "-y", "--no-wait", *CANARY)
    default, canary = h.generate("--set", "profile=minimal"), h.generate(*CANARY)

    first = backend.meshctl("uninstall", "--set", "revision=default", "-y")
    assert "meshctl-base stays: revisions canary use it" in first.stderr
    assert "  Removed Deployment/istio-system/istiod" in first.stderr.splitlines()
    assert "CustomResourceDefinition" not in first.stderr
    lh.assert_holds_exactly(backend, canary, tmp_path)
    assert h.inventories(backend)["meshctl-base"].revisions == ["canary"]

    last = backend.meshctl("uninstall", "-r", "canary", "-y")
    assert "  Removed CustomResourceDefinition/virtualservices.networking.istio.io" in last.stderr.splitlines()
    assert lh.present(backend, default + canary) == set()
    assert h.inventories(backend) == {}
    assert backend.objects.get("namespaces", lh.ISTIO) is not None  # namespaces are never deleted


def test_a_second_revision_with_a_gateway_of_the_same_name_is_a_conflict(backend: Backend) -> None:
    backend.meshctl("install", "-y", "--no-wait")
    result = backend.meshctl("install", "-y", "--no-wait", "--revision", "canary", expect=8)
    assert (
        "  Deployment/istio-system/istio-ingressgateway: belongs to another meshctl installation (meshctl-default)"
        in result.stderr.splitlines()
    )
    assert backend.objects.get("deployments", "istiod-canary", lh.ISTIO) is None


def test_uninstall_by_file_selects_the_revision(backend: Backend, tmp_path: pathlib.Path) -> None:
    backend.meshctl("install", "-y", "--no-wait", "--set", "profile=minimal")
    backend.meshctl("install", "-y", "--no-wait", *CANARY)
    operator = tmp_path / "canary.yaml"
    operator.write_text("apiVersion: install.istio.io/v1alpha1\nkind: IstioOperator\nspec:\n  revision: canary\n")
    result = backend.meshctl("uninstall", "-f", str(operator), "-y", "-o", "json")
    assert json.loads(result.stdout)["inventory"] == ["meshctl-canary"]
    assert backend.objects.get("deployments", "istiod-canary", lh.ISTIO) is None
    assert backend.objects.get("deployments", "istiod", lh.ISTIO) is not None


def test_purge_removes_every_meshctl_object_and_keeps_user_objects_and_their_crd(
    backend: Backend, tmp_path: pathlib.Path
) -> None:
    backend.meshctl("install", "-y", "--no-wait")
    backend.meshctl("install", "-y", "--no-wait", *CANARY)
    users = lh.user_objects(backend, tmp_path)
    rendered = h.generate() + h.generate(*CANARY)
    crds = {h.identity(d) for d in rendered if d["kind"] == "CustomResourceDefinition"}
    vs_crd = ("apiextensions.k8s.io", "CustomResourceDefinition", "", lh.VS_CRD)

    result = backend.meshctl("uninstall", "--purge", "-y", "-o", "json")

    lines = result.stderr.splitlines()
    assert (
        "warning: CustomResourceDefinition/virtualservices.networking.istio.io stays: 1 VirtualService (user objects) "
        "still use it; 'uninstall --purge --delete-user-config' deletes it with them"
    ) in lines
    assert "  Namespaces are not deleted: istio-system stays" in lines
    assert lines[-1] == "✔ Uninstall complete"
    # Revisions first, then base; within each, webhooks first and CRDs last.
    removed = [line.split()[1] for line in lines if line.startswith("  Removed ")]
    kinds = [name.split("/")[0] for name in removed]
    assert kinds.index("MutatingWebhookConfiguration") < kinds.index("Deployment") < kinds.index("ConfigMap")
    assert kinds[-14:] == ["CustomResourceDefinition"] * 14
    assert removed.index("ServiceAccount/istio-system/istio-reader-service-account") > removed.index(
        "Deployment/istio-system/istiod-canary"
    )
    data = json.loads(result.stdout)
    assert data["revision"] is None
    assert data["inventory"] == ["meshctl-canary", "meshctl-default", "meshctl-base"]
    kept = [o for o in data["objects"] if o["action"] == "unchanged"]
    assert [(o["name"], o["message"]) for o in kept] == [
        (lh.VS_CRD, "kept: 1 VirtualService (user objects) still use it")
    ]

    assert lh.present(backend, rendered) == {vs_crd}
    assert len(crds) == 15
    assert h.inventories(backend) == {}
    assert backend.objects.get("leases", "meshctl-lock", lh.ISTIO) is None
    lh.assert_untouched(backend, users)
    assert backend.objects.get("namespaces", lh.ISTIO) is not None

    # Purging again finds nothing, and says so.
    again = backend.meshctl("x", "uninstall", "--purge", "-y")
    assert "warning: no meshctl installation in namespace istio-system; nothing to remove" in again.stderr
    lh.assert_untouched(backend, users)


def test_purge_with_delete_user_config_removes_the_crds_and_their_objects(
    backend: Backend, tmp_path: pathlib.Path
) -> None:
    backend.meshctl("install", "-y", "--no-wait", "--set", "profile=minimal")
    lh.kubectl_apply(backend, tmp_path, lh.virtual_service(backend.raw.namespace))
    result = backend.meshctl("uninstall", "--purge", "--delete-user-config", "-y", "-o", "json")
    vs = next(o for o in json.loads(result.stdout)["objects"] if o["name"] == lh.VS_CRD)
    assert (vs["action"], vs["message"]) == ("deleted", "deleted with 1 VirtualService")
    assert backend.objects.get("customresourcedefinitions", lh.VS_CRD) is None
    assert lh.present(backend, [lh.virtual_service(backend.raw.namespace)]) == set()


def test_labelled_stray_and_a_member_taken_over_survive_and_are_reported(
    backend: Backend, tmp_path: pathlib.Path
) -> None:
    backend.meshctl("install", "-y", "--no-wait", "--set", "profile=minimal")
    default_id = h.inventories(backend)["meshctl-default"].applyset_id
    lh.kubectl_apply(backend, tmp_path, lh.config_map("left-over", labels={objects.PART_OF_LABEL: default_id}))
    backend.kubectl("-n", lh.ISTIO, "label", "configmap", "values", f"{objects.PART_OF_LABEL}=mine", "--overwrite")
    plan = backend.meshctl("uninstall", "-r", "default", "--dry-run").stdout.splitlines()
    assert (
        "  unchanged  ConfigMap/istio-system/left-over  (carries meshctl's label but is in no inventory; left alone)"
        in plan
    )
    assert (
        "  unchanged  ConfigMap/istio-system/values  (a member of meshctl-default, but it now carries installation "
        "mine's label; left alone)"
    ) in plan

    result = backend.meshctl("uninstall", "-r", "default", "-y")
    assert (
        "warning: ConfigMap/istio-system/left-over carries meshctl's membership label but is in no inventory; "
        "left alone"
    ) in result.stderr.splitlines()
    assert "warning: ConfigMap/istio-system/values is a member of meshctl-default" in result.stderr
    assert backend.objects.get("configmaps", "left-over", lh.ISTIO) is not None
    assert backend.objects.get("configmaps", "values", lh.ISTIO) is not None
    assert backend.objects.get("deployments", "istiod", lh.ISTIO) is None


def test_already_removed_members_are_no_error(backend: Backend) -> None:
    backend.meshctl("install", "-y", "--no-wait", "--set", "profile=minimal")
    backend.kubectl("-n", lh.ISTIO, "delete", "deployment", "istiod", "--wait=true")
    result = json.loads(backend.meshctl("uninstall", "--purge", "-y", "-o", "json").stdout)
    gone = [o for o in result["objects"] if o.get("message") == "already gone"]
    assert [(o["kind"], o["name"], o["action"]) for o in gone] == [("Deployment", "istiod", "deleted")]
    assert h.inventories(backend) == {}


def test_dry_run_lists_what_would_be_removed_and_writes_nothing(backend: Backend, tmp_path: pathlib.Path) -> None:
    backend.meshctl("install", "-y", "--no-wait", "--set", "profile=minimal")
    lh.kubectl_apply(backend, tmp_path, lh.virtual_service(backend.raw.namespace))
    backend.requests.clear()
    text = backend.meshctl("uninstall", "--purge", "--dry-run").stdout.splitlines()
    assert text[0] == "Plan (dry run, nothing was removed; installations: meshctl-default, meshctl-base):"
    assert "  delete     Deployment/istio-system/istiod" in text
    assert "  delete     CustomResourceDefinition/gateways.networking.istio.io" in text
    assert (
        "  unchanged  CustomResourceDefinition/virtualservices.networking.istio.io  (kept: 1 VirtualService "
        "(user objects) still use it)"
    ) in text
    plan = json.loads(backend.meshctl("uninstall", "--purge", "--dry-run", "-o", "json").stdout)
    docs = h.generate("--set", "profile=minimal")
    assert {(o["group"], o["kind"], o["namespace"], o["name"]) for o in plan["objects"]} == _identities(docs)
    assert {o["action"] for o in plan["objects"]} == {"delete", "unchanged"}
    assert [e for e in backend.requests.entries if e.is_write] == []
    assert lh.present(backend, docs) == _identities(docs)


def test_revision_uninstall_warns_about_gateways_and_proxies_still_using_it(
    backend: Backend, tmp_path: pathlib.Path
) -> None:
    backend.meshctl("install", "-y", "--no-wait", "--set", "profile=minimal")
    backend.meshctl("install", "-y", "--no-wait", "--revision", "canary", "--set", "components.base.enabled=false",
                    "--set", "components.ingressGateways[0].name=canary-gateway",
                    "--set", "components.ingressGateways[0].enabled=true")  # fmt: skip
    namespace = backend.raw.namespace
    lh.kubectl_apply(backend, tmp_path, lh.proxy_pod(namespace, "reviews-v1", "canary"))
    result = backend.meshctl("uninstall", "-r", "canary", "-y")
    assert (
        "warning: you are about to remove the gateways Deployment/istio-system/canary-gateway; to avoid downtime, "
        "reinstall them with a revision that is not being removed first"
    ) in result.stderr.splitlines()
    assert (
        f"warning: there are still 1 proxy pointing to the control plane revision canary: {namespace}/reviews-v1; "
        "if you proceed, they will be detached from any control plane and will not function correctly"
    ) in result.stderr.splitlines()
    # base was not the canary's (components.base.enabled=false): it stays for default
    assert "meshctl-base stays: revisions default use it" in result.stderr
    assert backend.objects.get("pods", "reviews-v1", namespace) is not None
    assert backend.objects.get("deployments", "canary-gateway", lh.ISTIO) is None


def test_refusals_and_their_exit_codes(backend: Backend) -> None:
    backend.requests.clear()
    missing = backend.meshctl("uninstall", "-y", expect=2)
    assert missing.stderr.splitlines() == [
        "error: at least one of --revision (or --set revision=REV), --filename or --purge must be given",
        "hint: run 'meshctl uninstall --help' for usage",
    ]
    alone = backend.meshctl("uninstall", "--delete-user-config", "-r", "canary", "-y", expect=2)
    assert alone.stderr.splitlines()[0] == "error: --delete-user-config only goes with --purge"
    no_tty = backend.meshctl("uninstall", "--purge", expect=7)
    assert no_tty.stderr.splitlines() == [
        "error: confirmation is needed, but stdin is not a terminal",
        "hint: pass --skip-confirmation (-y) to proceed without a prompt",
    ]
    assert len(backend.requests) == 0
    nothing = backend.meshctl("uninstall", "-r", "canary", "-y")
    assert "warning: no installation meshctl-canary in namespace istio-system; nothing to remove" in nothing.stderr
    assert nothing.stderr.splitlines()[-1] == "✔ Uninstall complete"
    planned = backend.meshctl("uninstall", "--purge", "--dry-run")
    assert planned.stdout == ""
    assert "warning: no meshctl installation in namespace istio-system; nothing to remove" in planned.stderr


def test_purge_prompts_on_a_terminal_and_asks_again_before_deleting_user_config(
    backend: Backend, tmp_path: pathlib.Path
) -> None:
    backend.meshctl("install", "-y", "--no-wait", "--set", "profile=minimal")
    lh.kubectl_apply(backend, tmp_path, lh.virtual_service(backend.raw.namespace))
    args = ("uninstall", "--purge", "--kubeconfig", str(backend.kubeconfig))
    declined = h.run_unchecked(*args, stdin="n\n", tty=True)
    assert declined.exit_code == 7
    assert "All Istio resources will be removed from the cluster. Proceed? (y/N) " in declined.stderr
    assert declined.stderr.index("  delete     Deployment/istio-system/istiod") < declined.stderr.index("Proceed?")
    assert "error: uninstall cancelled: nothing was removed" in declined.stderr
    assert backend.objects.get("deployments", "istiod", lh.ISTIO) is not None

    second = h.run_unchecked(*args, "--delete-user-config", stdin="y\nn\n", tty=True)
    assert second.exit_code == 7
    assert (
        "These CustomResourceDefinitions hold user objects, which will be deleted with them:\n"
        "  CustomResourceDefinition/virtualservices.networking.istio.io (1 VirtualService)\n"
        "Delete them and every object in them? (y/N) "
    ) in second.stderr
    assert backend.objects.get("deployments", "istiod", lh.ISTIO) is not None

    accepted = h.run_unchecked(*args, stdin="y\n", tty=True)
    assert accepted.exit_code == 0, accepted.stderr
    assert backend.objects.get("deployments", "istiod", lh.ISTIO) is None
    assert backend.objects.get("customresourcedefinitions", lh.VS_CRD) is not None


def test_uninstall_waits_until_objects_are_gone_and_a_rerun_finishes(backend: Backend) -> None:
    backend.meshctl("install", "-y", "--set", "profile=minimal")
    backend.kubectl(
        "-n", lh.ISTIO, "patch", "configmap", "istio", "--type=merge",
        "-p", '{"metadata":{"finalizers":["example.com/hold"]}}',
    )  # fmt: skip
    args = ("uninstall", "-r", "default", "-y", "--readiness-timeout", "1s", "--kubeconfig", str(backend.kubeconfig))
    stuck = h.run_unchecked(*args)
    assert stuck.exit_code == 5
    lines = stuck.stderr.splitlines()
    assert "error: 1 object is still there after 1s" in lines
    assert "  ConfigMap/istio-system/istio: being deleted (finalizers: example.com/hold)" in lines
    assert "  Removed Deployment/istio-system/istiod" in lines  # the phases before it went
    # Foreground deletion waited for the Deployment's dependents.
    assert backend.objects.list("replicasets", lh.ISTIO) == []
    assert set(h.inventories(backend)) == {"meshctl-base", "meshctl-default"}  # a rerun knows what is left

    backend.kubectl(
        "-n", lh.ISTIO, "patch", "configmap", "istio", "--type=merge", "-p", '{"metadata":{"finalizers":null}}'
    )
    done = h.run_unchecked(*args)
    assert done.exit_code == 0, done.stderr
    assert "✔ Uninstall complete" in done.stderr
    assert lh.present(backend, h.generate("--set", "profile=minimal")) == set()
    assert h.inventories(backend) == {}


def test_quiet_uninstall_prints_only_warnings(backend: Backend, tmp_path: pathlib.Path) -> None:
    backend.meshctl("install", "-y", "--no-wait", "--set", "profile=minimal")
    result = backend.meshctl("uninstall", "--purge", "-y", "-q")
    assert result.stderr == ""
    assert h.inventories(backend) == {}


def test_purge_after_kubectl_deleted_the_generated_manifests(backend: Backend, tmp_path: pathlib.Path) -> None:
    """The acceptance sequence: `manifest generate | kubectl delete --ignore-not-found -f -`, `uninstall --purge`."""
    backend.meshctl("install", "-y", "--no-wait")
    docs = h.generate("--set", "profile=default")
    path = tmp_path / "generated.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    backend.kubectl("delete", "--ignore-not-found=true", "--wait=false", "-f", str(path))
    if backend.name == "real":
        # kube-apiserver finishes deleting a CRD created seconds earlier only once its instance cleanup stops
        # failing ("storage is (re)initializing"), minutes later (tests/cluster/README.md): kubectl's --wait would
        # outlast any test budget, so the test waits itself, finishing that cleanup as the reset does.
        crds = [d["metadata"]["name"] for d in docs if d["kind"] == "CustomResourceDefinition"]
        fixtures.wait_crds_deleted(backend.objects, crds, "generate | kubectl delete")
    result = json.loads(backend.meshctl("uninstall", "--purge", "-y", "-o", "json").stdout)
    assert {o["message"] for o in result["objects"]} == {"already gone"}
    assert len(result["objects"]) == len(docs)
    assert h.inventories(backend) == {}
    assert backend.objects.get("leases", "meshctl-lock", lh.ISTIO) is None
