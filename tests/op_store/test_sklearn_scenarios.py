"""The docs' iris scenarios with scikit-learn ops, through OpStoreClient against a real op store server."""

from __future__ import annotations

import pytest

pytest.importorskip("sklearn", reason="scikit-learn is not installed (pip install chariots[sklearn])")

from chariots.errors import VersionError  # noqa: E402
from chariots.pipelines.runners import SequentialRunner  # noqa: E402
from tests.ml.iris_ops import client_docs_pipelines as docs_pipelines  # noqa: E402
from tests.op_store.test_save_load import HINT, register_all, versions_by_name  # noqa: E402

runner = SequentialRunner()


def test_train_pca_save_load_train_logistic_save_load_pred_predicts(op_store_client):
    train_pca, train_logistic, pred = docs_pipelines()
    register_all(op_store_client, train_pca, train_logistic, pred)

    runner.run(train_pca)
    train_pca.save(op_store_client)
    train_logistic.load(op_store_client)
    runner.run(train_logistic)
    train_logistic.save(op_store_client)
    pred.load(op_store_client)

    assert runner.run(pred, [[1, 2, 3, 4]]) == [1]


def test_the_wrong_order_raises_version_error(op_store_client):
    train_pca, train_logistic, pred = docs_pipelines()
    register_all(op_store_client, train_pca, train_logistic, pred)

    runner.run(train_pca)
    train_pca.save(op_store_client)
    with pytest.raises(VersionError) as error:
        pred.load(op_store_client)

    assert str(error.value).startswith(HINT)
    assert "op 'logisticop'" in str(error.value) and "upstream op 'pcaop'" in str(error.value)


def test_a_failed_load_keeps_the_served_models(op_store_client):
    train_pca, train_logistic, pred = docs_pipelines()
    register_all(op_store_client, train_pca, train_logistic, pred)
    runner.run(train_pca)
    train_pca.save(op_store_client)
    runner.run(train_logistic.load(op_store_client))
    train_logistic.save(op_store_client)
    pred.load(op_store_client)
    versions_before = versions_by_name(pred)
    rows = [[1, 2, 3, 4], [5.1, 3.5, 1.4, 0.2], [6.7, 3.0, 5.2, 2.3]]
    predictions_before = runner.run(pred, rows)

    runner.run(train_pca)  # the PCA is retrained alone: the logistic regression never saw it
    train_pca.save(op_store_client)
    with pytest.raises(VersionError):
        pred.load(op_store_client)

    assert versions_by_name(pred) == versions_before
    assert runner.run(pred, rows) == predictions_before
