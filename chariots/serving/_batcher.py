"""Adaptive batching: concurrent calls of one pipeline in one process, run together and split back.

A :class:`Batcher` takes calls from many threads (a threaded WSGI server's request threads). It
never waits on purpose: a call that arrives when no batch is running *leads*: it runs at once,
in its own thread. Calls that arrive while a batch runs queue; when the batch ends, its leader
hands the lead to the first queued call, which takes the queue in arrival order up to
``max_batch_size`` rows and runs it as the next batch, in its thread. The batch size follows the
traffic: one call at light traffic, as many as arrived during the last batch under load.

Each batch is run on one *pin* (the service pins a snapshot of the pipeline, so every answer of a
batch comes from one generation of its models). A batch that raises is split in halves and each
half is run again on the same pin, down to single calls: only the calls whose own rows fail get
an error, every other call gets its answer.

A queued call is refused with :class:`~chariots.errors.OverloadedError` only when it has waited
``max_latency_ms`` and the calls queued before it fill the next batch; a call that fits in the
next batch waits for it, however long the running batch takes. BentoML, by contrast, holds
calls to fill batches and refuses, on arrival, each call its cost model predicts would miss the
latency budget: with a tight budget it refuses calls the process could still have answered.

Pure Python and threads: nothing here knows of HTTP, Flask or the op store.
"""
from __future__ import annotations

import _thread
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Any, Callable, Deque, Dict, Generic, List, Optional, Sequence, Tuple, TypeVar

from chariots._response import PipelineResponse
from chariots._wire import with_public_message
from chariots.errors import BadRequestError, OverloadedError, PipelineError, ServiceUnavailableError
from chariots.pipelines import Batch, Batching

if TYPE_CHECKING:
    from chariots.pipelines import Pipeline
    from chariots.pipelines.runners import BaseRunner
    from chariots.serving._observing import ServiceObserver

__all__ = ["Batcher", "batch_rows", "split_answers", "served_batcher"]

P = TypeVar("P")

# the states of a call
_QUEUED, _LEADS, _TAKEN, _DONE = "queued", "leads", "taken", "done"


def batch_rows(pipeline_name: str, pipeline_input: Any) -> List[Any]:
    """The rows of a call of a batched pipeline (its input, a list).

    :raises BadRequestError: if the input is not a list (or a tuple) of rows
    """
    if isinstance(pipeline_input, list):
        return pipeline_input
    if isinstance(pipeline_input, tuple):
        return list(pipeline_input)
    got = "null" if pipeline_input is None else type(pipeline_input).__name__
    raise BadRequestError(
        f"pipeline {pipeline_name!r} is batched: its pipeline_input must be a list of rows (one answer comes back "
        f"per row), got {got}; send [row] for a single row"
    )


def split_answers(pipeline_name: str, output: Any, sizes: Sequence[int]) -> List[Any]:
    """Splits the output of a batched run into each call's answers (lists, arrays and pandas
    objects are sliced; every part is of the output's type).

    :raises PipelineError: if the output is not one answer per row of the batch
    """
    total = sum(sizes)
    try:
        count = len(output)
    except TypeError:
        count = None
    if isinstance(output, (str, bytes, dict)):
        count = None
    if count != total:
        got = f"{count} answers" if count is not None else f"an object of type {type(output).__name__}"
        raise PipelineError(
            f"batched pipeline {pipeline_name!r} returned {got} for a batch of {total} rows: a batched pipeline "
            "returns one answer per row of its input (a list, an array or a pandas object as long as the input)"
        )
    if len(sizes) == 1:
        return [output]
    sliced = output.iloc if hasattr(output, "iloc") else output
    answers = []
    start = 0
    for size in sizes:
        answers.append(sliced[start:start + size])
        start += size
    return answers


class _Call:
    """One caller's rows, and what it gets back."""

    __slots__ = ("rows", "state", "answer", "error", "pin", "ready")

    def __init__(self, rows: List[Any]):
        self.rows = rows
        self.state = _QUEUED
        self.answer: Any = None
        self.error: Optional[BaseException] = None
        self.pin: Any = None
        self.ready: Any = None  # a queued call's lock, released once it is answered or handed the lead

    def queue(self) -> "_Call":
        # a bare lock wakes its waiter with less work under the GIL than an Event's condition
        self.ready = _thread.allocate_lock()
        self.ready.acquire()
        return self

    def result(self) -> Tuple[Any, Any]:
        if self.error is not None:
            raise self.error
        return self.answer, self.pin


class Batcher(Generic[P]):
    """Runs the concurrent calls of one batched pipeline together.

    :param policy: the pipeline's :class:`~chariots.pipelines.Batching`
    :param pipeline_name: for the messages
    :param run: runs the pipeline on a pin and a :class:`~chariots.pipelines.Batch` of rows,
                returning one answer per row
    :param pin: called once per batch, in the thread that runs it; what it returns is given to
                every ``run`` of that batch and returned with each of its answers
    :param observer: counts the calls refused as overloaded (None: nothing counts them)
    """

    def __init__(self, policy: Batching, pipeline_name: str, run: Callable[[P, Batch], Any],
                 pin: Callable[[], P], observer: Optional["ServiceObserver"] = None):
        self.policy = policy
        self.observer = observer
        self.pipeline_name = pipeline_name
        self._run = run
        self._pin = pin
        self._lock = threading.Lock()
        self._queue: Deque[_Call] = deque()
        self._running = False

    @property
    def queued_calls(self) -> int:
        """how many calls wait for a batch to take them"""
        with self._lock:
            return sum(1 for call in self._queue if call.state is _QUEUED)

    @property
    def running(self) -> bool:
        """whether a batch is running (or about to: a queued call was handed the lead)"""
        return self._running

    def submit(self, pipeline_input: Any) -> Tuple[Any, P]:
        """Runs one call's rows, alone or in a batch with other threads' calls.

        :param pipeline_input: the call's rows (a list)
        :raises BadRequestError: if the input is not a list of rows
        :raises OverloadedError: if the call waited ``max_latency_ms`` behind a queue that fills
                                 the next batch
        :raises Exception: what running this call's rows alone raised
        :returns: the call's answers (one per row, of the pipeline output's type) and the pin of
                  the batch that computed them
        """
        rows = batch_rows(self.pipeline_name, pipeline_input)
        if not rows:
            return [], self._pin()
        call = _Call(rows)
        with self._lock:
            leads = not self._running
            if leads:
                self._running = True
                call.state = _LEADS
            else:
                self._queue.append(call.queue())
        if not leads:
            self._wait(call)
            if call.state is not _LEADS:
                return call.result()
        self._lead(call)
        return call.result()

    def respond(self, pipeline_input: Any) -> PipelineResponse:
        """:meth:`submit`, answered as a :class:`~chariots._response.PipelineResponse` carrying the
        versions of the batch's pin (a served batcher's pin: a snapshot and its versions)."""
        try:
            value, (_, versions) = self.submit(pipeline_input)
        except OverloadedError:
            if self.observer is not None:
                self.observer.overloaded(self.pipeline_name)
            raise
        return PipelineResponse(value, dict(versions))

    # ------------------------------------------------------------------ waiting

    def _wait(self, call: _Call) -> None:
        """Waits until the call is answered or leads; refuses it when the process is overloaded."""
        budget = self.policy.max_latency
        if call.ready.acquire(timeout=-1 if budget is None else budget):
            return
        with self._lock:
            if call.state is _QUEUED and self._beyond_next_batch(call):
                self._queue.remove(call)
                call.state = _DONE
                call.error = self._overloaded(call)
                return
        call.ready.acquire()

    def _beyond_next_batch(self, call: _Call) -> bool:
        ahead = 0
        for queued in self._queue:
            if queued is call:
                break
            ahead += len(queued.rows)
        return ahead > 0 and ahead + len(call.rows) > self.policy.max_batch_size

    def _overloaded(self, call: _Call) -> OverloadedError:
        waiting = sum(len(queued.rows) for queued in self._queue)
        message = (
            f"pipeline {self.pipeline_name!r} is overloaded: this call of {len(call.rows)} row(s) waited "
            f"{self.policy.max_latency_ms:g} ms (its max_latency_ms) and {waiting} queued row(s) still fill more than "
            f"the next batch of {self.policy.max_batch_size}; retry later, or serve with more processes"
        )
        return with_public_message(OverloadedError(message), message)

    # ------------------------------------------------------------------ leading

    def _lead(self, leader: _Call) -> None:
        """Takes the next batch (the leader first), runs it, answers it and hands the lead on."""
        with self._lock:
            batch = self._take(leader)
        try:
            pin = self._pin()
            self._attempt(pin, batch)
        except BaseException as error:  # the pin failed, or the thread is stopping
            for call in batch:
                if call.state is not _DONE:
                    call.state = _DONE
                    call.error = error if call is leader else self._interrupted(error)
            if not isinstance(error, Exception):
                raise
        finally:
            with self._lock:
                if self._queue:
                    successor: Optional[_Call] = self._queue[0]
                    successor.state = _LEADS
                else:
                    successor = None
                    self._running = False
            if successor is not None:
                successor.ready.release()
            for call in batch:
                if call is not leader:
                    call.ready.release()

    def _take(self, leader: _Call) -> List[_Call]:
        # the leader is the queue's first call (or the queue is empty): take calls in order while
        # they fit; the first one is taken whatever its size
        queue = self._queue
        if queue and queue[0] is leader:
            queue.popleft()
        batch = [leader]
        rows = len(leader.rows)
        limit = self.policy.max_batch_size
        while queue and rows + len(queue[0].rows) <= limit:
            call = queue.popleft()
            call.state = _TAKEN
            batch.append(call)
            rows += len(call.rows)
        leader.state = _TAKEN
        return batch

    def _attempt(self, pin: P, calls: Sequence[_Call]) -> None:
        """Runs calls together on one pin; when that raises, each half again, down to single calls."""
        batch = Batch.of([call.rows for call in calls])
        try:
            answers = split_answers(self.pipeline_name, self._run(pin, batch), batch.sizes)
        except Exception as error:
            if len(calls) == 1:
                calls[0].state, calls[0].error = _DONE, error
                return
            middle = len(calls) // 2
            self._attempt(pin, calls[:middle])
            self._attempt(pin, calls[middle:])
            return
        for call, answer in zip(calls, answers):
            call.answer, call.pin, call.state = answer, pin, _DONE

    def _interrupted(self, error: BaseException) -> ServiceUnavailableError:
        message = f"the batch of pipeline {self.pipeline_name!r} running this call was interrupted"
        failure = with_public_message(ServiceUnavailableError(f"{message}: {type(error).__name__}: {error}"), message)
        failure.__cause__ = error
        return failure


def served_batcher(pipeline: "Pipeline", runner: Callable[[], "BaseRunner"],
                   observer: "ServiceObserver") -> "Batcher[Tuple[Pipeline, Dict[str, Any]]]":
    """The batcher of a served batched pipeline: each batch runs, with the service's current
    ``runner()``, on one snapshot of the pipeline (so every answer of a batch carries the versions
    of the one generation that computed it), and each run is counted by ``observer``."""
    name = pipeline.name

    def pin() -> Tuple["Pipeline", Dict[str, Any]]:
        snapshot = pipeline.snapshot()
        return snapshot, {node.name: version for node, version in snapshot.get_pipeline_versions().items()}

    def run(pinned: Tuple["Pipeline", Dict[str, Any]], batch: Batch) -> Any:
        started = time.perf_counter()
        try:
            value = runner().run(pinned[0], batch)
        except BaseException as error:
            observer.ran(name, None, time.perf_counter() - started, error, batch=batch)
            raise
        observer.ran(name, None, time.perf_counter() - started, batch=batch)
        return value

    return Batcher(pipeline.batching, name, run, pin, observer)
