"""Pipeline construction, validation and execution."""
import pytest

from chariots import Pipeline
from chariots.errors import PipelineError
from chariots.nodes import Node, ReservedNodes
from chariots.pipelines.ops import BaseOp
from chariots.pipelines.runners import SequentialRunner
from tests.pipelines.simple_ops import AddOneOp, IsOddOp, SplitOp, SumOp

runner = SequentialRunner()


class RangeOp(BaseOp):
    def execute(self, stop):
        return list(range(stop))


class IsPair(BaseOp):
    def execute(self, numbers):
        return [number % 2 == 0 for number in numbers]


def is_odd_pipeline(name="simple_pipeline"):
    return Pipeline(
        [
            Node(AddOneOp(), input_nodes=["__pipeline_input__"], output_nodes=["added_number"]),
            Node(IsOddOp(), input_nodes=["added_number"], output_nodes=["__pipeline_output__"]),
        ],
        name,
    )


def test_simple_pipeline_from_the_docs():
    assert runner.run(pipeline=is_odd_pipeline(), pipeline_input=4) is True
    assert runner.run(is_odd_pipeline(), 3) is False


def test_nodes_given_out_of_order_run_in_dependency_order():
    pipeline = Pipeline(
        [
            Node(IsOddOp(), input_nodes=["added_number"], output_nodes="__pipeline_output__"),
            Node(AddOneOp(), input_nodes=[ReservedNodes.pipeline_input], output_nodes="added_number"),
        ],
        "reversed",
    )
    assert [node.name for node in pipeline.pipeline_nodes] == ["addoneop", "isoddop"]
    assert runner.run(pipeline, 2) is True


def test_multiple_outputs_and_fan_out():
    pipeline = Pipeline(
        [
            Node(SplitOp(), input_nodes=["__pipeline_input__"], output_nodes=["same", "double"]),
            Node(AddOneOp(), input_nodes=["same"], output_nodes="plus_one"),
            Node(SumOp(), input_nodes=["plus_one", "double", "same"], output_nodes="__pipeline_output__"),
        ],
        "fan",
    )
    assert runner.run(pipeline, 5) == 6 + 10 + 5
    links = {(up.name, down.name) for up, down in pipeline.get_all_op_links()}
    assert links == {("splitop", "addoneop"), ("splitop", "sumop"), ("addoneop", "sumop")}


def test_node_objects_can_be_used_as_inputs():
    first = Node(AddOneOp(), input_nodes=["__pipeline_input__"], output_nodes="one")
    pipeline = Pipeline([first, Node(IsOddOp(), input_nodes=[first], output_nodes="__pipeline_output__")], "p")
    assert runner.run(pipeline, 2) is True


def test_pipeline_without_output_returns_none():
    pipeline = Pipeline([Node(AddOneOp(), input_nodes=["__pipeline_input__"])], "no_output")
    assert runner.run(pipeline, 1) is None


def test_nested_pipeline_runs_as_a_node_with_the_same_runner():
    inner = is_odd_pipeline("inner")
    outer = Pipeline(
        [
            Node(AddOneOp(), input_nodes=["__pipeline_input__"], output_nodes="x"),
            Node(inner, input_nodes=["x"], output_nodes="__pipeline_output__"),
        ],
        "outer",
    )
    assert outer.pipeline_nodes[1].requires_runner
    assert runner.run(outer, 1) is True
    with pytest.raises(ValueError, match="needs a runner"):
        outer.pipeline_nodes[1].execute([1])


def test_pipeline_introspection():
    pipeline = is_odd_pipeline()
    assert pipeline.name == "simple_pipeline"
    assert set(pipeline.node_for_name) == {"addoneop", "isoddop"}
    versions = pipeline.get_pipeline_versions()
    assert {node.name: version for node, version in versions.items()} == {
        "addoneop": AddOneOp.__version__,
        "isoddop": IsOddOp.__version__,
    }
    assert repr(pipeline) == "<OP simple_pipeline>"
    assert pipeline.use_worker is None
    assert Pipeline(pipeline.pipeline_nodes[:0], "empty", use_worker=True).use_worker is True
    with pytest.raises(NotImplementedError, match="runner.run"):
        pipeline.execute(runner)


def test_unknown_input_names_the_node_and_suggests():
    with pytest.raises(PipelineError, match=r"node 'isoddop' of pipeline 'p' takes input 'added_numbr', "
                                            r"which no node outputs; did you mean 'added_number'\?"):
        Pipeline(
            [
                Node(AddOneOp(), input_nodes=["__pipeline_input__"], output_nodes="added_number"),
                Node(IsOddOp(), input_nodes=["added_numbr"], output_nodes="__pipeline_output__"),
            ],
            "p",
        )


def test_duplicate_output_names_both_nodes():
    with pytest.raises(PipelineError, match="output 'x' of pipeline 'p' is produced by both node 'addoneop' "
                                            "and node 'isoddop'"):
        Pipeline(
            [
                Node(AddOneOp(), input_nodes=["__pipeline_input__"], output_nodes="x"),
                Node(IsOddOp(), input_nodes=["__pipeline_input__"], output_nodes="x"),
                Node(SumOp(), input_nodes=["x"], output_nodes="__pipeline_output__"),
            ],
            "p",
        )


def test_cycle_names_the_nodes():
    with pytest.raises(PipelineError, match="pipeline 'p' has a cycle through nodes 'addoneop', 'isoddop'"):
        Pipeline(
            [
                Node(AddOneOp(), input_nodes=["b"], output_nodes="a"),
                Node(IsOddOp(), input_nodes=["a"], output_nodes="b"),
            ],
            "p",
        )


def test_unused_output_names_the_node():
    with pytest.raises(PipelineError, match="output 'double' of node 'splitop' in pipeline 'p' is used by no "
                                            "node: consume it or name it '__pipeline_output__'"):
        Pipeline(
            [
                Node(SplitOp(), input_nodes=["__pipeline_input__"], output_nodes=["same", "double"]),
                Node(AddOneOp(), input_nodes=["same"], output_nodes="__pipeline_output__"),
            ],
            "p",
        )


def test_reserved_names_cannot_be_misused():
    with pytest.raises(PipelineError, match="reserved for the pipeline input"):
        Pipeline([Node(AddOneOp(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_input__")], "p")
    with pytest.raises(PipelineError, match="takes '__pipeline_output__' as input"):
        Pipeline([Node(AddOneOp(), input_nodes=["__pipeline_output__"])], "p")


def test_using_a_multi_output_node_directly_fails():
    split = Node(SplitOp(), input_nodes=["__pipeline_input__"], output_nodes=["a", "b"])
    with pytest.raises(PipelineError) as caught:
        Pipeline([split, Node(SumOp(), input_nodes=[split], output_nodes="__pipeline_output__")], "p")
    assert str(caught.value) == (
        "node 'sumop' of pipeline 'p' takes node 'splitop' as input: node 'splitop' is used directly as an "
        "input, but it has 2 outputs ['a', 'b']: put one of these names in input_nodes instead of the node"
    )


# "input_nodes: List[Union[str, BaseNode]]": a node given directly is its single output
def test_a_node_without_named_output_can_be_used_directly_as_an_input():
    range_node = Node(RangeOp(), input_nodes=["__pipeline_input__"])
    pipeline = Pipeline([Node(IsPair(), input_nodes=[range_node], output_nodes="__pipeline_output__"), range_node],
                        "pairs")
    assert [node.name for node in pipeline.pipeline_nodes] == ["rangeop", "ispair"]
    assert runner.run(pipeline, 4) == [True, False, True, False]
    assert {(up.name, down.name) for up, down in pipeline.get_all_op_links()} == {("rangeop", "ispair")}


def test_chained_nodes_of_the_same_op_used_directly_get_distinct_outputs():
    first = Node(AddOneOp(), input_nodes=["__pipeline_input__"])
    second = Node(AddOneOp(), input_nodes=[first])
    third = Node(AddOneOp(), input_nodes=[second])
    last = Node(IsOddOp(), input_nodes=[third], output_nodes="__pipeline_output__")
    pipeline = Pipeline([first, second, third, last], "chain")
    assert runner.run(pipeline, 0) is True  # 0 + 3
    assert runner.run(pipeline, 1) is False
    names = [node.output_references[0].reference for node in (first, second, third)]
    assert len(set(names)) == 3


def test_a_node_with_a_single_named_output_used_directly_gives_that_output():
    first = Node(AddOneOp(), input_nodes=["__pipeline_input__"], output_nodes="plus_one")
    pipeline = Pipeline(
        [first, Node(SumOp(), input_nodes=[first, "plus_one"], output_nodes="__pipeline_output__")], "twice"
    )
    assert runner.run(pipeline, 1) == 4


def test_bad_node_arguments():
    with pytest.raises(TypeError, match="Node needs an op"):
        Node(lambda x: x)
    with pytest.raises(PipelineError, match="non-empty string name"):
        Pipeline([], "")


def test_tuple_length_mismatch_fails_at_run_time_naming_the_node():
    pipeline = Pipeline(
        [
            Node(AddOneOp(), input_nodes=["__pipeline_input__"], output_nodes=["a", "b"]),
            Node(SumOp(), input_nodes=["a", "b"], output_nodes="__pipeline_output__"),
        ],
        "p",
    )
    with pytest.raises(PipelineError, match=r"node 'addoneop' of pipeline 'p' declares 2 outputs \['a', 'b'\] "
                                            r"but returned <class 'int'>"):
        runner.run(pipeline, 1)
    pipeline = Pipeline(
        [
            Node(SplitOp(), input_nodes=["__pipeline_input__"], output_nodes=["a", "b", "c"]),
            Node(SumOp(), input_nodes=["a", "b", "c"], output_nodes="__pipeline_output__"),
        ],
        "p",
    )
    with pytest.raises(PipelineError, match="declares 3 outputs .* but returned 2 values"):
        runner.run(pipeline, 1)


def test_extract_results_rejects_leftovers():
    pipeline = is_odd_pipeline()
    with pytest.raises(ValueError) as caught:
        Pipeline.extract_results({pipeline.pipeline_nodes[0].output_references[0]: 1})
    assert isinstance(caught.value, PipelineError)
    assert str(caught.value) == (
        "outputs 'added_number' were used by no node, but hold a value: consume them or name one "
        "'__pipeline_output__'"
    )
    assert Pipeline.extract_results({}) is None


def test_extract_results_accepts_an_unused_output_holding_nothing():
    # "raises ValueError if some output was unused once every node is computed": None is no output
    pipeline = is_odd_pipeline()
    added, output = (node.output_references[0] for node in pipeline.pipeline_nodes)
    assert Pipeline.extract_results({added: None, output: True}) is True


# "fit the PCA, keep its output": an ML op in FIT mode outputs None, so an unused name is fine
def test_a_training_op_may_name_an_output_no_node_uses():
    from chariots import MLMode
    from tests.ml.iris_ops import IrisXDataSet, PCAOp

    pipeline = Pipeline(
        [
            Node(IrisXDataSet(), output_nodes="x_raw"),
            Node(PCAOp(MLMode.FIT), input_nodes=["x_raw"], output_nodes="x_train"),
        ],
        "train_pca",
    )
    assert runner.run(pipeline) is None
    pca = pipeline.node_for_name["pcaop"].op
    assert pca.last_training_time is not None and pca.model.n_components_ == 2


@pytest.mark.parametrize("mode_name", ["PREDICT", "FIT_PREDICT"])
def test_an_ml_op_that_outputs_a_value_may_not_leave_it_unused(mode_name):
    from chariots import MLMode
    from tests.ml.iris_ops import IrisXDataSet, PCAOp

    with pytest.raises(PipelineError) as caught:
        Pipeline(
            [
                Node(IrisXDataSet(), output_nodes="x_raw"),
                Node(PCAOp(MLMode[mode_name]), input_nodes=["x_raw"], output_nodes="x_train"),
            ],
            "train_pca",
        )
    assert str(caught.value) == (
        "output 'x_train' of node 'pcaop' in pipeline 'train_pca' is used by no node: consume it or name it "
        "'__pipeline_output__'"
    )


def test_an_op_merely_having_a_mode_attribute_other_than_fit_keeps_the_check():
    class Moody(AddOneOp):
        mode = "predict"

    with pytest.raises(PipelineError, match="output 'x' of node 'moody' in pipeline 'p' is used by no node"):
        Pipeline([Node(Moody(), input_nodes=["__pipeline_input__"], output_nodes="x")], "p")


def test_a_long_chain_runs_each_node_once():
    nodes = [Node(AddOneOp(), input_nodes=["__pipeline_input__"], output_nodes="n0")]
    nodes += [Node(AddOneOp(), input_nodes=[f"n{i}"], output_nodes=f"n{i + 1}") for i in range(2000)]
    nodes.append(Node(IsOddOp(), input_nodes=["n2000"], output_nodes="__pipeline_output__"))
    pipeline = Pipeline(nodes, "long")
    assert runner.run(pipeline, 0) is True  # 2001 additions make an odd number


def test_a_node_cannot_be_shared_by_two_pipelines():
    node = Node(AddOneOp(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")
    first = Pipeline([node], "first")
    with pytest.raises(PipelineError, match="node 'addoneop' already belongs to pipeline 'first': create a new Node "
                                            "for pipeline 'second'"):
        Pipeline([node], "second")
    assert runner.run(first, 1) == 2
    op = node.op
    assert runner.run(Pipeline([Node(op, ["__pipeline_input__"], "__pipeline_output__")], "second"), 2) == 3
