"""Benchmarks B4 (install speed), B5 (request economy) and B6 (wait economy) of ``quality.md``.

    python -m tests.bench.install_bench [--runs 5] [--latency 0.02] [--wait-seconds 60] [--skip-b6] [--markdown]

Every figure comes from whole ``meshctl`` processes (``python -m meshctl`` from this checkout, bytecode compiled
first as pip does) against the test API server (``tests/apiserver``) running in this process over HTTPS, with its
request log as the counter.

B4: ``meshctl install -y --no-wait`` of the default profile plus 10 extra ingress gateways, side by side with the
real ``kubectl apply --server-side -f`` of the same ``meshctl manifest generate --with-namespace`` output, each on a
fresh server (so both start with a cold discovery cache) with ``--latency`` seconds added to every request; runs
alternate between the two, and the report gives medians, the ratio of the medians and the ratio of each pair.
Also the plain default profile.

B5: API requests of a default install on a fresh cluster with discovery warm (a ``--dry-run`` first fills the
discovery cache; it is not counted) and cold, of a no-op re-install (and whether it wrote to any member), of
``verify-install`` and ``version --remote``, and of ``uninstall --purge`` when that command exists.

B6: requests made while waiting: an install whose Deployment rollout takes ``--wait-seconds`` (the server's
``rollout_delay``), minus the requests of the same install with ``--no-wait`` on an identically prepared server.

Timings on a shared machine are noisy: read the ratios measured side by side, not one absolute figure.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from tests.apiserver.requestlog import Entry
from tests.apiserver.server import ApiServer
from tests.bench import bytecode

ROOT = Path(__file__).resolve().parents[2]
#: CPU seconds (user + system) of each process :func:`run` ran, in order: less sensitive to the host's load than
#: wall time, which on a busy machine includes waiting for a core.
CPU: list[float] = []
EXTRA_GATEWAYS = 10


def meshctl_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "meshctl", *args]


def run(
    cmd: Sequence[str], env: dict[str, str], *, check: bool = True
) -> tuple[float, subprocess.CompletedProcess[str]]:
    """Wall time of one whole process, and its outcome (its CPU time goes to :data:`CPU`)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(list(cmd), cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} exited {done.returncode}:\n{done.stderr[-3000:]}")
    return elapsed, done


def gateways_file(directory: Path, extra: int) -> Path:
    """An IstioOperator: the default profile and its gateway, plus ``extra`` more ingress gateways."""
    entries: list[dict[str, Any]] = [{"name": "istio-ingressgateway", "enabled": True}]
    entries += [{"name": f"gw-{i:02d}", "enabled": True} for i in range(extra)]
    doc = {
        "apiVersion": "install.istio.io/v1alpha1",
        "kind": "IstioOperator",
        "spec": {"profile": "default", "components": {"ingressGateways": entries}},
    }
    path = directory / f"gateways-{extra}.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


class Workspace:
    """Files and environments of one benchmark run: a discovery cache and a kubectl cache of its own."""

    def __init__(self, directory: Path) -> None:
        self.dir = directory
        self.env = {k: v for k, v in os.environ.items() if k not in ("KUBECONFIG", "PYTHONDONTWRITEBYTECODE")}
        self.env["MESHCTL_CACHE_DIR"] = str(directory / "meshctl-cache")
        self.env["HOME"] = str(directory / "home")  # kubectl's discovery cache (~/.kube/cache) starts empty
        (directory / "home").mkdir(exist_ok=True)

    def rendered(self, iop: Path) -> tuple[Path, int]:
        """``manifest generate --with-namespace`` of ``iop`` in a file, and the number of objects without namespaces."""
        _, done = run(meshctl_cmd("manifest", "generate", "--with-namespace", "-f", str(iop)), self.env)
        path = self.dir / f"{iop.stem}.rendered.yaml"
        path.write_text(done.stdout)
        docs = [d for d in yaml.safe_load_all(done.stdout) if d]
        return path, sum(1 for d in docs if d.get("kind") != "Namespace")


# --- B4 ----------------------------------------------------------------------------------------------------------


def b4(work: Workspace, runs: int, latency: float) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        raise SystemExit("error: B4 needs the real kubectl on PATH")
    rows = []
    for extra in (EXTRA_GATEWAYS, 0):
        iop = gateways_file(work.dir, extra)
        rendered, count = work.rendered(iop)
        times: dict[str, list[float]] = {"meshctl": [], "kubectl": []}
        cpu: dict[str, list[float]] = {"meshctl": [], "kubectl": []}
        cases = {
            "meshctl": lambda kc, f=str(iop): meshctl_cmd("install", "-y", "--no-wait", "-f", f, "--kubeconfig", kc),
            "kubectl": lambda kc, f=str(rendered): [kubectl, "apply", "--server-side", "-f", f, "--kubeconfig", kc],
        }
        requests: dict[str, int] = {}
        for index in range(runs + 1):  # the first round warms the page cache and is not counted
            for name, make in cases.items():
                with ApiServer(latency=latency) as api:
                    env = dict(work.env, MESHCTL_CACHE_DIR=str(work.dir / f"cache-{name}-{extra}-{index}"))
                    elapsed, _ = run(make(str(api.kubeconfig_path)), env)
                    requests[name] = len(api.requests)
                if index:
                    times[name].append(elapsed)
                    cpu[name].append(CPU[-1])
        mesh, kube = statistics.median(times["meshctl"]), statistics.median(times["kubectl"])
        pairs = [m / k for m, k in zip(times["meshctl"], times["kubectl"], strict=True)]
        rows.append(
            {
                "case": f"default + {extra} ingress gateways" if extra else "default profile",
                "objects": count,
                "meshctl": mesh,
                "kubectl": kube,
                "ratio": mesh / kube,
                "pairs": pairs,
                "runs": times,
                "cpu": {name: statistics.median(values) for name, values in cpu.items()},
                "requests": requests,
            }
        )
    return rows


# --- B5 ----------------------------------------------------------------------------------------------------------


def _member_writes(entries: Sequence[Entry]) -> list[Entry]:
    """Writes that are not dry runs, other than the lock (leases) and the inventories (meshctl-* Secrets)."""
    return [
        e
        for e in entries
        if e.is_write and e.resource != "leases" and not (e.resource == "secrets" and e.name.startswith("meshctl-"))
    ]


def b5(work: Workspace) -> dict[str, Any]:
    _, count = work.rendered(gateways_file(work.dir, 0))
    figures: dict[str, Any] = {"objects": count}
    with ApiServer() as api:
        kc = str(api.kubeconfig_path)
        env = dict(work.env, MESHCTL_CACHE_DIR=str(work.dir / "cache-b5-cold"))
        run(meshctl_cmd("install", "-y", "--no-wait", "--kubeconfig", kc), env)
        figures["install (cold discovery)"] = len(api.requests)
    with ApiServer() as api:
        kc = str(api.kubeconfig_path)
        env = dict(work.env, MESHCTL_CACHE_DIR=str(work.dir / "cache-b5-warm"))
        run(meshctl_cmd("install", "-y", "--dry-run", "--kubeconfig", kc), env)  # fills the discovery cache
        steps = [
            ("install", ["install", "-y", "--no-wait"]),
            ("re-install (no-op)", ["install", "-y", "--no-wait"]),
            ("verify-install", ["verify-install"]),
            ("version --remote", ["version", "--remote"]),
            ("uninstall --purge", ["uninstall", "--purge", "-y"]),
        ]
        for name, args in steps:
            api.requests.clear()
            _, done = run(meshctl_cmd(*args, "--kubeconfig", kc), env, check=False)
            if done.returncode != 0:
                figures[name] = f"n/a (exit {done.returncode}: {done.stderr.strip().splitlines()[0][:80]})"
                continue
            figures[name] = len(api.requests)
            if name.startswith("re-install"):
                figures["re-install member writes"] = len(_member_writes(api.requests.entries))
    return figures


# --- B6 ----------------------------------------------------------------------------------------------------------


def b6(work: Workspace, wait_seconds: float) -> dict[str, Any]:
    """Requests of an install that waits ``wait_seconds`` for a rollout, minus those of the same install unwaited."""
    counts: dict[str, int] = {}
    elapsed: dict[str, float] = {}
    change = ["--set", "components.pilot.k8s.replicaCount=2"]
    for mode, extra in (("no-wait", ["--no-wait"]), ("wait", ["--readiness-timeout", f"{wait_seconds * 3:g}s"])):
        with ApiServer() as api:
            kc = str(api.kubeconfig_path)
            env = dict(work.env, MESHCTL_CACHE_DIR=str(work.dir / f"cache-b6-{mode}"))
            run(meshctl_cmd("install", "-y", "--no-wait", "--kubeconfig", kc), env)
            api.wait_idle()
            api.options.rollout_delay = wait_seconds
            api.requests.clear()
            elapsed[mode], _ = run(meshctl_cmd("install", "-y", *change, *extra, "--kubeconfig", kc), env)
            counts[mode] = len(api.requests)
            if mode == "wait":
                waiting = [
                    f"{e.verb} {e.resource}"
                    for e in api.requests.entries
                    if e.resource in ("deployments", "daemonsets", "statefulsets", "jobs", "pods")
                    and e.verb in ("get", "list", "watch")
                ]
    return {
        "wait_seconds": wait_seconds,
        "requests_waiting": counts["wait"] - counts["no-wait"],
        "install_wait": counts["wait"],
        "install_no_wait": counts["no-wait"],
        "elapsed_wait": elapsed["wait"],
        "elapsed_no_wait": elapsed["no-wait"],
        "reads_of_workloads_and_pods": waiting,
    }


# --- report ------------------------------------------------------------------------------------------------------


def report(
    b4_rows: list[dict[str, Any]], b5_figures: dict[str, Any], b6_figures: dict[str, Any] | None, args: Any
) -> str:
    lines = [
        f"Machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, "
        f"load {os.getloadavg()[0]:.1f} at the end. Date: {time.strftime('%Y-%m-%d %H:%M')}.",
        "",
        f"B4 install speed: {args.latency * 1000:g} ms per request, medians of {args.runs} alternating runs, "
        "each on a fresh server",
        "",
        "| case | objects | meshctl install (s) | kubectl apply --server-side (s) | ratio of medians | per pair |",
        "| --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in b4_rows:
        pairs = ", ".join(f"{p:.2f}" for p in row["pairs"])
        lines.append(
            f"| {row['case']} | {row['objects']} | {row['meshctl']:.2f} | {row['kubectl']:.2f} | "
            f"**{row['ratio']:.2f}** | {pairs} |"
        )
    for row in b4_rows:
        runs = "; ".join(f"{name} " + ", ".join(f"{t:.2f}" for t in ts) for name, ts in row["runs"].items())
        made = ", ".join(f"{name} {n}" for name, n in row["requests"].items())
        cpu = ", ".join(f"{name} {t:.2f} s" for name, t in row["cpu"].items())
        lines.append(f"  {row['case']}: {runs} (requests: {made}; median CPU time: {cpu})")
    lines += ["", "B5 request economy (default profile)", "", "| run | requests |", "| --- | ---: |"]
    lines += [f"| {name} | {value} |" for name, value in b5_figures.items()]
    if b6_figures is not None:
        lines += [
            "",
            f"B6 wait economy: requests made while waiting {b6_figures['wait_seconds']:g} s for a slow Deployment: "
            f"**{b6_figures['requests_waiting']}** (install with wait {b6_figures['install_wait']} requests in "
            f"{b6_figures['elapsed_wait']:.1f} s, the same install with --no-wait {b6_figures['install_no_wait']} "
            f"in {b6_figures['elapsed_no_wait']:.1f} s)",
            "  reads of workloads and pods during the waited install: "
            + ", ".join(b6_figures["reads_of_workloads_and_pods"]),
        ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="B4 runs per tool and case (after one warm-up round)")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added to every request in B4")
    parser.add_argument("--wait-seconds", type=float, default=60.0, help="the slow rollout of B6")
    parser.add_argument("--skip-b6", action="store_true", help="skip B6 (it takes --wait-seconds and more)")
    args = parser.parse_args(argv)
    bytecode.ensure_bytecode()
    with tempfile.TemporaryDirectory(prefix="meshctl-install-bench-") as tmp:
        work = Workspace(Path(tmp))
        b4_rows = b4(work, args.runs, args.latency)
        b5_figures = b5(work)
        b6_figures = None if args.skip_b6 else b6(work, args.wait_seconds)
    print(report(b4_rows, b5_figures, b6_figures, args))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
