"""Hole 5: a training run and a save of the same pipeline are serialized.

Two threads hammer ``main`` (a training) and ``save`` of one pipeline on a real HTTP server,
a bounded number of times; every version the store then holds must be the model of that
version, and the newest one is what a load serves.
"""

from __future__ import annotations

import threading
import time

from chariots import Client
from chariots.pipelines import PipelinesServer
from tests.lineage.lineage_ops import PREDICT, ROWS, SlowLinearOp, build

ITERATIONS = 40
TIME_BOUND = 20.0


def hammer(url: str, route: str, errors: list, deadline: float) -> None:
    client = Client(url)
    try:
        for _ in range(ITERATIONS):
            if time.monotonic() > deadline:
                return
            if route == "main":
                client.call_pipeline("train_slow")
            else:
                client.save_pipeline("train_slow")
    except Exception as error:  # the test reports it
        errors.append(error)


def test_training_racing_saves_never_stores_a_model_under_another_version(store, wsgi_server):
    url = wsgi_server(PipelinesServer(build("train_slow", "pred_slow"), op_store_client=store))
    errors: list = []
    deadline = time.monotonic() + TIME_BOUND
    threads = [threading.Thread(target=hammer, args=(url, route, errors, deadline)) for route in ("main", "save")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIME_BOUND + 10)
    assert not errors, errors

    versions = store.get_all_versions_of_op("slowlinearop")
    assert len(versions) > 2
    mislabeled = []
    for version in versions:
        op = SlowLinearOp(PREDICT)
        op.load(store.get_op_bytes_for_version("slowlinearop", version))
        if op.op_version != version:
            mislabeled.append(f"{version!r} holds the model of {op.op_version!r}")
    assert not mislabeled, f"{len(mislabeled)} of {len(versions)} stored versions: " + "; ".join(mislabeled[:3])

    client = Client(url)
    client.call_pipeline("train_slow")
    client.save_pipeline("train_slow")
    trained = client.pipeline_versions("train_slow")["slowlinearop"]
    client.load_pipeline("pred_slow")
    assert client.pipeline_versions("pred_slow")["slowlinearop"] == trained
    assert len(client.call_pipeline("pred_slow", ROWS).value) == len(ROWS)
