"""Open routes name no path (issue 19, finding 8): a replica whose key differs from the one that
signed the served states says so on ``/ready`` and its pipelines' health checks by key id, never
by the key file's absolute path."""
from __future__ import annotations

import json
import logging

import pytest

from chariots._signing import SECRET_KEY_ENV, SECRET_KEY_FILE_ENV
from chariots.op_store import OpStoreClient, OpStoreServer
from chariots.op_store.savers import FileSaver
from chariots.pipelines import PipelinesServer
from chariots.pipelines.runners import SequentialRunner
from tests.ml.iris_ops import getting_started_pipelines
from tests.security.conftest import KEY
from tests.security.test_hostile_corpus import request, send


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request, tmp_path, wsgi_server):
    db_url = f"sqlite:///{tmp_path / 'store.db'}" if request.param == "sqlite" \
        else request.getfixturevalue("postgres_schema_url")
    server = OpStoreServer(FileSaver(str(tmp_path / "models")), db_url=db_url)
    yield wsgi_server(server.flask)
    server.close()


def test_a_replica_with_another_key_names_no_path_on_its_open_routes(store_url, tmp_path, monkeypatch, wsgi_server,
                                                                     caplog):
    good = OpStoreClient(store_url, secret_key=KEY)
    train, pred = getting_started_pipelines()
    SequentialRunner().run(train)
    train.save(good)
    first = PipelinesServer([train, pred], op_store_client=good, import_name="replica_a", follow_generations=True)
    first.service.load_pipeline("pred")  # records the generation every replica serves

    key_folder = tmp_path / "a-very-private-folder"
    monkeypatch.delenv(SECRET_KEY_ENV, raising=False)
    monkeypatch.setenv(SECRET_KEY_FILE_ENV, str(key_folder / "secret_key"))  # this replica's own, other key
    wrong = OpStoreClient(store_url)
    with caplog.at_level(logging.ERROR):
        replica = PipelinesServer(list(getting_started_pipelines()), op_store_client=wrong, import_name="replica_b",
                                  poll_interval=0.05)
        port = int(wsgi_server(replica).rsplit(":", 1)[1])
        ready = send(port, request("GET", "/ready"))
        health = send(port, request("GET", "/pipelines/pred/health_check"))
    assert ready.status == 503
    reasons = json.loads(ready.body)["reasons"]
    shown = json.dumps(reasons) + health.body.decode()
    assert "is signed with a key this process does not accept" in shown
    assert f"the key from a key file (key id {wrong.signing_keys.fingerprint})" in shown
    assert str(tmp_path) not in shown and "a-very-private-folder" not in shown and "/" not in \
        shown.replace("/ready", "")
    # the log says which key refused it the same way: compare key ids across processes
    assert any(wrong.signing_keys.fingerprint in record.getMessage() for record in caplog.records)
    for client in (good, wrong):
        client.close()
