"""Prometheus metrics at /metrics: what they count, the token, and gunicorn's several workers."""
from __future__ import annotations

import concurrent.futures
import os
import re

import pytest
import requests

from chariots import _metrics
from chariots.errors import VersionError
from chariots.pipelines import PipelinesClient, PipelinesServer
from tests.conftest import run_gunicorn
from tests.workers.worker_ops import is_odd_pipeline


def _value(text: str, name: str, **labels: str) -> float:
    """The value of one sample of a scrape (0 when absent)."""
    for line in text.splitlines():
        match = re.fullmatch(r"([a-zA-Z_:]+)(?:\{(.*)\})? (\S+)", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', match.group(2) or ""))
        if all(found.get(key) == value for key, value in labels.items()):
            return float(match.group(3))
    return 0.0


def _sample(name: str, **labels: str) -> float:
    return _metrics.metrics().registry.get_sample_value(name, labels) or 0.0


def test_loads_saves_runs_and_version_errors_are_counted(iris_app):
    server, url, (train_pca, train_logistic, pred) = iris_app
    client = PipelinesClient(url)
    before = {
        "runs": _sample("chariots_pipeline_runs_total", pipeline="train_pca", outcome="ok"),
        "saves": _sample("chariots_pipeline_saves_total", pipeline="train_pca"),
        "loads": _sample("chariots_pipeline_loads_total", pipeline="train_logistics", outcome="ok"),
        "errors": _sample("chariots_version_errors_total", pipeline="pred"),
        "requests": _sample("chariots_http_requests_total", server="pipelines server", pipeline="pred",
                            route="/pipelines/<pipeline_name>/load", method="POST", status="409"),
    }
    client.call_pipeline(train_pca)
    client.save_pipeline(train_pca)
    with pytest.raises(VersionError):
        client.load_pipeline(pred)
    client.load_pipeline(train_logistic)
    text = requests.get(url + "/metrics").text
    assert _value(text, "chariots_pipeline_runs_total", pipeline="train_pca", outcome="ok") == before["runs"] + 1
    assert _value(text, "chariots_pipeline_saves_total", pipeline="train_pca") == before["saves"] + 1
    loads = _value(text, "chariots_pipeline_loads_total", pipeline="train_logistics", outcome="ok")
    assert loads == before["loads"] + 1
    assert _value(text, "chariots_version_errors_total", pipeline="pred") == before["errors"] + 1
    assert _value(text, "chariots_http_requests_total", server="pipelines server", pipeline="pred",
                  route="/pipelines/<pipeline_name>/load", method="POST", status="409") == before["requests"] + 1
    # the op train_logistics now serves is the newly trained PCA: its version is 1, the old one 0
    new_pca = str(server.pipelines["train_logistics"].node_for_name["pcaop"].node_version.major)[:5]
    assert _value(text, "chariots_served_op_version", pipeline="train_logistics", op="pcaop", version=new_pca) == 1
    # an unknown path is one 'unmatched' route, never a label per path
    requests.get(url + "/no/such/path/123")
    assert 'route="/no/such/path/123"' not in requests.get(url + "/metrics").text


def test_metrics_need_the_token_unless_open(wsgi_server):
    closed = wsgi_server(PipelinesServer([is_odd_pipeline()], auth_token="s3cret", import_name="closed"))
    answer = requests.get(closed + "/metrics")
    assert answer.status_code == 401
    assert answer.json()["error"]["type"] == "AuthenticationError"
    assert requests.get(closed + "/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200
    opened = wsgi_server(PipelinesServer([is_odd_pipeline()], auth_token="s3cret", metrics_open=True,
                                         import_name="opened"))
    assert requests.get(opened + "/metrics").status_code == 200
    assert requests.get(opened + "/available_pipelines").status_code == 401
    off = wsgi_server(PipelinesServer([is_odd_pipeline()], metrics=False, import_name="off"))
    assert requests.get(off + "/metrics").status_code == 404


@pytest.fixture
def gunicorn_metrics_url(tmp_path):
    multiproc = tmp_path / "prometheus"
    multiproc.mkdir()
    env = dict(os.environ, PROMETHEUS_MULTIPROC_DIR=str(multiproc), CHARIOTS_TEST_TOKEN="tok")
    for url in run_gunicorn("tests.operate.gunicorn_metrics_app:create_app()", env=env):
        yield url, multiproc


def test_counts_add_up_across_two_gunicorn_workers(gunicorn_metrics_url):
    url, multiproc = gunicorn_metrics_url
    auth = {"Authorization": "Bearer tok"}

    def call(number: int) -> int:
        # a new connection per call, so both workers take calls
        answer = requests.post(url + "/pipelines/is_odd/main", json={"pipeline_input": number}, headers=auth)
        return answer.status_code

    def worker_pids() -> set:
        return {match.group(1) for path in multiproc.iterdir() if (match := re.match(r"counter_(\d+)\.db", path.name))}

    # batches of concurrent calls until both worker processes took some (the second may boot later)
    sent = 0
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        while sent < 400 and (sent < 40 or len(worker_pids()) < 2):
            statuses = list(pool.map(call, range(20)))
            assert statuses == [200] * 20
            sent += 20
    assert len(worker_pids()) == 2, sorted(path.name for path in multiproc.iterdir())
    for _ in range(3):
        assert requests.get(url + "/available_pipelines").status_code == 401
    # whichever worker answers the scrape, it adds both up
    for _ in range(4):
        text = requests.get(url + "/metrics", headers=auth).text
        assert _value(text, "chariots_pipeline_runs_total", pipeline="is_odd", outcome="ok") == sent
        assert _value(text, "chariots_http_requests_total", server="pipelines server", pipeline="is_odd",
                      route="/pipelines/<pipeline_name>/main", method="POST", status="200") == sent
        assert _value(text, "chariots_http_requests_total", server="pipelines server",
                      route="/available_pipelines", method="GET", status="401") == 3
        assert _value(text, "chariots_http_request_duration_seconds_count", server="pipelines server",
                      pipeline="is_odd", route="/pipelines/<pipeline_name>/main") == sent
