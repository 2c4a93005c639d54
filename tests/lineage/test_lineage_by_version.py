"""Hole 2: validity belongs to a version of the model, not to a pair of op names.

A model retrained behind a stale upstream (another server, a pipeline not reloaded), or
behind another upstream op, must not be served behind the upstream some older version of it
was trained on: the load serves the newest model version trained behind what is loaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from chariots.errors import VersionError
from tests.lineage.conftest import serve
from tests.lineage.lineage_ops import ROWS, build

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def train_and_save(client, name: str) -> dict:
    client.call_pipeline(name)
    client.save_pipeline(name)
    return client.pipeline_versions(name)


def test_two_servers_a_model_retrained_behind_a_stale_upstream_is_not_served(store, open_another_client):
    server_a = serve(store, *build("train", "pred"))
    server_b = serve(open_another_client(), *build("train_linear"))
    train_and_save(server_a, "train")
    server_b.load_pipeline("train_linear")  # server B holds the first PCA from now on

    fresh = train_and_save(server_a, "train")  # PCA and linear regression retrained together
    stale = train_and_save(server_b, "train_linear")  # a newer linear regression, behind the old PCA
    assert stale["linearop"].creation_time > fresh["linearop"].creation_time

    server_a.load_pipeline("pred")
    served = server_a.pipeline_versions("pred")
    assert served["pcaop"] == fresh["pcaop"]
    assert served["linearop"] == fresh["linearop"], "served the linear regression trained behind the old PCA"


def test_a_second_process_retrains_the_upstream_and_the_stale_server_cannot_certify(store, store_address):
    """Server A in this process, another server in a real second process, one store."""
    server_a = serve(store, *build("train", "train_linear", "pred"))
    train_and_save(server_a, "train")
    server_a.load_pipeline("train_linear")  # holds the first PCA from now on

    result = subprocess.run(
        [sys.executable, "-m", "tests.lineage.lineage_process", "train", store_address, "train"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    fresh = json.loads(result.stdout.strip().splitlines()[-1])

    stale = train_and_save(server_a, "train_linear")  # newer linear regression, behind the first PCA
    assert str(stale["linearop"]) != fresh["linearop"]

    server_a.load_pipeline("pred")
    served = {name: str(version) for name, version in server_a.pipeline_versions("pred").items()}
    assert served == {"pcaop": fresh["pcaop"], "linearop": fresh["linearop"]}
    expected = serve(store, *build("pred_again"))
    expected.load_pipeline("pred_again")
    assert server_a.call_pipeline("pred", ROWS).value == expected.call_pipeline("pred_again", ROWS).value


def test_a_model_trained_behind_another_upstream_op_is_not_served_behind_the_pca(store):
    client = serve(store, *build("train", "train_linear_on_scaler", "pred"))
    behind_pca = train_and_save(client, "train")
    client.load_pipeline("pred")
    predictions = client.call_pipeline("pred", ROWS).value

    behind_scaler = train_and_save(client, "train_linear_on_scaler")  # the newest linear regression
    assert behind_scaler["linearop"].creation_time > behind_pca["linearop"].creation_time

    client.load_pipeline("pred")
    assert client.pipeline_versions("pred")["linearop"] == behind_pca["linearop"]
    assert client.call_pipeline("pred", ROWS).value == predictions


def test_chain_of_three_serves_the_newest_consistent_set(store, open_another_client):
    server_a = serve(store, *build("train_chain", "pred_chain"))
    server_b = serve(open_another_client(), *build("train_chain_linear"))
    train_and_save(server_a, "train_chain")
    server_b.load_pipeline("train_chain_linear")  # PCA 1 and scaler 1 from now on

    fresh = train_and_save(server_a, "train_chain")  # PCA 2, scaler 2, linear 2
    stale = train_and_save(server_b, "train_chain_linear")  # linear 3 behind scaler 1
    assert stale["linearop"].creation_time > fresh["linearop"].creation_time

    server_a.load_pipeline("pred_chain")
    assert server_a.pipeline_versions("pred_chain") == {
        "pcaop": fresh["pcaop"], "scalerop": fresh["scalerop"], "linearop": fresh["linearop"]
    }


def test_chain_of_three_a_retrained_middle_refuses_the_old_last_model(store):
    client = serve(store, *build("train_chain", "train_pca_scaler", "pred_chain"))
    train_and_save(client, "train_chain")
    client.load_pipeline("pred_chain")
    train_and_save(client, "train_pca_scaler")  # PCA 2 and scaler 2; the linear regression is behind scaler 1

    with pytest.raises(VersionError) as error:
        client.load_pipeline("pred_chain")
    assert "linearop" in str(error.value) and "scalerop" in str(error.value)


def test_chain_of_three_retrained_upstreams_with_the_last_model_only_loaded(store):
    client = serve(store, *build("train_chain", "retrain_chain_keep_linear", "pred_chain"))
    train_and_save(client, "train_chain")
    client.load_pipeline("pred_chain")
    served = client.pipeline_versions("pred_chain")
    client.load_pipeline("retrain_chain_keep_linear")
    with pytest.raises(VersionError) as refused_run:  # PCA and scaler retrained; linear would predict behind them
        client.call_pipeline("retrain_chain_keep_linear")
    assert "linearop" in str(refused_run.value) and "scalerop" in str(refused_run.value)
    client.save_pipeline("retrain_chain_keep_linear")

    try:  # refused, or nothing new to serve: never the linear model behind the retrained upstreams
        client.load_pipeline("pred_chain")
    except VersionError as error:
        assert "linearop" in str(error) and "scalerop" in str(error)
    assert client.pipeline_versions("pred_chain") == served


def test_two_chariots_apps_on_one_app_path(tmp_path):
    from chariots import Chariots
    from chariots.testing import TestPipelinesClient

    app_path = str(tmp_path / "app")
    server_a = TestPipelinesClient(Chariots(build("train", "pred"), app_path, import_name="app_a"))
    server_b = TestPipelinesClient(Chariots(build("train_linear"), app_path, import_name="app_b"))
    train_and_save(server_a, "train")
    server_b.load_pipeline("train_linear")

    fresh = train_and_save(server_a, "train")
    train_and_save(server_b, "train_linear")  # behind the first PCA

    server_a.load_pipeline("pred")
    assert server_a.pipeline_versions("pred") == {"pcaop": fresh["pcaop"], "linearop": fresh["linearop"]}
