"""Jobs find their op modules imported: the worker imports them once, before it forks the job's process."""
import os
import subprocess
import sys

from chariots.pipelines import PipelinesServer
from chariots.testing import TestPipelinesClient
from chariots.workers import JobStatus, RQWorkerPool, WorkerProcess
from tests.cli.conftest import REPO_ROOT
from tests.workers.conftest import SHORT_BOUND, wait_for
from tests.workers.imports_recorder import Pid
from tests.workers.worker_ops import single

N_JOBS = 3


def _importers_over_jobs(redis_connection, redis_url, tmp_path, monkeypatch, *options):
    record = tmp_path / "imports.txt"
    monkeypatch.setenv("CHARIOTS_TEST_IMPORTS", str(record))
    pipeline = single(Pid(), "pid")
    pool = RQWorkerPool(redis=redis_connection)
    client = TestPipelinesClient(PipelinesServer([pipeline], worker_pool=pool, import_name="app"))
    command = [sys.executable, "-m", "chariots.workers", "--url", redis_url, "--log-level", "WARNING",
               "--abandoned-job-timeout", str(SHORT_BOUND), *options]
    with WorkerProcess(subprocess.Popen(command, cwd=REPO_ROOT, start_new_session=True)) as worker:
        job_pids = []
        for _ in range(N_JOBS):
            done = wait_for(client, client.call_pipeline(pipeline, 0, use_worker=True), pipeline)
            assert done.job_status is JobStatus.done
            job_pids.append(done.value)
        worker_pid = worker.pid
    importers = [int(line) for line in record.read_text().split()] if record.exists() else []
    return worker_pid, job_pids, [pid for pid in importers if pid != os.getpid()]


def test_the_worker_imports_a_jobs_op_module_once_and_jobs_do_not(redis_connection, redis_url, tmp_path,
                                                                   monkeypatch):
    worker_pid, job_pids, importers = _importers_over_jobs(redis_connection, redis_url, tmp_path, monkeypatch)
    assert len(set(job_pids)) == N_JOBS and worker_pid not in job_pids  # each job ran in a forked process
    assert importers == [worker_pid]


def test_without_preloading_every_job_imports_the_module(redis_connection, redis_url, tmp_path, monkeypatch):
    _, job_pids, importers = _importers_over_jobs(redis_connection, redis_url, tmp_path, monkeypatch,
                                                  "--no-preload-job-modules")
    assert importers == job_pids


def test_preload_imports_the_given_modules_before_the_first_job(redis_connection, redis_url, tmp_path,
                                                                 monkeypatch):
    worker_pid, _, importers = _importers_over_jobs(redis_connection, redis_url, tmp_path, monkeypatch,
                                                    "--no-preload-job-modules",
                                                    "--preload", "tests.workers.imports_recorder")
    assert importers == [worker_pid]


def test_a_job_records_the_modules_of_its_ops():
    from chariots.pipelines.runners import SequentialRunner
    from chariots.workers._rq_job import modules_of

    assert modules_of(single(Pid(), "pid"), SequentialRunner()) == [
        "chariots.pipelines.runners._sequential_runner", "tests.workers.imports_recorder",
    ]
