"""The docs' defaults, no key configured anywhere: ``Chariots(app_path)`` and
``RQWorkerPool(...).spawn_worker()``. The worker spawned by the pool signs with the app's keys, so
what it trains and saves is what the server loads and serves (issue 18, item 9).

Before, the worker signed with the per-user key the pool resolved while the server checked the
embedded store's own key: the worker's saves were refused as signature errors, the load answered
200 and the old models kept serving.
"""
from __future__ import annotations

import pytest

from chariots import Chariots
from chariots.testing import TestPipelinesClient
from chariots.workers import JobStatus, RQWorkerPool
from tests.lineage.light_ops import pred_big, train_big
from tests.workers.conftest import SHORT_BOUND, wait_for


@pytest.mark.redis
def test_a_worker_spawned_with_the_docs_defaults_saves_what_the_server_then_serves(tmp_path, redis_connection,
                                                                                   monkeypatch):
    for variable in ("CHARIOTS_SECRET_KEY", "CHARIOTS_OLD_SECRET_KEYS"):
        monkeypatch.delenv(variable, raising=False)
    with RQWorkerPool(redis=redis_connection, abandoned_job_timeout=SHORT_BOUND) as pool:
        train, pred = train_big(), pred_big()
        app = Chariots([train, pred], str(tmp_path / "app"), worker_pool=pool, import_name="default_keys_app")
        client = TestPipelinesClient(app)
        pool.spawn_worker()

        response = client.call_pipeline(train, use_worker=True)
        done = wait_for(client, response, train, timeout=60.0)
        assert done.job_status is JobStatus.done, done.error
        trained_in_the_worker = app.op_store_client.get_op_states("bigop")[-1].version
        client.load_pipeline(pred)  # the worker's states: their signature checks here
        assert client.pipeline_versions(pred)["bigop"] == trained_in_the_worker
        served = client.call_pipeline(pred, [1.0, 2.0], use_worker=True)  # and a worker serves them too
        served = wait_for(client, served, pred, timeout=60.0)
        assert served.job_status is JobStatus.done, served.error
        assert served.versions["bigop"] == trained_in_the_worker
        assert served.value == client.call_pipeline(pred, [1.0, 2.0]).value
