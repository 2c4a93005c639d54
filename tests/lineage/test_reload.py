"""Holes 7 and 8: a load serves the newest compatible stored state of every loadable op, and
detects code changes from the class version, not from the whole major version."""

from __future__ import annotations

import numpy as np
import pytest

from chariots.errors import VersionError
from chariots.pipelines.runners import SequentialRunner
from tests.lineage.conftest import serve
from tests.lineage.lineage_ops import ROWS, build, pca_class

runner = SequentialRunner()


def test_a_restarted_server_serves_the_last_saved_state_of_a_plain_loadable_op(store, open_another_client):
    first = serve(store, *build("count"))
    assert [first.call_pipeline("count").value for _ in range(3)] == [1, 2, 3]
    first.save_pipeline("count")

    restarted = serve(open_another_client(), *build("count"))
    assert restarted.call_pipeline("count").value == 4

    first.call_pipeline("count")
    first.call_pipeline("count")
    first.save_pipeline("count")  # count 5
    restarted.load_pipeline("count")
    assert restarted.call_pipeline("count").value == 6


def test_loading_into_a_store_filled_without_registering(store):
    train, pred = build("train", "pred")
    runner.run(train)
    train.save(store)
    pca, linear = train.node_for_name["pcaop"].op, train.node_for_name["linearop"].op
    expected = linear.predict(pca.predict(np.array(ROWS)))

    pred.load(store)
    assert runner.run(pred, np.array(ROWS)) == pytest.approx(expected)
    assert pred.node_for_name["pcaop"].node_version == train.node_for_name["pcaop"].node_version


def test_a_server_started_on_a_store_filled_by_a_script_serves_the_trained_models(store, open_another_client):
    train = build("train")[0]
    runner.run(train)  # a training script, no server: nothing was registered before
    train.save(store)
    trained = {node.name: version for node, version in train.get_pipeline_versions().items()}

    server = serve(open_another_client(), *build("pred"))  # pred is new: registered at start
    server.load_pipeline("pred")
    served = server.pipeline_versions("pred")
    assert (served["pcaop"], served["linearop"]) == (trained["pcaop"], trained["linearop"])
    assert len(server.call_pipeline("pred", ROWS).value) == len(ROWS)


def test_a_changed_model_class_does_not_load_the_old_class_state(store, open_another_client):
    first = serve(store, *build("train", "pred"))
    first.call_pipeline("train")
    first.save_pipeline("train")

    # a new release changes the PCA's parameters: its old trained state must not be loaded
    later = serve(open_another_client(), *build("pred", pca=pca_class(n_components=1)))
    with pytest.raises(VersionError) as error:
        later.load_pipeline("pred")
    assert "linearop" in str(error.value) and "pcaop" in str(error.value)
