"""Serving speed: Chariots with and without adaptive batching vs a bare Flask route, under wrk.

Two models (see ``benchmarks/_serving_apps.py``): ``forest``, a RandomForest of 200 trees on iris,
and ``iris``, the docs' PCA + logistic regression pipeline; the same fitted estimators in every
app. For each model, in one run, on 127.0.0.1, under gunicorn with 2 worker processes:

- ``bare sync``: a plain Flask route, gunicorn's sync workers;
- ``bare threaded``: the same route, gthread workers of 32 threads, each process on its own
  listening socket (``--reuse-port``, so keep-alive connections spread over both; the best of the
  two bare routes, by requests per second at each concurrency, is the baseline);
- ``chariots``: a PipelinesServer, as ``chariots pipelines`` serves an unbatched pipeline;
- ``batched``: the same with ``Pipeline(..., batching=Batching())``, with the worker class and
  threads ``chariots pipelines`` chooses for a batched pipeline;
- ``empty``: a Flask route that reads the call and does no work (the ceiling), threaded as above.

The load generator is wrk (``apt-get install wrk``), one thread, keep-alive connections, a Lua
script POSTing one row per call, at 1, 8, 32 and 64 connections. The sides are interleaved: each
round runs every side once at a concurrency, and the figures are the medians over the rounds.
Errors count non-2xx answers and socket errors. The load average is printed before and after:
the machine is shared, rerun when it is high.

Then jobs per second through RQWorkerPool vs bare RQ jobs calling the same function (needs
Redis; set CHARIOTS_TEST_REDIS_URL, default redis://127.0.0.1:6379/15, which is flushed).

Goals (issue 21): at 32 connections on the forest, batched >= 8x the best bare route's req/s with
0 errors; at 1 connection its p50 <= 1.1x the bare route's; on iris, batched >= 1.2x the bare
route at 32 connections and >= 1.0x at every concurrency.

Run from the repository root: ``python -m benchmarks.serving [--seconds 4] [--rounds 3]``.
Figures are printed, nothing asserted.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Tuple

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ROUTE = "/pipelines/pred/main"
BODY = json.dumps({"pipeline_input": [[5.1, 3.5, 1.4, 0.2]]})
LUA = f"""wrk.method = "POST"
wrk.body = '{BODY}'
wrk.headers["Content-Type"] = "application/json"
"""
CONNECTIONS = (1, 8, 32, 64)
WORKERS = 2
BARE_THREADS = 32


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Side:
    """One app under gunicorn on a free port."""

    def __init__(self, label: str, factory: str, workers: int, threads: int, worker_class: str,
                 reuse_port: bool = False, code: Optional[str] = None):
        self.label, self.factory = label, factory
        self.code = code  # another release's package, imported before this checkout's (--before)
        self.workers, self.threads, self.worker_class = workers, threads, worker_class
        self.reuse_port = reuse_port
        self.port = _free_port()
        self.process: Optional[subprocess.Popen] = None

    def start(self, log) -> None:
        # the servers' output goes to a log file (scikit-learn warns at every tree when threads share a forest)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
             "--threads", str(self.threads), "--worker-class", self.worker_class, "--log-level", "warning",
             *(["--reuse-port"] if self.reuse_port else []), f"benchmarks._serving_apps:{self.factory}"],
            cwd=ROOT, env=dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [self.code, ROOT]))),
            start_new_session=True, stdout=log, stderr=log,
        )

    def wait(self) -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                connection.request("POST", ROUTE, BODY, {"Content-Type": "application/json"})
                if connection.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"{self.label} did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    @property
    def setting(self) -> str:
        return f"{self.workers}x{self.threads} {self.worker_class}" + (" rp" if self.reuse_port else "")


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 6e4}


def _millis(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * _UNITS[unit]


def wrk(port: int, connections: int, seconds: float, script: str) -> Dict[str, float]:
    """One wrk run: req/s, p50 and p99 (ms), errors (non-2xx answers and socket errors)."""
    run = subprocess.run(
        ["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "30s", "-s",
         script, f"http://127.0.0.1:{port}{ROUTE}"], capture_output=True, text=True,
    )
    if run.returncode != 0:
        raise RuntimeError(f"wrk failed: {run.stdout}{run.stderr}")
    out = run.stdout
    errors = sum(int(n) for n in re.findall(r"Non-2xx or 3xx responses: (\d+)", out))
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if socket_errors:
        errors += sum(int(n) for n in socket_errors.groups())
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _millis(re.search(r"^\s*50%\s+(\S+)", out, re.M).group(1)),
        "p99": _millis(re.search(r"^\s*99%\s+(\S+)", out, re.M).group(1)),
        "errors": errors,
    }


def _median_run(runs: List[Dict[str, float]]) -> Dict[str, float]:
    return {
        "rps": statistics.median(run["rps"] for run in runs),
        "p50": statistics.median(run["p50"] for run in runs),
        "p99": statistics.median(run["p99"] for run in runs),
        "errors": sum(run["errors"] for run in runs),
    }


def _load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def _row(count: int, label: str, setting: str, result: Dict[str, float], base: Dict[str, float]) -> str:
    return (f"  {count:>5} {label:<14} {setting:<15} {result['rps']:>8.0f} {result['p50']:>8.2f} {result['p99']:>8.2f} "
            f"{result['errors']:>6.0f} {result['rps'] / base['rps']:>7.2f}x {result['p50'] / base['p50']:>6.2f}x")


def export(ref: str, directory: str) -> str:
    """The ``chariots`` package of commit ``ref``, extracted under ``directory``."""
    os.makedirs(directory, exist_ok=True)
    archive = subprocess.run(["git", "-C", ROOT, "archive", ref, "chariots"], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", directory], input=archive, check=True)
    return directory


#: the commit an earlier release's chariots side runs (--before), exported once
BEFORE: Dict[str, str] = {}


def sides_for(model: str) -> List[Side]:
    from benchmarks._serving_apps import _trained
    from chariots._serve import serving_settings

    port = _free_port()  # what matters is that one is given (reuse_port needs a fixed port)
    batched = serving_settings([_trained(model, batching=True)[0]], workers=WORKERS, port=port)
    plain = serving_settings([_trained(model)[0]], workers=WORKERS, port=port)
    return [
        Side("bare sync", f"bare_app({model!r})", WORKERS, 1, "sync"),
        Side("bare threaded", f"bare_app({model!r})", WORKERS, BARE_THREADS, "gthread", reuse_port=True),
        Side("chariots", f"chariots_app({model!r}, batching=False)", plain["workers"], plain["threads"],
             plain["worker_class"], plain["reuse_port"]),
        Side("batched", f"chariots_app({model!r}, batching=True)", batched["workers"], batched["threads"],
             batched["worker_class"], batched["reuse_port"]),
    ] + [Side(f"chariots@{ref[:7]}", f"chariots_app({model!r}, batching=False)", plain["workers"], plain["threads"],
              plain["worker_class"], plain["reuse_port"], code=code) for ref, code in BEFORE.items()]


def bench_http(models: List[str], connections: List[int], seconds: float, rounds: int) -> None:
    if shutil.which("wrk") is None:
        print("http: skipped, wrk is not installed (apt-get install wrk)")
        return
    sides = {model: sides_for(model) for model in models}
    empty = Side("empty", "empty_app()", WORKERS, BARE_THREADS, "gthread", reuse_port=True)
    everything = [empty] + [side for model_sides in sides.values() for side in model_sides]
    folder = tempfile.mkdtemp()
    script = os.path.join(folder, "post.lua")
    with open(script, "w") as file:
        file.write(LUA)
    log = open(os.path.join(folder, "servers.log"), "w")
    for side in everything:
        side.start(log)
    try:
        for side in everything:
            side.wait()
        print(f"load average before: {_load_average()} ({os.cpu_count()} cores)")
        ceiling = {}
        for count in connections:
            ceiling[count] = _median_run([wrk(empty.port, count, seconds, script) for _ in range(rounds)])
        for model in models:
            print(f"\n{model}: gunicorn {WORKERS} workers, wrk 1 thread, {rounds} interleaved round(s) of "
                  f"{seconds:g} s, medians")
            print(f"  {'conns':>5} {'side':<14} {'setting':<15} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6}"
                  f" {'vs bare':>8} {'p50 vs':>7}")
            for count in connections:
                runs: Dict[str, List[Dict[str, float]]] = {side.label: [] for side in sides[model]}
                for _ in range(rounds):
                    for side in sides[model]:
                        runs[side.label].append(wrk(side.port, count, seconds, script))
                results = {label: _median_run(side_runs) for label, side_runs in runs.items()}
                bare = max(("bare sync", "bare threaded"), key=lambda label: results[label]["rps"])
                base = results[bare]
                for side in sides[model]:
                    print(_row(count, side.label, side.setting, results[side.label], base))
                print(_row(count, "empty", empty.setting, ceiling[count], base) + f"   (baseline: {bare})")
        print(f"\nload average after: {_load_average()}")
    finally:
        for side in everything:
            side.stop()
        log.close()
        shutil.rmtree(folder, ignore_errors=True)


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


def _numbers(text: str) -> Tuple[int, ...]:
    return tuple(int(part) for part in text.split(","))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=4, help="length of one wrk run")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per concurrency")
    parser.add_argument("--models", default="forest,iris", help="comma-separated: forest, iris")
    parser.add_argument("--connections", type=_numbers, default=CONNECTIONS, help="e.g. 1,8,32,64")
    parser.add_argument("--jobs", type=int, default=300, help="jobs of the RQ comparison (0: skip it)")
    parser.add_argument("--before", default=None,
                        help="a commit whose chariots side runs beside this checkout's (the serving house: 1e41368)")
    arguments = parser.parse_args()
    sys.path.insert(0, ROOT)
    if arguments.before:
        BEFORE[arguments.before] = export(arguments.before, tempfile.mkdtemp(prefix="chariots-before-"))
    bench_http(arguments.models.split(","), list(arguments.connections), arguments.seconds, arguments.rounds)
    if arguments.jobs:
        bench_jobs(arguments.jobs)
