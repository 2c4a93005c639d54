"""Logs a person can follow: request ids, one line per train/save/load/refused load/job change."""
from __future__ import annotations

import json
import logging
import re

import pytest
import requests

from chariots import _logging
from chariots.errors import ConfigError, VersionError
from chariots.pipelines import PipelinesClient, PipelinesServer
from chariots.serving._observing import ServiceObserver
from chariots.workers import JobStatus


def _records(caplog, request_id=None, event=None):
    return [
        record for record in caplog.records
        if (request_id is None or getattr(record, "request_id", None) == request_id)
        and (event is None or getattr(record, "event", None) == event)
    ]


def test_request_id_is_echoed_generated_and_on_every_line(iris_app, caplog):
    _, url, _ = iris_app
    caplog.set_level(logging.INFO, logger="chariots")
    sent = requests.post(url + "/pipelines/train_pca/main", json={}, headers={"X-Request-ID": "trace-42"})
    assert sent.status_code == 200
    assert sent.headers["X-Request-ID"] == "trace-42"
    made = requests.get(url + "/available_pipelines")
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
    # a forged id (spaces, newlines) is replaced, never echoed
    forged = requests.get(url + "/available_pipelines", headers={"X-Request-ID": "x\tnew line"})
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["X-Request-ID"])
    # the training line of that request carries its id
    (trained,) = _records(caplog, event="train")
    assert trained.request_id == "trace-42"
    assert trained.getMessage().startswith("trained pipeline 'train_pca' in ")
    assert "pcaop " in trained.getMessage() and " -> " in trained.getMessage()


def test_op_store_requests_carry_ids_too(op_store, caplog):
    _, url = op_store
    caplog.set_level(logging.INFO, logger="chariots")
    version = "a" * 40 + "_" + "b" * 40 + "_" + "c" * 40 + "_1.0"
    answer = requests.put(f"{url}/ops/someop/versions/{version}", data=b"bytes",
                          headers={"X-Request-ID": "store-1", "Content-Type": "application/octet-stream"})
    assert answer.status_code == 201
    assert answer.headers["X-Request-ID"] == "store-1"
    (line,) = [record for record in _records(caplog, "store-1") if record.name.startswith("chariots.op_store")]
    assert line.getMessage() == "op store saved op 'someop' at version aaaaa"


def test_one_line_per_save_load_and_refused_load(iris_app, caplog):
    _, url, (train_pca, train_logistic, pred) = iris_app
    caplog.set_level(logging.INFO, logger="chariots")
    client = PipelinesClient(url)
    client.call_pipeline(train_pca)
    client.save_pipeline(train_pca)
    with pytest.raises(VersionError):
        client.load_pipeline(pred)
    client.load_pipeline(train_logistic)
    (saved,) = _records(caplog, event="save")
    # the line names the states the save stored (the PCA's training), or every node's version
    assert re.fullmatch(r"saved pipeline 'train_pca' in \d+\.\d{3}s: (irisxdataset [0-9a-f]{5}, )?pcaop [0-9a-f]{5}",
                        saved.getMessage())
    (loaded,) = _records(caplog, event="load")
    # train_logistics picks up the newly trained PCA: its line shows the move
    assert re.fullmatch(r"loaded pipeline 'train_logistics' in \d+\.\d{3}s: .*pcaop [0-9a-f]{5} -> [0-9a-f]{5}.*",
                        loaded.getMessage())
    (refused,) = _records(caplog, event="load_refused")
    assert refused.levelno == logging.WARNING
    assert refused.getMessage().startswith("refused to load pipeline 'pred' after ")
    assert "op 'logisticop'" in refused.getMessage()
    assert refused.request_id != "-"


def test_job_state_changes_are_logged_once_each(caplog):
    caplog.set_level(logging.INFO, logger="chariots")
    observer = ServiceObserver(metrics=False)
    for status in (JobStatus.queued, JobStatus.queued, JobStatus.running, JobStatus.done, JobStatus.done):
        observer.job("pred", "job-1", status)
    assert [record.getMessage() for record in _records(caplog, event="job")] == [
        "job job-1 of pipeline 'pred': queued",
        "job job-1 of pipeline 'pred': queued -> running",
        "job job-1 of pipeline 'pred': running -> done",
    ]


def test_json_log_lines(iris_app, capsys):
    _, url, _ = iris_app
    handler = _logging.configure("json")
    try:
        requests.post(url + "/pipelines/train_pca/main", json={}, headers={"X-Request-ID": "json-1"})
    finally:
        logging.getLogger("chariots").removeHandler(handler)
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")]
    (train,) = [line for line in lines if line.get("event") == "train"]
    assert train["request_id"] == "json-1"
    assert train["level"] == "INFO" and train["logger"] == "chariots.pipelines"
    assert train["pipeline"] == "train_pca" and train["message"].startswith("trained pipeline 'train_pca'")


def test_log_format_is_checked(monkeypatch):
    with pytest.raises(ConfigError, match=r"^log_format is 'xml'; expected one of \['text', 'json'\]$"):
        PipelinesServer([], log_format="xml")
    monkeypatch.setenv("CHARIOTS_LOG_FORMAT", "yaml")
    with pytest.raises(ConfigError, match=r"^the environment variable CHARIOTS_LOG_FORMAT is 'yaml'"):
        _logging.configure()
