"""Pipelines the config and CLI tests serve (importable: CLI subprocesses and workers load them)."""
from chariots import Pipeline
from chariots.nodes import Node
from tests.pipelines.simple_ops import AddOneOp, Counter


def add_one_pipeline() -> Pipeline:
    """Adds one to its input."""
    return Pipeline(
        [Node(AddOneOp(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")], "add_one"
    )


def count_pipeline() -> Pipeline:
    """Counts its calls: its state is saved in and loaded from the op store."""
    return Pipeline([Node(Counter(), output_nodes="__pipeline_output__")], "count")


#: what `chariots pipelines --pipelines tests.config.pipelines_module:pipelines` serves
pipelines = [add_one_pipeline(), count_pipeline()]

#: a single pipeline is accepted too
add_one = pipelines[0]

#: not pipelines: the CLI refuses it
not_a_pipeline = 3
