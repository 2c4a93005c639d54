"""Hole 4: an op's identity in the store is its name, and a name belongs to one class and one node."""

from __future__ import annotations

import pytest

from chariots import Pipeline
from chariots.errors import ChariotsError, PipelineError
from chariots.nodes import Node
from chariots.pipelines.runners import SequentialRunner
from tests.lineage import other_ops
from tests.lineage.conftest import serve
from tests.lineage.lineage_ops import (
    FIT,
    FIT_PREDICT,
    IN,
    OUT,
    PREDICT,
    ROWS,
    Concat,
    Data,
    LinearOp,
    PCAOp,
    Scale,
    Square,
    X,
    build,
)


def two_pcas(pca_mode, linear_mode, pipeline_name: str, squared_name=None, scale_name=None):
    """A PCA of x and a PCA of x squared, concatenated, then a linear regression."""
    second = {} if squared_name is None else {"name": squared_name}
    scaled = {} if scale_name is None else {"name": scale_name}
    source = Node(Data(), output_nodes=["x", "y"]) if linear_mode is not PREDICT else None
    x = "x" if source else IN
    nodes = [
        Node(PCAOp(pca_mode), input_nodes=[x], output_nodes="x_t"),
        Node(Square(), input_nodes=[x], output_nodes="x2"),
        Node(PCAOp(pca_mode, **second), input_nodes=["x2"], output_nodes="x2_t"),
        Node(Scale(), input_nodes=["x_t"], output_nodes="x_s"),
        Node(Scale(**scaled), input_nodes=["x2_t"], output_nodes="x2_s"),
        Node(Concat(), input_nodes=["x_s", "x2_s"], output_nodes="features"),
        Node(LinearOp(linear_mode), input_nodes=["features", "y"] if source else ["features"], output_nodes=OUT),
    ]
    return Pipeline(([source] if source else []) + nodes, pipeline_name)


def test_the_default_op_name_is_the_lowercased_class_name():
    assert PCAOp(FIT).name == "pcaop"
    assert LinearOp(PREDICT).name == "linearop"
    assert Scale().name == "scale"


def test_two_nodes_with_the_same_op_name_are_refused_at_construction():
    with pytest.raises(PipelineError) as error:
        Pipeline(
            [
                Node(Data(), output_nodes=["x", "y"]),
                Node(PCAOp(FIT_PREDICT), input_nodes=["x"], output_nodes="x_t"),
                Node(Square(), input_nodes=["x"], output_nodes="x2"),
                Node(PCAOp(FIT_PREDICT), input_nodes=["x2"], output_nodes="x2_t"),
                Node(Concat(), input_nodes=["x_t", "x2_t"], output_nodes="features"),
                Node(LinearOp(FIT), input_nodes=["features", "y"]),
            ],
            "two_pcas",
        )
    message = str(error.value)
    assert isinstance(error.value, ValueError)
    assert "pcaop" in message and "two_pcas" in message
    assert "name=" in message


def test_two_ops_of_one_class_with_distinct_names_keep_their_own_state(store):
    train = two_pcas(FIT_PREDICT, FIT_PREDICT, "train_two", "pca_squared", "scale_squared")
    pred = two_pcas(PREDICT, PREDICT, "pred_two", "pca_squared", "scale_squared")
    assert [node.name for node in pred.pipeline_nodes if "pca" in node.name] == ["pcaop", "pca_squared"]
    client = serve(store, train, pred)
    fitted = client.call_pipeline("train_two").value  # the linear regression's predictions on X
    client.save_pipeline("train_two")
    client.load_pipeline("pred_two")

    trained_versions = client.pipeline_versions("train_two")
    served_versions = client.pipeline_versions("pred_two")
    for name in ("pcaop", "pca_squared", "linearop"):
        assert served_versions[name] == trained_versions[name]
    assert trained_versions["pcaop"] != trained_versions["pca_squared"]
    assert client.call_pipeline("pred_two", X.tolist()).value == pytest.approx(fitted)


def test_another_class_under_an_existing_op_name_is_refused_when_saving(store):
    client = serve(store, *build("train", "pred"))
    client.call_pipeline("train")
    client.save_pipeline("train")

    impostor = Pipeline(
        [Node(Data(), output_nodes=["x", "y"]), Node(other_ops.LinearOp(FIT), input_nodes=["x", "y"])],
        "train_ridge",
    )
    SequentialRunner().run(impostor)
    with pytest.raises(ChariotsError) as error:
        impostor.save(store)
    message = str(error.value)
    assert "name=" in message
    assert "tests.lineage.lineage_ops.LinearOp" in message and "tests.lineage.other_ops.LinearOp" in message

    # the store still serves the first class's model
    client.load_pipeline("pred")
    assert len(client.call_pipeline("pred", ROWS).value) == len(ROWS)
