"""Runner overhead: SequentialRunner on 100 trivial ops vs a plain loop over the same ops.

Also times pipeline construction for 100, 1,000 and 10,000 nodes to show it grows linearly.
Run with ``python benchmarks/runner_overhead.py``; figures are printed, nothing is asserted.
"""
from __future__ import annotations

import statistics
import time

from chariots import Pipeline
from chariots.nodes import Node
from chariots.pipelines.ops import BaseOp
from chariots.pipelines.runners import SequentialRunner


class Increment(BaseOp):
    def execute(self, value):
        return value + 1


def chain(length: int) -> list[Node]:
    nodes = [Node(Increment(), input_nodes=["__pipeline_input__"], output_nodes="n0")]
    nodes += [Node(Increment(), input_nodes=[f"n{i}"], output_nodes=f"n{i + 1}") for i in range(length - 2)]
    nodes.append(Node(Increment(), input_nodes=[f"n{length - 2}"], output_nodes="__pipeline_output__"))
    return nodes


def best_of(function, repeats: int = 7, number: int = 200) -> float:
    """Median over ``repeats`` of the time per call, each averaged over ``number`` calls."""
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            function()
        timings.append((time.perf_counter() - start) / number)
    return statistics.median(timings)


def main() -> None:
    nodes = chain(100)
    pipeline = Pipeline(nodes, "bench")
    runner = SequentialRunner()
    ops = [node.op for node in pipeline.pipeline_nodes]

    def plain_loop():
        value = 0
        for op in ops:
            value = op.execute(value)
        return value

    assert runner.run(pipeline, 0) == plain_loop() == 100
    # interleave the two measurements so both see the same machine conditions
    pipeline_times, loop_times = [], []
    for _ in range(5):
        pipeline_times.append(best_of(lambda: runner.run(pipeline, 0), repeats=3))
        loop_times.append(best_of(plain_loop, repeats=3))
    pipeline_time, loop_time = min(pipeline_times), min(loop_times)
    overhead_per_node = (pipeline_time - loop_time) / len(ops) * 1e6
    print("runner overhead, 100 trivial ops")
    print(f"  SequentialRunner : {pipeline_time * 1e6:9.1f} us per run")
    print(f"  plain loop       : {loop_time * 1e6:9.1f} us per run")
    print(f"  ratio            : {pipeline_time / loop_time:9.2f}x")
    print(f"  overhead per node: {overhead_per_node:9.2f} us (goal: <= 5 us)")

    print("pipeline construction")
    previous = None
    for size in (100, 1_000, 10_000):
        nodes_timing = []
        for _ in range(3):
            fresh = chain(size)
            start = time.perf_counter()
            Pipeline(fresh, f"bench_{size}")
            nodes_timing.append(time.perf_counter() - start)
        elapsed = min(nodes_timing)
        growth = f"  (x{elapsed / previous:.1f} for x10 nodes)" if previous else ""
        print(f"  {size:>6} nodes: {elapsed * 1e3:8.2f} ms, {elapsed / size * 1e6:.2f} us per node{growth}")
        previous = elapsed


if __name__ == "__main__":
    main()
