"""The HTTP edge both servers share (issue 19, findings 5, 6, 7, 12 and 15), over real sockets:
JSON bodies only as ``application/json``, the ``Host`` allow-list, the ``Origin`` check of
state-changing routes, malformed and oversized chunked bodies, non-finite numbers, no static
route; under werkzeug's threaded server and under gunicorn, on SQLite and PostgreSQL."""
from __future__ import annotations

import json
import logging
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from chariots.errors import ConfigError
from chariots.op_store import OpStoreClient, OpStoreServer
from chariots.op_store.savers import FileSaver
from chariots.pipelines import PipelinesClient
from chariots.versioning import Version
from tests import generative
from tests.conftest import run_gunicorn
from tests.security.edge_apps import CAP, pipelines_app
from tests.security.test_hostile_corpus import VERSION, request, send

JSON = {"Content-Type": "application/json"}
MALFORMED_CHUNKS = {
    "a chunk extension with no name": b"0;\r\n\r\n",
    "a size that is no hexadecimal number": b"zz\r\n",
    "a negative size": b"-2\r\nab\r\n0\r\n\r\n",
    "a trailer that is no header": b"2\r\n{}\r\n0\r\nbad trailer\r\n\r\n",
}


@pytest.fixture(params=["sqlite", "postgresql"])
def servers(request, tmp_path, wsgi_server):
    """The ports of an op store and of the echo pipelines server, under werkzeug."""
    db_url = f"sqlite:///{tmp_path / 'store.db'}" if request.param == "sqlite" \
        else request.getfixturevalue("postgres_schema_url")
    store = OpStoreServer(FileSaver(str(tmp_path / "models")), db_url=db_url, max_content_length=CAP)
    store_url = wsgi_server(store.flask)
    pipelines_url = wsgi_server(pipelines_app())
    yield int(store_url.rsplit(":", 1)[1]), int(pipelines_url.rsplit(":", 1)[1])
    store.close()


def _error(answer) -> dict:
    return json.loads(answer.body)["error"]


STORE_JSON_ROUTES = ["/saves", "/generations", "/validated_links", "/pipelines", "/staged_trainings",
                     "/staged_trainings/commits"]


@pytest.mark.parametrize("content_type", [None, "text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", "application/json; charset=utf-7",
                                          "application/jsonx"])
def test_json_bodies_come_only_as_application_json(servers, content_type):
    """Finding 5: a web page can send text/plain and forms without asking; they were parsed as JSON."""
    store_port, pipelines_port = servers
    headers = {} if content_type is None else {"Content-Type": content_type}
    body = b'{"pipeline_name": "p", "node_names": [], "versions": {}, "states": []}'
    for port, route in [(pipelines_port, "/pipelines/echo/main")] + [(store_port, r) for r in STORE_JSON_ROUTES]:
        answer = send(port, request("POST", route, b'{"pipeline_input": 1}' if port == pipelines_port else body,
                                    headers))
        assert answer.status == 415, (route, answer)
        error = _error(answer)
        assert error["type"] == "UnsupportedMediaType"
        sent = "no Content-Type" if content_type is None else repr(content_type)
        assert error["message"].endswith(f"sent with the header 'Content-Type: application/json', got {sent}")
    assert send(pipelines_port, request("POST", "/pipelines/echo/main", b'{"pipeline_input": 1}', JSON)).status == 200
    created = send(store_port, request("POST", "/pipelines", b'{"pipeline_name": "p", "node_names": []}', JSON))
    assert created.status == 201


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Origin": "null"},
                                     {"Origin": "http://127.0.0.1:1"}, {"Sec-Fetch-Site": "cross-site"},
                                     {"Sec-Fetch-Site": "same-site"}])
def test_a_web_page_of_another_origin_changes_nothing(servers, headers):
    """Finding 5: Origin was ignored, so any page could train, load, save and record generations."""
    store_port, pipelines_port = servers
    changes = [(pipelines_port, "POST", f"/pipelines/echo/{route}") for route in ("main", "load", "save")]
    changes += [(store_port, "POST", "/pipelines"), (store_port, "POST", "/generations"),
                (store_port, "PUT", f"/ops/planted/versions/{VERSION}")]
    for port, method, route in changes:
        answer = send(port, request(method, route, b'{"pipeline_name": "p", "node_names": []}', {**JSON, **headers}))
        assert answer.status == 403, (route, answer)
        error = _error(answer)
        assert error["type"] == "Forbidden"
        assert f"refuses {method} {route} sent from the web page at" in error["message"]
        assert error["message"].endswith("a browser page of another site cannot change anything here; call the "
                                         "server from your own backend")
    assert send(store_port, request("GET", "/ops/planted/versions", headers=headers)).status == 200  # reads: CORS
    same_origin = {"Origin": f"http://127.0.0.1:{pipelines_port}", "Sec-Fetch-Site": "same-origin"}
    raw = request("POST", "/pipelines/echo/main", b'{"pipeline_input": 2}', {**JSON, **same_origin})
    answer = send(pipelines_port, raw.replace(b"Host: 127.0.0.1", f"Host: 127.0.0.1:{pipelines_port}".encode()))
    assert answer.status == 200 and json.loads(answer.body)["pipeline_output"] == 2


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example", "localhost.evil",
                                  "2130706433.evil.example", "[::ffff:7f00:1].evil", "127.0.0.1,evil.example", ""])
def test_a_loopback_server_answers_loopback_names_only(servers, host):
    """Finding 5: any Host was served, so a page whose name resolves to 127.0.0.1 read the models."""
    for port, route in ((servers[0], "/ops/x/versions"), (servers[1], "/available_pipelines"),
                        (servers[1], "/pipelines/echo/versions")):
        raw = request("GET", route).replace(b"Host: 127.0.0.1\r\n", f"Host: {host}\r\n".encode())
        answer = send(port, raw)
        assert answer.status == 400, (route, answer)
        message = _error(answer)["message"]
        assert message.startswith("this ") and "does not serve the host named by the request's Host header" in message
        assert "list the names it is reached by in its allowed_hosts (or CHARIOTS_ALLOWED_HOSTS)" in message
        # liveness probes name the host by address: /health_check answers whatever the Host
        assert send(port, raw.replace(route.encode(), b"/health_check", 1)).status == 200
    for good in ("127.0.0.1", f"127.0.0.1:{servers[1]}", "localhost", f"LOCALHOST:{servers[1]}", "[::1]:80",
                 "127.1.2.3", "app.localhost"):
        raw = request("GET", "/available_pipelines").replace(b"Host: 127.0.0.1", f"Host: {good}".encode())
        assert send(servers[1], raw).status == 200, good


def test_allowed_hosts_are_configurable_and_our_clients_still_work(tmp_path, wsgi_server, monkeypatch):
    server = pipelines_app(allowed_hosts=["models.example.com", ".internal"])
    port = int(wsgi_server(server).rsplit(":", 1)[1])

    def status(host: str) -> int:
        raw = request("GET", "/available_pipelines").replace(b"Host: 127.0.0.1", f"Host: {host}".encode())
        return send(port, raw).status

    assert [status(host) for host in ("models.example.com:443", "a.b.internal", "internal", "127.0.0.1",
                                      "other.example.com", "models.example.com.evil")] == [200, 200, 200, 400, 400, 400]
    monkeypatch.setenv("CHARIOTS_ALLOWED_HOSTS", "models.example.com, 127.0.0.1")
    default = pipelines_app()
    default_port = int(wsgi_server(default).rsplit(":", 1)[1])
    raw = request("GET", "/available_pipelines")
    assert send(default_port, raw).status == 200
    assert send(default_port, raw.replace(b"Host: 127.0.0.1", b"Host: localhost")).status == 400  # the list rules
    client = PipelinesClient(f"http://127.0.0.1:{default_port}")
    assert client.call_pipeline("echo", [1, 2]).value == [1, 2]
    with pytest.raises(ConfigError, match=r"^allowed_hosts must be a list of host names"):
        pipelines_app(allowed_hosts="models.example.com")


@pytest.mark.generative
@given(name=st.from_regex(r"[a-z0-9]([a-z0-9-]{0,20}\.){0,3}[a-z]{2,8}", fullmatch=True),
       port=st.one_of(st.none(), st.integers(1, 65535)), listening=st.sampled_from(["127.0.0.1", "::1", "localhost"]))
def test_no_name_but_a_loopback_one_reaches_a_loopback_server(name, port, listening):
    """The promise of the allow-list: on a loopback address, a Host is served only when it names
    loopback (localhost or a name under it, 127.0.0.0/8, ::1), whatever the port."""
    host = name if port is None else f"{name}:{port}"
    from chariots._http import host_allowed

    loopback = name == "localhost" or name.endswith(".localhost")
    generative.record("test_no_name_but_a_loopback_one_reaches_a_loopback_server",
                      f"{name.count('.')}:{port is None}:{loopback}")
    assert host_allowed(host, listening, None) is loopback
    assert host_allowed(host, "0.0.0.0", None) is True  # an open address cannot know its names: list them
    assert host_allowed(host, listening, [name]) is True


def _chunked(route: str, body: bytes, method: str = "POST", content_type: str = "application/json") -> bytes:
    return (f"{method} {route} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Type: {content_type}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode() + body


def _check_malformed_chunks(store_port, pipelines_port) -> None:
    routes = [(pipelines_port, "POST", "/pipelines/echo/main", "application/json")]
    if store_port is not None:
        routes += [(store_port, "PUT", f"/ops/op/versions/{VERSION}", "application/octet-stream"),
                   (store_port, "PUT", f"/ops/op/uploads/{VERSION}", "application/octet-stream"),
                   (store_port, "POST", "/saves", "application/json")]
    for port, method, route, content_type in routes:
        for name, chunks in MALFORMED_CHUNKS.items():
            answer = send(port, _chunked(route, chunks, method, content_type))
            assert answer.status == 400, (route, name, answer)
            assert _error(answer)["message"].startswith("the request body cannot be read ("), (route, name)


def _over_the_cap(port: int) -> None:
    big = b'{"pipeline_input": [' + b"1," * CAP + b"1]}"
    for chunked in (False, True):
        answer = send(port, request("POST", "/pipelines/echo/main", big, JSON, chunked=chunked))
        assert answer.status == 413, (chunked, answer)
        assert _error(answer)["message"].endswith(f"is larger than this pipelines server accepts ({CAP} bytes): "
                                                  "raise the server's max_content_length")
    small = b'{"pipeline_input": [' + b"1," * 100 + b"1]}"
    assert send(port, request("POST", "/pipelines/echo/main", small, JSON, chunked=True)).status == 200


def test_malformed_and_oversized_chunked_bodies_under_werkzeug(servers, caplog):
    """Findings 6 and 15: malformed chunked bodies answered 500 with a traceback, and one over the
    cap was read and run."""
    with caplog.at_level(logging.ERROR):
        _check_malformed_chunks(*servers)
        _over_the_cap(servers[1])
    assert [record for record in caplog.records if record.levelno >= logging.ERROR] == []


def test_malformed_and_oversized_chunked_bodies_under_gunicorn():
    app = "tests.security.edge_apps:pipelines_app()"
    runs = run_gunicorn(app, workers=1, env={**os.environ, "PYTHONPATH": os.getcwd()})
    url = next(runs)
    try:
        port = int(url.rsplit(":", 1)[1])
        _check_malformed_chunks(None, port)
        _over_the_cap(port)
    finally:
        runs.close()


@pytest.mark.parametrize("literal, shown", [("1e999", "1e999"), ("-1e999", "-1e999"), ("NaN", "NaN"),
                                             ("Infinity", "Infinity"), ("-Infinity", "-Infinity")])
def test_numbers_json_cannot_carry_are_refused_naming_the_field(servers, literal, shown):
    """Finding 12: 1e999 answered 200 with a bare Infinity, which is not JSON."""
    store_port, pipelines_port = servers
    body = f'{{"pipeline_input": {{"rows": [[1, 2], [3, {literal}]]}}}}'.encode()
    answer = send(pipelines_port, request("POST", "/pipelines/echo/main", body, JSON))
    assert answer.status == 400
    assert _error(answer)["message"] == (f"'pipeline_input.rows[1][1]' is {shown}, a number JSON cannot carry (it "
                                         "overflows a double, or is not a number): send finite numbers")
    body = f'{{"pipeline_name": "p", "versions": {{"a": {literal}}}}}'.encode()
    answer = send(store_port, request("POST", "/generations", body, JSON))
    assert answer.status == 400 and _error(answer)["message"].startswith(f"'versions.a' is {shown}, a number JSON")


@pytest.mark.parametrize("value", ["nan", "inf"])
def test_non_finite_outputs_travel_as_null_in_valid_json(servers, value):
    answer = send(servers[1], request("POST", "/pipelines/echo/main", json.dumps({"pipeline_input": value}).encode(),
                                      JSON))
    assert answer.status == 200

    def refuse(text):
        raise AssertionError(f"{text} is not JSON")

    assert json.loads(answer.body, parse_constant=refuse)["pipeline_output"] == [1.5, None, None]


def test_no_static_route_serves_the_working_directory(tmp_path, monkeypatch, wsgi_server):
    """Finding 7: GET /static/<file> served files from the pipelines server's working directory."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "static").mkdir()
    (tmp_path / "static" / "secret.txt").write_text("the working directory's secret")
    store = OpStoreServer(FileSaver(str(tmp_path / "models")), db_url=f"sqlite:///{tmp_path / 'store.db'}")
    for url in (wsgi_server(pipelines_app()), wsgi_server(store.flask)):
        answer = send(int(url.rsplit(":", 1)[1]), request("GET", "/static/secret.txt"))
        assert answer.status == 404 and b"working directory" not in answer.body
        assert _error(answer)["type"] == "NotFoundError"
    store.close()


def test_our_clients_pass_every_edge_check(servers):
    store_port, pipelines_port = servers
    client = OpStoreClient(f"http://127.0.0.1:{store_port}", secret_key="k" * 16 + "-edge-test-key")
    client.save_op_bytes("op", Version(), b"state")
    assert client.get_all_versions_of_op("op")
    client.close()
    assert PipelinesClient(f"http://localhost:{pipelines_port}").call_pipeline("echo", {"a": 1}).value == {"a": 1}
