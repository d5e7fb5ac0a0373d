"""Benchmarks B2 (render latency), B3 (render scaling) and the ``manifest generate`` half of B7 of ``quality.md``.

    python -m tests.bench.render_bench [--runs 9] [--scaling-runs 7] [--memory-runs 3] [--quick] [--out FILE]

B2: the whole process ``meshctl manifest generate --set profile=P`` for the default and demo profiles, median of
``--runs`` runs after one warm-up round (which fills the template bytecode cache), alternating run by run with the
B1 baseline app's ``--help`` (``baseline_app.py`` over meshctl's command tree), the interpreter alone
(``python -c pass``) and ``meshctl --version``; also the same command with the template cache off (a first run on
a machine). B2's ratios are to the baseline app's ``--help`` measured in the same rounds.

B3: ``manifest generate`` in-process (configuration, render, YAML) for an IstioOperator with 1, 10, 100 and 1000
ingress gateways, the sizes alternating round by round (a garbage collection before each sample), median of
``--scaling-runs`` runs each, split into configuration, render and serialisation; the cost per extra gateway is
the slope between 1 and 1000, and linearity is judged from the slopes of the three intervals (1→10, 10→100,
100→1000) and from the cost of 1000 extra gateways over the cost of 100. Also the whole process with 1000
gateways: its time.

B7 (the ``manifest generate`` half): peak resident memory of the whole process with 1, 1000 and 10,000 gateways,
each measured by a fresh parent whose only child it is (``getrusage(RUSAGE_CHILDREN).ru_maxrss``), median of
``--memory-runs`` runs (one for 10,000).

Figures are printed and merged into ``bench-results.json`` (``results.py``) under B2, B3 and B7. Timings on a
shared machine are noisy: read the ratios measured side by side, not one absolute figure.
"""

from __future__ import annotations

import argparse
import gc
import io
import itertools
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml

from tests.bench import bytecode, results

MODULE = "tests.bench.render_bench"
GATEWAY_COUNTS = (1, 10, 100, 1000)
MEMORY_COUNTS = (1, 1000, 10_000)
BASELINE_APP = Path(__file__).with_name("baseline_app.py")
#: B2's targets: ratios to the baseline app's ``--help`` (warm, and with the template cache off).
B2_WARM, B2_COLD = 3.5, 6.0
#: B3's targets: the cost of 1000 extra gateways over the cost of 100, and the per-gateway slope in units of the
#: baseline app's start-up ÷ 1000.
B3_LINEARITY, B3_SLOPE_FACTOR = 11.0, 30.0
B7_LIMIT_MIB = 300.0


def _run(cmd: Sequence[str], env: dict[str, str] | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env)
    return time.perf_counter() - start


def _alternate(cases: dict[str, tuple[list[str], dict[str, str] | None, int]]) -> dict[str, list[float]]:
    """Wall times of whole processes, the cases alternating run by run after one warm-up round (page cache,
    bytecode and template caches); a case with fewer runs takes part in the first rounds only."""
    for cmd, env, _ in cases.values():
        _run(cmd, env)
    times: dict[str, list[float]] = {name: [] for name in cases}
    for index in range(max(runs for _, _, runs in cases.values())):
        for name, (cmd, env, runs) in cases.items():
            if index < runs:
                times[name].append(_run(cmd, env))
    return times


def peak_rss_mib(cmd: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Peak resident memory (MiB) and CPU seconds of one run of ``cmd`` (B7), measured by a fresh parent whose
    only child it is, so ``RUSAGE_CHILDREN`` holds that child alone."""
    probe = (
        "import resource, subprocess, sys; "
        "subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL); "
        "u = resource.getrusage(resource.RUSAGE_CHILDREN); "
        "print(u.ru_maxrss, u.ru_utime + u.ru_stime)"
    )
    done = subprocess.run([sys.executable, "-c", probe, *cmd], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    kib, cpu = done.stdout.split()
    return int(kib) / 1024, float(cpu)  # Linux reports KiB


def iop_text(gateways: int) -> str:
    """An IstioOperator (YAML) of the default profile with ``gateways`` ingress gateways (B3, B7)."""
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


def baseline_help_cmd(directory: Path) -> list[str]:
    """The B1 baseline app's ``--help`` (over meshctl's command tree, written into ``directory``)."""
    from tests.bench.startup_bench import command_tree

    tree = directory / "tree.json"
    tree.write_text(json.dumps(command_tree()), encoding="utf-8")
    return [sys.executable, str(BASELINE_APP), str(tree), "--help"]


def bench_b2(runs: int, directory: Path) -> dict[str, list[float]]:
    python = sys.executable
    cold = {**os.environ, "MESHCTL_TEMPLATE_CACHE": "off"}
    cold_runs = max(3, runs // 2)
    cases: dict[str, tuple[list[str], dict[str, str] | None, int]] = {
        "baseline app --help": (baseline_help_cmd(directory), None, runs),
        "python -c pass": ([python, "-c", "pass"], None, runs),
        "meshctl --version": ([python, "-m", "meshctl", "--version"], None, runs),
    }
    for profile in ("default", "demo"):
        cmd = [python, "-m", "meshctl", "manifest", "generate", "--set", f"profile={profile}"]
        cases[f"generate {profile}"] = (cmd, None, runs)
        cases[f"generate {profile}, template cache off"] = (cmd, cold, cold_runs)
    return _alternate(cases)


def bench_b3(runs: int, directory: Path) -> tuple[list[tuple[int, int, float, float, float]], list[float]]:
    _generate_in_process(iop_text(1))  # warm-up: imports, compiled templates, values files
    texts = {count: iop_text(count) for count in GATEWAY_COUNTS}
    measured: dict[int, list[tuple[float, float, float, int]]] = {count: [] for count in GATEWAY_COUNTS}
    for _ in range(runs):  # the sizes alternate round by round, so the host's load falls on all of them alike
        for count in GATEWAY_COUNTS:
            gc.collect()  # the previous sample's garbage is not this one's cost
            measured[count].append(_generate_in_process(texts[count]))
    rows = []
    for count, samples in measured.items():
        config = statistics.median(s[0] for s in samples)
        render = statistics.median(s[1] for s in samples)
        dump = statistics.median(s[2] for s in samples)
        rows.append((count, samples[0][3], config, render, dump))
    path = directory / "gateways-1000.yaml"
    path.write_text(iop_text(1000), encoding="utf-8")
    cmd = [sys.executable, "-m", "meshctl", "manifest", "generate", "-f", str(path)]
    _run(cmd)
    whole = [_run(cmd) for _ in range(max(3, runs // 2))]
    return rows, whole


def bench_b7(runs: int, directory: Path) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for count in MEMORY_COUNTS:
        path = directory / f"gateways-{count}.yaml"
        path.write_text(iop_text(count), encoding="utf-8")
        cmd = [sys.executable, "-m", "meshctl", "manifest", "generate", "-f", str(path)]
        samples = [peak_rss_mib(cmd) for _ in range(1 if count > 1000 else runs)]
        out[count] = {"rss": [s[0] for s in samples], "cpu": [s[1] for s in samples]}
    return out


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="whole-process runs per B2 row (median)")
    parser.add_argument("--scaling-runs", type=int, default=7, help="in-process runs per B3 size (median)")
    parser.add_argument("--memory-runs", type=int, default=3, help="peak-RSS runs per B7 size up to 1000 (median)")
    results.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.scaling_runs, args.memory_runs = min(args.runs, 3), min(args.scaling_runs, 2), 1
    started, load_before = time.monotonic(), results.load()
    bytecode.ensure_bytecode()
    figures: dict[str, dict[str, dict[str, Any]]] = {"B2": {}, "B3": {}, "B7": {}}

    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}")
    print(f"load average before: {' '.join(f'{x:.2f}' for x in load_before)}")
    with tempfile.TemporaryDirectory(prefix="meshctl-render-bench-") as tmp:
        directory = Path(tmp)

        print(f"\nB2 render latency (whole processes alternating, median of {args.runs} runs after a warm-up)")
        b2 = bench_b2(args.runs, directory)
        base = statistics.median(b2["baseline app --help"])
        for name, times in b2.items():
            median = statistics.median(times)
            ratio = median / base
            print(f"  {name:<40} {median:7.3f} s  {ratio:5.2f} × baseline app --help  ({len(times)} runs)")
            limit = None
            if name.startswith("generate"):
                limit = B2_COLD if "cache off" in name else B2_WARM
            if name == "baseline app --help":
                figures["B2"][name] = results.figure(MODULE, median, "s", runs=times)
            else:
                figures["B2"][name] = results.figure(
                    MODULE,
                    median,
                    "s",
                    baseline="baseline app --help",
                    baseline_value=base,
                    ratio=ratio,
                    limit=limit,
                    runs=times,
                )

        print(f"\nB3 render scaling (in-process: configuration + render + YAML, median of {args.scaling_runs} runs)")
        rows, whole = bench_b3(args.scaling_runs, directory)
        print(f"  {'gateways':>8} {'objects':>8} {'config':>10} {'render':>10} {'yaml':>10} {'total':>10}")
        totals: dict[int, float] = {}
        objects: dict[int, int] = {}
        for count, objs, config, render, dump in rows:
            total = config + render + dump
            totals[count], objects[count] = total, objs
            print(f"  {count:>8} {objs:>8} " + " ".join(f"{_ms(x):>10}" for x in (config, render, dump, total)))
            figures["B3"][f"{count} gateways"] = results.figure(
                MODULE, total, "s", objects=objs, configuration=config, render=render, yaml=dump
            )
        slope = (totals[1000] - totals[1]) / 999
        slope_limit = B3_SLOPE_FACTOR * base / 1000
        linearity = (totals[1000] - totals[1]) / (totals[100] - totals[1])
        intervals = {
            f"{low}->{high}": (totals[high] - totals[low]) / (high - low) for low, high in itertools.pairwise(totals)
        }
        print(
            f"  per extra gateway (1 -> 1000): {_ms(slope)}; target <= 30 x baseline app --help / 1000 = "
            f"{_ms(slope_limit)}: {results.met_text(slope <= slope_limit)}"
        )
        print(
            f"  cost of 999 extra gateways / cost of 99: {linearity:.2f} (linear: 10.09; target <= 11): "
            f"{results.met_text(linearity <= B3_LINEARITY)}"
        )
        for interval, value in intervals.items():
            print(f"    slope {interval:>10}: {_ms(value)} per gateway")
        print(f"  whole process, 1000 gateways: {statistics.median(whole):.3f} s (median of {len(whole)})")
        figures["B3"]["per extra gateway"] = results.figure(
            MODULE,
            slope,
            "s",
            baseline="30 × baseline app --help ÷ 1000",
            baseline_value=slope_limit,
            ratio=slope / slope_limit,
            limit=1.0,
            interval_slopes=intervals,
        )
        figures["B3"]["1000 extra over 100 extra"] = results.figure(MODULE, linearity, "×", limit=B3_LINEARITY)
        figures["B3"]["whole process, 1000 gateways"] = results.figure(
            MODULE, statistics.median(whole), "s", runs=whole
        )

        print(f"\nB7 memory, manifest generate (peak RSS of the whole process, median of {args.memory_runs})")
        b7 = bench_b7(args.memory_runs, directory)
        per_gateway_objects = (objects[1000] - objects[1]) / 999  # B3 counted them (6 per ingress gateway)
        for count, data in b7.items():
            data["objects"] = objects.get(count, round(objects[1] + per_gateway_objects * (count - 1)))
            rss = statistics.median(data["rss"])
            limit = B7_LIMIT_MIB if count == 1000 else None
            note = f"target <= {B7_LIMIT_MIB:.0f} MiB: {results.met_text(rss <= B7_LIMIT_MIB)}" if limit else "report"
            print(
                f"  {count:>6} gateways (~{data['objects']} objects): {rss:6.0f} MiB, "
                f"{statistics.median(data['cpu']):.1f} s CPU ({note})"
            )
            figures["B7"][f"manifest generate, {count} gateways"] = results.figure(
                MODULE,
                rss,
                "MiB",
                limit=limit,
                objects=data["objects"],
                runs=data["rss"],
                cpu_seconds=data["cpu"],
            )
        per_gateway = (statistics.median(b7[10_000]["rss"]) - statistics.median(b7[1]["rss"])) / 9999 * 1024
        print(f"  per extra gateway (1 -> 10,000): {per_gateway:.0f} KiB")
        figures["B7"]["manifest generate, per extra gateway"] = results.figure(MODULE, per_gateway, "KiB")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    results.merge(
        args.out,
        MODULE,
        results.command(MODULE, list(argv) if argv is not None else None),
        figures,
        started=started,
        load_before=load_before,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
