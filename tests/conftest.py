"""Fixtures shared by every test folder: free ports, real WSGI servers in threads, backing services.

Each service fixture (``postgres_url``, ``redis_url``, ``gcs_emulator``) reaches the service
through an environment variable (``CHARIOTS_TEST_POSTGRES_URL``, ``CHARIOTS_TEST_REDIS_URL``,
``CHARIOTS_TEST_GCS_URL``), else through the machine's usual local address, else starts its
own. When none works the test is skipped with the reason, or fails under ``CI=true``.

The plain helpers (:func:`free_port`, :func:`serve_wsgi`, :class:`WSGIServerThread`) can be
imported by test modules: ``from tests.conftest import serve_wsgi``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from typing import Callable, Iterator, Optional

import pytest

from tests import generative

POSTGRES_ENV = "CHARIOTS_TEST_POSTGRES_URL"
REDIS_ENV = "CHARIOTS_TEST_REDIS_URL"
GCS_ENV = "CHARIOTS_TEST_GCS_URL"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
HOST = "127.0.0.1"


# ---------------------------------------------------------------------------- plain helpers


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float = 10.0, host: str = HOST) -> None:
    """Waits until something accepts connections on ``host:port``.

    :raises TimeoutError: if nothing does within ``timeout`` seconds
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port} after {timeout}s") from None
            time.sleep(0.02)


def stop_process_group(process: subprocess.Popen, timeout: float = 20.0) -> None:
    """Stops a process started with ``start_new_session=True`` and its children: ``SIGTERM`` to its
    group, then ``SIGKILL`` if it has not exited within ``timeout`` seconds."""
    import signal

    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(5)


def partial_write_seen(saver_root, minimum: int, timeout: float = 20.0) -> bool:
    """Waits until a FileSaver's temporary file of at least ``minimum`` bytes is being written
    under ``saver_root`` (a save caught half-way); False if none is seen within ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for directory, _, names in os.walk(saver_root):
            for name in names:
                if name.startswith(".tmp-"):
                    try:
                        if os.path.getsize(os.path.join(directory, name)) >= minimum:
                            return True
                    except FileNotFoundError:  # renamed into place meanwhile
                        pass
        time.sleep(0.001)
    return False


def run_gunicorn(app: str, workers: int = 2, env: Optional[dict] = None) -> Iterator[str]:
    """Runs ``gunicorn app`` on a free port of 127.0.0.1 until the generator is closed; yields its
    URL once ``/health_check`` answers (fails the test if gunicorn exits or stays silent 30 s)."""
    import sys

    import requests

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"{HOST}:{port}", "--workers", str(workers), app],
        cwd=os.getcwd(), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://{HOST}:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                requests.get(url + "/health_check", timeout=1)
                break
            except requests.ConnectionError:
                if process.poll() is not None:
                    pytest.fail(f"gunicorn exited: {process.stderr.read().decode()}")
                if time.monotonic() > deadline:
                    pytest.fail("gunicorn did not answer within 30 s")
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)


def service_unavailable(reason: str) -> None:
    """Skips the test with ``reason``, or fails it when running under CI (``CI=true``)."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required test service unavailable under CI: {reason}")
    pytest.skip(reason)


class WSGIServerThread:
    """A WSGI app served by a real threaded werkzeug server on 127.0.0.1, in a thread.

    :param app: the WSGI application (a Flask app)
    :param port: the port to listen on (a free one by default)
    """

    def __init__(self, app: Callable, port: Optional[int] = None):
        from werkzeug.serving import make_server

        self.port = port or free_port()
        self.url = f"http://{HOST}:{self.port}"
        self._server = make_server(HOST, self.port, app, threaded=True)
        self._thread = threading.Thread(target=self._serve, name=f"wsgi-{self.port}", daemon=True)

    def _serve(self) -> None:
        # a short poll interval makes stop() quick
        self._server.serve_forever(poll_interval=0.02)

    def start(self) -> "WSGIServerThread":
        self._thread.start()
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@contextlib.contextmanager
def serve_wsgi(app: Callable, port: Optional[int] = None) -> Iterator[str]:
    """Serves a WSGI app on 127.0.0.1 for the duration of the block and yields its base URL."""
    server = WSGIServerThread(app, port).start()
    try:
        yield server.url
    finally:
        server.stop()


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture
def wsgi_server() -> Iterator[Callable[[Callable], str]]:
    """Starts WSGI apps on real servers (``url = wsgi_server(app)``), all stopped after the test."""
    servers = []

    def start(app: Callable) -> str:
        server = WSGIServerThread(app).start()
        servers.append(server)
        return server.url

    yield start
    for server in reversed(servers):
        server.stop()


def _postgres_reachable(url: str) -> Optional[str]:
    """None when a connection to ``url`` works, else the reason it does not."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return None
    except Exception as exc:  # any driver error means "not usable"
        return f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"
    finally:
        engine.dispose()


def _start_postgres_cluster(directory: str) -> tuple[Optional[str], Callable[[], None], str]:
    """Starts a throw-away PostgreSQL cluster with initdb/pg_ctl; returns (url, stop, failure reason)."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not initdb or not pg_ctl:
        return None, lambda: None, "initdb/pg_ctl are not on PATH"
    prefix: list[str] = []
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: use the postgres user if there is one
        import pwd

        try:
            user = pwd.getpwnam("postgres")
        except KeyError:
            return None, lambda: None, "running as root and there is no 'postgres' user to run initdb"
        os.chown(directory, user.pw_uid, user.pw_gid)
        prefix = ["runuser", "-u", "postgres", "--"]
    data, port = os.path.join(directory, "data"), free_port()
    run = dict(capture_output=True, text=True, timeout=120)
    result = subprocess.run([*prefix, initdb, "-D", data, "-U", "postgres", "--auth=trust"], **run)
    if result.returncode:
        return None, lambda: None, f"initdb failed: {result.stderr.strip()[-300:]}"
    options = f"-p {port} -k {directory} -c listen_addresses={HOST} -c fsync=off"
    result = subprocess.run([*prefix, pg_ctl, "-D", data, "-o", options, "-w", "-l", data + ".log", "start"], **run)
    if result.returncode:
        return None, lambda: None, f"pg_ctl start failed: {result.stderr.strip()[-300:]}"

    def stop() -> None:
        subprocess.run([*prefix, pg_ctl, "-D", data, "-m", "immediate", "stop"], **run)

    return f"postgresql+psycopg://postgres@{HOST}:{port}/postgres", stop, ""


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A SQLAlchemy URL of a reachable PostgreSQL database (env var, local server, or own cluster)."""
    explicit = os.environ.get(POSTGRES_ENV)
    url = explicit or DEFAULT_POSTGRES_URL
    failure = _postgres_reachable(url)
    if failure is None:
        yield url
        return
    if explicit:
        service_unavailable(f"{POSTGRES_ENV}={explicit} is unreachable: {failure}")
    directory = tempfile.mkdtemp(prefix="chariots-pg-")
    started, stop, reason = _start_postgres_cluster(directory)
    try:
        if started is None:
            service_unavailable(f"no PostgreSQL at {url} ({failure}) and could not start one: {reason}")
        yield started
    finally:
        stop()
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def postgres_schema_url(postgres_url: str) -> Iterator[str]:
    """``postgres_url`` pointed at a fresh schema of its own (dropped after the test)."""
    from urllib.parse import quote

    from sqlalchemy import create_engine, text

    schema = f"chariots_test_{uuid.uuid4().hex[:12]}"
    engine = create_engine(postgres_url)
    with engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in postgres_url else "?"
    try:
        yield f"{postgres_url}{separator}options={quote(f'-csearch_path={schema}')}"
    finally:
        with engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def _redis_reachable(url: str) -> Optional[str]:
    try:
        import redis
    except ImportError:
        return "the redis package is not installed (pip install chariots[workers])"
    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
        return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        client.close()


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A URL of a reachable Redis (env var, local server, or a redis-server started here)."""
    explicit = os.environ.get(REDIS_ENV)
    url = explicit or DEFAULT_REDIS_URL
    failure = _redis_reachable(url)
    if failure is None:
        yield url
        return
    if explicit:
        service_unavailable(f"{REDIS_ENV}={explicit} is unreachable: {failure}")
    binary = shutil.which("redis-server")
    if binary is None:
        service_unavailable(f"no Redis at {url} ({failure}) and no redis-server binary on PATH")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", HOST, "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        try:
            wait_for_port(port)
        except TimeoutError as exc:
            service_unavailable(f"no Redis at {url} ({failure}) and redis-server did not start: {exc}")
        yield f"redis://{HOST}:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def gcs_emulator() -> Iterator[str]:
    """The base URL of a Google Cloud Storage emulator on 127.0.0.1 (env var, or started here)."""
    explicit = os.environ.get(GCS_ENV)
    if explicit:
        port = int(explicit.rsplit(":", 1)[-1].strip("/"))
        try:
            wait_for_port(port, timeout=3)
        except TimeoutError:
            service_unavailable(f"{GCS_ENV}={explicit} is unreachable")
        yield explicit.rstrip("/")
        return
    try:
        from gcp_storage_emulator.server import create_server
    except ImportError:
        service_unavailable("gcp-storage-emulator is not installed (pip install chariots[test])")
    port = free_port()
    server = create_server(HOST, port, in_memory=True)
    server.start()
    try:
        wait_for_port(port)
        yield f"http://{HOST}:{port}"
    finally:
        server.stop()


@pytest.fixture
def gcs_bucket(gcs_emulator: str) -> tuple[str, dict]:
    """A fresh bucket in the emulator: ``(bucket_name, client_kwargs)`` for GoogleStorageSaver."""
    try:
        from google.auth.credentials import AnonymousCredentials
        from google.cloud import storage
    except ImportError:
        service_unavailable("google-cloud-storage is not installed (pip install chariots[gcs])")

    client_kwargs = {
        "project": "chariots-test",
        "credentials": AnonymousCredentials(),
        "client_options": {"api_endpoint": gcs_emulator},
    }
    bucket_name = f"chariots-test-{uuid.uuid4().hex[:12]}"
    storage.Client(**client_kwargs).create_bucket(bucket_name)
    return bucket_name, client_kwargs


class S3Server:
    """moto's S3 server (``ThreadedMotoServer``) on 127.0.0.1, in a thread; it can be stopped and
    started again on the same port (its buckets live in the process, so they survive)."""

    #: moto takes any key pair; a saver gets them as storage options, never from the environment
    CREDENTIALS = {"key": "chariots-test", "secret": "chariots-test-secret"}

    def __init__(self, port: Optional[int] = None):
        try:
            from moto.server import ThreadedMotoServer
        except ImportError:
            service_unavailable("moto's server is not installed (pip install 'moto[server]')")
        self._server_class = ThreadedMotoServer
        self.port = port or free_port()
        self._server = None

    @property
    def endpoint_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> "S3Server":
        import logging

        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
        self._server = self._server_class(ip_address=HOST, port=self.port, verbose=False)
        self._server.start()
        wait_for_port(self.port)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def storage_options(self, **more) -> dict:
        """s3fs options for this server: its credentials, and few retries so an outage shows fast."""
        return {**self.CREDENTIALS, "client_kwargs": {"region_name": "us-east-1"}, **more}

    def new_bucket(self) -> str:
        import boto3

        name = f"chariots-test-{uuid.uuid4().hex[:12]}"
        boto3.client(
            "s3", endpoint_url=self.endpoint_url, region_name="us-east-1",
            aws_access_key_id=self.CREDENTIALS["key"], aws_secret_access_key=self.CREDENTIALS["secret"],
        ).create_bucket(Bucket=name)
        return name


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3Server]:
    """A real S3 API (moto's standalone server) on 127.0.0.1 for the session."""
    try:
        import s3fs  # noqa: F401
    except ImportError:
        service_unavailable("s3fs is not installed (pip install chariots[s3])")
    server = S3Server().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def redis_connection(redis_url):
    """A connection to the test Redis database, emptied before and after the test."""
    from redis import Redis

    connection = Redis.from_url(redis_url)
    connection.flushdb()
    yield connection
    connection.flushdb()
    connection.close()


# ---------------------------------------------------------------------------- generative tests


def pytest_configure(config) -> None:
    try:
        from hypothesis import HealthCheck, settings
    except ImportError:
        return
    # no example database: a run's examples are new each time, and CI stays a clean checkout
    common = dict(deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
    settings.register_profile("chariots", max_examples=generative.examples(50, 2000), **common)
    settings.load_profile("chariots")


def pytest_terminal_summary(terminalreporter) -> None:
    tried = generative.report()
    if not tried:
        return
    mode = "soak" if generative.soaking() else "bounded"
    terminalreporter.section(f"generative tests ({mode})")
    for test, (count, shapes) in tried.items():
        terminalreporter.write_line(f"{test}: {count} examples, {shapes} distinct shapes")
