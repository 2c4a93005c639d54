"""Tests of the app through the in-process client: no server to start."""
import pytest
{%- if cookiecutter.use_iris_example == "y" %}
from chariots.errors import VersionError
{%- endif %}
from chariots.testing import TestPipelinesClient

from {{ cookiecutter.project_name }}.app import create_app
{%- if cookiecutter.use_iris_example == "y" %}
from {{ cookiecutter.project_name }}.pipelines import pred_iris, train_iris, train_pca, train_rf
{%- endif %}


@pytest.fixture
def client(tmp_path):
    return TestPipelinesClient(create_app(str(tmp_path / "app")))
{% if cookiecutter.use_iris_example == "y" %}

def test_the_app_serves_the_pipelines(client):
    assert sorted(client.available_pipelines()) == ["pred_iris", "train_iris", "train_pca", "train_rf"]


def test_train_save_load_then_predict(client):
    client.call_pipeline(train_iris)
    client.save_pipeline(train_iris)
    client.load_pipeline(pred_iris)

    # a typical Iris setosa: a well separated class, whatever the random forest drew
    assert client.call_pipeline(pred_iris, [[5.1, 3.5, 1.4, 0.2]]).value == [0]
    predictions = client.call_pipeline(pred_iris, [[1, 2, 3, 4], [6.7, 3.0, 5.2, 2.3]]).value
    assert len(predictions) == 2
    assert set(predictions) <= {0, 1, 2}


def test_training_changes_the_model_versions(client):
    before = client.pipeline_versions(pred_iris)
    client.call_pipeline(train_iris)
    client.save_pipeline(train_iris)
    client.load_pipeline(pred_iris)
    after = client.pipeline_versions(pred_iris)
    assert after["irisrf"] != before["irisrf"]


def test_a_new_pca_needs_a_forest_trained_on_it(client):
    client.call_pipeline(train_iris)
    client.save_pipeline(train_iris)
    client.load_pipeline(pred_iris)
    served = client.pipeline_versions(pred_iris)

    # a retrained PCA is a new major version: the forest was trained on the old one
    client.call_pipeline(train_pca)
    client.save_pipeline(train_pca)
    with pytest.raises(VersionError, match="irisrf"):
        client.load_pipeline(pred_iris)
    assert client.pipeline_versions(pred_iris) == served

    # retrain the forest on the saved PCA: the prediction pipeline loads both
    client.load_pipeline(train_rf)
    client.call_pipeline(train_rf)
    client.save_pipeline(train_rf)
    client.load_pipeline(pred_iris)
    reloaded = client.pipeline_versions(pred_iris)
    assert reloaded["irispca"].major != served["irispca"].major
    assert reloaded["irisrf"] != served["irisrf"]
    assert client.call_pipeline(pred_iris, [[5.1, 3.5, 1.4, 0.2]]).value == [0]
{%- else %}

def test_the_app_starts(client):
    assert client.available_pipelines() == []
{%- endif %}
