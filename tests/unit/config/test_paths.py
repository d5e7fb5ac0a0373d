"""The path grammar (config.md §4): the examples of istioctl-behaviours §3 and §6.4 restated under meshctl's rules,
the acceptance flags, value typing, escapes, errors with carets, and the ``-o flags`` syntax."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from meshctl import errors
from meshctl.cli import output
from meshctl.config import paths, schema


def apply_set(tree: Any, arg: str, *, typed: bool = False) -> Any:
    """Apply one ``--set`` argument to a copy of ``tree`` (free-form typing unless ``typed``)."""
    result = copy.deepcopy(tree)
    assignment = paths.parse_assignment(arg)
    types = schema.spec_type_at(assignment.path.segments) if typed else None
    paths.set_value(result, assignment.path, paths.type_value(assignment, types))
    return result


def apply_overlay(tree: Any, path: str, value: Any = None, *, delete: bool = False) -> Any:
    result = copy.deepcopy(tree)
    parsed = paths.parse_path(path, paths.Mode.OVERLAY)
    if delete:
        paths.delete_value(result, parsed)
    else:
        paths.set_value(result, parsed, value)
    return result


# --- istioctl-behaviours §3 examples, restated (paths are relative to spec; a leading `spec.` is dropped) ------


@pytest.mark.parametrize(
    ("arg", "tree", "expected"),
    [
        # 2, 3: `spec.` is accepted and ignored
        ("spec.bar=1", {}, {"bar": 1}),
        ("spec.bar=1", {"foo": "baz"}, {"bar": 1, "foo": "baz"}),
        # 4, 5, 6, 7: index with and without a dot; append at N == len; descend into an element
        ("top.[0]=1", {}, {"top": [1]}),
        ("top[0]=1", {}, {"top": [1]}),
        ("top.[0].bar=1", {}, {"top": [{"bar": 1}]}),
        ("top.[0].bar=1", {"top": [{"baz": 2}]}, {"top": [{"bar": 1, "baz": 2}]}),
        # 8, 9: [k:v] selects; dots in v are escaped like keys
        ("env.[name:POD_NAME].value=1", {"env": [{"name": "POD_NAME"}]}, {"env": [{"name": "POD_NAME", "value": 1}]}),
        (
            r"env.[name:foo\.bar].value=hi",
            {"env": [{"name": "foo.bar"}]},
            {"env": [{"name": "foo.bar", "value": "hi"}]},
        ),
        # 12 (free-form key): split at the first '='
        ("values.foo.env=FOO=bar=baz", {}, {"values": {"foo": {"env": "FOO=bar=baz"}}}),
        # 17: commas are not separators
        (
            "values.foo.ranges=172.30.0.0/16,172.21.0.0/16",
            {},
            {"values": {"foo": {"ranges": "172.30.0.0/16,172.21.0.0/16"}}},
        ),
        # 21: escaped dots in a key
        (
            r"values.sidecarInjectorWebhook.injectedAnnotations.container\.apparmor\.security\.beta\.kubernetes\.io/istio-proxy=runtime/default",
            {},
            {
                "values": {
                    "sidecarInjectorWebhook": {
                        "injectedAnnotations": {
                            "container.apparmor.security.beta.kubernetes.io/istio-proxy": "runtime/default"
                        }
                    }
                }
            },
        ),
        # 22: [0] addresses the existing element (meshctl applies --set to the merged tree)
        ("components.ingressGateways[0].enabled=false", {}, {"components": {"ingressGateways": [{"enabled": False}]}}),
        (
            "components.ingressGateways[0].enabled=false",
            {"components": {"ingressGateways": [{"name": "gw", "enabled": True}]}},
            {"components": {"ingressGateways": [{"name": "gw", "enabled": False}]}},
        ),
        ("a.list.[0]=v1", {"a": {}}, {"a": {"list": ["v1"]}}),
        ("a.list.[1]=v2", {"a": {"list": ["v1"]}}, {"a": {"list": ["v1", "v2"]}}),
        # meshctl additions: quoted keys, [N][M], replacing a selected element, escaped '='
        ('a."b.c".d=1', {}, {"a": {"b.c": {"d": 1}}}),
        (r'a."b\.c"=1', {}, {"a": {"b.c": 1}}),
        ("m[0][1]=x", {"m": [["a"]]}, {"m": [["a", "x"]]}),
        ("l[name:a]=gone", {"l": [{"name": "a"}]}, {"l": ["gone"]}),
        (r"a\=b=c", {}, {"a=b": "c"}),
        ("  a.b  =  v  ", {}, {"a": {"b": "v"}}),
        ("a=", {}, {"a": ""}),
        ("a.b=null", {"a": {"b": 1}}, {"a": {"b": None}}),
    ],
)
def test_set_examples(arg: str, tree: Any, expected: Any) -> None:
    assert apply_set(tree, arg) == expected


def test_whole_spec_cannot_be_replaced() -> None:
    # Example 1 (`spec=1`) addresses the whole spec under meshctl's spec-relative paths.
    with pytest.raises(errors.PathError, match="cannot replace the whole spec"):
        paths.parse_assignment("spec=1")


def test_select_on_missing_list_is_an_error_naming_the_prefix() -> None:
    # Example 11: `spec.ports.[name:https-dns].port=11111` on {} (an overlay path on a Service).
    with pytest.raises(errors.PathError, match=r"spec\.ports does not exist"):
        apply_overlay({}, "spec.ports.[name:https-dns].port", 11111)
    # Example 10.
    assert apply_overlay({"spec": {"ports": [{"name": "https-dns"}]}}, "spec.ports.[name:https-dns].port", 11111) == {
        "spec": {"ports": [{"name": "https-dns", "port": 11111}]}
    }


# Example 13: value typing without a schema (free-form values).
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("true", True),
        ("false", False),
        ("TRUE", True),
        ("False", False),
        ("1", 1),
        ("0", 0),
        ("12345678", 12345678),
        ("-12345678", -12345678),
        ("1.23456", 1.23456),
        ("-6.54321", -6.54321),
        ("foobar", "foobar"),
        ("123foobar", "123foobar"),
        ("null", None),
        # meshctl differs from istioctl: no YAML/Go loose scalars
        ("0.00", "0.00"),  # not a float round trip
        ("1.20", "1.20"),
        ("007", "007"),  # no leading zeros
        ("1e3", "1e3"),
        ("inf", "inf"),
        ("nan", "nan"),
        ("on", "on"),
        ("yes", "yes"),
        ("2024-01-01", "2024-01-01"),
        ("t", "t"),
        ("Null", "Null"),
        ('"true"', "true"),  # quoted: stays a string in free-form values
        ("'1.20'", "1.20"),
        (r"\"x\"", "x"),
        (r"a\,b", "a,b"),
        (r"C:\new", r"C:\new"),  # unknown escapes and \n outside quotes are kept
        (r'"line\nnext"', "line\nnext"),
        (r"\\", "\\"),
        (r"\"", '"'),
    ],
)
def test_free_form_value_typing(text: str, expected: Any) -> None:
    assert apply_set({}, f"values.x={text}") == {"values": {"x": expected}}


@pytest.mark.parametrize(
    ("arg", "expected"),
    [
        ("tag=1.20", "1.20"),
        ("tag=1", "1"),
        ("revision=1", "1"),
        ("hub=true", "true"),
        ("components.pilot.enabled=true", True),
        ('components.pilot.enabled="true"', True),
        (r"components.pilot.enabled=\"false\"", False),
        ("components.pilot.enabled=TRUE", True),
        ("components.pilot.k8s.replicaCount=3", 3),
        ("components.pilot.k8s.serviceAnnotations.a=true", "true"),
        ("components.pilot.k8s.podAnnotations.a=1.5", "1.5"),
        ("components.pilot.k8s.service.ports[0].targetPort=8080", 8080),
        ('components.pilot.k8s.service.ports[0].targetPort="8080"', "8080"),
        ("components.pilot.k8s.service.ports[0].targetPort=http", "http"),
        ("values.pilot.env.FOO=true", "true"),
        ("meshConfig.defaultConfig.proxyMetadata.ISTIO_META_DNS_CAPTURE=true", "true"),
        ("values.meshConfig.defaultConfig.proxyMetadata.X=1", "1"),
        ("values.global.tag=1.30", "1.30"),
        ("values.pilot.autoscaleMin=2", 2),
        ("values.pilot.traceSampling=1", 1),
        ("values.pilot.traceSampling=0.5", 0.5),
        ("values.global.hub=null", None),
        ("values.something.unknown=1.5", 1.5),
    ],
)
def test_schema_typing(arg: str, expected: Any) -> None:
    assignment = paths.parse_assignment(arg)
    value = paths.type_value(assignment, schema.spec_type_at(assignment.path.segments))
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("components.pilot.enabled=maybe", "expects a boolean"),
        ("components.pilot.k8s.replicaCount=three", "expects an integer"),
        ("components.pilot.k8s.replicaCount=1.5", "expects an integer"),
        ("components.pilot=off", "is a map; a single value cannot be set"),
        ("components.ingressGateways=none", "is a list; a single value cannot be set"),
    ],
)
def test_schema_typing_errors(arg: str, message: str) -> None:
    assignment = paths.parse_assignment(arg)
    with pytest.raises(errors.PathError, match=message):
        paths.type_value(assignment, schema.spec_type_at(assignment.path.segments))


# --- the acceptance flags ----------------------------------------------------------------------------------------

ANNOTATION = "service.beta.kubernetes.io/aws-load-balancer-internal"
GATEWAYS = {"components": {"ingressGateways": [{"name": "istio-ingressgateway", "enabled": True}]}}


@pytest.mark.parametrize(
    "args",
    [
        # the quotes reach meshctl (single-quoted in the shell)
        (
            'components.ingressGateways[0].enabled="true"',
            r'components.ingressGateways[0].k8s.serviceAnnotations."service\.beta\.kubernetes\.io/aws-load-balancer-internal"=\"true\"',
        ),
        # the shell removed them (unquoted in the shell)
        (
            "components.ingressGateways[0].enabled=true",
            r'components.ingressGateways[0].k8s.serviceAnnotations.service\.beta\.kubernetes\.io/aws-load-balancer-internal="true"',
        ),
        # and with the quotes removed from the value too
        (
            "components.ingressGateways[0].enabled=true",
            r"components.ingressGateways[0].k8s.serviceAnnotations.service\.beta\.kubernetes\.io/aws-load-balancer-internal=true",
        ),
    ],
)
def test_acceptance_flags(args: tuple[str, str]) -> None:
    tree = GATEWAYS
    for arg in args:
        tree = apply_set(tree, arg, typed=True)
    assert tree == {
        "components": {
            "ingressGateways": [
                {"name": "istio-ingressgateway", "enabled": True, "k8s": {"serviceAnnotations": {ANNOTATION: "true"}}}
            ]
        }
    }


# --- overlay paths (istioctl-behaviours §6.4, restated: [v] matches exactly; errors are not swallowed) ----------

OVERLAY_TREE = {"a": {"b": [{"name": "n1", "value": "v1"}, {"name": "n2", "list": ["v1", "v2", "v3_regex"]}]}}


def test_overlay_examples() -> None:
    tree = OVERLAY_TREE
    assert apply_overlay(tree, "a.b.[name:n1].value", "v2")["a"]["b"][0] == {"name": "n1", "value": "v2"}
    assert apply_overlay(tree, "a.b.[name:n2].list.[v2]", "v3")["a"]["b"][1]["list"] == ["v1", "v3", "v3_regex"]
    assert apply_overlay(tree, "a.b.[name:n2].list.[:v2]", "v3")["a"]["b"][1]["list"] == ["v1", "v3", "v3_regex"]
    assert apply_overlay(tree, "a.b.[name:n1]", delete=True)["a"]["b"] == [tree["a"]["b"][1]]
    assert apply_overlay(tree, "a.b.[name:n2].list.[v2]", delete=True)["a"]["b"][1]["list"] == ["v1", "v3_regex"]
    assert apply_overlay(tree, "a.b.[name:n2].list.[3]", "v4")["a"]["b"][1]["list"][-1] == "v4"
    # upstream matched [v3] as an unanchored regex against v3_regex; meshctl matches exactly and says so
    with pytest.raises(errors.PathError, match=r"no element of a.b\[name:n2\].list equals 'v3'"):
        apply_overlay(tree, "a.b.[name:n2].list.[v3]", delete=True)
    # upstream [-200] was an index error swallowed silently; here it is a scalar selector that matches nothing
    with pytest.raises(errors.PathError):
        apply_overlay(tree, "a.b.[name:n2].list.[-200]", "x")


def test_overlay_examples_on_objects() -> None:
    deployment = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "discovery",
                            "args": ["--keepaliveMaxServerConnectionAge", "30m"],
                            "ports": [{"containerPort": 8080}, {"containerPort": 15014}],
                        }
                    ]
                }
            }
        }
    }
    base = "spec.template.spec.containers.[name:discovery]"
    out = apply_overlay(deployment, f"{base}.args.[30m]", "60m")
    assert out["spec"]["template"]["spec"]["containers"][0]["args"][1] == "60m"
    out = apply_overlay(deployment, f"{base}.ports.[containerPort:8080].containerPort", 1234)
    assert out["spec"]["template"]["spec"]["containers"][0]["ports"][0] == {"containerPort": 1234}
    out = apply_overlay(deployment, f"{base}.ports.[containerPort:15014]", delete=True)
    assert out["spec"]["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 8080}]
    webhook = {"webhooks": [{"name": "namespace.sidecar-injector.istio.io", "clientConfig": {"service": {}}}]}
    out = apply_overlay(
        webhook, r"webhooks.[name:namespace\.sidecar-injector\.istio\.io].clientConfig.service.name", "foo"
    )
    assert out["webhooks"][0]["clientConfig"]["service"]["name"] == "foo"
    with pytest.raises(errors.PathError, match="no key 'nope'"):
        apply_overlay(deployment, "spec.nope", delete=True)


def test_get_value() -> None:
    tree = {"a": [{"k": 1, "v": "x"}, {"k": True}], "b": {"c.d": None}}
    assert paths.get_value(tree, paths.parse_path("a[k:1].v", paths.Mode.CONFIG_PATH)) == "x"
    assert paths.get_value(tree, paths.parse_path("a[k:true]", paths.Mode.CONFIG_PATH)) == {"k": True}
    assert paths.get_value(tree, paths.parse_path(r"b.c\.d", paths.Mode.CONFIG_PATH)) is None
    assert paths.get_value(tree, paths.parse_path("", paths.Mode.CONFIG_PATH)) == tree
    assert paths.get_value(tree, paths.parse_path("spec", paths.Mode.CONFIG_PATH)) == tree


# --- errors: message, caret, hint --------------------------------------------------------------------------------

SPEC = {
    "hub": "docker.io/istio",
    "components": {"pilot": {"enabled": True}, "ingressGateways": [{"name": "istio-ingressgateway"}]},
}


def caret_span(exc: errors.PathError) -> str:
    """The text above the carets (format_error draws them)."""
    lines = output.format_error(exc).splitlines()
    shown, carets = lines[1][2:], lines[2][2:]
    start = len(carets) - len(carets.lstrip(" "))
    return shown[start : len(carets)]


@pytest.mark.parametrize(
    ("arg", "message", "span", "hint"),
    [
        ("a.b", "missing '='", None, "PATH=VALUE"),
        ("=1", "empty path", "", None),
        ("a..b=1", "empty key after '.'", ".", None),
        (".a=1", "empty key", ".", '""'),
        ("a.=1", "empty key after '.'", ".", None),
        ('a."b=1', "unterminated quoted key", '"b=1', None),
        ("a[0=1", "unterminated '['", "[0=1", None),
        ("a[]=1", "empty selector", "[]", None),
        ("a[x]=1", "value selector [x] is allowed only in overlay paths", "[x]", "[key:value]"),
        ("a[-1]=1", "invalid index [-1]", "[-1]", None),
        ("a]b=1", "unmatched ']'", "]", None),
        ("a[0]b=1", "unexpected 'b'", "b", None),
        ('a."b"c=1', "unexpected 'c'", "c", None),
        (
            "components.ingressGateways[5].enabled=true",
            "index 5 is out of range: components.ingressGateways has 1 element",
            "[5]",
            "at most 1",
        ),
        (
            "components.ingressGateways[name:foo].enabled=true",
            "no element of components.ingressGateways has name=foo",
            "[name:foo]",
            "istio-ingressgateway",
        ),
        ("hub.registry=x", "hub is a string ('docker.io/istio'), not a map", "registry", None),
        ("components.pilot[0]=x", "components.pilot is a map, not a list", "[0]", None),
        ("components.ingressGateways.name=x", "components.ingressGateways is a list of 1, not a map", "name", "[N]"),
        ("components.pilot.enabled.x=1", "components.pilot.enabled is a boolean (true), not a map", "x", None),
        ("components.nope[0].x=1", None, None, None),  # creates a list: fine
    ],
)
def test_set_errors(arg: str, message: str | None, span: str | None, hint: str | None) -> None:
    if message is None:
        apply_set(SPEC, arg)
        return
    with pytest.raises(errors.PathError) as info:
        apply_set(SPEC, arg)
    exc = info.value
    assert message in exc.message
    assert exc.message.startswith("--set: ")
    assert exc.path == f"--set {arg}"
    if span is not None:
        assert caret_span(exc) == (span or "=")
    if hint is not None:
        assert exc.hint is not None
        assert hint in exc.hint


def test_missing_key_hint_suggests_a_near_key() -> None:
    with pytest.raises(errors.PathError) as info:
        paths.get_value(SPEC, paths.parse_path("components.pilto", paths.Mode.CONFIG_PATH))
    assert info.value.hint == "did you mean components.pilot?"
    assert caret_span(info.value) == "pilto"


def test_caret_accounts_for_leading_whitespace_and_wide_characters() -> None:
    with pytest.raises(errors.PathError) as info:
        paths.parse_assignment("  日本.a..b=1")
    text = output.format_error(info.value)
    lines = text.splitlines()
    assert lines[1] == "  --set   日本.a..b=1"
    # "--set   " is 8 columns, the two wide characters 4, ".a" 2: the caret sits under the dot after "a"
    assert lines[2] == "  " + " " * 14 + "^"


# --- path syntax and flags ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "written"),
    [
        ("plain", "plain"),
        ("a.b", r"a\.b"),
        ("", '""'),
        ("with space", '"with space"'),
        ('q"uote', r'"q\"uote"'),
        ("back\\slash", r'"back\\slash"'),
        ("br[ack]et", '"br[ack]et"'),
        ("eq=ual", '"eq=ual"'),
        ("new\nline", r'"new\nline"'),
        ("ünï", "ünï"),
    ],
)
def test_escape_key(key: str, written: str) -> None:
    assert paths.escape_key(key) == written
    parsed = paths.parse_path(written, paths.Mode.OVERLAY)
    assert [s.key for s in parsed.segments] == [key]


def test_format_flags() -> None:
    tree = {
        "hub": "gcr.io/istio",
        "components": {
            "base": {"enabled": True},
            "egressGateways": [{"name": "istio-egressgateway", "enabled": False}],
        },
        "values": {"a.b": {"c": None}, "empty": {}, "list": [], "n": 1.5, "s": 'say "hi"\n'},
    }
    assert paths.format_flags(tree) == [
        "components.base.enabled=true",
        "components.egressGateways[0].enabled=false",
        'components.egressGateways[0].name="istio-egressgateway"',
        'hub="gcr.io/istio"',
        "values.a\\.b.c=null",
        "values.n=1.5",
        'values.s="say \\"hi\\"\\n"',
    ]
    assert paths.format_flags([{"mountPath": "/etc"}]) == ['[0].mountPath="/etc"']
    assert paths.format_flags("x") == ['"x"']
    assert paths.format_flags({"spec": {"spec": 1}}) == ['"spec".spec=1']
    assert paths.format_flags(list(range(12)))[2] == "[2]=2"
    assert paths.format_flags(list(range(12)))[10] == "[10]=10"
