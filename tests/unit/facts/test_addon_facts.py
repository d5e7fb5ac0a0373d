"""Facts of the observability add-ons (prometheus, grafana, kiali, jaeger), object by object.

The tables are written from ``../shared/reference/istio-manifest-inventory.md`` §7 (the objects, images and ports of
today's ``samples/addons``; services, probes, args and RBAC from the 1.6/1.7 charts where they still hold) and
``rendering.md`` §2 (6 + 6 + 6 + 5 = 23 objects, images pinned in one place, no default credentials), not from
any golden file. Objects come from the real pipeline (``render_manifests``), so the labels and the
``addonComponents.<name>.hub/tag/namespace/k8s`` handling are the ones ``manifest generate`` and ``install`` use.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate
import kubernetes_validate.utils
import pytest
import yaml

from meshctl import objects as object_model
from meshctl.config import layering
from meshctl.render import pipeline
from tests.unit.facts.helpers import KUBERNETES_VERSIONS, the

REPO = Path(__file__).resolve().parents[3]
ADDONS_DIR = REPO / "manifests" / "addons"
NS = "istio-system"

# The Kubernetes versions every rendered object must validate against: 1.32 up to the newest one shipped.
# --------------------------------------------------------------------------------------------------------------
# Fact tables


@dataclasses.dataclass(frozen=True)
class Service:
    selector: Mapping[str, str]
    ports: tuple[tuple[str, int, int], ...]  # (name, port, container port the targetPort resolves to)


@dataclasses.dataclass(frozen=True)
class Addon:
    key: str  # addonComponents.<key>
    directory: str  # manifests/addons/<directory>
    values_root: str  # values.<values_root> (what templates see as `addon`)
    objects: frozenset[tuple[str, str]]  # (kind, name); cluster-scoped names end in the namespace
    images: tuple[str, ...]  # per container, in order (the first is the main container)
    container_ports: Mapping[str, int]  # main container: name -> port
    services: Mapping[str, Service]
    readiness: tuple[str, int]  # main container: (path, port)
    liveness: tuple[str, int]
    config_map: tuple[str, tuple[str, ...]]  # (name, keys)


PROMETHEUS = Addon(
    key="prometheus",
    directory="prometheus",
    values_root="prometheus",
    objects=frozenset(
        {
            ("ServiceAccount", "prometheus"),
            ("ConfigMap", "prometheus"),
            ("ClusterRole", f"prometheus-{NS}"),
            ("ClusterRoleBinding", f"prometheus-{NS}"),
            ("Service", "prometheus"),
            ("Deployment", "prometheus"),
        }
    ),
    images=(
        "docker.io/prom/prometheus:v3.10.0",
        "quay.io/prometheus-operator/prometheus-config-reloader:v0.81.0",
    ),
    container_ports={"http": 9090},
    services={"prometheus": Service({"app": "prometheus"}, (("http", 9090, 9090),))},
    readiness=("/-/ready", 9090),
    liveness=("/-/healthy", 9090),
    config_map=("prometheus", ("prometheus.yml",)),
)
GRAFANA = Addon(
    key="grafana",
    directory="grafana",
    values_root="grafana",
    objects=frozenset(
        {
            ("ServiceAccount", "grafana"),
            ("ConfigMap", "grafana"),
            ("Service", "grafana"),
            ("Deployment", "grafana"),
            ("ConfigMap", "grafana-dashboard-istio-mesh"),
            ("ConfigMap", "grafana-dashboard-istio-control-plane"),
        }
    ),
    images=("docker.io/grafana/grafana:12.0.1",),
    container_ports={"http": 3000},
    services={"grafana": Service({"app": "grafana"}, (("http", 3000, 3000),))},
    readiness=("/api/health", 3000),
    liveness=("/api/health", 3000),
    config_map=("grafana", ("grafana.ini", "datasources.yaml", "dashboards.yaml")),
)
KIALI = Addon(
    key="kiali",
    directory="kiali",
    values_root="kiali",
    objects=frozenset(
        {
            ("ServiceAccount", "kiali"),
            ("ConfigMap", "kiali"),
            ("ClusterRole", f"kiali-{NS}"),
            ("ClusterRoleBinding", f"kiali-{NS}"),
            ("Service", "kiali"),
            ("Deployment", "kiali"),
        }
    ),
    images=("quay.io/kiali/kiali:v2.27",),
    container_ports={"http": 20001, "http-metrics": 9090},
    services={"kiali": Service({"app": "kiali"}, (("http", 20001, 20001), ("http-metrics", 9090, 9090)))},
    readiness=("/kiali/healthz", 20001),
    liveness=("/kiali/healthz", 20001),
    config_map=("kiali", ("config.yaml",)),
)
JAEGER = Addon(
    key="tracing",
    directory="jaeger",
    values_root="tracing",
    objects=frozenset({
        ("Deployment", "jaeger"), ("ConfigMap", "jaeger"), ("Service", "tracing"), ("Service", "zipkin"),
        ("Service", "jaeger-collector"),
    }),
    images=("docker.io/jaegertracing/jaeger:2.17.0",),
    container_ports={
        "http-query": 16686, "grpc-query": 16685, "jaeger-http": 14268, "jaeger-grpc": 14250, "zipkin": 9411,
        "otlp-grpc": 4317, "otlp-http": 4318, "health": 13133, "metrics": 8888,
    },
    services={
        "tracing": Service({"app": "jaeger"}, (("http-query", 80, 16686), ("grpc-query", 16685, 16685))),
        "zipkin": Service({"app": "jaeger"}, (("http-zipkin", 9411, 9411),)),
        "jaeger-collector": Service({"app": "jaeger"}, (
            ("http-jaeger", 14268, 14268), ("grpc-jaeger", 14250, 14250), ("http-zipkin", 9411, 9411),
            ("grpc-otel", 4317, 4317), ("http-otel", 4318, 4318),
        )),
    },
    readiness=("/status", 13133),
    liveness=("/status", 13133),
    config_map=("jaeger", ("config.yaml",)),
)  # fmt: skip

ADDONS = (PROMETHEUS, GRAFANA, KIALI, JAEGER)
ADDON_IDS = [addon.key for addon in ADDONS]

# The reference's prometheus ClusterRole (§7), plus EndpointSlices, which the istiod job discovers through.
PROMETHEUS_RULES = [
    {"apiGroups": [""], "resources": ["nodes", "nodes/proxy", "services", "endpoints", "pods"],
     "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get"]},
    {"nonResourceURLs": ["/metrics"], "verbs": ["get"]},
]  # fmt: skip

ISTIO_CONFIG_GROUPS = {
    "networking.istio.io", "security.istio.io", "telemetry.istio.io", "extensions.istio.io",
    "gateway.networking.k8s.io",
}  # fmt: skip
WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection", "*"}

# Anything that looks like a credential or a place for one. The ServiceAccount token path Prometheus reads its
# own token from is a file reference, not a credential, and is matched by none of these.
CREDENTIAL_PATTERN = re.compile(
    r"pass(word|wd|phrase)|signing[_-]?key|secret[_-]?key|api[_-]?key|admin_user|secretKeyRef|CHANGEME|"
    r"GF_SECURITY_ADMIN|client[_-]?secret",
    re.IGNORECASE,
)


# --------------------------------------------------------------------------------------------------------------
# Rendering


def render_addons(*sets: str) -> list[dict[str, Any]]:
    """The add-on objects ``manifest generate --component AddonComponents --set …`` prints (default profile)."""
    config = layering.build_effective_config(layering.ConfigInput(sets=sets))
    return pipeline.render_manifests(config, components=["AddonComponents"])


def enable(*addons: Addon) -> tuple[str, ...]:
    return tuple(f"addonComponents.{addon.key}.enabled=true" for addon in addons)


def deployment_name(addon: Addon) -> str:
    return next(name for kind, name in addon.objects if kind == "Deployment")


def pod_spec(objs: list[dict[str, Any]], addon: Addon) -> dict[str, Any]:
    spec: dict[str, Any] = the(objs, "Deployment", deployment_name(addon))["spec"]["template"]["spec"]
    return spec


def config_text(objs: list[dict[str, Any]], addon: Addon, key: str) -> str:
    text: str = the(objs, "ConfigMap", addon.config_map[0])["data"][key]
    return text


def strings_in(value: Any) -> Iterator[str]:
    """Every key and string value in a tree."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)
    elif isinstance(value, str):
        yield value


@pytest.fixture(scope="module")
def demo_objects() -> list[dict[str, Any]]:
    """The demo profile, which enables all four add-ons."""
    return render_addons("profile=demo")


@pytest.fixture(scope="module")
def objects_by_addon(demo_objects: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The demo objects split by add-on (each add-on's objects carry ``app.kubernetes.io/name``)."""
    names = {"prometheus": "prometheus", "grafana": "grafana", "kiali": "kiali", "tracing": "jaeger"}
    split: dict[str, list[dict[str, Any]]] = {key: [] for key in names}
    for obj in demo_objects:
        owner = [key for key, name in names.items() if obj["metadata"]["labels"]["app.kubernetes.io/name"] == name]
        assert len(owner) == 1, obj["metadata"]
        split[owner[0]].append(obj)
    return split


# --------------------------------------------------------------------------------------------------------------
# Objects, counts, labels, validation


def test_demo_renders_the_23_addon_objects(demo_objects: list[dict[str, Any]]) -> None:
    assert len(demo_objects) == 23
    assert {(o["kind"], o["metadata"]["name"]) for o in demo_objects} == set().union(*(a.objects for a in ADDONS))


@pytest.mark.parametrize(("addon", "count"), [(PROMETHEUS, 6), (GRAFANA, 6), (KIALI, 6), (JAEGER, 5)], ids=ADDON_IDS)
def test_each_addon_renders_exactly_its_objects(addon: Addon, count: int) -> None:
    objs = render_addons(*enable(addon))
    assert len(objs) == count == len(addon.objects)
    assert {(o["kind"], o["metadata"]["name"]) for o in objs} == addon.objects


def test_addons_render_only_when_enabled() -> None:
    assert render_addons() == []  # the default profile has none
    assert render_addons("profile=demo", *(f"addonComponents.{key}.enabled=false" for key in ADDON_IDS)) == []
    # Present with `enabled` unset counts as enabled (config.md §1).
    assert len(render_addons("addonComponents.kiali.namespace=istio-system")) == 6


def test_namespaced_objects_are_in_the_istio_namespace(demo_objects: list[dict[str, Any]]) -> None:
    for obj in demo_objects:
        if obj["kind"] in ("ClusterRole", "ClusterRoleBinding"):
            assert "namespace" not in obj["metadata"]
        else:
            assert obj["metadata"]["namespace"] == NS, obj["metadata"]["name"]


def test_every_object_carries_the_component_and_membership_labels(demo_objects: list[dict[str, Any]]) -> None:
    for obj in demo_objects:
        labels = obj["metadata"]["labels"]
        assert labels[object_model.COMPONENT_LABEL] == "AddonComponents"
        assert labels[object_model.MANAGED_BY_LABEL] == "meshctl"
        assert labels[object_model.PART_OF_LABEL]
        assert labels["app"] == labels["app.kubernetes.io/name"]


@pytest.mark.parametrize("k8s_version", KUBERNETES_VERSIONS)
def test_every_addon_object_validates_strictly(k8s_version: str, demo_objects: list[dict[str, Any]]) -> None:
    for obj in demo_objects:
        kubernetes_validate.validate(obj, k8s_version, strict=True)


# --------------------------------------------------------------------------------------------------------------
# Images: pinned in one place, overridden by addonComponents.<name>.hub/tag


@pytest.mark.parametrize("addon", ADDONS, ids=ADDON_IDS)
def test_images(addon: Addon, objects_by_addon: dict[str, list[dict[str, Any]]]) -> None:
    containers = pod_spec(objects_by_addon[addon.key], addon)["containers"]
    assert tuple(c["image"] for c in containers) == addon.images


@pytest.mark.parametrize("addon", ADDONS, ids=ADDON_IDS)
def test_images_are_pinned_only_in_the_addon_values_file(addon: Addon) -> None:
    values = yaml.safe_load((ADDONS_DIR / addon.directory / "values.yaml").read_text(encoding="utf-8"))
    own = values[addon.values_root]
    assert f"{own['hub']}/{own['image']}:{own['tag']}" == addon.images[0]
    for template in (ADDONS_DIR / addon.directory).glob("*.j2"):
        text = template.read_text(encoding="utf-8")
        for image in addon.images:
            hub, _, tag = image.rpartition(":")
            assert hub not in text, f"{template.name} names the image {image}"
            assert f":{tag}" not in text, f"{template.name} names the image {image}"


@pytest.mark.parametrize("addon", ADDONS, ids=ADDON_IDS)
def test_component_hub_and_tag_replace_the_main_image_only(addon: Addon) -> None:
    # The global hub/tag are Istio's (docker.io/istio, 1.30.3): they never apply to add-on images.
    objs = render_addons(
        *enable(addon),
        f"addonComponents.{addon.key}.hub=registry.example/mirror",
        f"addonComponents.{addon.key}.tag=9.9.9",
        "hub=gcr.io/istio-testing",
        "tag=latest",
    )
    containers = pod_spec(objs, addon)["containers"]
    name = addon.images[0].rpartition("/")[2].partition(":")[0]
    assert containers[0]["image"] == f"registry.example/mirror/{name}:9.9.9"
    assert tuple(c["image"] for c in containers[1:]) == addon.images[1:]


def test_global_hub_and_tag_do_not_reach_addon_images() -> None:
    objs = render_addons("profile=demo", "hub=gcr.io/istio-testing", "tag=latest")
    for addon in ADDONS:
        assert tuple(c["image"] for c in pod_spec(objs, addon)["containers"]) == addon.images


# --------------------------------------------------------------------------------------------------------------
# Ports, services, probes


@pytest.mark.parametrize("addon", ADDONS, ids=ADDON_IDS)
def test_main_container_ports(addon: Addon, objects_by_addon: dict[str, list[dict[str, Any]]]) -> None:
    main = pod_spec(objects_by_addon[addon.key], addon)["containers"][0]
    assert {p["name"]: p["containerPort"] for p in main["ports"]} == dict(addon.container_ports)
    assert all(p["protocol"] == "TCP" for p in main["ports"])


@pytest.mark.parametrize("addon", ADDONS, ids=ADDON_IDS)
def test_services_ports_and_selectors(addon: Addon, objects_by_addon: dict[str, list[dict[str, Any]]]) -> None:
    objs = objects_by_addon[addon.key]
    template = the(objs, "Deployment", deployment_name(addon))["spec"]["template"]
    container_ports = {p["name"]: p["containerPort"] for c in template["spec"]["containers"] for p in c["ports"]}
    for name, fact in addon.services.items():
        service = the(objs, "Service", name)
        assert service["spec"]["type"] == "ClusterIP"
        assert service["spec"]["selector"] == dict(fact.selector)
        assert fact.selector.items() <= template["metadata"]["labels"].items()
        ports = []
        for port in service["spec"]["ports"]:
            target = port["targetPort"]
            ports.append((port["name"], port["port"], container_ports[target] if isinstance(target, str) else target))
        assert tuple(ports) == fact.ports


@pytest.mark.parametrize("addon", ADDONS, ids=ADDON_IDS)
def test_probes(addon: Addon, objects_by_addon: dict[str, list[dict[str, Any]]]) -> None:
    containers = pod_spec(objects_by_addon[addon.key], addon)["containers"]
    main = containers[0]
    for probe, (path, port) in (("readinessProbe", addon.readiness), ("livenessProbe", addon.liveness)):
        assert main[probe]["httpGet"] == {"path": path, "port": port}
    for container in containers:
        assert "readinessProbe" in container, container["name"]


def test_deployment_selectors_match_their_pods(demo_objects: list[dict[str, Any]]) -> None:
    for obj in demo_objects:
        if obj["kind"] == "Deployment":
            selector = obj["spec"]["selector"]["matchLabels"]
            assert selector == {"app": obj["metadata"]["name"]}
            assert selector.items() <= obj["spec"]["template"]["metadata"]["labels"].items()


# --------------------------------------------------------------------------------------------------------------
# Security contexts, resources, volumes


@pytest.mark.parametrize("addon", ADDONS, ids=ADDON_IDS)
def test_workloads_run_restricted(addon: Addon, objects_by_addon: dict[str, list[dict[str, Any]]]) -> None:
    spec = pod_spec(objects_by_addon[addon.key], addon)
    assert spec["securityContext"]["runAsNonRoot"] is True
    assert spec["securityContext"]["runAsUser"] > 0
    assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "hostNetwork" not in spec
    assert "hostPID" not in spec
    for container in spec["containers"]:
        context = container["securityContext"]
        assert context["allowPrivilegeEscalation"] is False
        assert context["readOnlyRootFilesystem"] is True
        assert context["capabilities"] == {"drop": ["ALL"]}
        assert "privileged" not in context


@pytest.mark.parametrize("addon", ADDONS, ids=ADDON_IDS)
def test_every_container_requests_cpu_and_memory(
    addon: Addon, objects_by_addon: dict[str, list[dict[str, Any]]]
) -> None:
    for container in pod_spec(objects_by_addon[addon.key], addon)["containers"]:
        assert set(container["resources"]["requests"]) == {"cpu", "memory"}, container["name"]


@pytest.mark.parametrize(
    ("addon", "writable"),
    [(PROMETHEUS, {"/data"}), (GRAFANA, {"/var/lib/grafana", "/tmp"}), (KIALI, set()), (JAEGER, {"/tmp"})],
    ids=ADDON_IDS,
)
def test_writable_paths_are_empty_dirs_and_config_maps_exist(
    addon: Addon, writable: set[str], objects_by_addon: dict[str, list[dict[str, Any]]]
) -> None:
    objs = objects_by_addon[addon.key]
    spec = pod_spec(objs, addon)
    volumes = {v["name"]: v for v in spec["volumes"]}
    main = spec["containers"][0]
    mounted_rw = {m["mountPath"] for m in main["volumeMounts"] if not m.get("readOnly")}
    assert mounted_rw == writable
    for mount in main["volumeMounts"]:
        volume = volumes[mount["name"]]
        if mount.get("readOnly"):
            assert "configMap" in volume
        else:
            assert volume == {"name": mount["name"], "emptyDir": {}}
    config_maps = {o["metadata"]["name"]: o for o in objs if o["kind"] == "ConfigMap"}
    for volume in volumes.values():
        if "configMap" in volume:
            data = config_maps[volume["configMap"]["name"]]["data"]
            assert {item["key"] for item in volume["configMap"].get("items", [])} <= data.keys()


@pytest.mark.parametrize("addon", ADDONS, ids=ADDON_IDS)
def test_addon_pods_are_not_injected(addon: Addon, objects_by_addon: dict[str, list[dict[str, Any]]]) -> None:
    deployment = the(objects_by_addon[addon.key], "Deployment", deployment_name(addon))
    assert deployment["spec"]["template"]["metadata"]["labels"]["sidecar.istio.io/inject"] == "false"


@pytest.mark.parametrize(
    ("addon", "account", "token"),
    [(PROMETHEUS, "prometheus", True), (GRAFANA, "grafana", False), (KIALI, "kiali", True), (JAEGER, None, False)],
    ids=ADDON_IDS,
)
def test_service_accounts_and_tokens(
    addon: Addon, account: str | None, token: bool, objects_by_addon: dict[str, list[dict[str, Any]]]
) -> None:
    spec = pod_spec(objects_by_addon[addon.key], addon)
    assert spec.get("serviceAccountName") == account
    assert spec.get("automountServiceAccountToken", True) is token
    if account:
        the(objects_by_addon[addon.key], "ServiceAccount", account)


@pytest.mark.parametrize("addon", ADDONS, ids=ADDON_IDS)
def test_config_map_keys(addon: Addon, objects_by_addon: dict[str, list[dict[str, Any]]]) -> None:
    name, keys = addon.config_map
    assert tuple(the(objects_by_addon[addon.key], "ConfigMap", name)["data"]) == keys


# --------------------------------------------------------------------------------------------------------------
# No credentials


def test_no_secret_and_nothing_credential_like(demo_objects: list[dict[str, Any]]) -> None:
    assert not [o for o in demo_objects if o["kind"] == "Secret"]
    for obj in demo_objects:
        for text in strings_in(obj):
            assert not CREDENTIAL_PATTERN.search(text), f"{obj['kind']} {obj['metadata']['name']}: {text[:200]}"


def test_no_environment_variable_carries_a_credential(demo_objects: list[dict[str, Any]]) -> None:
    for obj in demo_objects:
        if obj["kind"] == "Deployment":
            for container in obj["spec"]["template"]["spec"]["containers"]:
                for env in container.get("env", []):
                    assert "valueFrom" not in env or "secretKeyRef" not in env["valueFrom"]
                    assert not re.search(r"PASS|SECRET|TOKEN|KEY", env["name"]), env["name"]


# --------------------------------------------------------------------------------------------------------------
# prometheus


def test_prometheus_rbac(objects_by_addon: dict[str, list[dict[str, Any]]]) -> None:
    objs = objects_by_addon["prometheus"]
    assert the(objs, "ClusterRole", f"prometheus-{NS}")["rules"] == PROMETHEUS_RULES
    binding = the(objs, "ClusterRoleBinding", f"prometheus-{NS}")
    assert binding["roleRef"] == {
        "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": f"prometheus-{NS}",
    }  # fmt: skip
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "prometheus", "namespace": NS}]


def test_prometheus_args_and_mounts(objects_by_addon: dict[str, list[dict[str, Any]]]) -> None:
    prometheus, reloader = pod_spec(objects_by_addon["prometheus"], PROMETHEUS)["containers"]
    assert prometheus["name"] == "prometheus"
    assert prometheus["args"] == [
        "--config.file=/etc/config/prometheus.yml",
        "--storage.tsdb.path=/data",
        "--storage.tsdb.retention.time=6h",
        "--web.enable-lifecycle",
    ]
    mounts = {m["mountPath"]: m["name"] for m in prometheus["volumeMounts"]}
    assert mounts == {"/etc/config": "config", "/data": "data"}
    assert reloader["name"] == "config-reloader"
    assert "--watched-dir=/etc/config" in reloader["args"]
    assert "--reload-url=http://127.0.0.1:9090/-/reload" in reloader["args"]


@pytest.fixture(scope="module")
def prometheus_config(objects_by_addon: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(config_text(objects_by_addon["prometheus"], PROMETHEUS, "prometheus.yml"))
    return config


def job(config: Mapping[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(j for j in config["scrape_configs"] if j["job_name"] == name)
    return found


def relabel(rules: list[dict[str, Any]], labels: dict[str, str]) -> dict[str, str] | None:
    """Apply Prometheus relabel rules (keep, drop, replace, labelmap) to a label set; None when dropped.

    Regexes are anchored at both ends, as Prometheus anchors them; ``$1`` in replacements is group 1.
    """
    labels = dict(labels)
    for rule in rules:
        action = rule.get("action", "replace")
        regex = re.compile(rule.get("regex", "(.*)"))
        value = rule.get("separator", ";").join(labels.get(s, "") for s in rule.get("source_labels", []))
        if action == "keep" and not regex.fullmatch(value):
            return None
        if action == "drop" and regex.fullmatch(value):
            return None
        if action == "replace":
            match = regex.fullmatch(value)
            if match:
                replacement = re.sub(r"\$(\d+)", r"\\\1", rule.get("replacement", "$1"))
                labels[rule["target_label"]] = match.expand(replacement)
        if action == "labelmap":
            for name in list(labels):
                match = regex.fullmatch(name)
                if match:
                    labels[match.expand(r"\1")] = labels[name]
    return labels


def test_prometheus_scrape_jobs(prometheus_config: dict[str, Any]) -> None:
    assert prometheus_config["global"]["scrape_interval"] == "15s"
    assert [j["job_name"] for j in prometheus_config["scrape_configs"]] == [
        "prometheus", "istiod", "envoy-stats", "kubernetes-pods", "kubernetes-nodes-cadvisor",
    ]  # fmt: skip
    istiod = job(prometheus_config, "istiod")
    assert istiod["kubernetes_sd_configs"] == [{"role": "endpointslice", "namespaces": {"names": [NS]}}]
    assert job(prometheus_config, "envoy-stats")["metrics_path"] == "/stats/prometheus"


def test_prometheus_istiod_job_keeps_only_the_monitoring_port(prometheus_config: dict[str, Any]) -> None:
    rules = job(prometheus_config, "istiod")["relabel_configs"]
    monitoring = {
        "__meta_kubernetes_service_label_app": "istiod",
        "__meta_kubernetes_endpointslice_port_name": "http-monitoring",
        "__meta_kubernetes_namespace": NS,
        "__meta_kubernetes_pod_name": "istiod-abc",
    }
    assert relabel(rules, monitoring) == {**monitoring, "namespace": NS, "pod": "istiod-abc"}
    assert relabel(rules, {**monitoring, "__meta_kubernetes_endpointslice_port_name": "grpc-xds"}) is None


def test_prometheus_envoy_stats_job_scrapes_unannotated_proxies(prometheus_config: dict[str, Any]) -> None:
    rules = job(prometheus_config, "envoy-stats")["relabel_configs"]
    proxy = {"__address__": "10.0.0.7:15090", "__meta_kubernetes_pod_container_port_name": "http-envoy-prom"}
    assert relabel(rules, proxy) is not None
    assert relabel(rules, {**proxy, "__meta_kubernetes_pod_annotation_prometheus_io_scrape": "true"}) is None
    assert relabel(rules, {**proxy, "__meta_kubernetes_pod_container_port_name": "http"}) is None


@pytest.mark.parametrize(("pod_ip", "address"), [("10.0.0.7", "10.0.0.7:15020"), ("fd00:10::7", "[fd00:10::7]:15020")])
def test_prometheus_pods_job_follows_the_annotations(
    prometheus_config: dict[str, Any], pod_ip: str, address: str
) -> None:
    rules = job(prometheus_config, "kubernetes-pods")["relabel_configs"]
    pod = {
        "__address__": f"{pod_ip}:8080",
        "__meta_kubernetes_pod_ip": pod_ip,
        "__meta_kubernetes_pod_phase": "Running",
        "__meta_kubernetes_pod_label_app": "reviews",
        "__meta_kubernetes_pod_annotation_prometheus_io_scrape": "true",
        "__meta_kubernetes_pod_annotation_prometheus_io_port": "15020",
        "__meta_kubernetes_pod_annotation_prometheus_io_path": "/stats/prometheus",
    }
    labels = relabel(rules, pod)
    assert labels is not None
    assert labels["__address__"] == address
    assert labels["__metrics_path__"] == "/stats/prometheus"
    assert labels["app"] == "reviews"
    assert relabel(rules, {**pod, "__meta_kubernetes_pod_annotation_prometheus_io_scrape": "false"}) is None
    assert relabel(rules, {**pod, "__meta_kubernetes_pod_phase": "Succeeded"}) is None
    # istiod is annotated too, but its own job scrapes it.
    assert relabel(rules, {**pod, "__meta_kubernetes_pod_label_app": "istiod"}) is None


def test_prometheus_cadvisor_job_goes_through_the_api_server(prometheus_config: dict[str, Any]) -> None:
    rules = job(prometheus_config, "kubernetes-nodes-cadvisor")["relabel_configs"]
    labels = relabel(rules, {"__address__": "10.0.0.1:10250", "__meta_kubernetes_node_name": "node-1"})
    assert labels is not None
    assert labels["__address__"] == "kubernetes.default.svc:443"
    assert labels["__metrics_path__"] == "/api/v1/nodes/node-1/proxy/metrics/cadvisor"


def test_prometheus_follows_the_istio_and_addon_namespaces() -> None:
    objs = render_addons("addonComponents.prometheus.namespace=monitoring", "values.global.istioNamespace=mesh-system")
    assert {o["metadata"].get("namespace") for o in objs} == {"monitoring", None}
    binding = the(objs, "ClusterRoleBinding", "prometheus-monitoring")
    assert binding["subjects"][0]["namespace"] == "monitoring"
    config = yaml.safe_load(the(objs, "ConfigMap", "prometheus")["data"]["prometheus.yml"])
    # The istiod job looks where istiod is, not where the add-on is.
    assert job(config, "istiod")["kubernetes_sd_configs"][0]["namespaces"]["names"] == ["mesh-system"]


# --------------------------------------------------------------------------------------------------------------
# grafana


def grafana_ini(objs: list[dict[str, Any]]) -> dict[str, dict[str, str]]:
    sections: dict[str, dict[str, str]] = {}
    current: dict[str, str] = {}
    for line in config_text(objs, GRAFANA, "grafana.ini").splitlines():
        line = line.strip()
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), {})
        elif "=" in line:
            key, _, value = line.partition("=")
            current[key.strip()] = value.strip()
    return sections


def test_grafana_has_no_admin_and_anonymous_viewers(objects_by_addon: dict[str, list[dict[str, Any]]]) -> None:
    ini = grafana_ini(objects_by_addon["grafana"])
    assert ini["security"] == {"disable_initial_admin_creation": "true"}
    assert ini["auth"] == {"disable_login_form": "true"}
    assert ini["auth.basic"] == {"enabled": "false"}
    assert ini["auth.anonymous"]["enabled"] == "true"
    assert ini["auth.anonymous"]["org_role"] == "Viewer"
    assert ini["users"]["allow_sign_up"] == "false"


def test_grafana_paths_are_on_its_volumes(objects_by_addon: dict[str, list[dict[str, Any]]]) -> None:
    container = pod_spec(objects_by_addon["grafana"], GRAFANA)["containers"][0]
    env = {e["name"]: e["value"] for e in container["env"]}
    assert list(env) == ["GF_PATHS_CONFIG", "GF_PATHS_DATA", "GF_PATHS_PROVISIONING", "GF_PATHS_LOGS"]
    writable = [m["mountPath"] for m in container["volumeMounts"] if not m.get("readOnly")]
    assert env["GF_PATHS_CONFIG"] == "/etc/grafana/grafana.ini"
    assert env["GF_PATHS_PROVISIONING"] == "/etc/grafana/provisioning"
    for name in ("GF_PATHS_DATA", "GF_PATHS_LOGS"):
        assert any(env[name] == path or env[name].startswith(path + "/") for path in writable), name


def test_grafana_data_source_is_the_prometheus_service(objects_by_addon: dict[str, list[dict[str, Any]]]) -> None:
    sources = yaml.safe_load(config_text(objects_by_addon["grafana"], GRAFANA, "datasources.yaml"))["datasources"]
    assert sources == [{
        "name": "Prometheus", "uid": "prometheus", "type": "prometheus", "access": "proxy",
        "url": f"http://prometheus.{NS}:9090", "isDefault": True, "editable": False,
    }]  # fmt: skip


def test_grafana_mounts_and_provisions_both_dashboards(objects_by_addon: dict[str, list[dict[str, Any]]]) -> None:
    objs = objects_by_addon["grafana"]
    spec = pod_spec(objs, GRAFANA)
    providers = yaml.safe_load(config_text(objs, GRAFANA, "dashboards.yaml"))["providers"]
    assert len(providers) == 1
    assert (providers[0]["folder"], providers[0]["type"]) == ("Istio", "file")
    root = providers[0]["options"]["path"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    mounted = {
        volumes[m["name"]]["configMap"]["name"]: m["mountPath"]
        for m in spec["containers"][0]["volumeMounts"]
        if "configMap" in volumes[m["name"]]
    }
    assert mounted["grafana"] == "/etc/grafana"
    for name in ("grafana-dashboard-istio-mesh", "grafana-dashboard-istio-control-plane"):
        assert mounted[name].startswith(root + "/"), name
    config_items = {i["key"]: i["path"] for i in volumes["config"]["configMap"]["items"]}
    assert config_items == {
        "grafana.ini": "grafana.ini",
        "datasources.yaml": "provisioning/datasources/datasources.yaml",
        "dashboards.yaml": "provisioning/dashboards/dashboards.yaml",
    }


DASHBOARD_METRICS = {
    "grafana-dashboard-istio-mesh": (
        "Istio Mesh",
        {"istio_requests_total", "istio_request_duration_milliseconds_bucket", "istio_tcp_sent_bytes_total",
         "istio_tcp_received_bytes_total"},
    ),
    "grafana-dashboard-istio-control-plane": (
        "Istio Control Plane",
        {"pilot_xds_pushes", "pilot_xds", "pilot_proxy_convergence_time_bucket", "pilot_push_triggers",
         "sidecar_injection_success_total", "galley_validation_passed"},
    ),
}  # fmt: skip


def panels_of(dashboard: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in dashboard["panels"]:
        yield panel
        yield from panel.get("panels", [])


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads: identifiers that are not functions, keywords or label names."""
    stripped = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\b(by|without) *\([^)]*\)", " ", expr)
    names = set(re.findall(r"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?! *\()", stripped))
    return names - {"by", "without", "or", "and", "unless", "on", "ignoring", "bool", "offset"}


def test_metric_names() -> None:
    expr = 'sum by (le) (rate(a_bucket{x="y"}[5m])) / sum(b) or vector(0)'
    assert metric_names(expr) == {"a_bucket", "b"}


@pytest.mark.parametrize("config_map", sorted(DASHBOARD_METRICS))
def test_grafana_dashboards(config_map: str, objects_by_addon: dict[str, list[dict[str, Any]]]) -> None:
    title, metrics = DASHBOARD_METRICS[config_map]
    data = the(objects_by_addon["grafana"], "ConfigMap", config_map)["data"]
    assert len(data) == 1
    (key, text), = data.items()  # fmt: skip
    assert key.endswith(".json")
    dashboard = json.loads(text)
    assert dashboard["title"] == title
    assert 0 < len(dashboard["uid"]) <= 40
    panels = list(panels_of(dashboard))
    assert len({p["id"] for p in panels}) == len(panels)
    expressions = [t["expr"] for p in panels for t in p.get("targets", [])]
    assert expressions
    used = set().union(*(metric_names(expr) for expr in expressions))
    assert metrics <= used
    for panel in panels:
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}
            assert all(t["datasource"] == panel["datasource"] for t in panel["targets"])


def test_grafana_dashboards_are_the_files_unrendered(objects_by_addon: dict[str, list[dict[str, Any]]]) -> None:
    for config_map in DASHBOARD_METRICS:
        (key, text), = the(objects_by_addon["grafana"], "ConfigMap", config_map)["data"].items()  # fmt: skip
        assert text == (ADDONS_DIR / "grafana" / "dashboards" / key).read_text(encoding="utf-8")
        assert "{{" in text  # legend templates reach Grafana as written


def test_grafana_anonymous_role_is_a_value() -> None:
    objs = render_addons(*enable(GRAFANA), "values.grafana.anonymousRole=Editor")
    assert grafana_ini(objs)["auth.anonymous"]["org_role"] == "Editor"


# --------------------------------------------------------------------------------------------------------------
# kiali


def kiali_rules(objs: list[dict[str, Any]], namespace: str = NS) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = the(objs, "ClusterRole", f"kiali-{namespace}")["rules"]
    return rules


def test_kiali_config(objects_by_addon: dict[str, list[dict[str, Any]]]) -> None:
    config = yaml.safe_load(config_text(objects_by_addon["kiali"], KIALI, "config.yaml"))
    assert config["auth"] == {"strategy": "anonymous"}
    assert config["deployment"]["view_only_mode"] is True
    assert config["deployment"]["cluster_wide_access"] is True
    assert config["istio_namespace"] == NS
    assert config["server"]["port"] == 20001
    assert config["server"]["web_root"] == "/kiali"
    assert config["server"]["observability"]["metrics"] == {"enabled": True, "port": 9090}
    services = config["external_services"]
    # Each address is an in-cluster Service of another add-on, at the port that Service serves.
    assert services["prometheus"]["url"] == f"http://prometheus.{NS}:9090"
    assert services["grafana"]["internal_url"] == f"http://grafana.{NS}:3000"
    assert services["tracing"]["internal_url"] == f"http://tracing.{NS}:16685/jaeger"
    assert services["tracing"]["use_grpc"] is True
    assert "login_token" not in config


def test_kiali_command_annotations_and_env(objects_by_addon: dict[str, list[dict[str, Any]]]) -> None:
    template = the(objects_by_addon["kiali"], "Deployment", "kiali")["spec"]["template"]
    assert template["metadata"]["annotations"] == {"prometheus.io/scrape": "true", "prometheus.io/port": "9090"}
    container = template["spec"]["containers"][0]
    assert container["command"] == ["/opt/kiali/kiali", "-config", "/kiali-configuration/config.yaml"]
    assert [e["name"] for e in container["env"]] == ["ACTIVE_NAMESPACE", "LOG_LEVEL", "LOG_FORMAT"]
    assert container["volumeMounts"] == [{"name": "config", "mountPath": "/kiali-configuration", "readOnly": True}]


def test_kiali_is_read_only_by_default(objects_by_addon: dict[str, list[dict[str, Any]]]) -> None:
    rules = kiali_rules(objects_by_addon["kiali"])
    for rule in rules:
        if rule["verbs"] != ["create"]:
            assert set(rule["verbs"]) == {"get", "list", "watch"}, rule
    creatable = {r for rule in rules if rule["verbs"] == ["create"] for r in rule["resources"]}
    assert creatable == {"pods/portforward", "tokenreviews", "selfsubjectaccessreviews"}
    reads = {g for rule in rules for g in rule.get("apiGroups", [])}
    assert reads >= ISTIO_CONFIG_GROUPS
    binding = the(objects_by_addon["kiali"], "ClusterRoleBinding", f"kiali-{NS}")
    assert binding["roleRef"]["name"] == f"kiali-{NS}"
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "kiali", "namespace": NS}]


def test_kiali_view_only_mode_off_grants_writes_on_istio_config() -> None:
    objs = render_addons(*enable(KIALI), "values.kiali.viewOnlyMode=false")
    config = yaml.safe_load(the(objs, "ConfigMap", "kiali")["data"]["config.yaml"])
    assert config["deployment"]["view_only_mode"] is False
    writable = {
        group for rule in kiali_rules(objs) if WRITE_VERBS & set(rule["verbs"]) for group in rule.get("apiGroups", [])
    }
    assert writable >= ISTIO_CONFIG_GROUPS


def test_kiali_follows_its_namespace() -> None:
    objs = render_addons("addonComponents.kiali.namespace=observability")
    assert {o["metadata"].get("namespace") for o in objs} == {"observability", None}
    assert the(objs, "ClusterRoleBinding", "kiali-observability")["subjects"][0]["namespace"] == "observability"
    config = yaml.safe_load(the(objs, "ConfigMap", "kiali")["data"]["config.yaml"])
    assert config["istio_namespace"] == NS
    assert config["external_services"]["prometheus"]["url"] == "http://prometheus.observability:9090"
    custom = render_addons(*enable(KIALI), "values.kiali.prometheusAddress=http://prom.example:9090")
    config = yaml.safe_load(the(custom, "ConfigMap", "kiali")["data"]["config.yaml"])
    assert config["external_services"]["prometheus"]["url"] == "http://prom.example:9090"


# --------------------------------------------------------------------------------------------------------------
# jaeger


@pytest.fixture(scope="module")
def jaeger_config(objects_by_addon: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    config: dict[str, Any] = yaml.safe_load(config_text(objects_by_addon["tracing"], JAEGER, "config.yaml"))
    return config


def port_of(endpoint: str) -> int:
    return int(endpoint.rpartition(":")[2])


def test_jaeger_config_listens_on_the_container_ports(jaeger_config: dict[str, Any]) -> None:
    ports = JAEGER.container_ports
    receivers = jaeger_config["receivers"]
    assert port_of(receivers["otlp"]["protocols"]["grpc"]["endpoint"]) == ports["otlp-grpc"]
    assert port_of(receivers["otlp"]["protocols"]["http"]["endpoint"]) == ports["otlp-http"]
    assert port_of(receivers["jaeger"]["protocols"]["grpc"]["endpoint"]) == ports["jaeger-grpc"]
    assert port_of(receivers["jaeger"]["protocols"]["thrift_http"]["endpoint"]) == ports["jaeger-http"]
    assert port_of(receivers["zipkin"]["endpoint"]) == ports["zipkin"]
    query = jaeger_config["extensions"]["jaeger_query"]
    assert port_of(query["http"]["endpoint"]) == ports["http-query"]
    assert port_of(query["grpc"]["endpoint"]) == ports["grpc-query"]
    assert query["base_path"] == "/jaeger"
    assert port_of(jaeger_config["extensions"]["healthcheckv2"]["http"]["endpoint"]) == JAEGER.readiness[1]
    metrics = jaeger_config["service"]["telemetry"]["metrics"]["readers"][0]["pull"]["exporter"]["prometheus"]
    assert metrics["port"] == ports["metrics"]


def test_jaeger_pipeline_refers_to_what_is_defined(jaeger_config: dict[str, Any]) -> None:
    service = jaeger_config["service"]
    assert set(service["extensions"]) == set(jaeger_config["extensions"])
    traces = service["pipelines"]["traces"]
    for part in ("receivers", "processors", "exporters"):
        assert set(traces[part]) == set(jaeger_config[part])
    backends = jaeger_config["extensions"]["jaeger_storage"]["backends"]
    assert set(backends) == {"memstore"}
    assert backends["memstore"] == {"memory": {"max_traces": 50000}}
    assert jaeger_config["extensions"]["jaeger_query"]["storage"] == {"traces": "memstore"}
    assert jaeger_config["exporters"]["jaeger_storage_exporter"] == {"trace_storage": "memstore"}


def test_jaeger_deployment(objects_by_addon: dict[str, list[dict[str, Any]]]) -> None:
    template = the(objects_by_addon["tracing"], "Deployment", "jaeger")["spec"]["template"]
    assert template["metadata"]["annotations"] == {"prometheus.io/scrape": "true", "prometheus.io/port": "8888"}
    container = template["spec"]["containers"][0]
    assert container["name"] == "jaeger"
    assert container["args"] == ["--config=/etc/jaeger/config.yaml"]


# --------------------------------------------------------------------------------------------------------------
# k8s settings reach the add-ons' main containers


def test_k8s_resources_merge_into_the_main_container() -> None:
    objs = render_addons(*enable(PROMETHEUS), "addonComponents.prometheus.k8s.resources.requests.memory=2Gi")
    prometheus, reloader = pod_spec(objs, PROMETHEUS)["containers"]
    assert prometheus["resources"] == {"requests": {"cpu": "50m", "memory": "2Gi"}}
    assert reloader["resources"] == {"requests": {"cpu": "10m", "memory": "32Mi"}}


def test_image_pull_settings_reach_every_container() -> None:
    objs = render_addons(
        "profile=demo", "values.global.imagePullPolicy=Always", "values.global.imagePullSecrets[0]=mirror-pull"
    )
    for addon in ADDONS:
        spec = pod_spec(objs, addon)
        assert spec["imagePullSecrets"] == [{"name": "mirror-pull"}]
        assert {c["imagePullPolicy"] for c in spec["containers"]} == {"Always"}
