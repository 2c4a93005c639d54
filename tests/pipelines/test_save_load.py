"""The saving, loading and compatibility rules of DESIGN section 5, against an in-memory store."""
import pytest

from chariots import Pipeline
from chariots.errors import VersionError
from chariots.nodes import Node
from chariots.pipelines.runners import SequentialRunner
from tests.fakes import InMemoryOpStore
from tests.pipelines.simple_ops import AddOneOp, Counter, Downstream, Upstream

runner = SequentialRunner()


def train_upstream():
    return Pipeline([Node(Upstream(train=True), input_nodes=["__pipeline_input__"])], "train_upstream")


def train_downstream():
    return Pipeline(
        [
            Node(Upstream(), input_nodes=["__pipeline_input__"], output_nodes="up"),
            Node(Downstream(train=True), input_nodes=["up"]),
        ],
        "train_downstream",
    )


def predict():
    return Pipeline(
        [
            Node(Upstream(), input_nodes=["__pipeline_input__"], output_nodes="up"),
            Node(Downstream(), input_nodes=["up"], output_nodes="__pipeline_output__"),
        ],
        "predict",
    )


@pytest.fixture
def store():
    store = InMemoryOpStore()
    for pipeline in (train_upstream(), train_downstream(), predict()):
        pipeline.register(store)
    return store


def test_right_order_trains_saves_and_predicts(store):
    pipeline = train_upstream()
    runner.run(pipeline, 10)
    pipeline.save(store)
    pipeline = train_downstream().load(store)
    runner.run(pipeline, 1)  # upstream predicts 1 + 10, downstream learns offset 11
    pipeline.save(store)
    pred = predict().load(store)
    assert runner.run(pred, 1) == 1 + 10 + 11


def test_wrong_order_raises_version_error_with_the_hint(store):
    pipeline = train_upstream()
    runner.run(pipeline, 10)
    pipeline.save(store)
    pred = predict()
    with pytest.raises(VersionError) as error:
        pred.load(store)
    message = str(error.value)
    assert message.startswith(
        "the pipeline you requested cannot be loaded because of version incompatibility. "
        "HINT: retrain and save/reload in order to have a loadable version"
    )
    assert "op 'downstream'" in message and "upstream op 'upstream'" in message
    assert isinstance(error.value, TypeError)


def test_failed_load_leaves_the_pipeline_as_it_was(store):
    pred = predict()
    versions_before = {node.name: version for node, version in pred.get_pipeline_versions().items()}
    output_before = runner.run(pred, 5)
    nodes_before = pred.pipeline_nodes
    pipeline = train_upstream()
    runner.run(pipeline, 10)
    pipeline.save(store)
    with pytest.raises(VersionError):
        pred.load(store)
    assert {node.name: version for node, version in pred.get_pipeline_versions().items()} == versions_before
    assert runner.run(pred, 5) == output_before
    assert pred.pipeline_nodes == nodes_before


def test_load_keeps_in_memory_ops_the_store_never_saw():
    pred = predict()
    assert pred.load(InMemoryOpStore()) is pred
    assert runner.run(pred, 3) == 3


def test_load_keeps_an_op_whose_code_changed():
    store = InMemoryOpStore()
    pipeline = Pipeline([Node(Counter(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")],
                        "count")
    runner.run(pipeline, None)
    pipeline.save(store)

    class Counter2(Counter):
        step = 5  # a new major: the stored counts belong to older code

    Counter2.__name__ = "Counter"
    fresh = Pipeline([Node(Counter2(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")],
                     "count")
    fresh.load(store)
    assert runner.run(fresh, None) == 5


def test_a_stateless_op_accepts_any_upstream_version(store):
    pipeline = train_upstream()
    runner.run(pipeline, 10)
    pipeline.save(store)
    loose = Pipeline(
        [
            Node(Upstream(), input_nodes=["__pipeline_input__"], output_nodes="up"),
            Node(AddOneOp(), input_nodes=["up"], output_nodes="__pipeline_output__"),
        ],
        "loose",
    ).load(store)
    assert runner.run(loose, 1) == 12


def test_lineage_is_recorded_by_training_not_by_saving():
    store = InMemoryOpStore()
    pipeline = Pipeline(
        [
            Node(Counter(), input_nodes=["__pipeline_input__"], output_nodes="c"),
            Node(AddOneOp(), input_nodes=["c"], output_nodes="__pipeline_output__"),
            Node(Downstream(train=True), input_nodes=["c"]),
        ],
        "fan",
    )
    pipeline.save(store)  # nothing trained yet: nothing is certified
    assert store.get_validated_links("downstream", "counter") == set()

    runner.run(pipeline, None)
    pipeline.save(store)

    counter_version = pipeline.node_for_name["counter"].node_version
    assert store.get_validated_links("downstream", "counter") == {counter_version}
    assert store.get_validated_links("addoneop", "counter") == set()  # a stateless op records nothing


def test_nested_pipeline_state_is_saved_and_continues_in_a_new_pipeline_object():
    store = InMemoryOpStore()

    def make():
        inner = Pipeline([Node(Counter(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")],
                         "inner")
        return Pipeline([Node(inner, input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")],
                        "outer")

    first = make()
    assert [runner.run(first, None) for _ in range(3)] == [1, 2, 3]
    first.save(store)
    second = make().load(store)
    assert runner.run(second, None) == 4
    second.save(store)
    assert runner.run(make().load(store), None) == 5


def test_registering_never_makes_an_untrained_op_the_latest():
    store = InMemoryOpStore()
    pipeline = train_upstream()
    runner.run(pipeline, 10)
    pipeline.save(store)
    trained_versions = store.get_all_versions_of_op("upstream")
    predict().register(store)
    assert store.get_all_versions_of_op("upstream") == trained_versions
    assert store.pipeline_exists("predict")
