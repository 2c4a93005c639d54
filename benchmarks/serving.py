"""Serving speed: the iris predict pipeline in a PipelinesServer vs a bare Flask route.

Both apps run under the same gunicorn configuration on 127.0.0.1 and get the same load, in
the same run: requests per second and p50/p99 latency at 1 and 16 concurrent clients. Then
jobs per second through RQWorkerPool vs bare RQ jobs calling the same function (needs Redis;
set CHARIOTS_TEST_REDIS_URL, default redis://127.0.0.1:6379/15, which is flushed).

Goal: >= 0.8x the bare route's throughput and <= 1.25x its p50.
Run: ``python benchmarks/serving.py [--seconds 5]``. Figures are printed, nothing asserted.
"""
from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BODY = json.dumps({"pipeline_input": [[1, 2, 3, 4]]}).encode()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(factory: str, port: int, workers: int) -> subprocess.Popen:
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", str(workers),
         "--threads", "4", "--log-level", "warning", f"benchmarks._serving_apps:{factory}()"],
        cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT),
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            connection.request("POST", "/pipelines/pred/main", BODY, {"Content-Type": "application/json"})
            if connection.getresponse().status == 200:
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"{factory} did not start")


def _client(port: int, seconds: float, queue) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port)
    latencies = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        connection.request("POST", "/pipelines/pred/main", BODY, {"Content-Type": "application/json"})
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise RuntimeError(f"status {response.status}")
        latencies.append(time.perf_counter() - start)
    queue.put(latencies)


def _load(port: int, clients: int, seconds: float) -> dict:
    queue = multiprocessing.Queue()
    processes = [multiprocessing.Process(target=_client, args=(port, seconds, queue)) for _ in range(clients)]
    for process in processes:
        process.start()
    latencies = [latency for _ in processes for latency in queue.get()]
    for process in processes:
        process.join()
    latencies.sort()
    return {
        "rps": len(latencies) / seconds,
        "p50": statistics.median(latencies) * 1e3,
        "p99": latencies[int(len(latencies) * 0.99) - 1] * 1e3,
    }


def bench_http(seconds: float) -> None:
    ports = {"chariots": _free_port(), "bare": _free_port()}
    servers = {name: _start(f"{name}_app", port, workers=2) for name, port in ports.items()}
    try:
        print("serving the iris predict pipeline (gunicorn, 2 workers x 4 threads, python load generator)")
        for clients in (1, 16):
            results = {}
            for _ in range(2):  # alternate the two apps so both see the same machine
                for name, port in ports.items():
                    run = _load(port, clients, seconds / 2)
                    previous = results.get(name)
                    results[name] = run if previous is None or run["rps"] > previous["rps"] else previous
            chariots, bare = results["chariots"], results["bare"]
            print(f"  {clients:>2} client(s): chariots {chariots['rps']:7.0f} req/s p50 {chariots['p50']:6.2f} ms "
                  f"p99 {chariots['p99']:6.2f} ms | bare {bare['rps']:7.0f} req/s p50 {bare['p50']:6.2f} ms "
                  f"p99 {bare['p99']:6.2f} ms | throughput ratio {chariots['rps'] / bare['rps']:.2f}x "
                  f"(goal >= 0.8), p50 ratio {chariots['p50'] / bare['p50']:.2f}x (goal <= 1.25)")
    finally:
        for server in servers.values():
            server.terminate()
            server.wait(15)


def bench_jobs(jobs: int) -> None:
    try:
        from redis import Redis
        from rq import Queue
    except ImportError:
        print("jobs: skipped (pip install chariots[workers])")
        return
    from chariots.pipelines import PipelinesServer
    from chariots.workers import RQWorkerPool
    from tests.workers.worker_ops import is_odd_pipeline

    redis = Redis.from_url(os.environ.get("CHARIOTS_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"))
    try:
        redis.ping()
    except Exception as error:  # a benchmark, not a test: say why and go on
        print(f"jobs: skipped, Redis unreachable ({error})")
        return
    redis.flushdb()
    pool = RQWorkerPool(redis=redis)
    pipeline = is_odd_pipeline()
    app = PipelinesServer([pipeline], worker_pool=pool, import_name="bench_jobs")
    start = time.perf_counter()
    for number in range(jobs):
        pool.execute_pipeline_async(pipeline, number, app)
    pool.spawn_worker(burst=True).wait()
    chariots_rate = jobs / (time.perf_counter() - start)

    queue = Queue("bare", connection=redis)
    start = time.perf_counter()
    for number in range(jobs):
        queue.enqueue("benchmarks._jobs.is_odd", number)
    subprocess.run([sys.executable, "-c", "from redis import Redis; from rq import Queue, Worker; "
                    f"r = Redis.from_url({_url(redis)!r}); "
                    "Worker([Queue('bare', connection=r)], connection=r).work(burst=True)"],
                   cwd=ROOT, env=dict(os.environ, PYTHONPATH=ROOT), check=True, capture_output=True)
    bare_rate = jobs / (time.perf_counter() - start)
    redis.flushdb()
    print(f"jobs ({jobs}, one burst worker, enqueue to last result): chariots {chariots_rate:6.1f} jobs/s | "
          f"bare RQ {bare_rate:6.1f} jobs/s | ratio {chariots_rate / bare_rate:.2f}x")


def _url(redis) -> str:
    kwargs = redis.connection_pool.connection_kwargs
    return f"redis://{kwargs.get('host', '127.0.0.1')}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="load time per app and concurrency")
    parser.add_argument("--jobs", type=int, default=300)
    arguments = parser.parse_args()
    sys.path.insert(0, ROOT)
    bench_http(arguments.seconds)
    bench_jobs(arguments.jobs)
