"""One op store database: its engine, sessions, and schema upgrades; one per server, no global."""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Any, Dict, Iterator, Tuple

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from chariots._wire import with_public_message
from chariots.errors import ServiceUnavailableError
from chariots.op_store.migrations import upgrade_database

__all__ = ["OpStoreDatabase", "UNREACHABLE", "is_unreachable"]

#: the driver errors that may mean "the database cannot be reached"
UNREACHABLE = (OperationalError, InterfaceError, PoolTimeoutError)
# what drivers say when the connection itself fails (an OperationalError can also be a missing table)
_CONNECTION_FAILURES = (
    "could not connect", "connection refused", "connection timed out", "timeout expired", "could not translate host",
    "server closed the connection", "terminating connection", "connection to server", "unable to open database",
    "no route to host", "name or service not known", "the database system is starting up", "connection reset",
    "ssl connection has been closed", "database is locked",
)


def is_unreachable(exc: BaseException) -> bool:
    """Whether a driver error means the database cannot be reached (not a bad query or schema)."""
    if isinstance(exc, (InterfaceError, PoolTimeoutError)):
        return True
    if not isinstance(exc, OperationalError):
        return False
    if getattr(exc, "connection_invalidated", False):
        return True
    text = str(getattr(exc, "orig", None) or exc).lower()
    return any(failure in text for failure in _CONNECTION_FAILURES)


class OpStoreDatabase:
    """The database of an op store: an engine, sessions, and the schema brought up to date.

    Creating it opens no connection; :meth:`upgrade_schema` (run by the server's start) does.

    :param db_url: any SQLAlchemy URL (a relative SQLite path is made absolute)
    """

    def __init__(self, db_url: str):
        self.url, engine_options, self.in_memory = _database_settings(db_url)
        self.engine: Engine = create_engine(self.url, **engine_options)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas(self.in_memory))
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        # one in-memory SQLite connection is shared by every thread: take turns on it
        self._lock: Any = threading.RLock() if self.in_memory else contextlib.nullcontext()
        self._schema_ready = False
        self._schema_lock = threading.Lock()

    @property
    def safe_url(self) -> str:
        """the URL with its password masked"""
        return make_url(self.url).render_as_string(hide_password=True)

    def unreachable(self, exc: BaseException) -> ServiceUnavailableError:
        """The error telling that this database cannot be reached, and where to look."""
        reason = getattr(exc, "orig", None) or exc
        reason_text = " ".join(str(reason).split()) or type(reason).__name__
        error = ServiceUnavailableError(
            f"the op store database is unreachable: {reason_text}; check that the database at "
            f"{self.safe_url} is up and reachable"
        )
        # an HTTP answer names no host, port or file: the server's log line does
        return with_public_message(error, "the op store database is unreachable")

    def upgrade_schema(self) -> None:
        """Creates or upgrades the tables (a no-op once done in this process).

        :raises ServiceUnavailableError: if the database cannot be reached
        """
        if self._schema_ready:
            return
        with self._schema_lock:
            if self._schema_ready:
                return
            try:
                with self._lock:
                    upgrade_database(self.engine)
            except UNREACHABLE as exc:
                if is_unreachable(exc):
                    raise self.unreachable(exc) from exc
                raise
            self._schema_ready = True

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        """A session for one unit of work; driver errors of an unreachable database become
        :class:`~chariots.errors.ServiceUnavailableError`."""
        self.upgrade_schema()
        with self._lock, self._sessions() as session:
            try:
                yield session
            except UNREACHABLE as exc:
                session.rollback()
                if is_unreachable(exc):
                    raise self.unreachable(exc) from exc
                raise

    def ping(self) -> None:
        """Runs ``SELECT 1``.

        :raises ServiceUnavailableError: if the database does not answer
        """
        with self.session() as session:
            session.execute(text("SELECT 1"))

    def close(self) -> None:
        """Closes the connections; the next use reconnects (an in-memory database is lost)."""
        self.engine.dispose()
        self._schema_ready = False

    def __repr__(self) -> str:
        return f"OpStoreDatabase({self.safe_url!r})"


def _database_settings(db_url: str) -> Tuple[str, Dict[str, Any], bool]:
    """The URL to use (SQLite paths made absolute), the engine options, and whether it is in memory."""
    url = make_url(db_url)
    if not url.drivername.startswith("sqlite"):
        return db_url, {"pool_pre_ping": True}, False
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        options = {"poolclass": StaticPool, "connect_args": {"check_same_thread": False}}
        return url.render_as_string(hide_password=False), options, True
    if not database.startswith("file:"):
        url = url.set(database=os.path.abspath(database))
    options = {"connect_args": {"check_same_thread": False, "timeout": 30}}
    return url.render_as_string(hide_password=False), options, False


def _sqlite_pragmas(in_memory: bool):
    def on_connect(dbapi_connection, connection_record) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if not in_memory:
            # readers do not wait for writers; commits stay durable
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    return on_connect
