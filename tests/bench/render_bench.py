"""Benchmarks B2 (render latency) and B3 (render scaling) of ``quality.md``.

    python -m tests.bench.render_bench [--runs 7] [--scaling-runs 5] [--markdown]

B2: the whole process ``meshctl manifest generate --set profile=P`` for the default and demo profiles, median of
``--runs`` runs after one warm-up run (which fills the template bytecode cache), side by side with the interpreter
alone (``python -c pass``), ``meshctl --version``, and the same command with the template cache off (a first run
on a machine).

B3: ``manifest generate`` in-process (configuration, render, YAML) for an IstioOperator with 1, 10, 100 and 1000
ingress gateways, median of ``--scaling-runs`` runs each, split into configuration, render and serialisation;
the cost per extra gateway is the slope between 1 and 1000, and linearity is judged from the slopes of the three
intervals (1→10, 10→100, 100→1000). Also the whole process with 1000 gateways: its time and its peak resident
memory (the ``manifest generate`` half of B7).

Timings on a shared machine are noisy: read the ratios measured side by side, not one absolute figure.
"""

from __future__ import annotations

import argparse
import io
import itertools
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import yaml

from tests.bench import bytecode

GATEWAY_COUNTS = (1, 10, 100, 1000)


def _median_wall(cmd: Sequence[str], runs: int, env: dict[str, str] | None = None) -> float:
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)  # warm-up (page cache, bytecode cache)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _peak_rss_mib(cmd: Sequence[str]) -> float:
    """Peak resident memory of one run of ``cmd`` (B7), measured by a fresh parent whose only child it is."""
    probe = (
        "import resource, subprocess, sys; "
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"
    )
    out = subprocess.run([sys.executable, "-c", probe, *cmd], check=True, capture_output=True, text=True).stdout
    return int(out.strip()) / 1024  # Linux reports KiB


def _iop(gateways: int) -> str:
    entries = [{"name": f"gw-{i:04d}", "enabled": True} for i in range(gateways)]
    doc = {
        "apiVersion": "install.istio.io/v1alpha1",
        "kind": "IstioOperator",
        "spec": {"profile": "default", "components": {"ingressGateways": entries}},
    }
    return yaml.safe_dump(doc)


def _timed(func: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    result = func()
    return time.perf_counter() - start, result


def _generate_in_process(text: str) -> tuple[float, float, float, int]:
    from meshctl.config import layering
    from meshctl.render import output, pipeline

    t_config, config = _timed(
        lambda: layering.build_effective_config(layering.ConfigInput(files=("-",)), stdin=io.StringIO(text))
    )
    t_render, objs = _timed(lambda: pipeline.render_manifests(config))  # type: ignore[arg-type]
    t_dump, _ = _timed(lambda: output.format_stream(objs))  # type: ignore[arg-type]
    return t_config, t_render, t_dump, len(objs)  # type: ignore[arg-type]


def bench_b2(runs: int) -> list[tuple[str, float]]:
    python = sys.executable
    cached = dict(os.environ)
    cold = {**os.environ, "MESHCTL_TEMPLATE_CACHE": "off"}
    rows = [
        ("python -c pass (interpreter alone)", _median_wall([python, "-c", "pass"], runs)),
        ("meshctl --version", _median_wall([python, "-m", "meshctl", "--version"], runs)),
    ]
    for profile in ("default", "demo"):
        cmd = [python, "-m", "meshctl", "manifest", "generate", "--set", f"profile={profile}"]
        rows.append((f"meshctl manifest generate --set profile={profile}", _median_wall(cmd, runs, cached)))
    for profile in ("default", "demo"):
        cmd = [python, "-m", "meshctl", "manifest", "generate", "--set", f"profile={profile}"]
        rows.append((f"  same, template cache off (profile={profile})", _median_wall(cmd, max(3, runs // 2), cold)))
    return rows


def bench_b3(runs: int) -> tuple[list[tuple[int, int, float, float, float]], float, float]:
    _generate_in_process(_iop(1))  # warm-up: imports, compiled templates, values files
    rows = []
    for count in GATEWAY_COUNTS:
        text = _iop(count)
        samples = [_generate_in_process(text) for _ in range(runs)]
        config = statistics.median(s[0] for s in samples)
        render = statistics.median(s[1] for s in samples)
        dump = statistics.median(s[2] for s in samples)
        rows.append((count, samples[0][3], config, render, dump))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "gateways-1000.yaml"
        path.write_text(_iop(1000), encoding="utf-8")
        cmd = [sys.executable, "-m", "meshctl", "manifest", "generate", "-f", str(path)]
        whole = _median_wall(cmd, max(3, runs // 2))
        peak = _peak_rss_mib(cmd)
    return rows, whole, peak


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="whole-process runs per B2 row (median)")
    parser.add_argument("--scaling-runs", type=int, default=5, help="in-process runs per B3 size (median)")
    args = parser.parse_args(argv)
    bytecode.ensure_bytecode()

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"\nB2 render latency (whole process, median of {args.runs} runs after a warm-up)")
    b2 = bench_b2(args.runs)
    for name, seconds in b2:
        print(f"  {name:<62} {seconds:7.3f} s")

    print(f"\nB3 render scaling (in-process: configuration + render + YAML, median of {args.scaling_runs} runs)")
    rows, whole, peak = bench_b3(args.scaling_runs)
    print(f"  {'gateways':>8} {'objects':>8} {'config':>9} {'render':>9} {'yaml':>9} {'total':>9}")
    totals = {}
    for count, objs, config, render, dump in rows:
        total = config + render + dump
        totals[count] = total
        ms = " ".join(f"{x * 1000:7.1f}ms" for x in (config, render, dump, total))
        print(f"  {count:>8} {objs:>8} {ms}")
    slope = (totals[1000] - totals[1]) / 999
    print(f"  per extra gateway (1 -> 1000): {slope * 1000:.2f} ms")
    sizes = list(GATEWAY_COUNTS)
    for low, high in itertools.pairwise(sizes):
        print(
            f"    slope {low:>4} -> {high:<4}: {(totals[high] - totals[low]) / (high - low) * 1000:.2f} ms per gateway"
        )
    print(f"  whole process, 1000 gateways: {whole:.3f} s, peak RSS {peak:.0f} MiB (B7: report; target <= 300 MiB)")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
