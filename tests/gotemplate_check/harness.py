"""Running the Go side of the cross-check: find Go, build the checker once into a cache, run a corpus through it.

The binary is built from this directory (its own pinned ``go.mod``) into ``${XDG_CACHE_HOME:-~/.cache}/meshctl-test/``
under a name derived from the sources, so it is built once per change of ``main.go``/``go.mod``/``go.sum`` and
reused by every later run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from meshctl import gotemplate

HERE = Path(__file__).resolve().parent
SOURCES = ("go.mod", "go.sum", "main.go")


def find_go() -> str | None:
    """The ``go`` command: on PATH, else the usual install location; None when there is none."""
    found = shutil.which("go")
    if found:
        return found
    fallback = Path("/usr/local/go/bin/go")
    return str(fallback) if fallback.is_file() and os.access(fallback, os.X_OK) else None


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "meshctl-test"


def binary_path() -> Path:
    digest = hashlib.sha256()
    for name in SOURCES:
        digest.update(name.encode() + b"\0" + (HERE / name).read_bytes() + b"\0")
    return cache_dir() / f"gotemplate-check-{digest.hexdigest()[:16]}"


def build(go: str) -> Path:
    """The checker binary, built unless a build of the same sources is already in the cache."""
    target = binary_path()
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(f".{target.name}.{os.getpid()}")
    env = {**os.environ, "GOFLAGS": "-mod=readonly", "CGO_ENABLED": "0"}
    proc = subprocess.run(
        [go, "build", "-trimpath", "-o", str(partial), "."],
        cwd=HERE,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if proc.returncode != 0:
        partial.unlink(missing_ok=True)
        raise RuntimeError(f"go build of the cross-check failed:\n{proc.stderr}")
    os.replace(partial, target)
    return target


def encode(value: Any) -> Any:
    """The Python evaluator's data as tagged JSON (see main.go), so that Go builds the same values."""
    if isinstance(value, gotemplate.Struct):
        fields = [[name, encode(item)] for name, item in value.fields.items()]
        # The JSON form goes as text, so its key order (the struct's field order) survives.
        form = None if value.json is None else json.dumps(value.json, separators=(",", ":"), ensure_ascii=False)
        return {"$struct": {"type": value.type_name, "fields": fields, "json": form}}
    if isinstance(value, gotemplate.StringMap):
        return {"$strmap": dict(value)}
    if isinstance(value, Mapping):
        return {"$map": {str(k): encode(v) for k, v in value.items()}}
    if isinstance(value, (list, tuple)):
        return {"$list": [encode(v) for v in value]}
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return {"$int": value}
    if isinstance(value, float):
        return {"$float": value}
    raise TypeError(f"cannot encode {type(value).__name__} for the Go checker")


def run_go(binary: Path, cases: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, str]]:
    """Each case (name, template, text, data) evaluated by Go: name → {"output", "error"}."""
    corpus = {
        "cases": [
            {"name": c["name"], "template": c["template"], "text": c["text"], "data": encode(c["data"])} for c in cases
        ]
    }
    proc = subprocess.run(
        [str(binary)], input=json.dumps(corpus), capture_output=True, text=True, check=False, timeout=300
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the Go checker failed:\n{proc.stderr}")
    return {r["name"]: r for r in json.loads(proc.stdout)["results"]}


def run_python(case: Mapping[str, Any]) -> dict[str, str]:
    """The same case evaluated by meshctl.gotemplate: {"output", "error"}."""
    try:
        template = gotemplate.parse(case["text"], case["template"])
        return {"output": gotemplate.render(template, case["data"]), "error": ""}
    except gotemplate.TemplateError as exc:
        return {"output": "", "error": str(exc)}
