"""The pipelines server: a Flask app translating HTTP into calls of the pipelines service."""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Dict, List, Optional

import flask
from flask.json.provider import DefaultJSONProvider

from chariots import _http, _logging
from chariots._response import JobStatus, PipelineResponse
from chariots._routes import install_routes
from chariots.pipelines import Pipeline
from chariots.pipelines.callbacks import PipelineCallback
from chariots.pipelines.runners import BaseRunner
from chariots.serving._routes import ROUTES
from chariots.serving._service import PipelinesService

if TYPE_CHECKING:
    from chariots.pipelines import OpStoreProtocol
    from chariots.workers import BaseWorkerPool

__all__ = ["PipelinesServer", "PipelineResponse", "JobStatus"]

logger = logging.getLogger(__name__)

DEFAULT_MAX_CONTENT_LENGTH = 16 * 1024 * 1024
_OPEN_ROUTES = frozenset(route.endpoint for route in ROUTES if route.open_route)
_HOW_TO_SEND = "PipelinesClient(url, auth_token=...)"


class _JSONProvider(DefaultJSONProvider):
    """Flask's JSON provider, also turning numpy and pandas values into JSON types."""

    @staticmethod
    def default(o: Any) -> Any:
        from chariots.pipelines import to_jsonable

        try:
            return to_jsonable(o)
        except TypeError:
            return DefaultJSONProvider.default(o)

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        try:
            return super().dumps(obj, allow_nan=False, **kwargs)
        except ValueError:  # a NaN or an infinity, which JSON has not: they travel as null
            return super().dumps(_http.finite(self.loads(super().dumps(obj, **kwargs))), **kwargs)


def _service_attribute(name: str, doc: str) -> property:
    """A server attribute that is the service's (``server.runner`` is ``server.service.runner``)."""

    def get(self: "PipelinesServer") -> Any:
        return getattr(self.service, name)

    def set_(self: "PipelinesServer", value: Any) -> None:
        setattr(self.service, name, value)

    return property(get, set_, doc=doc)


class PipelinesServer(flask.Flask):
    """A Flask app serving pipelines, each under ``/pipelines/<name>/...``.

    Routes, for every pipeline: ``main`` (run it), ``versions``, ``load``, ``save``,
    ``health_check`` (``is_loaded`` and the served generation) and ``jobs/<job_id>``; and for the
    whole app ``/health_check`` (liveness), ``/ready`` (readiness: 503 with the reasons while a
    pipeline cannot predict, the op store was not reached yet, or this process lags the newest
    generation a load recorded) and ``/available_pipelines``. At start, every pipeline is loaded
    from the op store, and the ones the store never saw are registered as they are. The work is done by a plain
    :class:`~chariots.pipelines._service.PipelinesService` (``.service``); the app only
    translates HTTP.

    :param app_pipelines: the pipelines this app serves
    :param op_store_client: the op store to load and save pipelines with (None: no saving)
    :param runner: the runner executing the pipelines (a :class:`SequentialRunner` by default)
    :param default_pipeline_callbacks: callbacks added to every pipeline
    :param worker_pool: the worker pool for asynchronous calls
    :param use_workers: whether calls go to a worker by default (None: no preference)
    :param auth_token: when set, every route but the health checks needs
                       ``Authorization: Bearer <token>``
    :param max_content_length: the largest request body accepted, in bytes
    :param allowed_hosts: the host names requests may name in their ``Host`` header (None: loopback
                          names on a loopback address, any elsewhere; see :mod:`chariots._http`)
    :param start: load the pipelines from the op store now (the default); with False, call
                  ``server.service.start()``
    :param metrics: count requests, runs, loads and saves, and serve them at ``GET /metrics``
                    (Prometheus text format; see :mod:`chariots._metrics`)
    :param metrics_open: serve ``/metrics`` without the bearer token
    :param log_format: give the ``chariots`` loggers a handler writing ``'text'`` or ``'json'``
                       lines (None: the ``CHARIOTS_LOG_FORMAT`` environment variable, else leave
                       logging as the application set it)
    :param poll_interval: seconds between two checks of the op store's served generations: after a
                          ``load`` in any process, every process serves the new generation within
                          about this bound
    :param follow_generations: follow the generations loads record in the op store (False: this
                               process serves only what it loads itself)
    :param args: positional arguments of :class:`flask.Flask`
    :param kwargs: keyword arguments of :class:`flask.Flask` (``import_name`` ...)
    """

    json_provider_class = _JSONProvider

    op_store_client = _service_attribute("op_store_client", "the op store pipelines are loaded from and saved to")
    runner = _service_attribute("runner", "the runner executing the pipelines")
    worker_pool = _service_attribute("worker_pool", "the pool running asynchronous calls")
    use_workers = _service_attribute("use_workers", "whether calls go to a worker by default")

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
        allowed_hosts: Optional[List[str]] = None,
        start: bool = True,
        metrics: bool = True,
        metrics_open: bool = False,
        log_format: Optional[str] = None,
        poll_interval: float = 1.0,
        follow_generations: bool = True,
        **kwargs,
    ):
        if not args and "import_name" not in kwargs:
            kwargs["import_name"] = "chariots_pipelines_server"
        kwargs.setdefault("static_folder", None)  # no /static route serving the working directory
        super().__init__(*args, **kwargs)
        self.config["MAX_CONTENT_LENGTH"] = max_content_length
        self.config[_http.ALLOWED_HOSTS_CONFIG] = _http.checked_allowed_hosts(allowed_hosts, "allowed_hosts")
        self.auth_token = _http.checked_token_setting(auth_token, "PipelinesServer(auth_token=...)")
        self.metrics_enabled = metrics
        self.metrics_open = metrics_open
        _logging.configure(log_format)
        self.service = PipelinesService(
            app_pipelines,
            op_store_client=op_store_client,
            runner=runner,
            worker_pool=worker_pool,
            use_workers=use_workers,
            default_pipeline_callbacks=default_pipeline_callbacks,
            app=self,
            metrics=metrics,
            poll_interval=poll_interval,
            follow_generations=follow_generations,
        )
        self._add_routes()
        if start:
            self.service.start()

    @property
    def pipelines(self) -> Dict[str, Pipeline]:
        """the served pipelines, by name"""
        return self.service.pipelines

    def run_pipeline(self, pipeline_name: str, pipeline_input: Any = None) -> PipelineResponse:
        """Runs a pipeline in this process (what a custom worker pool calls)."""
        return self.service.run_pipeline(pipeline_name, pipeline_input)

    # ----------------------------------------------------------------- HTTP
    def _add_routes(self) -> None:
        service = self.service
        _http.install_request_tracking(
            self, "pipelines server", metrics=self.metrics_enabled, metrics_open=self.metrics_open,
            pipeline_label=service.has_pipeline,
        )
        install_routes(self, ROUTES, service)
        self.add_url_rule("/openapi.json", "openapi", self._openapi_view, methods=["GET"])
        self.before_request(self._check_token)
        _http.install_error_handlers(self, "pipelines server")

    def _check_token(self) -> None:
        if flask.request.endpoint not in _OPEN_ROUTES and not _http.open_metrics_request():
            _http.check_bearer_token(self.auth_token, "pipelines server", _HOW_TO_SEND)

    def _openapi_view(self):
        from chariots._openapi import openapi_document

        schemas = {name: pipeline.input_schema for name, pipeline in self.pipelines.items()}
        return openapi_document("Chariots pipelines server", ROUTES, self.auth_token is not None,
                                metrics=self.metrics_enabled, metrics_open=self.metrics_open, pipelines=schemas)
