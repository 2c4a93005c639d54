"""Hole 3: the check follows the paths between models, through stateless ops and nested pipelines."""

from __future__ import annotations

import pytest

from chariots.errors import VersionError
from tests.lineage.conftest import serve
from tests.lineage.lineage_ops import ROWS, build


def train_and_save(client, name: str) -> None:
    client.call_pipeline(name)
    client.save_pipeline(name)


def flat_predictions(store) -> list:
    """What the flat prediction pipeline answers with the models the store serves."""
    reference = serve(store, *build("pred_again"))
    reference.load_pipeline("pred_again")
    return reference.call_pipeline("pred_again", ROWS).value


def test_a_stateless_op_between_two_models_does_not_hide_the_upstream(store):
    client = serve(store, *build("train_scaled", "pred_scaled", "train_pca"))
    train_and_save(client, "train_scaled")
    client.load_pipeline("pred_scaled")
    assert len(client.call_pipeline("pred_scaled", ROWS).value) == len(ROWS)

    train_and_save(client, "train_pca")  # PCA -> scale -> linear: the linear regression never saw this PCA
    with pytest.raises(VersionError) as error:
        client.load_pipeline("pred_scaled")
    assert "linearop" in str(error.value) and "pcaop" in str(error.value)


def test_a_stateless_op_only_the_serving_pipeline_has_between_two_models_is_refused(store):
    # DESIGN 5: between a model and its stateful ancestor the serving graph equals the trained one
    client = serve(store, *build("train", "pred_rounded"))
    train_and_save(client, "train")
    with pytest.raises(VersionError) as error:
        client.load_pipeline("pred_rounded")
    assert "was trained behind stateful op 'pcaop'" in str(error.value)
    assert "which the serving pipeline lacks (it has stateless op 'round'" in str(error.value)


def test_a_model_inside_a_nested_pipeline_is_checked(store):
    client = serve(store, *build("train", "train_pca", "pred_nested_model"))
    train_and_save(client, "train")
    client.load_pipeline("pred_nested_model")
    assert client.call_pipeline("pred_nested_model", ROWS).value == flat_predictions(store)

    train_and_save(client, "train_pca")
    with pytest.raises(VersionError) as error:
        client.load_pipeline("pred_nested_model")
    assert "linearop" in str(error.value) and "pcaop" in str(error.value)


def test_an_upstream_inside_a_nested_serving_pipeline_is_checked_through_it(store):
    client = serve(store, *build("train", "train_pca", "pred_nested_upstream"))
    train_and_save(client, "train")
    client.load_pipeline("pred_nested_upstream")  # the PCA the linear regression was trained on: valid
    assert client.call_pipeline("pred_nested_upstream", ROWS).value == flat_predictions(store)

    train_and_save(client, "train_pca")
    with pytest.raises(VersionError) as error:
        client.load_pipeline("pred_nested_upstream")
    assert "linearop" in str(error.value) and "pcaop" in str(error.value)


def test_a_model_trained_behind_a_nested_pipeline_serves_in_a_flat_one(store):
    client = serve(store, *build("train_nested_upstream", "pred", "train_pca"))
    train_and_save(client, "train_nested_upstream")
    client.load_pipeline("pred")
    assert len(client.call_pipeline("pred", ROWS).value) == len(ROWS)

    train_and_save(client, "train_pca")
    with pytest.raises(VersionError):
        client.load_pipeline("pred")
