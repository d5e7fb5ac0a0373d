"""`python -m tests.cluster --kubeconfig PATH --nodes N`: a control plane in the foreground that the real kubectl
uses, and that SIGTERM stops without leaving a process, a port or a file behind."""

from __future__ import annotations

import os
import pathlib
import re
import signal
import socket
import subprocess
import sys

import pytest

from tests.cluster import build, rest

pytestmark = pytest.mark.realcluster


def _children(pid: int) -> list[int]:
    found = []
    for stat in pathlib.Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_command_line_serves_kubectl_and_sigterm_leaves_nothing_behind(
    cluster_binaries: build.Binaries, tmp_path: pathlib.Path
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.cluster", "--kubeconfig", str(kubeconfig), "--nodes", "1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stderr is not None
        line = proc.stdout.readline()  # blocks until the cluster is ready (or the command died)
        match = re.match(r"serving https://127\.0\.0\.1:(\d+) \(kubeconfig (\S+), context test\)", line)
        assert match, (
            f"unexpected first line {line!r}; stderr:\n{proc.stderr.read() if proc.poll() is not None else ''}"
        )
        port = int(match.group(1))
        assert match.group(2) == str(kubeconfig)
        children = _children(proc.pid)
        names = sorted(pathlib.Path(f"/proc/{pid}/comm").read_text().strip() for pid in children)
        assert names == ["etcd", "kube-apiserver", "kube-controller", "kube-scheduler", "kwok"]

        env = dict(os.environ, KUBECONFIG=str(kubeconfig), HOME=str(tmp_path))
        nodes = subprocess.run(
            ["kubectl", "get", "nodes", "--no-headers"], env=env, capture_output=True, text=True, timeout=60
        )
        assert nodes.returncode == 0, nodes.stderr
        assert [row.split()[:2] for row in nodes.stdout.splitlines()] == [["kwok-node-0", "Ready"]]

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        progress = proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
    assert "stopped" in progress
    workdir = re.search(r"data and logs in (\S+)", progress)
    assert workdir
    assert not pathlib.Path(workdir.group(1)).exists()
    rest.poll(lambda: not any(_alive(pid) for pid in children), 10, "the components to be gone")
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), timeout=2):
        pass
