"""Progress on long work: the client's wait_for_job, the job lines of the server, db-upgrade's steps."""
from __future__ import annotations

import logging
import re

import pytest
from click.testing import CliRunner

from chariots.cli import cli
from chariots.pipelines import PipelinesServer
from chariots.testing import TestPipelinesClient
from chariots.workers import JobStatus, RQWorkerPool
from tests.workers.worker_ops import is_odd_pipeline


@pytest.fixture
def worker_pool(redis_connection):
    """A pool on the test Redis whose spawned workers are stopped after the test."""
    with RQWorkerPool(redis=redis_connection) as pool:
        yield pool


@pytest.mark.redis
def test_wait_for_job_times_out_naming_the_job_then_returns_it_done(worker_pool, caplog):
    caplog.set_level(logging.INFO, logger="chariots")
    pipeline = is_odd_pipeline()
    client = TestPipelinesClient(PipelinesServer([pipeline], worker_pool=worker_pool, import_name="waiting"))
    response = client.call_pipeline(pipeline, 3, use_worker=True)
    job_id = response.job_id
    # no worker yet: the job stays queued
    with pytest.raises(TimeoutError, match=rf"^job '{job_id}' of pipeline 'is_odd' is still queued after 0.3s: "
                                           r"wait longer \(timeout=\), or check that a worker serves its queue$"):
        client.wait_for_job(job_id, pipeline, timeout=0.3, poll_interval=0.05)
    worker_pool.spawn_worker()
    seen = []
    done = client.wait_for_job(job_id, "is_odd", timeout=30, poll_interval=0.05,
                               on_status=lambda answer: seen.append(answer.job_status))
    assert (done.job_status, done.value) == (JobStatus.done, False)
    assert seen[0] is JobStatus.queued and seen[-1] is JobStatus.done
    lines = [record.getMessage() for record in caplog.records if getattr(record, "event", None) == "job"]
    assert lines[0] == f"job {job_id} of pipeline 'is_odd': queued"
    assert lines[-1].startswith(f"job {job_id} of pipeline 'is_odd': ") and lines[-1].endswith(" -> done")


def test_db_upgrade_shows_a_line_per_step(tmp_path):
    url = f"sqlite:///{tmp_path / 'store.db'}"
    first = CliRunner().invoke(cli, ["db-upgrade", "--db-url", url])
    assert first.exit_code == 0, first.output
    lines = first.output.splitlines()
    assert lines[0] == f"Upgrading the op store database {url} to revision head"
    steps = [line for line in lines if line.startswith("  step: upgrade ")]
    assert re.fullmatch(r"  step: upgrade  -> 0001, .+", steps[0])
    assert len(steps) >= 1 and lines[-1] == f"Op store database {url} is at revision head"
    again = CliRunner().invoke(cli, ["db-upgrade", "--db-url", url])
    assert "step:" not in again.output
