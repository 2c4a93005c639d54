"""The op store's HTTP routes: names refused, JSON errors, raw bytes, auth, size cap, database down."""

from __future__ import annotations

import http.client
import json
import os
import socket
from urllib.parse import quote, urlsplit

import pytest

from chariots.errors import ServiceUnavailableError
from chariots.op_store import OpStoreClient, OpStoreServer
from chariots.op_store.savers import FileSaver
from chariots.versioning import Version
from tests.conftest import free_port

VERSION = Version().update_major(b"trained")
BAD_OP_NAMES = ["..", "../outside", "a/b", "a\x00b", "/etc/passwd", "/abs", ".hidden", "a b", "x" * 201, "é"]
BAD_VERSIONS = [
    "not-a-version",
    "../../outside",
    "/tmp/version",
    f"{VERSION.major}_{VERSION.minor}_{VERSION.patch}",
    f"{VERSION.major.upper()}_{VERSION.minor}_{VERSION.patch}_1.0",
    f"{VERSION.major}_{VERSION.minor}_{VERSION.patch}_1.0/..",
    f"{VERSION.major}_{VERSION.minor}_{VERSION.patch}_1.0\x00",
]


LINK_KEYS_MESSAGE = "expected a JSON object body with the keys ['downstream_op', 'upstream_op', 'upstream_op_version']"


def raw_request(url: str, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    """Sends a request with exactly this (already encoded) path; returns (status, decoded JSON)."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(method, path, body=body or None, headers=headers or {})
        response = connection.getresponse()
        payload = response.read()
        return response.status, json.loads(payload) if payload else None
    finally:
        connection.close()


def files_under(directory) -> set:
    return {
        os.path.relpath(os.path.join(root, name), directory) for root, _, names in os.walk(directory) for name in names
    }


@pytest.fixture
def server_url(file_server, wsgi_server) -> str:
    return wsgi_server(file_server.flask)


@pytest.fixture
def outside_files(tmp_path, saver_root):
    """Checks after the test that nothing appeared next to the saver root and nothing inside it."""
    before = files_under(tmp_path)
    yield
    after = {name for name in files_under(tmp_path) if not name.startswith("op_store.db")}
    assert after == {name for name in before if not name.startswith("op_store.db")}
    assert not os.path.exists(saver_root) or files_under(saver_root) == set()


def test_the_flask_app_is_named_op_store_server(file_server):
    assert repr(file_server.flask) == "<Flask 'OpStoreServer'>"
    assert file_server.db is not None and file_server.migrate is not None


def test_health_check(http):
    response = http.get("/health_check")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


@pytest.mark.parametrize("op_name", BAD_OP_NAMES)
@pytest.mark.parametrize("method", ["GET versions", "GET bytes", "PUT bytes"])
def test_op_names_that_could_escape_the_saver_root_are_refused(server_url, outside_files, op_name, method):
    verb, what = method.split()
    path = f"/ops/{quote(op_name, safe='')}/versions"
    if what == "bytes":
        path += f"/{quote(str(VERSION), safe='')}"

    status, body = raw_request(server_url, verb, path, body=b"model bytes" if verb == "PUT" else b"")

    assert status == 400
    assert body["error"]["type"] == "InvalidNameError"
    assert body["error"]["message"].startswith(f"op name {op_name!r} is invalid: an op name becomes a path")


@pytest.mark.parametrize("version", BAD_VERSIONS)
@pytest.mark.parametrize("verb", ["GET", "PUT"])
def test_malformed_versions_are_refused(server_url, outside_files, version, verb):
    path = f"/ops/my_op/versions/{quote(version, safe='')}"

    status, body = raw_request(server_url, verb, path, body=b"model bytes" if verb == "PUT" else b"")

    assert status == 400
    assert body == {
        "error": {
            "type": "InvalidNameError",
            "message": f"version {version!r} is invalid: expected '<major>_<minor>_<patch>_<creation time>' "
            "with 40 lowercase hex digits per hash, as made by str(version)",
        }
    }


def test_bytes_travel_raw_and_register_the_version(http, saver_root):
    route = f"/ops/my_op/versions/{quote(str(VERSION), safe='')}"
    payload = bytes(range(256)) * 1000

    created = http.put(route, data=payload, content_type="application/octet-stream")
    fetched = http.get(route)

    assert created.status_code == 201
    assert created.get_json() == {"op_name": "my_op", "version": str(VERSION), "created": True}
    assert fetched.status_code == 200 and fetched.mimetype == "application/octet-stream"
    assert fetched.data == payload and fetched.content_length == len(payload)
    assert http.get("/ops/my_op/versions").get_json() == {"op_name": "my_op", "versions": [str(VERSION)]}
    assert files_under(saver_root) == {f"ops/my_op/{VERSION.major}_{VERSION.minor}_{VERSION.patch}"}


def test_a_stored_version_is_immutable(http):
    first = Version(VERSION.major, VERSION.minor, VERSION.patch, creation_time=100.0)
    again = Version(VERSION.major, VERSION.minor, VERSION.patch, creation_time=200.0)
    http.put(f"/ops/my_op/versions/{first}", data=b"first")

    response = http.put(f"/ops/my_op/versions/{again}", data=b"second")

    assert response.status_code == 409
    assert response.get_json()["error"]["type"] == "ConflictError"
    message = response.get_json()["error"]["message"]
    assert "is already stored with other bytes, and versions are written once" in message
    assert http.get("/ops/my_op/versions").get_json()["versions"] == [str(first)]
    assert http.get(f"/ops/my_op/versions/{again}").data == b"first"


def test_unknown_op_and_unknown_version_are_404(http):
    http.put(f"/ops/known/versions/{VERSION}", data=b"bytes")
    other = Version().update_major(b"never saved")

    unknown_op = http.get(f"/ops/unknown/versions/{VERSION}")
    unknown_version = http.get(f"/ops/known/versions/{other}")

    assert unknown_op.status_code == 404
    assert unknown_op.get_json() == {
        "error": {
            "type": "NotFoundError",
            "message": "op 'unknown' is unknown to the op store: save a pipeline holding it before loading it",
        }
    }
    assert unknown_version.status_code == 404
    assert unknown_version.get_json() == {
        "error": {
            "type": "NotFoundError",
            "message": f"version {str(other)!r} of op 'known' is not in the op store; "
            "GET /ops/known/versions lists the saved ones",
        }
    }
    assert http.get("/ops/unknown/versions").get_json() == {"op_name": "unknown", "versions": []}


@pytest.mark.parametrize(
    ("route", "body", "message"),
    [
        (
            "/validated_links",
            "not json",
            LINK_KEYS_MESSAGE + ", but the body is not valid JSON: Expecting value: line 1 column 1 (char 0)",
        ),
        (
            "/validated_links",
            [1, 2],
            LINK_KEYS_MESSAGE + ", got list",
        ),
        (
            "/validated_links",
            {"downstream_op": "a"},
            "the JSON body misses the keys ['upstream_op', 'upstream_op_version']; "
            "expected ['downstream_op', 'upstream_op', 'upstream_op_version']",
        ),
        (
            "/pipelines",
            {"pipeline_name": "p"},
            "the JSON body misses the keys ['node_names']; expected ['pipeline_name', 'node_names']",
        ),
        (
            "/pipelines",
            {"pipeline_name": "p", "node_names": "a"},
            "'node_names' must be a list of node names, got 'a'",
        ),
    ],
)
def test_malformed_bodies_are_400(http, route, body, message):
    if isinstance(body, str):
        response = http.post(route, data=body, content_type="application/json")
    else:
        response = http.post(route, json=body)

    assert response.status_code == 400
    assert response.get_json() == {"error": {"type": "BadRequestError", "message": message}}


def test_a_link_with_a_malformed_version_or_name_is_refused(http):
    bad_version = http.post(
        "/validated_links", json={"downstream_op": "a", "upstream_op": "b", "upstream_op_version": "1.0"}
    )
    bad_name = http.post(
        "/validated_links",
        json={"downstream_op": "a\x00", "upstream_op": "b", "upstream_op_version": str(VERSION)},
    )

    assert bad_version.status_code == 400 and bad_version.get_json()["error"]["type"] == "InvalidNameError"
    assert bad_name.status_code == 400
    assert bad_name.get_json()["error"] == {
        "type": "InvalidNameError",
        "message": "downstream op name 'a\\x00' is invalid: expected 1 to 255 printable characters "
        "(no NUL, newline or other control character)",
    }


def test_validated_links_and_pipelines_round_trip(http):
    link = {"downstream_op": "model", "upstream_op": "pca", "upstream_op_version": str(VERSION)}
    unsaved = http.post("/validated_links", json=link)
    assert unsaved.status_code == 404
    assert unsaved.get_json()["error"]["message"] == (
        "op 'model' was never saved: save the op before validating links to its states"
    )
    http.put(f"/ops/model/versions/{VERSION}", data=b"model")
    assert http.post("/validated_links", json=link).status_code == 201
    assert http.post("/validated_links", json=link).get_json() == {"created": False}
    links = http.get("/validated_links", query_string={"downstream_op": "model", "upstream_op": "pca"})
    assert links.get_json()["versions"] == [str(VERSION)]

    pipeline = {"pipeline_name": "my pipeline", "node_names": ["pca", "model"]}
    assert http.post("/pipelines", json=pipeline).status_code == 201
    assert http.get("/pipelines/my pipeline").get_json() == {
        "pipeline_name": "my pipeline",
        "node_names": ["pca", "model"],
    }
    assert http.get("/pipelines").get_json() == {"pipelines": ["my pipeline"]}
    missing = http.get("/pipelines/other")
    assert missing.status_code == 404
    assert missing.get_json()["error"] == {
        "type": "NotFoundError",
        "message": "pipeline 'other' was never registered or saved in the op store",
    }


def test_unknown_routes_and_methods_answer_json(http):
    unknown = http.get("/nowhere")
    wrong_method = http.delete("/pipelines")

    assert unknown.status_code == 404
    assert unknown.get_json() == {"error": {"type": "NotFoundError", "message": "no op store route GET /nowhere"}}
    assert wrong_method.status_code == 405
    assert wrong_method.get_json()["error"] == {
        "type": "MethodNotAllowed",
        "message": "the op store route /pipelines does not accept DELETE",
    }


def test_an_upload_cut_short_registers_nothing_and_leaves_no_file(server_url, file_server, saver_root):
    parts = urlsplit(server_url)
    with socket.create_connection((parts.hostname, parts.port)) as sock:
        sock.sendall(
            (
                f"PUT /ops/my_op/versions/{VERSION} HTTP/1.1\r\nHost: x\r\n"
                "Content-Type: application/octet-stream\r\nContent-Length: 1000000\r\n\r\n"
            ).encode()
            + b"x" * 1000
        )
        sock.shutdown(socket.SHUT_WR)
        sock.recv(65536)  # the server answers (or closes) once it saw the body end early

    client = file_server.flask.test_client()
    assert client.get("/ops/my_op/versions").get_json()["versions"] == []
    assert not os.path.exists(saver_root) or files_under(saver_root) == set()


def test_request_bodies_are_capped(tmp_path, saver_root):
    server = OpStoreServer(FileSaver(str(saver_root)), db_url="sqlite:///:memory:", max_content_length=1000)
    http = server.flask.test_client()

    response = http.put(f"/ops/my_op/versions/{VERSION}", data=b"x" * 1001)

    assert response.status_code == 413
    assert response.get_json()["error"] == {
        "type": "RequestEntityTooLarge",
        "message": "the request body (1001 bytes) is larger than this op store accepts (1000 bytes): "
        "raise the server's max_content_length",
    }
    assert http.get("/ops/my_op/versions").get_json()["versions"] == []
    assert http.put(f"/ops/my_op/versions/{VERSION}", data=b"x" * 1000).status_code == 201


def test_bearer_token_auth(saver_root, wsgi_server):
    server = OpStoreServer(FileSaver(str(saver_root)), auth_token="s3cret")
    http = server.flask.test_client()

    refused = http.get("/ops/my_op/versions")
    wrong = http.get("/ops/my_op/versions", headers={"Authorization": "Bearer nope"})
    accepted = http.get("/ops/my_op/versions", headers={"Authorization": "Bearer s3cret"})

    assert refused.status_code == 401 and wrong.status_code == 401
    assert refused.get_json()["error"] == {
        "type": "AuthenticationError",
        "message": "this op store requires a bearer token and none was sent: send the header "
        "'Authorization: Bearer <token>' (OpStoreClient(url, auth_token=...))",
    }
    assert accepted.status_code == 200
    assert http.get("/health_check").status_code == 200
    url = wsgi_server(server.flask)
    OpStoreClient(url, auth_token="s3cret").save_op_bytes("my_op", VERSION, b"bytes")
    assert OpStoreClient(url, auth_token="s3cret").get_all_versions_of_op("my_op") == [VERSION]


def test_an_unreachable_database_is_503_naming_no_host_the_log_line_has_the_reason(saver_root, wsgi_server, caplog):
    port = free_port()  # nothing listens there
    db_url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/test"
    server = OpStoreServer(FileSaver(str(saver_root)), db_url=db_url)
    http = server.flask.test_client()

    response = http.get("/ops/my_op/versions")
    health = http.get("/health_check")
    put = http.put(f"/ops/my_op/versions/{VERSION}", data=b"bytes")

    for answer in (response, health, put):
        assert answer.status_code == 503
        error = answer.get_json()["error"]
        request_id = answer.headers["X-Request-ID"]
        assert error == {
            "type": "ServiceUnavailableError",
            "message": f"the op store database is unreachable: see the op store's log (request id {request_id})",
            "request_id": request_id,
        }
        assert str(port) not in answer.get_data(as_text=True) and "127.0.0.1" not in answer.get_data(as_text=True)
        # the server's log line carries the same id and the whole reason
        (line,) = [record.getMessage() for record in caplog.records if request_id in record.getMessage()]
        assert line.startswith(f"op store request {answer.request.method} ")
        assert f"port {port} failed" in line and "refused" in line
        assert line.endswith(f"check that the database at {db_url} is up and reachable")
    client = OpStoreClient(wsgi_server(server.flask))
    with pytest.raises(ServiceUnavailableError, match=r"^the op store database is unreachable: see the op store's log "
                       r"\(request id [0-9a-f]{32}\)$") as raised:
        client.get_all_versions_of_op("my_op")
    assert len(raised.value.request_id) == 32


def test_an_unreachable_database_that_comes_back_is_used(tmp_path, saver_root):
    directory = tmp_path / "not_yet"
    db_url = f"sqlite:///{directory / 'op_store.db'}"  # its directory does not exist: SQLite cannot open it
    server = OpStoreServer(FileSaver(str(saver_root)), db_url=db_url)
    http = server.flask.test_client()
    down = http.get("/ops/my_op/versions")
    assert down.status_code == 503
    body = down.get_data(as_text=True)
    assert "the op store database is unreachable: see the op store's log" in body
    assert str(tmp_path) not in body and "op_store.db" not in body  # no file path of the database

    directory.mkdir()

    assert http.get("/ops/my_op/versions").status_code == 200
    assert http.put(f"/ops/my_op/versions/{VERSION}", data=b"bytes").status_code == 201


DOWN_VERSION = Version().update_major(b"down")


def test_concurrent_saves_of_a_new_op_all_land(op_store_client):
    from concurrent.futures import ThreadPoolExecutor

    versions = [Version().update_major(str(index).encode()) for index in range(12)]

    with ThreadPoolExecutor(6) as pool:
        list(
            pool.map(
                lambda version: op_store_client.save_op_bytes("fresh_op", version, str(version).encode()),
                versions,
            )
        )
        op_store_client.save_op_bytes("down", DOWN_VERSION, b"down")
        list(pool.map(lambda version: op_store_client.register_valid_link("down", "fresh_op", version), versions))

    assert set(op_store_client.get_all_versions_of_op("fresh_op")) == set(versions)
    assert op_store_client.get_validated_links("down", "fresh_op") == set(versions)
    for version in versions:
        assert op_store_client.get_op_bytes_for_version("fresh_op", version) == str(version).encode()


def test_large_models_round_trip_over_http(op_store_client):
    payload = os.urandom(24 * 1024 * 1024)

    op_store_client.save_op_bytes("large_op", VERSION, payload)

    assert op_store_client.get_op_bytes_for_version("large_op", VERSION) == payload
