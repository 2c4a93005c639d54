"""The docs' flows keep working, and a failed load leaves the pipeline exactly as it was."""

from __future__ import annotations

import pytest

from chariots import Client
from chariots.errors import VersionError
from chariots.pipelines import PipelinesServer
from tests.lineage.conftest import serve
from tests.lineage.lineage_ops import ROWS, build
from tests.ml.iris_ops import client_docs_pipelines, getting_started_pipelines, train_in_docs_order

SUMMARY = "the pipeline you requested cannot be loaded because of version incompatibility"
HINT = "HINT: retrain and save/reload in order to have a loadable version"


def assert_docs_version_error(error: VersionError) -> None:
    """The message the docs print: the summary, then the hint."""
    message = str(error)
    assert message.startswith(SUMMARY) and HINT in message, message


def test_getting_started_flow(store, wsgi_server):
    client = Client(wsgi_server(PipelinesServer(list(getting_started_pipelines()), op_store_client=store)))
    client.call_pipeline("train")
    client.save_pipeline("train")
    client.load_pipeline("pred")
    assert client.call_pipeline("pred", [[1, 2, 3, 4]]).value == [1]


def test_the_client_docs_flow_and_its_wrong_order(store, wsgi_server):
    train_pca, train_logistic, pred = client_docs_pipelines()
    client = Client(wsgi_server(PipelinesServer([train_pca, train_logistic, pred], op_store_client=store)))
    train_in_docs_order(client, train_pca, train_logistic, pred)
    assert client.call_pipeline(pred, [[1, 2, 3, 4]]).value == [1]

    # the wrong order: the PCA is retrained alone after the full training
    client.call_pipeline(train_pca)
    client.save_pipeline(train_pca)
    with pytest.raises(VersionError) as error:
        client.load_pipeline(pred)
    assert_docs_version_error(error.value)
    assert client.call_pipeline(pred, [[1, 2, 3, 4]]).value == [1]


def test_the_wrong_order_on_a_fresh_store(store, wsgi_server):
    train_pca, train_logistic, pred = client_docs_pipelines()
    client = Client(wsgi_server(PipelinesServer([train_pca, train_logistic, pred], op_store_client=store)))
    client.call_pipeline(train_pca)
    client.save_pipeline(train_pca)
    with pytest.raises(VersionError) as error:
        client.load_pipeline(pred)
    assert_docs_version_error(error.value)


def test_a_failed_load_of_a_chain_leaves_the_pipeline_unchanged(store):
    client = serve(store, *build("train_chain", "train_pca_scaler", "pred_chain"))
    client.call_pipeline("train_chain")
    client.save_pipeline("train_chain")
    client.load_pipeline("pred_chain")
    versions_before = client.pipeline_versions("pred_chain")
    predictions_before = client.call_pipeline("pred_chain", ROWS).value

    # newer PCA and scaler exist and could load; the linear regression was trained behind neither
    client.call_pipeline("train_pca_scaler")
    client.save_pipeline("train_pca_scaler")
    with pytest.raises(VersionError):
        client.load_pipeline("pred_chain")

    assert client.pipeline_versions("pred_chain") == versions_before
    assert client.call_pipeline("pred_chain", ROWS).value == predictions_before


def test_a_failed_load_after_a_certifying_save_leaves_the_pipeline_unchanged(store):
    client = serve(store, *build("train", "train_pca", "pred"))
    client.call_pipeline("train")
    client.save_pipeline("train")
    client.load_pipeline("pred")
    versions_before = client.pipeline_versions("pred")
    predictions_before = client.call_pipeline("pred", ROWS).value

    client.call_pipeline("train_pca")  # the docs' wrong order: the PCA retrained alone
    client.save_pipeline("train_pca")
    with pytest.raises(VersionError):
        client.load_pipeline("pred")
    assert client.pipeline_versions("pred") == versions_before
    assert client.call_pipeline("pred", ROWS).value == predictions_before
