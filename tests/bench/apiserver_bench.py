"""Throughput of the test API server with 16 concurrent keep-alive clients (HTTPS, bearer token).

    python -m tests.bench.apiserver_bench [--runs 5] [--seconds 3] [--clients 16] [--plain-http] [--quick]
        [--out bench-results.json]

Measures GET of one object by name, LIST of 100 objects, and server-side apply of a Deployment (alternating
between two replica counts, so every apply writes), and prints the median requests/s of several runs. The clients
are threads with one persistent `http.client` connection each, in the same process as the server (as in the test
suite), so the figures include the client's cost on the same two cores. The figures are also merged into
``bench-results.json`` (``results.py``) under ``apiserver``; the target is ≥ 500 GET/s.
"""

from __future__ import annotations

import argparse
import http.client
import json
import ssl
import statistics
import sys
import threading
import time
from collections.abc import Callable

from tests.apiserver import ApiServer
from tests.bench import results

MODULE = "tests.bench.apiserver_bench"
GET_TARGET = 500.0

Request = Callable[[int, int], tuple[str, str, bytes | None, dict[str, str]]]


def _deployment(index: int, replicas: int) -> bytes:
    return json.dumps(
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": f"bench-{index}", "namespace": "bench", "labels": {"app": "bench"}},
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": {"app": "bench"}},
                "template": {
                    "metadata": {"labels": {"app": "bench"}},
                    "spec": {
                        "containers": [
                            {
                                "name": "app",
                                "image": "docker.io/istio/pilot:1.30.3",
                                "ports": [{"containerPort": 8080}],
                                "env": [{"name": "A", "value": "1"}],
                            }
                        ]
                    },
                },
            },
        }
    ).encode()


def _measure(api: ApiServer, clients: int, seconds: float, request: Request) -> float:
    context: ssl.SSLContext | None = None
    if api.tls:
        context = ssl.create_default_context(cafile=str(api.ca_path))
    headers = {"Authorization": f"Bearer {api.token}", "Accept": "application/json"}
    counts = [0] * clients
    failures: list[str] = []
    start = threading.Barrier(clients + 1)
    stop = threading.Event()

    def client(index: int) -> None:
        if context is not None:
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(api.host, api.port, context=context)
        else:
            conn = http.client.HTTPConnection(api.host, api.port)
        try:
            start.wait()
            n = 0
            while not stop.is_set():
                method, path, body, extra = request(index, n)
                conn.request(method, path, body=body, headers={**headers, **extra})
                response = conn.getresponse()
                response.read()
                if response.status >= 300:
                    failures.append(f"{method} {path}: {response.status}")
                    return
                n += 1
            counts[index] = n
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    start.wait()
    began = time.perf_counter()
    time.sleep(seconds)  # the measurement window itself
    stop.set()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if failures:
        raise RuntimeError(f"requests failed: {failures[:3]}")
    return sum(counts) / elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--plain-http", action="store_true")
    results.add_arguments(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.runs, args.seconds = min(args.runs, 2), min(args.seconds, 1.0)
    started, load_before = time.monotonic(), results.load()

    with ApiServer(tls=not args.plain_http) as api:
        api.objects.create({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}})
        for i in range(100):
            api.objects.create(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": f"cm-{i:03}", "namespace": "bench", "labels": {"app": "bench"}},
                    "data": {"key": "value" * 10},
                }
            )
        api.controllers.disable("Deployment")

        def get(index: int, n: int) -> tuple[str, str, bytes | None, dict[str, str]]:
            return "GET", "/api/v1/namespaces/bench/configmaps/cm-007", None, {}

        def list_(index: int, n: int) -> tuple[str, str, bytes | None, dict[str, str]]:
            return "GET", "/api/v1/namespaces/bench/configmaps", None, {}

        def ssa(index: int, n: int) -> tuple[str, str, bytes | None, dict[str, str]]:
            path = f"/apis/apps/v1/namespaces/bench/deployments/bench-{index}?fieldManager=bench&force=true"
            return "PATCH", path, _deployment(index, 1 + n % 2), {"Content-Type": "application/apply-patch+yaml"}

        cases: dict[str, Request] = {"GET by name": get, "LIST of 100 objects": list_, "SSA of a Deployment": ssa}
        results_: dict[str, list[float]] = {name: [] for name in cases}
        for _ in range(args.runs):
            for name, request in cases.items():
                results_[name].append(_measure(api, args.clients, args.seconds, request))
            api.requests.clear()

    scheme = "HTTP" if args.plain_http else "HTTPS"
    print(f"{args.clients} concurrent keep-alive clients, {scheme}, {args.runs} runs of {args.seconds:g} s")
    for name, values in results_.items():
        runs = ", ".join(f"{v:.0f}" for v in values)
        print(f"{name:22} median {statistics.median(values):7.0f} req/s   (runs: {runs})")
    figures = {
        name: results.figure(
            MODULE,
            statistics.median(values),
            "req/s",
            limit=GET_TARGET if name == "GET by name" else None,
            lower_is_better=False,
            runs=values,
            clients=args.clients,
            seconds=args.seconds,
            scheme=scheme,
        )
        for name, values in results_.items()
    }
    results.merge(
        args.out,
        MODULE,
        results.command(MODULE, argv),
        {"apiserver": figures},
        started=started,
        load_before=load_before,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
