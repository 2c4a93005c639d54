"""Batched pipelines end to end: ``chariots pipelines`` under gunicorn with threads, real HTTP."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Dict, List, Tuple

import pytest
import requests

from chariots.op_store import OpStoreClient
from chariots.pipelines import PipelinesServer
from chariots.testing import TestPipelinesClient
from chariots.workers import JobStatus
from tests.batching.batching_ops import UNLUCKY, shift_pipeline
from tests.conftest import HOST, free_port, stop_process_group
from tests.fleet.conftest import Fleet
from tests.fleet.test_hot_reload import _processes_at
from tests.workers.conftest import wait_for, worker_pool  # noqa: F401 (a fixture)

PIPELINES = "tests.batching.batching_ops:pipelines"
REPO_ROOT = Path(__file__).resolve().parents[2]


def _metric(text: str, name: str, pipeline: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(f'{name}{{pipeline="{pipeline}"}}'):
            total += float(line.rsplit(" ", 1)[1])
    return total


@pytest.fixture
def served(request, tmp_path):
    """``chariots pipelines`` serving the batching test pipelines (one process unless the test is
    parametrized with another number, threads as chosen)."""
    pytest.importorskip("gunicorn")
    workers = getattr(request, "param", 1)
    port = free_port()
    log = tmp_path / "pipelines.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "chariots.cli", "pipelines", "-p", PIPELINES, "--host", HOST, "--port", str(port),
             "--workers", str(workers)],
            cwd=REPO_ROOT, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
        )
    url = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(url + "/health_check", timeout=2)
                break
            except requests.RequestException:
                assert process.poll() is None, log.read_text()
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield url, log
    finally:
        stop_process_group(process)


def post_all(url: str, bodies: List[Any]) -> List[requests.Response]:
    """POSTs every body to ``/pipelines/shift/main`` from its own thread, all at once."""
    answers: List[Any] = [None] * len(bodies)
    barrier = threading.Barrier(len(bodies))

    def post(index: int) -> None:
        with requests.Session() as session:
            barrier.wait()
            answers[index] = session.post(f"{url}/pipelines/shift/main", json=bodies[index], timeout=60)

    threads = [threading.Thread(target=post, args=(index,)) for index in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    return answers


def rows_of(call: int) -> List[Dict[str, Any]]:
    return [{"id": call * 10 + row, "x": call + row / 4 + 0.5} for row in range(1 + call % 3)]


def test_the_command_gives_a_batched_pipeline_a_thread_per_row_of_a_batch(served):
    url, log = served
    assert re.search(r"with 1 worker process\(es\) of 64 thread\(s\)", log.read_text())


def _listening_sockets(port: int) -> int:
    """How many sockets listen on 127.0.0.1:``port`` (``/proc/net/tcp``, state 0A)."""
    count = 0
    with open("/proc/net/tcp") as table:
        for line in table.readlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            if state == "0A" and int(local.split(":")[1], 16) == port:
                count += 1
    return count


@pytest.mark.parametrize("served", [2], indirect=True)
def test_each_process_serving_a_batched_pipeline_listens_on_its_own_socket(served):
    # one shared socket lets one process take every keep-alive connection and batch alone
    url, log = served
    port = int(url.rsplit(":", 1)[1])
    deadline = time.monotonic() + 30
    while _listening_sockets(port) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _listening_sockets(port) == 2, log.read_text()
    assert re.search(r"with 2 worker process\(es\) of 64 thread\(s\)", log.read_text())


def test_64_concurrent_calls_over_http_each_get_their_own_answers_bad_ones_their_own_errors(served):
    url, _ = served
    bodies = [{"pipeline_input": rows_of(call)} for call in range(64)]
    bodies[10] = {"pipeline_input": [{"id": 100, "x": "ten"}]}  # breaks the input contract
    bodies[20] = {"pipeline_input": {"id": 200, "x": 20}}  # no list of rows
    bodies[30] = {"pipeline_input": [{"id": 300, "x": 1.0}, {"id": 301, "x": UNLUCKY}]}  # the op raises on it
    answers = post_all(url, bodies)
    for call, answer in enumerate(answers):
        if call == 10:
            assert answer.status_code == 400
            assert answer.json()["error"] == {
                "type": "BadRequestError",
                "message": "the input of pipeline 'shift' does not match its input_schema at "
                           "pipeline_input[0]['x']: 'ten' is not of type 'number' (GET /openapi.json shows the schema)",
            }
        elif call == 20:
            assert answer.status_code == 400
            assert answer.json()["error"]["message"].startswith(
                "pipeline 'shift' is batched: its pipeline_input must be a list of rows (one answer comes back per "
                "row), got dict")
        elif call == 30:
            assert answer.status_code == 500
            error = answer.json()["error"]
            assert (error["type"], error["message"]) == (
                "ValueError", f"row 301 holds the unlucky number {UNLUCKY}; while running node 'slowshift' of "
                              "pipeline 'shift'")
        else:
            assert answer.status_code == 200, answer.text
            rows = bodies[call]["pipeline_input"]
            assert answer.json()["pipeline_output"] == [{"id": row["id"], "y": row["x"] + 1} for row in rows]
    metrics = requests.get(url + "/metrics", timeout=10).text
    runs = _metric(metrics, "chariots_pipeline_batch_calls_count", "shift")
    calls = _metric(metrics, "chariots_pipeline_batch_calls_sum", "shift")
    # the 62 well-formed calls ran in batches (the raising one, again in parts)
    assert calls >= 62 and runs < calls, metrics
    assert _metric(metrics, "chariots_pipeline_batch_rows_sum", "shift") >= sum(
        len(body["pipeline_input"]) for call, body in enumerate(bodies) if call not in (10, 20))


class BatchedFleet(Fleet):
    """An op store and ``chariots pipelines`` (2 processes, threads as the command chooses) serving
    the batching test pipelines."""

    def start_pipelines(self, wait_ready: bool = True) -> "BatchedFleet":
        self._start("pipelines", "pipelines", "-c", str(self.config), "-p", PIPELINES, "--workers", "2")
        self._wait(self.url + "/health_check", "pipelines")
        deadline = time.monotonic() + 30
        while len(self.worker_pids()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        return self


def _post(url: str, route: str, body=None) -> dict:
    answer = requests.post(url + route, json=body, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_during_loads_every_answer_of_a_batched_pipeline_comes_from_one_generation(tmp_path):
    pytest.importorskip("gunicorn")
    fleet = BatchedFleet(tmp_path).start_op_store().start_pipelines()
    try:
        store = OpStoreClient(fleet.op_store_url)
        means: Dict[str, float] = {}

        def retrain(data: List[float]) -> None:
            _post(fleet.url, "/pipelines/train/main", {"pipeline_input": data})
            _post(fleet.url, "/pipelines/train/save")
            number = _post(fleet.url, "/pipelines/pred/load")["generation"]
            generation = store.latest_generation("pred")
            assert generation.number == number
            means[str(generation.versions["shiftmodel"])] = sum(data) / len(data)

        retrain([1.0, 2.0])
        _processes_at(fleet, "pred", 1)  # every process serves the first generation
        stop = threading.Event()
        answers: List[Tuple[List[Dict[str, Any]], Dict[str, Any]]] = []
        errors: List[str] = []

        def predict(client: int) -> None:
            with requests.Session() as session:
                call = 0
                while not stop.is_set():
                    rows = [{"id": client * 100_000 + call * 10 + row, "x": call + row + 0.5}
                            for row in range(1 + call % 3)]
                    answer = session.post(f"{fleet.url}/pipelines/pred/main", json={"pipeline_input": rows}, timeout=30)
                    if answer.status_code == 200:
                        answers.append((rows, answer.json()))
                    else:
                        errors.append(f"{answer.status_code}: {answer.text}")
                    call += 1

        clients = [threading.Thread(target=predict, args=(client,)) for client in range(16)]
        for thread in clients:
            thread.start()
        try:
            for step in range(2, 6):
                time.sleep(0.4)
                retrain([float(step), float(step * 10)])
            _processes_at(fleet, "pred", 5)
        finally:
            stop.set()
            for thread in clients:
                thread.join(30)
        metrics = requests.get(fleet.url + "/metrics", timeout=10).text
    finally:
        fleet.stop_all()
    assert errors == []
    assert len(answers) > 50
    seen = set()
    for rows, body in answers:
        version = body["versions"]["shiftmodel"]
        assert version in means, f"version {version} is none of the loaded generations"
        seen.add(version)
        assert [answer["id"] for answer in body["pipeline_output"]] == [row["id"] for row in rows]
        shifts = {answer["y"] - row["x"] for row, answer in zip(rows, body["pipeline_output"])}
        assert shifts == {means[version]}, "an answer computed by another generation than its versions name"
    assert len(seen) >= 2
    # the answers came from batches (in whichever process scraped, runs held several calls)
    assert _metric(metrics, "chariots_pipeline_batch_calls_count", "pred") < \
        _metric(metrics, "chariots_pipeline_batch_calls_sum", "pred")


def test_a_worker_runs_a_batched_pipelines_call_on_its_own_rows(worker_pool):  # noqa: F811
    pipeline = shift_pipeline("shift")
    client = TestPipelinesClient(PipelinesServer([pipeline], worker_pool=worker_pool, import_name="batched_jobs"))
    rows = [{"id": 1, "x": 1.5}, {"id": 2, "x": 2.5}]
    response = client.call_pipeline(pipeline, rows, use_worker=True)
    assert response.job_status is JobStatus.queued
    worker_pool.spawn_worker()
    done = wait_for(client, response, pipeline)
    assert done.job_status is JobStatus.done
    assert done.value == [{"id": 1, "y": 2.5}, {"id": 2, "y": 3.5}]
