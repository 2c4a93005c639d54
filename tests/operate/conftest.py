"""Fixtures of the operating tests: an op store and an iris pipelines server on 127.0.0.1."""
from __future__ import annotations

import pytest

from chariots.op_store import OpStoreClient, OpStoreServer
from chariots.op_store.savers import FileSaver
from chariots.pipelines import PipelinesServer
from tests.ml.iris_ops import client_docs_pipelines


@pytest.fixture
def op_store(wsgi_server, tmp_path):
    """A real op store server (FileSaver + SQLite file) on 127.0.0.1: (server, url)."""
    server = OpStoreServer(FileSaver(str(tmp_path / "models")), db_url=f"sqlite:///{tmp_path / 'store.db'}")
    return server, wsgi_server(server.flask)


@pytest.fixture
def iris_app(wsgi_server, op_store):
    """The client docs' train_pca, train_logistics and pred pipelines served over HTTP:
    (server, url, (train_pca, train_logistic, pred))."""
    pipelines = client_docs_pipelines()
    app = PipelinesServer(list(pipelines), op_store_client=OpStoreClient(op_store[1]), import_name="iris_app")
    return app, wsgi_server(app), pipelines
