"""Schema migrations ship in the package and bring a fresh database up to date."""

from __future__ import annotations

import subprocess
import sys

import flask_migrate
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from chariots.op_store import OpStoreServer, upgrade_database
from chariots.op_store.models import Base
from chariots.op_store.savers import FileSaver

TABLES = {"alembic_version", "ops", "versions", "lineage_links", "pipelines", "served_generations", "staged_trainings",
          "signing_enabled"}


def table_names(db_url: str) -> set:
    engine = create_engine(db_url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_database_creates_the_tables_and_can_run_again(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'store.db'}"

    upgrade_database(db_url)
    upgrade_database(db_url)

    assert table_names(db_url) == TABLES


def test_the_command_line_upgrades_a_fresh_database(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'store.db'}"

    result = subprocess.run(
        [sys.executable, "-m", "chariots.op_store.migrations", db_url], capture_output=True, text=True
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"op store database {db_url} upgraded to head"
    assert table_names(db_url) == TABLES


@pytest.mark.parametrize("database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_the_models_match_the_migrations(request, tmp_path, database):
    db_url = (
        f"sqlite:///{tmp_path / 'store.db'}" if database == "sqlite" else request.getfixturevalue("postgres_schema_url")
    )
    upgrade_database(db_url)
    engine = create_engine(db_url)
    try:
        with engine.connect() as connection:
            differences = compare_metadata(
                MigrationContext.configure(connection, opts={"compare_type": True}), Base.metadata
            )
    finally:
        engine.dispose()

    assert differences == []


def test_the_server_upgrades_at_start_and_flask_migrate_drives_the_same_scripts(tmp_path):
    server = OpStoreServer(FileSaver(str(tmp_path / "saver")), db_url=f"sqlite:///{tmp_path / 'store.db'}")

    assert table_names(f"sqlite:///{tmp_path / 'store.db'}") == TABLES
    with server.flask.app_context():
        flask_migrate.upgrade(directory=server.migrate.directory)
        engine = server.db.engine
        with engine.connect() as connection:
            assert MigrationContext.configure(connection).get_current_revision() == "0005"
    server.close()
