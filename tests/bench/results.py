"""The benchmarks' machine-readable results: ``bench-results.json``, one file for every module of ``tests/bench``.

Each module (``startup_bench``, ``render_bench``, ``apiserver_bench``, ``install_bench``) prints its figures and
merges its part into the file (``--out PATH``, default ``bench-results.json`` in the working directory), so a module
run alone updates its own figures and keeps the others'. The file is a dict keyed by benchmark id::

    {
      "date": "...", "machine": {...}, "command": "...",        # of the last module that wrote the file
      "runs": {"tests.bench.render_bench": {"date", "machine", "command", "load_before", "load_after",
                                            "seconds"}, ...},
      "B1": {"what": "CLI start-up", "target": "...", "met": true,
             "figures": {"--help": {"source": "tests.bench.startup_bench", "median": 0.156, "unit": "s",
                                    "baseline": "...", "baseline_median": 0.152, "ratio": 1.03, "limit": 1.2,
                                    "met": true, "runs": [...], ...}, ...}},
      ...
      "apiserver": {...}
    }

A figure's ``met`` is ``true``/``false`` when the figure has a target and ``null`` when it is only reported; the
benchmark's ``met`` is true when every figure with a target met it (``null`` when none has one). A module replaces
the figures it wrote before (matched by ``source``) and leaves the other modules' figures alone: B7's
``manifest generate`` half comes from ``render_bench`` and its ``install`` half from ``install_bench``.

These are measurements, never test assertions: nothing fails when a target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

DEFAULT_OUT = "bench-results.json"

#: What each benchmark measures and its target, as in ``shared/spec/quality.md``.
BENCHMARKS: dict[str, tuple[str, str]] = {
    "B1": ("CLI start-up", "≤ 1.2 × a minimal Typer app of the same command tree (--help, version)"),
    "B2": ("render latency", "≤ 3.5 × the baseline app's --help warm, ≤ 6 × with the template cache off"),
    "B3": (
        "render scaling",
        "cost of 1000 extra gateways ≤ 11 × the cost of 100; per extra gateway ≤ 30 × the baseline app's "
        "start-up ÷ 1000",
    ),
    "B4": ("install speed", "≤ 0.5 × kubectl apply --server-side's wall time (default + 10 ingress gateways)"),
    "B5": ("request economy", "install and re-install ≤ objects + 25 each; re-install writes nothing to members"),
    "B6": ("wait economy", "≤ 10 requests while waiting 60 s for a slow Deployment"),
    "B7": ("memory", "peak RSS of manifest generate and of install with 1000 gateways ≤ 300 MiB"),
    "apiserver": ("test API server throughput", "≥ 500 GET/s (16 keep-alive clients, HTTPS)"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every bench module takes (the ``bench`` nox session passes its arguments to all of them)."""
    parser.add_argument(
        "--out", default=DEFAULT_OUT, help=f"results file to merge this module's figures into (default {DEFAULT_OUT})"
    )
    parser.add_argument("--quick", action="store_true", help="fewer runs: a smoke run, not a measurement")


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "machine": platform.machine(),
        "processor": _cpu_model(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def command(module: str, argv: list[str] | None) -> str:
    args = sys.argv[1:] if argv is None else argv
    return shlex.join(["python", "-m", module, *args])


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def figure(
    source: str,
    value: float | int | None,
    unit: str,
    *,
    baseline: str | None = None,
    baseline_value: float | None = None,
    ratio: float | None = None,
    limit: float | None = None,
    lower_is_better: bool = True,
    **extra: Any,
) -> dict[str, Any]:
    """One figure: its median ``value``, the baseline and ratio when side by side, and met/missed against ``limit``.

    ``limit`` applies to ``ratio`` when there is one, otherwise to ``value``; without a limit ``met`` is ``None``
    (reported, not a target).
    """
    compared = ratio if ratio is not None else value
    met: bool | None = None
    if limit is not None and compared is not None:
        met = compared <= limit if lower_is_better else compared >= limit
    out: dict[str, Any] = {"source": source, "median": _round(value), "unit": unit}
    if baseline is not None:
        out["baseline"] = baseline
        out["baseline_median"] = _round(baseline_value)
    if ratio is not None:
        out["ratio"] = round(ratio, 3)
    out["limit"] = limit
    out["met"] = met
    out.update({key: _round_deep(val) for key, val in extra.items()})
    return out


def _round(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value


def _round_deep(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, list | tuple):
        return [_round_deep(v) for v in value]
    if isinstance(value, dict):
        return {k: _round_deep(v) for k, v in value.items()}
    return value


def merge(
    path: str | os.PathLike[str],
    module: str,
    cmd: str,
    figures: Mapping[str, Mapping[str, dict[str, Any]]],
    *,
    started: float,
    load_before: list[float],
) -> dict[str, Any]:
    """Merge ``figures`` ({benchmark id: {figure name: figure}}) written by ``module`` into the file at ``path``."""
    target = Path(path)
    data: dict[str, Any] = {}
    if target.is_file():
        try:
            loaded = json.loads(target.read_text(encoding="utf-8"))
            if isinstance(loaded, dict):
                data = loaded
        except (OSError, ValueError):
            data = {}  # an unreadable file is replaced, not merged
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    info = machine()
    data.update({"date": now, "machine": info, "command": cmd})
    runs = data.setdefault("runs", {})
    runs[module] = {
        "date": now,
        "machine": info,
        "command": cmd,
        "seconds": round(time.monotonic() - started, 1),
        "load_before": load_before,
        "load_after": load(),
    }
    for bench_id in {bid for bid, entry in data.items() if bid in BENCHMARKS and isinstance(entry, dict)} | set(
        figures
    ):
        entry = data.get(bench_id)
        if not isinstance(entry, dict):
            entry = {}
        what, target_text = BENCHMARKS[bench_id]
        kept = {
            name: fig
            for name, fig in (entry.get("figures") or {}).items()
            if isinstance(fig, dict) and fig.get("source") != module
        }
        kept.update(figures.get(bench_id, {}))
        flags = [fig.get("met") for fig in kept.values() if fig.get("met") is not None]
        data[bench_id] = {
            "what": what,
            "target": target_text,
            "met": all(flags) if flags else None,
            "figures": kept,
        }
    ordered = {key: data[key] for key in ("date", "machine", "command", "runs") if key in data}
    ordered.update({bid: data[bid] for bid in BENCHMARKS if bid in data})
    ordered.update({key: value for key, value in data.items() if key not in ordered})
    target.write_text(json.dumps(ordered, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"\nfigures merged into {target.resolve()}")
    return ordered


def met_text(flag: bool | None) -> str:
    return "reported" if flag is None else ("met" if flag else "MISSED")
