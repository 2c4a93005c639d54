"""Schema migrations of the op store database (Alembic, driven by Flask-Migrate or ``upgrade_database``)."""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Iterator, Union

from sqlalchemy import Engine, create_engine, inspect, text

__all__ = ["MIGRATIONS_DIRECTORY", "upgrade_database", "main"]

#: the Alembic script directory shipped in the package (``env.py``, ``versions/``)
MIGRATIONS_DIRECTORY = os.path.dirname(os.path.abspath(__file__))

# any constant works: it only has to be the same for every op store process
_POSTGRES_LOCK_ID = 0x43484152
# Alembic keeps the running migration in module globals: one upgrade at a time in a process
_PROCESS_LOCK = threading.Lock()


def upgrade_database(db: Union[str, Engine], revision: str = "head") -> None:
    """Brings an op store database up to date (creating its tables when it is fresh).

    Safe to run again on an up-to-date database, and safe to run from several processes at
    once (they take turns on an advisory lock on PostgreSQL, on a lock file next to a SQLite file).

    :param db: a SQLAlchemy database URL or engine
    :param revision: the Alembic revision to upgrade to
    :raises sqlalchemy.exc.OperationalError: if the database cannot be reached
    """
    from alembic import command
    from alembic.config import Config

    engine = create_engine(db) if isinstance(db, str) else db
    config = Config()
    config.set_main_option("script_location", MIGRATIONS_DIRECTORY)
    try:
        with _PROCESS_LOCK, _sqlite_file_lock(engine), engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:lock)"), {"lock": _POSTGRES_LOCK_ID})
            config.attributes["connection"] = connection
            tables = set(inspect(connection).get_table_names())
            if "alembic_version" not in tables and "ops" in tables:
                # tables made from the models (server.db.create_all()): they are the newest schema
                command.stamp(config, "head")
                return
            if "alembic_version" in tables and "ops" not in tables:
                # the tables were dropped (server.db.drop_all()) but not the stamp: make them again
                connection.execute(text("DELETE FROM alembic_version"))
            command.upgrade(config, revision)
    finally:
        if isinstance(db, str):
            engine.dispose()


@contextlib.contextmanager
def _sqlite_file_lock(engine: Engine) -> Iterator[None]:
    """On a SQLite file, one process upgrades at a time (SQLite has no advisory lock, and its
    DDL is not transactional): several op store processes may start on one fresh file."""
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    if not path or path == ":memory:" or path.startswith("file:") or not os.path.isdir(os.path.dirname(
            os.path.abspath(path))):
        yield  # nothing to share, or no folder yet: the upgrade says why it cannot open the file
        return
    import fcntl

    with open(os.path.abspath(path) + ".upgrade-lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def main(argv: Union[list, None] = None) -> None:
    """Command line: ``python -m chariots.op_store.migrations DB_URL [REVISION]``."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m chariots.op_store.migrations",
        description="Create or upgrade the tables of a Chariots op store database.",
    )
    parser.add_argument("db_url", help="SQLAlchemy URL of the database, e.g. sqlite:////tmp/op_store.db")
    parser.add_argument("revision", nargs="?", default="head", help="revision to upgrade to (default: head)")
    arguments = parser.parse_args(argv)
    upgrade_database(arguments.db_url, arguments.revision)
    print(f"op store database {arguments.db_url} upgraded to {arguments.revision}")
