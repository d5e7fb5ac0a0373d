"""`python -m tests.cluster build`: build (or find cached) the control-plane binaries, with progress on stderr.

`python -m tests.cluster --kubeconfig PATH [--nodes N] [--fault-proxy-kubeconfig PATH]`: run a real control plane
in the foreground (prints the URL; stops on SIGINT/SIGTERM, leaving no process, port or file behind).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from tests.cluster import build
from tests.cluster.controlplane import RealCluster
from tests.cluster.faultproxy import FaultProxy


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["build"]:
        return _build(args[1:])
    parser = argparse.ArgumentParser(prog="python -m tests.cluster", description=__doc__)
    parser.add_argument("--kubeconfig", required=True, help="where to write the admin kubeconfig (context 'test')")
    parser.add_argument("--nodes", type=int, default=2, help="number of simulated (KWOK) nodes")
    parser.add_argument("--fault-proxy-kubeconfig", help="also run the fault proxy; its admin kubeconfig goes here")
    parser.add_argument("--keep-workdir", action="store_true", help="keep data and logs (the path is printed)")
    options = parser.parse_args(args)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    try:
        binaries = build.ensure_binaries(build.stderr_progress)
    except build.BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    cluster = RealCluster(
        nodes=options.nodes,
        kubeconfig_path=options.kubeconfig,
        binaries=binaries,
        keep_workdir=options.keep_workdir,
        progress=build.stderr_progress,
    )
    with cluster:
        print(f"serving {cluster.url} (kubeconfig {cluster.kubeconfig_path}, context test)", flush=True)
        print(f"data and logs in {cluster.workdir}", file=sys.stderr, flush=True)
        if options.fault_proxy_kubeconfig:
            with FaultProxy(cluster, kubeconfig_path=options.fault_proxy_kubeconfig) as proxy:
                print(f"fault proxy {proxy.url} (kubeconfig {proxy.kubeconfig_path})", flush=True)
                _serve(cluster, stop)
        else:
            _serve(cluster, stop)
    print("stopped", file=sys.stderr)
    return 0


def _serve(cluster: RealCluster, stop: threading.Event) -> None:
    """Wait for a signal; give up (and stop everything) if a component dies."""
    while not stop.wait(1.0):
        cluster.check()


def _build(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.cluster build", description="build the binaries")
    parser.add_argument("--print-dir", action="store_true", help="print the binaries' directory on stdout")
    options = parser.parse_args(args)
    try:
        binaries = build.ensure_binaries(build.stderr_progress)
    except build.BuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if options.print_dir:
        print(binaries.directory)
    return 0


if __name__ == "__main__":
    sys.exit(main())
