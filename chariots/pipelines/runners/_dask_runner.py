"""A runner executing each node as a task on a Dask cluster (needs ``pip install chariots[dask]``)."""
from __future__ import annotations

import operator
import os
import queue
import threading
import uuid
from typing import TYPE_CHECKING, Any, List, Optional, Sequence, Set

from chariots.errors import MissingExtraError, ServiceUnavailableError
from chariots.pipelines.runners._base_runner import BaseRunner, NodeExecutor

if TYPE_CHECKING:
    from chariots.pipelines import Pipeline
    from chariots.pipelines.nodes import BaseNode
    from chariots.pipelines.ops import BaseOp

#: inputs larger than this are scattered to the cluster once instead of travelling with each task
_SCATTER_ABOVE = 1 << 20


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise MissingExtraError("dask.distributed", "dask") from exc
    return distributed


class DaskRunner(BaseRunner):
    """Runs each node of a pipeline as a task of a Dask cluster (``dask.distributed``).

    A node's task takes the futures of the nodes it reads from as arguments, so intermediate
    results stay on the cluster, where they were computed, and move between workers only when
    a node elsewhere needs them; independent branches run on several workers at once. The op of
    a node travels with its task (pickled, as Dask does); when the node trains (a loadable op
    whose run may change its state), the trained op comes back and its state replaces the
    state of the op in this process, so saving, lineage and versions behave exactly as with the
    :class:`~chariots.pipelines.runners.SequentialRunner`. Only those states come back: a
    stateless op that changes its own attributes changes a copy on a worker.

    The pipeline callbacks run in this process (the values they receive are fetched from the
    cluster for them); an op's op callbacks run with it, on a worker. A node that raises fails
    the run with the op's own error and a note naming the node; a worker lost while running a
    node is retried on another worker by Dask, up to its ``distributed.scheduler.allowed-failures``,
    after which the run fails with Dask's ``KilledWorker`` naming the task.

    The workers import the ops' modules, so they need the project installed (or on their
    ``PYTHONPATH``), with chariots. The client is made on the first run, in each process that
    runs (a server forked by gunicorn connects from each worker process), and a runner that is
    pickled (to an RQ job) travels as its scheduler address.

    >>> runner = DaskRunner("tcp://127.0.0.1:8786")  # doctest: +SKIP
    >>> runner.run(is_odd_pipeline, 5)  # doctest: +SKIP
    True

    :param client_or_address: a ``distributed.Client``, or the address of a scheduler
                              (``'tcp://host:8786'``), or anything ``distributed.Client`` accepts
                              as its address (a ``LocalCluster``)
    :param connect_timeout: seconds to wait for the scheduler when connecting to an address
    :param address: the scheduler's address, as a config file names it (``runner_kwargs.address``),
                    when ``client_or_address`` is not given
    :raises TypeError: if ``client_or_address`` is neither a client nor an address
    """

    def __init__(self, client_or_address: Any = None, connect_timeout: float = 10.0, *,
                 address: Optional[str] = None):
        if client_or_address is None:
            client_or_address = address
        if isinstance(client_or_address, str):
            if not client_or_address.strip():
                raise TypeError("DaskRunner needs a scheduler address such as 'tcp://127.0.0.1:8786', got ''")
        elif client_or_address is None:
            raise TypeError(
                "DaskRunner needs a distributed.Client or a scheduler address such as 'tcp://127.0.0.1:8786', "
                "got None"
            )
        self.client_or_address = client_or_address
        self.connect_timeout = connect_timeout
        self._client: Any = None
        self._client_pid = 0
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        """the address of the scheduler the runner submits to"""
        target = self.client_or_address
        if isinstance(target, str):
            return target
        scheduler = getattr(target, "scheduler", None)
        address = getattr(scheduler, "address", None) or getattr(target, "scheduler_address", None)
        return str(address or target)

    @property
    def client(self) -> Any:
        """the ``distributed.Client`` of this process (connected on first use)

        :raises MissingExtraError: if dask.distributed is not installed
        :raises ServiceUnavailableError: if the scheduler cannot be reached
        """
        distributed = _distributed()
        with self._lock:
            if isinstance(self.client_or_address, distributed.Client):
                return self.client_or_address
            if self._client is None or self._client_pid != os.getpid():
                try:
                    self._client = distributed.Client(
                        self.client_or_address, timeout=self.connect_timeout, set_as_default=False,
                    )
                except (OSError, TimeoutError) as exc:
                    raise ServiceUnavailableError(
                        f"the Dask scheduler at {self.address!r} cannot be reached ({exc}): start it "
                        "(`dask scheduler`) or fix the runner's address (pipelines.runner_kwargs.address)"
                    ) from exc
                self._client_pid = os.getpid()
            return self._client

    def run(self, pipeline: "Pipeline", pipeline_input: Optional[Any] = None) -> Any:
        """Runs a pipeline on the cluster and returns its output (fetched to this process).

        :param pipeline: the pipeline to run
        :param pipeline_input: the value given to the nodes reading ``__pipeline_input__``
        :raises ServiceUnavailableError: if the scheduler cannot be reached
        :returns: the pipeline's output, if it has one
        """
        return self.run_with(_DaskExecutor(self.client), pipeline, pipeline_input)

    def close(self) -> None:
        """Closes the client this runner connected (a client it was given stays open)."""
        with self._lock:
            client, self._client = self._client, None
        if client is not None and self._client_pid == os.getpid():
            client.close()

    def __reduce__(self):
        # a runner travels (to RQ workers) as its scheduler's address, never as a connection
        return type(self), (self.address, self.connect_timeout)

    def __repr__(self) -> str:
        return f"DaskRunner({self.address!r})"


class _DaskExecutor(NodeExecutor):
    """Submits each node as a task; handles are Dask futures (or small values given by the caller)."""

    def __init__(self, client: Any):
        self._client = client
        self._run = uuid.uuid4().hex[:12]
        self._done: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        self._finished: Set[Any] = set()

    def put(self, value: Any) -> Any:
        """A large input is scattered once; a small one travels inside the tasks reading it."""
        from dask.sizeof import sizeof

        if value is None or sizeof(value) <= _SCATTER_ABOVE:
            return value
        return self._client.scatter([value], hash=False)[0]

    def values(self, handles: Sequence[Any]) -> List[Any]:
        """Fetches the values of futures to this process (other values are returned as they are)."""
        return list(self._client.gather(list(handles)))

    def submit(self, pipeline: "Pipeline", node: "BaseNode", args: List[Any]) -> Any:
        """Submits the node's op as a task whose arguments are the futures of its inputs."""
        trains = node.is_loadable and node.op.trains_when_run
        names = [reference.reference for reference in node.output_references]
        future = self._client.submit(
            execute_on_worker, node.op, list(args), trains, pipeline.name, node.name, names,
            key=f"chariots-{pipeline.name}-{node.name}-{self._run}-{uuid.uuid4().hex[:8]}", pure=False,
        )
        future.add_done_callback(self._done.put)  # Dask calls it from its own thread
        return future

    def wait(self, running: Any) -> Set[Any]:
        """Blocks until at least one of the ``running`` tasks is done (finished, failed or cancelled).

        The tasks of a nested pipeline's loop share this executor: a task done that the caller is
        not waiting for is kept for the loop that is.
        """
        running = set(running)
        while True:
            done = self._finished & running
            if done:
                self._finished -= done
                return done
            self._finished.add(self._done.get())
            while True:  # and whatever else is done already
                try:
                    self._finished.add(self._done.get_nowait())
                except queue.Empty:
                    break

    def result(self, pipeline: "Pipeline", node: "BaseNode", future: Any) -> Any:
        """The future of the node's output; a trained op's state is taken back first.

        :raises Exception: what the op raised on the worker
        :raises ServiceUnavailableError: when every worker that tried the node died (``KilledWorker``)
        """
        try:
            if not (node.is_loadable and node.op.trains_when_run):
                if future.status != "finished":
                    future.result()  # raises the op's error (or KilledWorker) here
                return future
            _, trained = future.result()
        except _distributed().KilledWorker as exc:  # the cluster's failure, not the op's
            raise ServiceUnavailableError(
                f"the Dask workers running node {node.name!r} of pipeline {pipeline.name!r} died: {exc}"
            ) from exc
        node.op.take_state_of(trained)
        return self._client.submit(operator.getitem, future, 0, pure=False)

    def split(self, pipeline: "Pipeline", node: "BaseNode", output: Any) -> Sequence[Any]:
        """One future per output name (the worker checked the output count)."""
        count = len(node.output_references)
        if count <= 1:
            return (output,) * count
        return tuple(self._client.submit(operator.getitem, output, index, pure=False) for index in range(count))

    def cancel(self, running: Any) -> None:
        """Cancels the tasks still running."""
        if running:
            self._client.cancel(list(running))


def execute_on_worker(op: "BaseOp", args: List[Any], trains: bool, pipeline_name: str, node_name: str,
                      output_names: List[str]) -> Any:
    """A node's task: runs the op with its op callbacks and checks its output count. Returns the
    output, or, when the op trained, the output and the op itself (its new state goes back to the
    process running the pipeline)."""
    output = op.execute_with_all_callbacks(args)
    count = len(output_names)
    if count > 1 and (not isinstance(output, (tuple, list)) or len(output) != count):
        from chariots.errors import PipelineError

        got = f"{len(output)} values" if isinstance(output, (tuple, list)) else repr(type(output))
        raise PipelineError(
            f"node {node_name!r} of pipeline {pipeline_name!r} declares {count} outputs {output_names} "
            f"but returned {got}"
        )
    return (output, op) if trains else output
