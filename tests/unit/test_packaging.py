"""The wheel carries profiles/ and manifests/: build it, install it into a fresh virtual environment, run it.

The wheel is built without build isolation (hatchling comes from the test extra). The venv does not see the
interpreter's site-packages: the wheel and its runtime dependencies, pinned by ``.ci/constraints.txt``, are
installed into it by pip (from pip's cache when warm, else from PyPI), exactly as a user's ``pip install`` would.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


def _run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    proc = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False, env=env)
    assert proc.returncode == 0, f"{' '.join(map(str, args))} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.mark.slow
def test_wheel_installs_and_runs_without_the_checkout(tmp_path: Path) -> None:
    dist = tmp_path / "dist"
    _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", dist, ROOT, cwd=tmp_path)
    wheels = list(dist.glob("meshctl-*.whl"))
    assert len(wheels) == 1

    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=False, with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    _run(python, "-m", "pip", "install", "-q", "-c", ROOT / ".ci" / "constraints.txt", wheels[0], cwd=tmp_path)
    # nothing leaks in from the interpreter that runs the tests: its site-packages are not on the venv's path
    paths = _run(python, "-c", "import sys; print('\\n'.join(sys.path))", cwd=tmp_path).stdout.splitlines()
    assert not [p for p in paths if p.endswith("site-packages") and not p.startswith(str(env_dir))], paths

    where = _run(
        python,
        "-c",
        "import meshctl, meshctl.config.resources as r; print(meshctl.__file__); print(r.bundled_root())",
        cwd=tmp_path,
    ).stdout.splitlines()
    assert where[0].startswith(str(env_dir)), "meshctl was imported from outside the fresh environment"
    assert where[1].endswith("meshctl/_bundled")

    meshctl = env_dir / "bin" / "meshctl"
    listed = _run(meshctl, "profile", "list", cwd=tmp_path).stdout.splitlines()
    assert listed == sorted(p.stem for p in (ROOT / "profiles").glob("*.yaml"))
    dumped = yaml.safe_load(_run(meshctl, "profile", "dump", "demo", cwd=tmp_path).stdout)
    assert dumped["spec"]["profile"] == "demo"
    assert dumped["spec"]["addonComponents"]["prometheus"] == {"enabled": True}
    # the value layers and the schema travel too
    _run(
        meshctl,
        "profile",
        "dump",
        "--set",
        "values.global.platform=k3s",
        "--set",
        "compatibilityVersion=1.25",
        cwd=tmp_path,
    )
    _run(meshctl, "profile", "schema", cwd=tmp_path)

    # and the templates: the wheel renders what the checkout renders (add-ons and injection files included)
    generated = _run(meshctl, "manifest", "generate", "--set", "profile=demo", cwd=tmp_path).stdout
    from_checkout = _run(sys.executable, "-m", "meshctl", "manifest", "generate", "--set", "profile=demo", cwd=ROOT)
    assert generated == from_checkout.stdout
    assert len([d for d in yaml.safe_load_all(generated) if d]) == 65
