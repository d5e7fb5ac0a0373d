"""The summary table of ``docs/performance.md``, generated from ``bench-results.json``.

    python -m tests.bench.summary [bench-results.json]

One row per benchmark (B1–B7 and the test API server): what it measures, its figures that have a target (and
B7's reported ones), the target, and met/missed. Below the table: the commands, the machine and the dates, as the
results file recorded them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from tests.bench import results


def _value(name: str, fig: dict[str, Any]) -> str:
    if fig["unit"] == "s" and fig.get("ratio") is not None and str(fig.get("baseline", "")).startswith("30 ×"):
        return f"{name} {fig['median'] * 1000:.1f} ms (limit {fig['baseline_median'] * 1000:.1f} ms)"
    if fig.get("ratio") is not None and fig.get("baseline_median") is not None and fig["unit"] == "s":
        return f"{name} {fig['ratio']:.2f} ×"
    if fig["unit"] == "×":
        return f"{name} {fig['median']:.2f} ×"
    value = fig["median"]
    if fig["unit"] == "s":
        return f"{name} {value * 1000:.1f} ms" if value < 0.1 else f"{name} {value:.2f} s"
    if isinstance(value, float):
        return f"{name} {value:.0f} {fig['unit']}" if value >= 10 else f"{name} {value:.2f} {fig['unit']}"
    return f"{name} {value} {fig['unit']}"


def table(data: dict[str, Any]) -> str:
    lines = ["| id | what | figure | target | met? |", "| --- | --- | --- | --- | --- |"]
    for bench_id in results.BENCHMARKS:
        entry = data.get(bench_id)
        if not isinstance(entry, dict):
            continue
        shown = [
            _value(name, fig)
            for name, fig in entry["figures"].items()
            if fig.get("limit") is not None or (bench_id == "B7" and "per extra" not in name)
        ]
        if not shown:  # nothing with a target in this run (e.g. B6 with a --quick wait): show what was measured
            shown = [_value(name, fig) for name, fig in entry["figures"].items()]
        lines.append(
            f"| {bench_id} | {entry['what']} | {'; '.join(shown)} | {entry['target']} | "
            f"{results.met_text(entry['met'])} |"
        )
    lines.append("")
    machine = data.get("machine", {})
    lines.append(
        f"Machine: {machine.get('processor')}, {machine.get('cpus')} CPUs, {machine.get('platform')}, Python "
        f"{machine.get('python')}."
    )
    for module, run in data.get("runs", {}).items():
        lines.append(
            f"- `{run['command']}`: {run['date']}, {run['seconds']:.0f} s, load average "
            f"{run['load_before'][0]:.1f} before and {run['load_after'][0]:.1f} after ({module})"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("path", nargs="?", default=results.DEFAULT_OUT)
    args = parser.parse_args(argv)
    print(table(json.loads(Path(args.path).read_text(encoding="utf-8"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
