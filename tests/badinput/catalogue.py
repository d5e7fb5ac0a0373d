"""The error catalogue: every error site of ``meshctl/`` (see :mod:`tests.badinput.scanner`) with one CLI case.

A :class:`Case` is the command line (``{tmp}`` is the test's directory, ``{kc}`` the kubeconfig of the test API
server or, without ``cluster=True``, one pointing at a closed port), the files, stdin and environment it needs,
setup steps (run with a :class:`Context`), the expected exit code and a regular expression the first stderr line
(``error: …``) must match. ``stdout`` is a regular expression the whole of stdout must match (``""``: nothing).

Sites that no command line can reach are in :data:`UNREACHABLE` with the reason.
"""

from __future__ import annotations

import dataclasses
import functools
import pathlib
from collections.abc import Callable, Mapping
from typing import Any

from tests.helpers import run_cli

#: A kubeconfig whose server is a closed port of 127.0.0.1 (port 1: nothing listens there without root).
CLOSED_PORT_KUBECONFIG = """\
apiVersion: v1
kind: Config
clusters:
- name: closed
  cluster: {server: "http://127.0.0.1:1"}
users:
- name: nobody
  user: {token: not-a-secret}
contexts:
- name: closed
  context: {cluster: closed, user: nobody}
current-context: closed
"""

#: The subprocess program: the console-script entry point, with one attempt per cluster request (as the in-process
#: tests have through tests/badinput/conftest.py), so that an unreachable cluster fails at once.
SUBPROCESS_MAIN = (
    "import functools; from meshctl.kube import client; "
    "client.RetryPolicy = functools.partial(client.RetryPolicy, budget=0.0); "
    "from meshctl.cli.app import main; main()"
)


@dataclasses.dataclass
class Context:
    tmp: pathlib.Path
    api: Any = None  # tests.apiserver.server.ApiServer for cluster cases
    monkeypatch: Any = None  # pytest.MonkeyPatch, for the simulated faults
    cleanups: list[Callable[[], object]] = dataclasses.field(default_factory=list)

    def __post_init__(self) -> None:
        closed = self.tmp / "closed-kubeconfig"
        closed.write_text(CLOSED_PORT_KUBECONFIG, encoding="utf-8")
        self.kubeconfig = self.api.kubeconfig_path if self.api is not None else closed

    def expand(self, text: str) -> str:
        return text.replace("{tmp}", str(self.tmp)).replace("{kc}", str(self.kubeconfig))

    def write_files(self, files: Mapping[str, str | bytes]) -> None:
        for name, content in files.items():
            path = self.tmp / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(self.expand(content), encoding="utf-8")

    def meshctl(self, *args: str, expect: int | None = 0) -> None:
        run_cli(*(self.expand(a) for a in args), "--kubeconfig", str(self.kubeconfig), expect=expect)


Step = Callable[[Context], None]


@dataclasses.dataclass(frozen=True)
class Case:
    argv: tuple[str, ...]
    exit: int
    expect: str  # regular expression searched in the first stderr line
    files: Mapping[str, str | bytes] = dataclasses.field(default_factory=dict)
    stdin: str = ""
    stdin_tty: bool = False
    env: Mapping[str, str] = dataclasses.field(default_factory=dict)
    cluster: bool = False
    setup: tuple[Step, ...] = ()
    stdout: str | None = ""  # regular expression for all of stdout; None: not checked (data commands)
    subprocess: bool = False
    close_stdin: bool = False  # subprocess: started with fd 0 closed (`0<&-`)
    stdout_to: str | None = None  # subprocess: stdout goes to this file (e.g. /dev/full), not a pipe
    also: str | None = None  # a regular expression searched in all of stderr (the hint that tells two sites apart)
    #: The command reports progress (or prompts) on stderr before it fails: the ``error:`` line is the first line
    #: that starts with ``error:``, not the first line (docs/install.md; tests/integration/install_helpers.py).
    preamble: bool = False


KC = ("--kubeconfig", "{kc}")
EXIT_USAGE, EXIT_INPUT, EXIT_CLUSTER, EXIT_TIMEOUT, EXIT_VERIFY, EXIT_ABORTED, EXIT_CONFLICT, EXIT_IO = (
    2,
    3,
    4,
    5,
    6,
    7,
    8,
    74,
)


def case(*argv: str, exit: int, expect: str, **kwargs: Any) -> Case:
    return Case(tuple(argv), exit, expect, **kwargs)


def generate(*argv: str, exit: int = EXIT_INPUT, expect: str, **kwargs: Any) -> Case:
    """``manifest generate ARGV`` (exit 3 unless said otherwise)."""
    return case("manifest", "generate", *argv, exit=exit, expect=expect, **kwargs)


def file_case(name: str, content: str | bytes, expect: str, **kwargs: Any) -> Case:
    """``manifest generate -f NAME``, the file ``name`` holding ``content``."""
    return generate("-f", name, files={name: content}, expect=expect, **kwargs)


def stdin_case(stdin: str, expect: str, **kwargs: Any) -> Case:
    """``manifest generate -f -`` reading ``stdin``."""
    return generate("-f", "-", stdin=stdin, expect=expect, **kwargs)


def output_case(target: str, expect: str, **kwargs: Any) -> Case:
    """``manifest generate -o TARGET``."""
    return generate("-o", target, expect=expect, **kwargs)


def sets(*assignments: str) -> tuple[str, ...]:
    """``--set A --set B …``."""
    return tuple(arg for assignment in assignments for arg in ("--set", assignment))


def strict_case(*assignments: str, expect: str) -> Case:
    """``--strict manifest generate --set A --set B …``."""
    return case("--strict", "manifest", "generate", *sets(*assignments), exit=EXIT_INPUT, expect=expect)


#: 4 MiB of a YAML comment and its newline: one byte over the limit on an input file.
OVER_4_MIB = "#" + "x" * (4 * 1024 * 1024) + "\n"
FULL_STDOUT = r"^error: cannot write to standard output: No space left on device$"


def full_stdout_case(*argv: str, **kwargs: Any) -> Case:
    """A subprocess whose stdout is /dev/full."""
    return case(*argv, exit=EXIT_IO, expect=FULL_STDOUT, subprocess=True, stdout_to="/dev/full", **kwargs)


def write(name: str, content: str) -> Step:
    """Setup: write (or overwrite) one file of the test's directory."""

    def step(ctx: Context) -> None:
        ctx.write_files({name: content})

    return step


def _replace_with_directory(name: str) -> Step:
    """Setup: put a directory where the file ``name`` is (reading it fails with EISDIR)."""

    def step(ctx: Context) -> None:
        path = ctx.tmp / name
        path.unlink()
        path.mkdir()

    return step


def _symlink(target: str, name: str) -> Step:
    """Setup: a symbolic link ``name`` to ``target``."""

    def step(ctx: Context) -> None:
        (ctx.tmp / name).symlink_to(target)

    return step


def installed(*extra: str) -> Step:
    """Setup: install Istio (default profile plus ``extra`` arguments) on the test API server."""

    def step(ctx: Context) -> None:
        ctx.meshctl("install", "-y", *extra)

    return step


def fault(target: str, attribute: str, exc: Callable[[], BaseException]) -> Step:
    """Setup: make ``target.attribute`` (a meshctl module's function) raise ``exc()`` - an OS fault or a bug that no
    input can cause, simulated at the one place it would happen."""

    def step(ctx: Context) -> None:
        import importlib

        def fail(*args: object, **kwargs: object) -> Any:
            raise exc()

        ctx.monkeypatch.setattr(importlib.import_module(target), attribute, fail)

    return step


def render_fault(exc: Callable[[], BaseException]) -> Step:
    """Setup: :func:`fault` in the rendering pipeline, which every ``manifest generate`` runs."""
    return fault("meshctl.render.pipeline", "render", exc)


@functools.cache
def _rendered_injector() -> tuple[str, str, str]:
    """The injector config, values and mesh config that ``install`` renders for the default profile."""
    import yaml

    result = run_cli("manifest", "generate", "--component", "Pilot")
    maps = {
        d["metadata"]["name"]: d["data"] for d in yaml.safe_load_all(result.stdout) if d and d["kind"] == "ConfigMap"
    }
    injector = maps["istio-sidecar-injector"]
    return injector["config"], injector["values"], maps["istio"]["mesh"]


def injector(**config: Any) -> Step:
    """Setup: inj/config.yaml, inj/values.json and inj/mesh.yaml as rendered, ``config`` keys set in the first."""

    def step(ctx: Context) -> None:
        import yaml

        text, values, mesh = _rendered_injector()
        if config:
            text = yaml.safe_dump({**yaml.safe_load(text), **config})
        ctx.write_files({"inj/config.yaml": text, "inj/values.json": values, "inj/mesh.yaml": mesh})

    return step


#: kube-inject with the settings files of :func:`injector` (no cluster, no rendering).
INJ = ("--injectConfigFile", "inj/config.yaml", "--meshConfigFile", "inj/mesh.yaml", "--valuesFile", "inj/values.json")
DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: nginx}
"""


def pod(annotations: str = "{}", spec: str = "{containers: [{name: c, image: nginx}]}", metadata: str = "") -> str:
    """A Pod manifest; ``annotations`` in YAML flow style."""
    meta = metadata or f"{{name: p, annotations: {annotations}}}"
    return f"apiVersion: v1\nkind: Pod\nmetadata: {meta}\nspec: {spec}\n"


def kube_inject(*args: str, exit: int, expect: str, manifest: str | bytes = DEPLOYMENT, **kwargs: Any) -> Case:
    """``kube-inject -f in.yaml ARGS``, in.yaml holding ``manifest``."""
    return case("kube-inject", "-f", "in.yaml", *args, files={"in.yaml": manifest}, exit=exit, expect=expect, **kwargs)


def inject_file_case(path: str, expect: str, **kwargs: Any) -> Case:
    """``kube-inject -f PATH`` with the settings files of :func:`injector` (exit 3)."""
    return case("kube-inject", "-f", path, *INJ, setup=(injector(),), exit=EXIT_INPUT, expect=expect, **kwargs)


def inject_case(
    manifest: str | bytes,
    expect: str,
    *,
    exit: int = EXIT_INPUT,
    setup: tuple[Step, ...] = (),
    args: tuple[str, ...] = INJ,
) -> Case:
    """kube-inject of ``manifest`` with the settings files of :func:`injector` (unless ``setup`` says otherwise)."""
    return kube_inject(*args, manifest=manifest, exit=exit, expect=expect, setup=setup or (injector(),))


def injector_case(expect: str, **config: Any) -> Case:
    """kube-inject of :data:`DEPLOYMENT` whose injector config has the keys ``config``."""
    return inject_case(DEPLOYMENT, expect, setup=(injector(**config),))


def settings_file_case(name: str, content: str, expect: str) -> Case:
    """kube-inject of :data:`DEPLOYMENT` with one of the settings files of :func:`injector` replaced by ``content``."""
    return inject_case(DEPLOYMENT, expect, setup=(injector(), write(name, content)))


def profiles_case(profiles: Mapping[str, str], expect: str, *extra: str, **kwargs: Any) -> Case:
    """``manifest generate -d {tmp}/md EXTRA``: a --manifests directory with only the files ``profiles`` (paths
    under md/profiles/)."""
    files = {f"md/profiles/{name}": text for name, text in profiles.items()}
    return generate("-d", "{tmp}/md", *extra, files=files, expect=expect, **kwargs)


_CONFIG: dict[str, Case] = {
    # --- the CLI's own error lines -------------------------------------------------------------------------------
    "meshctl/cli/app.py::_usage_message::error-line#1": generate(
        "--no-such-flag", exit=EXIT_USAGE, expect=r"^error: No such option: --no-such-flag$"
    ),
    "meshctl/cli/app.py::_interrupted::error-line#1": generate(
        exit=130, expect=r"^error: interrupted$", setup=(render_fault(KeyboardInterrupt),)
    ),
    "meshctl/cli/app.py::_io_error::LocalIOError#1": generate(
        exit=EXIT_IO,
        expect=r"^error: cannot access /some/where: Input/output error$",
        setup=(render_fault(lambda: OSError(5, "Input/output error", "/some/where")),),
    ),
    "meshctl/cli/app.py::_io_error::LocalIOError#2": generate(
        exit=EXIT_IO,
        expect=r"^error: local I/O error: Input/output error$",
        setup=(render_fault(lambda: OSError(5, "Input/output error")),),
    ),
    "meshctl/cli/app.py::_check_arguments::InputLimitError#1": generate(
        "--set",
        "values.x=" + "a" * 70_000,
        expect=r"^error: argument 4 is too long \(70009 characters; the limit is 65536\)$",
    ),
    "meshctl/cli/app.py::_check_arguments::InputLimitError#2": generate(
        "--set",
        "values.x=\udcff",
        expect=r"^error: argument 4 is not UTF-8 text \(invalid byte at offset 9\): values.x=\\xff$",
    ),
    "meshctl/cli/app.py::run::error-line#1": generate(
        exit=70,
        expect=r"^error: internal error: RuntimeError: a simulated bug$",
        setup=(render_fault(lambda: RuntimeError("a simulated bug")),),
    ),
    "meshctl/cli/app.py::_StdoutGuard._fail::LocalIOError#1": full_stdout_case(
        "manifest",
        "generate",
        also=r"^hint: check where stdout goes",  # the guard's line, not the final flush's (which has no hint)
    ),
    "meshctl/cli/output.py::format_error::error-line#1": case(
        "profile", "dump", "no-such-profile", exit=EXIT_INPUT, expect=r"^error: unknown profile 'no-such-profile'$"
    ),
    # --- cli: options that do not go together, bad option values -------------------------------------------------
    "meshctl/cli/options.py::parse_duration::UsageError#1": case(
        "install",
        "--dry-run",
        "--readiness-timeout",
        "soon",
        *KC,
        exit=EXIT_USAGE,
        expect=r"^error: invalid value for --readiness-timeout: 'soon' is not a duration$",
    ),
    "meshctl/cli/options.py::parse_duration::UsageError#2": case(
        "install",
        "--dry-run",
        "--lock-timeout=-5",
        *KC,
        exit=EXIT_USAGE,
        expect=r"^error: invalid value for --lock-timeout: '-5' is negative$",
    ),
    "meshctl/cli/output.py::parse_output_format::UsageError#1": case(
        "profile",
        "dump",
        "-o",
        "jsonpath=",
        exit=EXIT_USAGE,
        expect=r"^error: empty jsonpath expression in -o jsonpath=$",
    ),
    "meshctl/cli/output.py::parse_output_format::UsageError#2": case(
        "profile", "list", "-o", "xml", exit=EXIT_USAGE, expect=r"^error: unknown output format 'xml'$"
    ),
    "meshctl/cli/output.py::_jsonpath_values::UsageError#1": case(
        "profile",
        "dump",
        "-o",
        "jsonpath={.[[[",
        exit=EXIT_USAGE,
        expect=r"^error: invalid jsonpath expression '\{\.\[\[\['",
    ),
    "meshctl/cli/profile.py::diff::UsageError#1": case(
        "profile",
        "diff",
        "-",
        "-",
        exit=EXIT_USAGE,
        expect=r"^error: standard input can be read once: only one of A and B",
    ),
    "meshctl/cli/progress.py::heartbeat::UsageError#1": case(
        "install",
        "--dry-run",
        *KC,
        exit=EXIT_USAGE,
        env={"MESHCTL_HEARTBEAT": "often"},
        expect=r"^error: MESHCTL_HEARTBEAT='often' is not a number of seconds$",
    ),
    "meshctl/cli/uninstall.py::uninstall::UsageError#1": case(
        "uninstall",
        *KC,
        exit=EXIT_USAGE,
        expect=r"^error: at least one of --revision \(or --set revision=REV\), --filename or --purge",
    ),
    "meshctl/cli/uninstall.py::uninstall::UsageError#2": case(
        "uninstall",
        "-r",
        "canary",
        "--delete-user-config",
        *KC,
        exit=EXIT_USAGE,
        expect=r"^error: --delete-user-config only goes with --purge$",
    ),
    "meshctl/render/components.py::resolve_label::UsageError#1": generate(
        "--component", "Bogus", exit=EXIT_USAGE, expect=r"^error: unknown component 'Bogus'$"
    ),
    # --- reading -f files ------------------------------------------------------------------------------------------
    "meshctl/config/layering.py::_stdin_check::UsageError#1": generate(
        "-f",
        "-",
        "-f",
        "x.yaml",
        files={"x.yaml": "{}\n"},
        exit=EXIT_USAGE,
        expect=r"^error: -f -: standard input may only be the last -f$",
    ),
    "meshctl/config/layering.py::_string_setting::InputError#1": file_case(
        "p.yaml", "spec:\n  profile: [1]\n", r"^error: p.yaml: spec.profile must be a string, not a list of 1$"
    ),
    "meshctl/config/loading.py::read_source::InputError#2": generate(
        "-f", "d", files={"d/x": ""}, expect=r"^error: cannot read d: is a directory$"
    ),
    "meshctl/config/loading.py::read_source::InputError#3": generate(
        "-f", "missing.yaml", expect=r"^error: cannot read missing.yaml: No such file or directory$"
    ),
    "meshctl/config/loading.py::read_source::LocalIOError#1": generate(
        "-f", "/proc/self/mem", exit=EXIT_IO, expect=r"^error: cannot read /proc/self/mem: Input/output error$"
    ),
    "meshctl/config/loading.py::_size_error::InputLimitError#1": file_case(
        "big.yaml", OVER_4_MIB, r"^error: big.yaml: input too large \(4.0 MiB; the limit is 4 MiB\)$"
    ),
    "meshctl/config/loading.py::decode::InputLimitError#1": file_case(
        "latin1.yaml",
        b"spec: {profile: d\xe9mo}\n",
        r"^error: latin1.yaml: not UTF-8 text \(invalid byte 0xe9 at offset 17\)$",
    ),
    "meshctl/config/loading.py::decode::InputLimitError#2": stdin_case(
        "spec: {profile: \udcff}\n", r"^error: <stdin>: not UTF-8 text \(lone surrogate at offset 16\)$"
    ),
    "meshctl/config/loading.py::decode::InputLimitError#3": file_case(
        "bin.yaml", b"spec: {}\n\x00\x01\x02", r"^error: bin.yaml: binary data \(control character U\+0000 on line 2\)$"
    ),
    "meshctl/config/loading.py::_depth_error::InputLimitError#1": file_case(
        "deep.yaml", "spec: " + "[" * 200 + "]" * 200 + "\n", r"^error: deep.yaml: nesting deeper than 100 levels$"
    ),
    "meshctl/config/loading.py::_Builder.build::InputLimitError#1": file_case(
        "rec.yaml", "spec: &x {values: [*x]}\n", r"^error: rec.yaml:1:\d+: recursive YAML alias$"
    ),
    "meshctl/config/loading.py::_Builder.build::InputLimitError#2": file_case(
        "bomb.yaml",
        "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 6)),
        r"^error: bomb.yaml: YAML aliases expand to more than 10000 extra nodes$",
    ),
    "meshctl/config/loading.py::_Builder.build::InputLimitError#3": file_case(
        "wide.yaml",
        'a: &a "' + "x" * 600_000 + '"\nb: [*a, *a]\n',
        r"^error: wide.yaml: YAML aliases expand to more than 1 MiB of text$",
    ),
    "meshctl/config/loading.py::_Builder.tag_error::InputError#1": file_case(
        "tag.yaml", "spec: !!binary abc\n", r"^error: tag.yaml:1:7: unsupported YAML tag tag:yaml.org,2002:binary$"
    ),
    "meshctl/config/loading.py::_Builder.scalar::InputError#1": file_case(
        "int.yaml", "spec:\n  values: {x: 0b_}\n", r"^error: int.yaml:2:\d+: 0b_ is not a valid integer$"
    ),
    "meshctl/config/loading.py::_Builder.scalar::InputError#2": file_case(
        "inf.yaml", "spec:\n  values: {x: .inf}\n", r"^error: inf.yaml:2:\d+: .inf is not a finite number$"
    ),
    "meshctl/config/loading.py::_Builder.mapping::InputError#1": file_case(
        "key.yaml",
        "spec:\n  ? [a]\n  : 1\n",
        r"^error: key.yaml:2:5: a mapping key must be a plain value, not a list or map$",
    ),
    "meshctl/config/loading.py::_Builder.mapping::InputLimitError#1": file_case(
        "dup.yaml", "spec: {profile: demo, profile: minimal}\n", r"^error: dup.yaml:1:\d+: duplicate key 'profile'$"
    ),
    "meshctl/config/loading.py::_Builder.merge_sources::InputError#1": file_case(
        "merge.yaml", "spec:\n  <<: [1]\n", r"^error: merge.yaml:2:\d+: '<<' merges only maps$"
    ),
    "meshctl/config/loading.py::load_documents::InputError#1": file_case(
        "broken.yaml", "spec: [\n", r"^error: broken.yaml:2:1: invalid YAML: did not find expected node content$"
    ),
    "meshctl/config/loading.py::load_iop::InputLimitError#1": file_case(
        "two.yaml",
        "spec: {}\n---\nspec: {}\n",
        r"^error: two.yaml: holds 2 YAML documents; a file may hold one IstioOperator$",
    ),
    "meshctl/config/loading.py::load_iop::InputError#1": file_case(
        "list.yaml", "- spec\n", r"^error: list.yaml: an IstioOperator document must be a map, not list$"
    ),
    "meshctl/config/loading.py::load_iop::InputError#2": file_case(
        "kind.yaml", "kind: Deployment\n", r"^error: kind.yaml: kind is 'Deployment', expected IstioOperator$"
    ),
    "meshctl/config/loading.py::load_iop::InputError#3": file_case(
        "api.yaml", "apiVersion: v1\n", r"^error: api.yaml: apiVersion is 'v1', expected install.istio.io/v1alpha1$"
    ),
    "meshctl/config/loading.py::load_iop::InputError#4": file_case(
        "spec.yaml", "spec: 3\n", r"^error: spec.yaml: spec must be a map$"
    ),
    "meshctl/config/loading.py::load_iop_files::InputLimitError#1": generate(
        *(a for i in range(5) for a in ("-f", f"part{i}.yaml")),
        files={f"part{i}.yaml": "#" + "x" * (4 * 1024 * 1024 - 100) + "\n" for i in range(5)},
        expect=r"^error: part4.yaml: the -f inputs together exceed 16 MiB \(the limit on all input files\)$",
    ),
    # --- --set and other paths -------------------------------------------------------------------------------------
    "meshctl/config/paths.py::int_range_error::InputLimitError#1": generate(
        "--set",
        "values.pilot.replicaCount=99999999999999999999",
        expect=r"^error: --set values.pilot.replicaCount: integer 99999999999999999999 is out of range \(64-bit signed",
    ),
    "meshctl/config/paths.py::_check_depth::InputLimitError#1": generate(
        "--set",
        ".".join(["a"] * 120) + "=1",
        expect=r"^error: --set: path has 120 segments; the limit is 100 \(the nesting limit of files\)$",
    ),
    # --- profiles and --manifests ----------------------------------------------------------------------------------
    "meshctl/config/profiles.py::_names::LocalIOError#1": profiles_case(
        {"default.yaml": "{}\n"},
        r"^error: cannot read directory .*/md/profiles: Permission denied$",
        exit=EXIT_IO,
        setup=(fault("os", "scandir", lambda: PermissionError(13, "Permission denied")),),
    ),
    "meshctl/config/profiles.py::load_profile::InputError#1": profiles_case(
        {"default.yaml": "- spec\n"},
        r"^error: profile default: .*/md/profiles/default.yaml is not an IstioOperator document$",
    ),
    "meshctl/config/profiles.py::_load_layer::InputError#1": profiles_case(
        {"default.yaml": "spec: {}\n", "platforms/gke.yaml": "- 1\n"},
        r"^error: platform gke: .*/md/profiles/platforms/gke.yaml must hold a map of values$",
        "--set",
        "values.global.platform=gke",
    ),
    "meshctl/config/profiles.py::_load_named::InputError#1": generate(
        "--set", "values.global.platform=bogus", expect=r"^error: unknown platform 'bogus'$"
    ),
    "meshctl/config/loading.py::load_yaml_file::InputError#1": profiles_case(
        {"default.yaml": "spec: {}\n---\nspec: {}\n"},
        r"^error: .*/md/profiles/default.yaml: holds 2 YAML documents; expected one$",
    ),
    "meshctl/config/resources.py::_user_dir::InputError#1": generate(
        "-d", "file", files={"file": "x"}, expect=r"^error: --manifests file: not a directory$"
    ),
    # --- the effective configuration --------------------------------------------------------------------------------
    "meshctl/config/layering.py::build_effective_config::ValidationError#1": file_case(
        "v.yaml",
        "spec:\n  values:\n    pilot:\n      replicaCount: abc\n",
        r"^error: invalid configuration: 1 problem$",
        also=r"hint: fix the settings above, or pass --force",
    ),
    "meshctl/config/layering.py::strict_error::InputError#1": strict_case(
        "values.pilot.unknownSetting=1", expect=r"^error: values.pilot.unknownSetting: meshctl does not use this key"
    ),
    "meshctl/config/layering.py::strict_error::InputError#2": strict_case(
        "values.pilot.one=1",
        "values.pilot.two=2",
        expect=r"^error: 2 configuration warnings \(errors because of --strict\)$",
    ),
}


_INJECT: dict[str, Case] = {
    # --- kube-inject: options, reading and writing ---------------------------------------------------------------
    "meshctl/cli/inject.py::_check_options::UsageError#1": kube_inject(
        "--from-cluster",
        "--set",
        "profile=demo",
        exit=EXIT_USAGE,
        expect=r"^error: --from-cluster does not go with --set, --operatorFileName, --manifests or --force$",
    ),
    "meshctl/cli/inject.py::_check_options::UsageError#2": kube_inject(
        "--istioNamespace", "mesh", exit=EXIT_USAGE, expect=r"^error: --istioNamespace only apply with --from-cluster$"
    ),
    "meshctl/cli/inject.py::_check_options::UsageError#3": case(
        "kube-inject",
        "-f",
        "-",
        "--valuesFile",
        "-",
        exit=EXIT_USAGE,
        expect=r"^error: only one input can be read from stdin \('-'\), not --filename, --valuesFile$",
    ),
    "meshctl/cli/inject.py::_write_file::InputError#1": inject_case(
        DEPLOYMENT,
        r"^error: cannot write no/such/dir/out.yaml: No such file or directory$",
        args=(*INJ, "-o", "no/such/dir/out.yaml"),
    ),
    "meshctl/cli/inject.py::_write_file::InputError#2": inject_case(
        DEPLOYMENT, r"^error: cannot write inj: Is a directory$", args=(*INJ, "-o", "inj")
    ),
    "meshctl/ops/inject.py::read_text::InputError#2": inject_file_case(
        "missing.yaml", r"^error: --filename: cannot read missing.yaml: No such file or directory$"
    ),
    "meshctl/ops/inject.py::read_text::InputError#3": inject_case(
        b"kind: \xff\n", r"^error: --filename: in.yaml is not UTF-8 text: invalid start byte$"
    ),
    "meshctl/ops/inject.py::_rendered_configmaps::InputError#1": kube_inject(
        "--set",
        "components.pilot.enabled=false",
        exit=EXIT_INPUT,
        expect=r"^error: this configuration renders no istio-sidecar-injector ConfigMap",
    ),
    # --- kube-inject: the injector settings ------------------------------------------------------------------------
    "meshctl/inject/settings.py::InjectorConfig.template::InputError#1": injector_case(
        r"^error: requested injection template 'nosuch' not found; the injector has: gateway, sidecar$",
        defaultTemplates=["nosuch"],
    ),
    "meshctl/inject/settings.py::_load::InputError#1": settings_file_case(
        "inj/values.json",
        "a: [\n",
        r"^error: inj/values.json: the injector values is not valid YAML \(line 2, column 1\): did not find",
    ),
    "meshctl/inject/settings.py::_data_of::InputError#1": settings_file_case(
        "inj/values.json",
        "kind: ConfigMap\ndata: {config: x}\n",
        r"^error: inj/values.json: the ConfigMap has no data key 'values'$",
    ),
    "meshctl/inject/settings.py::parse_injector_config::InputError#1": settings_file_case(
        "inj/config.yaml",
        "- sidecar\n",
        r"^error: inj/config.yaml: the injector configuration must be a mapping with 'templates'$",
    ),
    "meshctl/inject/settings.py::parse_injector_config::InputError#2": injector_case(
        r"^error: inj/config.yaml: 'templates' must map template names to template text$", templates={"sidecar": 1}
    ),
    "meshctl/inject/settings.py::_mapping::InputError#1": injector_case(
        r"^error: inj/config.yaml: 'aliases' must be a mapping$", aliases=["a"]
    ),
    "meshctl/inject/settings.py::_list::InputError#1": injector_case(
        r"^error: inj/config.yaml: 'neverInjectSelector' must be a list$",
        neverInjectSelector={"matchLabels": {"a": "b"}},
    ),
    "meshctl/inject/settings.py::parse_mesh_config::InputError#1": settings_file_case(
        "inj/mesh.yaml", "- 1\n", r"^error: inj/mesh.yaml: the mesh configuration must be a mapping$"
    ),
    "meshctl/inject/settings.py::parse_values::InputError#1": settings_file_case(
        "inj/values.json", "[1]\n", r"^error: inj/values.json: the injector values must be a mapping$"
    ),
    "meshctl/inject/settings.py::parse_values::InputError#2": settings_file_case(
        "inj/values.json",
        "since: 2020-01-01\n",
        r"^error: inj/values.json: the injector values must be JSON data: Object of type date",
    ),
    "meshctl/inject/policy.py::_selects::InputError#1": injector_case(
        r"^error: injector selector 3 is not a label selector$", neverInjectSelector=[3]
    ),
    "meshctl/inject/policy.py::_selects::InputError#2": injector_case(
        r"^error: injector selector \{'matchExpressions': 3\}: matchExpressions must be a list",
        neverInjectSelector=[{"matchExpressions": 3}],
    ),
    "meshctl/inject/policy.py::_expression::InputError#1": injector_case(
        r"^error: injector selector: the values of key 'app' must be a list$",
        neverInjectSelector=[{"matchExpressions": [{"key": "app", "operator": "In", "values": 3}]}],
    ),
    "meshctl/inject/policy.py::_expression::InputError#2": injector_case(
        r"^error: injector selector: unknown operator 'Near' for key 'app'$",
        neverInjectSelector=[{"matchExpressions": [{"key": "app", "operator": "Near"}]}],
    ),
    # --- kube-inject: the manifest and its pods ----------------------------------------------------------------------
    "meshctl/inject/workloads.py::_load::InputError#1": inject_case(
        "kind: [\n", r"^error: in.yaml:2:1: not valid YAML: did not find expected node content$"
    ),
    "meshctl/inject/workloads.py::inject_object::InputError#1": inject_case(
        pod(spec="{containers: []}"), r"^error: Pod p \(in.yaml:1\): the pod has no containers \(spec.containers"
    ),
    "meshctl/inject/workloads.py::inject_object::InputError#2": inject_case(
        pod(spec="{containers: [{image: nginx}]}"), r"^error: Pod p \(in.yaml:1\): every container needs a name$"
    ),
    "meshctl/inject/workloads.py::inject_object::InputError#3": inject_case(
        pod(metadata="3"), r"^error: Pod <unnamed> \(in.yaml:1\): the pod template's metadata is not a mapping$"
    ),
    "meshctl/inject/workloads.py::_template_of::InputError#1": inject_case(
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {}\n",
        r"^error: Deployment d \(in.yaml:1\): spec.template is missing: a Deployment needs a pod template at",
    ),
    "meshctl/inject/pod.py::check_annotations::InputError#1": inject_case(
        pod("{sidecar.istio.io/proxyCPU: lots}"), r"^error: Pod p \(in.yaml:1\): invalid injection annotation$"
    ),
    "meshctl/inject/pod.py::proxy_config::InputError#1": inject_case(
        pod("{proxy.istio.io/config: 'a: ['}"),
        r"^error: Pod p \(in.yaml:1\): annotation proxy.istio.io/config is not valid YAML: while parsing a flow",
    ),
    "meshctl/inject/pod.py::proxy_config::InputError#2": inject_case(
        pod("{proxy.istio.io/config: '- 1'}"),
        r"^error: Pod p \(in.yaml:1\): annotation proxy.istio.io/config must be a mapping of ProxyConfig fields$",
    ),
    "meshctl/inject/pod.py::_overrides::InputError#1": inject_case(
        pod("{proxy.istio.io/overrides: '{x'}"), r"^error: annotation proxy.istio.io/overrides is not valid JSON: "
    ),
    "meshctl/inject/pod.py::_overrides::InputError#2": inject_case(
        pod("{proxy.istio.io/overrides: '[1]'}"),
        r"^error: annotation proxy.istio.io/overrides must be a JSON object with containers and initContainers$",
    ),
    "meshctl/inject/pod.py::inject::RenderError#1": injector_case(
        r"^error: Deployment web \(in.yaml:1\): injection template 'sidecar' read a value the settings lack",
        templates={"sidecar": "{{ .Values.nosuch.x }}"},
    ),
    "meshctl/inject/pod.py::inject::RenderError#2": injector_case(
        r"^error: Deployment web \(in.yaml:1\): injection template 'sidecar' produced invalid YAML: ",
        templates={"sidecar": "a: [\n"},
    ),
    "meshctl/inject/pod.py::inject::RenderError#3": injector_case(
        r"^error: Deployment web \(in.yaml:1\): injection template 'sidecar' did not produce a pod fragment$",
        templates={"sidecar": "- 1\n"},
    ),
}


def template_case(template: str, expect: str) -> Case:
    """kube-inject whose injector's ``sidecar`` template is ``template`` (Go template text; errors are exit 3)."""
    return injector_case(r"^error: template sidecar:1:\d+: " + expect, templates={"sidecar": template})


_TEMPLATES: dict[str, Case] = {
    # --- Go templates of the injector (a user's --injectConfigFile or the cluster's ConfigMap) ----------------------
    "meshctl/gotemplate.py::_error::TemplateError#1": template_case("{{/* never closed", r"unclosed comment$"),
    "meshctl/gotemplate.py::to_text::TemplateError#1": template_case(
        "{{ .Values }}", r"cannot print a dict as text; use toYaml or toJson$"
    ),
    "meshctl/gotemplate.py::_plain::TemplateError#1": template_case(
        "{{ toYaml . }}", r"error calling toYaml: this struct has no JSON form$"
    ),
    "meshctl/gotemplate.py::_go_json::TemplateError#1": template_case(
        "{{ toJson . }}", r"error calling toJson: this struct has no JSON form$"
    ),
    "meshctl/gotemplate.py::_want::TemplateError#1": template_case(
        "{{ index .Spec.Containers true }}", r"error calling index: expected int, got bool$"
    ),
    "meshctl/gotemplate.py::_want::TemplateError#2": template_case(
        "{{ fromJSON 3 }}", r"error calling fromJSON: expected string, got int$"
    ),
    "meshctl/gotemplate.py::_fn_eq::TemplateError#1": template_case(
        "{{ eq 1 }}", r"error calling eq: missing argument for comparison$"
    ),
    "meshctl/gotemplate.py::_fn_eq::TemplateError#2": template_case(
        "{{ eq .Values .Values }}", r"error calling eq: invalid type for comparison$"
    ),
    "meshctl/gotemplate.py::_fn_eq::TemplateError#3": template_case(
        '{{ eq 1 "a" }}', r"error calling eq: incompatible types for comparison \(int and string\)$"
    ),
    "meshctl/gotemplate.py::_fn_index::TemplateError#1": template_case(
        '{{ index (index .Values "nosuch") "x" }}', r"error calling index: index of untyped nil$"
    ),
    "meshctl/gotemplate.py::_fn_index::TemplateError#2": template_case(
        "{{ index .Spec.Containers 99 }}", r"error calling index: index out of range: 99$"
    ),
    "meshctl/gotemplate.py::_fn_index::TemplateError#3": template_case(
        "{{ index 3 1 }}", r"error calling index: can't index item of type int$"
    ),
    "meshctl/gotemplate.py::_fn_dict::TemplateError#1": template_case(
        '{{ dict "a" }}', r"error calling dict: expects key/value pairs$"
    ),
    "meshctl/gotemplate.py::_fn_proto_to_json::TemplateError#1": template_case(
        "{{ protoToJSON 3 }}", r"error calling protoToJSON: expected a message$"
    ),
    "meshctl/gotemplate.py::_fn_from_json::TemplateError#1": template_case(
        '{{ fromJSON "{" }}', r"error calling fromJSON: invalid JSON: Expecting property name"
    ),
    "meshctl/gotemplate.py::_fn_annotation::TemplateError#1": template_case(
        '{{ annotation 3 "x" "d" }}', r"error calling annotation: expected an ObjectMeta$"
    ),
}


def manifests(**files: str) -> Step:
    """Setup: a copy of the built-in profiles and templates in m/ (for ``--manifests m``), ``files`` written over it
    (keys are paths under m/ with ``__`` for ``/``, e.g. ``pilot__bad_yaml_j2``; use :func:`write` for odd names)."""

    def step(ctx: Context) -> None:
        import shutil

        from meshctl.config import resources

        root = resources.bundled_root()
        shutil.copytree(root / "manifests", ctx.tmp / "m")
        shutil.copytree(root / "profiles", ctx.tmp / "m" / "profiles")
        ctx.write_files({f"m/{name}": text for name, text in files.items()})

    return step


def manifests_case(expect: str, *steps: Step, args: tuple[str, ...] = ()) -> Case:
    """``manifest generate -d {tmp}/m ARGS`` with the copy of :func:`manifests`, changed by ``steps``."""
    return generate("-d", "{tmp}/m", *args, expect=expect, setup=(manifests(), *steps))


def template_file_case(text: str, expect: str) -> Case:
    """manifest generate with --manifests m whose pilot component has one more template, ``text``."""
    return manifests_case(expect, write("m/pilot/zz-extra.yaml.j2", text))


def istiod_template(spec: str) -> Step:
    """Setup: pilot's Deployment template in m/ (of :func:`manifests`) replaced by a Deployment istiod with ``spec``."""
    return write(
        "m/pilot/deployment.yaml.j2",
        f"apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: istiod, namespace: istio-system}}\nspec: {spec}\n",
    )


def overlay(patch: str, k8s: str = "") -> dict[str, str]:
    """An -f file (iop.yaml): pilot's k8s settings ``k8s`` plus an overlay of Deployment istiod with ``patch``."""
    overlays = f"overlays: [{{kind: Deployment, name: istiod, patches: [{patch}]}}]" if patch else ""
    return {
        "iop.yaml": f"spec:\n  components:\n    pilot:\n      k8s: {{{', '.join(x for x in (k8s, overlays) if x)}}}\n"
    }


def k8s_case(k8s: str, expect: str, *, patch: str = "", force: bool = True) -> Case:
    return generate("-f", "iop.yaml", *(("--force",) if force else ()), files=overlay(patch, k8s), expect=expect)


RENDER_REJECTED = r"hint: a setting renders an object the API server would reject"
#: --set assignments: an hpaSpec for pilot, whose autoscaler is off (a setting without effect).
HPA_WITHOUT_AUTOSCALER = ("values.pilot.autoscaleEnabled=false", "components.pilot.k8s.hpaSpec.minReplicas=2")

_RENDER: dict[str, Case] = {
    # --- templates of --manifests DIR ------------------------------------------------------------------------------
    "meshctl/render/components.py::load_values_file::RenderError#1": manifests_case(
        r"^error: values file .*/m/pilot/values.yaml cannot be read: Is a directory$",
        _replace_with_directory("m/pilot/values.yaml"),
    ),
    "meshctl/render/components.py::load_values_file::RenderError#2": manifests_case(
        r"^error: values file .*/m/pilot/values.yaml is not valid YAML: while parsing a flow node",
        write("m/pilot/values.yaml", "a: [\n"),
    ),
    "meshctl/render/components.py::load_values_file::RenderError#3": manifests_case(
        r"^error: values file .*/m/values.yaml must hold a map of values$", write("m/values.yaml", "- 1\n")
    ),
    "meshctl/render/pipeline.py::render_instance::RenderError#1": profiles_case(
        {"default.yaml": "spec: {}\n"}, r"^error: no templates for component Base: .*/md/base is not a directory$"
    ),
    "meshctl/render/templates.py::render_template_dir.include_file::RenderError#1": template_file_case(
        '{{ include_file("no-such-file") }}',
        r"^error: template file .*/m/pilot/no-such-file cannot be read: No such file",
    ),
    "meshctl/render/templates.py::render_template_file::RenderError#1": template_file_case(
        "{{ no_such_value.field }}",
        r"^error: template .*/m/pilot/zz-extra.yaml.j2: undefined value: 'no_such_value' is undefined$",
    ),
    "meshctl/render/templates.py::render_template_file::RenderError#2": template_file_case(
        "{% if %}", r"^error: template .*/m/pilot/zz-extra.yaml.j2:1: syntax error: "
    ),
    "meshctl/render/templates.py::render_template_file::RenderError#3": template_file_case(
        '{% include "no-such-template" %}',
        r"^error: template .*/m/pilot/zz-extra.yaml.j2: 'no-such-template' not found in search path",
    ),
    "meshctl/render/templates.py::render_template_file::RenderError#4": template_file_case(
        "a: [\n", r"^error: template .*/m/pilot/zz-extra.yaml.j2 produced invalid YAML: "
    ),
    "meshctl/render/templates.py::render_template_file::RenderError#5": template_file_case(
        "- 1\n", r"^error: template .*/m/pilot/zz-extra.yaml.j2 produced a document that is not a Kubernetes object$"
    ),
    "meshctl/render/templates.py::render_template_file::RenderError#6": template_file_case(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {}\n",
        r"^error: template .*/m/pilot/zz-extra.yaml.j2 produced a ConfigMap without metadata.name$",
    ),
    "meshctl/render/k8s.py::_pod_spec::RenderError#1": manifests_case(
        r"^error: components.pilot.k8s.nodeSelector: the pod template of Deployment istiod is not a map$",
        istiod_template("{template: 3}"),
        args=("--set", "components.pilot.k8s.nodeSelector.disk=ssd"),
    ),
    "meshctl/render/k8s.py::_container::RenderError#1": manifests_case(
        r"^error: components.pilot.k8s.resources: Deployment istiod has no container discovery$",
        istiod_template("{template: {spec: {containers: [{name: other, image: x}]}}}"),
        args=("--set", "components.pilot.k8s.resources.limits.cpu=1"),
    ),
    # --- k8s settings and overlays of the IstioOperator ---------------------------------------------------------
    "meshctl/render/k8s.py::apply::RenderError#1": k8s_case(
        "bogus: 1", r"^error: components.pilot.k8s.bogus is not a k8s setting meshctl applies$"
    ),
    "meshctl/render/k8s.py::_require_map::RenderError#1": k8s_case(
        "nodeSelector: [1]", r"^error: components.pilot.k8s.nodeSelector must be a map$"
    ),
    "meshctl/render/k8s.py::_require_list::RenderError#1": k8s_case(
        "env: 3", r"^error: components.pilot.k8s.env must be a list$"
    ),
    "meshctl/render/k8s.py::_apply_env::RenderError#1": k8s_case(
        "env: [3]", r"^error: components.pilot.k8s.env\[0\] must be a map with a name$"
    ),
    "meshctl/render/k8s.py::_apply_pdb::RenderError#1": k8s_case(
        "podDisruptionBudget: {minAvailable: 1, maxUnavailable: 1}",
        r"^error: components.pilot.k8s.podDisruptionBudget sets both minAvailable and maxUnavailable$",
        force=False,
    ),
    "meshctl/render/k8s.py::apply_overlays::RenderError#1": k8s_case(
        "overlays: [{name: istiod}]", r"^error: components.pilot.k8s.overlays\[0\] needs a kind and a name$"
    ),
    "meshctl/render/k8s.py::apply_overlays::RenderError#2": k8s_case(
        "", r"^error: components.pilot.k8s.overlays\[0\].patches\[0\] needs a path$", patch="{value: 1}"
    ),
    "meshctl/render/pipeline.py::add_labels::RenderError#1": k8s_case(
        "", r"^error: Deployment has no metadata map after overlays$", patch="{path: metadata, value: 3}"
    ),
    "meshctl/render/pipeline.py::check_unique::RenderError#1": generate(
        "--force",
        *sets("components.ingressGateways[1].name=istio-ingressgateway", "components.ingressGateways[1].enabled=true"),
        expect=r"^error: Deployment istio-system/istio-ingressgateway is rendered twice \(by IngressGateways and",
    ),
    "meshctl/render/pipeline.py::strict_error::RenderError#1": strict_case(
        *HPA_WITHOUT_AUTOSCALER,
        expect=r"^error: components.pilot.k8s.hpaSpec has no effect: Pilot renders no HorizontalPodAutoscaler istiod",
    ),
    "meshctl/render/pipeline.py::strict_error::RenderError#2": strict_case(
        *HPA_WITHOUT_AUTOSCALER,
        "components.pilot.k8s.overlays[0].kind=Service",
        "components.pilot.k8s.overlays[0].name=nosuch",
        expect=r"^error: 2 settings have no effect \(errors because of --strict\)$",
    ),
    "meshctl/render/k8scheck.py::check_objects::ValidationError#1": generate(
        "--set",
        "components.pilot.k8s.replicaCount=99999999999",
        expect=r"^error: invalid configuration: 1 problem$",
        also=RENDER_REJECTED,
    ),
    # --- manifest generate -o ---------------------------------------------------------------------------------------
    "meshctl/render/output.py::_refuse::InputError#1": output_case(
        "out",
        r"^error: refusing to overwrite .*out: it holds mine.txt, which meshctl did not write$",
        files={"out/mine.txt": "x"},
    ),
    "meshctl/render/output.py::_os_error::LocalIOError#1": output_case(
        "{tmp}/file/out", r"^error: cannot write to .*/file/out: Not a directory$", files={"file": "x"}, exit=EXIT_IO
    ),
    "meshctl/render/output.py::write_file::InputError#1": output_case(
        "no/such/out.yaml", r"^error: cannot write no/such/out.yaml: directory no/such does not exist$"
    ),
}


def on_api(action: Callable[[Any], object]) -> Step:
    """Setup: do something to the test API server (seed objects, faults, controllers)."""

    def step(ctx: Context) -> None:
        action(ctx.api)

    return step


def hide(kind: str) -> Step:
    """Setup: the test API server stops serving ``kind`` (discovery and requests), as a cluster without that API."""

    def step(ctx: Context) -> None:
        served = ctx.api.cluster.served_types
        ctx.monkeypatch.setattr(ctx.api.cluster, "served_types", lambda: [t for t in served() if t.kind != kind])
        # A discovery cache written by an earlier step still lists it: the command starts with a cold one.
        ctx.monkeypatch.setenv("MESHCTL_CACHE_DIR", str(ctx.tmp / f"cache-without-{kind}"))

    return step


def kubeconfig(server: str, name: str = "other-kubeconfig", **cluster: str) -> Step:
    """Setup: a kubeconfig file ``name`` for ``server`` (``{api}`` is the test API server's URL) with its token."""

    def step(ctx: Context) -> None:
        import yaml

        url = server.replace("{api}", ctx.api.url if ctx.api is not None else "")
        token = ctx.api.token if ctx.api is not None else "not-a-secret"
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "current-context": "c",
            "clusters": [{"name": "c", "cluster": {"server": url, **cluster}}],
            "users": [{"name": "u", "user": {"token": token}}],
            "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
        }
        (ctx.tmp / name).write_text(yaml.safe_dump(config), encoding="utf-8")

    return step


def not_json_server(ctx: Context) -> None:
    """Setup: an HTTP server on 127.0.0.1 that answers every request 200 with a web page (not the API server)."""
    import http.server
    import threading

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html>hello</html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ctx.cleanups.append(server.shutdown)
    ctx.cleanups.append(server.server_close)
    kubeconfig(f"http://127.0.0.1:{server.server_address[1]}", "page-kubeconfig")(ctx)


def _objects(*docs: dict[str, Any]) -> Callable[[Any], None]:
    def create(api: Any) -> None:
        for doc in docs:
            api.objects.create(doc)

    return create


NAMESPACE = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "istio-system"}}


def _configmap(name: str, **fields: Any) -> dict[str, Any]:
    """ConfigMap ``name`` of istio-system, with ``fields`` (e.g. ``data``) after its metadata."""
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": "istio-system"}, **fields}


MINIMAL = ("--set", "profile=minimal")


def _lease(holder: str) -> dict[str, Any]:
    from meshctl.kube import lock

    return lock.lease_object("istio-system", holder=holder, duration=3600)


def _corrupt_inventory(api: Any) -> None:
    secret = api.objects.get("secrets", "meshctl-default", "istio-system")
    secret["data"] = {key: "bm90IGFuIGludmVudG9yeQ==" for key in secret.get("data") or {"inventory": ""}}
    api.objects.put(secret)


def _field_owner_after_the_plan(ctx: Context) -> None:
    """Setup: right after install's plan (a server-side dry run that found no conflict), another field manager
    writes ConfigMap istio-system/istio - the race that only the apply itself can detect."""
    from meshctl.ops import plan

    make_plan = plan.make_plan

    def racing(*args: Any, **kwargs: Any) -> Any:
        result = make_plan(*args, **kwargs)
        ctx.api.objects.apply(_configmap("istio", data={"mesh": "theirs: true"}), manager="someone-else")
        return result

    ctx.monkeypatch.setattr(plan, "make_plan", racing)


def _hold_configmap(api: Any) -> None:
    cm = api.objects.get("configmaps", "istio", "istio-system")
    cm["metadata"]["finalizers"] = ["example.com/hold"]
    api.objects.put(cm)


def _renewals_conflict(api: Any) -> None:
    # Every renewal of the lease is refused as taken over; the install (slowed down) outlasts the first renewal.
    api.faults.add_error(409, verbs="update", resources="leases")
    api.faults.set_latency(0.05)


def cluster_case(*argv: str, exit: int, expect: str, **kwargs: Any) -> Case:
    kwargs.setdefault("preamble", argv[0] in ("install", "upgrade", "uninstall", "verify-install"))
    return case(*argv, *KC, exit=exit, expect=expect, cluster=True, **kwargs)


def remote_case(*args: str, expect: str, **kwargs: Any) -> Case:
    """``meshctl version --remote ARGS`` failing to reach or use the cluster (exit 4); no test API server."""
    return case("version", "--remote", *args, exit=EXIT_CLUSTER, expect=expect, **kwargs)


def from_cluster_case(*args: str, exit: int, expect: str, **kwargs: Any) -> Case:
    """``kube-inject --from-cluster -f in.yaml ARGS`` of :data:`DEPLOYMENT` against the test API server."""
    return cluster_case(
        "kube-inject",
        "--from-cluster",
        "-f",
        "in.yaml",
        *args,
        files={"in.yaml": DEPLOYMENT},
        exit=exit,
        expect=expect,
        **kwargs,
    )


def unserved_case(kind: str, api: str, *argv: str, before: tuple[Step, ...] = ()) -> Case:
    """A cluster command whose test API server does not serve ``kind`` (after the setup ``before``)."""
    return cluster_case(
        *argv, setup=(*before, hide(kind)), exit=EXIT_CLUSTER, expect=r"^error: the cluster does not serve " + api
    )


def controller_off(kind: str) -> Step:
    """Setup: the test API server's controller of ``kind`` is off (its objects are never ready)."""
    return on_api(lambda api: api.controllers.disable(kind))


#: ``install -y`` of the minimal profile.
INSTALL_MINIMAL = ("install", "-y", *MINIMAL)
#: Setup: the minimal profile is installed (without waiting for readiness).
INSTALLED_MINIMAL = installed("--no-wait", *MINIMAL)
#: Setup: ConfigMap istio-system/istio exists, created by someone else than meshctl.
ISTIO_CONFIGMAP_EXISTS = on_api(_objects(NAMESPACE, _configmap("istio")))


def taken_configmap_case(*argv: str, **kwargs: Any) -> Case:
    """``argv`` refused (exit 8) because of :data:`ISTIO_CONFIGMAP_EXISTS`."""
    return cluster_case(
        *argv,
        setup=(ISTIO_CONFIGMAP_EXISTS,),
        exit=EXIT_CONFLICT,
        expect=r"^error: 1 object is owned by another manager or installation$",
        **kwargs,
    )


def short_wait_case(kind: str, expect: str) -> Case:
    """``install -y`` of the minimal profile, waiting 0.3 s for objects whose controller (of ``kind``) is off."""
    return cluster_case(
        *INSTALL_MINIMAL,
        "--readiness-timeout",
        "0.3s",
        setup=(controller_off(kind),),
        exit=EXIT_TIMEOUT,
        expect=expect,
    )


_CLUSTER: dict[str, Case] = {
    # --- the kubeconfig and the connection ----------------------------------------------------------------------------
    "meshctl/kube/client.py::_load_kubeconfig::ConfigError#1": remote_case(
        "--kubeconfig", "{tmp}/no-such-kubeconfig", expect=r"^error: no kubeconfig found at .*/no-such-kubeconfig$"
    ),
    "meshctl/kube/client.py::_load_kubeconfig::ConfigError#2": remote_case(
        "--context", "nosuch", *KC, expect=r"^error: context 'nosuch' is not in the kubeconfig$"
    ),
    "meshctl/kube/client.py::_load_kubeconfig::ConfigError#3": remote_case(
        "--kubeconfig",
        "bad-kubeconfig",
        files={"bad-kubeconfig": "- just a list\n"},
        expect=r"^error: the kubeconfig bad-kubeconfig cannot be used: ",
    ),
    "meshctl/kube/client.py::RestClient._json::ConnectionFailed#1": remote_case(
        "--kubeconfig",
        "page-kubeconfig",
        setup=(not_json_server,),
        expect=r"^error: get .*: the server answered something that is not JSON$",
    ),
    "meshctl/kube/client.py::RestClient._connection_error::ConnectionFailed#1": remote_case(
        "--kubeconfig",
        "untrusted",
        cluster=True,
        setup=(kubeconfig("{api}", "untrusted"),),
        expect=r"^error: get .*: TLS handshake with https://127.0.0.1:\d+ failed: ",
    ),
    "meshctl/kube/client.py::RestClient._connection_error::ConnectionFailed#2": case(
        "install",
        "--dry-run",
        *KC,
        exit=EXIT_CLUSTER,
        expect=r"^error: get .*: cannot reach the API server http://127.0.0.1:1: ",
    ),
    # --- APIs the cluster does not serve ------------------------------------------------------------------------------
    "meshctl/kube/lock.py::acquire::KubeError#1": unserved_case(
        "Lease", r"coordination.k8s.io/v1 Leases, needed for the lock$", *INSTALL_MINIMAL
    ),
    "meshctl/kube/inventory.py::_secrets::KubeError#1": unserved_case(
        "Secret", r"v1 Secrets$", "uninstall", "--purge", "-y", before=(INSTALLED_MINIMAL,)
    ),
    "meshctl/ops/install.py::_Install._resource::KubeError#1": unserved_case(
        "HorizontalPodAutoscaler", r"autoscaling/v2 HorizontalPodAutoscaler$", "install", "-y"
    ),
    "meshctl/ops/version.py::remote_versions::KubeError#1": unserved_case("Pod", r"v1 Pods$", "version", "--remote"),
    "meshctl/ops/inject.py::ClusterConfigMaps.__call__::ClusterError#1": from_cluster_case(
        setup=(hide("ConfigMap"),), exit=EXIT_CLUSTER, expect=r"^error: the cluster does not serve v1 ConfigMaps$"
    ),
    # --- kube-inject --from-cluster ---------------------------------------------------------------------------------
    "meshctl/ops/inject.py::_cluster_configmaps::InputError#1": from_cluster_case(
        exit=EXIT_INPUT, expect=r"^error: ConfigMap istio-system/istio-sidecar-injector not found in the cluster$"
    ),
    "meshctl/ops/inject.py::_cluster_configmaps::InputError#2": from_cluster_case(
        "--injectConfigFile",
        "inj/config.yaml",
        "--valuesFile",
        "inj/values.json",
        setup=(injector(),),
        exit=EXIT_INPUT,
        expect=r"^error: ConfigMap istio-system/istio not found in the cluster$",
    ),
    "meshctl/ops/inject.py::load_settings::InputError#1": from_cluster_case(
        exit=EXIT_INPUT,
        setup=(
            on_api(_objects(NAMESPACE, _configmap("istio-sidecar-injector", data={}), _configmap("istio", data={}))),
        ),
        expect=r"^error: the cluster's ConfigMaps in istio-system: the injector ConfigMap lacks its 'config' or "
        r"'values' key$",
    ),
    # --- install ----------------------------------------------------------------------------------------------------
    "meshctl/cli/install.py::_run::Aborted#1": cluster_case(
        "install", exit=EXIT_ABORTED, expect=r"^error: confirmation is needed, but stdin is not a terminal$"
    ),
    "meshctl/ops/install.py::_Install.run::Aborted#1": cluster_case(
        "install",
        *MINIMAL,
        stdin="n\n",
        stdin_tty=True,
        exit=EXIT_ABORTED,
        expect=r"^error: installation cancelled: nothing was applied$",
    ),
    "meshctl/cli/install.py::_run::OwnershipConflict#1": taken_configmap_case(
        "install",
        "--dry-run",
        *MINIMAL,
        stdout=r"Plan \(dry run, nothing was written; installations: meshctl-base, meshctl-default\):\n.*",
    ),
    "meshctl/ops/install.py::_Install._refuse_conflicts::OwnershipConflict#1": taken_configmap_case(
        *INSTALL_MINIMAL, also=r"ConfigMap/istio-system/istio: exists, not installed by meshctl"
    ),
    "meshctl/ops/install.py::_Install._fail_apply::OwnershipConflict#1": cluster_case(
        "install",
        "-y",
        "--no-wait",
        *MINIMAL,
        setup=(_field_owner_after_the_plan,),
        exit=EXIT_CONFLICT,
        expect=r"^error: fields are owned by another manager$",
        also=r"ConfigMap/istio-system/istio: .*data.mesh \(someone-else\)",
    ),
    "meshctl/kube/lock.py::default_duration::UsageError#1": cluster_case(
        *INSTALL_MINIMAL,
        env={"MESHCTL_LOCK_DURATION": "forever"},
        exit=EXIT_USAGE,
        expect=r"^error: MESHCTL_LOCK_DURATION='forever' is not a number of seconds$",
    ),
    "meshctl/kube/lock.py::acquire::LockTimeout#1": cluster_case(
        *INSTALL_MINIMAL,
        "--lock-timeout",
        "0s",
        setup=(on_api(_objects(NAMESPACE, _lease("ci-job-42"))),),
        exit=EXIT_CLUSTER,
        expect=r"^error: the installation lock istio-system/meshctl-lock is held by ci-job-42",
    ),
    "meshctl/ops/install.py::_Install.run::KubeError#1": cluster_case(
        "install",
        "-y",
        "--no-wait",
        env={"MESHCTL_LOCK_DURATION": "1"},
        setup=(on_api(_renewals_conflict),),
        exit=EXIT_CLUSTER,
        expect=r"^error: the installation lock was lost: another meshctl took the lock over",
    ),
    "meshctl/kube/wait.py::wait_established::ReadinessTimeout#1": short_wait_case(
        "CustomResourceDefinition", r"^error: CustomResourceDefinitions not established after 0.3s$"
    ),
    "meshctl/kube/wait.py::wait_ready::ReadinessTimeout#1": short_wait_case(
        "Deployment", r"^error: 1 object not ready after 0.3s$"
    ),
    "meshctl/kube/wait.py::_failure::ReadinessFailed#1": cluster_case(
        *INSTALL_MINIMAL,
        setup=(on_api(lambda api: api.controllers.fail("Deployment", "istiod")),),
        exit=EXIT_TIMEOUT,
        expect=r"^error: Deployment/istio-system/istiod is not ready: ImagePullBackOff \(pod istiod-",
    ),
    # --- upgrade ----------------------------------------------------------------------------------------------------
    "meshctl/ops/upgrade.py::require_installation::InputError#1": cluster_case(
        "upgrade",
        "-y",
        exit=EXIT_INPUT,
        expect=r"^error: there is no installation to upgrade: no inventory meshctl-default",
    ),
    "meshctl/ops/upgrade.py::check_version::InputError#1": cluster_case(
        "upgrade",
        "-y",
        *MINIMAL,
        setup=(installed("--no-wait", *MINIMAL, "--set", "tag=1.28.4"),),
        exit=EXIT_INPUT,
        expect=r"^error: cannot upgrade: 1.30.3 is more than one minor version ahead of the installed 1.28.4$",
    ),
    "meshctl/kube/inventory.py::decode::KubeError#1": cluster_case(
        "upgrade",
        "-y",
        *MINIMAL,
        setup=(INSTALLED_MINIMAL, on_api(_corrupt_inventory)),
        exit=EXIT_CLUSTER,
        expect=r"^error: the inventory Secret istio-system/meshctl-default is damaged: ",
    ),
    # --- uninstall ----------------------------------------------------------------------------------------------------
    "meshctl/cli/uninstall.py::uninstall::Aborted#1": cluster_case(
        "uninstall",
        "--purge",
        exit=EXIT_ABORTED,
        expect=r"^error: confirmation is needed, but stdin is not a terminal$",
    ),
    "meshctl/ops/uninstall.py::_Uninstall.run::Aborted#1": cluster_case(
        "uninstall",
        "--purge",
        stdin="n\n",
        stdin_tty=True,
        setup=(INSTALLED_MINIMAL,),
        exit=EXIT_ABORTED,
        expect=r"^error: uninstall cancelled: nothing was removed$",
    ),
    "meshctl/ops/uninstall.py::_Uninstall.run::Aborted#2": cluster_case(
        "uninstall",
        "--purge",
        "--delete-user-config",
        stdin="y\nn\n",
        stdin_tty=True,
        setup=(
            installed("--no-wait", *MINIMAL),
            on_api(
                _objects(
                    {
                        "apiVersion": "networking.istio.io/v1",
                        "kind": "VirtualService",
                        "metadata": {"name": "mine", "namespace": "default"},
                        "spec": {"hosts": ["example.com"]},
                    }
                )
            ),
        ),
        exit=EXIT_ABORTED,
        expect=r"^error: uninstall cancelled: nothing was removed$",
        also=r"Delete them and every object in them\? \(y/N\) ",
    ),
    "meshctl/ops/uninstall.py::_Uninstall.run::KubeError#1": cluster_case(
        "uninstall",
        "--purge",
        "-y",
        env={"MESHCTL_LOCK_DURATION": "1"},
        setup=(installed("--no-wait"), on_api(_renewals_conflict)),
        exit=EXIT_CLUSTER,
        expect=r"^error: the installation lock was lost: another meshctl took the lock over",
    ),
    "meshctl/kube/wait.py::wait_deleted::ReadinessTimeout#1": cluster_case(
        "uninstall",
        "-r",
        "default",
        "-y",
        "--readiness-timeout",
        "0.3s",
        setup=(INSTALLED_MINIMAL, on_api(_hold_configmap)),
        exit=EXIT_TIMEOUT,
        expect=r"^error: 1 object is still there after 0.3s$",
        also=r"ConfigMap/istio-system/istio: being deleted \(finalizers: example.com/hold\)",
    ),
    # --- verify-install ---------------------------------------------------------------------------------------------
    "meshctl/cli/verify.py::_failure::VerificationFailed#1": cluster_case(
        "verify-install",
        exit=EXIT_VERIFY,
        stdout=r"✘ CustomResourceDefinition: authorizationpolicies.security.istio.io: not found\n.*",
        expect=r"^error: Istio installation verification failed: 39 of 39 objects missing$",
    ),
}


def _big_config(ctx: Context) -> None:
    """Setup: big.yaml, an IstioOperator file with 1 MiB of incompressible text in values (within the input limits)."""
    import base64
    import random

    blob = base64.b64encode(random.Random(0).randbytes(800_000)).decode()
    ctx.write_files({"big.yaml": f"spec:\n  values:\n    blob: {blob}\n"})


_MORE: dict[str, Case] = {
    # --- standard input closed (`0<&-`): a subprocess, the real console-script entry point ---------------------------
    "meshctl/config/loading.py::read_source::InputError#1": stdin_case(
        "", r"^error: -f -: no standard input available$", subprocess=True, close_stdin=True
    ),
    "meshctl/ops/inject.py::read_text::InputError#1": inject_file_case(
        "-", r"^error: --filename: no standard input to read$", subprocess=True, close_stdin=True
    ),
    # --- the inventory Secret's size --------------------------------------------------------------------------------
    "meshctl/kube/inventory.py::encode::InputError#1": cluster_case(
        "install",
        "-y",
        "--no-wait",
        *MINIMAL,
        "-f",
        "big.yaml",
        setup=(_big_config,),
        exit=EXIT_INPUT,
        expect=r"^error: the inventory of meshctl-base would take \d+ bytes, more than the 524288 allowed$",
    ),
}


def set_case(arg: str, expect: str, *, exit: int = EXIT_INPUT) -> Case:
    """``manifest generate --set ARG`` failing with ``expect`` after ``error: --set: ``."""
    return generate("--set", arg, exit=exit, expect=r"^error: --set: " + expect)


def overlay_case(path: str, expect: str) -> Case:
    """``--strict manifest generate`` with an overlay patch of Deployment istiod at ``path`` that selects nothing."""
    return case(
        "--strict",
        "manifest",
        "generate",
        "-f",
        "iop.yaml",
        files=overlay(f'{{path: "{path}", value: x}}'),
        exit=EXIT_INPUT,
        expect=r"^error: components.pilot.k8s.overlays\[0\].patches\[0\] has no effect: " + expect,
    )


def _no_space(*args: object, **kwargs: object) -> None:
    raise OSError(28, "No space left on device")


def _deployment_exceeds_its_deadline(ctx: Context) -> None:
    """Setup: the Deployment controller is off, and as soon as install creates Deployment istiod its status says
    ``ProgressDeadlineExceeded`` (what the controller reports for a rollout that stopped progressing), with no pods."""
    import threading

    api = ctx.api
    api.controllers.disable("Deployment")

    def exceed() -> None:
        obj = api.objects.wait_for("deployments", "istiod", "istio-system", timeout=60)
        if obj is None:
            return
        obj["status"] = {
            "observedGeneration": obj["metadata"].get("generation", 1),
            "conditions": [
                {
                    "type": "Progressing",
                    "status": "False",
                    "reason": "ProgressDeadlineExceeded",
                    "message": 'ReplicaSet "istiod-1" has timed out progressing.',
                }
            ],
        }
        api.objects.put(obj)

    thread = threading.Thread(target=exceed, daemon=True)
    thread.start()
    ctx.cleanups.append(lambda: thread.join(timeout=60))


_HELPERS: dict[str, Case] = {
    # --- messages written through the path grammar's helpers (--set, --config-path, overlay paths) ------------------
    "meshctl/config/layering.py::_check_known::error#1": set_case("a=b", r"unknown field 'a' at the top level$"),
    "meshctl/config/paths.py::_Scanner.scan::fail#2": set_case("a..b=1", r"empty key after '.'$"),
    "meshctl/config/paths.py::_Scanner.scan::fail#3": set_case(
        "a[0]b=1", r"unexpected 'b'; expected '.', '\[' or the end of the path$"
    ),
    "meshctl/config/paths.py::_Scanner.plain_key::fail#1": set_case("a]b=1", r"unmatched '\]'$"),
    "meshctl/config/paths.py::_Scanner.plain_key::fail#2": set_case(".a=1", r"empty key$"),
    "meshctl/config/paths.py::_Scanner.quoted_key::fail#1": set_case('"abc=1', r"unterminated quoted key$"),
    "meshctl/config/paths.py::_Scanner.bracket::fail#1": set_case("a[=1", r"unterminated '\['$"),
    "meshctl/config/paths.py::_Scanner.bracket::fail#2": set_case("a[]=1", r"empty selector '\[\]'$"),
    "meshctl/config/paths.py::_Scanner.bracket::fail#3": set_case(
        "a[99999999]=1", r"index \[99999999\] is out of range \(at most 100000\)$"
    ),
    "meshctl/config/paths.py::_Scanner.match::fail#1": set_case("a[-1]=1", r"invalid index \[-1\]$"),
    "meshctl/config/paths.py::_Scanner.match::fail#2": set_case(
        "a[x]=1", r"value selector \[x\] is allowed only in overlay paths$"
    ),
    "meshctl/config/paths.py::parse_assignment::_source_error#1": set_case("values.x", r"missing '=' in 'values.x'$"),
    "meshctl/config/paths.py::parse_assignment::_source_error#2": set_case("=1", r"empty path before '='$"),
    "meshctl/config/paths.py::parse_assignment::_source_error#3": set_case("spec=1", r"cannot replace the whole spec$"),
    "meshctl/config/paths.py::infer_scalar::int_range_error#1": generate(
        "--set",
        "values.free=99999999999999999999",
        expect=r"^error: --set: integer 99999999999999999999 is out of range \(64-bit signed",
    ),
    "meshctl/config/paths.py::type_value::int_range_error#1": generate(
        "--set",
        "values.pilot.replicaCount=-99999999999999999999",
        expect=r"^error: --set values.pilot.replicaCount: integer -99999999999999999999 is out of range",
    ),
    "meshctl/config/paths.py::type_value::error#1": set_case(
        "components.pilot=1", r"components.pilot is a map; a single value cannot be set there$"
    ),
    "meshctl/config/paths.py::type_value::error#2": set_case(
        "components.pilot.enabled=maybe", r"components.pilot.enabled expects a boolean \(true or false\), got 'maybe'$"
    ),
    "meshctl/config/paths.py::_select_error::error#1": set_case(
        "components.ingressGateways[name:nope].enabled=true", r"no element of components.ingressGateways has name=nope$"
    ),
    "meshctl/config/paths.py::_select_error::error#2": overlay_case(
        "spec.template.spec.containers[0].args[nope]",
        r"no element of spec.template.spec.containers\[0\].args equals 'nope' in Deployment istiod$",
    ),
    "meshctl/config/paths.py::_index_error::error#1": set_case(
        "components.ingressGateways[7].enabled=true",
        r"index 7 is out of range: components.ingressGateways has 1 element$",
    ),
    "meshctl/config/paths.py::_container_error::error#1": set_case(
        "components.ingressGateways.name=x", r"components.ingressGateways is a list of 1, not a map$"
    ),
    "meshctl/config/paths.py::_new_child::error#1": set_case(
        "values.x[name:a].b=1", r"values.x does not exist, so nothing can be selected in it$"
    ),
    "meshctl/config/paths.py::_missing_key::error#1": case(
        "profile",
        "dump",
        "-p",
        "components.bogus",
        exit=EXIT_INPUT,
        expect=r"^error: --config-path: no key 'bogus' in components$",
    ),
    # --- standard input too large ------------------------------------------------------------------------------------
    "meshctl/config/loading.py::_read_stdin::_size_error#1": stdin_case(
        OVER_4_MIB, r"^error: <stdin>: input too large \(4.0 MiB; the limit is 4 MiB\)$", subprocess=True
    ),
    "meshctl/config/loading.py::_read_stdin::_size_error#2": stdin_case(
        OVER_4_MIB, r"^error: <stdin>: input too large \(4.0 MiB; the limit is 4 MiB\)$"
    ),
    # --- manifest generate -o FILE / DIR ----------------------------------------------------------------------------
    "meshctl/render/output.py::write_file::_refuse#1": output_case(
        "null.yaml",
        r"^error: refusing to overwrite null.yaml: it is not a regular file$",
        setup=(_symlink("/dev/null", "null.yaml"),),
    ),
    "meshctl/render/output.py::write_file::_refuse#2": output_case(
        "mine.yaml",
        r"^error: refusing to overwrite mine.yaml: it exists and was not written by meshctl$",
        files={"mine.yaml": "kind: Mine\n"},
    ),
    "meshctl/render/output.py::write_file::_os_error#1": output_case(
        "/proc/self/out.yaml", r"^error: cannot write /proc/self/out.yaml: No such file or directory$", exit=EXIT_IO
    ),
    "meshctl/render/output.py::_check_directory::_refuse#1": output_case(
        "out",
        r"^error: refusing to overwrite .*out: it holds a directory meshctl did not create \(sub\)$",
        files={"out/sub/x": "x"},
    ),
    "meshctl/render/output.py::_check_directory::_refuse#2": output_case(
        "out",
        r"^error: refusing to overwrite .*out: it holds notes.txt, which meshctl did not write$",
        files={"out/notes.txt": "mine"},
    ),
    "meshctl/render/output.py::write_directory::_refuse#1": output_case(
        "plain", r"^error: refusing to overwrite .*plain: it is not a directory$", files={"plain": "x"}
    ),
    "meshctl/render/output.py::write_directory::_os_error#1": output_case(
        "{tmp}/file/out", r"^error: cannot write to .*/file/out: Not a directory$", files={"file": "x"}, exit=EXIT_IO
    ),
    "meshctl/render/output.py::write_directory::_os_error#2": output_case(
        "{tmp}/out",
        r"^error: cannot write to .*/out: No space left on device$",
        exit=EXIT_IO,
        setup=(fault("meshctl.render.output", "_write_new", lambda: OSError(28, "No space left on device")),),
    ),
    # --- Go templates: the lexer, the parser and the evaluator -------------------------------------------------------
    "meshctl/gotemplate.py::_split::_error#1": template_case("{{/* never closed", r"unclosed comment$"),
    "meshctl/gotemplate.py::_split::_error#2": template_case(
        "{{/* x */ }}", r"a comment must end right before the delimiter$"
    ),
    "meshctl/gotemplate.py::_find_close::_error#1": template_case('{{ "ab\nc" }}', r"unterminated quoted string$"),
    "meshctl/gotemplate.py::_find_close::_error#2": template_case('{{ "abc }}', r"unterminated quoted string$"),
    "meshctl/gotemplate.py::_find_close::_error#3": template_case("{{ `abc }}", r"unterminated raw string$"),
    "meshctl/gotemplate.py::_find_close::_error#4": template_case(
        "{{ x {{ }}", r"unclosed action \(a new '\{\{' starts before '\}\}'\)$"
    ),
    "meshctl/gotemplate.py::_find_close::_error#5": template_case("{{ .Values", r"unclosed action$"),
    "meshctl/gotemplate.py::_unquote::_error#1": template_case('{{ "\\q" }}', r'invalid escape in string "\\q"$'),
    "meshctl/gotemplate.py::_tokenize::_error#1": template_case("{{ @ }}", r"unexpected '@' in action \{\{ @ \}\}$"),
    "meshctl/gotemplate.py::_ActionParser.take::error#1": template_case("{{ (1 }}", r"unexpected end of action$"),
    "meshctl/gotemplate.py::_ActionParser.pipeline::error#1": template_case(
        "{{ range $a, 1 := .Values }}{{ end }}", r"range declares '\$index, \$element :='$"
    ),
    "meshctl/gotemplate.py::_ActionParser.pipeline::error#2": template_case(
        "{{ if $x := 1 }}{{ end }}", r"a variable cannot be declared here$"
    ),
    "meshctl/gotemplate.py::_ActionParser.pipeline::error#3": template_case(
        "{{ range $a, $b = .Values }}{{ end }}", r"only one variable can be assigned$"
    ),
    "meshctl/gotemplate.py::_ActionParser.pipeline::error#4": template_case(
        "{{ $nope = 1 }}", r"undefined variable \$nope$"
    ),
    "meshctl/gotemplate.py::_ActionParser.pipeline::error#5": template_case(
        "{{ 1 | 2 }}", r"only a function can receive a piped value$"
    ),
    "meshctl/gotemplate.py::_ActionParser.command::error#1": template_case(
        "{{ if }}{{ end }}", r"missing value in pipeline$"
    ),
    "meshctl/gotemplate.py::_ActionParser.command::error#2": template_case(
        "{{ 1 2 }}", r"only a function can take arguments$"
    ),
    "meshctl/gotemplate.py::_ActionParser.operand::error#1": template_case(
        '{{ "a".b }}', r"field access on '\"a\"' is outside the subset$"
    ),
    "meshctl/gotemplate.py::_ActionParser.operand::error#2": template_case(
        "{{ $nope }}", r"undefined variable \$nope$"
    ),
    "meshctl/gotemplate.py::_ActionParser.operand::error#4": template_case(
        "{{ (1).x }}", r"field access on a parenthesized pipeline is outside the subset$"
    ),
    "meshctl/gotemplate.py::_ActionParser.operand::error#5": template_case(
        "{{ index nil 1 }}", r"unexpected keyword 'nil'$"
    ),
    "meshctl/gotemplate.py::_ActionParser.operand::error#6": template_case(
        "{{ printf }}", r"function 'printf' is not in the documented subset$"
    ),
    "meshctl/gotemplate.py::_ActionParser.operand::error#7": template_case("{{ 1 := 2 }}", r"unexpected ':='$"),
    "meshctl/gotemplate.py::parse::_error#1": template_case("{{ }}", r"empty action$"),
    "meshctl/gotemplate.py::parse::_error#2": template_case(
        '{{ define "x" }}', r"\{\{define\}\} is not in the documented subset$"
    ),
    "meshctl/gotemplate.py::parse::_error#3": template_case(
        "{{ else }}", r"\{\{else\}\} without a matching \{\{if\}\} or \{\{with\}\}$"
    ),
    "meshctl/gotemplate.py::parse::_error#4": template_case(
        "{{ with 1 }}{{ else if 2 }}{{ end }}", r"\{\{else if\}\} is only allowed in an \{\{if\}\}$"
    ),
    "meshctl/gotemplate.py::parse::_error#5": template_case(
        "{{ if 1 }}{{ else foo }}{{ end }}", r"unexpected 'foo' after else$"
    ),
    "meshctl/gotemplate.py::parse::_error#6": template_case(
        "{{ end }}", r"\{\{end\}\} without a matching \{\{if\}\}, \{\{range\}\} or \{\{with\}\}$"
    ),
    "meshctl/gotemplate.py::parse::_error#7": template_case("{{ 1 ) }}", r"unexpected '\)'$"),
    "meshctl/gotemplate.py::parse::_error#8": template_case("{{ if 1 }}", r"\{\{if\}\} has no \{\{end\}\}$"),
    "meshctl/gotemplate.py::parse::error#1": template_case("{{ if 1 }}{{ end x }}", r"unexpected text after end$"),
    "meshctl/gotemplate.py::_Evaluator.field::error#1": inject_case(
        DEPLOYMENT,
        r"^error: template sidecar:1:\d+: nil pointer evaluating interface \{\}.x$",
        setup=(
            injector(templates={"sidecar": "{{ .Values.nothing.x }}"}),
            write("inj/values.json", '{"nothing": null}'),
        ),
    ),
    "meshctl/gotemplate.py::_Evaluator.field::error#2": template_case(
        "{{ .ObjectMeta.Nope }}", r"can't evaluate field Nope in type v1.ObjectMeta$"
    ),
    "meshctl/gotemplate.py::_Evaluator.field::error#3": template_case(
        "{{ $v := 1 }}{{ $v.x }}", r"can't evaluate field x in type int$"
    ),
    "meshctl/gotemplate.py::_Evaluator.call::error#1": template_case(
        "{{ and }}", r"wrong number of args for and: want at least 1 got 0$"
    ),
    "meshctl/gotemplate.py::_Evaluator.call::error#2": template_case(
        "{{ index .Values 3 }}", r"error calling index: expected string, got int$"
    ),
    "meshctl/gotemplate.py::_Evaluator.call::error#3": template_case(
        '{{ annotation 3 "x" }}', r"wrong number of args for annotation: "
    ),
    "meshctl/kube/wait.py::wait_ready::_failure#1": cluster_case(
        *INSTALL_MINIMAL,
        "--readiness-timeout",
        "60s",
        setup=(_deployment_exceeds_its_deadline,),
        exit=EXIT_TIMEOUT,
        expect=r"^error: Deployment/istio-system/istiod is not ready: ProgressDeadlineExceeded",
    ),
    "meshctl/gotemplate.py::_Evaluator.range::error#1": template_case(
        "{{ range true }}{{ end }}", r"range can't iterate over a bool$"
    ),
}

#: Every catalogued site, by id.
CATALOGUE: dict[str, Case] = {}
for _group in (_CONFIG, _INJECT, _TEMPLATES, _RENDER, _CLUSTER, _MORE, _HELPERS):
    assert not set(_group) & set(CATALOGUE), set(_group) & set(CATALOGUE)
    CATALOGUE.update(_group)

#: Errors without a site of their own: the usage errors of the command-line parser (click, through
#: ``_usage_message``), each kind once on commands whose options are typed or required; and stdout failing on the
#: paths where the parser, not meshctl, writes (help).
EXTRA_CASES: dict[str, Case] = {
    "help to a full stdout": full_stdout_case("--help"),
    "bare command group to a full stdout": full_stdout_case("profile"),
    "no such command": case(
        "instal",
        exit=EXIT_USAGE,
        expect=r"^error: No such command 'instal'. Did you mean 'install', 'uninstall', 'verify-install'\?$",
    ),
    "no such option": case("profile", "list", "--bogus", exit=EXIT_USAGE, expect=r"^error: No such option: --bogus"),
    "option needs a value": generate("--set", exit=EXIT_USAGE, expect=r"^error: Option '--set' requires an argument.$"),
    "missing argument": case("profile", "diff", "default", exit=EXIT_USAGE, expect=r"^error: Missing argument 'B'.$"),
    "missing required option": case(
        "kube-inject", exit=EXIT_USAGE, expect=r"^error: Missing option '--filename' / '-f'.$"
    ),
    "integer out of range": case(
        "install",
        "--dry-run",
        "--concurrency",
        "0",
        *KC,
        exit=EXIT_USAGE,
        expect=r"^error: Invalid value for '--concurrency': 0 is not in the range 1<=x<=64.$",
    ),
    "not an integer": case(
        "upgrade",
        "--dry-run",
        "--concurrency",
        "many",
        *KC,
        exit=EXIT_USAGE,
        expect=r"^error: Invalid value for '--concurrency': 'many' is not a valid int range.$",
    ),
    "extra argument": generate(
        "extra", exit=EXIT_USAGE, expect=r"^error: Got unexpected extra argument\(s\) \(extra\)$"
    ),
}

#: Sites no command line reaches, with the reason. Keep it short: each entry is a promise that the code is defensive.
UNREACHABLE: dict[str, str] = {
    "meshctl/cli/app.py::main::error-line#1": (
        "the final flush of stdout: every writer of data goes through the stdout guard and flushes (write_data), so a "
        "full or closed stdout is reported there (_StdoutGuard._fail, with its hint) and nothing is pending at the end"
    ),
    "meshctl/config/loading.py::load_documents::InputError#2": (
        "libyaml's only errors without a position are reader errors (control characters, bad encoding), which "
        "decode() rejects first with the 'binary'/'encoding' limits"
    ),
    "meshctl/config/resources.py::bundled_root::MeshctlError#1": (
        "a broken installation (no _bundled/ in the wheel and no checkout around the package), not an input"
    ),
    "meshctl/inject/settings.py::from_configmaps::InputError#1": "from_configmaps is called by no command",
    "meshctl/inject/settings.py::from_configmaps::InputError#2": "from_configmaps is called by no command",
    "meshctl/kube/client.py::_StreamWatch._event::ConnectionFailed#1": (
        "a watch event that is not JSON: only a broken API server sends one, and the test API server has no fault "
        "for it (its watch events are always JSON)"
    ),
    "meshctl/kube/wait.py::wait_established::KubeError#1": (
        "the plan found the CRD resource moments before in the same discovery; only a server that stops serving "
        "CustomResourceDefinitions in the middle of an install gets here"
    ),
    "meshctl/kube/wait.py::wait_established::ReadinessFailed#1": (
        "a CRD whose names the server refuses (NamesAccepted False): real clusters do this on a name conflict, but "
        "the test API server accepts every name and keeps no status seeded before meshctl's apply"
    ),
    "meshctl/ops/inject.py::load_settings::UsageError#1": (
        "kube-inject --from-cluster always passes a ConfigMap reader (the CLI opens the connection first)"
    ),
    "meshctl/config/paths.py::_Scanner.scan::fail#1": (
        "the scanner's last branch: every character is consumed by a branch above it (marked 'pragma: no cover')"
    ),
    "meshctl/config/paths.py::set_value::error#1": (
        "parse_assignment refuses an empty path ('empty path before =') before set_value sees it"
    ),
    "meshctl/config/paths.py::delete_value::error#1": (
        "overlay patches are the only deleters and apply_overlays refuses a blank path first ('needs a path')"
    ),
    "meshctl/config/paths.py::parse_path::_source_error#1": (
        "its one OVERLAY-mode caller, k8s.apply_overlays, refuses a blank path first ('needs a path')"
    ),
    "meshctl/gotemplate.py::_ActionParser.operand::error#3": (
        "after a parenthesized pipeline the next token is ')' or the end of the action, which take() reports first "
        "('unexpected end of action')"
    ),
    "meshctl/gotemplate.py::_Evaluator.lookup::error#1": (
        "the parser checks every variable against its scopes first ('undefined variable' of _ActionParser.operand); "
        "the evaluator's check is a second line no template reaches"
    ),
    "meshctl/gotemplate.py::_Evaluator.set_variable::error#1": (
        "the parser checks every assigned variable first ('undefined variable' of _ActionParser.pipeline)"
    ),
    "meshctl/kube/client.py::_StreamWatch._event::from_status#1": (
        "the test API server's only watch ERROR event is 410 Expired, which every watcher turns into a relist; "
        "other codes come only from a real server in trouble"
    ),
    "meshctl/render/components.py::row_of::RenderError#1": (
        "layering.enabled_components yields only keys of the component table (istiodRemote, which has no row, is "
        "left out before)"
    ),
}
