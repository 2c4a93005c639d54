"""Stores of the lineage tests, on SQLite and PostgreSQL, and servers on them.

``store_address`` is what a second process needs to reach the same store: a directory for
SQLite (an embedded store, opened with :class:`~chariots.testing.TestOpStoreClient`), the URL
of an :class:`~chariots.op_store.OpStoreServer` on a fresh PostgreSQL schema otherwise.
``http_store`` is an op store served over HTTP on either database, for the tests that kill a
process in the middle of a save.
"""

from __future__ import annotations

from typing import Iterator, List, NamedTuple

import pytest

pytest.importorskip("sklearn", reason="scikit-learn is not installed (pip install chariots[sklearn])")

from chariots.op_store import OpStoreServer  # noqa: E402
from chariots.op_store.savers import FileSaver  # noqa: E402
from chariots.pipelines import PipelinesServer  # noqa: E402
from chariots.testing import TestPipelinesClient  # noqa: E402
from tests.lineage.lineage_process import open_store  # noqa: E402

STORES = ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]


@pytest.fixture(params=STORES)
def store_address(request, tmp_path, wsgi_server) -> Iterator[str]:
    """Where the test's op store is: a directory (SQLite) or an op store URL (PostgreSQL)."""
    if request.param == "sqlite":
        yield str(tmp_path / "store")
        return
    server = OpStoreServer(FileSaver(str(tmp_path / "saver")), db_url=request.getfixturevalue("postgres_schema_url"))
    try:
        yield wsgi_server(server.flask)
    finally:
        server.close()


@pytest.fixture
def store(store_address):
    """A client of the test's op store."""
    client = open_store(store_address)
    yield client
    client.close()


@pytest.fixture
def open_another_client(store_address):
    """Opens more clients on the same store (what another server, or another host, holds)."""
    clients: List = []

    def open_client():
        clients.append(open_store(store_address))
        return clients[-1]

    yield open_client
    for client in clients:
        client.close()


class HTTPStore(NamedTuple):
    url: str
    saver_root: str
    db_url: str


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def http_store_settings(request, tmp_path) -> HTTPStore:
    """Where an op store served over HTTP keeps its bytes and its database (not started)."""
    if request.param == "sqlite":
        db_url = f"sqlite:///{tmp_path / 'op_store.db'}"
    else:
        db_url = request.getfixturevalue("postgres_schema_url")
    return HTTPStore("", str(tmp_path / "saver"), db_url)


@pytest.fixture
def http_store(http_store_settings, wsgi_server) -> Iterator[HTTPStore]:
    """An op store served over HTTP by a real server thread of this process."""
    server = OpStoreServer(FileSaver(http_store_settings.saver_root), db_url=http_store_settings.db_url)
    try:
        yield http_store_settings._replace(url=wsgi_server(server.flask))
    finally:
        server.close()


def serve(store, *pipelines) -> TestPipelinesClient:
    """A pipelines server on the store (pipelines never seen are registered, the others loaded)."""
    return TestPipelinesClient(PipelinesServer(list(pipelines), op_store_client=store))
