"""Runners side by side: a diamond whose two branches each sleep, and the overhead per node.

The diamond (one input, two branches sleeping ``--sleep`` seconds each, one node joining them)
runs with the SequentialRunner, the ThreadRunner and the DaskRunner on a LocalCluster of 2 worker
processes on 127.0.0.1; the times are printed with their ratio to the SequentialRunner's, measured
in the same run. Goal: under 0.7 s for two 0.5 s branches with the thread and Dask runners.

The overhead per node is a chain of ``--chain`` trivial nodes, timed per runner, minus the same
ops called in a plain loop, divided by the number of nodes.

Run with ``python -m benchmarks.runners [--sleep 0.5] [--repeat 5] [--chain 50]``; nothing is asserted.
"""
from __future__ import annotations

import argparse
import statistics
import time

from chariots import Pipeline
from chariots.nodes import Node
from chariots.pipelines.ops import BaseOp


class Branch(BaseOp):
    """Sleeps, then returns its input plus one."""

    def __init__(self, seconds: float, name: str):
        super().__init__(name=name)
        self.seconds = seconds

    def execute(self, value):
        time.sleep(self.seconds)
        return value + 1


class Join(BaseOp):
    def execute(self, left, right):
        return left + right


class Increment(BaseOp):
    def execute(self, value):
        return value + 1


def diamond(seconds: float) -> Pipeline:
    return Pipeline([
        Node(Branch(seconds, "left"), input_nodes=["__pipeline_input__"], output_nodes="left"),
        Node(Branch(seconds, "right"), input_nodes=["__pipeline_input__"], output_nodes="right"),
        Node(Join(), input_nodes=["left", "right"], output_nodes="__pipeline_output__"),
    ], "diamond")


def chain(length: int) -> Pipeline:
    nodes = [Node(Increment(name="n0"), input_nodes=["__pipeline_input__"], output_nodes="n0")]
    nodes += [Node(Increment(name=f"n{i}"), input_nodes=[f"n{i - 1}"], output_nodes=f"n{i}")
              for i in range(1, length - 1)]
    nodes.append(Node(Increment(name="last"), input_nodes=[f"n{length - 2}"], output_nodes="__pipeline_output__"))
    return Pipeline(nodes, "chain")


def timed(function, repeat: int) -> list:
    function()  # warm up (a Dask worker imports the ops' module at its first task)
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sleep", type=float, default=0.5)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--chain", type=int, default=50)
    arguments = parser.parse_args()

    from distributed import LocalCluster

    from chariots.pipelines.runners import DaskRunner, SequentialRunner, ThreadRunner

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        runners = {
            "SequentialRunner": SequentialRunner(),
            "ThreadRunner": ThreadRunner(max_workers=2),
            "DaskRunner (2 workers)": DaskRunner(cluster.scheduler_address),
        }
        pipeline = diamond(arguments.sleep)
        results = {name: timed(lambda runner=runner: runner.run(pipeline, 0), arguments.repeat)
                   for name, runner in runners.items()}
        chained = chain(arguments.chain)
        ops = [node.op for node in chained.pipeline_nodes]

        def plain_loop():
            value = 0
            for op in ops:
                value = op.execute(value)
            return value

        loop = statistics.median(timed(plain_loop, arguments.repeat * 20))
        per_node = {}
        for name, runner in runners.items():
            count = arguments.repeat * (20 if not name.startswith("Dask") else 1)
            per_node[name] = (statistics.median(timed(lambda runner=runner: runner.run(chained, 0), count)) - loop) \
                / arguments.chain
        for runner in runners.values():
            getattr(runner, "close", lambda: None)()

    base = statistics.median(results["SequentialRunner"])
    print(f"diamond: two branches of {arguments.sleep} s each, then a join; {arguments.repeat} runs each, medians")
    print(f"{'runner':26}{'median':>10}{'best':>10}{'vs sequential':>15}{'overhead/node':>16}")
    for name, timings in results.items():
        median = statistics.median(timings)
        print(f"  {name:24}{median:>9.3f}s{min(timings):>9.3f}s{median / base:>14.2f}x"
              f"{per_node[name] * 1e6:>13.1f} us")
    met = all(statistics.median(timings) < 1.4 * arguments.sleep
              for name, timings in results.items() if name != "SequentialRunner")
    print(f"goal: thread and Dask under {1.4 * arguments.sleep:.2f} s ({'met' if met else 'not met'})")
    print(f"overhead per node: a chain of {arguments.chain} trivial nodes, minus the same ops in a plain loop")


if __name__ == "__main__":
    main()
