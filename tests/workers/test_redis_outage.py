"""``chariots workers`` survives Redis going away and takes jobs again once it is back."""
import subprocess
import sys
import time

from chariots.pipelines import PipelinesServer
from chariots.testing import TestPipelinesClient
from chariots.workers import JobStatus, RQWorkerPool, WorkerProcess
from tests.cli.conftest import REPO_ROOT
from tests.workers.conftest import SHORT_BOUND, wait_for
from tests.workers.worker_ops import is_odd_pipeline

OUTAGES = (0.5, 2.0, 4.0)  # seconds without Redis: a blip, then longer than RQ's first retries


def start_workers_command(private_redis, tmp_path):
    """``chariots workers`` on the private Redis, its output going to a log file."""
    config = tmp_path / "config.yaml"
    config.write_text(
        "pipelines_workers:\n  worker_type: rq\n  worker_pool_kwargs:\n"
        f"    redis_kwargs: {{host: 127.0.0.1, port: {private_redis.port}, username: {private_redis.USER}, "
        f"password: {private_redis.password}}}\n"
    )
    command = [sys.executable, "-m", "chariots.cli", "workers", "-c", str(config),
               "--abandoned-job-timeout", str(SHORT_BOUND)]
    log = open(tmp_path / "worker.log", "w+")
    worker = WorkerProcess(subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                            start_new_session=True))
    return worker, log


def stop_and_read(worker, log) -> str:
    worker.kill()
    log.seek(0)
    output = log.read()
    log.close()
    return output


def test_the_workers_command_reconnects_after_each_redis_outage(private_redis, tmp_path):
    worker, log = start_workers_command(private_redis, tmp_path)
    pipeline = is_odd_pipeline()

    def one_job(value):
        pool = RQWorkerPool(redis=private_redis.connection())
        client = TestPipelinesClient(PipelinesServer([pipeline], worker_pool=pool, import_name="app"))
        return wait_for(client, client.call_pipeline(pipeline, value, use_worker=True), pipeline, timeout=30)

    try:
        assert one_job(1).value is False
        for number, outage in enumerate(OUTAGES, start=2):
            private_redis.kill()
            time.sleep(outage)
            private_redis.start()  # same port, empty
            done = one_job(number)
            assert (done.job_status, done.value) == (JobStatus.done, number % 2 == 0)
            assert worker.is_alive()
        assert worker.stop(timeout=10) == 0
    finally:
        output = stop_and_read(worker, log)
    assert "Traceback" not in output, output
    # no check of RQ's "could not connect" line: redis-py may retry a command across a short outage
    # and reconnect without the worker noticing; the job done on each new, empty Redis is the proof
    assert output.rstrip().endswith("Worker stopped"), output


def test_a_worker_registers_again_when_redis_restarts_empty(private_redis, tmp_path):
    # RQ counts workers from their registration in Redis: a Redis restarted without its data
    # forgets them, and a pool would report no worker while one is taking jobs
    worker, log = start_workers_command(private_redis, tmp_path)

    def counted_within(seconds: float) -> float:
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            try:
                if RQWorkerPool(redis=private_redis.connection()).n_workers == 1:
                    return time.monotonic() - started
            except Exception:  # Redis still starting
                pass
            time.sleep(0.2)
        raise AssertionError(f"the pool counts no worker {seconds} s after Redis restarted")

    try:
        counted_within(30)
        for _ in range(2):
            private_redis.kill()
            time.sleep(1.0)
            private_redis.start()  # same port, empty
            # an idle worker's heartbeat comes every max(5, abandoned job timeout) s, plus RQ's reconnect wait
            assert counted_within(20) < 20
            assert worker.is_alive()
        assert worker.stop(timeout=10) == 0
    finally:
        output = stop_and_read(worker, log)
    assert output.count("Redis no longer knows this worker") >= 2, output
    assert "Traceback" not in output, output
