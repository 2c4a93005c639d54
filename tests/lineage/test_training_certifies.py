"""Hole 1: validity comes from training, never from saving or registering."""

from __future__ import annotations

import pytest

from chariots.errors import VersionError
from tests.lineage.conftest import serve
from tests.lineage.lineage_ops import ROWS, build, scale_class, standardize_class


def assert_refused(error: VersionError, *op_names: str) -> None:
    message = str(error)
    for name in op_names:
        assert name in message, f"{name!r} is not named in the VersionError: {message}"


def assert_still_serves(client, pipeline, served, *names):
    """A reload either refuses (naming the ops) or finds nothing new to serve: the served pair stays."""
    try:
        client.load_pipeline(pipeline)
    except VersionError as error:
        assert_refused(error, *names)
    assert client.pipeline_versions(pipeline) == served


def test_saving_a_loaded_but_untrained_model_does_not_certify_it(store):
    client = serve(store, *build("train", "retrain_pca_keep_linear", "pred"))
    client.call_pipeline("train")
    client.save_pipeline("train")
    client.load_pipeline("pred")
    assert len(client.call_pipeline("pred", ROWS).value) == len(ROWS)
    served = client.pipeline_versions("pred")

    # the PCA is retrained; the linear regression is loaded and would predict behind it: the run
    # stops there, and saving afterwards certifies nothing for the linear regression
    client.load_pipeline("retrain_pca_keep_linear")
    with pytest.raises(VersionError) as refused_run:
        client.call_pipeline("retrain_pca_keep_linear")
    assert_refused(refused_run.value, "linearop", "pcaop")
    client.save_pipeline("retrain_pca_keep_linear")

    assert_still_serves(client, "pred", served, "linearop", "pcaop")


def test_a_diamond_branch_that_only_predicted_is_not_certified(store):
    client = serve(store, *build("train_diamond", "retrain_branch_a", "pred_diamond"))
    client.call_pipeline("train_diamond")
    client.save_pipeline("train_diamond")
    client.load_pipeline("pred_diamond")
    assert len(client.call_pipeline("pred_diamond", ROWS).value) == len(ROWS)
    served = client.pipeline_versions("pred_diamond")

    client.load_pipeline("retrain_branch_a")
    with pytest.raises(VersionError):  # PCA and branch A retrain; branch B would predict behind the new PCA
        client.call_pipeline("retrain_branch_a")
    client.save_pipeline("retrain_branch_a")

    assert_still_serves(client, "pred_diamond", served, "branchbop", "pcaop")


def _trained_behind_standardize_v1(store):
    client = serve(store, *build("train_std", "pred_std"))
    client.call_pipeline("train_std")
    client.save_pipeline("train_std")
    client.load_pipeline("pred_std")
    return client.call_pipeline("pred_std", ROWS).value


def test_code_change_of_the_upstream_model_without_a_new_pipeline_is_refused(store, open_another_client):
    _trained_behind_standardize_v1(store)

    # a new release changes StandardizeOp's parameters; a server restarts with it
    changed = standardize_class(with_mean=False)
    client = serve(open_another_client(), *build("train_std_only", "pred_std", standardize=changed))
    client.call_pipeline("train_std_only")
    client.save_pipeline("train_std_only")

    with pytest.raises(VersionError) as error:
        client.load_pipeline("pred_std")
    assert_refused(error.value, "linearop", "standardizeop")


def test_code_change_of_the_upstream_model_with_a_new_pipeline_is_refused(store, open_another_client):
    _trained_behind_standardize_v1(store)

    # the new release also adds a prediction pipeline: the server registers it at start
    changed = standardize_class(with_mean=False)
    client = serve(
        open_another_client(), *build("pred_std_new", "train_std_only", "pred_std", standardize=changed)
    )
    client.call_pipeline("train_std_only")
    client.save_pipeline("train_std_only")

    # the linear regression was trained behind StandardizeOp v1 only
    with pytest.raises(VersionError) as error:
        client.load_pipeline("pred_std")
    assert_refused(error.value, "linearop", "standardizeop")
    with pytest.raises(VersionError):
        client.load_pipeline("pred_std_new")


def test_code_change_of_a_stateless_op_between_models_with_a_new_pipeline_is_refused(store, open_another_client):
    client = serve(store, *build("train_scaled", "pred_scaled"))
    client.call_pipeline("train_scaled")
    client.save_pipeline("train_scaled")
    client.load_pipeline("pred_scaled")

    # Scale's factor changes in a new release that also adds a pipeline
    client = serve(open_another_client(), *build("pred_scaled_new", "pred_scaled", scale=scale_class(3.0)))
    with pytest.raises(VersionError) as error:
        client.load_pipeline("pred_scaled_new")
    assert_refused(error.value, "linearop", "scale")
    with pytest.raises(VersionError):
        client.load_pipeline("pred_scaled")
