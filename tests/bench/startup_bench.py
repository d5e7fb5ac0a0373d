"""Benchmark B1 of ``quality.md``: CLI start-up, side by side with a minimal Typer app of the same command tree.

    python -m tests.bench.startup_bench [--runs 21] [--markdown] [--quick] [--out bench-results.json]

Measures whole processes, alternating meshctl and the baseline (``baseline_app.py``, built from meshctl's own
command tree, whose commands do nothing) run by run, so both see the same machine load:

- ``meshctl --help`` against ``baseline --help``;
- ``meshctl version`` against ``baseline version`` (B1's second command);
- ``meshctl profile list`` against ``baseline profile list`` (meshctl does its real work: reading the profiles);
- ``python -c pass`` for scale.

Reports the median of each and the ratio of medians (target ≤ 1.2 × the baseline), and beside it the ratio of the
median CPU times (user + system), which the host's load moves less than wall time. Timings on a shared machine
are noisy: read the ratios measured side by side. The figures are also merged into ``bench-results.json``
(``results.py``) under ``B1``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.bench import bytecode, results

BASELINE = Path(__file__).with_name("baseline_app.py")


def command_tree() -> dict[str, Any]:
    """meshctl's command tree as data: groups, commands, and their parameters."""
    import typer

    from meshctl.cli import app as cli_app

    def describe(command: Any, name: str) -> dict[str, Any]:
        params = []
        for param in command.params:
            if param.name in ("help", "version"):
                continue
            params.append(
                {
                    "name": param.name,
                    "kind": "argument" if param.param_type_name == "argument" else "option",
                    "opts": list(param.opts),
                    "required": bool(param.required),
                    "is_flag": bool(getattr(param, "is_flag", False)),
                    "multiple": bool(getattr(param, "multiple", False)),
                    "count": bool(getattr(param, "count", False)),
                }
            )
        children = None
        if hasattr(command, "commands"):  # a group
            children = [describe(sub, sub_name) for sub_name, sub in sorted(command.commands.items())]
        return {"name": name, "help": (command.help or "").split("\n")[0], "params": params, "commands": children}

    return describe(typer.main.get_command(cli_app.app), "meshctl")


def _time(cmd: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system: less sensitive to the host's load) of one whole process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def measure(runs: int) -> dict[str, dict[str, list[float]]]:
    # The console script of the interpreter running the benchmark (nox --no-venv need not have its venv on PATH).
    beside = Path(sys.executable).parent / "meshctl"
    meshctl = str(beside) if beside.is_file() else shutil.which("meshctl")
    if meshctl is None:
        raise SystemExit("meshctl is not installed (pip install -e .)")
    with tempfile.TemporaryDirectory() as tmp:
        tree_file = Path(tmp) / "tree.json"
        tree_file.write_text(json.dumps(command_tree()), encoding="utf-8")
        baseline = [sys.executable, str(BASELINE), str(tree_file)]
        cases = {
            "--help": ([meshctl, "--help"], [*baseline, "--help"]),
            "version": ([meshctl, "version"], [*baseline, "version"]),
            "profile list": ([meshctl, "profile", "list"], [*baseline, "profile", "list"]),
        }
        results: dict[str, dict[str, list[float]]] = {
            name: {"meshctl": [], "baseline": [], "meshctl_cpu": [], "baseline_cpu": []} for name in cases
        }
        results["python -c pass"] = {"python": []}
        for mesh_cmd, base_cmd in cases.values():  # warm-up: page cache and bytecode
            _time(mesh_cmd)
            _time(base_cmd)
        for _ in range(runs):
            for name, (mesh_cmd, base_cmd) in cases.items():
                for who, cmd in (("meshctl", mesh_cmd), ("baseline", base_cmd)):
                    wall, cpu = _time(cmd)
                    results[name][who].append(wall)
                    results[name][f"{who}_cpu"].append(cpu)
            results["python -c pass"]["python"].append(_time([sys.executable, "-c", "pass"])[0])
    return results


def report(measured: dict[str, dict[str, list[float]]], runs: int, markdown: bool) -> str:
    machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    lines = []
    if markdown:
        lines.append(f"Machine: {machine}. Date: {time.strftime('%Y-%m-%d')}. Medians of {runs} alternating runs:")
        lines.append("")
        lines.append("| command | meshctl (ms) | baseline (ms) | ratio | CPU time ratio |")
        lines.append("| --- | ---: | ---: | ---: | ---: |")
    for name, series in measured.items():
        if "meshctl" not in series:
            continue
        mesh = statistics.median(series["meshctl"]) * 1000
        base = statistics.median(series["baseline"]) * 1000
        cpu = statistics.median(series["meshctl_cpu"]) / statistics.median(series["baseline_cpu"])
        if markdown:
            lines.append(f"| `{name}` | {mesh:.0f} | {base:.0f} | {mesh / base:.2f} | {cpu:.2f} |")
        else:
            lines.append(
                f"{name:>14}: meshctl {mesh:6.0f} ms  baseline {base:6.0f} ms  ratio {mesh / base:.2f}"
                f"  (CPU time ratio {cpu:.2f})"
            )
    python = statistics.median(measured["python -c pass"]["python"]) * 1000
    lines.append(
        f"| `python -c pass` | | {python:.0f} | | |" if markdown else f"{'python -c pass':>14}: {python:6.0f} ms"
    )
    if not markdown:
        lines.append(machine)
    return "\n".join(lines)


MODULE = "tests.bench.startup_bench"
#: B1's target applies to these two commands; ``profile list`` is reported.
TARGETED = ("--help", "version")


def figures(measured: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, Any]] = {}
    for name, series in measured.items():
        if "meshctl" not in series:
            out[name] = results.figure(MODULE, statistics.median(series["python"]), "s", runs=series["python"])
            continue
        mesh, base = statistics.median(series["meshctl"]), statistics.median(series["baseline"])
        out[f"meshctl {name}"] = results.figure(
            MODULE,
            mesh,
            "s",
            baseline=f"baseline app {name}",
            baseline_value=base,
            ratio=mesh / base,
            limit=1.2 if name in TARGETED else None,
            runs=series["meshctl"],
            baseline_runs=series["baseline"],
            cpu_median=statistics.median(series["meshctl_cpu"]),
            baseline_cpu_median=statistics.median(series["baseline_cpu"]),
            cpu_ratio=statistics.median(series["meshctl_cpu"]) / statistics.median(series["baseline_cpu"]),
        )
    return {"B1": out}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--markdown", action="store_true")
    results.add_arguments(parser)
    args = parser.parse_args(argv)
    started, load_before = time.monotonic(), results.load()
    runs = min(args.runs, 5) if args.quick else args.runs
    bytecode.ensure_bytecode()
    measured = measure(runs)
    print(report(measured, runs, args.markdown))
    results.merge(
        args.out,
        MODULE,
        results.command(MODULE, argv),
        figures(measured),
        started=started,
        load_before=load_before,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
