"""Mutation testing of meshctl's config, render, kube and ops packages with mutmut (issue 13, item 5).

Run through nox (``nox -s mutate -- --sample 100 --seed 1``), which installs the pinned mutmut in the session's own
venv; or directly from the repository root in an environment with mutmut and the test extra installed:

    python -m tests.mutation.run --sample 100 --seed 1      # a seeded random sample per package
    python -m tests.mutation.run --full                     # every mutant (hours: for CI machines with time)
    python -m tests.mutation.run --report                   # the table of the last run, without running anything
    python -m tests.mutation.run --rerun-survivors          # the last run's survivors again (after adding tests)

Steps: mutmut copies the tree to ``mutants/`` and writes every mutant into it (``[tool.mutmut]`` in pyproject.toml
says which files and which tests); this driver lists the mutants per package, draws the sample with
``random.Random(seed)``, runs ``mutmut run`` on exactly those names, and writes ``mutation-results.json`` and a
table: generated, sampled, killed, survived, timeout, kill rate and its 95 % Wilson interval.

Kill rate = (killed + timeout) / (killed + timeout + survived + no tests). A mutant no selected test reaches
("no tests") counts as a survivor; mutants left unchecked (an interrupted run) are not counted and are reported.

``PYTHONPATH`` is set to ``mutants/`` for mutmut and everything it starts, so a test that runs the CLI in a
subprocess (``python -m meshctl``, the ``meshctl`` script) imports the mutated code too; the active mutant reaches
the subprocess through ``MUTANT_UNDER_TEST``, which it inherits.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

PACKAGES = ("meshctl.config", "meshctl.render", "meshctl.kube", "meshctl.ops")
MUTANTS = Path("mutants")
RESULTS = Path("mutation-results.json")
#: Survivors judged equivalent (they cannot change behaviour), with the reasons.
EQUIVALENT = Path(__file__).with_name("equivalent.md")

#: mutmut's statuses (``mutmut.stats.status_by_exit_code``) grouped as this report counts them.
DETECTED = ("killed", "timeout", "caught by type check", "segfault")
UNDETECTED = ("survived", "no tests")
NOT_RUN = ("not checked", "skipped", "check was interrupted by user", "suspicious")


def wilson(successes: int, trials: int, z: float = 1.959964) -> tuple[float, float]:
    """The 95 % Wilson score interval of a proportion (``(0, 1)`` for no trials)."""
    if trials == 0:
        return (0.0, 1.0)
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return (max(0.0, centre - half), min(1.0, centre + half))


def package_of(mutant: str) -> str | None:
    for package in PACKAGES:
        if mutant.startswith(package + "."):
            return package
    return None


def _env() -> dict[str, str]:
    env = dict(os.environ)
    mutated = str(MUTANTS.resolve())
    env["PYTHONPATH"] = mutated + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def _mutmut(*args: str, capture: bool = False) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "mutmut", *args]
    return subprocess.run(command, env=_env(), check=False, text=True, capture_output=capture)


def generate(max_children: int) -> None:
    """Copy the tree to ``mutants/`` and write every mutant (mutmut's own generation step; nothing is run)."""
    MUTANTS.mkdir(exist_ok=True)
    code = (
        "from mutmut.__main__ import copy_src_dir, copy_also_copy_files, create_mutants\n"
        "copy_src_dir(); copy_also_copy_files()\n"
        f"stats = create_mutants({max_children})\n"
        "print(f'mutmut: {stats.mutated} files mutated, {stats.ignored} copied, {stats.unmodified} unchanged')\n"
    )
    subprocess.run([sys.executable, "-c", code], env=_env(), check=True)


def _meta_files() -> Iterable[Path]:
    return sorted((MUTANTS / "meshctl").rglob("*.py.meta"))


def exit_codes() -> dict[str, int | None]:
    """Every generated mutant of the four packages, with its last exit code (``None``: not run)."""
    codes: dict[str, int | None] = {}
    for meta in _meta_files():
        data = json.loads(meta.read_text(encoding="utf-8"))
        for name, code in data["exit_code_by_key"].items():
            if package_of(name):
                codes[name] = code
    return codes


def equivalent_mutants() -> set[str]:
    """The mutant names listed in equivalent.md."""
    if not EQUIVALENT.is_file():
        return set()
    return set(re.findall(r"meshctl\.[\w.ǁ]+__mutmut_\d+", EQUIVALENT.read_text(encoding="utf-8")))


def draw(names: Iterable[str], per_package: int, seed: int) -> dict[str, list[str]]:
    """A seeded random sample of ``per_package`` mutants of each package (all of them if there are fewer)."""
    by_package: dict[str, list[str]] = {package: [] for package in PACKAGES}
    for name in sorted(names):
        package = package_of(name)
        if package:
            by_package[package].append(name)
    rng = random.Random(seed)
    return {
        package: sorted(rng.sample(names_, min(per_package, len(names_)))) for package, names_ in by_package.items()
    }


def status(code: int | None) -> str:
    from mutmut.stats import status_by_exit_code

    return str(status_by_exit_code[code])


def summarise(
    generated: dict[str, list[str]], sampled: dict[str, list[str]], codes: dict[str, int | None]
) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for package in PACKAGES:
        counts = Counter(status(codes.get(name)) for name in sampled[package])
        detected = sum(counts[s] for s in DETECTED)
        undetected = sum(counts[s] for s in UNDETECTED)
        low, high = wilson(detected, detected + undetected)
        equivalent = [n for n in sampled[package] if status(codes.get(n)) in UNDETECTED and n in equivalent_mutants()]
        real = detected + undetected - len(equivalent)
        low_eq, high_eq = wilson(detected, real)
        rows[package] = {
            "generated": len(generated[package]),
            "sampled": len(sampled[package]),
            "killed": counts["killed"] + counts["caught by type check"] + counts["segfault"],
            "timeout": counts["timeout"],
            "survived": counts["survived"],
            "no_tests": counts["no tests"],
            "not_run": sum(counts[s] for s in NOT_RUN),
            "kill_rate": detected / (detected + undetected) if detected + undetected else None,
            "ci95": [low, high],
            "equivalent": len(equivalent),
            "kill_rate_without_equivalent": detected / real if real else None,
            "ci95_without_equivalent": [low_eq, high_eq],
            "survivors": sorted(name for name in sampled[package] if status(codes.get(name)) in UNDETECTED),
        }
    return rows


def table(rows: dict[str, Any]) -> str:
    lines = [
        "| package | generated | sampled | killed | survived | no tests | timeout | not run | kill rate | 95 % CI "
        "| equivalent | kill rate without them | 95 % CI |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | --- |",
    ]
    for package, row in rows.items():
        rate = "–" if row["kill_rate"] is None else f"{100 * row['kill_rate']:.1f} %"
        low, high = row["ci95"]
        rate_eq = (
            "–" if row["kill_rate_without_equivalent"] is None else f"{100 * row['kill_rate_without_equivalent']:.1f} %"
        )
        low_eq, high_eq = row["ci95_without_equivalent"]
        lines.append(
            f"| {package} | {row['generated']} | {row['sampled']} | {row['killed']} | {row['survived']} | "
            f"{row['no_tests']} | {row['timeout']} | {row['not_run']} | {rate} | {100 * low:.1f}–{100 * high:.1f} % "
            f"| {row['equivalent']} | {rate_eq} | {100 * low_eq:.1f}–{100 * high_eq:.1f} % |"
        )
    return "\n".join(lines)


def diffs(names: Sequence[str]) -> dict[str, str]:
    """``mutmut show`` of each name (the diff of the mutant against the original)."""
    shown: dict[str, str] = {}
    for name in names:
        result = _mutmut("show", name, capture=True)
        shown[name] = result.stdout
    return shown


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.mutation.run", description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--sample", type=int, default=100, metavar="N", help="mutants per package (default 100)")
    mode.add_argument("--full", action="store_true", help="run every mutant of the four packages")
    mode.add_argument("--report", action="store_true", help="only summarise the last run (--out)")
    mode.add_argument(
        "--rerun-survivors",
        nargs="*",
        metavar="NAME",
        help="run the survivors of the last run (--out) again, or only the NAMEs among them; summarise anew",
    )
    parser.add_argument("--seed", type=int, default=1, help="seed of the sample (default 1)")
    parser.add_argument("--max-children", type=int, default=2, help="mutants tested at once (default 2)")
    parser.add_argument("--out", type=Path, default=RESULTS, help=f"results file (default {RESULTS})")
    parser.add_argument("--no-diffs", action="store_true", help="do not record the diffs of the survivors")
    args = parser.parse_args(argv)
    if not Path("pyproject.toml").is_file() or not Path("meshctl").is_dir():
        parser.error("run from the repository root")

    if args.report:  # recomputed from mutants/ (statuses may have changed since) and equivalent.md
        results = json.loads(args.out.read_text(encoding="utf-8"))
        codes = exit_codes()
        sampled = {p: sorted(n for n in results["statuses"] if package_of(n) == p) for p in PACKAGES}
        results["packages"] = summarise(draw(codes, sys.maxsize, 0), sampled, codes)
        results["statuses"] = {name: status(codes.get(name)) for names in sampled.values() for name in names}
        args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        print(table(results["packages"]))
        return 0

    started = time.monotonic()
    previous: dict[str, Any] = {}
    if args.rerun_survivors is not None:
        previous = json.loads(args.out.read_text(encoding="utf-8"))
    generate(args.max_children)
    codes = exit_codes()
    generated = draw(codes, sys.maxsize, 0)
    if args.full:
        sampled = generated
    elif previous:
        sampled = {package: sorted(n for n in previous["statuses"] if package_of(n) == package) for package in PACKAGES}
    else:
        sampled = draw(codes, args.sample, args.seed)
    names = [name for package in PACKAGES for name in sampled[package]]
    equivalent = equivalent_mutants()
    if previous:
        survivors = [name for row in previous["packages"].values() for name in row["survivors"]]
        to_run = [name for name in survivors if name not in equivalent]
        if args.rerun_survivors:
            to_run = [name for name in to_run if name in set(args.rerun_survivors)]
    else:
        to_run = names
    print(f"mutation: {len(codes)} mutants generated, running {len(to_run)}", flush=True)
    run_args = ["run", "--max-children", str(args.max_children)]
    result = _mutmut(*run_args) if args.full else _mutmut(*run_args, *to_run)
    elapsed = time.monotonic() - started
    codes = exit_codes()
    rows = summarise(generated, sampled, codes)
    survivors = [name for row in rows.values() for name in row["survivors"]]
    results = {
        "tool": "mutmut",
        "mode": "full" if args.full else "sample",
        "sample_per_package": previous.get("sample_per_package") if previous else None if args.full else args.sample,
        "seed": previous.get("seed") if previous else None if args.full else args.seed,
        "previous_seconds": previous.get("seconds") if previous else None,
        "mutmut_exit_code": result.returncode,
        "seconds": round(elapsed),
        "packages": rows,
        "statuses": {name: status(codes.get(name)) for name in names},
        "survivor_diffs": {} if args.no_diffs else diffs(survivors),
    }
    args.out.write_text(json.dumps(results, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    print(table(rows))
    print(f"mutation: {elapsed / 60:.1f} min; results in {args.out}")
    if result.returncode != 0:
        print(f"mutation: mutmut exited {result.returncode}", file=sys.stderr)
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main())
