"""Properties of kube-inject over generated pods: injecting twice is injecting once, and the pod's own containers,
init containers, volumes and env are never dropped or reordered."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshctl.inject import workloads
from tests.unit.inject.helpers import conf, deployment, template_of

NAMES = st.from_regex(r"[a-z][a-z0-9]{0,6}", fullmatch=True).filter(lambda n: not n.startswith("istio"))
SETTINGS = [
    (),
    ("values.pilot.env.ENABLE_NATIVE_SIDECARS=false",),
    ("values.global.proxy.holdApplicationUntilProxyStarts=true", "values.pilot.env.ENABLE_NATIVE_SIDECARS=false"),
    ("values.global.proxy.enableCoreDump=true", "values.global.imagePullSecrets[0]=reg"),
    ("revision=canary", "meshConfig.defaultConfig.interceptionMode=TPROXY"),
    # Under CNI the template writes the traffic annotations back to the pod, which a second injection reads.
    ("components.cni.enabled=true", "values.pilot.cni.enabled=true"),
    ("components.cni.enabled=true", "values.pilot.cni.enabled=true", "values.pilot.env.ENABLE_NATIVE_SIDECARS=false"),
]


@st.composite
def containers(draw: Any, min_size: int) -> list[dict[str, Any]]:
    names = draw(st.lists(NAMES, min_size=min_size, max_size=3, unique=True))
    out = []
    for name in names:
        c: dict[str, Any] = {"name": name, "image": f"{name}:1"}
        env = draw(st.lists(NAMES, max_size=3, unique=True))
        if env:
            c["env"] = [{"name": e.upper(), "value": e} for e in env]
        ports = draw(st.lists(st.integers(1024, 9000), max_size=2, unique=True))
        if ports:
            c["ports"] = [{"containerPort": p, "name": f"p{p}"} for p in ports]
        probe = draw(st.sampled_from([None, "http", "tcp", "named"]))
        if probe == "http":
            c["readinessProbe"] = {"httpGet": {"path": "/r", "port": 8080}, "timeoutSeconds": 3}
        elif probe == "tcp":
            c["livenessProbe"] = {"tcpSocket": {"port": 7000}}
        elif probe == "named" and ports:
            c["startupProbe"] = {"httpGet": {"path": "/s", "port": f"p{ports[0]}"}}
        out.append(c)
    return out


@st.composite
def workload(draw: Any) -> dict[str, Any]:
    app = draw(containers(1))
    used = {c["name"] for c in app}
    init = [c for c in draw(containers(0)) if c["name"] not in used]
    spec: dict[str, Any] = {"containers": app}
    if init:
        spec["initContainers"] = init
    volumes = draw(st.lists(NAMES, max_size=3, unique=True))
    if volumes:
        spec["volumes"] = [{"name": f"v-{v}", "emptyDir": {}} for v in volumes]
    pairs = [
        ("prometheus.io/scrape", "true"),
        ("prometheus.io/port", "9090"),
        ("sidecar.istio.io/proxyCPU", "100m"),
        ("traffic.sidecar.istio.io/excludeInboundPorts", "8080"),
        ("traffic.sidecar.istio.io/excludeInboundPorts", "15020,8080"),
        ("traffic.sidecar.istio.io/excludeOutboundPorts", "3306"),
        ("status.sidecar.istio.io/port", "16000"),
    ]
    annotations = dict(draw(st.lists(st.sampled_from(pairs), max_size=3, unique_by=lambda pair: pair[0])))
    return deployment(spec, annotations=annotations)


def _inject(obj: dict[str, Any], sets: tuple[str, ...]) -> dict[str, Any]:
    out, count = workloads.inject_object(obj, conf(*sets), [], "prop")
    assert count == 1
    return out


def _users(items: list[dict[str, Any]] | None, own: set[str]) -> list[str]:
    return [i["name"] for i in items or [] if i["name"] in own]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workload(), st.sampled_from(SETTINGS))
def test_injecting_twice_is_injecting_once(obj: dict[str, Any], sets: tuple[str, ...]) -> None:
    once = _inject(obj, sets)
    assert _inject(once, sets) == once


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(workload(), st.sampled_from(SETTINGS))
def test_user_containers_volumes_and_env_are_kept_in_order(obj: dict[str, Any], sets: tuple[str, ...]) -> None:
    before = template_of(obj)["spec"]
    after = template_of(_inject(obj, sets))["spec"]
    for field in ("containers", "initContainers", "volumes"):
        own = [i["name"] for i in before.get(field) or []]
        assert _users(after.get(field), set(own)) == own, field
    for original in before["containers"] + before.get("initContainers", []):
        injected = next(
            c for c in after.get("containers", []) + after.get("initContainers", []) if c["name"] == original["name"]
        )
        assert injected.get("env") == original.get("env")
        assert injected["image"] == original["image"]
        assert injected.get("ports") == original.get("ports")
