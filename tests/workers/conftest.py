"""Worker fixtures: a clean Redis database and real RQ worker processes."""
import time

import pytest

from chariots.workers import JobStatus, RQWorkerPool

#: the abandoned-job bound of the tests' workers (seconds): short, so dead workers show quickly
SHORT_BOUND = 4.0


@pytest.fixture
def worker_pool(redis_connection):
    """A pool on the test Redis whose spawned workers are stopped after the test."""
    with RQWorkerPool(redis=redis_connection, abandoned_job_timeout=SHORT_BOUND) as pool:
        yield pool


def wait_for(client, response, pipeline, statuses=(JobStatus.done, JobStatus.failed), timeout=30.0):
    """Fetches a job until it reaches one of ``statuses``; returns the last response."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.fetch_job(response.job_id, pipeline)
        if response.job_status in statuses:
            return response
        time.sleep(0.05)
    raise AssertionError(f"job {response.job_id} still {response.job_status} after {timeout}s")


class PrivateRedis:
    """A redis-server of the test's own on 127.0.0.1 (and a unix socket), that the test may kill and restart.

    :param directory: where its unix socket goes
    :param password: the password of its user ``chariots`` (the default user is disabled)
    """

    USER = "chariots"

    def __init__(self, directory, password: str = "s3cret"):
        import shutil

        from tests.conftest import free_port, service_unavailable

        self.binary = shutil.which("redis-server")
        if self.binary is None:
            service_unavailable("the worker's Redis tests need a redis-server binary on PATH")
        self.port = free_port()
        self.password = password
        self.socket = str(directory / "redis.sock")
        self.process = None

    @property
    def url(self) -> str:
        return f"redis://{self.USER}:{self.password}@127.0.0.1:{self.port}/0"

    def start(self) -> "PrivateRedis":
        import subprocess

        from tests.conftest import wait_for_port

        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--unixsocket", self.socket, "--unixsocketperm", "700",
             "--user", "default", "off", "--user", self.USER, "on", f">{self.password}", "~*", "&*", "+@all"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)
        return self

    def kill(self) -> None:
        """Kills the server at once (SIGKILL): clients see their connections drop."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def connection(self, **kwargs):
        from redis import Redis

        return Redis(host="127.0.0.1", port=self.port, username=self.USER, password=self.password, **kwargs)


@pytest.fixture
def private_redis(tmp_path):
    """A private redis-server with a password-protected user, killed after the test."""
    server = PrivateRedis(tmp_path).start()
    yield server
    server.kill()
