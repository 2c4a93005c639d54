"""The pipelines server: a Flask app serving pipelines over HTTP."""
from __future__ import annotations

import hmac
import inspect
import logging
import threading
from typing import TYPE_CHECKING, Any, Dict, List, Optional

import flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

from chariots.errors import (
    AuthenticationError,
    ChariotsError,
    NotFoundError,
    ServiceUnavailableError,
    VersionError,
)
from chariots.pipelines._pipeline import Pipeline
from chariots.pipelines._serving import (
    JobStatus,
    PipelineResponse,
    error_body,
    to_jsonable,
    use_worker_for_call,
)
from chariots.pipelines.callbacks import PipelineCallback
from chariots.pipelines.runners import BaseRunner, SequentialRunner

if TYPE_CHECKING:
    from chariots.pipelines._store_protocol import OpStoreProtocol
    from chariots.workers import BaseWorkerPool

__all__ = ["PipelinesServer", "PipelineResponse", "JobStatus"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_CONTENT_LENGTH = 16 * 1024 * 1024
_OPEN_ROUTES = frozenset({"health_check", "pipeline_health_check"})


class _JSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, also turning numpy and pandas values into JSON types."""

    @staticmethod
    def default(o: Any) -> Any:
        try:
            return to_jsonable(o)
        except TypeError:
            return DefaultJSONProvider.default(o)


class PipelinesServer(flask.Flask):
    """A Flask app serving pipelines, each under ``/pipelines/<name>/...``.

    Routes, for every pipeline: ``main`` (run it), ``versions``, ``load``, ``save``,
    ``health_check`` and ``jobs/<job_id>``; and for the whole app ``/health_check`` and
    ``/available_pipelines``. At start, every pipeline is loaded from the op store, and the
    ones the store never saw are registered as they are.

    :param app_pipelines: the pipelines this app serves
    :param op_store_client: the op store to load and save pipelines with (None: no saving)
    :param runner: the runner executing the pipelines (a :class:`SequentialRunner` by default)
    :param default_pipeline_callbacks: callbacks added to every pipeline
    :param worker_pool: the worker pool for asynchronous calls
    :param use_workers: whether calls go to a worker by default (None: no preference)
    :param auth_token: when set, every route but the health checks needs
                       ``Authorization: Bearer <token>``
    :param max_content_length: the largest request body accepted, in bytes
    :param args: positional arguments of :class:`flask.Flask`
    :param kwargs: keyword arguments of :class:`flask.Flask` (``import_name`` ...)
    """

    json_provider_class = _JSONProvider

    def __init__(
        self,
        app_pipelines: List[Pipeline],
        *args,
        op_store_client: Optional["OpStoreProtocol"] = None,
        runner: Optional[BaseRunner] = None,
        default_pipeline_callbacks: Optional[List[PipelineCallback]] = None,
        worker_pool: Optional["BaseWorkerPool"] = None,
        use_workers: Optional[bool] = None,
        auth_token: Optional[str] = None,
        max_content_length: int = DEFAULT_MAX_CONTENT_LENGTH,
        **kwargs,
    ):
        if not args and "import_name" not in kwargs:
            kwargs["import_name"] = "chariots_pipelines_server"
        super().__init__(*args, **kwargs)
        self.config["MAX_CONTENT_LENGTH"] = max_content_length
        self.auth_token = auth_token
        self.op_store_client = op_store_client
        self.runner = runner or SequentialRunner()
        self.worker_pool = worker_pool
        self.use_workers = use_workers
        self._pipelines: Dict[str, Pipeline] = {}
        self._loaded: Dict[str, bool] = {}
        self._locks: Dict[str, threading.Lock] = {}
        for pipeline in app_pipelines:
            if pipeline.name in self._pipelines:
                raise ValueError(f"two pipelines of this app are named {pipeline.name!r}")
            if default_pipeline_callbacks:
                pipeline.add_callbacks(default_pipeline_callbacks)
            self._pipelines[pipeline.name] = pipeline
            self._locks[pipeline.name] = threading.Lock()
            self._loaded[pipeline.name] = False
        self._load_at_start()
        self._add_routes()

    # ----------------------------------------------------------------- plain operations
    @property
    def pipelines(self) -> Dict[str, Pipeline]:
        """the served pipelines, by name"""
        return dict(self._pipelines)

    def get_pipeline(self, pipeline_name: str) -> Pipeline:
        """Returns a served pipeline.

        :raises NotFoundError: naming the available pipelines if there is none of that name
        """
        try:
            return self._pipelines[pipeline_name]
        except KeyError:
            available = ", ".join(sorted(self._pipelines)) or "none"
            raise NotFoundError(
                f"no pipeline named {pipeline_name!r} in this app (available: {available})"
            ) from None

    def _require_store(self) -> "OpStoreProtocol":
        if self.op_store_client is None:
            raise ChariotsError("this server has no op store: pass op_store_client= to save or load")
        return self.op_store_client

    def _load_at_start(self) -> None:
        if self.op_store_client is None:
            return
        for name, pipeline in self._pipelines.items():
            if not self.op_store_client.pipeline_exists(name):
                pipeline.register(self.op_store_client)
                self._loaded[name] = True
                continue
            try:
                pipeline.load(self.op_store_client)
                self._loaded[name] = True
            except VersionError as error:
                logger.warning("pipeline %r kept its in-memory ops: %s", name, error)

    def run_pipeline(self, pipeline_name: str, pipeline_input: Any = None) -> PipelineResponse:
        """Runs a pipeline in this process and returns its response."""
        pipeline = self.get_pipeline(pipeline_name).snapshot()
        value = self.runner.run(pipeline, pipeline_input)
        versions = {node.name: version for node, version in pipeline.get_pipeline_versions().items()}
        return PipelineResponse(value, versions)

    def call_pipeline(
        self, pipeline_name: str, pipeline_input: Any = None, use_worker: Optional[bool] = None
    ) -> PipelineResponse:
        """Runs a pipeline here or sends it to a worker, following the use-worker rules."""
        pipeline = self.get_pipeline(pipeline_name)
        if not use_worker_for_call(self.use_workers, pipeline.use_worker, use_worker):
            return self.run_pipeline(pipeline_name, pipeline_input)
        if self.worker_pool is None:
            raise ChariotsError(
                f"pipeline {pipeline_name!r} was asked to run in a worker but this server has no "
                "worker_pool: pass worker_pool= to PipelinesServer"
            )
        job_id = self.worker_pool.execute_pipeline_async(pipeline, pipeline_input, self)
        return PipelineResponse(None, {}, job_id=job_id, job_status=JobStatus.queued)

    def fetch_job(self, pipeline_name: str, job_id: str) -> PipelineResponse:
        """Returns the response of a worker job (its value once done)."""
        self.get_pipeline(pipeline_name)
        if self.worker_pool is None:
            raise NotFoundError(f"no job {job_id!r}: this server has no worker pool")
        fetch = self.worker_pool.get_pipeline_response_json_for_id
        if "pipeline_name" in inspect.signature(fetch).parameters:
            text = fetch(job_id, pipeline_name=pipeline_name)
        else:  # a custom pool following the documented one-argument signature
            text = fetch(job_id)
        return PipelineResponse.from_json(text)

    def load_pipeline(self, pipeline_name: str) -> None:
        """Loads the latest compatible versions of a pipeline's ops from the op store."""
        pipeline = self.get_pipeline(pipeline_name)
        with self._locks[pipeline_name]:
            pipeline.load(self._require_store())
            self._loaded[pipeline_name] = True

    def save_pipeline(self, pipeline_name: str) -> None:
        """Saves a pipeline's ops and links to the op store."""
        pipeline = self.get_pipeline(pipeline_name)
        with self._locks[pipeline_name]:
            pipeline.save(self._require_store())

    def pipeline_versions(self, pipeline_name: str) -> Dict[str, str]:
        """The version of each node of a pipeline, as strings."""
        pipeline = self.get_pipeline(pipeline_name)
        return {node.name: str(version) for node, version in pipeline.get_pipeline_versions().items()}

    def is_loaded(self, pipeline_name: str) -> bool:
        """Whether a pipeline was loaded from (or registered in) the op store."""
        self.get_pipeline(pipeline_name)
        return self._loaded[pipeline_name]

    # ----------------------------------------------------------------- HTTP
    def _add_routes(self) -> None:
        self.add_url_rule("/health_check", "health_check", lambda: {"status": "ok"})
        self.add_url_rule(
            "/available_pipelines", "available_pipelines", lambda: flask.jsonify(sorted(self._pipelines))
        )
        self.add_url_rule("/pipelines/<pipeline_name>/main", "main", self._main_view, methods=["POST"])
        self.add_url_rule(
            "/pipelines/<pipeline_name>/versions", "versions",
            lambda pipeline_name: self.pipeline_versions(pipeline_name), methods=["GET", "POST"],
        )
        self.add_url_rule("/pipelines/<pipeline_name>/load", "load", self._load_view, methods=["POST"])
        self.add_url_rule("/pipelines/<pipeline_name>/save", "save", self._save_view, methods=["POST"])
        self.add_url_rule(
            "/pipelines/<pipeline_name>/health_check", "pipeline_health_check",
            lambda pipeline_name: {"is_loaded": self.is_loaded(pipeline_name)}, methods=["GET", "POST"],
        )
        self.add_url_rule(
            "/pipelines/<pipeline_name>/jobs/<job_id>", "fetch_job",
            lambda pipeline_name, job_id: self.fetch_job(pipeline_name, job_id).json(),
            methods=["GET", "POST"],
        )
        self.before_request(self._check_token)
        self.register_error_handler(Exception, self._handle_error)

    def _check_token(self) -> None:
        if self.auth_token is None or flask.request.endpoint in _OPEN_ROUTES:
            return
        header = flask.request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), self.auth_token.encode()):
            reason = "no bearer token was sent" if not header else "the bearer token is wrong"
            raise AuthenticationError(f"{reason}: send 'Authorization: Bearer <token>'")

    def _json_body(self) -> Dict[str, Any]:
        body = flask.request.get_data(cache=False)
        if not body:
            return {}
        try:
            data = flask.json.loads(body)
        except ValueError as error:
            raise _BadRequest(f"the request body is not valid JSON: {error}") from None
        if not isinstance(data, dict):
            raise _BadRequest(f"the request body must be a JSON object, got {type(data).__name__}")
        return data

    def _main_view(self, pipeline_name: str):
        self.get_pipeline(pipeline_name)
        data = self._json_body()
        use_worker = data.get("use_worker")
        if use_worker is not None and not isinstance(use_worker, bool):
            raise _BadRequest(f"'use_worker' must be true, false or null, got {use_worker!r}")
        response = self.call_pipeline(pipeline_name, data.get("pipeline_input"), use_worker)
        return response.json()

    def _load_view(self, pipeline_name: str):
        self.load_pipeline(pipeline_name)
        return {}

    def _save_view(self, pipeline_name: str):
        self.save_pipeline(pipeline_name)
        return {}

    def _handle_error(self, error: Exception):
        if isinstance(error, HTTPException):
            status = error.code or 500
            message = error.description
            if status == 413:
                message = (
                    f"the request body is larger than this server accepts "
                    f"({self.config['MAX_CONTENT_LENGTH']} bytes)"
                )
            return {"error": {"type": type(error).__name__, "message": message}}, status
        if isinstance(error, ConnectionError) and not isinstance(error, ChariotsError):
            error = ServiceUnavailableError(f"a backing service cannot be reached: {error}")
        body, status = error_body(error)
        if status >= 500:
            logger.exception("pipelines server error", exc_info=error)
        return body, status


class _BadRequest(ChariotsError, ValueError):
    status_code = 400
