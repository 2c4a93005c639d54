"""Op store fixtures: a server on every backend (SQLite, PostgreSQL, GCS emulator) and its clients."""

from __future__ import annotations

from typing import Iterator, Tuple

import pytest

from chariots.op_store import OpStoreClient, OpStoreServer
from chariots.op_store._database import OpStoreDatabase
from chariots.op_store._service import OpStoreService
from chariots.op_store.savers import BaseSaver, FileSaver, GoogleStorageSaver

BACKENDS = [
    "sqlite-memory",
    "sqlite-file",
    pytest.param("postgres", marks=pytest.mark.postgres),
    pytest.param("gcs", marks=pytest.mark.gcs),
]


@pytest.fixture
def saver_root(tmp_path):
    """The root of the test's FileSaver, inside ``tmp_path`` (so escapes can be looked for)."""
    return tmp_path / "saver"


@pytest.fixture(params=BACKENDS)
def backend(request, tmp_path, saver_root) -> Tuple[BaseSaver, str]:
    """``(saver, db_url)`` of one backend: SQLite in memory or in a file, PostgreSQL, or GCS."""
    if request.param == "sqlite-memory":
        return FileSaver(str(saver_root)), "sqlite:///:memory:"
    if request.param == "sqlite-file":
        return FileSaver(str(saver_root)), f"sqlite:///{tmp_path / 'op_store.db'}"
    if request.param == "postgres":
        return FileSaver(str(saver_root)), request.getfixturevalue("postgres_schema_url")
    bucket_name, client_kwargs = request.getfixturevalue("gcs_bucket")
    return GoogleStorageSaver("chariots/ops", bucket_name, client_kwargs), f"sqlite:///{tmp_path / 'op_store.db'}"


@pytest.fixture
def op_store_server(backend) -> Iterator[OpStoreServer]:
    saver, db_url = backend
    server = OpStoreServer(saver, db_url=db_url)
    yield server
    server.close()


@pytest.fixture
def op_store_url(op_store_server, wsgi_server) -> str:
    """The URL of ``op_store_server`` served by a real HTTP server on 127.0.0.1."""
    return wsgi_server(op_store_server.flask)


@pytest.fixture
def op_store_client(op_store_url) -> Iterator[OpStoreClient]:
    client = OpStoreClient(op_store_url)
    yield client
    client.close()


@pytest.fixture
def file_server(saver_root, tmp_path) -> Iterator[OpStoreServer]:
    """An op store on a SQLite file and a FileSaver, for the tests of the HTTP layer."""
    server = OpStoreServer(FileSaver(str(saver_root)), db_url=f"sqlite:///{tmp_path / 'op_store.db'}")
    yield server
    server.close()


@pytest.fixture
def http(file_server):
    """Flask's test client of ``file_server``."""
    return file_server.flask.test_client()


@pytest.fixture(params=["sqlite-file", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> str:
    """The op store service's database: a SQLite file, or a fresh schema in PostgreSQL."""
    if request.param == "sqlite-file":
        return f"sqlite:///{tmp_path / 'op_store.db'}"
    return request.getfixturevalue("postgres_schema_url")


@pytest.fixture
def database(db_url) -> Iterator[OpStoreDatabase]:
    """The op store's database handle on ``db_url``, closed after the test."""
    database = OpStoreDatabase(db_url)
    yield database
    database.close()


@pytest.fixture
def service(saver_root, database) -> OpStoreService:
    """An op store service on a FileSaver and ``database``, started (tables created)."""
    service = OpStoreService(FileSaver(str(saver_root)), database)
    service.start()
    return service
