"""Batched pipelines in the pipelines service: concurrent calls in threads of one process, no HTTP."""
from __future__ import annotations

import threading
import time
import uuid
from typing import Any, Dict, List, Tuple

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chariots import _metrics
from chariots.errors import BadRequestError, OpError
from chariots.op_store import EmbeddedOpStoreClient
from chariots.pipelines import Batch, Batching
from chariots.pipelines.callbacks import PipelineCallback
from chariots.serving import PipelinesService
from tests import generative
from tests.batching.batching_ops import UNLUCKY, model_pipelines, shift_pipeline


class Runs(PipelineCallback):
    """Records every run's input, and can hold the first run until ``hold_until()`` is true."""

    def __init__(self):
        self.inputs: List[Any] = []
        self.hold_until = None
        self._lock = threading.Lock()

    def before_execution(self, pipeline, args):
        with self._lock:
            first = not self.inputs
            self.inputs.append(args)
        if first and self.hold_until is not None:
            deadline = time.monotonic() + 30
            while not self.hold_until() and time.monotonic() < deadline:
                time.sleep(0.001)


def call_all(service: PipelinesService, name: str, inputs: List[Any]) -> List[Tuple[Any, Any]]:
    """Calls a pipeline once per input, each from its own thread, all at once: ``(response, error)`` each."""
    results: List[Tuple[Any, Any]] = [(None, None)] * len(inputs)
    barrier = threading.Barrier(len(inputs))

    def call(index: int) -> None:
        barrier.wait()
        try:
            results[index] = (service.call_pipeline(name, inputs[index]), None)
        except Exception as error:  # the test reads it
            results[index] = (None, error)

    threads = [threading.Thread(target=call, args=(index,)) for index in range(len(inputs))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def held_service(name: str, batching: Batching = None) -> Tuple[PipelinesService, Runs]:
    """A service of one batched pipeline, and the callback recording (and able to hold) its runs."""
    runs = Runs()
    service = PipelinesService([shift_pipeline(name, batching, callbacks=[runs])])
    return service, runs


def rows_of(call: int, size: int = 2) -> List[Dict[str, Any]]:
    return [{"id": call * 100 + row, "x": call + 0.5 + row / 10} for row in range(size)]  # never UNLUCKY


def test_64_concurrent_calls_each_get_their_own_answers_from_one_batch():
    name = f"shift_{uuid.uuid4().hex[:8]}"
    service, runs = held_service(name)
    batcher = service._batchers[name]
    runs.hold_until = lambda: batcher.queued_calls == 63
    inputs = [rows_of(call, size=1) for call in range(64)]
    results = call_all(service, name, inputs)
    for call, (response, error) in enumerate(results):
        assert error is None
        assert response.value == [{"id": call * 100, "y": call + 1.5}]
        assert set(response.versions) == {"slowshift"}
    assert sorted(run.calls for run in runs.inputs) == [1, 63]
    assert all(isinstance(run, Batch) for run in runs.inputs)
    registry = _metrics.metrics().registry
    assert registry.get_sample_value("chariots_pipeline_batch_calls_sum", {"pipeline": name}) == 64
    assert registry.get_sample_value("chariots_pipeline_batch_calls_count", {"pipeline": name}) == 2
    assert registry.get_sample_value("chariots_pipeline_batch_rows_bucket", {"pipeline": name, "le": "1.0"}) == 1
    assert registry.get_sample_value("chariots_pipeline_batch_rows_bucket", {"pipeline": name, "le": "32.0"}) == 1
    assert registry.get_sample_value("chariots_pipeline_batch_rows_bucket", {"pipeline": name, "le": "64.0"}) == 2


def test_a_malformed_call_gets_its_own_bad_request_and_never_reaches_the_batch():
    name = f"shift_{uuid.uuid4().hex[:8]}"
    service, runs = held_service(name)
    batcher = service._batchers[name]
    runs.hold_until = lambda: batcher.queued_calls == 14  # 16 calls: the first runs, one is refused
    inputs = [rows_of(call) for call in range(16)]
    inputs[7] = [{"id": 700, "x": "seven"}]
    results = call_all(service, name, inputs)
    for call, (response, error) in enumerate(results):
        if call == 7:
            assert isinstance(error, BadRequestError)
            assert str(error) == (
                f"the input of pipeline {name!r} does not match its input_schema at pipeline_input[0]['x']: "
                "'seven' is not of type 'number' (GET /openapi.json shows the schema)"
            )
        else:
            assert error is None
            assert response.value == [{"id": row["id"], "y": row["x"] + 1} for row in inputs[call]]
    assert sorted(run.calls for run in runs.inputs) == [1, 14]
    assert all(row["id"] != 700 for run in runs.inputs for row in run)


def test_an_op_raising_on_one_rows_value_fails_only_that_call():
    name = f"shift_{uuid.uuid4().hex[:8]}"
    service, runs = held_service(name)
    batcher = service._batchers[name]
    runs.hold_until = lambda: batcher.queued_calls == 11
    inputs = [rows_of(call) for call in range(12)]
    inputs[5] = [{"id": 500, "x": 1}, {"id": 501, "x": UNLUCKY}]
    results = call_all(service, name, inputs)
    for call, (response, error) in enumerate(results):
        if call == 5:
            assert isinstance(error, OpError) and isinstance(error.cause, ValueError)
            assert str(error) == (f"ValueError: row 501 holds the unlucky number {UNLUCKY}; while running node "
                                  f"'slowshift' of pipeline {name!r}")
        else:
            assert error is None, error
            assert response.value == [{"id": row["id"], "y": row["x"] + 1} for row in inputs[call]]
    # the batch of 11 calls failed, then its parts ran again until the bad call ran alone
    assert [run.calls for run in runs.inputs[:2]] == [1, 11]
    assert [run.sizes for run in runs.inputs if 501 in [row["id"] for row in run]][-1] == (2,)
    registry = _metrics.metrics().registry
    assert registry.get_sample_value("chariots_pipeline_runs_total", {"pipeline": name, "outcome": "failed"}) >= 2


def test_an_input_that_is_no_list_of_rows_is_refused_before_the_worker_decision():
    service = PipelinesService([shift_pipeline("shift")])
    with pytest.raises(BadRequestError) as error:
        service.call_pipeline("shift", {"id": 1, "x": 2}, use_worker=True)  # no pool: a list would be a ConfigError
    assert "pipeline 'shift' is batched: its pipeline_input must be a list of rows" in str(error.value)


def test_a_lone_call_runs_at_once_in_the_calling_thread():
    threads = []

    class Where(PipelineCallback):
        def before_execution(self, pipeline, args):
            threads.append(threading.get_ident())

    service = PipelinesService([shift_pipeline("shift", callbacks=[Where()])])
    assert service.call_pipeline("shift", [{"id": 1, "x": 1}]).value == [{"id": 1, "y": 2}]
    assert service.call_pipeline("shift", []).value == []
    assert threads == [threading.get_ident()]


# ---------------------------------------------------------------------------- one generation per batch


class Generations(PipelineCallback):
    """Records, for every run of ``pred``, the model's version before and after it and what it answered."""

    def __init__(self):
        self.runs: List[Tuple[str, str, Any, Any]] = []

    def before_execution(self, pipeline, args):
        self._version = str(pipeline.node_for_name["shiftmodel"].node_version)

    def after_execution(self, pipeline, args, output):
        self.runs.append((self._version, str(pipeline.node_for_name["shiftmodel"].node_version), list(args), output))


def test_during_loads_every_batch_and_every_answer_comes_from_one_generation(tmp_path):
    store = EmbeddedOpStoreClient(str(tmp_path / "store"))
    train, pred = model_pipelines()
    generations = Generations()
    pred.add_callbacks([generations])
    pred.node_for_name["shiftmodel"].op.pause = 0.002
    service = PipelinesService([train, pred], op_store_client=store, poll_interval=0.05)
    service.start()
    means: Dict[str, float] = {}

    def retrain(data: List[float]) -> None:
        service.call_pipeline("train", data)
        service.save_pipeline("train")
        service.load_pipeline("pred")
        means[service.pipeline_versions("pred")["shiftmodel"]] = sum(data) / len(data)

    retrain([1.0, 2.0])
    stop = threading.Event()
    answers: List[Tuple[List[Dict[str, Any]], Any]] = []
    errors: List[BaseException] = []

    def predict(client: int) -> None:
        call = 0
        while not stop.is_set():
            rows = [{"id": client * 10_000 + call * 10 + row, "x": call + row + 0.5} for row in range(1 + call % 3)]
            try:
                answers.append((rows, service.call_pipeline("pred", rows)))
            except Exception as error:  # the test reads it
                errors.append(error)
            call += 1

    threads = [threading.Thread(target=predict, args=(client,)) for client in range(16)]
    for thread in threads:
        thread.start()
    try:
        for step in range(2, 8):
            time.sleep(0.05)
            retrain([float(step), float(step * 10)])
    finally:
        stop.set()
        for thread in threads:
            thread.join(30)
        if service.generations is not None:
            service.generations.stop()
        store.close()
    assert errors == []
    assert len(means) == 7 and len(answers) > 50
    for before, after, rows, output in generations.runs:
        assert before == after, "a batch saw its model change"
        shifts = {answer["y"] - row["x"] for row, answer in zip(rows, output)}
        assert shifts == {means[before]}, f"a batch mixes generations: {shifts}"
    batched = [run for run in generations.runs if len(run[2]) > 3]
    assert batched, "no run held more than one call"
    seen = set()
    for rows, response in answers:
        version = str(response.versions["shiftmodel"])
        seen.add(version)
        assert [answer["id"] for answer in response.value] == [row["id"] for row in rows]
        assert {answer["y"] - row["x"] for row, answer in zip(rows, response.value)} == {means[version]}
    assert len(seen) >= 3, "the loads did not reach the callers"


# ---------------------------------------------------------------------------- generative

CALLS = st.lists(
    st.tuples(st.integers(min_value=0, max_value=4), st.sampled_from(["ok", "ok", "ok", "malformed", "unlucky"])),
    min_size=1, max_size=20,
)


@pytest.mark.generative
@settings(max_examples=generative.examples(10, 200))
@given(calls=CALLS, max_batch_size=st.integers(min_value=1, max_value=12),
       pause=st.sampled_from([0.0, 0.001, 0.005]), stagger=st.sampled_from([0.0, 0.0002, 0.001]))
def test_bad_calls_among_random_batches_fail_alone(calls, max_batch_size, pause, stagger):
    """Random batch sizes, call sizes, arrival patterns, malformed and raising calls: every good
    call gets exactly its rows' answers, every bad one its own error, and no run mixes a bad row."""
    runs = Runs()
    pipeline = shift_pipeline("shift", Batching(max_batch_size), callbacks=[runs])
    pipeline.node_for_name["slowshift"].op.pause = pause
    service = PipelinesService([pipeline], metrics=False)
    inputs = []
    for call, (size, kind) in enumerate(calls):
        rows = rows_of(call, size)
        if kind == "malformed":
            rows = rows + [{"id": call * 100 + 99}]  # no x
        elif kind == "unlucky":
            rows = rows + [{"id": call * 100 + 99, "x": UNLUCKY}]
        inputs.append(rows)
    results: List[Tuple[Any, Any]] = [(None, None)] * len(inputs)

    def call(index: int) -> None:
        try:
            results[index] = (service.call_pipeline("shift", inputs[index]), None)
        except Exception as error:  # the test reads it
            results[index] = (None, error)

    threads = []
    for index in range(len(inputs)):
        threads.append(threading.Thread(target=call, args=(index,)))
        threads[-1].start()
        if stagger:
            time.sleep(stagger)
    for thread in threads:
        thread.join(60)
    for (_, kind), rows, (response, error) in zip(calls, inputs, results):
        if kind == "malformed":
            assert isinstance(error, BadRequestError) and "'x' is a required property" in str(error)
        elif kind == "unlucky":
            assert isinstance(error, OpError) and f"holds the unlucky number {UNLUCKY};" in str(error)
        else:
            assert error is None
            assert response.value == [{"id": row["id"], "y": row["x"] + 1} for row in rows]
    for run in runs.inputs:
        assert all("x" in row for row in run)  # a malformed call never reached a batch
        assert run.calls == 1 or run.rows <= max_batch_size
    largest = max((run.calls for run in runs.inputs), default=0)
    kinds = "".join(sorted({kind[0] for _, kind in calls}))
    generative.record("service-batches", f"{kinds}-largest{min(largest, 4)}")


def test_an_overloaded_process_answers_a_clear_503_over_http():
    from chariots.pipelines import PipelinesServer

    runs = Runs()
    name = f"shift_{uuid.uuid4().hex[:8]}"
    server = PipelinesServer([shift_pipeline(name, Batching(max_batch_size=1, max_latency_ms=50), [runs])],
                             import_name="overloaded")
    batcher = server.service._batchers[name]
    refused = threading.Event()
    runs.hold_until = refused.is_set  # the first batch runs until the third call was refused
    answers: Dict[int, Any] = {}

    def post(call: int) -> None:
        answers[call] = server.test_client().post(f"/pipelines/{name}/main",
                                                   json={"pipeline_input": rows_of(call, size=1)})

    first = threading.Thread(target=post, args=(0,))
    first.start()
    wait = time.monotonic() + 10
    while not runs.inputs and time.monotonic() < wait:
        time.sleep(0.001)
    others = [threading.Thread(target=post, args=(call,)) for call in (1, 2)]
    others[0].start()
    while batcher.queued_calls < 1 and time.monotonic() < wait:
        time.sleep(0.001)
    others[1].start()
    others[1].join(10)  # refused after its 50 ms: one row ahead of it fills the next batch of 1
    refused.set()
    for thread in [first, others[0]]:
        thread.join(10)
    assert [answers[call].status_code for call in (0, 1, 2)] == [200, 200, 503]
    error = answers[2].get_json()["error"]
    assert error["type"] == "OverloadedError"
    assert error["message"].startswith(
        f"pipeline {name!r} is overloaded: this call of 1 row(s) waited 50 ms (its max_latency_ms) and 1 queued "
        "row(s) still fill more than the next batch of 1; retry later, or serve with more processes: see the "
        "pipelines server's log (request id ")
    registry = _metrics.metrics().registry
    assert registry.get_sample_value("chariots_pipeline_calls_overloaded_total", {"pipeline": name}) == 1
