"""The pipelines service on its own: no Flask app, no test client, no HTTP.

The worker pool is a real one running its jobs in a thread of this process, and the op store
is a real embedded store on files under ``tmp_path``.
"""
from __future__ import annotations

import json
import logging
import threading
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, Dict, List, Tuple

import pytest

from chariots import Pipeline
from chariots.errors import ConfigError, NotFoundError, VersionError
from chariots.nodes import Node
from chariots.op_store import EmbeddedOpStoreClient
from chariots.pipelines import JobStatus, PipelineResponse
from chariots.pipelines.runners import SequentialRunner
from chariots.serving import PipelinesService
from chariots.workers import BaseWorkerPool
from tests.pipelines.simple_ops import AddOneOp, Downstream, IsOddOp, Model, Upstream


class ThreadWorkerPool(BaseWorkerPool):
    """A worker pool of one thread: jobs run ``app.run_pipeline`` there, as a worker would.

    It keeps what it was given so the tests can see which calls reached it.
    """

    def __init__(self):
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="test-worker")
        self._jobs: Dict[str, Future] = {}
        self.received: List[Tuple[str, Any, Any]] = []

    @property
    def n_workers(self) -> int:
        return 1

    def spawn_worker(self) -> Any:
        return self._executor

    def execute_pipeline_async(self, pipeline: Pipeline, pipeline_input: Any, app: Any) -> str:
        job_id = uuid.uuid4().hex
        self.received.append((pipeline.name, pipeline_input, app))
        self._jobs[job_id] = self._executor.submit(app.run_pipeline, pipeline.name, pipeline_input)
        return job_id

    def get_pipeline_response_json_for_id(self, job_id: str) -> str:
        future = self._jobs[job_id]
        if not future.done():
            return json.dumps(PipelineResponse(None, {}, job_id=job_id, job_status=JobStatus.running).json())
        error = future.exception()
        if error is not None:
            failed = PipelineResponse(
                None, {}, job_id=job_id, job_status=JobStatus.failed,
                error={"type": type(error).__name__, "message": str(error)},
            )
            return json.dumps(failed.json())
        response = future.result()
        response.job_id = job_id
        return json.dumps(response.json())

    def wait(self, job_id: str) -> None:
        self._jobs[job_id].result(timeout=30)

    def close(self) -> None:
        self._executor.shutdown(wait=True)


class NamedFetchPool(ThreadWorkerPool):
    """A pool whose fetch also takes the pipeline's name, as the RQ pool's does."""

    def __init__(self):
        super().__init__()
        self.fetched_for: List[str] = []

    def get_pipeline_response_json_for_id(self, job_id: str, pipeline_name: str = "") -> str:
        self.fetched_for.append(pipeline_name)
        return super().get_pipeline_response_json_for_id(job_id)


@pytest.fixture
def pool():
    pool = ThreadWorkerPool()
    yield pool
    pool.close()


@pytest.fixture
def store(tmp_path):
    client = EmbeddedOpStoreClient(str(tmp_path / "store"))
    yield client
    client.close()


def is_odd(name: str = "is_odd", use_worker=None) -> Pipeline:
    return Pipeline(
        [
            Node(AddOneOp(), input_nodes=["__pipeline_input__"], output_nodes="plus_one"),
            Node(IsOddOp(), input_nodes=["plus_one"], output_nodes="__pipeline_output__"),
        ],
        name,
        use_worker=use_worker,
    )


def train_model() -> Pipeline:
    return Pipeline([Node(Model(train=True), input_nodes=["__pipeline_input__"])], "train_model")


def predict_model() -> Pipeline:
    return Pipeline(
        [Node(Model(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")], "predict_model"
    )


def train_upstream() -> Pipeline:
    return Pipeline([Node(Upstream(train=True), input_nodes=["__pipeline_input__"])], "train_upstream")


def predict_chain() -> Pipeline:
    return Pipeline(
        [
            Node(Upstream(), input_nodes=["__pipeline_input__"], output_nodes="up"),
            Node(Downstream(), input_nodes=["up"], output_nodes="__pipeline_output__"),
        ],
        "predict_chain",
    )


def versions_of(pipeline: Pipeline) -> Dict[str, Any]:
    return {node.name: version for node, version in pipeline.get_pipeline_versions().items()}


# ---------------------------------------------------------------------------- registry


def test_the_registry_holds_the_pipelines_by_name():
    first, second = is_odd("first"), is_odd("second")
    service = PipelinesService([first, second])
    assert sorted(service.pipelines) == ["first", "second"]
    assert service.get_pipeline("second") is second
    # the mapping handed out is a copy: the registry cannot be changed through it
    service.pipelines.pop("first")
    assert service.get_pipeline("first") is first


def test_an_unknown_pipeline_is_not_found_with_the_available_names():
    service = PipelinesService([is_odd("zeta"), is_odd("alpha")])
    with pytest.raises(NotFoundError) as error:
        service.call_pipeline("beta", 1)
    assert str(error.value) == "no pipeline named 'beta' in this app (available: alpha, zeta)"
    assert isinstance(error.value, ValueError)


def test_an_empty_service_says_none_are_available():
    with pytest.raises(NotFoundError, match=r"^no pipeline named 'x' in this app \(available: none\)$"):
        PipelinesService([]).get_pipeline("x")


def test_two_pipelines_of_the_same_name_are_refused():
    with pytest.raises(ValueError, match=r"^two pipelines of this app are named 'twice'$"):
        PipelinesService([is_odd("twice"), is_odd("twice")])


def test_calls_run_here_and_report_the_versions_that_ran():
    pipeline = is_odd()
    service = PipelinesService([pipeline], runner=SequentialRunner())
    response = service.call_pipeline("is_odd", 4)
    assert response.value is True
    assert response.job_id is None and response.job_status is JobStatus.done
    assert response.versions == versions_of(pipeline)
    assert service.pipeline_versions("is_odd") == {name: str(v) for name, v in versions_of(pipeline).items()}


# ---------------------------------------------------------------------------- the use-worker decision


@pytest.mark.parametrize(
    "app_flag, pipeline_flag, request_flag, in_worker",
    [
        (None, None, None, False),
        (True, None, None, True),
        (None, True, None, True),
        (None, None, True, True),
        (True, True, False, False),  # an explicit False wins over any True
        (False, None, True, False),
        (None, False, True, False),
    ],
)
def test_the_use_worker_decision(pool, app_flag, pipeline_flag, request_flag, in_worker):
    service = PipelinesService([is_odd(use_worker=pipeline_flag)], worker_pool=pool, use_workers=app_flag)
    response = service.call_pipeline("is_odd", 2, use_worker=request_flag)  # 2 + 1 is odd
    if not in_worker:
        assert (response.value, response.job_id, response.job_status) == (True, None, JobStatus.done)
        assert pool.received == []
        return
    assert response.value is None and response.job_status is JobStatus.queued
    assert pool.received == [("is_odd", 2, service)]
    pool.wait(response.job_id)
    done = service.fetch_job("is_odd", response.job_id)
    assert (done.value, done.job_id, done.job_status) == (True, response.job_id, JobStatus.done)
    assert done.versions == versions_of(service.get_pipeline("is_odd"))


def test_a_job_not_done_yet_has_its_status_and_no_value(pool):
    gate = threading.Event()
    pool._executor.submit(gate.wait, 30)  # keeps the only worker thread busy
    service = PipelinesService([is_odd()], worker_pool=pool)
    job_id = service.call_pipeline("is_odd", 2, use_worker=True).job_id
    try:
        running = service.fetch_job("is_odd", job_id)
        assert (running.value, running.job_status) == (None, JobStatus.running)
    finally:
        gate.set()
    pool.wait(job_id)
    assert service.fetch_job("is_odd", job_id).value is True


def test_the_app_given_to_the_pool_is_the_one_passed(pool):
    marker = PipelinesService([is_odd()])
    service = PipelinesService([is_odd()], worker_pool=pool, app=marker)
    job_id = service.call_pipeline("is_odd", 6, use_worker=True).job_id
    assert pool.received[0][2] is marker
    pool.wait(job_id)
    assert service.fetch_job("is_odd", job_id).value is True


def test_a_pool_fetching_by_pipeline_name_is_given_the_name():
    pool = NamedFetchPool()
    try:
        service = PipelinesService([is_odd()], worker_pool=pool)
        job_id = service.call_pipeline("is_odd", 0, use_worker=True).job_id
        pool.wait(job_id)
        assert service.fetch_job("is_odd", job_id).value is True
        assert pool.fetched_for == ["is_odd"]
    finally:
        pool.close()


def test_asking_for_a_worker_without_a_pool_is_a_config_error():
    service = PipelinesService([is_odd(use_worker=True)])
    with pytest.raises(ConfigError) as error:
        service.call_pipeline("is_odd", 1)
    assert str(error.value) == (
        "pipeline 'is_odd' was asked to run in a worker but this server has no worker_pool: "
        "pass worker_pool= to PipelinesServer"
    )


def test_fetching_a_job_without_a_pool_is_not_found():
    service = PipelinesService([is_odd()])
    with pytest.raises(NotFoundError, match=r"^no job 'abc': this server has no worker pool$"):
        service.fetch_job("is_odd", "abc")


def test_fetching_a_job_of_an_unknown_pipeline_is_not_found(pool):
    service = PipelinesService([is_odd()], worker_pool=pool)
    with pytest.raises(NotFoundError, match=r"^no pipeline named 'other' in this app \(available: is_odd\)$"):
        service.fetch_job("other", "abc")


# ---------------------------------------------------------------------------- load, save and start


@pytest.mark.parametrize("action", ["load_pipeline", "save_pipeline"])
def test_load_and_save_without_an_op_store_are_config_errors(action):
    service = PipelinesService([is_odd()])
    with pytest.raises(ConfigError) as error:
        getattr(service, action)("is_odd")
    assert str(error.value) == "this server has no op store: pass op_store_client= to save or load"


def test_start_without_an_op_store_does_nothing():
    service = PipelinesService([is_odd()])
    service.start()
    assert service.is_loaded("is_odd") is False


def test_start_registers_the_pipelines_the_store_never_saw(store):
    service = PipelinesService([is_odd(), predict_model()], op_store_client=store)
    assert store.get_all_pipelines() == []  # the constructor only keeps its collaborators
    assert service.is_loaded("is_odd") is False
    service.start()
    assert store.get_all_pipelines() == ["is_odd", "predict_model"]
    assert service.is_loaded("is_odd") and service.is_loaded("predict_model")
    # an untrained loadable op is registered under its current version
    model = service.get_pipeline("predict_model").node_for_name["model"]
    assert store.get_all_versions_of_op("model") == [model.node_version]


def test_start_loads_the_pipelines_the_store_saved(store):
    trainer = PipelinesService([train_model()], op_store_client=store)
    trainer.start()
    trainer.call_pipeline("train_model", 7)
    trainer.save_pipeline("train_model")
    trained_version = versions_of(trainer.get_pipeline("train_model"))["model"]

    PipelinesService([predict_model()], op_store_client=store).start()  # registered by an earlier server

    server = PipelinesService([predict_model()], op_store_client=store)
    assert server.call_pipeline("predict_model", 1).value == 1  # untrained until started
    server.start()
    assert server.is_loaded("predict_model")
    response = server.call_pipeline("predict_model", 1)
    assert response.value == 1 + 7
    assert response.versions["model"] == trained_version


def test_save_then_load_through_the_service(store):
    trainer = PipelinesService([train_model()], op_store_client=store)
    server = PipelinesService([predict_model()], op_store_client=store)
    server.start()
    trainer.call_pipeline("train_model", 3)
    trainer.save_pipeline("train_model")
    assert server.call_pipeline("predict_model", 10).value == 10
    server.load_pipeline("predict_model")
    assert server.call_pipeline("predict_model", 10).value == 13


def _conflicting_store(store) -> None:
    """Registers the chain, then saves a newly trained upstream its downstream never saw."""
    PipelinesService([predict_chain(), train_upstream()], op_store_client=store).start()
    trainer = PipelinesService([train_upstream()], op_store_client=store)
    trainer.call_pipeline("train_upstream", 10)
    trainer.save_pipeline("train_upstream")


def test_a_failed_load_leaves_the_pipeline_as_it_was(store):
    service = PipelinesService([predict_chain()], op_store_client=store)
    service.start()
    pipeline = service.get_pipeline("predict_chain")
    versions_before, nodes_before = versions_of(pipeline), pipeline.pipeline_nodes
    _conflicting_store(store)
    with pytest.raises(VersionError) as error:
        service.load_pipeline("predict_chain")
    assert str(error.value).startswith(f"{VersionError.summary}. {VersionError.hint}: ")
    assert "op 'downstream'" in str(error.value) and "upstream op 'upstream'" in str(error.value)
    assert versions_of(pipeline) == versions_before
    assert pipeline.pipeline_nodes == nodes_before
    assert service.call_pipeline("predict_chain", 5).value == 5
    assert service.is_loaded("predict_chain")  # it was loaded at start, and still is


def test_a_pipeline_that_cannot_load_at_start_keeps_its_ops_and_is_not_loaded(store, caplog):
    _conflicting_store(store)
    service = PipelinesService([predict_chain(), is_odd()], op_store_client=store)
    versions_before = versions_of(service.get_pipeline("predict_chain"))
    with caplog.at_level(logging.WARNING, logger="chariots.pipelines"):
        service.start()
    assert service.is_loaded("predict_chain") is False
    assert service.is_loaded("is_odd") is True  # the others still start
    assert versions_of(service.get_pipeline("predict_chain")) == versions_before
    assert service.call_pipeline("predict_chain", 5).value == 5
    warnings = [
        r.getMessage() for r in caplog.records if r.name == "chariots.pipelines" and r.levelno == logging.WARNING
    ]
    kept = [w for w in warnings if w.startswith("pipeline 'predict_chain' kept its in-memory ops: ")]
    assert len(kept) == 1 and VersionError.summary in kept[0]


def test_is_loaded_of_an_unknown_pipeline_is_not_found():
    with pytest.raises(NotFoundError, match=r"^no pipeline named 'nope' in this app \(available: is_odd\)$"):
        PipelinesService([is_odd()]).is_loaded("nope")
