"""`python -m tests.apiserver --port 0 --kubeconfig PATH [--latency 10ms] [--state FILE]`: serve in the foreground."""

from __future__ import annotations

import argparse
import re
import signal
import sys
import threading

from tests.apiserver.server import ApiServer


def parse_duration(text: str) -> float:
    """`10ms`, `1.5s`, `2m` or a plain number of seconds."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s|m)?\s*", text)
    if match is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use e.g. 10ms, 1.5s, 2m)")
    value = float(match.group(1))
    return value * {"ms": 0.001, "s": 1.0, "m": 60.0, None: 1.0}[match.group(2)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.apiserver", description=__doc__)
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0: a free one)")
    parser.add_argument("--kubeconfig", required=True, help="where to write the kubeconfig (context 'test')")
    parser.add_argument("--latency", type=parse_duration, default=0.0, help="latency added to every request")
    parser.add_argument("--state", help="state file: loaded at start if present, written at exit")
    parser.add_argument("--plain-http", action="store_true", help="serve plain HTTP instead of HTTPS")
    parser.add_argument("--crd-establish-delay", type=parse_duration, default=0.5)
    parser.add_argument("--namespace-delete-delay", type=parse_duration, default=1.0)
    parser.add_argument("--rollout-delay", type=parse_duration, default=1.0)
    parser.add_argument("--create-pods", action="store_true", help="controllers create pods for workloads")
    args = parser.parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server = ApiServer(
        port=args.port,
        tls=not args.plain_http,
        latency=args.latency,
        state_file=args.state,
        kubeconfig_path=args.kubeconfig,
        crd_establish_delay=args.crd_establish_delay,
        namespace_delete_delay=args.namespace_delete_delay,
        rollout_delay=args.rollout_delay,
        load_balancer_delay=args.rollout_delay,
        create_pods=args.create_pods,
    )
    with server:
        print(f"serving {server.url} (kubeconfig {server.kubeconfig_path}, context test)", flush=True)
        stop.wait()
    print("stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
