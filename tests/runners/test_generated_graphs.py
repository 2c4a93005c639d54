"""Generated pipelines (random DAGs with tuple outputs, a stateful op, nested pipelines) give the
sequential runner's output, lineage, state and callbacks with the thread and Dask runners."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chariots import Pipeline
from chariots.nodes import Node
from chariots.pipelines.callbacks import PipelineCallback
from chariots.pipelines.runners import SequentialRunner
from tests import generative
from tests.runners.runner_ops import Add, Fork, Sleep, Tally


class _Events(PipelineCallback):
    def __init__(self):
        self.events = []

    def before_node_execution(self, pipeline, node, args):
        self.events.append(("before", pipeline.name, node.name, tuple(args)))

    def after_node_execution(self, pipeline, node, args, output):
        self.events.append(("after", pipeline.name, node.name, repr(output)))


@st.composite
def graphs(draw):
    """A pipeline description: each node reads 1 to 3 earlier outputs (or the input) and is an
    adder, a fork (two outputs), a short sleep, the stateful tally or a nested pipeline."""
    count = draw(st.integers(1, 7))
    kinds = draw(st.lists(st.sampled_from(["add", "fork", "sleep", "nested"]), min_size=count, max_size=count))
    if draw(st.booleans()):
        kinds[draw(st.integers(0, count - 1))] = "tally"
    nodes = []
    outputs = ["__pipeline_input__"]
    for index, kind in enumerate(kinds):
        reads = draw(st.lists(st.integers(0, len(outputs) - 1), min_size=1, max_size=3 if kind == "add" else 1))
        names = [f"o{index}a", f"o{index}b"] if kind == "fork" else [f"o{index}"]
        nodes.append((kind, [outputs[read] for read in reads], names))
        outputs.extend(names)
    return nodes


def _build(description) -> Pipeline:
    nodes = []
    consumed = set()
    for index, (kind, reads, names) in enumerate(description):
        consumed.update(reads)
        if kind == "add":
            op = Add(name=f"add{index}")
        elif kind == "fork":
            op = Fork(name=f"fork{index}")
        elif kind == "sleep":
            op = Sleep(0.002, name=f"sleep{index}")
        elif kind == "tally":
            op = Tally()
        else:
            op = Pipeline([
                Node(Fork(name=f"inner_fork{index}"), input_nodes=["__pipeline_input__"], output_nodes=["x", "y"]),
                Node(Add(name=f"inner_add{index}"), input_nodes=["x", "y"], output_nodes="__pipeline_output__"),
            ], f"nested{index}", pipeline_callbacks=[])
        nodes.append(Node(op, input_nodes=reads, output_nodes=names))
    leftovers = [name for _, _, names in description for name in names if name not in consumed]
    nodes.append(Node(Add(name="sink"), input_nodes=leftovers, output_nodes="__pipeline_output__"))
    return Pipeline(nodes, "generated", pipeline_callbacks=[_Events()])


def _observe(runner, description, value):
    pipeline = _build(description)
    first = runner.run(pipeline, value)
    second = runner.run(pipeline, value + 1)  # the tally's state carries over
    tally = pipeline.node_for_name.get("tally")
    state = (tally.op.total, sorted(tally.op.training_lineage.items())) if tally is not None else None
    return first, second, state, pipeline.pipeline_callbacks[0].events


def _check(runner, description, value, test):
    generative.record(test, ",".join(kind for kind, _, _ in description))
    expected = _observe(SequentialRunner(), description, value)
    seen = _observe(runner, description, value)
    assert seen[:3] == expected[:3]
    assert sorted(seen[3]) == sorted(expected[3])  # the same hooks with the same values
    order = [(event[0], event[2]) for event in seen[3]]
    producer = {}
    for index, (kind, reads, names) in enumerate(description):
        node = _node_name(kind, index)
        assert order.index(("before", node)) < order.index(("after", node))
        for read in reads:  # a node starts once the nodes it reads from are done
            if read in producer:
                assert order.index(("after", producer[read])) < order.index(("before", node))
        producer.update(dict.fromkeys(names, node))


def _node_name(kind: str, index: int) -> str:
    return "tally" if kind == "tally" else f"{kind}{index}"


@pytest.mark.generative
@given(description=graphs(), value=st.integers(-5, 5))
def test_generated_pipelines_give_the_same_with_threads(description, value):
    from chariots.pipelines.runners import ThreadRunner

    _check(_THREADS, description, value, "thread runner gives the sequential results")
    assert isinstance(_THREADS, ThreadRunner)


@pytest.mark.generative
@settings(max_examples=generative.examples(8, 200))
@given(description=graphs(), value=st.integers(-5, 5))
def test_generated_pipelines_give_the_same_on_dask(description, value, dask_runner):
    _check(dask_runner, description, value, "dask runner gives the sequential results")


@pytest.fixture(scope="module")
def dask_runner(dask_cluster):
    from chariots.pipelines.runners import DaskRunner

    runner = DaskRunner(dask_cluster.scheduler_address)
    yield runner
    runner.close()


def _threads():
    from chariots.pipelines.runners import ThreadRunner

    return ThreadRunner(max_workers=3)


_THREADS = _threads()
