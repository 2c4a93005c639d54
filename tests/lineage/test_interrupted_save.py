"""Hole 6: a save is atomic. Killed half-way (the saving process, or the op store), it certifies nothing.

A process trains the light models and saves them to an op store served over HTTP; the
downstream model carries padding bytes so that its upload lasts. It is killed (SIGKILL) once
while that upload is being written, and at random moments after training. After each kill
the prediction pipeline must load a pair of versions that some training produced together.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

from chariots.errors import ChariotsError
from chariots.op_store import OpStoreClient
from chariots.pipelines.runners import SequentialRunner
from tests.conftest import free_port, partial_write_seen, wait_for_port
from tests.lineage.conftest import serve
from tests.lineage.light_ops import pred_big, train_big

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PADDING = 24 * 1024 * 1024
INPUT = [1.0, 4.0, 9.0]


def process(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "tests.lineage.lineage_process", *args], cwd=ROOT, **kwargs)


def versions(client, pipeline_name: str) -> tuple:
    served = client.pipeline_versions(pipeline_name)
    return str(served["meanop"]), str(served["bigop"])


def assert_serves_a_trained_pair(client, store, pairs: set, attempt: str) -> None:
    for op_name in ("meanop", "bigop"):
        for version in store.get_all_versions_of_op(op_name):
            store.get_op_bytes_for_version(op_name, version)  # every listed version has its bytes
    client.load_pipeline("pred_big")
    served = versions(client, "pred_big")
    assert served in pairs, f"after {attempt}: serves {served}, a pair no training produced"
    assert len(client.call_pipeline("pred_big", INPUT).value) == len(INPUT)


def test_a_save_killed_half_way_certifies_nothing(http_store):
    store = OpStoreClient(http_store.url)
    client = serve(store, train_big(), pred_big())
    client.call_pipeline("train_big")
    client.save_pipeline("train_big")
    pairs = {versions(client, "train_big")}
    client.load_pipeline("pred_big")
    assert versions(client, "pred_big") in pairs

    randomness = random.Random()
    for attempt in ("while the model bytes upload", "at a random moment", "at another random moment"):
        saver = process("save-big", http_store.url, str(PADDING), stdout=subprocess.PIPE, text=True)
        try:
            line = saver.stdout.readline()
            assert line.startswith("trained "), line
            trained = json.loads(line[len("trained "):])
            pairs.add((trained["meanop"], trained["bigop"]))
            if attempt.startswith("while"):
                partial_write_seen(http_store.saver_root, PADDING // 8)
            else:
                time.sleep(randomness.uniform(0.0, 0.4))
            saver.send_signal(signal.SIGKILL)
        finally:
            saver.kill()
            saver.wait(timeout=30)
            saver.stdout.close()
        assert_serves_a_trained_pair(client, store, pairs, attempt)
    store.close()


def test_the_op_store_killed_mid_save_certifies_nothing(http_store_settings):
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    def start_op_store() -> subprocess.Popen:
        server = process("serve", http_store_settings.saver_root, http_store_settings.db_url, str(port))
        wait_for_port(port, timeout=30)
        return server

    op_store = start_op_store()
    try:
        store = OpStoreClient(url)
        client = serve(store, train_big(), pred_big())
        client.call_pipeline("train_big")
        client.save_pipeline("train_big")
        pairs = {versions(client, "train_big")}

        pipeline = train_big(PADDING)
        SequentialRunner().run(pipeline)
        trained = {node.name: str(version) for node, version in pipeline.get_pipeline_versions().items()}
        pairs.add((trained["meanop"], trained["bigop"]))
        failures: list = []

        def save() -> None:
            try:
                pipeline.save(OpStoreClient(url))
            except ChariotsError as error:  # the op store went down: expected
                failures.append(error)

        saving = threading.Thread(target=save)
        saving.start()
        assert partial_write_seen(http_store_settings.saver_root, PADDING // 8), "the upload never started"
        op_store.send_signal(signal.SIGKILL)
        op_store.wait(timeout=30)
        saving.join(60)
        assert failures, "the save did not notice the op store going down"

        op_store = start_op_store()
        assert_serves_a_trained_pair(client, store, pairs, "the op store was killed")
    finally:
        op_store.kill()
        op_store.wait(timeout=30)
