"""Callback order and the printed examples of the reference docs."""
from typing import Any, List

from chariots import Pipeline
from chariots.nodes import Node
from chariots.pipelines.callbacks import OpCallBack, PipelineCallback
from chariots.pipelines.ops import BaseOp
from chariots.pipelines.runners import SequentialRunner
from tests.pipelines.simple_ops import AddOneOp, IsOddOp

runner = SequentialRunner()


def test_op_callback_example_prints_like_the_docs(capsys):
    class PrintOpName(OpCallBack):
        def before_execution(self, op, args: List[Any]):
            print(f"{op.name} called with {args}")

    is_even_pipeline = Pipeline(
        [
            Node(AddOneOp(), input_nodes=["__pipeline_input__"], output_nodes="modified"),
            Node(IsOddOp(op_callbacks=[PrintOpName()]), input_nodes=["modified"],
                 output_nodes=["__pipeline_output__"]),
        ],
        "simple_pipeline",
    )
    assert runner.run(is_even_pipeline, 3) is False
    assert capsys.readouterr().out == "isoddop called with [4]\n"


def test_pipeline_callback_example_prints_like_the_docs(capsys):
    class MyPipelineLogger(PipelineCallback):
        def before_execution(self, pipeline, args):
            print(f"running {pipeline}")

        def before_node_execution(self, pipeline, node, args):
            print(f"running {node.name} for {pipeline.name}")

    is_even_pipeline = Pipeline(
        [
            Node(AddOneOp(), input_nodes=["__pipeline_input__"], output_nodes="modified"),
            Node(IsOddOp(), input_nodes=["modified"], output_nodes=["__pipeline_output__"]),
        ],
        "simple_pipeline",
        pipeline_callbacks=[MyPipelineLogger()],
    )
    assert runner.run(is_even_pipeline, 3) is False
    assert capsys.readouterr().out == (
        "running <OP simple_pipeline>\nrunning addoneop for simple_pipeline\nrunning isoddop for simple_pipeline\n"
    )


def test_every_hook_fires_in_the_documented_order():
    events = []

    class Recording(OpCallBack):
        def before_execution(self, callback_op, args):
            events.append(("op-callback before", callback_op.name, list(args)))

        def after_execution(self, callback_op, args, output):
            events.append(("op-callback after", callback_op.name, output))

    class RecordingPipeline(PipelineCallback):
        def before_execution(self, pipeline, args):
            events.append(("pipeline before", pipeline.name, args))

        def after_execution(self, pipeline, args, output):
            events.append(("pipeline after", pipeline.name, output))

        def before_node_execution(self, pipeline, node, args):
            events.append(("node before", node.name, list(args)))

        def after_node_execution(self, pipeline, node, args, output):
            events.append(("node after", node.name, output))

    class Double(BaseOp):
        def before_execution(self, args):
            events.append(("op before", self.name, list(args)))

        def after_execution(self, args, output):
            events.append(("op after", self.name, output))

        def execute(self, value):
            events.append(("execute", self.name, value))
            return 2 * value

    pipeline = Pipeline(
        [Node(Double(op_callbacks=[Recording()]), input_nodes=["__pipeline_input__"],
              output_nodes="__pipeline_output__")],
        "p",
        pipeline_callbacks=[RecordingPipeline()],
    )
    assert runner.run(pipeline, 4) == 8
    assert events == [
        ("pipeline before", "p", 4),
        ("node before", "double", [4]),
        ("op-callback before", "double", [4]),
        ("op before", "double", [4]),
        ("execute", "double", 4),
        ("op after", "double", 8),
        ("op-callback after", "double", 8),
        ("node after", "double", 8),
        ("pipeline after", "p", 8),
    ]
