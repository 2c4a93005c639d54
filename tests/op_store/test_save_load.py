"""The docs' save/load scenarios through OpStoreClient against a real op store server, on every backend."""

from __future__ import annotations

import pytest

from chariots import Pipeline
from chariots.errors import VersionError
from chariots.nodes import Node
from chariots.op_store import OpStoreClient, OpStoreServer
from chariots.pipelines.runners import SequentialRunner
from tests.op_store import ops
from tests.op_store.conftest import BACKENDS

runner = SequentialRunner()
HINT = (
    "the pipeline you requested cannot be loaded because of version incompatibility. "
    "HINT: retrain and save/reload in order to have a loadable version"
)


def register_all(store, *pipelines: Pipeline) -> None:
    """What a pipelines server does at start for pipelines the store never saw."""
    for pipeline in pipelines:
        if not store.pipeline_exists(pipeline.name):
            pipeline.register(store)


def versions_by_name(pipeline: Pipeline) -> dict:
    return {node.name: version for node, version in pipeline.get_pipeline_versions().items()}


def test_right_order_trains_saves_loads_and_predicts(op_store_client):
    train_centerer, train_classifier, pred = ops.train_centerer(), ops.train_classifier(), ops.pred()
    register_all(op_store_client, train_centerer, train_classifier, pred)

    runner.run(train_centerer)
    train_centerer.save(op_store_client)
    train_classifier.load(op_store_client)
    runner.run(train_classifier)
    train_classifier.save(op_store_client)
    pred.load(op_store_client)

    # mean 6.5: 7 - 6.5 > threshold 0 (midpoint of -3.5 and 3.5), 1 - 6.5 is not
    assert runner.run(pred, [7.0, 1.0]) == [1, 0]
    assert all(op_store_client.pipeline_exists(name) for name in ("train_centerer", "train_classifier", "pred"))


def test_wrong_order_raises_version_error_with_the_hint(op_store_client):
    train_centerer, train_classifier, pred = ops.train_centerer(), ops.train_classifier(), ops.pred()
    register_all(op_store_client, train_centerer, train_classifier, pred)

    runner.run(train_centerer)
    train_centerer.save(op_store_client)
    with pytest.raises(VersionError) as error:
        pred.load(op_store_client)

    message = str(error.value)
    assert message.startswith(HINT)
    assert "op 'thresholdclassifier'" in message and "upstream op 'centerer'" in message
    assert "Rerun the pipeline that trains it ('train_classifier') so that 'thresholdclassifier' trains" in message


def test_a_failed_load_leaves_the_pipeline_exactly_as_it_was(op_store_client):
    train_centerer, train_classifier, pred = ops.train_centerer(), ops.train_classifier(), ops.pred()
    register_all(op_store_client, train_centerer, train_classifier, pred)
    runner.run(train_centerer)
    train_centerer.save(op_store_client)
    train_classifier.load(op_store_client)
    runner.run(train_classifier)
    train_classifier.save(op_store_client)
    pred.load(op_store_client)
    versions_before = versions_by_name(pred)
    nodes_before = pred.pipeline_nodes
    predictions_before = runner.run(pred, [7.0, 1.0, 6.0])

    # the centerer is retrained alone: the classifier was never validated on it
    retrain = ops.train_centerer()
    retrain.load(op_store_client)
    runner.run(retrain, None)
    retrain.save(op_store_client)
    assert len(op_store_client.get_all_versions_of_op("centerer")) == 3
    with pytest.raises(VersionError):
        pred.load(op_store_client)

    assert versions_by_name(pred) == versions_before
    assert pred.pipeline_nodes == nodes_before
    assert runner.run(pred, [7.0, 1.0, 6.0]) == predictions_before


def test_a_patch_retraining_keeps_downstream_models_loadable(op_store_client):
    train_calibrator = ops.train_centerer(ops.Calibrator)
    train_classifier, pred = ops.train_classifier(ops.Calibrator), ops.pred(ops.Calibrator)
    register_all(op_store_client, train_calibrator, train_classifier, pred)
    runner.run(train_calibrator)
    train_calibrator.save(op_store_client)
    runner.run(train_classifier.load(op_store_client))
    train_classifier.save(op_store_client)
    # a second calibration only changes the calibrator's patch version: the classifier stays valid
    retrain = ops.train_centerer(ops.Calibrator).load(op_store_client)
    runner.run(retrain)
    retrain.save(op_store_client)

    pred.load(op_store_client)

    calibrator = pred.node_for_name["calibrator"]
    latest = max(op_store_client.get_all_versions_of_op("calibrator"), key=lambda version: version.creation_time)
    assert calibrator.node_version == latest
    assert runner.run(pred, [7.0, 1.0]) == [1, 0]


def test_nested_pipeline_state_is_saved_and_continues_in_a_new_pipeline(op_store_client):
    outer = ops.counting_pipeline()
    register_all(op_store_client, outer)
    assert [runner.run(outer, None) for _ in range(3)] == [1, 2, 3]
    outer.save(op_store_client)

    reloaded = ops.counting_pipeline().load(op_store_client)

    assert runner.run(reloaded, None) == 4
    assert op_store_client.pipeline_exists("inner_counter") and op_store_client.pipeline_exists("outer")


def test_registering_again_never_replaces_a_trained_model(op_store_client):
    train_centerer, pred = ops.train_centerer(), ops.pred()
    register_all(op_store_client, train_centerer, pred)
    runner.run(train_centerer)
    train_centerer.save(op_store_client)
    trained = train_centerer.node_for_name["centerer"].node_version

    # a fresh pipeline object registered again (as at a server restart) keeps the trained version
    ops.train_centerer().register(op_store_client)

    versions = op_store_client.get_all_versions_of_op("centerer")
    assert max(versions, key=lambda version: version.creation_time) == trained
    assert ops.train_centerer().load(op_store_client).node_for_name["centerer"].node_version == trained


@pytest.mark.parametrize("backend", [b for b in BACKENDS if b != "sqlite-memory"], indirect=True)
def test_a_restarted_server_serves_the_saved_models(backend, wsgi_server):
    saver, db_url = backend  # (an in-memory database does not outlive its server)
    first = OpStoreServer(saver, db_url=db_url)
    client = OpStoreClient(wsgi_server(first.flask))
    train_centerer, train_classifier, pred = ops.train_centerer(), ops.train_classifier(), ops.pred()
    register_all(client, train_centerer, train_classifier, pred)
    runner.run(train_centerer)
    train_centerer.save(client)
    runner.run(train_classifier.load(client))
    train_classifier.save(client)
    first.close()

    second = OpStoreServer(saver, db_url=db_url)
    restarted = OpStoreClient(wsgi_server(second.flask))
    assert runner.run(ops.pred().load(restarted), [7.0, 1.0]) == [1, 0]
    second.close()


def test_lineage_is_recorded_when_an_op_trains_not_when_it_is_saved(op_store_client):
    shared = ops.Centerer(ops.Mode.PREDICT)
    pipeline = Pipeline(
        [
            Node(shared, input_nodes=["__pipeline_input__"], output_nodes="centered"),
            Node(ops.ThresholdClassifier(), input_nodes=["centered"], output_nodes="a"),
            Node(ops.CallCounter(), input_nodes=["centered", "a"], output_nodes="__pipeline_output__"),
        ],
        "two_consumers",
    )
    pipeline.save(op_store_client)
    assert op_store_client.get_validated_links("callcounter", "centerer") == set()

    runner.run(pipeline, [1.0, 2.0])  # the call counter's state changes: it records what it consumed
    pipeline.save(op_store_client)

    counter = pipeline.node_for_name["callcounter"].node_version
    assert op_store_client.get_validated_links("callcounter", "centerer", counter) == {shared.op_version}
    assert op_store_client.get_validated_links("callcounter", "thresholdclassifier", counter) == {
        ops.ThresholdClassifier().op_version
    }
    assert op_store_client.get_validated_links("thresholdclassifier", "centerer") == set()
