"""Hot reload across processes: how fast a load reaches every gunicorn worker, and what following
generations costs a request.

1. A pipelines server under gunicorn (4 workers) over an op store process (SQLite): 20 times,
   train, save and load; the time from the load's answer to the moment the last worker reports
   the new generation in its health check (sampled by polling, so an upper bound). Median, max.
2. The per-request cost of following generations: one predicting pipeline served in process
   (WSGI, no network) by a server that follows the op store's generations (the request-path
   check plus the 1 s poll thread) and by one that does not, in alternating rounds.
   Goal: at most 1.05x.

Run from the repository root: ``python -m benchmarks.fleet_serving``.
"""
from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path

import requests

LOADS = 20
ROUNDS = 7
CALLS = 1500


def reload_latency() -> list:
    from tests.fleet.conftest import Fleet

    fleet = Fleet(Path(tempfile.mkdtemp())).start_op_store().start_pipelines()
    try:
        workers = set(fleet.worker_pids())
        lags = []
        for attempt in range(LOADS):
            requests.post(f"{fleet.url}/pipelines/train/main", json={"pipeline_input": [float(attempt), 1.0]},
                          timeout=30).raise_for_status()
            requests.post(f"{fleet.url}/pipelines/train/save", timeout=30).raise_for_status()
            load = requests.post(f"{fleet.url}/pipelines/pred/load", timeout=30)
            loaded_at = time.monotonic()
            number = load.json()["generation"]
            seen = {}
            while not workers <= set(seen):
                health = requests.get(f"{fleet.url}/pipelines/pred/health_check", timeout=10).json()
                if health["generation"] >= number:
                    seen.setdefault(health["process"], time.monotonic())
            lags.append(max(seen.values()) - loaded_at)
        return lags
    finally:
        fleet.stop_all()


def request_cost() -> tuple:
    from chariots.op_store import EmbeddedOpStoreClient
    from chariots.pipelines import PipelinesServer
    from tests.fleet.fleet_app import build_pipelines

    path = tempfile.mkdtemp()
    servers = {}
    for follow in (True, False):
        server = PipelinesServer(build_pipelines(), op_store_client=EmbeddedOpStoreClient(path),
                                 follow_generations=follow, metrics=False)
        servers[follow] = server.test_client()
    servers[True].post("/pipelines/train/main", json={"pipeline_input": [1.0, 2.0]})
    servers[True].post("/pipelines/train/save")
    for client in servers.values():
        assert client.post("/pipelines/pred/load").status_code == 200
    times = {True: [], False: []}
    for _ in range(ROUNDS):
        for follow, client in servers.items():
            started = time.perf_counter()
            for _ in range(CALLS):
                client.post("/pipelines/pred/main", json={"pipeline_input": [3.0]})
            times[follow].append((time.perf_counter() - started) / CALLS)
    return statistics.median(times[True]), statistics.median(times[False])


def main() -> None:
    lags = reload_latency()
    print(f"load -> last of 4 gunicorn workers on the new generation, over {LOADS} loads: "
          f"median {statistics.median(lags):.3f} s, max {max(lags):.3f} s (poll interval 1 s)")
    following, alone = request_cost()
    print(f"per request, in process: following generations {following * 1e6:.1f} us, without "
          f"{alone * 1e6:.1f} us: ratio {following / alone:.3f}x (goal <= 1.05x)")


if __name__ == "__main__":
    main()
