"""The docs' "You can also access the .db and .migrate to control the db": each op store server
has its own Flask-SQLAlchemy and Flask-Migrate, usable outside any app context."""

from __future__ import annotations

import hashlib

import flask
import pytest
from sqlalchemy import inspect, text

from chariots.op_store import OpStoreServer
from chariots.op_store.models import Base
from chariots.op_store.savers import FileSaver
from chariots.versioning import Version

TABLES = set(Base.metadata.tables)


def version(tag: str) -> Version:
    digest = hashlib.sha1(tag.encode()).hexdigest()
    return Version(digest, digest, digest, creation_time=1.0)


def table_names(engine) -> set:
    return set(inspect(engine).get_table_names()) & TABLES


@pytest.fixture
def make_server(tmp_path):
    servers = []

    def make(name: str, **kwargs) -> OpStoreServer:
        server = OpStoreServer(
            FileSaver(str(tmp_path / name / "saver")), db_url=f"sqlite:///{tmp_path / f'{name}.db'}", **kwargs
        )
        servers.append(server)
        return server

    yield make
    for server in servers:
        server.close()


def test_db_engine_create_all_and_drop_all_work_outside_an_app_context(make_server, tmp_path):
    server = make_server("store", start=False)
    assert not flask.has_app_context()
    engine = server.db.engine
    assert engine is server.service.database.engine
    assert engine.url.database == str(tmp_path / "store.db")
    assert table_names(engine) == set()
    server.db.create_all()
    assert table_names(engine) == TABLES
    server.db.drop_all()
    assert table_names(engine) == set()
    assert not flask.has_app_context()


def test_drop_all_then_create_all_empties_a_working_store(make_server):
    server = make_server("store")
    server.service.record_pipeline("train", ["pca"])
    server.db.drop_all()
    server.db.create_all()
    assert server.service.pipeline_names() == []
    server.service.record_pipeline("predict", ["pca"])
    assert server.service.pipeline_names() == ["predict"]


def test_a_store_whose_tables_were_dropped_makes_them_again(make_server):
    server = make_server("store")
    server.service.record_pipeline("train", ["pca"])
    server.db.drop_all()
    server.close()  # forgets that the schema was made: the next use upgrades again
    server.service.record_pipeline("train", ["pca"])
    assert server.service.pipeline_names() == ["train"]


def test_tables_made_by_create_all_serve_the_store(make_server):
    server = make_server("store", start=False)
    server.db.create_all()
    server.service.record_pipeline("train", ["pca"])
    with server.db.engine.connect() as connection:
        assert connection.execute(text("SELECT name FROM pipelines")).scalars().all() == ["train"]


def test_migrate_is_this_servers_flask_migrate(make_server):
    server = make_server("store")
    assert server.migrate.db is server._flask_db
    assert server.migrate.directory.endswith("migrations")


def test_two_servers_on_different_databases_keep_their_own_engines(make_server, tmp_path):
    first, second = make_server("first"), make_server("second")
    assert first.db.engine is not second.db.engine
    assert first.db.engine.url.database == str(tmp_path / "first.db")
    assert second.db.engine.url.database == str(tmp_path / "second.db")

    first.service.record_pipeline("only_in_first", ["a"])
    first.service.save_op_bytes("model", version("v1"), b"bytes")
    assert first.service.pipeline_names() == ["only_in_first"]
    assert second.service.pipeline_names() == []
    assert second.service.get_all_versions_of_op("model") == []
    with second.db.engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM pipelines")).scalar() == 0

    # dropping the tables of one leaves the other's intact
    second.db.drop_all()
    assert table_names(second.db.engine) == set()
    assert table_names(first.db.engine) == TABLES
    assert first.service.pipeline_names() == ["only_in_first"]
