"""Auth that fails closed and the request edges the hostile corpus found."""
import pytest

from chariots.errors import ConfigError
from chariots.op_store import OpStoreServer
from chariots.op_store.savers import FileSaver
from chariots.pipelines import PipelinesServer
from tests.security.test_hostile_corpus import VERSION, request, send


@pytest.mark.parametrize("token", ["", "   "])
def test_an_empty_token_is_a_config_error_on_both_servers(token, tmp_path):
    with pytest.raises(ConfigError, match=r"^OpStoreServer\(auth_token=...\) is empty: give a token"):
        OpStoreServer(FileSaver(str(tmp_path)), auth_token=token)
    with pytest.raises(ConfigError, match=r"^PipelinesServer\(auth_token=...\) is empty: give a token"):
        PipelinesServer([], auth_token=token, import_name="edges")


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "BEARER", "bEaReR"])
def test_the_bearer_scheme_is_matched_in_any_case_on_both_servers(scheme, tmp_path):
    store = OpStoreServer(FileSaver(str(tmp_path)), auth_token="tok-123").flask.test_client()
    pipelines = PipelinesServer([], auth_token="tok-123", import_name="edges").test_client()
    headers = {"Authorization": f"{scheme} tok-123"}
    assert store.get("/pipelines", headers=headers).status_code == 200
    assert pipelines.get("/available_pipelines", headers=headers).status_code == 200
    assert store.get("/pipelines", headers={"Authorization": f"{scheme} wrong"}).status_code == 401


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", "", "5, 6"])
def test_a_malformed_content_length_is_a_400_and_stores_nothing(length, tmp_path, wsgi_server):
    server = OpStoreServer(FileSaver(str(tmp_path / "models")), db_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    port = int(wsgi_server(server.flask).rsplit(":", 1)[1])
    answer = send(port, request("PUT", f"/ops/model/versions/{VERSION}", b"model", content_length=length))
    assert answer.status == 400
    assert b"is not a number of bytes" in answer.body
    assert server.service.get_all_versions_of_op("model") == []


def test_a_version_whose_time_overflows_is_a_400_and_is_not_stored(tmp_path):
    server = OpStoreServer(FileSaver(str(tmp_path)), db_url=f"sqlite:///{tmp_path / 'db.sqlite'}")
    version = VERSION.rsplit("_", 1)[0] + "_1e400"
    answer = server.flask.test_client().put(f"/ops/model/versions/{version}", data=b"model")
    assert answer.status_code == 400
    assert answer.json["error"]["type"] == "InvalidNameError"
    assert "its creation time '1e400' is not a finite number of seconds" in answer.json["error"]["message"]
    assert server.service.get_all_versions_of_op("model") == []


def test_a_chunked_body_over_the_cap_is_a_413_not_truncated(tmp_path, wsgi_server):
    server = OpStoreServer(FileSaver(str(tmp_path / "models")), db_url=f"sqlite:///{tmp_path / 'db.sqlite'}",
                           max_content_length=1024)
    port = int(wsgi_server(server.flask).rsplit(":", 1)[1])
    answer = send(port, request("PUT", f"/ops/model/versions/{VERSION}", b"x" * 5000, chunked=True))
    assert answer.status == 413
    assert server.service.get_all_versions_of_op("model") == []
