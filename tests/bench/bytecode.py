"""Make sure meshctl's modules have bytecode before a start-up benchmark measures whole processes.

pip compiles bytecode when it installs meshctl, so a user's process loads ``.pyc`` files. A source checkout run
where ``PYTHONDONTWRITEBYTECODE`` is set (this sandbox sets it) would instead recompile every module in every
process — about 0.2 s for ``manifest generate`` — and measure the compiler, not meshctl.
"""

from __future__ import annotations

import compileall
from pathlib import Path

import meshctl


def ensure_bytecode() -> None:
    """Compile meshctl's package (and the benchmarks' own helpers) to ``__pycache__``, as pip does on install."""
    compileall.compile_dir(str(Path(meshctl.__file__).parent), quiet=1)
    compileall.compile_dir(str(Path(__file__).parent), quiet=1, maxlevels=0)
