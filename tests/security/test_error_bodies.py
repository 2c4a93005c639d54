"""What the servers tell a caller without a token: no host, port or file path of a backing
service in any error body, and 5xx bodies carrying the request id of the log line that has the
details (issue 12, "secrets stay secret")."""
from __future__ import annotations

import logging

import pytest
import requests

from chariots.op_store import OpStoreClient, OpStoreServer
from chariots.op_store.savers import FileSaver
from chariots.pipelines import Pipeline, PipelinesServer
from chariots.pipelines.nodes import Node
from chariots.pipelines.ops import BaseOp
from tests.conftest import HOST, free_port

TOKEN = "the-servers-token"


class Echo(BaseOp):
    def execute(self, value):
        return value


def echo_pipeline() -> Pipeline:
    return Pipeline([Node(Echo(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")], "echo")


def assert_reveals_nothing(answer: requests.Response, *secrets: str) -> None:
    """The body names none of the backing services' hosts, ports or paths."""
    for secret in secrets:
        assert secret not in answer.text, (secret, answer.text)
    assert answer.headers["Content-Type"].startswith("application/json")


def log_line(caplog, request_id: str) -> str:
    (line,) = [record.getMessage() for record in caplog.records if request_id in record.getMessage()]
    return line


@pytest.mark.parametrize("auth_token", [None, TOKEN], ids=["no-token", "token"])
def test_the_op_store_with_its_database_down_names_no_path(tmp_path, wsgi_server, caplog, auth_token):
    missing = tmp_path / "not_there"  # SQLite cannot open a file in a folder that does not exist
    server = OpStoreServer(FileSaver(str(tmp_path / "saver")), db_url=f"sqlite:///{missing / 'store.db'}",
                           auth_token=auth_token)
    url = wsgi_server(server.flask)

    health = requests.get(url + "/health_check", timeout=5)
    unknown = requests.get(url + "/no/such/route", timeout=5)
    versions = requests.get(url + "/ops/model/versions", timeout=5)

    assert health.status_code == 503
    request_id = health.headers["X-Request-ID"]
    assert health.json() == {"error": {
        "type": "ServiceUnavailableError",
        "message": f"the op store database is unreachable: see the op store's log (request id {request_id})",
        "request_id": request_id,
    }}
    assert str(missing) in log_line(caplog, request_id)  # the operator learns where from the log
    if auth_token is None:
        assert unknown.status_code == 404 and versions.status_code == 503
    else:  # a stranger gets the token refusal before anything else
        assert unknown.status_code == 401 and versions.status_code == 401
    for answer in (health, unknown, versions):
        assert_reveals_nothing(answer, str(tmp_path), "store.db", "sqlite")


@pytest.mark.parametrize("auth_token", [None, TOKEN], ids=["no-token", "token"])
def test_the_pipelines_server_with_its_op_store_down_names_no_host_or_port(wsgi_server, caplog, auth_token):
    store_port = free_port()  # nothing listens there
    server = PipelinesServer([echo_pipeline()], op_store_client=OpStoreClient(f"http://{HOST}:{store_port}"),
                             auth_token=auth_token, poll_interval=60)
    url = wsgi_server(server)
    try:
        answers = {
            "health": requests.get(url + "/health_check", timeout=5),
            "ready": requests.get(url + "/ready", timeout=5),
            "pipeline health": requests.get(url + "/pipelines/echo/health_check", timeout=5),
            "unknown": requests.get(url + "/no/such/route", timeout=5),
            "load": requests.post(url + "/pipelines/echo/load", timeout=5,
                                  headers={"Authorization": f"Bearer {TOKEN}"}),
        }
    finally:
        server.service.generations.stop()
    assert answers["health"].status_code == 200
    assert answers["ready"].status_code == 503
    assert answers["ready"].json()["reasons"] == [
        "the op store could not be reached at start (ServiceUnavailableError: the op store is unreachable, see "
        "this server's log); retrying"
    ]
    assert answers["unknown"].status_code == (401 if auth_token else 404)
    load = answers["load"]
    assert load.status_code == 503
    assert load.json()["error"]["message"] == (
        f"the op store is unreachable: see the pipelines server's log (request id {load.headers['X-Request-ID']})"
    )
    assert f"{HOST}:{store_port}" in log_line(caplog, load.headers["X-Request-ID"])
    for answer in answers.values():
        assert_reveals_nothing(answer, str(store_port))


def test_a_500_carries_a_type_a_message_without_internals_and_the_log_lines_request_id(wsgi_server, caplog):
    server = PipelinesServer([echo_pipeline()], import_name="internal_500")

    def failing_view():
        raise RuntimeError(f"cannot open /srv/chariots/ops/model.bin with {object()!r}")

    server.view_functions["available_pipelines"] = failing_view
    url = wsgi_server(server)
    with caplog.at_level(logging.ERROR, logger="chariots.http"):
        answer = requests.get(url + "/available_pipelines", headers={"X-Request-ID": "req-42"}, timeout=5)

    assert answer.status_code == 500
    assert answer.headers["X-Request-ID"] == "req-42"
    assert answer.json() == {"error": {
        "type": "RuntimeError",
        "message": "the pipelines server failed on GET /available_pipelines: see the pipelines server's log "
                   "(request id req-42)",
        "request_id": "req-42",
    }}
    assert_reveals_nothing(answer, "/srv/chariots", "object at 0x", "Traceback")
    (record,) = [record for record in caplog.records if "req-42" in record.getMessage()]
    assert record.request_id == "req-42"  # the record's own id field too, for JSON log lines
    assert "cannot open /srv/chariots/ops/model.bin" in record.getMessage() and record.exc_info is not None
