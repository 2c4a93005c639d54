"""A job whose whole worker is killed (kill -9), on another host, reads failed within the configured bound."""
import random
import shutil
import socket
import subprocess
import sys
import time

import pytest
from rq import Worker
from rq.job import Job

from chariots.pipelines import PipelinesServer
from chariots.testing import TestPipelinesClient
from chariots.workers import DillRQSerializer, JobStatus, RQWorkerPool, WorkerProcess
from tests.cli.conftest import REPO_ROOT
from tests.workers.conftest import SHORT_BOUND, wait_for
from tests.workers.worker_ops import Sleep, single

N_KILLS = 10


def _can_unshare() -> bool:
    unshare = shutil.which("unshare")
    return bool(unshare) and subprocess.run([unshare, "--uts", "true"], capture_output=True).returncode == 0


def _other_host_command(hostname: str, redis_url: str) -> list:
    """Runs a worker whose hostname differs from this machine's (a UTS namespace of its own) when possible."""
    worker = [sys.executable, "-m", "chariots.workers", "--url", redis_url, "--log-level", "WARNING",
              "--abandoned-job-timeout", str(SHORT_BOUND)]
    if _can_unshare():
        return ["unshare", "--uts", "sh", "-c", f'hostname {hostname} && exec "$@"', "sh", *worker]
    return worker  # no namespaces here: the worker shares the hostname (the bound does not depend on it)


def test_jobs_of_workers_killed_at_random_moments_on_other_hosts_read_failed_within_the_bound(
    redis_connection, redis_url
):
    seed = random.randrange(10**6)
    rng = random.Random(seed)
    pipeline = single(Sleep(), "sleepy")
    pool = RQWorkerPool(redis=redis_connection)
    client = TestPipelinesClient(PipelinesServer([pipeline], worker_pool=pool, import_name="app"))
    responses = [client.call_pipeline(pipeline, 60, use_worker=True) for _ in range(N_KILLS)]
    workers = {}
    isolated, other_hosts = _can_unshare(), 0
    try:
        for index in range(N_KILLS):
            process = subprocess.Popen(_other_host_command(f"elsewhere-{index}", redis_url), cwd=REPO_ROOT,
                                       start_new_session=True)
            workers[process.pid] = WorkerProcess(process)
        # each worker takes one job; kill each whole worker at a random moment of its job's first 2 s
        plan = []
        for response in responses:
            wait_for(client, response, pipeline, statuses=(JobStatus.running,), timeout=60)
            job = Job.fetch(response.job_id, connection=redis_connection, serializer=DillRQSerializer)
            worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + job.worker_name,
                                        connection=redis_connection)
            plan.append((time.monotonic() + rng.uniform(0, 2), response, workers[int(worker.pid)]))
        killed = []
        for kill_at, response, worker in sorted(plan, key=lambda item: item[0]):
            time.sleep(max(0.0, kill_at - time.monotonic()))
            assert client.fetch_job(response.job_id, pipeline).job_status is JobStatus.running
            worker.kill()  # SIGKILL to the worker and its work horse
            killed.append((time.monotonic(), response))
        for killed_at, response in killed:
            failed = wait_for(client, response, pipeline, timeout=SHORT_BOUND + 10)
            waited = time.monotonic() - killed_at
            assert waited <= SHORT_BOUND, f"job read failed {waited:.1f}s after the kill (seed {seed})"
            assert failed.job_status is JobStatus.failed
            assert failed.error["type"] == "WorkerDied"
            assert "stopped sending heartbeats before the job finished" in failed.error["message"]
            if "on host" in failed.error["message"] and isolated:  # the job had recorded where it ran
                assert "on host 'elsewhere-" in failed.error["message"]
                other_hosts += 1
        if isolated:
            assert other_hosts >= 1, "no job recorded the other host it ran on"
        assert socket.gethostname() not in {f"elsewhere-{index}" for index in range(N_KILLS)}
    finally:
        for worker in workers.values():
            worker.kill()
            worker.wait(10)


@pytest.mark.parametrize("bound", [3.0, 60.0])
def test_the_heartbeat_ttl_keeps_the_bound(bound):
    from chariots.workers._worker import heartbeat_settings

    settings = heartbeat_settings(bound)
    # RQ's registry has a one-second resolution: the TTL leaves that second, and heartbeats come 3 times per TTL
    assert settings["ttl"] + 1 <= bound
    assert settings["interval"] * 2 <= settings["ttl"]
