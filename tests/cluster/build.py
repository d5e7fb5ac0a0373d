"""Build the control-plane binaries from the pinned Go modules in `go/`, once, into a cache outside the repository.

Each subdirectory of `go/` is a Go module whose `go.mod`/`go.sum` pin one upstream (Kubernetes, etcd, KWOK). The
binaries land in `${XDG_CACHE_HOME:-~/.cache}/meshctl-test/<key>/`, where the key names the module versions and a
hash of everything that goes into the build (go.mod, go.sum, flags, the Go version), so a changed pin builds anew
and an unchanged one is reused. Nothing is downloaded except modules, by `go build`, through the Go module proxy.
"""

from __future__ import annotations

import dataclasses
import fcntl
import hashlib
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

GO_DIR = pathlib.Path(__file__).parent / "go"
KUBERNETES_VERSION = "v1.37.2"

_K8S_LDFLAGS = " ".join(
    [
        "-s -w",
        f"-X k8s.io/component-base/version.gitVersion={KUBERNETES_VERSION}",
        "-X k8s.io/component-base/version.gitMajor=1",
        "-X k8s.io/component-base/version.gitMinor=37",
        "-X k8s.io/component-base/version.gitTreeState=clean",
    ]
)


@dataclasses.dataclass(frozen=True)
class Module:
    """One pinned module directory under `go/` and the programs built from it."""

    directory: str
    upstream: str  # the module whose version names the cache key
    short: str
    packages: tuple[tuple[str, str], ...]  # (binary name, package)
    ldflags: str = "-s -w"

    @property
    def path(self) -> pathlib.Path:
        return GO_DIR / self.directory

    def version(self) -> str:
        match = re.search(rf"^\s*{re.escape(self.upstream)} (v\S+)", (self.path / "go.mod").read_text(), re.M)
        if match is None:
            raise RuntimeError(f"{self.path / 'go.mod'} does not require {self.upstream}")
        return match.group(1)


MODULES = (
    Module("etcd", "go.etcd.io/etcd/server/v3", "etcd", (("etcd", "go.etcd.io/etcd/server/v3"),)),
    Module(
        "kubernetes",
        "k8s.io/kubernetes",
        "k8s",
        (
            ("kube-apiserver", "k8s.io/kubernetes/cmd/kube-apiserver"),
            ("kube-controller-manager", "k8s.io/kubernetes/cmd/kube-controller-manager"),
            ("kube-scheduler", "k8s.io/kubernetes/cmd/kube-scheduler"),
        ),
        _K8S_LDFLAGS,
    ),
    Module("kwok", "sigs.k8s.io/kwok", "kwok", (("kwok", "sigs.k8s.io/kwok/cmd/kwok"),)),
)
BINARIES = tuple(name for module in MODULES for name, _ in module.packages)
# KWOK's own stage definitions (node and pod lifecycles) used beside ours: copied from the module at build time.
KWOK_STAGES = (
    "kustomize/stage/node/fast/node-initialize.yaml",
    "kustomize/stage/node/heartbeat-with-lease/node-heartbeat-with-lease.yaml",
    "kustomize/stage/pod/fast/pod-ready.yaml",
    "kustomize/stage/pod/fast/pod-complete.yaml",
    "kustomize/stage/pod/fast/pod-delete.yaml",
)


class BuildError(RuntimeError):
    """`go` is missing or a build failed (the message says which and why)."""


@dataclasses.dataclass(frozen=True)
class Binaries:
    directory: pathlib.Path

    def __getitem__(self, name: str) -> pathlib.Path:
        if name not in BINARIES:
            raise KeyError(name)
        return self.directory / name

    @property
    def kwok_stages(self) -> list[pathlib.Path]:
        return [self.directory / "kwok-stages" / pathlib.Path(stage).name for stage in KWOK_STAGES]

    def complete(self) -> bool:
        return all(os.access(self[name], os.X_OK) for name in BINARIES) and all(
            path.is_file() for path in self.kwok_stages
        )


def find_go() -> str | None:
    """The `go` command: on PATH, or where the machine image installs it."""
    found = shutil.which("go")
    if found:
        return found
    fallback = pathlib.Path("/usr/local/go/bin/go")
    return str(fallback) if os.access(fallback, os.X_OK) else None


def cache_root() -> pathlib.Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(pathlib.Path.home() / ".cache")
    return pathlib.Path(base) / "meshctl-test"


# GOTOOLCHAIN=local: never fetch another Go; CGO off: static binaries, as Kubernetes releases are built.
_BUILD_SETTINGS = {"GOTOOLCHAIN": "local", "CGO_ENABLED": "0", "GOFLAGS": "-mod=readonly -buildvcs=false"}


def _go_env() -> dict[str, str]:
    return dict(os.environ, **_BUILD_SETTINGS)


def go_version(go: str) -> str:
    result = subprocess.run([go, "env", "GOVERSION"], capture_output=True, text=True, check=False, env=_go_env())
    if result.returncode != 0:
        raise BuildError(f"`{go} env GOVERSION` failed: {result.stderr.strip()}")
    return result.stdout.strip()


def cache_key(go: str) -> str:
    """`k8s-v1.37.2_etcd-v3.6.16_kwok-v0.8.0_<hash>`: the pins, plus a hash of all build inputs."""
    digest = hashlib.sha256(go_version(go).encode())
    for module in MODULES:
        for name in ("go.mod", "go.sum"):
            digest.update((module.path / name).read_bytes())
        digest.update(repr((module.packages, module.ldflags)).encode())
    digest.update(repr(_BUILD_SETTINGS).encode())
    versions = "_".join(f"{module.short}-{module.version()}" for module in MODULES)
    return f"{versions}_{digest.hexdigest()[:12]}"


def binaries_dir(go: str | None = None) -> pathlib.Path:
    go = go or find_go()
    if go is None:
        raise BuildError("the `go` command is not installed (not on PATH, not in /usr/local/go/bin)")
    return cache_root() / cache_key(go)


def cached_binaries() -> Binaries | None:
    """The binaries if they were built already (no build)."""
    go = find_go()
    if go is None:
        return None
    found = Binaries(binaries_dir(go))
    return found if found.complete() else None


def ensure_binaries(progress: Callable[[str], None] | None = None) -> Binaries:
    """The binaries, building whatever is missing. Concurrent callers wait for one build (a lock file)."""
    go = find_go()
    if go is None:
        raise BuildError("the `go` command is not installed (not on PATH, not in /usr/local/go/bin)")
    say = progress or (lambda _line: None)
    target = binaries_dir(go)
    result = Binaries(target)
    if result.complete():
        say(f"binaries up to date in {target}")
        return result
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{target.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if result.complete():  # built by another process while this one waited
            return result
        staging = pathlib.Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
        staging.chmod(0o755)
        try:
            started = time.monotonic()
            for module in MODULES:
                _build_module(go, module, staging, say)
            _copy_kwok_stages(go, staging)
            say(f"all binaries built in {time.monotonic() - started:.0f} s")
            if target.exists():
                shutil.rmtree(target)
            staging.rename(target)
        finally:
            if staging.exists():
                shutil.rmtree(staging)
    return result


def _build_module(go: str, module: Module, out: pathlib.Path, say: Callable[[str], None]) -> None:
    """`go build -v` of the module's programs; a progress line every 100 packages or 20 seconds."""
    names = ", ".join(name for name, _ in module.packages)
    say(f"building {names} from {module.upstream} {module.version()} (go/{module.directory}) ...")
    started = time.monotonic()
    # One program: its file; several: a directory, each named by its package's last element.
    output = str(out / module.packages[0][0]) if len(module.packages) == 1 else str(out) + os.sep
    command = [go, "build", "-v", "-trimpath", "-ldflags", module.ldflags, "-o", output]
    command += [package for _, package in module.packages]
    proc = subprocess.Popen(
        command, cwd=module.path, env=_go_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert proc.stdout is not None
    compiled = 0
    errors: list[str] = []
    last_report = time.monotonic()
    for line in proc.stdout:
        line = line.rstrip()
        if not line:
            continue
        # `-v` names each package as it is built; anything else (errors, downloads) is kept and shown.
        if re.fullmatch(r"[\w.\-~/+]+", line) and not line.startswith("go:"):
            compiled += 1
        else:
            errors.append(line)
            if line.startswith("go: downloading"):
                say(f"  {line}")
        now = time.monotonic()
        if compiled and (compiled % 100 == 0 or now - last_report > 20):
            say(f"  {module.short}: {compiled} packages compiled ({now - started:.0f} s)")
            last_report = now
    code = proc.wait()
    if code != 0:
        detail = "\n".join(line for line in errors if not line.startswith("go: downloading")) or f"exit code {code}"
        raise BuildError(f"go build in {module.path} failed:\n{detail}")
    for name, _ in module.packages:
        if not os.access(out / name, os.X_OK):
            raise BuildError(f"go build in {module.path} produced no {name}")
    say(f"  built {names} in {time.monotonic() - started:.0f} s ({compiled} packages compiled)")


def _copy_kwok_stages(go: str, out: pathlib.Path) -> None:
    kwok = next(module for module in MODULES if module.directory == "kwok")
    result = subprocess.run(
        [go, "list", "-m", "-f", "{{.Dir}}", kwok.upstream],
        cwd=kwok.path,
        env=_go_env(),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0 or not result.stdout.strip():
        raise BuildError(f"cannot locate the source of {kwok.upstream}: {result.stderr.strip()}")
    source = pathlib.Path(result.stdout.strip())
    (out / "kwok-stages").mkdir()
    for stage in KWOK_STAGES:
        shutil.copyfile(source / stage, out / "kwok-stages" / pathlib.Path(stage).name)


def stderr_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
