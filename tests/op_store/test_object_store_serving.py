"""The iris pipelines trained, saved, restarted, loaded and served with the op store's models on a real
S3 server (moto's, on 127.0.0.1), then through FsspecSaver('memory://...'); an S3 outage mid-save."""
from __future__ import annotations

import re
import uuid

import pytest

from chariots import Client
from chariots.errors import ServiceUnavailableError
from chariots.op_store import OpStoreClient, OpStoreServer
from chariots.op_store.savers import FsspecSaver, S3Saver
from chariots.pipelines import PipelinesServer
from tests.conftest import S3Server

pytest.importorskip("sklearn")

from tests.ml.iris_ops import getting_started_pipelines  # noqa: E402

#: an outage shows within a second or two: one attempt, a short connect timeout
_FAIL_FAST = {"config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 1, "read_timeout": 5}}


def _serve(wsgi_server, saver, db_path):
    """An op store on ``saver`` and a pipelines server using it, both real servers on 127.0.0.1."""
    store_url = wsgi_server(OpStoreServer(saver, db_url=f"sqlite:///{db_path}").flask)
    train, pred = getting_started_pipelines()
    app = PipelinesServer([train, pred], op_store_client=OpStoreClient(store_url), import_name="iris_app")
    return Client(wsgi_server(app)), OpStoreClient(store_url), (train, pred)


def _savers(kind, s3_server):
    if kind == "s3":
        bucket = s3_server.new_bucket()
        return lambda: S3Saver(bucket=bucket, prefix="iris", endpoint_url=s3_server.endpoint_url,
                               storage_options=s3_server.storage_options())
    url = f"memory://chariots-iris-{uuid.uuid4().hex[:8]}/models"
    return lambda: FsspecSaver(url)


@pytest.mark.parametrize("kind", ["s3", "memory"])
def test_train_save_restart_load_and_serve_the_iris_pipelines(kind, request, wsgi_server, tmp_path):
    s3_server = request.getfixturevalue("s3_server") if kind == "s3" else None
    saver = _savers(kind, s3_server)
    client, store, (train, pred) = _serve(wsgi_server, saver(), tmp_path / "store.db")
    client.call_pipeline(train)
    client.save_pipeline(train)
    client.load_pipeline(pred)
    served = client.call_pipeline(pred, [[1, 2, 3, 4]])
    assert served.value == [1]
    versions = {name: store.get_all_versions_of_op(name) for name in ("pcaop", "logisticop")}
    assert [len(saved) for saved in versions.values()] == [1, 1]
    # a restart: new servers, new saver objects, the same bucket (or memory) and database
    client, store, (train, pred) = _serve(wsgi_server, saver(), tmp_path / "store.db")
    assert client.is_pipeline_loaded(pred)
    again = client.call_pipeline(pred, [[1, 2, 3, 4]])
    assert again.value == [1] and again.versions == served.versions


class _OutageAfterFirstUpload(S3Saver):
    """An S3Saver whose S3 server goes down once the first state of a save is uploaded."""

    def __init__(self, server: S3Server, bucket: str):
        super().__init__(bucket=bucket, endpoint_url=server.endpoint_url,
                         storage_options=server.storage_options(**_FAIL_FAST))
        self.server = server
        self.armed = False

    def save_stream(self, stream, path, size=None):
        saved = super().save_stream(stream, path, size)
        if self.armed:
            self.armed = False
            self.server.stop()
        return saved


def test_an_s3_outage_mid_save_leaves_the_store_as_it_was_answers_503_then_recovers(wsgi_server, tmp_path, caplog):
    server = S3Server().start()
    try:
        saver = _OutageAfterFirstUpload(server, server.new_bucket())
        client, store, (train, pred) = _serve(wsgi_server, saver, tmp_path / "store.db")
        client.call_pipeline(train)
        client.save_pipeline(train)
        client.load_pipeline(pred)
        before = {name: store.get_all_versions_of_op(name) for name in ("pcaop", "logisticop")}

        # a training's states go up to the store when it ends (a save in any process commits them):
        # the first one goes up, then S3 is down
        saver.armed = True
        with pytest.raises(ServiceUnavailableError, match=r"cannot be reached: see the pipelines server's log"):
            client.call_pipeline(train)
        # the log says what failed, naming the op and version (the answer names no host)
        assert re.search(r"S3Saver\('s3://chariots-test-[0-9a-f]+', endpoint_url='http://127.0.0.1:\d+'\) "
                         r"could not save version [0-9a-f]{5} of op '(pcaop|logisticop)' .*its store cannot be reached",
                         caplog.text)
        assert {name: store.get_all_versions_of_op(name) for name in before} == before  # nothing recorded
        assert client.call_pipeline(pred, [[1, 2, 3, 4]]).value == [1]  # what is served keeps serving

        server.start()  # S3 is back, on the same port, its buckets intact
        retrained = client.call_pipeline(train).versions
        client.save_pipeline(train)
        after = {name: store.get_all_versions_of_op(name) for name in before}
        assert [len(after[name]) for name in before] == [2, 2]
        assert {name: after[name][-1] for name in after} == {name: retrained[name] for name in after}
        client.load_pipeline(pred)
        assert client.call_pipeline(pred, [[1, 2, 3, 4]]).value == [1]
    finally:
        server.stop()
