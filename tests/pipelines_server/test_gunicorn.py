"""The pipelines server under gunicorn, a production WSGI server."""
import os
import subprocess
import sys
import time

import pytest
import requests

from chariots.pipelines import PipelinesClient
from tests.conftest import free_port
from tests.workers.worker_ops import is_odd_pipeline


@pytest.fixture
def gunicorn_url():
    pytest.importorskip("gunicorn")
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
         "tests.pipelines_server.gunicorn_app:app"],
        cwd=os.getcwd(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(url + "/health_check", timeout=1)
            break
        except requests.ConnectionError:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited: {process.stderr.read().decode()}")
            time.sleep(0.1)
    yield url
    process.terminate()
    process.wait(15)


def test_is_odd_pipeline_under_gunicorn(gunicorn_url):
    client = PipelinesClient(gunicorn_url)
    pipeline = is_odd_pipeline()
    assert [client.call_pipeline(pipeline, number).value for number in range(6)] == [True, False] * 3
    assert client.available_pipelines() == ["is_odd"]
