"""Ops the worker tests send to real RQ worker processes (importable by the workers)."""
import time

from chariots import Pipeline
from chariots.nodes import Node
from chariots.pipelines.ops import BaseOp
from tests.pipelines.simple_ops import AddOneOp, IsOddOp


class Sleep(BaseOp):
    def execute(self, seconds):
        time.sleep(seconds)
        return seconds


class Explode(BaseOp):
    def execute(self, value):
        raise RuntimeError(f"exploded on {value!r}")


def is_odd_pipeline(use_worker=None, name="is_odd"):
    return Pipeline(
        [
            Node(AddOneOp(), input_nodes=["__pipeline_input__"], output_nodes="added"),
            Node(IsOddOp(), input_nodes=["added"], output_nodes="__pipeline_output__"),
        ],
        name,
        use_worker=use_worker,
    )


def single(op, name):
    return Pipeline([Node(op, input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")], name)


class Touch(BaseOp):
    """Creates the file its input names: a job that ran leaves it behind."""

    def execute(self, path):
        with open(path, "a") as touched:
            touched.write("ran\n")
        return path
