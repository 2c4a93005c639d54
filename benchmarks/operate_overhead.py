"""Operating overhead: serving throughput with Prometheus metrics and INFO logging on vs off.

Two PipelinesServers serve the same tiny pipeline (so the overhead per request is as visible as
it can be) in one process: one with ``metrics=True`` and the ``chariots`` loggers writing JSON
lines at INFO (to /dev/null), one with ``metrics=False`` and logging at WARNING. Both get the
same calls in alternating rounds, (1) through the WSGI app directly (no network: the worst
case for the ratio) and (2) over HTTP on a threaded werkzeug server with a kept-alive
connection. Every request of both carries a request id (that part is always on).

Goal: the "off" throughput at most 1.1x the "on" one.
Run: ``python benchmarks/operate_overhead.py [--requests 2000] [--rounds 5]``. Figures are printed,
nothing asserted.
"""
from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from chariots import Pipeline, _logging  # noqa: E402
from chariots.nodes import Node  # noqa: E402
from chariots.pipelines import PipelinesServer  # noqa: E402
from chariots.pipelines.ops import BaseOp  # noqa: E402

BODY = json.dumps({"pipeline_input": 41}).encode()
ROUTE = "/pipelines/add_one/main"


class AddOne(BaseOp):
    def execute(self, number):
        return number + 1


def _app(name: str, metrics: bool) -> PipelinesServer:
    pipeline = Pipeline([Node(AddOne(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")],
                        "add_one")
    return PipelinesServer([pipeline], metrics=metrics, import_name=name)


def _set_logging(on: bool, handler: logging.Handler) -> None:
    logger = logging.getLogger("chariots")
    logger.setLevel(logging.INFO if on else logging.WARNING)
    handler.setLevel(logging.INFO if on else logging.WARNING)


def _wsgi_round(app: PipelinesServer, requests: int) -> float:
    client = app.test_client()
    start = time.perf_counter()
    for _ in range(requests):
        answer = client.post(ROUTE, data=BODY, content_type="application/json")
        assert answer.status_code == 200
    return requests / (time.perf_counter() - start)


def _http_round(port: int, requests: int) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    start = time.perf_counter()
    for _ in range(requests):
        connection.request("POST", ROUTE, BODY, {"Content-Type": "application/json"})
        answer = connection.getresponse()
        answer.read()
        assert answer.status == 200
    connection.close()
    return requests / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per round and server")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    handler = _logging.configure("json")
    handler.setStream(open(os.devnull, "w"))  # noqa: SIM115 - lives as long as the benchmark
    apps = {"on": _app("on", metrics=True), "off": _app("off", metrics=False)}

    import threading

    from werkzeug.serving import make_server

    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access line per request, on or off

    servers = {}
    for name, app in apps.items():
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers[name] = server

    results = {("wsgi", "on"): [], ("wsgi", "off"): [], ("http", "on"): [], ("http", "off"): []}
    for name in ("on", "off"):  # warm up
        _set_logging(name == "on", handler)
        _wsgi_round(apps[name], 200)
    for _ in range(args.rounds):
        for name in ("on", "off"):
            _set_logging(name == "on", handler)
            results[("wsgi", name)].append(_wsgi_round(apps[name], args.requests))
            results[("http", name)].append(_http_round(servers[name].server_port, args.requests // 2))
    for server in servers.values():
        server.shutdown()

    print(f"serving throughput, metrics + INFO logging on vs off ({args.rounds} alternating rounds, best round)")
    print(f"{'transport':<10} {'on (req/s)':>12} {'off (req/s)':>12} {'off/on':>8}")
    for transport in ("wsgi", "http"):
        on, off = max(results[(transport, "on")]), max(results[(transport, "off")])
        print(f"{transport:<10} {on:>12.0f} {off:>12.0f} {off / on:>7.3f}x")
    print("goal: off/on <= 1.1x")


if __name__ == "__main__":
    main()
