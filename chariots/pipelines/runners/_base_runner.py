"""The runner interface, and the ready-node loop every Chariots runner shares.

A runner is :meth:`BaseRunner.run`. The runners Chariots ships differ only in *how one node is
executed*, a :class:`NodeExecutor`: in the calling thread, in a pool of threads, as a task on a
Dask cluster. The loop deciding *when* a node runs (once every node it reads from has run), the
callbacks, the lineage records and the release of results nobody needs any more live once, in
:meth:`BaseRunner.run_with`.
"""
from __future__ import annotations

import abc
import collections
import contextlib
import heapq
import threading
from concurrent import futures
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Sequence, Set

from chariots.pipelines.callbacks import PipelineCallback
from chariots.pipelines.nodes import ReservedNodes

if TYPE_CHECKING:
    from chariots.pipelines import Pipeline
    from chariots.pipelines.nodes import BaseNode, NodeReference

_INPUT = ReservedNodes.pipeline_input.reference
_OUTPUT = ReservedNodes.pipeline_output.reference


class BaseRunner(abc.ABC):
    """Executes pipelines. Subclasses define :meth:`run`.

    A runner may build on the pipeline's :meth:`~chariots.pipelines.Pipeline.execute_node` and
    :meth:`~chariots.pipelines.Pipeline.extract_results`, or hand :meth:`run_with` a
    :class:`NodeExecutor` saying how one node executes and let it run the ready-node loop.
    """

    @abc.abstractmethod
    def run(self, pipeline: "Pipeline", pipeline_input: Optional[Any] = None) -> Any:
        """Runs a pipeline on an input.

        :param pipeline: the pipeline to run
        :param pipeline_input: the value given to the nodes reading ``__pipeline_input__``
        :returns: the pipeline's output, if it has one
        """

    def run_with(self, executor: "NodeExecutor", pipeline: "Pipeline", pipeline_input: Any = None) -> Any:
        """Runs a pipeline, each node executed by ``executor`` as soon as its inputs are ready.

        Nodes whose inputs are ready at the same time are started in the pipeline's execution
        order, so an executor that finishes each node before the next starts runs them exactly
        in :meth:`~chariots.pipelines.Pipeline.execution_order`. The pipeline callbacks, the
        lineage records and the splitting of tuple outputs all happen in the calling thread;
        only the op's execution (with its op callbacks) is the executor's. When a node fails, no
        other node starts; the nodes already running are waited for, then the error is raised,
        as :meth:`~chariots.pipelines.Pipeline.execute_node` raises it
        (an op's own error in an :class:`~chariots.errors.OpError` naming the node and the pipeline).

        :param executor: how one node executes
        :param pipeline: the pipeline to run
        :param pipeline_input: the value given to the nodes reading ``__pipeline_input__``
        :returns: the pipeline's output, if it has one
        """
        # a run that trains holds the pipeline's state lock: a save reads no op in mid-training
        with pipeline.state_lock if pipeline.trains else contextlib.nullcontext():
            output = self._run_graph(executor, pipeline, executor.put(pipeline_input), pipeline_input)
            return executor.values([output])[0]

    def _run_graph(self, executor: "NodeExecutor", pipeline: "Pipeline", input_handle: Any,
                   input_value: Any = ...) -> Any:
        """Runs one pipeline (a nested one too) and returns its output as a handle."""
        callbacks = pipeline.pipeline_callbacks
        if input_value is ...:
            wanted = _overridden(callbacks, "before_execution", "after_execution")
            input_value = executor.values([input_handle])[0] if wanted else input_handle
        for callback in callbacks:
            callback.before_execution(pipeline, input_value)
        results = _ReadyLoop(self, executor, pipeline, input_handle).run()
        output = results.pop(_OUTPUT, None)
        if results:  # what no node consumed must hold nothing (an ML op in fit mode outputs None)
            references = list(results)
            pipeline.extract_results(dict(zip(references, executor.values([results[ref] for ref in references]))))
        output_value = executor.values([output])[0] if _overridden(callbacks, "after_execution") else output
        for callback in callbacks:
            callback.after_execution(pipeline, input_value, output_value)
        return output


class NodeExecutor(abc.ABC):
    """How a runner executes the op of one node: the only part in which runners differ.

    The loop passes *handles* around: what :meth:`submit` and :meth:`split` return and what the
    next nodes receive. For executors in this process a handle is the value itself; a cluster
    executor may keep values where they were computed and return references to them.
    """

    def put(self, value: Any) -> Any:
        """The handle of a value the caller gives (the pipeline input)."""
        return value

    def values(self, handles: Sequence[Any]) -> List[Any]:
        """The values behind handles (the callbacks and the pipeline output need them)."""
        return list(handles)

    @abc.abstractmethod
    def submit(self, pipeline: "Pipeline", node: "BaseNode", args: List[Any]) -> Any:
        """Starts executing ``node`` on the handles of its inputs.

        :returns: a future the loop reads with :meth:`result` once :meth:`wait` says it is done, or a
                  :class:`Done` when the node was executed at once
        """

    def wait(self, running: Iterable[Any]) -> Set[Any]:
        """Blocks until at least one running future is done; returns the done ones."""
        done, _ = futures.wait(list(running), return_when=futures.FIRST_COMPLETED)
        return done

    def result(self, pipeline: "Pipeline", node: "BaseNode", future: Any) -> Any:
        """The handle of a done node's output.

        :raises Exception: what the node raised
        """
        return future.result()

    def split(self, pipeline: "Pipeline", node: "BaseNode", output: Any) -> Sequence[Any]:
        """One handle per output of a node with several (a tuple output split over its names).

        :raises PipelineError: if the node returned another number of outputs than it declares
        """
        return node.split_output(output, pipeline.name)

    def cancel(self, running: Iterable[Any]) -> None:
        """Called when a node failed: stop what has not started (threads cannot be stopped)."""
        for future in running:
            future.cancel()


class _Plan:
    """What a run of one graph needs, computed once per graph (a load makes a new graph)."""

    __slots__ = ("order", "inputs", "outputs", "consumers", "waiting", "readers", "ready")

    def __init__(self, order: Sequence["BaseNode"]):
        self.order = order
        # by output reference: a loaded pipeline holds copies of its nodes, never new references
        producer_of = {reference: index for index, node in enumerate(order) for reference in node.output_references}
        self.inputs = [node.input_references for node in order]
        self.outputs = [node.output_references for node in order]
        consumers: List[List[int]] = [[] for _ in order]
        self.waiting = [0] * len(order)
        self.readers: Dict["NodeReference", int] = {}
        for index, references in enumerate(self.inputs):
            producers = {producer_of[reference] for reference in references if reference in producer_of}
            self.waiting[index] = len(producers)
            for producer in producers:
                consumers[producer].append(index)
            for reference in references:
                self.readers[reference] = self.readers.get(reference, 0) + 1
        self.consumers = [tuple(indexes) for indexes in consumers]
        self.ready = [index for index, count in enumerate(self.waiting) if not count]


#: the plans of the graphs run lately, by the identity of their execution order
_PLANS: "collections.OrderedDict[int, _Plan]" = collections.OrderedDict()
_PLANS_KEPT = 256
_PLANS_LOCK = threading.Lock()


def _plan_of(pipeline: "Pipeline") -> _Plan:
    order = pipeline.execution_order()
    with _PLANS_LOCK:
        plan = _PLANS.get(id(order))
        if plan is not None and plan.order is order:
            _PLANS.move_to_end(id(order))
            return plan
    plan = _Plan(order)
    with _PLANS_LOCK:
        _PLANS[id(order)] = plan  # the plan holds the order: its id is not reused while it is kept
        while len(_PLANS) > _PLANS_KEPT:
            _PLANS.popitem(last=False)
    return plan


class _ReadyLoop:
    """One run of one pipeline: nodes start when the nodes they read from are done."""

    def __init__(self, runner: BaseRunner, executor: NodeExecutor, pipeline: "Pipeline", input_handle: Any):
        self.runner = runner
        self.executor = executor
        self.pipeline = pipeline
        self.plan = plan = _plan_of(pipeline)
        self.results: Dict["NodeReference", Any] = {_INPUT: input_handle}
        self.waiting = list(plan.waiting)
        self.readers = dict(plan.readers)
        self.ready = list(plan.ready)
        self.running: Dict[Any, tuple] = {}
        self.callbacks = pipeline.pipeline_callbacks
        self.wants_node_values = _overridden(
            pipeline.pipeline_callbacks, "before_node_execution", "after_node_execution"
        )

    def run(self) -> Dict["NodeReference", Any]:
        """Runs every node; returns the results no node consumed (the output among them)."""
        executor = self.executor
        failure: Optional[BaseException] = None
        while self.ready or self.running:
            while self.ready and failure is None:
                try:
                    self._start(heapq.heappop(self.ready))
                except Exception as error:
                    failure = error
            if failure is not None:
                executor.cancel(list(self.running))
                self.ready.clear()
            if not self.running:
                break
            done = executor.wait(list(self.running))
            for future in sorted(done, key=lambda done_future: self.running[done_future][0]):
                index, args = self.running.pop(future)
                if failure is not None:
                    continue  # its result is dropped: the run fails anyway
                try:
                    self._finish(index, args, self._result(index, future))
                except Exception as error:
                    failure = error
        if failure is not None:
            raise failure
        self.results.pop(_INPUT, None)
        return self.results

    def _result(self, index: int, future: Any) -> Any:
        node = self.plan.order[index]
        try:
            return self.executor.result(self.pipeline, node, future)
        except Exception as error:
            self.pipeline.raise_failure(node, error)

    def _start(self, index: int) -> None:
        node = self.plan.order[index]
        results, readers = self.results, self.readers
        references = self.plan.inputs[index]
        handles = [results[reference] for reference in references]
        for reference in references:
            readers[reference] -= 1
            if not readers[reference]:
                del results[reference]
        args = self.executor.values(handles) if self.wants_node_values else handles
        if self.callbacks:
            self.pipeline.before_node(node, args)
        if node.requires_runner:
            # a nested pipeline runs with the same runner and executor, its nodes submitted from here
            nested_input = handles[0] if len(handles) == 1 else (list(handles) or None)
            try:
                output = self.runner._run_graph(self.executor, node.op, nested_input)
            except Exception as error:
                self.pipeline.raise_failure(node, error)
            self._finish(index, args, output)
            return
        future = self.executor.submit(self.pipeline, node, handles)
        if type(future) is Done:  # executed in this thread: finish it before the next node starts
            if future.error is not None:
                self.pipeline.raise_failure(node, future.error)
            self._finish(index, args, future.output)
        elif future.done():
            self._finish(index, args, self._result(index, future))
        else:
            self.running[future] = (index, args)

    def _finish(self, index: int, args: List[Any], output: Any) -> None:
        node = self.plan.order[index]
        if self.callbacks or node._records_lineage:
            value = self.executor.values([output])[0] if self.wants_node_values else output
            self.pipeline.after_node(node, args, value)
        results = self.results
        outputs = self.plan.outputs[index]
        if len(outputs) == 1:
            results[outputs[0]] = output
        elif outputs:
            for reference, handle in zip(outputs, self.executor.split(self.pipeline, node, output)):
                results[reference] = handle
        waiting = self.waiting
        for consumer in self.plan.consumers[index]:
            waiting[consumer] -= 1
            if not waiting[consumer]:
                heapq.heappush(self.ready, consumer)


class Done:
    """A node already executed in the calling thread, with its output or its error: what
    :meth:`NodeExecutor.submit` returns when it runs the node at once (a future costs a lock)."""

    __slots__ = ("output", "error")

    def __init__(self, output: Any = None, error: Optional[BaseException] = None):
        self.output = output
        self.error = error


def _overridden(callbacks: Sequence[PipelineCallback], *names: str) -> bool:
    """Whether a callback defines one of the hooks (the others cost the runner nothing)."""
    return any(
        getattr(type(callback), name, None) is not getattr(PipelineCallback, name)
        for callback in callbacks for name in names
    )
