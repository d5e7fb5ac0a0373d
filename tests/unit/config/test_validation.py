"""Validation (config.md §5) and the shipped JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from meshctl import errors
from meshctl.config import layering, profiles, resources, schema, schemagen


def problems(*sets: str) -> tuple[str, ...]:
    with pytest.raises(errors.ValidationError) as info:
        layering.build_effective_config(layering.ConfigInput(sets=sets))
    return info.value.problems


def warnings(*sets: str) -> tuple[str, ...]:
    return layering.build_effective_config(layering.ConfigInput(sets=sets)).warnings


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        (("revision=Canary",), "revision: 'Canary' is not a valid DNS-1123 label"),
        (("hub=docker.io/Istio",), "hub: bad hub 'docker.io/Istio'"),
        (("tag=-x",), "tag: bad tag '-x'"),
        (("components.pilot.hub=a b",), "components.pilot.hub: bad hub 'a b'"),
        (("components.pilot.k8s.resources.requests.memory=lots",), "'lots' is not a valid quantity"),
        (("components.pilot.k8s.imagePullPolicy=Sometimes",), "'Sometimes' is not one of: Always, IfNotPresent, Never"),
        (("components.ingressGateways[0].name=Bad_Name",), "components.ingressGateways[0].name: 'Bad_Name' is not"),
        (
            ("components.ingressGateways[1].name=istio-ingressgateway",),
            "components.ingressGateways[1].name: gateway 'istio-ingressgateway' is already defined at [0]",
        ),
        (("components.egressGateways[1].enabled=true",), "components.egressGateways[1].name: required"),
        (
            (
                "components.ingressGateways[0].k8s.service.ports[0].name=http",
                "components.ingressGateways[0].k8s.service.ports[0].port=80",
            ),
            "components.ingressGateways[0].k8s.service.ports[0]: port http/80 targets 80, which needs root",
        ),
        (
            (
                "values.gateways.istio-ingressgateway.ports[0].port=443",
                "values.gateways.istio-ingressgateway.ports[0].targetPort=443",
            ),
            "values.gateways.istio-ingressgateway.ports[0]: port (unnamed)/443 targets 443, which needs root",
        ),
        (("values.global.proxy.includeIPRanges=10.0.0.0/8\\,1.2.3/16",), "'1.2.3/16' is not a CIDR"),
        (("values.global.proxy.excludeInboundPorts=22\\,222x",), "'222x' is not a port"),
        (("values.pilot.env.FOO[0]=x",), "values.pilot.env.FOO: expected a string, got a list of 1"),
        (("components.pilot.k8s.replicaCount=-1",), "components.pilot.k8s.replicaCount: -1 is below the minimum 0"),
    ],
)
def test_errors(sets: tuple[str, ...], expected: str) -> None:
    found = problems(*sets)
    assert any(p.startswith(expected) or expected in p for p in found), found


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "components:\n  pilto:\n    enabled: true\n",
            "components.pilto: unknown field (did you mean components.pilot?)",
        ),
        (
            "components:\n  pilot:\n    k8s:\n      resorces: {}\n",
            "components.pilot.k8s.resorces: unknown field (did you mean components.pilot.k8s.resources?)",
        ),
        ("addonComponents:\n  jaeger: {}\n", "addonComponents.jaeger: unknown field; known fields: grafana, kiali"),
        (
            "values:\n  pilot:\n    autoscaleEnable: false\n",
            "values.pilot.autoscaleEnable: unknown key (did you mean values.pilot.autoscaleEnabled?)",
        ),
        (
            "meshConfig:\n  accessLogFil: /dev/stdout\n",
            "meshConfig.accessLogFil: unknown key (did you mean meshConfig.accessLogFile?)",
        ),
    ],
)
def test_unknown_fields_in_files(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("spec:\n" + "".join(f"  {line}\n" for line in text.splitlines()))
    with pytest.raises(errors.ValidationError) as info:
        layering.build_effective_config(layering.ConfigInput(files=(str(path),)))
    assert any(p.startswith(expected) for p in info.value.problems), info.value.problems


def test_unknown_set_paths_fail_at_once_with_a_caret() -> None:
    with pytest.raises(errors.PathError) as info:
        layering.build_effective_config(layering.ConfigInput(sets=("components.pilto.enabled=true",)))
    assert info.value.message == "--set: unknown field 'pilto' in components"
    assert info.value.hint == "did you mean components.pilot?"
    with pytest.raises(errors.PathError) as info:
        layering.build_effective_config(layering.ConfigInput(sets=("values.pilot.autoscaleEnable=true",)))
    assert info.value.hint == "did you mean values.pilot.autoscaleEnabled?"
    # with --force the same typo is reported by validation, as a warning
    config = layering.build_effective_config(layering.ConfigInput(sets=("components.pilto.enabled=true",), force=True))
    assert config.warnings == (
        "components.pilto: unknown field (did you mean components.pilot?) (continuing because of --force)",
    )


def test_all_errors_at_once_each_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text("spec:\n  components:\n    pilto: {}\n  values:\n    pilot:\n      autoscaleEnable: 1\n")
    with pytest.raises(errors.ValidationError) as info:
        layering.build_effective_config(layering.ConfigInput(files=(str(path),), sets=("revision=X", "tag=-")))
    found = info.value.problems
    assert len(found) == 4
    assert {p.split(":")[0] for p in found} == {
        "components.pilto",
        "revision",
        "values.pilot.autoscaleEnable",
        "tag",
    }


def test_values_from_a_file_are_typed_strictly(tmp_path: Path) -> None:
    path = tmp_path / "f.yaml"
    path.write_text(
        "spec:\n  tag: 1.30\n  values:\n    pilot:\n      autoscaleMin: two\n      env:\n        FLAG: true\n"
    )
    with pytest.raises(errors.ValidationError) as info:
        layering.build_effective_config(layering.ConfigInput(files=(str(path),)))
    assert info.value.problems == (
        'tag: expected a string, got a number (1.3) (quote it: "1.3")',
        "values.pilot.autoscaleMin: expected an integer, got a string ('two')",
        'values.pilot.env.FLAG: expected a string, got a boolean (true) (quote it: "true")',
    )


@pytest.mark.parametrize(
    ("sets", "expected"),
    [
        (
            ("values.somethingNew.x=1",),
            "values.somethingNew: meshctl does not use this key; it is passed through as is",
        ),
        (("meshConfig.brandNewField=1",), "meshConfig.brandNewField: meshctl does not use this key"),
        (
            ("components.pilot.k8s.replicaCount=3",),
            "components.pilot.k8s.replicaCount: ignored while values.pilot.autoscaleEnabled is true",
        ),
        (
            ("components.ingressGateways[0].k8s.replicaCount=2",),
            "components.ingressGateways[0].k8s.replicaCount: ignored while values.gateways.istio-ingressgateway",
        ),
        (("components.pilot.k8s.volumes[0].name=x",), "components.pilot.k8s.volumes: accepted as istioctl does"),
        (
            ("namespace=other",),
            "namespace: ignored; the Istio namespace is values.global.istioNamespace (istio-system)",
        ),
    ],
)
def test_warnings(sets: tuple[str, ...], expected: str) -> None:
    found = warnings(*sets)
    assert any(w.startswith(expected) for w in found), found


def test_no_warning_when_autoscaling_is_off_or_ports_run_as_root() -> None:
    assert warnings("components.pilot.k8s.replicaCount=3", "values.pilot.autoscaleEnabled=false") == ()
    assert (
        warnings(
            "components.ingressGateways[0].k8s.service.ports[0].port=80",
            "values.gateways.istio-ingressgateway.runAsRoot=true",
        )
        == ()
    )


def test_null_counts_as_unset() -> None:
    assert warnings("hub=null", "components.pilot.k8s=null") == ()
    assert warnings("components.ingressGateways=null") == ()


def test_metadata_is_checked() -> None:
    found = problems("values.global.istioNamespace=Bad")
    assert found == (
        "values.global.istioNamespace: 'Bad' is not a valid DNS-1123 label (lower-case letters, "
        "digits and '-', at most 63)",
    )


# --- the schema file ---------------------------------------------------------------------------------------------


def test_schema_file_is_up_to_date() -> None:
    """The shipped schema is what the generator makes from today's chart defaults.

    When this fails after a change to ``manifests/**/values.yaml`` or ``schemagen.py``, regenerate with
    ``python -m meshctl.config.schemagen`` and commit ``meshctl/config/istiooperator.schema.json``.
    """
    assert json.loads(schemagen.render(schemagen.build())) == schema.document(), (
        "meshctl/config/istiooperator.schema.json is out of date: run `python -m meshctl.config.schemagen`"
    )


def test_schema_is_a_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(schema.document())


def _leaf_paths(tree: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    out = [prefix] if prefix else []
    if isinstance(tree, dict):
        for key, value in tree.items():
            out.extend(_leaf_paths(value, (*prefix, str(key))))
    return out


def test_every_chart_value_key_is_known_to_the_schema() -> None:
    from meshctl.config import paths

    root = resources.manifests_dir()
    files = schemagen.chart_value_files(root)
    assert files, "no chart defaults found"
    unknown = []
    for path in files:
        from meshctl.config import loading

        data = loading.load_yaml_file(path)
        for keys in _leaf_paths(data):
            segments = [paths.Segment(paths.Kind.KEY, key=k) for k in ("values", *keys)]
            node = schema.schema_at(segments)
            if node is None and not _inside_free_form(segments):
                unknown.append(f"{path.relative_to(root)}: {'.'.join(keys)}")
    assert unknown == [], "chart keys the schema does not know (run python -m meshctl.config.schemagen):\n" + "\n".join(
        unknown
    )


def _inside_free_form(segments: list[Any]) -> bool:
    """True when some prefix of the path is a free-form map (any key allowed, no unknown-key checks)."""
    for end in range(1, len(segments)):
        node = schema.schema_at(segments[:end])
        if node is not None and node.get("type") == "object" and "properties" not in node:
            extra = node.get("additionalProperties", True)
            if extra is True:
                return True
    return False


@pytest.mark.parametrize("name", profiles.list_profiles())
def test_profiles_validate_with_the_jsonschema_library_too(name: str) -> None:
    config = layering.build_effective_config(layering.ConfigInput(profile=name))
    jsonschema.Draft202012Validator(schema.document()).validate(config.iop)
