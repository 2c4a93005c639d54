"""The pipelines service: the served pipelines and what can be done to them, without HTTP.

The Flask server (:class:`~chariots.pipelines.PipelinesServer`) only translates requests into
these calls; tests and other front ends can drive the service directly.
"""
from __future__ import annotations

import inspect
import logging
import os
import threading
import time
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from chariots._response import JobStatus, PipelineResponse
from chariots._wire import public_reason
from chariots.errors import ConfigError, NotFoundError, ServiceUnavailableError, SignatureError, VersionError
from chariots.pipelines import Pipeline
from chariots.pipelines.callbacks import PipelineCallback
from chariots.pipelines.runners import BaseRunner, SequentialRunner
from chariots.serving import _generations
from chariots.serving._batcher import Batcher, batch_rows, served_batcher
from chariots.serving._contract import input_checker
from chariots.serving._observing import ServiceObserver

if TYPE_CHECKING:
    from chariots.pipelines import OpStoreProtocol
    from chariots.workers import BaseWorkerPool

__all__ = ["PipelinesService", "use_worker_for_call"]

logger = logging.getLogger("chariots.pipelines")


class PipelinesService:
    """Serves pipelines: runs them here or in a worker, loads and saves them through an op store.

    The constructor only keeps its collaborators; :meth:`start` reaches the op store.

    :param pipelines: the pipelines to serve (names must be unique)
    :param op_store_client: the op store to load and save with (None: no saving or loading)
    :param runner: the runner executing the pipelines (a :class:`SequentialRunner` by default)
    :param worker_pool: the pool running asynchronous calls
    :param use_workers: whether calls go to a worker by default (None: no preference)
    :param default_pipeline_callbacks: callbacks added to every pipeline
    :param app: what worker pools receive as the app of a call (the Flask server; this service by
                default), for its ``op_store_client`` and ``runner``
    :param metrics: update the Prometheus metrics of :mod:`chariots._metrics` (the log lines of
                    trains, loads, saves and jobs are written either way)
    :param poll_interval: seconds between two checks of the op store's served generations: every
                          process serves a new generation within about this bound (see
                          :mod:`chariots.pipelines._generations`)
    :param follow_generations: follow the generations other processes' loads record (False: this
                               process serves only what it loads itself)
    :raises ValueError: if two pipelines share a name
    """

    def __init__(
        self,
        pipelines: List[Pipeline],
        op_store_client: Optional["OpStoreProtocol"] = None,
        runner: Optional[BaseRunner] = None,
        worker_pool: Optional["BaseWorkerPool"] = None,
        use_workers: Optional[bool] = None,
        default_pipeline_callbacks: Optional[List[PipelineCallback]] = None,
        app: Any = None,
        metrics: bool = True,
        poll_interval: float = _generations.DEFAULT_POLL_INTERVAL,
        follow_generations: bool = True,
    ):
        self.op_store_client = op_store_client
        self.observer = ServiceObserver(metrics=metrics)
        self.runner = runner or SequentialRunner()
        self.worker_pool = worker_pool
        if worker_pool is not None and op_store_client is not None:
            worker_pool.serve_app_of(op_store_client)  # one key for the jobs and the states they save
        self.use_workers = use_workers
        self.app = app if app is not None else self
        self._pipelines: Dict[str, Pipeline] = {}
        self._loaded: Dict[str, bool] = {}
        self._locks: Dict[str, threading.Lock] = {}
        self._input_checkers: Dict[str, Any] = {}
        self._batchers: Dict[str, Batcher] = {}
        #: why the start-up load of a pipeline was refused (shown by readiness until a load works)
        self._refusals: Dict[str, str] = {}
        self.poll_interval = poll_interval
        self.follow_generations = follow_generations
        self.generations: Optional[_generations.GenerationFollower] = None
        for pipeline in pipelines:
            if pipeline.name in self._pipelines:
                raise ValueError(f"two pipelines of this app are named {pipeline.name!r}")
            if default_pipeline_callbacks:
                pipeline.add_callbacks(default_pipeline_callbacks)
            self._pipelines[pipeline.name] = pipeline
            self._locks[pipeline.name] = threading.Lock()
            self._loaded[pipeline.name] = False
            self.observer.served(pipeline.name, _versions_of(pipeline))
            checker = input_checker(pipeline.name, pipeline.input_schema)
            if checker is not None:
                self._input_checkers[pipeline.name] = checker
            if pipeline.batching is not None:
                self._batchers[pipeline.name] = served_batcher(pipeline, lambda: self.runner, self.observer)

    def start(self) -> None:
        """Loads every pipeline from the op store: the generation the last ``load`` recorded, else
        the newest compatible versions; a pipeline the store never saw is registered as it is. A
        pipeline that cannot be loaded (a version conflict) keeps its ops and is logged. When the
        op store cannot be reached, the server starts anyway, is not ready, and retries with
        backoff; then every process follows the generations later loads record."""
        store = self.op_store_client
        if store is None:
            return
        if self.follow_generations:
            self.generations = _generations.GenerationFollower(
                self._pipelines, self._locks, store, self.poll_interval, start_pipelines=self._load_at_start
            )
        try:
            self._load_at_start()
        except ServiceUnavailableError as error:
            if self.generations is None:
                raise
            self.generations.start_failed(error)
            logger.warning("the op store cannot be reached (%s): this server is not ready and retries", error)
        else:
            if self.generations is not None:
                self.generations.started = True
        if self.generations is not None:
            self.generations.ensure_following()

    def _load_at_start(self) -> None:
        store = self._require_store()
        follower = self.generations
        for name, pipeline in self._pipelines.items():
            if follower is not None and follower.apply_latest(name) is not None:
                self._loaded[name] = True
                continue
            with self._locks[name]:
                if not store.pipeline_exists(name):
                    pipeline.register(store)
                    self._loaded[name] = True
                    continue
                started = time.perf_counter()
                try:
                    pipeline.load(store)
                    self._loaded[name] = True
                except (VersionError, SignatureError) as error:  # refused: this pipeline cannot serve yet
                    self.observer.refused(name, error, time.perf_counter() - started)
                    self._refusals[name] = public_reason(error)
                    logger.warning("pipeline %r kept its in-memory ops: %s", name, error)
                else:
                    self.observer.loaded(name, _versions_of(pipeline), time.perf_counter() - started)

    @property
    def pipelines(self) -> Dict[str, Pipeline]:
        """the served pipelines, by name"""
        return dict(self._pipelines)

    def health_check(self) -> Dict[str, str]:
        """Liveness: ``{"status": "ok"}`` as long as the process answers (nothing else is asked)."""
        return {"status": "ok"}

    def available_pipelines(self) -> List[str]:
        """The names of the served pipelines, sorted."""
        return sorted(self._pipelines)

    def ui_page(self) -> str:
        """The web page of every served pipeline (see :mod:`chariots.serving._ui`)."""
        from chariots.serving._ui import render_index

        return render_index(self.pipelines, self.op_store_client)

    def ui_op_page(self, op_name: str) -> str:
        """The web page of one op's versions in the op store."""
        from chariots.serving._ui import render_op_history

        return render_op_history(op_name, self.pipelines, self.op_store_client)

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

    def has_pipeline(self, pipeline_name: str) -> bool:
        """Whether this service serves a pipeline of that name."""
        return pipeline_name in self._pipelines

    def _require_store(self) -> "OpStoreProtocol":
        if self.op_store_client is None:
            raise ConfigError("this server has no op store: pass op_store_client= to save or load")
        return self.op_store_client

    def run_pipeline(self, pipeline_name: str, pipeline_input: Any = None) -> PipelineResponse:
        """Runs a pipeline in this process and returns its response.

        A run that trains an op holds the pipeline's lock, so a save never reads an op half-way
        through its training (its version, bytes and lineage stay one state). A batched pipeline's
        call runs with the calls other threads make meanwhile (:mod:`chariots.serving._batcher`).
        """
        served = self.get_pipeline(pipeline_name)
        batcher = self._batchers.get(pipeline_name)
        if batcher is not None:
            return batcher.respond(pipeline_input)
        if served.trains:
            with self._locks[pipeline_name]:
                response = self._run(pipeline_name, served.snapshot(), pipeline_input)
                store = self.op_store_client
                # the training must outlive this process: a save in any process commits it
                if self.generations is not None and store is not None and served.stage_training(store):
                    response = PipelineResponse(response.value, _versions_of(served))
                return response
        return self._run(pipeline_name, served.snapshot(), pipeline_input)

    def _run(self, pipeline_name: str, pipeline: Pipeline, pipeline_input: Any) -> PipelineResponse:
        started = time.perf_counter()
        try:
            value = self.runner.run(pipeline, pipeline_input)
        except BaseException as error:
            self.observer.ran(pipeline_name, None, time.perf_counter() - started, error)
            raise
        versions = _versions_of(pipeline)
        # only a run that trains can change versions: the others skip comparing them
        trained = versions if pipeline.trains else None
        self.observer.ran(pipeline_name, trained, time.perf_counter() - started)
        return PipelineResponse(value, versions)

    def call_pipeline(
        self, pipeline_name: str, pipeline_input: Any = None, use_worker: Optional[bool] = None
    ) -> PipelineResponse:
        """Runs a pipeline here or sends it to a worker, following the use-worker rules.

        :raises BadRequestError: if the pipeline declares an ``input_schema`` the input does not
                                 match, or is batched and the input is no list of rows (before any
                                 op runs, whatever other calls run meanwhile)
        :raises ConfigError: if the call must go to a worker and there is no worker pool
        """
        pipeline = self.get_pipeline(pipeline_name)
        if self.generations is not None:
            self.generations.ensure_following()
        if pipeline.batching is not None:
            batch_rows(pipeline_name, pipeline_input)
        checker = self._input_checkers.get(pipeline_name)
        if checker is not None:
            checker(pipeline_input)
        if not use_worker_for_call(self.use_workers, pipeline.use_worker, use_worker):
            return self.run_pipeline(pipeline_name, pipeline_input)
        if self.worker_pool is None:
            raise ConfigError(
                f"pipeline {pipeline_name!r} was asked to run in a worker but this server has no "
                "worker_pool: pass worker_pool= to PipelinesServer"
            )
        job_id = self.worker_pool.execute_pipeline_async(pipeline, pipeline_input, self.app)
        self.observer.job(pipeline_name, job_id, JobStatus.queued)
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
        response = PipelineResponse.from_json(text)
        if response.job_status is not None:
            self.observer.job(pipeline_name, job_id, response.job_status)
        return response

    def load_pipeline(self, pipeline_name: str) -> Optional[int]:
        """Loads the latest compatible versions of a pipeline's ops from the op store, and records
        them as the pipeline's next served generation, which every server process then follows.

        :raises VersionError: if they are not compatible, or a model that only predicts has no
                              stored state (the pipeline is left as it was, nothing is recorded)
        :returns: the generation recorded (None when the op store keeps no generations)
        """
        pipeline = self.get_pipeline(pipeline_name)
        with self._locks[pipeline_name]:
            store = self._require_store()
            started = time.perf_counter()
            try:
                pipeline.load(store, require_states=True)
            except (VersionError, SignatureError) as error:
                self.observer.refused(pipeline_name, error, time.perf_counter() - started)
                raise
            self._refusals.pop(pipeline_name, None)
            if pipeline.unstored_states():  # states set in Python: a generation names stored ones only
                pipeline.register(store)
            self._loaded[pipeline_name] = True
            self.observer.loaded(pipeline_name, _versions_of(pipeline), time.perf_counter() - started)
            if self.generations is None:
                return None
            # complete: every stateful op of the pipeline, so a process of another release refuses it
            generation = store.record_generation(pipeline_name, pipeline.generation_versions())
            self.generations.mark_served(generation)
            return generation.number

    def save_pipeline(self, pipeline_name: str) -> None:
        """Saves a pipeline's ops and links to the op store.

        When the op store stages trainings, the save commits the newest training of the pipeline,
        whichever server process ran it (never this process's possibly older state); the states
        of ops the store holds nothing of (set in Python) are saved too.
        """
        pipeline = self.get_pipeline(pipeline_name)
        with self._locks[pipeline_name]:
            store = self._require_store()
            started = time.perf_counter()
            if self.generations is None:
                pipeline.save(store)
                self.observer.saved(pipeline_name, _versions_of(pipeline), time.perf_counter() - started)
                return
            committed = store.commit_staged_training(pipeline_name)
            pipeline.register(store)  # states set in Python, of ops the store holds no state of
            versions = {record.op_name: record.version for record in committed or ()}
            self.observer.saved(pipeline_name, versions or _versions_of(pipeline), time.perf_counter() - started)

    def pipeline_versions(self, pipeline_name: str) -> Dict[str, str]:
        """The version of each node of a pipeline, as strings."""
        pipeline = self.get_pipeline(pipeline_name)
        return {node.name: str(version) for node, version in pipeline.get_pipeline_versions().items()}

    def is_loaded(self, pipeline_name: str) -> bool:
        """Whether a pipeline was loaded from (or registered in) the op store and every one of its
        predicting ML ops holds a model (a pipeline of untrained models is not loaded)."""
        pipeline = self.get_pipeline(pipeline_name)
        return self._loaded[pipeline_name] and not pipeline.untrained_ops()

    def pipeline_health(self, pipeline_name: str) -> Dict[str, Any]:
        """``is_loaded``, the ops that cannot predict, and, when this process follows the op
        store's generations, the generation it serves (0: none yet) and why it lags, if it does."""
        pipeline = self.get_pipeline(pipeline_name)
        health: Dict[str, Any] = {"is_loaded": self.is_loaded(pipeline_name)}
        untrained = pipeline.untrained_ops()
        if untrained:
            health["untrained_ops"] = untrained
        refused = self._refusals.get(pipeline_name)
        if refused is not None:
            health["load_refused"] = refused
        follower = self.generations
        if follower is not None:
            follower.ensure_following()
            health["generation"] = follower.served.get(pipeline_name, 0)
            health["process"] = os.getpid()
            lag = follower.lagging().get(pipeline_name)
            if lag is not None:
                health["lagging"] = lag
        return health

    def readiness(self) -> Dict[str, Any]:
        """Whether this process is ready to serve, and why not: ``{"ready": bool, "reasons": [...]}``.

        Not ready while the start-up load has not reached the op store, while a served pipeline
        holds a predicting ML op that was never trained or loaded, or while this process lags the
        newest generation recorded for a pipeline.
        """
        reasons = []
        follower = self.generations
        if follower is not None:
            follower.ensure_following()
            if not follower.started:
                reasons.append(f"the op store could not be reached at start ({follower.start_error}); retrying")
            reasons.extend(follower.lagging().values())
        for name, pipeline in self._pipelines.items():
            untrained = pipeline.untrained_ops()
            if untrained:
                reasons.append(f"pipeline {name!r} cannot predict: op(s) {', '.join(map(repr, untrained))} were "
                               "never trained or loaded (train and save them, then load the pipeline)")
        return {"ready": not reasons, "reasons": reasons}


def use_worker_for_call(
    app_flag: Optional[bool], pipeline_flag: Optional[bool], request_flag: Optional[bool]
) -> bool:
    """Decides whether a call runs in a worker: any explicit False wins, else any True does.

    :param app_flag: the server's ``use_workers``
    :param pipeline_flag: the pipeline's ``use_worker``
    :param request_flag: the request's ``use_worker``
    """
    flags = (app_flag, pipeline_flag, request_flag)
    if any(flag is False for flag in flags):
        return False
    return any(flag is True for flag in flags)


def _versions_of(pipeline: Pipeline) -> Dict[str, Any]:
    """The version of each node of a pipeline, by node name."""
    return {node.name: version for node, version in pipeline.get_pipeline_versions().items()}
