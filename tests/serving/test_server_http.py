"""The pipelines server and client over real HTTP on 127.0.0.1."""
import concurrent.futures
import json

import numpy as np
import pytest
import requests

from chariots import Pipeline
from chariots.errors import AuthenticationError, BackendError, BadRequestError, ChariotsError, NotFoundError
from chariots.nodes import Node
from chariots.pipelines import PipelinesClient, PipelinesServer
from chariots.pipelines.ops import BaseOp
from chariots.testing import TestPipelinesClient
from tests.fakes import InMemoryOpStore
from tests.pipelines.simple_ops import AddOneOp, IsOddOp, Model


def is_odd_pipeline():
    return Pipeline(
        [
            Node(AddOneOp(), input_nodes=["__pipeline_input__"], output_nodes=["added_number"]),
            Node(IsOddOp(), input_nodes=["added_number"], output_nodes=["__pipeline_output__"]),
        ],
        "simple_pipeline",
    )


class Fails(BaseOp):
    def execute(self, value):
        raise ValueError(f"cannot handle {value!r}")


class ToArray(BaseOp):
    def execute(self, value):
        return {"array": np.arange(value), "scalar": np.float32(1.5), "int": np.int64(3)}


@pytest.fixture
def is_odd():
    return is_odd_pipeline()


@pytest.fixture
def server_url(wsgi_server, is_odd):
    failing = Pipeline([Node(Fails(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")],
                       "failing")
    arrays = Pipeline([Node(ToArray(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")],
                      "arrays")
    app = PipelinesServer([is_odd, failing, arrays], op_store_client=InMemoryOpStore(), import_name="simple_app",
                          max_content_length=10_000)
    return wsgi_server(app)


def test_docs_is_odd_example(server_url, is_odd):
    client = PipelinesClient(server_url)
    assert client.call_pipeline(is_odd, 4).value is True  # 4 + 1 is odd
    assert client.call_pipeline(is_odd, 5).value is False
    response = client.call_pipeline(is_odd, 4)
    assert response.job_id is None and response.job_status.value == "done"
    assert set(response.versions) == {"addoneop", "isoddop"}
    assert client.pipeline_versions(is_odd)["isoddop"] == IsOddOp.__version__
    assert client.is_pipeline_loaded(is_odd) is True
    assert client.available_pipelines() == ["arrays", "failing", "simple_pipeline"]
    client.save_pipeline(is_odd)
    client.load_pipeline(is_odd)


def test_numpy_outputs_come_back_as_json(server_url):
    value = PipelinesClient(server_url).call_pipeline("arrays", 3).value
    assert value == {"array": [0, 1, 2], "scalar": 1.5, "int": 3}


def test_health_routes(server_url):
    assert requests.get(server_url + "/health_check").json() == {"status": "ok"}
    health = requests.get(server_url + "/pipelines/simple_pipeline/health_check").json()
    assert health == {"is_loaded": True, "generation": 0, "process": health["process"]}


def test_unknown_pipeline_is_a_404_naming_the_available_ones(server_url):
    client = PipelinesClient(server_url)
    with pytest.raises(NotFoundError, match=r"no pipeline named 'nope' in this app \(available: arrays, failing, "
                                            r"simple_pipeline\)") as error:
        client.call_pipeline("nope", 1)
    assert isinstance(error.value, ValueError)
    response = requests.post(server_url + "/pipelines/nope/main", json={})
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "NotFoundError"


def test_an_op_that_raises_is_a_500_naming_the_op_and_the_server_keeps_serving(server_url, is_odd):
    client = PipelinesClient(server_url)
    with pytest.raises(BackendError, match=r"ValueError: cannot handle 7; while running node 'fails' of pipeline "
                                           r"'failing'"):
        client.call_pipeline("failing", 7)
    assert client.call_pipeline(is_odd, 2).value is True


@pytest.mark.parametrize(
    "body, message",
    [
        (b"{not json", "expected a JSON object body, but the body is not valid JSON"),
        (b"[1, 2]", "expected a JSON object body, got list"),
        (b'{"use_worker": "yes"}', "'use_worker' must be true, false or null, got 'yes'"),
    ],
)
def test_malformed_bodies_are_400s(server_url, body, message):
    response = requests.post(server_url + "/pipelines/simple_pipeline/main", data=body,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert message in response.json()["error"]["message"]
    assert requests.get(server_url + "/health_check").status_code == 200


def test_a_body_over_the_cap_is_a_413(server_url, is_odd):
    response = requests.post(server_url + "/pipelines/simple_pipeline/main",
                             data=json.dumps({"pipeline_input": "x" * 20_000}),
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["message"] == (
        "the request body (20022 bytes) is larger than this pipelines server accepts (10000 bytes): "
        "raise the server's max_content_length"
    )
    with pytest.raises(BadRequestError, match="larger than this pipelines server accepts"):
        PipelinesClient(server_url).call_pipeline(is_odd, "x" * 20_000)
    assert PipelinesClient(server_url).call_pipeline(is_odd, 1).value is False


def test_bearer_token_protects_every_route_but_health_checks(wsgi_server, is_odd):
    url = wsgi_server(PipelinesServer([is_odd], import_name="secured", auth_token="s3cret"))
    assert requests.get(url + "/health_check").status_code == 200
    assert requests.get(url + "/pipelines/simple_pipeline/health_check").status_code == 200
    with pytest.raises(AuthenticationError, match="requires a bearer token and none was sent"):
        PipelinesClient(url).call_pipeline(is_odd, 1)
    with pytest.raises(AuthenticationError, match="requires a bearer token and the one sent is wrong"):
        PipelinesClient(url, auth_token="guess").call_pipeline(is_odd, 1)
    assert requests.get(url + "/available_pipelines").status_code == 401
    assert PipelinesClient(url, auth_token="s3cret").call_pipeline(is_odd, 1).value is False


def test_save_or_load_without_an_op_store_is_a_clear_error(wsgi_server, is_odd):
    client = PipelinesClient(wsgi_server(PipelinesServer([is_odd], import_name="no_store")))
    with pytest.raises(ChariotsError, match="this server has no op store: pass op_store_client="):
        client.save_pipeline(is_odd)


def test_unreachable_server_is_a_clear_error(is_odd):
    with pytest.raises(ChariotsError, match="the pipelines server at http://127.0.0.1:9 is unreachable"):
        PipelinesClient("http://127.0.0.1:9").call_pipeline(is_odd, 1)


def _two_model_pipelines():
    train = Pipeline(
        [
            Node(Model(train=True), input_nodes=["__pipeline_input__"]),
        ],
        "train",
    )
    pred = Pipeline(
        [
            Node(Model(), input_nodes=["__pipeline_input__"], output_nodes="m"),
            Node(AddOneOp(), input_nodes=["m"], output_nodes="__pipeline_output__"),
        ],
        "pred",
    )
    return train, pred


def test_server_restarted_on_the_same_store_serves_the_saved_models(wsgi_server):
    store = InMemoryOpStore()
    train, pred = _two_model_pipelines()
    client = PipelinesClient(wsgi_server(PipelinesServer([train, pred], op_store_client=store, import_name="a")))
    client.call_pipeline(train, 100)
    client.save_pipeline(train)
    client.load_pipeline(pred)
    assert client.call_pipeline(pred, 1).value == 102
    train, pred = _two_model_pipelines()
    restarted = PipelinesClient(wsgi_server(PipelinesServer([train, pred], op_store_client=store, import_name="b")))
    assert restarted.call_pipeline(pred, 1).value == 102


def test_requests_during_a_load_see_all_old_or_all_new_versions():
    store = InMemoryOpStore()
    train, pred = _two_model_pipelines()
    app = PipelinesServer([train, pred], op_store_client=store, import_name="c")
    client = TestPipelinesClient(app)
    old_versions = client.call_pipeline(pred, 1).versions
    client.call_pipeline(train, 5)
    client.save_pipeline(train)

    def call(_):
        response = TestPipelinesClient(app).call_pipeline(pred, 1)
        return response.value, response.versions["model"]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = [pool.submit(call, index) for index in range(200)]
        client.load_pipeline(pred)
        results = [future.result() for future in futures]
    new_version = client.pipeline_versions(pred)["model"]
    assert new_version != old_versions["model"]
    for value, version in results:
        assert (value, version) in {(2, old_versions["model"]), (7, new_version)}
