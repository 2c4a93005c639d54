"""One launcher: spawn_worker, ``python -m chariots.workers`` and ``chariots workers`` connect the same ways."""
import json
import subprocess
import sys

import pytest
from redis import Redis

from chariots.errors import ConfigError
from chariots.pipelines import PipelinesServer
from chariots.testing import TestPipelinesClient
from chariots.workers import JobStatus, RQWorkerPool, run_worker
from chariots.workers._worker import connection_arguments, redis_connection
from tests.cli.conftest import REPO_ROOT
from tests.workers.conftest import SHORT_BOUND, wait_for
from tests.workers.worker_ops import is_odd_pipeline


def _run_one_job(pool, spawn):
    pipeline = is_odd_pipeline()
    client = TestPipelinesClient(PipelinesServer([pipeline], worker_pool=pool, import_name="app"))
    response = client.call_pipeline(pipeline, 4, use_worker=True)
    worker = spawn()
    done = wait_for(client, response, pipeline)
    assert (done.job_status, done.value) == (JobStatus.done, True)
    return worker


def test_a_spawned_worker_reaches_redis_over_a_unix_socket_with_a_user_and_password(private_redis):
    connection = Redis(unix_socket_path=private_redis.socket, username=private_redis.USER,
                       password=private_redis.password, db=2)
    with RQWorkerPool(redis=connection, abandoned_job_timeout=SHORT_BOUND) as pool:
        worker = _run_one_job(pool, pool.spawn_worker)
        with open(f"/proc/{worker.pid}/cmdline", "rb") as cmdline:
            assert private_redis.password.encode() not in cmdline.read()  # it travels in the environment


def test_python_m_chariots_workers_takes_a_url_with_user_password_and_db(private_redis):
    url = f"{private_redis.url[:-2]}/3"
    pool = RQWorkerPool(redis=Redis.from_url(url))
    command = [sys.executable, "-m", "chariots.workers", "--url", url, "--burst", "--abandoned-job-timeout", "5",
               "--log-level", "WARNING"]
    worker = _run_one_job(pool, lambda: subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.PIPE, text=True))
    out, _ = worker.communicate(timeout=120)  # a loaded CI machine starts a Python process slowly
    assert worker.returncode == 0
    assert out.splitlines() == [
        f"Worker listening to the 'chariots_workers' queue of Redis at 127.0.0.1:{private_redis.port} (db 3)",
        "Worker stopped",
    ]


def test_python_m_chariots_workers_with_a_wrong_password_is_a_clean_error(private_redis):
    url = f"redis://{private_redis.USER}:wrong@127.0.0.1:{private_redis.port}/0"
    result = subprocess.run([sys.executable, "-m", "chariots.workers", "--url", url, "--burst"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith(f"Error: cannot reach Redis at 127.0.0.1:{private_redis.port} (db 0): ")


def test_connection_arguments_keep_what_rebuilds_the_connection():
    assert connection_arguments(Redis.from_url("rediss://ann:pw@example.test:6380/4")) == {
        "host": "example.test", "port": 6380, "db": 4, "username": "ann", "password": "pw", "ssl": True,
    }
    unix = connection_arguments(Redis(unix_socket_path="/run/redis.sock", password="pw", socket_timeout=5))
    assert {key: unix[key] for key in ("unix_socket_path", "password", "socket_timeout", "db")} == {
        "unix_socket_path": "/run/redis.sock", "password": "pw", "socket_timeout": 5, "db": 0,
    }
    assert "host" not in unix
    json.dumps(unix)  # crosses to the worker process as JSON


def test_redis_connection_takes_a_pool_a_url_or_arguments():
    from redis import ConnectionPool

    pool = ConnectionPool(host="example.test", port=1234)
    assert redis_connection(pool).connection_pool is pool
    unix = redis_connection("unix:///run/redis.sock?db=3")
    assert unix.connection_pool.connection_kwargs["path"] == "/run/redis.sock"
    assert redis_connection({"host": "h", "port": 1}).connection_pool.connection_kwargs["host"] == "h"
    with pytest.raises(ConfigError, match=r"unknown Redis connection argument\(s\) 'hots': use the arguments"):
        redis_connection({"hots": "h"})
    with pytest.raises(ConfigError, match=r"'http://x' is not a Redis URL"):
        redis_connection("http://x")


def test_the_abandoned_job_bound_must_leave_room_for_heartbeats():
    with pytest.raises(ConfigError, match="abandoned_job_timeout must be at least 3 seconds"):
        run_worker("redis://127.0.0.1:1/0", abandoned_job_timeout=1)
    with pytest.raises(ConfigError, match="abandoned_job_timeout must be at least 3 seconds"):
        RQWorkerPool(redis_kwargs={}, abandoned_job_timeout=2)


def test_a_preloaded_module_that_does_not_import_is_a_clean_error(private_redis, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text(
        "pipelines_workers:\n  worker_type: rq\n  worker_pool_kwargs:\n"
        f"    redis_kwargs: {{port: {private_redis.port}, username: {private_redis.USER}, "
        f"password: {private_redis.password}}}\n"
    )
    result = subprocess.run(
        [sys.executable, "-m", "chariots.cli", "workers", "-c", str(config), "--preload", "no_such_project.ops"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=30,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.strip() == (
        "Error: cannot preload module 'no_such_project.ops': ModuleNotFoundError: No module named "
        "'no_such_project'; run the worker where your project's modules import"
    )
