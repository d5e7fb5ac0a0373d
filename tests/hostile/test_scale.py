"""Big but legal input costs linear time: many unknown keys, several large files (and their total is limited)."""

from __future__ import annotations

from pathlib import Path

from meshctl.config import loading, schemacheck
from tests.hostile.harness import expect, meshctl


def test_many_unknown_keys_are_warnings_in_linear_time(tmp_path: Path) -> None:
    # 100,000 keys took minutes (did-you-mean for every key, and a quadratic sort); the hang guard would trip.
    keys = "".join(f"      k{i}: 1\n" for i in range(50_000))
    path = tmp_path / "many.yaml"
    path.write_text("spec:\n  values:\n    global:\n      hubb: x\n" + keys)
    outcome = meshctl("profile", "dump", "-f", str(path), "--config-path", "hub")
    # The typo among the first keys still gets its did-you-mean (an error); the rest are not compared.
    expect(outcome, 3, "invalid configuration")
    assert "values.global.hubb: unknown key (did you mean values.global.hub?)" in outcome.stderr
    assert schemacheck.MAX_SUGGESTIONS < 50_000


def test_total_size_of_the_input_files_is_limited(tmp_path: Path) -> None:
    size = loading.MAX_BYTES - 16
    names = []
    for i in range(loading.MAX_TOTAL_BYTES // size + 1):
        path = tmp_path / f"part{i}.yaml"
        path.write_text("#" * size + "\n")
        names += ["-f", str(path)]
    outcome = meshctl("profile", "dump", *names)
    expect(outcome, 3, ["-f inputs together exceed 16 MiB"])
