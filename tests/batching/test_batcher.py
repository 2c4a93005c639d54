"""The batcher on its own: threads calling it, a plain function as the pipeline, no server."""
from __future__ import annotations

import itertools
import random
import threading
import time
from typing import Any, Dict, List

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chariots.errors import BadRequestError, OverloadedError, PipelineError, ServiceUnavailableError
from chariots.pipelines import Batch, Batching
from chariots.serving._batcher import Batcher
from tests import generative


class Model:
    """A pipeline stand-in: answers ``row * 10`` for each row, raises on a row ``'bad'``, can be held
    at a gate, and records every run (its pin, its calls' sizes, its thread)."""

    def __init__(self, pause: float = 0.0):
        self.pause = pause
        self.runs: List[Dict[str, Any]] = []
        self.pins = itertools.count(1)
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.lock = threading.Lock()

    def pin(self) -> int:
        return next(self.pins)

    def run(self, pin: int, batch: Batch) -> List[Any]:
        assert isinstance(batch, Batch)
        with self.lock:
            self.runs.append({"pin": pin, "sizes": batch.sizes, "thread": threading.get_ident(), "rows": list(batch)})
        self.entered.set()
        self.gate.wait(30)
        if self.pause:
            time.sleep(self.pause)
        if "bad" in batch:
            raise ValueError("a bad row")
        return [row * 10 for row in batch]


def batcher_of(model: Model, max_batch_size: int = 64, max_latency_ms=10_000) -> Batcher:
    return Batcher(Batching(max_batch_size, max_latency_ms), "p", model.run, model.pin)


class Caller(threading.Thread):
    """A thread making one call and keeping what it got."""

    def __init__(self, batcher: Batcher, rows: List[Any]):
        super().__init__(daemon=True)
        self.batcher, self.rows = batcher, rows
        self.answer: Any = None
        self.pin: Any = None
        self.error: Any = None

    def run(self) -> None:
        try:
            self.answer, self.pin = self.batcher.submit(self.rows)
        except BaseException as error:  # the test reads it
            self.error = error


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        time.sleep(0.001)


def hold_first_batch(batcher: Batcher, model: Model) -> Caller:
    """Starts a call whose batch waits at the model's gate (closed here)."""
    model.gate.clear()
    model.entered.clear()
    first = Caller(batcher, [0])
    first.start()
    assert model.entered.wait(10)
    return first


def queue_calls(batcher: Batcher, rows_of_calls: List[List[Any]]) -> List[Caller]:
    callers = []
    for rows in rows_of_calls:
        caller = Caller(batcher, rows)
        caller.start()
        callers.append(caller)
        count = len(callers)
        wait_until(lambda: batcher.queued_calls == count)  # noqa: B023 (called at once): arrivals in call order
    return callers


def join(callers: List[Caller]) -> None:
    for caller in callers:
        caller.join(30)
        assert not caller.is_alive()


def test_a_call_with_no_batch_running_runs_at_once_in_its_own_thread():
    model = Model()
    batcher = batcher_of(model)
    assert batcher.submit([1, 2]) == ([10, 20], 1)
    assert model.runs == [{"pin": 1, "sizes": (2,), "thread": threading.get_ident(), "rows": [1, 2]}]
    assert not batcher.running


def test_calls_arriving_while_a_batch_runs_form_the_next_batch_and_get_their_own_rows():
    model = Model()
    batcher = batcher_of(model)
    first = hold_first_batch(batcher, model)
    callers = queue_calls(batcher, [[1], [2, 3], [4]])
    model.gate.set()
    join([first, *callers])
    assert [run["sizes"] for run in model.runs] == [(1,), (1, 2, 1)]
    assert [caller.answer for caller in callers] == [[10], [20, 30], [40]]
    assert {caller.pin for caller in callers} == {2}  # one pin for the whole batch
    assert first.pin == 1
    # the next batch ran in the thread of the first call that queued
    assert model.runs[1]["thread"] == callers[0].ident


def test_a_batch_holds_at_most_max_batch_size_rows_in_arrival_order():
    model = Model()
    batcher = batcher_of(model, max_batch_size=4)
    first = hold_first_batch(batcher, model)
    callers = queue_calls(batcher, [[1], [2, 3], [4], [5], [6, 7, 8], [9]])
    model.gate.set()
    join([first, *callers])
    assert [run["sizes"] for run in model.runs] == [(1,), (1, 2, 1), (1, 3), (1,)]
    assert [caller.answer for caller in callers] == [[10], [20, 30], [40], [50], [60, 70, 80], [90]]


def test_a_call_larger_than_max_batch_size_runs_alone():
    model = Model()
    batcher = batcher_of(model, max_batch_size=2)
    first = hold_first_batch(batcher, model)
    callers = queue_calls(batcher, [[1, 2, 3], [4]])
    model.gate.set()
    join([first, *callers])
    assert [run["sizes"] for run in model.runs] == [(1,), (3,), (1,)]
    assert [caller.answer for caller in callers] == [[10, 20, 30], [40]]


def test_a_failing_batch_is_rerun_in_parts_so_only_the_bad_call_fails_all_on_one_pin():
    model = Model()
    batcher = batcher_of(model)
    first = hold_first_batch(batcher, model)
    callers = queue_calls(batcher, [[1], [2], ["bad"], [3, 4], [5]])
    model.gate.set()
    join([first, *callers])
    assert [caller.answer for caller in callers] == [[10], [20], None, [30, 40], [50]]
    bad = callers[2]
    assert isinstance(bad.error, ValueError) and str(bad.error) == "a bad row"
    assert all(caller.error is None for caller in callers if caller is not bad)
    # the batch and each part it was split into ran on the batch's pin
    assert {run["pin"] for run in model.runs[1:]} == {2}
    assert model.runs[1]["sizes"] == (1, 1, 1, 2, 1)
    assert {caller.pin for caller in callers if caller is not bad} == {2}
    # halves down to the bad call: (1, 1) and (1, 2, 1), then (1,) and (2, 1)
    assert [run["sizes"] for run in model.runs[2:]] == [(1, 1), (1, 2, 1), (1,), (2, 1)]


def test_an_answer_count_other_than_the_rows_fails_the_calls_it_comes_from():
    def run(pin, batch):
        return [row for row in batch if row != "drop"]  # loses the rows 'drop'

    batcher = Batcher(Batching(), "counting", run, lambda: None)
    with pytest.raises(PipelineError) as error:
        batcher.submit([1, "drop"])
    assert str(error.value) == (
        "batched pipeline 'counting' returned 1 answers for a batch of 2 rows: a batched pipeline returns one "
        "answer per row of its input (a list, an array or a pandas object as long as the input)"
    )
    assert batcher.submit([1, 2]) == ([1, 2], None)


def test_an_empty_call_answers_an_empty_list_without_running():
    model = Model()
    assert batcher_of(model).submit([]) == ([], 1)
    assert model.runs == []


@pytest.mark.parametrize("pipeline_input, got", [({"x": 1}, "dict"), (None, "null"), (3, "int"), ("12", "str")])
def test_an_input_that_is_no_list_of_rows_is_a_bad_request(pipeline_input, got):
    model = Model()
    with pytest.raises(BadRequestError) as error:
        batcher_of(model).submit(pipeline_input)
    assert str(error.value) == (
        f"pipeline 'p' is batched: its pipeline_input must be a list of rows (one answer comes back per row), "
        f"got {got}; send [row] for a single row"
    )
    assert model.runs == []


def test_a_call_beyond_the_next_batch_is_refused_after_max_latency_ms():
    model = Model()
    batcher = batcher_of(model, max_batch_size=2, max_latency_ms=50)
    first = hold_first_batch(batcher, model)
    callers = queue_calls(batcher, [[1], [2], [3]])
    wait_until(lambda: callers[2].error is not None)  # its 50 ms passed: 2 rows ahead fill the next batch
    refused = callers[2].error
    assert isinstance(refused, OverloadedError) and isinstance(refused, ServiceUnavailableError)
    assert str(refused) == (
        "pipeline 'p' is overloaded: this call of 1 row(s) waited 50 ms (its max_latency_ms) and 2 queued row(s) "
        "still fill more than the next batch of 2; retry later, or serve with more processes"
    )
    time.sleep(0.1)  # the two calls that fit in the next batch wait for it, past their 50 ms
    assert callers[0].error is None and callers[1].error is None and callers[0].is_alive()
    model.gate.set()
    join([first, *callers])
    assert [caller.answer for caller in callers[:2]] == [[10], [20]]
    assert [run["sizes"] for run in model.runs] == [(1,), (1, 1)]


def test_no_call_is_refused_when_every_queued_call_fits_in_the_next_batch():
    model = Model()
    batcher = batcher_of(model, max_batch_size=8, max_latency_ms=1)
    first = hold_first_batch(batcher, model)
    callers = queue_calls(batcher, [[1], [2, 3], [4]])
    time.sleep(0.05)  # far past every call's 1 ms
    model.gate.set()
    join([first, *callers])
    assert [caller.error for caller in callers] == [None, None, None]
    assert [caller.answer for caller in callers] == [[10], [20, 30], [40]]


def test_without_max_latency_no_call_is_ever_refused():
    model = Model()
    batcher = batcher_of(model, max_batch_size=1, max_latency_ms=None)
    first = hold_first_batch(batcher, model)
    callers = queue_calls(batcher, [[1], [2], [3]])
    time.sleep(0.05)
    model.gate.set()
    join([first, *callers])
    assert [caller.answer for caller in callers] == [[10], [20], [30]]


def test_an_interrupted_batch_fails_its_calls_and_the_batcher_goes_on():
    state = {"interrupt": True}
    model = Model()

    def run(pin, batch):
        if state["interrupt"] and 2 in batch:
            raise KeyboardInterrupt("stopping")
        return model.run(pin, batch)

    batcher = Batcher(Batching(), "p", run, model.pin)
    first = hold_first_batch(batcher, model)
    callers = queue_calls(batcher, [[2], [3]])
    model.gate.set()
    join([first, *callers])
    assert isinstance(callers[0].error, KeyboardInterrupt)  # the leader's own thread stops
    follower = callers[1].error
    assert isinstance(follower, ServiceUnavailableError)
    assert str(follower) == "the batch of pipeline 'p' running this call was interrupted: KeyboardInterrupt: stopping"
    state["interrupt"] = False
    assert batcher.submit([2]) == ([20], 3)
    assert not batcher.running


# ---------------------------------------------------------------------------- generative


def _holds(rows: List[Any], part: List[Any]) -> bool:
    return any(rows[start:start + len(part)] == part for start in range(len(rows) - len(part) + 1))


CALLS = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=5),  # rows
        st.booleans(),  # holds a bad row
        st.sampled_from([0.0, 0.0, 0.0005, 0.002]),  # pause before calling
    ),
    min_size=1, max_size=24,
)


@pytest.mark.generative
@settings(max_examples=generative.examples(25, 400))
@given(calls=CALLS, max_batch_size=st.integers(min_value=1, max_value=9),
       pause=st.sampled_from([0.0, 0.001, 0.004]), seed=st.integers(0, 2**16))
def test_every_call_gets_exactly_its_answers_whatever_the_batches(calls, max_batch_size, pause, seed):
    """Random call sizes, bad calls and arrival patterns: each call gets its own rows' answers
    (or, holding a bad row, its own error), batches respect max_batch_size, one pin per batch."""
    model = Model(pause=pause)
    batcher = batcher_of(model, max_batch_size=max_batch_size)
    counter = itertools.count()
    rows_of_calls = []
    for size, bad, _ in calls:
        rows = [next(counter) for _ in range(size)]
        if bad:
            rows.insert(random.Random(seed).randint(0, len(rows)), "bad")
        rows_of_calls.append(rows)
    callers = [Caller(batcher, rows) for rows in rows_of_calls]
    for caller, (_, _, delay) in zip(callers, calls):
        if delay:
            time.sleep(delay)
        caller.start()
    join(callers)
    for caller in callers:
        if "bad" in caller.rows:
            assert isinstance(caller.error, ValueError) and caller.answer is None
        else:
            assert caller.error is None
            assert caller.answer == [row * 10 for row in caller.rows]
    first_runs: Dict[int, tuple] = {}
    for run in model.runs:
        first_runs.setdefault(run["pin"], run["sizes"])  # a pin's first run is its whole batch
        assert len(run["sizes"]) == 1 or sum(run["sizes"]) <= max_batch_size
    for caller in callers:
        if caller.error is None and caller.rows:
            # its answers came from a run on its batch's pin that held its rows, side by side
            assert any(run["pin"] == caller.pin and _holds(run["rows"], caller.rows) for run in model.runs)
    assert not batcher.running and batcher.queued_calls == 0
    largest = max((len(sizes) for sizes in first_runs.values()), default=0)
    generative.record("batcher", f"max{max_batch_size}-largest{min(largest, 4)}-bad{min(sum(c[1] for c in calls), 2)}")
