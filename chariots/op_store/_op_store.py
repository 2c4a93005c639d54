"""The op store server: a Flask app keeping op versions, validated links and pipelines."""

from __future__ import annotations

import contextlib
import hmac
import io
import logging
import os
import threading
from typing import Any, Dict, Iterator, Optional, Tuple

from flask import Flask, Response, current_app, request
from flask_migrate import Migrate
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool
from werkzeug.exceptions import BadRequest, HTTPException
from werkzeug.routing import PathConverter
from werkzeug.wsgi import wrap_file

from chariots.errors import (
    AuthenticationError,
    ChariotsError,
    NotFoundError,
    OpStoreError,
    ServiceUnavailableError,
)
from chariots.op_store import _repository as repository
from chariots.op_store._names import check_node_name, check_op_name, op_bytes_path, parse_version
from chariots.op_store.migrations import MIGRATIONS_DIRECTORY, upgrade_database
from chariots.op_store.models import db
from chariots.op_store.savers import BaseSaver
from chariots.op_store.savers._base_saver import CHUNK_SIZE

__all__ = ["OpStoreServer", "DEFAULT_MAX_CONTENT_LENGTH"]

logger = logging.getLogger(__name__)

#: the default cap on request bodies: 2 GiB
DEFAULT_MAX_CONTENT_LENGTH = 2 * 1024**3

_HEALTH_CHECK = "/health_check"
_OCTET_STREAM = "application/octet-stream"
_UNREACHABLE = (OperationalError, InterfaceError, PoolTimeoutError)


class OpStoreServer:
    """The server saving and loading ops and keeping track of their versions.

    It is built around a Flask app (``.flask``) using Flask-SQLAlchemy (``.db``) and
    Flask-Migrate (``.migrate``); the database schema is created or upgraded when the server
    starts (or, if the database is down then, on the first request once it is back). Use it
    through HTTP with :class:`~chariots.op_store.OpStoreClient`:

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
    - ``POST /pipelines``: ``{"pipeline_name", "node_names"}``; ``GET /pipelines`` lists the
      names; ``GET /pipelines/<pipeline_name>`` (404 when never seen)

    :param saver: where the bytes of the ops go
    :param db_url: the SQLAlchemy URL of the database holding versions, links and pipelines
    :param auth_token: when given, every route but ``/health_check`` requires the header
                       ``Authorization: Bearer <auth_token>``
    :param max_content_length: the largest request body accepted, in bytes (None: no limit)
    """

    def __init__(
        self,
        saver: BaseSaver,
        db_url: str = "sqlite:///:memory:",
        auth_token: Optional[str] = None,
        max_content_length: Optional[int] = DEFAULT_MAX_CONTENT_LENGTH,
    ):
        if not isinstance(saver, BaseSaver):
            raise TypeError(f"OpStoreServer needs a saver (a BaseSaver), got {saver!r}")
        self.saver = saver
        self.db_url, engine_options, in_memory = _database_settings(db_url)
        self._auth_token = auth_token
        self.flask = Flask("OpStoreServer", root_path=os.path.dirname(os.path.abspath(__file__)))
        self.flask.config.update(
            SQLALCHEMY_DATABASE_URI=self.db_url,
            SQLALCHEMY_ENGINE_OPTIONS=engine_options,
            MAX_CONTENT_LENGTH=max_content_length,
        )
        self.db = db
        self.db.init_app(self.flask)
        self.migrate = Migrate(self.flask, self.db, directory=MIGRATIONS_DIRECTORY)
        # one in-memory SQLite connection is shared by every thread: take turns on it
        self._db_lock: Any = threading.RLock() if in_memory else contextlib.nullcontext()
        self._schema_ready = False
        self._schema_lock = threading.Lock()
        with self.flask.app_context():
            self._engine = self.db.engine
        if self._engine.dialect.name == "sqlite":
            event.listen(self._engine, "connect", _sqlite_pragmas(in_memory))
        self._add_routes()
        try:
            self.upgrade_schema()
        except ServiceUnavailableError as error:
            logger.warning("%s; the op store will retry at the next request", error)

    # ------------------------------------------------------------------ lifecycle

    def upgrade_schema(self) -> None:
        """Creates or upgrades the database tables (done at start; a no-op once done).

        :raises ServiceUnavailableError: if the database cannot be reached
        """
        if self._schema_ready:
            return
        with self._schema_lock:
            if self._schema_ready:
                return
            try:
                with self._db_lock:
                    upgrade_database(self._engine)
            except _UNREACHABLE as exc:
                raise ServiceUnavailableError(self._unreachable_message(exc)) from exc
            self._schema_ready = True

    def run(self, *args: Any, **kwargs: Any) -> None:
        """Runs the Flask development server (``self.flask.run``); use a WSGI server in production."""
        self.flask.run(*args, **kwargs)

    def close(self) -> None:
        """Closes the database connections; a later request reconnects (an in-memory database is lost)."""
        self._engine.dispose()
        self._schema_ready = False

    def __repr__(self) -> str:
        url = make_url(self.db_url).render_as_string(hide_password=True)
        return f"<OpStoreServer saver={self.saver!r} db_url={url!r}>"

    # ------------------------------------------------------------------ plumbing

    def _unreachable_message(self, exc: BaseException) -> str:
        reason = getattr(exc, "orig", None) or exc
        reason_text = " ".join(str(reason).split()) or type(reason).__name__
        url = make_url(self.db_url).render_as_string(hide_password=True)
        return (
            f"the op store database is unreachable: {reason_text}; check that the database at {url} is up and reachable"
        )

    @contextlib.contextmanager
    def _session(self) -> Iterator[Session]:
        with self._db_lock:
            try:
                yield self.db.session
            except _UNREACHABLE as exc:
                self.db.session.rollback()
                raise ServiceUnavailableError(self._unreachable_message(exc)) from exc

    def _add_routes(self) -> None:
        app = self.flask
        # names reach the views as sent (even '/x' or 'a//b') so that they are refused with a clear error
        app.url_map.merge_slashes = False
        app.url_map.converters["name"] = _NameConverter
        app.before_request(self._before_request)
        app.register_error_handler(HTTPException, _http_error)
        app.register_error_handler(ChariotsError, _chariots_error)
        app.register_error_handler(Exception, self._unexpected_error)
        app.add_url_rule(_HEALTH_CHECK, "health_check", self._health_check, methods=["GET"])
        app.add_url_rule("/ops/<name:op_name>/versions", "versions", self._versions, methods=["GET"])
        app.add_url_rule("/ops/<name:op_name>/versions/<name:version>", "get_bytes", self._get_bytes, methods=["GET"])
        app.add_url_rule("/ops/<name:op_name>/versions/<name:version>", "put_bytes", self._put_bytes, methods=["PUT"])
        app.add_url_rule("/validated_links", "get_links", self._get_links, methods=["GET"])
        app.add_url_rule("/validated_links", "add_link", self._add_link, methods=["POST"])
        app.add_url_rule("/pipelines", "pipelines", self._pipelines, methods=["GET"])
        app.add_url_rule("/pipelines", "add_pipeline", self._add_pipeline, methods=["POST"])
        app.add_url_rule("/pipelines/<name:pipeline_name>", "pipeline", self._pipeline, methods=["GET"])

    def _before_request(self) -> None:
        if request.path == _HEALTH_CHECK:
            return
        if self._auth_token is not None:
            given = request.headers.get("Authorization", "")
            expected = f"Bearer {self._auth_token}"
            if not hmac.compare_digest(given.encode(), expected.encode()):
                raise AuthenticationError(
                    "this op store requires a bearer token: send the header 'Authorization: Bearer <token>' "
                    "(OpStoreClient(url, auth_token=...))"
                )
        self.upgrade_schema()

    def _unexpected_error(self, error: Exception) -> Tuple[Dict[str, Any], int]:
        if isinstance(error, _UNREACHABLE):
            return _chariots_error(ServiceUnavailableError(self._unreachable_message(error)))
        logger.exception("op store request %s %s failed", request.method, request.path)
        message = f"the op store failed on {request.method} {request.path}: {type(error).__name__}: {error}"
        return {"error": {"type": "OpStoreError", "message": message}}, 500

    # ------------------------------------------------------------------ routes

    def _health_check(self) -> Dict[str, Any]:
        self.upgrade_schema()
        with self._session() as session:
            session.execute(text("SELECT 1"))
        return {"status": "ok"}

    def _versions(self, op_name: str) -> Dict[str, Any]:
        check_op_name(op_name)
        with self._session() as session:
            versions = repository.versions_of_op(session, op_name)
        return {"op_name": op_name, "versions": [str(version) for version in versions]}

    def _get_bytes(self, op_name: str, version: str) -> Response:
        check_op_name(op_name)
        parsed = parse_version(version)
        with self._session() as session:
            op = repository.find_op(session, op_name)
            if op is None:
                raise NotFoundError(
                    f"op {op_name!r} is unknown to the op store: save a pipeline holding it before loading it"
                )
            if repository.find_version(session, op, parsed) is None:
                raise NotFoundError(
                    f"version {version!r} of op {op_name!r} is not in the op store; "
                    f"GET /ops/{op_name}/versions lists the saved ones"
                )
        path = op_bytes_path(op_name, parsed)
        try:
            stream = self.saver.open_stream(path)
        except FileNotFoundError as exc:
            raise OpStoreError(
                f"version {version!r} of op {op_name!r} is registered but its bytes are missing from "
                f"{self.saver!r} at {path!r}: save the op again"
            ) from exc
        response = Response(
            wrap_file(request.environ, stream, CHUNK_SIZE), mimetype=_OCTET_STREAM, direct_passthrough=True
        )
        size = _stream_size(stream)
        if size is not None:
            response.content_length = size
        return response

    def _put_bytes(self, op_name: str, version: str) -> Tuple[Dict[str, Any], int]:
        check_op_name(op_name)
        parsed = parse_version(version)
        # bytes first: a version row always has its bytes in the saver
        try:
            self.saver.save_stream(request.stream, op_bytes_path(op_name, parsed), size=request.content_length)
        except ValueError as exc:
            if isinstance(exc, ChariotsError):
                raise
            raise BadRequest(str(exc)) from exc
        with self._session() as session:
            created = repository.in_transaction(
                session, lambda session: repository.ensure_version(session, op_name, parsed)
            )
        return {"op_name": op_name, "version": str(parsed), "created": created}, 201 if created else 200

    def _get_links(self) -> Dict[str, Any]:
        downstream = check_node_name(request.args.get("downstream_op"), "downstream op name")
        upstream = check_node_name(request.args.get("upstream_op"), "upstream op name")
        with self._session() as session:
            versions = repository.validated_links(session, downstream, upstream)
        return {
            "downstream_op": downstream,
            "upstream_op": upstream,
            "versions": [str(version) for version in versions],
        }

    def _add_link(self) -> Tuple[Dict[str, Any], int]:
        body = _json_body("downstream_op", "upstream_op", "upstream_op_version")
        downstream = check_node_name(body["downstream_op"], "downstream op name")
        upstream = check_node_name(body["upstream_op"], "upstream op name")
        version = parse_version(body["upstream_op_version"])
        with self._session() as session:
            created = repository.in_transaction(
                session, lambda session: repository.ensure_link(session, downstream, upstream, version)
            )
        return {"created": created}, 201 if created else 200

    def _pipelines(self) -> Dict[str, Any]:
        with self._session() as session:
            return {"pipelines": repository.pipeline_names(session)}

    def _pipeline(self, pipeline_name: str) -> Dict[str, Any]:
        check_node_name(pipeline_name, "pipeline name")
        with self._session() as session:
            pipeline = repository.find_pipeline(session, pipeline_name)
            if pipeline is None:
                raise NotFoundError(f"pipeline {pipeline_name!r} was never registered or saved in the op store")
            return {"pipeline_name": pipeline.name, "node_names": list(pipeline.node_names)}

    def _add_pipeline(self) -> Tuple[Dict[str, Any], int]:
        body = _json_body("pipeline_name", "node_names")
        name = check_node_name(body["pipeline_name"], "pipeline name")
        node_names = body["node_names"]
        if not isinstance(node_names, list):
            raise BadRequest(f"'node_names' must be a list of node names, got {node_names!r}")
        node_names = [check_node_name(node_name, "node name") for node_name in node_names]
        with self._session() as session:
            created = repository.in_transaction(
                session, lambda session: repository.record_pipeline(session, name, node_names)
            )
        return {"created": created}, 201 if created else 200


class _NameConverter(PathConverter):
    """Any non-empty string, slashes included: the views validate it."""

    regex = ".+?"
    part_isolating = False


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


def _json_body(*keys: str) -> Dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest(f"expected a JSON object body with the keys {list(keys)}")
    missing = [key for key in keys if key not in body]
    if missing:
        raise BadRequest(f"the JSON body misses the keys {missing}; expected {list(keys)}")
    return body


def _stream_size(stream: Any) -> Optional[int]:
    if isinstance(stream, io.BytesIO):
        return stream.getbuffer().nbytes
    try:
        return os.fstat(stream.fileno()).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        return None


def _error_body(error_type: str, message: str, status: int) -> Tuple[Dict[str, Any], int]:
    return {"error": {"type": error_type, "message": message}}, status


def _chariots_error(error: ChariotsError) -> Tuple[Dict[str, Any], int]:
    return _error_body(type(error).__name__, str(error), error.status_code)


def _http_error(error: HTTPException) -> Tuple[Dict[str, Any], int]:
    status = error.code or 500
    if status == 404:
        message = f"no op store route {request.method} {request.path}"
        return _error_body("NotFoundError", message, 404)
    if status == 413:
        limit = current_app.config.get("MAX_CONTENT_LENGTH")
        size = f"{request.content_length} bytes" if request.content_length is not None else "unknown size"
        message = (
            f"the request body ({size}) is larger than this op store accepts ({limit} bytes): "
            "raise the server's max_content_length"
        )
        return _error_body("RequestEntityTooLarge", message, 413)
    if status == 405:
        message = f"the op store route {request.path} does not accept {request.method}"
    else:
        message = error.description or error.name
    return _error_body(type(error).__name__, message, status)
