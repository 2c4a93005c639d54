"""A runner executing independent branches of a pipeline at the same time, in threads."""
from __future__ import annotations

import os
import threading
from concurrent import futures
from typing import TYPE_CHECKING, Any, List, Optional

from chariots.pipelines.runners._base_runner import BaseRunner, NodeExecutor

if TYPE_CHECKING:
    from chariots.pipelines import Pipeline
    from chariots.pipelines.nodes import BaseNode


class ThreadRunner(BaseRunner):
    """Runs each node in a pool of threads as soon as the nodes it reads from are done, so the
    independent branches of a pipeline run at the same time.

    Results, versions and lineage records are those of the
    :class:`~chariots.pipelines.runners.SequentialRunner`. The pipeline callbacks run in the
    thread calling :meth:`run`, one at a time, ``before_node_execution`` when a node starts and
    ``after_node_execution`` when it is done; an op and its op callbacks run in a pool thread.
    One node's hooks keep the documented order, but the hooks of two nodes of different branches
    may interleave (node A starts, node B starts, A ends, B ends). Ops running at the same time
    must not share mutable state; the threads share one interpreter, so this pays for ops that
    wait (I/O, sleeps) or release the GIL (numpy, scikit-learn, most native code).

    The pool is created on the first run and shared by every run of this runner (a server's
    concurrent calls draw from the same ``max_workers`` threads).

    >>> ThreadRunner(max_workers=4)
    ThreadRunner(max_workers=4)

    :param max_workers: the most nodes executing at once (``concurrent.futures``' default when None)
    :raises ValueError: if ``max_workers`` is not a positive integer
    """

    def __init__(self, max_workers: Optional[int] = None):
        if max_workers is not None and (not isinstance(max_workers, int) or isinstance(max_workers, bool)
                                        or max_workers < 1):
            raise ValueError(f"ThreadRunner needs max_workers >= 1 (or None for the default), got {max_workers!r}")
        self.max_workers = max_workers
        self._pool: Optional[futures.ThreadPoolExecutor] = None
        self._pool_pid = 0
        self._lock = threading.Lock()

    def run(self, pipeline: "Pipeline", pipeline_input: Optional[Any] = None) -> Any:
        """Runs a pipeline on an input and returns its output.

        :param pipeline: the pipeline to run
        :param pipeline_input: the value given to the nodes reading ``__pipeline_input__``
        :returns: the pipeline's output, if it has one
        """
        return self.run_with(_PoolExecutor(self._threads()), pipeline, pipeline_input)

    def _threads(self) -> futures.ThreadPoolExecutor:
        # a process forked after the first run (a gunicorn worker) makes its own pool
        with self._lock:
            if self._pool is None or self._pool_pid != os.getpid():
                self._pool = futures.ThreadPoolExecutor(self.max_workers, thread_name_prefix="chariots-runner")
                self._pool_pid = os.getpid()
            return self._pool

    def close(self) -> None:
        """Stops the pool's threads once their nodes are done (a later run starts a new pool)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def __reduce__(self):
        # a runner travels (to RQ workers) as its settings, never as its threads
        return type(self), (self.max_workers,)

    def __repr__(self) -> str:
        return f"ThreadRunner(max_workers={self.max_workers!r})"


class _PoolExecutor(NodeExecutor):
    """Executes each node in a thread of a pool."""

    def __init__(self, pool: futures.ThreadPoolExecutor):
        self._pool = pool

    def submit(self, pipeline: "Pipeline", node: "BaseNode", args: List[Any]) -> futures.Future:
        """Queues the node's execution in the pool."""
        return self._pool.submit(node.execute, args, None)
