"""What injection puts into a pod: the facts of istiod's injector, for a set of pods and settings."""

from __future__ import annotations

import json

import pytest

from meshctl import errors
from meshctl.inject import settings
from tests.unit.inject.helpers import conf, container, deployment, env_of, find, inject, pod_spec, template_of

PROXY_IMAGE = "docker.io/istio/proxyv2:1.30.3"
VOLUMES = {
    "workload-socket",
    "credential-socket",
    "workload-certs",
    "istio-envoy",
    "istio-data",
    "istio-podinfo",
    "istio-token",
    "istiod-ca-cert",
}


def injected(obj: dict, *sets: str) -> dict:
    out, count, notes = inject(obj, conf(*sets))
    assert count == 1, notes
    return template_of(out)


def test_default_injection_native_sidecar() -> None:
    template = injected(deployment(pod_spec(container("web", ports=[{"containerPort": 8080}]))))
    spec, meta = template["spec"], template["metadata"]
    assert [c["name"] for c in spec["initContainers"]] == ["istio-init", "istio-proxy"]
    assert [c["name"] for c in spec["containers"]] == ["web"]
    init = find(spec, "istio-init")
    assert init["image"] == PROXY_IMAGE
    assert init["args"][:3] == ["istio-iptables", "-p", "15001"]
    assert init["args"][init["args"].index("-d") + 1] == "15090,15021,15020"
    assert init["securityContext"]["capabilities"]["add"] == ["NET_ADMIN", "NET_RAW"]
    proxy = find(spec, "istio-proxy")
    assert proxy["image"] == PROXY_IMAGE
    assert proxy["restartPolicy"] == "Always"
    assert proxy["args"][:2] == ["proxy", "sidecar"]
    assert proxy["ports"] == [{"name": "http-envoy-prom", "containerPort": 15090, "protocol": "TCP"}]
    assert proxy["readinessProbe"]["httpGet"] == {"path": "/healthz/ready", "port": 15021}
    assert proxy["startupProbe"]["httpGet"]["port"] == 15021
    assert proxy["securityContext"]["runAsUser"] == 1337
    assert proxy["securityContext"]["readOnlyRootFilesystem"] is True
    env = env_of(proxy)
    assert env["ISTIO_META_WORKLOAD_NAME"] == "web"
    assert env["ISTIO_META_OWNER"] == "kubernetes://apis/apps/v1/namespaces/shop/deployments/web"
    assert json.loads(env["ISTIO_META_POD_PORTS"]) == [{"containerPort": 8080, "protocol": "TCP"}]
    assert env["ISTIO_META_APP_CONTAINERS"] == "web"
    assert json.loads(env["PROXY_CONFIG"]) == {"discoveryAddress": "istiod.istio-system.svc:15012"}
    assert {m["name"] for m in proxy["volumeMounts"]} == VOLUMES
    assert {v["name"] for v in spec["volumes"]} == VOLUMES
    assert meta["labels"]["security.istio.io/tlsMode"] == "istio"
    assert meta["labels"]["service.istio.io/canonical-name"] == "web"
    annotations = meta["annotations"]
    assert annotations["istio.io/rev"] == "default"
    assert annotations["prometheus.io/port"] == "15020"
    assert annotations["prometheus.io/path"] == "/stats/prometheus"
    status = json.loads(annotations["sidecar.istio.io/status"])
    assert status == {
        "initContainers": ["istio-init", "istio-proxy"],
        "containers": None,
        "volumes": sorted(VOLUMES, key=[v["name"] for v in spec["volumes"]].index),
        "imagePullSecrets": None,
        "revision": "default",
    }


def test_classic_sidecar_is_last_unless_the_application_waits_for_it() -> None:
    spec = injected(
        deployment(pod_spec(container("a"), container("b"))), "values.pilot.env.ENABLE_NATIVE_SIDECARS=false"
    )["spec"]
    assert [c["name"] for c in spec["containers"]] == ["a", "b", "istio-proxy"]
    assert [c["name"] for c in spec["initContainers"]] == ["istio-init"]
    held = injected(
        deployment(pod_spec(container("a"), container("b"))),
        "values.pilot.env.ENABLE_NATIVE_SIDECARS=false",
        "values.global.proxy.holdApplicationUntilProxyStarts=true",
    )["spec"]
    assert [c["name"] for c in held["containers"]] == ["istio-proxy", "a", "b"]
    assert find(held, "istio-proxy")["lifecycle"]["postStart"]["exec"]["command"] == ["pilot-agent", "wait"]


def test_user_init_containers_run_after_istio_init_and_the_native_proxy() -> None:
    spec = injected(deployment(pod_spec(container("web"), initContainers=[container("migrate")])))["spec"]
    assert [c["name"] for c in spec["initContainers"]] == ["istio-init", "istio-proxy", "migrate"]
    classic = injected(
        deployment(pod_spec(container("web"), initContainers=[container("migrate")])),
        "values.pilot.env.ENABLE_NATIVE_SIDECARS=false",
    )["spec"]
    assert [c["name"] for c in classic["initContainers"]] == ["migrate", "istio-init"]


def test_cni_uses_the_validation_init_container_first() -> None:
    spec = injected(
        deployment(pod_spec(container("web"), initContainers=[container("migrate")])),
        "components.cni.enabled=true",
        "values.pilot.cni.enabled=true",
        "values.pilot.env.ENABLE_NATIVE_SIDECARS=false",
    )["spec"]
    assert [c["name"] for c in spec["initContainers"]] == ["istio-validation", "migrate"]
    validation = find(spec, "istio-validation")
    assert validation["args"][-2:] == ["--run-validation", "--skip-rule-apply"]
    assert validation["securityContext"]["runAsNonRoot"] is True


def test_revision_and_annotations_reach_the_proxy() -> None:
    annotations = {
        "sidecar.istio.io/proxyCPU": "50m",
        "sidecar.istio.io/proxyMemoryLimit": "512Mi",
        "sidecar.istio.io/interceptionMode": "TPROXY",
        "traffic.sidecar.istio.io/excludeOutboundPorts": "5432",
        "status.sidecar.istio.io/port": "15099",
        "proxy.istio.io/config": "proxyMetadata:\n  DNS_CAPTURE: 'true'\n",
    }
    template = injected(deployment(annotations=annotations), "revision=canary")
    spec = template["spec"]
    proxy = find(spec, "istio-proxy")
    assert proxy["resources"] == {"requests": {"cpu": "50m"}, "limits": {"memory": "512Mi"}}
    assert proxy["securityContext"]["capabilities"]["add"] == ["NET_ADMIN"]
    env = env_of(proxy)
    assert env["DNS_CAPTURE"] == "true"
    assert env["CA_ADDR"] == "istiod-canary.istio-system.svc:15012"
    assert json.loads(env["PROXY_CONFIG"])["proxyMetadata"] == {"DNS_CAPTURE": "true"}
    init_args = find(spec, "istio-init")["args"]
    assert init_args[init_args.index("-m") + 1] == "TPROXY"
    assert init_args[init_args.index("-d") + 1] == "15090,15021,15099"
    assert init_args[init_args.index("-o") + 1] == "5432"
    assert template["metadata"]["annotations"]["istio.io/rev"] == "canary"
    assert json.loads(template["metadata"]["annotations"]["sidecar.istio.io/status"])["revision"] == "canary"


def test_probes_are_rewritten_to_the_agent() -> None:
    app = container(
        "web",
        ports=[{"name": "http", "containerPort": 8080}],
        readinessProbe={"httpGet": {"path": "/ready", "port": "http", "scheme": "HTTPS"}, "timeoutSeconds": 2},
        livenessProbe={"tcpSocket": {"port": 8081}},
        startupProbe={"grpc": {"port": 9090}},
    )
    spec = injected(deployment(pod_spec(app)))["spec"]
    web = find(spec, "web")
    assert web["readinessProbe"] == {
        "httpGet": {"path": "/app-health/web/readyz", "port": 15020, "scheme": "HTTP"},
        "timeoutSeconds": 2,
    }
    assert web["livenessProbe"] == {"httpGet": {"path": "/app-health/web/livez", "port": 15020}}
    assert web["startupProbe"] == {"httpGet": {"path": "/app-health/web/startupz", "port": 15020}}
    probers = json.loads(env_of(find(spec, "istio-proxy"))["ISTIO_KUBE_APP_PROBERS"])
    assert probers == {
        "/app-health/web/livez": {"tcpSocket": {"port": 8081}},
        "/app-health/web/readyz": {
            "httpGet": {"path": "/ready", "port": 8080, "scheme": "HTTPS"},
            "timeoutSeconds": 2,
        },
        "/app-health/web/startupz": {"grpc": {"port": 9090}},
    }
    untouched = injected(deployment(pod_spec(app), annotations={"sidecar.istio.io/rewriteAppHTTPProbers": "false"}))[
        "spec"
    ]
    assert find(untouched, "web")["readinessProbe"] == app["readinessProbe"]
    assert "ISTIO_KUBE_APP_PROBERS" not in env_of(find(untouched, "istio-proxy"))


def test_prometheus_annotations_move_into_the_proxy_env() -> None:
    annotations = {"prometheus.io/scrape": "true", "prometheus.io/port": "9090", "prometheus.io/path": "/m"}
    template = injected(deployment(annotations=annotations))
    merged = json.loads(env_of(find(template["spec"], "istio-proxy"))["ISTIO_PROMETHEUS_ANNOTATIONS"])
    assert merged == {"scrape": "true", "path": "/m", "port": "9090"}
    assert template["metadata"]["annotations"]["prometheus.io/port"] == "15020"
    kept = injected(deployment(annotations={**annotations, "prometheus.istio.io/merge-metrics": "false"}))
    assert kept["metadata"]["annotations"]["prometheus.io/port"] == "9090"


def test_the_pods_own_istio_proxy_fields_win_and_are_remembered() -> None:
    own = {"name": "istio-proxy", "resources": {"limits": {"memory": "2Gi"}}}
    spec = pod_spec(container("web"), own)
    first = injected(deployment(spec), "values.pilot.env.ENABLE_NATIVE_SIDECARS=false")
    proxy = find(first["spec"], "istio-proxy")
    assert proxy["image"] == PROXY_IMAGE
    assert proxy["resources"]["limits"] == {"cpu": "2000m", "memory": "2Gi"}
    overrides = json.loads(first["metadata"]["annotations"]["proxy.istio.io/overrides"])
    assert overrides == {"containers": [own]}
    again, _, _ = inject(
        {**deployment(spec), "spec": {"template": first}}, conf("values.pilot.env.ENABLE_NATIVE_SIDECARS=false")
    )
    assert template_of(again) == first


def test_templates_annotation_and_user_templates() -> None:
    gateway = injected(
        deployment(
            pod_spec(container("istio-proxy", image="auto")),
            annotations={"inject.istio.io/templates": "gateway", "sidecar.istio.io/inject": "true"},
        )
    )
    proxy = find(gateway["spec"], "istio-proxy")
    assert proxy["args"][:2] == ["proxy", "router"]
    assert proxy["image"] == PROXY_IMAGE  # image: auto replaced
    assert "initContainers" not in gateway["spec"]
    with pytest.raises(errors.InputError, match="template 'nope' not found"):
        inject(deployment(annotations={"inject.istio.io/templates": "sidecar,nope"}))


@pytest.mark.parametrize(
    ("labels", "annotations", "sets", "expected"),
    [
        ({"sidecar.istio.io/inject": "false"}, {}, (), False),
        ({"sidecar.istio.io/inject": "true"}, {"sidecar.istio.io/inject": "false"}, (), True),  # the label wins
        ({}, {"sidecar.istio.io/inject": "no"}, (), False),
        ({}, {"sidecar.istio.io/inject": "YES"}, ("values.global.proxy.autoInject=disabled",), True),
        ({}, {}, ("values.global.proxy.autoInject=disabled",), False),
        ({"team": "a"}, {}, ("values.sidecarInjectorWebhook.neverInjectSelector[0].matchLabels.team=a",), False),
        (
            {"team": "a"},
            {},
            (
                "values.global.proxy.autoInject=disabled",
                "values.sidecarInjectorWebhook.alwaysInjectSelector[0].matchExpressions[0].key=team",
                "values.sidecarInjectorWebhook.alwaysInjectSelector[0].matchExpressions[0].operator=Exists",
            ),
            True,
        ),
    ],
)
def test_opt_in_opt_out_selectors_and_policy(labels: dict, annotations: dict, sets: tuple, expected: bool) -> None:
    obj = deployment(labels={"app": "web", **labels}, annotations=annotations)
    out, count, notes = inject(obj, conf(*sets))
    assert count == int(expected)
    if not expected:
        assert out is obj
        assert len(notes) == 1


def test_host_network_and_system_namespaces_are_left_alone() -> None:
    for obj in (deployment(pod_spec(hostNetwork=True)), deployment(namespace="kube-system")):
        obj["spec"]["template"]["metadata"].setdefault("namespace", obj["metadata"].get("namespace"))
        out, count, notes = inject(obj)
        assert (out, count) == (obj, 0)
        assert notes


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("sidecar.istio.io/interceptionMode", "BOGUS"),
        ("status.sidecar.istio.io/port", "http"),
        ("readiness.status.sidecar.istio.io/periodSeconds", "-1"),
        ("traffic.sidecar.istio.io/includeOutboundIPRanges", "10.0.0.0/40"),
        ("traffic.sidecar.istio.io/excludeInboundPorts", "80,x"),
        ("sidecar.istio.io/proxyCPU", "lots"),
        ("sidecar.istio.io/nativeSidecar", "maybe"),
    ],
)
def test_invalid_injection_annotations_are_input_errors(key: str, value: str) -> None:
    with pytest.raises(errors.InputError) as caught:
        inject(deployment(annotations={key: value}))
    assert caught.value.exit_code == errors.ExitCode.INVALID_INPUT
    assert any(key in line for line in caught.value.context)


def test_injector_config_from_a_configmap_file_or_its_key() -> None:
    text = "templates:\n  t: 'metadata: {}'\ndefaultTemplates: [t]\npolicy: disabled\n"
    config = settings.parse_injector_config(text, "x")
    wrapped = settings.parse_injector_config(
        "kind: ConfigMap\napiVersion: v1\nmetadata: {name: x}\ndata:\n  config: |\n"
        + "".join(f"    {line}\n" for line in text.splitlines()),
        "y",
    )
    assert (
        (config.default_templates, config.policy) == (wrapped.default_templates, wrapped.policy) == (("t",), "disabled")
    )
    with pytest.raises(errors.InputError, match="not valid YAML"):
        settings.parse_injector_config("templates: [", "z")


@pytest.mark.parametrize(
    ("annotations", "excluded"),
    [
        ({}, "15020"),
        ({"traffic.sidecar.istio.io/excludeInboundPorts": "8080,9090"}, "8080,9090,15020"),
        ({"traffic.sidecar.istio.io/excludeInboundPorts": "15020"}, "15020"),
        ({"status.sidecar.istio.io/port": "0", "traffic.sidecar.istio.io/excludeInboundPorts": "8080"}, "8080"),
        ({"status.sidecar.istio.io/port": "16000"}, "16000"),
    ],
)
def test_cni_reinjection_is_idempotent(annotations: dict[str, str], excluded: str) -> None:
    cni = conf("components.cni.enabled=true", "values.pilot.cni.enabled=true")
    once, _, _ = inject(deployment(annotations=annotations), cni)
    twice, _, _ = inject(once, cni)
    assert twice == once
    template = template_of(once)
    # The pod's own ports first, then the status port once (istiod's excludeInboundPort order).
    assert template["metadata"]["annotations"]["traffic.sidecar.istio.io/excludeInboundPorts"] == excluded
    args = find(template["spec"], "istio-validation")["args"]
    assert args[args.index("-d") + 1] == f"15090,15021,{excluded}"
