"""The op store server: a Flask app translating HTTP into calls of the op store service."""

from __future__ import annotations

import functools
import inspect
import logging
import os
from typing import Any, Dict, List, Optional, Tuple

from flask import Flask, Response, request
from werkzeug.routing import PathConverter
from werkzeug.wsgi import wrap_file

from chariots import _http, _logging, _wire
from chariots._routes import install_routes
from chariots.errors import ChariotsError, OpStoreError, ServiceUnavailableError
from chariots.op_store._database import OpStoreDatabase, is_unreachable
from chariots.op_store._names import check_op_name, parse_version
from chariots.op_store._routes import ROUTES
from chariots.op_store._service import OpStoreService, stream_size
from chariots.op_store.migrations import MIGRATIONS_DIRECTORY
from chariots.op_store.savers import BaseSaver
from chariots.op_store.savers._base_saver import CHUNK_SIZE

__all__ = ["OpStoreServer", "DEFAULT_MAX_CONTENT_LENGTH"]

logger = logging.getLogger(__name__)

#: the default cap on request bodies: 2 GiB
DEFAULT_MAX_CONTENT_LENGTH = 2 * 1024**3

#: the SQLite file an embedded op store keeps under its path
EMBEDDED_DB_FILE = "op_store.sqlite3"
_HEALTH_CHECK = "/health_check"
_OCTET_STREAM = "application/octet-stream"
_HOW_TO_SEND = "OpStoreClient(url, auth_token=...)"


class OpStoreServer:
    """The server saving and loading ops and keeping track of their versions.

    It is built around a Flask app (``.flask``) over a plain :class:`OpStoreService`
    (``.service``); ``.db`` (Flask-SQLAlchemy) and ``.migrate`` (Flask-Migrate) control its
    database, each call made through them entering the app's context. The database schema is
    created or upgraded when the server starts (or, if the database is down then, at the first
    request once it is back). Use it through HTTP with :class:`~chariots.op_store.OpStoreClient`:

    >>> from chariots.op_store import savers
    >>> saver = savers.FileSaver(saver_path)
    >>> op_store = OpStoreServer(saver=saver, db_url=my_url)
    >>> op_store.flask
    <Flask 'OpStoreServer'>

    The bytes of an op version are written to the saver before the version is recorded in
    the database, so every version the store lists can be loaded. Routes (JSON unless said
    otherwise; errors are ``{"error": {"type": ..., "message": ...}}`` with a 4xx/5xx status):

    - ``GET /health_check``: ``{"status": "ok"}``, or 503 when the database is unreachable
    - ``GET /ops/<op_name>/versions``: ``{"op_name": ..., "versions": [str(version), ...]}``
    - ``PUT /ops/<op_name>/versions/<version>``: raw ``application/octet-stream`` body, saved
      then registered (201, or 200 when that version was already there)
    - ``GET /ops/<op_name>/versions/<version>``: the saved bytes, raw
    - ``POST /validated_links``: ``{"downstream_op", "upstream_op", "upstream_op_version"}``
    - ``GET /validated_links?downstream_op=...&upstream_op=...``: ``{"versions": [...]}``
    - ``GET /ops/<op_name>/states``: every saved state with its class, lineage and links
    - ``PUT /ops/<op_name>/uploads/<version>``: the raw bytes of a state, listed once committed
    - ``POST /saves``: ``{"pipeline_name", "node_names", "states"}`` commits uploaded states and
      their lineage in one transaction
    - ``POST /pipelines``: ``{"pipeline_name", "node_names"}``; ``GET /pipelines`` lists the
      names; ``GET /pipelines/<pipeline_name>`` (404 when never seen)
    - ``/generations`` and ``/staged_trainings``: served generations and staged trainings,
      shared by every serving process (the whole table: :mod:`chariots.op_store._routes`)

    :param saver: where the bytes of the ops go
    :param db_url: the SQLAlchemy URL of the database holding versions, links and pipelines
    :param auth_token: when given, every route but ``/health_check`` requires the header
                       ``Authorization: Bearer <auth_token>``
    :param max_content_length: the largest request body accepted, in bytes (None: no limit)
    :param allowed_hosts: the host names requests may name in their ``Host`` header (None: loopback
                          names on a loopback address, any elsewhere; see :mod:`chariots._http`)
    :param start: upgrade the database schema now (the default); with False, call :meth:`start`
    :param metrics: count and time requests and serve them at ``GET /metrics`` (Prometheus text
                    format; see :mod:`chariots._metrics`)
    :param metrics_open: serve ``/metrics`` without the bearer token
    :param log_format: give the ``chariots`` loggers a handler writing ``'text'`` or ``'json'``
                       lines (None: the ``CHARIOTS_LOG_FORMAT`` environment variable, else leave
                       logging as the application set it)
    """

    def __init__(
        self,
        saver: BaseSaver,
        db_url: str = "sqlite:///:memory:",
        auth_token: Optional[str] = None,
        max_content_length: Optional[int] = DEFAULT_MAX_CONTENT_LENGTH,
        start: bool = True,
        metrics: bool = True,
        allowed_hosts: Optional[List[str]] = None,
        metrics_open: bool = False,
        log_format: Optional[str] = None,
    ):
        if not isinstance(saver, BaseSaver):
            raise TypeError(f"OpStoreServer needs a saver (a BaseSaver), got {saver!r}")
        self.service = OpStoreService(saver, OpStoreDatabase(db_url), metrics=metrics)
        self._auth_token = _http.checked_token_setting(auth_token, "OpStoreServer(auth_token=...)")
        self._metrics = (metrics, metrics_open)
        _logging.configure(log_format)
        self.flask = Flask("OpStoreServer", root_path=os.path.dirname(os.path.abspath(__file__)), static_folder=None)
        self.flask.config["MAX_CONTENT_LENGTH"] = max_content_length
        self.flask.config[_http.ALLOWED_HOSTS_CONFIG] = _http.checked_allowed_hosts(allowed_hosts, "allowed_hosts")
        self._flask_db, self._migrate = _flask_extensions(self.flask, self.service.database)
        self._add_routes()
        if start:
            self.start()

    @classmethod
    def embedded(
        cls, path: str, saver: Optional[BaseSaver] = None, auth_token: Optional[str] = None
    ) -> "OpStoreServer":
        """An op store on a SQLite file under ``path`` and, by default, a FileSaver rooted at ``path``
        (what ``Chariots`` and the testing clients use).

        :param path: the directory holding the database (and the saved ops, by default); created if missing
        :param saver: the saver to use instead of ``FileSaver(path)``
        :param auth_token: the bearer token the server requires (None: no auth)
        """
        from chariots.op_store.savers import FileSaver

        path = os.path.abspath(os.fspath(path))
        os.makedirs(path, exist_ok=True)
        return cls(
            saver if saver is not None else FileSaver(path),
            db_url="sqlite:///" + os.path.join(path, EMBEDDED_DB_FILE),
            auth_token=auth_token,
        )

    @property
    def saver(self) -> BaseSaver:
        """where the bytes of the ops go"""
        return self.service.saver

    @property
    def db_url(self) -> str:
        """the database URL (SQLite paths made absolute)"""
        return self.service.database.url

    @property
    def db(self) -> Any:
        """the Flask-SQLAlchemy extension of this server; its methods run in the app's context
        (``server.db.create_all()``)"""
        return _InAppContext(self.flask, self._flask_db)

    @property
    def migrate(self) -> Any:
        """the Flask-Migrate extension of this server; its methods run in the app's context"""
        return _InAppContext(self.flask, self._migrate)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> None:
        """Creates or upgrades the database tables. When the database cannot be reached, the
        server still starts: it logs why, answers 503, and upgrades at the first request once
        the database is back."""
        try:
            self.service.start()
        except ServiceUnavailableError as error:
            logger.warning("%s; the op store will retry at the next request", error)

    def upgrade_schema(self) -> None:
        """Creates or upgrades the database tables (a no-op once done).

        :raises ServiceUnavailableError: if the database cannot be reached
        """
        self.service.start()

    def run(self, *args: Any, **kwargs: Any) -> None:
        """Runs the Flask development server (``self.flask.run``); use a WSGI server in production."""
        self.flask.run(*args, **kwargs)

    def close(self) -> None:
        """Closes the database connections; a later request reconnects (an in-memory database is lost)."""
        self.service.close()

    def __repr__(self) -> str:
        return f"<OpStoreServer saver={self.saver!r} db_url={self.service.database.safe_url!r}>"

    # ------------------------------------------------------------------ HTTP

    def _add_routes(self) -> None:
        app = self.flask
        # names reach the views as sent (even '/x' or 'a//b') so that they are refused with a clear error
        app.url_map.merge_slashes = False
        app.url_map.converters["name"] = _NameConverter
        _http.install_request_tracking(app, "op store", metrics=self._metrics[0], metrics_open=self._metrics[1])
        app.before_request(self._before_request)
        _http.install_error_handlers(app, "op store", self._translate)
        install_routes(app, ROUTES, self.service, views={"open_op_bytes": self._get_bytes})
        app.add_url_rule("/openapi.json", "openapi", self._openapi, methods=["GET"])

    def _before_request(self) -> None:
        if request.path != _HEALTH_CHECK and not _http.open_metrics_request():
            _http.check_bearer_token(self._auth_token, "op store", _HOW_TO_SEND)

    def _openapi(self) -> Dict[str, Any]:
        from chariots._openapi import openapi_document

        return openapi_document("Chariots op store", ROUTES, self._auth_token is not None,
                                metrics=self._metrics[0], metrics_open=self._metrics[1])

    def _translate(self, error: Exception) -> Optional[ChariotsError]:
        if is_unreachable(error):
            return self.service.database.unreachable(error)
        if isinstance(error, ConnectionError):
            return None  # the shared edge answers 503
        failed = f"the op store failed on {request.method} {request.path}"
        return _wire.with_public_message(OpStoreError(f"{failed}: {type(error).__name__}: {error}"),
                                         f"{failed} with an unexpected {type(error).__name__}")

    def _get_bytes(self, op_name: str, version: str) -> Response:
        stream = self.service.open_op_bytes(check_op_name(op_name), parse_version(version))
        response = Response(
            wrap_file(request.environ, stream, CHUNK_SIZE), mimetype=_OCTET_STREAM, direct_passthrough=True
        )
        size = stream_size(stream)
        if size is not None:
            response.content_length = size
        return response


class _NameConverter(PathConverter):
    """Any non-empty string, slashes included: the views validate it."""

    regex = ".+?"
    part_isolating = False


def _flask_extensions(app: Flask, database: OpStoreDatabase) -> Tuple[Any, Any]:
    """This server's own Flask-SQLAlchemy and Flask-Migrate, on the service's engine."""
    from flask_migrate import Migrate
    from flask_sqlalchemy import SQLAlchemy

    from chariots.op_store.models import Base

    class _ServerSQLAlchemy(SQLAlchemy):
        # the server's engine, so Flask-SQLAlchemy and the service see the same database
        def _make_engine(self, bind_key, options, app):  # noqa: ARG002 - Flask-SQLAlchemy's hook
            return database.engine

    app.config["SQLALCHEMY_DATABASE_URI"] = database.url
    flask_db = _ServerSQLAlchemy(metadata=Base.metadata)
    flask_db.init_app(app)
    return flask_db, Migrate(app, flask_db, directory=MIGRATIONS_DIRECTORY)


class _InAppContext:
    """An extension whose method calls (and attribute reads) happen inside its app's context."""

    def __init__(self, app: Flask, extension: Any):
        self._app = app
        self._extension = extension

    def __getattr__(self, name: str) -> Any:
        with self._app.app_context():
            value = getattr(self._extension, name)
        if inspect.ismethod(value) or inspect.isfunction(value):
            @functools.wraps(value)
            def in_context(*args: Any, **kwargs: Any) -> Any:
                with self._app.app_context():
                    return value(*args, **kwargs)

            return in_context
        return value

    def __repr__(self) -> str:
        return repr(self._extension)
