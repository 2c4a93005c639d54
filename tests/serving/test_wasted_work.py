"""What a load, a generation change, a train-then-save and a worker job cost, counted for real.

- A load of a pipeline of N stateful ops from an op store over HTTP makes at most N+2 requests
  (one lookup of every op's states, one GET of bytes per op, one generation recorded), and a
  process following that generation at most N+1 (the generation with its states, the bytes).
- A train then save serializes each changed op once and uploads no unchanged state.
- The Redis payload of a job for a pipeline holding a 50 MB model stays under 64 KB.
"""
from __future__ import annotations

import os
import threading
from collections import Counter
from typing import Any, Callable, Dict, Iterator, List

import pytest

from chariots import MLMode, Pipeline
from chariots.nodes import Node
from chariots.op_store import OpStoreClient, OpStoreServer
from chariots.op_store.savers import FileSaver
from chariots.ops import BaseOp
from chariots.serving import PipelinesService
from tests.conftest import serve_wsgi
from tests.lineage.light_ops import VALUES, MeanOp


class Numbers(BaseOp):
    def execute(self) -> List[float]:
        return list(VALUES)


class CountingApp:
    """A WSGI app counting the requests it serves, by ``METHOD path-prefix``."""

    def __init__(self, app: Callable):
        self.app = app
        self.requests: List[str] = []
        self._lock = threading.Lock()

    def __call__(self, environ: Dict[str, Any], start_response: Callable) -> Any:
        with self._lock:
            self.requests.append(f"{environ['REQUEST_METHOD']} {environ['PATH_INFO']}")
        return self.app(environ, start_response)

    def take(self) -> List[str]:
        with self._lock:
            taken, self.requests = self.requests, []
        return taken


@pytest.fixture
def counted_store(tmp_path) -> Iterator[tuple]:
    server = OpStoreServer(FileSaver(str(tmp_path / "saver")), db_url=f"sqlite:///{tmp_path / 'store.db'}")
    counting = CountingApp(server.flask)
    with serve_wsgi(counting) as url:
        client = OpStoreClient(url, secret_key="k" * 32)
        yield client, counting
        client.close()
    server.close()


def chain(n: int, mode: MLMode, name: str) -> Pipeline:
    """``n`` models in a row (each centers what the previous one outputs)."""
    nodes = [Node(Numbers(), output_nodes="x")] if mode is not MLMode.PREDICT else []
    source = "x" if mode is not MLMode.PREDICT else "__pipeline_input__"
    for index in range(n):
        last = index == n - 1
        op_mode = MLMode.FIT if (last and mode is not MLMode.PREDICT) else mode
        output = None if op_mode is MLMode.FIT else ("__pipeline_output__" if last else f"c{index}")
        nodes.append(Node(MeanOp(op_mode, name=f"mean{index}"), input_nodes=[source], output_nodes=output))
        source = f"c{index}"
    return Pipeline(nodes, name)


@pytest.mark.parametrize("n", [1, 3, 8])
def test_a_load_over_http_makes_at_most_n_plus_2_requests_and_following_it_n_plus_1(counted_store, n):
    store, counting = counted_store
    train = chain(n, MLMode.FIT_PREDICT, "train")
    train_service = PipelinesService([train], op_store_client=store, follow_generations=False)
    train_service.start()
    train_service.run_pipeline("train")
    train_service.save_pipeline("train")

    loading = PipelinesService([chain(n, MLMode.PREDICT, "pred")], op_store_client=store)
    following = PipelinesService([chain(n, MLMode.PREDICT, "pred")], op_store_client=store)
    for service in (loading, following):
        service.start()
        service.generations.stop()  # the polls are not what is counted: apply the generation by hand
    counting.take()

    assert loading.load_pipeline("pred") == 1
    load_requests = counting.take()
    assert len(load_requests) <= n + 2, load_requests
    assert Counter(request.split(" ")[0] for request in load_requests) == {"POST": 2, "GET": n}

    assert following.generations.apply_latest("pred") == 1
    follow_requests = counting.take()
    assert len(follow_requests) <= n + 1, follow_requests
    assert following.run_pipeline("pred", [1.0, 2.0]).value == loading.run_pipeline("pred", [1.0, 2.0]).value


class CountedMean(MeanOp):
    """A MeanOp counting its serializations (class-wide, by op name)."""

    serializations: Counter = Counter()

    def serialize(self) -> bytes:
        CountedMean.serializations[self.name] += 1
        return super().serialize()


def test_train_then_save_serializes_each_changed_op_once_and_uploads_no_unchanged_state(counted_store):
    store, counting = counted_store
    pipeline = Pipeline([
        Node(Numbers(), output_nodes="x"),
        Node(CountedMean(MLMode.PREDICT, name="frozen"), input_nodes=["x"], output_nodes="x_f"),
        Node(CountedMean(MLMode.FIT_PREDICT, name="first"), input_nodes=["x_f"], output_nodes="x_c"),
        Node(CountedMean(MLMode.FIT, name="second"), input_nodes=["x_c"]),
    ], "train")
    # the frozen model was trained and saved before: its state is in the store
    frozen_training = Pipeline([Node(Numbers(), output_nodes="x"),
                                Node(CountedMean(MLMode.FIT, name="frozen"), input_nodes=["x"])], "train_frozen")
    frozen_service = PipelinesService([frozen_training], op_store_client=store, follow_generations=False)
    frozen_service.start()
    frozen_service.run_pipeline("train_frozen")
    frozen_service.save_pipeline("train_frozen")

    service = PipelinesService([pipeline], op_store_client=store)
    service.start()
    service.generations.stop()
    service.load_pipeline("train")  # the frozen model's state
    CountedMean.serializations.clear()
    counting.take()
    service.run_pipeline("train")  # stages the training
    service.save_pipeline("train")
    assert CountedMean.serializations == {"first": 1, "second": 1}
    uploads = [request for request in counting.take() if request.startswith("PUT")]
    assert sorted(upload.split("/")[2] for upload in uploads) == ["first", "second"]

    # a second save of the same training uploads nothing and serializes nothing
    CountedMean.serializations.clear()
    service.save_pipeline("train")
    assert not CountedMean.serializations
    assert not [request for request in counting.take() if request.startswith("PUT")]


class HeavyMean(MeanOp):
    """A MeanOp whose model carries 50 MB of random bytes (RQ compresses job payloads: zeros would
    shrink to nothing)."""

    def fit(self, values: List[float]) -> None:
        super().fit(values)
        self._model["padding"] = os.urandom(50 * 1024 * 1024)


@pytest.mark.redis
def test_the_job_of_a_pipeline_holding_a_50_mb_model_is_under_64_kb_in_redis(tmp_path, redis_connection):
    from chariots.op_store import EmbeddedOpStoreClient
    from chariots.workers import RQWorkerPool

    store = EmbeddedOpStoreClient(str(tmp_path / "store"), secret_key="k" * 32)
    train = Pipeline([Node(Numbers(), output_nodes="x"),
                      Node(HeavyMean(MLMode.FIT, name="heavy"), input_nodes=["x"])], "train")
    pred = Pipeline([Node(HeavyMean(MLMode.PREDICT, name="heavy"), input_nodes=["__pipeline_input__"],
                          output_nodes="__pipeline_output__")], "pred")
    service = PipelinesService([train, pred], op_store_client=store, follow_generations=False)
    service.start()
    service.run_pipeline("train")
    service.save_pipeline("train")
    service.load_pipeline("pred")
    assert len(pred.pipeline_nodes[0].op.model["padding"]) == 50 * 1024 * 1024  # served, in memory

    pool = RQWorkerPool(redis=redis_connection, secret_key="k" * 32)
    job_id = pool.execute_pipeline_async(service.get_pipeline("pred"), [1.0, 2.0], service)
    sizes = {key.decode(): redis_connection.memory_usage(key) for key in redis_connection.keys(f"*{job_id}*")}
    job_key = next(key for key in sizes if key.endswith(job_id) and ":job:" in key)
    payload = redis_connection.hget(job_key, "data")
    assert payload is not None and len(payload) < 64 * 1024, len(payload or b"")
    assert sum(sizes.values()) < 256 * 1024, sizes
    store.close()
