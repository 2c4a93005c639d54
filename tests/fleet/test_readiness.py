"""Honest readiness, a start before the op store, corrupt stored versions and killed saves."""
from __future__ import annotations

import os
import time

import requests

from chariots import MLMode
from chariots.op_store import OpStoreClient
from chariots.op_store._names import op_bytes_path
from tests.fleet.fleet_app import MeanModel


def _post(url: str, route: str, body=None) -> dict:
    response = requests.post(url + route, json=body, timeout=30)
    assert response.status_code == 200, response.text
    return response.json()


def _readiness(url: str, times: int = 12) -> set:
    """The readiness statuses answered by the workers (several calls reach several of them)."""
    return {requests.get(url + "/ready", timeout=10).status_code for _ in range(times)}


def _wait_ready(url: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while _readiness(url) != {200}:
        assert time.monotonic() < deadline, requests.get(url + "/ready", timeout=10).json()
        time.sleep(0.2)


def _train_save(url: str, data) -> None:
    _post(url, "/pipelines/train/main", {"pipeline_input": data})
    _post(url, "/pipelines/train/save")
    _post(url, "/pipelines/train_two/main", {"pipeline_input": data})
    _post(url, "/pipelines/train_two/save")


def test_readiness_is_503_on_untrained_pipelines_and_200_after_a_load(fleet):
    fleet.start_op_store().start_pipelines()
    assert requests.get(fleet.url + "/health_check", timeout=10).json() == {"status": "ok"}  # alive
    ready = requests.get(fleet.url + "/ready", timeout=10)
    assert ready.status_code == 503
    assert ("pipeline 'pred' cannot predict: op(s) 'meanmodel' were never trained or loaded (train and save "
            "them, then load the pipeline)") in ready.json()["reasons"]
    health = requests.get(fleet.url + "/pipelines/pred/health_check", timeout=10).json()
    assert health["is_loaded"] is False and health["untrained_ops"] == ["meanmodel"]
    assert health["generation"] == 0
    _train_save(fleet.url, [1.0, 3.0])
    _post(fleet.url, "/pipelines/pred/load")
    assert 503 in _readiness(fleet.url)  # pred_two still cannot predict
    _post(fleet.url, "/pipelines/pred_two/load")
    _wait_ready(fleet.url)
    # a process learns of a generation at its next poll (1 s): then every one names it
    deadline = time.monotonic() + 5
    while True:
        healths = [requests.get(fleet.url + "/pipelines/pred/health_check", timeout=10).json() for _ in range(12)]
        if all(health["generation"] == 1 for health in healths) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert all(health["is_loaded"] is True and health["generation"] == 1 for health in healths), healths


def test_a_server_started_before_its_op_store_is_ready_once_the_store_is_up(fleet):
    fleet.start_pipelines()
    ready = requests.get(fleet.url + "/ready", timeout=10)
    assert ready.status_code == 503
    assert ready.json()["reasons"][0].startswith("the op store could not be reached at start (ServiceUnavailableError:")
    fleet.start_op_store()
    deadline = time.monotonic() + 20
    while any("could not be reached" in " ".join(requests.get(fleet.url + "/ready", timeout=10).json()["reasons"])
              for _ in range(8)):
        assert time.monotonic() < deadline, "the server never reached its op store"
        time.sleep(0.2)
    _train_save(fleet.url, [2.0])
    _post(fleet.url, "/pipelines/pred/load")
    _post(fleet.url, "/pipelines/pred_two/load")
    _wait_ready(fleet.url)
    assert _post(fleet.url, "/pipelines/pred/main", {"pipeline_input": [0]})["pipeline_output"] == [2.0]


def _corrupt_newest(fleet) -> None:
    store = OpStoreClient(fleet.op_store_url)
    newest = store.get_all_versions_of_op("meanmodel")[-1]
    with open(os.path.join(fleet.root, *op_bytes_path("meanmodel", newest).split("/")), "wb") as file:
        file.write(b"not a model")


def _predictions(url: str, times: int = 12) -> set:
    return {tuple(_post(url, "/pipelines/pred/main", {"pipeline_input": [0]})["pipeline_output"])
            for _ in range(times)}


def test_a_corrupt_newest_version_is_refused_loudly_and_the_server_says_why(fleet, caplog):
    fleet.start_op_store().start_pipelines()
    _train_save(fleet.url, [1.0, 3.0])
    _post(fleet.url, "/pipelines/train/main", {"pipeline_input": [10.0]})
    _post(fleet.url, "/pipelines/train/save")
    _corrupt_newest(fleet)
    # a restart with no generation recorded: the newest version's bytes carry no valid signature
    # any more, and bytes nobody can verify are never served, nor silently skipped
    fleet.stop("pipelines")
    fleet.start_pipelines()
    assert requests.get(fleet.url + "/health_check", timeout=10).status_code == 200  # up, and says why
    health = requests.get(fleet.url + "/pipelines/pred/health_check", timeout=10).json()
    assert health["is_loaded"] is False
    assert health["load_refused"].startswith("SignatureError: version ")
    refused = requests.post(fleet.url + "/pipelines/pred/load", timeout=30)
    assert refused.status_code == 403 and refused.json()["error"]["type"] == "SignatureError"
    store = OpStoreClient(fleet.op_store_url)
    assert store.latest_generation("pred") is None  # nothing recorded
    log = (fleet.logs / "pipelines.log").read_text()
    assert "pipeline 'pred' kept its in-memory ops" in log


def test_a_restart_serves_the_last_loaded_generation_not_the_newest_versions(fleet):
    fleet.start_op_store().start_pipelines()
    _train_save(fleet.url, [4.0])
    _post(fleet.url, "/pipelines/pred/load")
    _post(fleet.url, "/pipelines/train/main", {"pipeline_input": [8.0]})
    _post(fleet.url, "/pipelines/train/save")  # saved, never loaded
    fleet.stop("pipelines")
    fleet.start_pipelines()
    assert _predictions(fleet.url) == {(4.0,)}
    health = requests.get(fleet.url + "/pipelines/pred/health_check", timeout=10).json()
    assert health["generation"] == 1


def test_the_op_store_sweeps_temporary_files_left_by_killed_saves(fleet):
    stale = fleet.root / "ops" / "meanmodel" / ".tmp-abc.xyz"
    fresh = fleet.root / "ops" / "meanmodel" / ".tmp-def.xyz"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"x" * 1024)
    fresh.write_bytes(b"y")
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    fleet.start_op_store()
    assert not stale.exists()
    assert fresh.exists()  # written within 5 minutes: maybe another op store process is writing it
    log = (fleet.logs / "op_store.log").read_text()
    assert "the op store removed 1 temporary files left by interrupted saves" in log


def test_a_loaded_model_is_the_state_in_the_store(fleet):
    fleet.start_op_store().start_pipelines()
    _train_save(fleet.url, [6.0])
    store = OpStoreClient(fleet.op_store_url)
    model = MeanModel(MLMode.PREDICT)
    model.load(store.get_op_bytes_for_version("meanmodel", store.get_all_versions_of_op("meanmodel")[-1]))
    assert model.model == {"mean": 6.0}
