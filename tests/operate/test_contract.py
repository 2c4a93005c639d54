"""The input contract: unknown call keys and inputs not matching a declared schema are 400s."""
from __future__ import annotations

import pytest
import requests

from chariots import Pipeline
from chariots.errors import BackendError, BadRequestError, ConfigError
from chariots.nodes import Node
from chariots.pipelines import PipelinesClient, PipelinesServer
from tests.operate.contract_ops import ROWS_SCHEMA, RowSums, reciprocal_pipeline, row_sums_pipeline
from tests.workers.worker_ops import is_odd_pipeline


class CountingRowSums(RowSums):
    """RowSums counting its runs, to show a refused call runs no op."""

    runs = 0

    def execute(self, rows):
        type(self).runs += 1
        return super().execute(rows)


@pytest.fixture
def contract_url(wsgi_server):
    counting = Pipeline(
        [Node(CountingRowSums(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")],
        "counting", input_schema=ROWS_SCHEMA,
    )
    app = PipelinesServer([row_sums_pipeline(), reciprocal_pipeline(), counting, is_odd_pipeline()],
                          import_name="contract")
    return wsgi_server(app)


def _error(answer):
    assert answer.headers["Content-Type"] == "application/json"
    return answer.json()["error"]


def test_matching_input_runs(contract_url):
    assert PipelinesClient(contract_url).call_pipeline("row_sums", [[1, 2, 3, 4], [0, 0, 0, 1.5]]).value == [10, 1.5]


@pytest.mark.parametrize(
    "pipeline_input, field, reason",
    [
        ([[1, 2, 3, "four"]], "pipeline_input[0][3]", "'four' is not of type 'number'"),
        ([[1, 2, 3]], "pipeline_input[0]", "[1, 2, 3] is too short"),
        ({"rows": [[1, 2, 3, 4]]}, "pipeline_input", "{'rows': [[1, 2, 3, 4]]} is not of type 'array'"),
        ([[1, 2, 3, 4], [1, 2, 3, 1e7]], "pipeline_input[1][3]", "10000000.0 is greater than the maximum of 1000000.0"),
    ],
)
def test_wrong_shape_is_a_400_naming_the_field_before_any_op_runs(contract_url, pipeline_input, field, reason):
    CountingRowSums.runs = 0
    answer = requests.post(contract_url + "/pipelines/counting/main", json={"pipeline_input": pipeline_input})
    assert answer.status_code == 400
    assert _error(answer) == {
        "type": "BadRequestError",
        "message": f"the input of pipeline 'counting' does not match its input_schema at {field}: {reason} "
                   "(GET /openapi.json shows the schema)",
    }
    assert CountingRowSums.runs == 0


def test_the_client_raises_bad_request_error(contract_url):
    with pytest.raises(BadRequestError, match=r"^the input of pipeline 'row_sums' does not match its input_schema "
                                              r"at pipeline_input: None is not of type 'array'"):
        PipelinesClient(contract_url).call_pipeline("row_sums")


@pytest.mark.parametrize("pipeline_name", ["row_sums", "is_odd"])  # declared or not
def test_a_misspelled_key_is_a_400_with_did_you_mean(contract_url, pipeline_name):
    answer = requests.post(f"{contract_url}/pipelines/{pipeline_name}/main", json={"pipeline_imput": [[1, 2, 3, 4]]})
    assert answer.status_code == 400
    assert _error(answer) == {
        "type": "BadRequestError",
        "message": f"the call of pipeline {pipeline_name!r} has the key 'pipeline_imput', which the server does not "
                   "read: the body may have ['pipeline_input', 'use_worker']; did you mean 'pipeline_input'?",
    }
    far = requests.post(f"{contract_url}/pipelines/{pipeline_name}/main", json={"zzz": 1})
    assert _error(far)["message"].endswith("the body may have ['pipeline_input', 'use_worker']")


def test_an_op_raising_in_a_declared_pipeline_is_a_500_naming_the_node(contract_url):
    answer = requests.post(contract_url + "/pipelines/reciprocal/main", json={"pipeline_input": [1, 0]})
    assert answer.status_code == 500
    assert _error(answer) == {
        "type": "ZeroDivisionError",
        "message": "division by zero; while running node 'reciprocal' of pipeline 'reciprocal'",
        "request_id": answer.headers["X-Request-ID"],  # the id of the server's log line with the traceback
    }
    with pytest.raises(BackendError, match=r"^ZeroDivisionError: division by zero; while running node 'reciprocal'"):
        PipelinesClient(contract_url).call_pipeline("reciprocal", [0])


def test_an_invalid_schema_fails_when_the_server_is_built():
    broken = Pipeline([Node(RowSums(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")],
                      "broken", input_schema={"type": "array", "minItems": "one"})
    with pytest.raises(ConfigError, match=r"^the input_schema of pipeline 'broken' is not a valid JSON Schema: "
                                          r"'one' is not of type 'integer' \(at input_schema\['minItems'\]\)$"):
        PipelinesServer([broken])
