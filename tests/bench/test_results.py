"""The merging of ``bench-results.json`` (``results.py``): each module replaces its own figures, keeps the others'."""

from __future__ import annotations

import json
from pathlib import Path

from tests.bench import results


def test_modules_merge_their_figures_into_one_file(tmp_path: Path) -> None:
    out = tmp_path / "bench-results.json"
    render = {"B7": {"generate": results.figure("render", 90.0, "MiB", limit=300.0)}}
    results.merge(out, "render", "python -m render", render, started=0.0, load_before=[0.0])
    install = {"B7": {"install": results.figure("install", 310.0, "MiB", limit=300.0)}}
    results.merge(out, "install", "python -m install", install, started=0.0, load_before=[0.0])
    again = {"B7": {"generate, 10000": results.figure("render", 640.0, "MiB")}}
    data = results.merge(out, "render", "python -m render", again, started=0.0, load_before=[0.0])

    assert json.loads(out.read_text(encoding="utf-8")) == data
    assert set(data["B7"]["figures"]) == {"install", "generate, 10000"}  # render's old figure replaced
    assert data["B7"]["met"] is False  # install missed; the 10,000 figure is reported, not a target
    assert data["command"] == "python -m render"
    assert set(data["runs"]) == {"render", "install"}
    assert data["machine"]["cpus"] >= 1
