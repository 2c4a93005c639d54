"""What each runner promises: concurrency of independent branches, callbacks, errors, lost workers."""
from __future__ import annotations

import pickle

import pytest

from chariots import Pipeline
from chariots.errors import OpError, PipelineError, ServiceUnavailableError
from chariots.nodes import Node
from chariots.pipelines.callbacks import OpCallBack, PipelineCallback
from chariots.pipelines.runners import DaskRunner, SequentialRunner, ThreadRunner
from tests.runners.conftest import RUNNERS
from tests.runners.runner_ops import Add, Boom, DieOnce, Fork, Pair, Sleep, Stamp, Tally, WrongCount


def _diamond(seconds: float = 0.5) -> Pipeline:
    return Pipeline([
        Node(Stamp(seconds, name="left"), input_nodes=["__pipeline_input__"], output_nodes="l"),
        Node(Stamp(seconds, name="right"), input_nodes=["__pipeline_input__"], output_nodes="r"),
        Node(Pair(), input_nodes=["l", "r"], output_nodes="__pipeline_output__"),
    ], "diamond")


@pytest.mark.parametrize("runner_name", ["thread", "dask"])
def test_independent_branches_run_at_the_same_time(runner_name, make_runner):
    (left_start, left_end), (right_start, right_end) = make_runner(runner_name).run(_diamond(0.5), 0)
    assert max(left_start, right_start) < min(left_end, right_end)  # the two sleeps overlapped


def test_the_sequential_runner_runs_one_branch_after_the_other():
    (left_start, left_end), (right_start, right_end) = SequentialRunner().run(_diamond(0.05), 0)
    assert left_end <= right_start


class _Recorder(PipelineCallback):
    def __init__(self):
        self.events = []

    def before_execution(self, pipeline, args):
        self.events.append(("pipeline before", pipeline.name))

    def after_execution(self, pipeline, args, output):
        self.events.append(("pipeline after", pipeline.name, output))

    def before_node_execution(self, pipeline, node, args):
        self.events.append(("node before", node.name, tuple(args)))

    def after_node_execution(self, pipeline, node, args, output):
        self.events.append(("node after", node.name, output))


class _OpRecorder(OpCallBack):
    calls = []  # in this process only: Dask runs op callbacks on its workers

    def before_execution(self, callback_op, args):
        self.calls.append(("op before", callback_op.name))

    def after_execution(self, callback_op, args, output):
        self.calls.append(("op after", callback_op.name))


def _branches(recorder: _Recorder) -> Pipeline:
    return Pipeline([
        Node(Sleep(0.05, name="a", op_callbacks=[_OpRecorder()]), input_nodes=["__pipeline_input__"],
             output_nodes="a"),
        Node(Sleep(0.01, name="b", op_callbacks=[_OpRecorder()]), input_nodes=["__pipeline_input__"],
             output_nodes="b"),
        Node(Fork(), input_nodes=["b"], output_nodes=["c", "d"]),
        Node(Add(), input_nodes=["a", "c", "d"], output_nodes="__pipeline_output__"),
    ], "branches", pipeline_callbacks=[recorder])


@pytest.mark.parametrize("runner_name", RUNNERS)
def test_callbacks_see_what_the_sequential_runner_shows_each_node_in_the_documented_order(
    runner_name, make_runner
):
    expected = _Recorder()
    assert SequentialRunner().run(_branches(expected), 1) == 2 + 2 + 20
    recorder = _Recorder()
    _OpRecorder.calls.clear()
    assert make_runner(runner_name).run(_branches(recorder), 1) == 24
    # the same hooks with the same values; between nodes of two branches they may interleave
    assert sorted(recorder.events, key=repr) == sorted(expected.events, key=repr)
    assert recorder.events[0] == ("pipeline before", "branches")
    assert recorder.events[-1] == ("pipeline after", "branches", 24)
    for name in ("a", "b", "fork", "add"):
        mine = [event[0] for event in recorder.events if event[1] == name]
        assert mine == ["node before", "node after"], name
    after = [event[1] for event in recorder.events if event[0] == "node after"]
    assert after.index("b") < after.index("fork") < after.index("add") and after.index("a") < after.index("add")
    if runner_name != "dask":  # op callbacks run with the op: here, in this process
        for name in ("a", "b"):
            assert [call[0] for call in _OpRecorder.calls if call[1] == name] == ["op before", "op after"]


@pytest.mark.parametrize("runner_name", RUNNERS)
def test_a_node_that_raises_fails_the_run_with_its_error_and_the_node_named(runner_name, make_runner):
    after_boom = Tally(name="after_boom")
    pipeline = Pipeline([
        Node(Boom(), input_nodes=["__pipeline_input__"], output_nodes="x"),
        Node(after_boom, input_nodes=["x"], output_nodes="__pipeline_output__"),
    ], "failing")
    with pytest.raises(OpError) as raised:
        make_runner(runner_name).run(pipeline, 7)
    assert str(raised.value) == "ArithmeticError: boom on 7; while running node 'boom' of pipeline 'failing'"
    assert isinstance(raised.value.cause, ArithmeticError) and raised.value.__cause__ is raised.value.cause
    assert after_boom.total == 0  # nothing after the failure ran


@pytest.mark.parametrize("runner_name", RUNNERS)
def test_a_node_returning_the_wrong_number_of_outputs_is_named(runner_name, make_runner):
    pipeline = Pipeline([
        Node(WrongCount(), input_nodes=["__pipeline_input__"], output_nodes=["x", "y"]),
        Node(Add(), input_nodes=["x", "y"], output_nodes="__pipeline_output__"),
    ], "counting")
    with pytest.raises(PipelineError) as raised:
        make_runner(runner_name).run(pipeline, 1)
    assert str(raised.value) == (
        "node 'wrongcount' of pipeline 'counting' declares 2 outputs ['x', 'y'] but returned 3 values"
    )


@pytest.mark.parametrize("runner_name", RUNNERS)
def test_a_trained_state_comes_back_to_the_pipeline_in_this_process(runner_name, make_runner):
    tally = Tally()
    pipeline = Pipeline([
        Node(Add(), input_nodes=["__pipeline_input__"], output_nodes="x"),
        Node(tally, input_nodes=["x"], output_nodes="__pipeline_output__"),
    ], "tallying")
    runner = make_runner(runner_name)
    assert [runner.run(pipeline, value) for value in (1, 2, 3)] == [1, 3, 6]
    assert tally.total == 6
    assert tally.training_lineage == {"add": Add().op_version}


def test_a_lost_dask_worker_is_retried_on_another(make_runner, tmp_path):
    marker = tmp_path / "died"
    pipeline = Pipeline([Node(DieOnce(str(marker)), input_nodes=["__pipeline_input__"],
                              output_nodes="__pipeline_output__")], "dying")
    assert make_runner("dask").run(pipeline, 21) == 42
    assert len(marker.read_text().split()) == 1  # one worker died, the retry ran elsewhere


def test_a_dask_node_killing_every_worker_fails_with_the_reason(make_runner, tmp_path):
    from distributed import KilledWorker

    pipeline = Pipeline([Node(DieOnce(str(tmp_path / "died"), always=True), input_nodes=["__pipeline_input__"],
                              output_nodes="__pipeline_output__")], "always_dying")
    with pytest.raises(ServiceUnavailableError, match=r"^the Dask workers running node 'dieonce' of pipeline "
                                                      r"'always_dying' died: .*workers died while running") as raised:
        make_runner("dask").run(pipeline, 1)
    assert isinstance(raised.value.__cause__, KilledWorker)
    assert "while running node 'dieonce' of pipeline 'always_dying'" in raised.value.__notes__


def test_an_unreachable_scheduler_is_a_503_naming_the_address():
    from tests.conftest import free_port

    address = f"tcp://127.0.0.1:{free_port()}"
    runner = DaskRunner(address, connect_timeout=1)
    with pytest.raises(ServiceUnavailableError, match=f"the Dask scheduler at '{address}' cannot be reached"):
        runner.run(_diamond(0), 0)


def test_runners_travel_as_their_settings(dask_cluster):
    thread = pickle.loads(pickle.dumps(ThreadRunner(max_workers=3)))
    assert (type(thread), thread.max_workers) == (ThreadRunner, 3)
    from distributed import Client

    with Client(dask_cluster.scheduler_address, set_as_default=False) as client:
        dask = pickle.loads(pickle.dumps(DaskRunner(client)))
    assert (type(dask), dask.address) == (DaskRunner, dask_cluster.scheduler_address)
    assert dask.run(_diamond(0), 0)
    dask.close()


@pytest.mark.parametrize("bad", [0, -1, 1.5, "4", True])
def test_thread_runner_needs_a_positive_number_of_workers(bad):
    with pytest.raises(ValueError, match=f"ThreadRunner needs max_workers >= 1 .*got {bad!r}"):
        ThreadRunner(max_workers=bad)


@pytest.mark.parametrize("bad", ["", None, "  "])
def test_dask_runner_needs_a_client_or_an_address(bad):
    with pytest.raises(TypeError, match="DaskRunner needs"):
        DaskRunner(bad)
