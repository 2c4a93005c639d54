"""The pipelines server under gunicorn, a production WSGI server."""

import pytest

from chariots.pipelines import PipelinesClient
from tests.conftest import run_gunicorn
from tests.workers.worker_ops import is_odd_pipeline


@pytest.fixture
def gunicorn_url():
    pytest.importorskip("gunicorn")
    yield from run_gunicorn("tests.serving.gunicorn_app:app")


def test_is_odd_pipeline_under_gunicorn(gunicorn_url):
    client = PipelinesClient(gunicorn_url)
    pipeline = is_odd_pipeline()
    assert [client.call_pipeline(pipeline, number).value for number in range(6)] == [True, False] * 3
    assert client.available_pipelines() == ["is_odd"]
