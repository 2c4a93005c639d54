"""OpenAPI 3.1 at /openapi.json on both servers, and schemathesis fuzzing both over real HTTP."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest
import requests

from chariots.op_store import OpStoreClient, OpStoreServer
from chariots.op_store.savers import FileSaver
from chariots.pipelines import PipelinesServer
from tests.operate.contract_ops import NUMBERS_SCHEMA, ROWS_SCHEMA, reciprocal_pipeline, row_sums_pipeline
from tests.workers.worker_ops import is_odd_pipeline

TOKEN = "fuzz-token"


@pytest.fixture
def store_url(wsgi_server, tmp_path):
    server = OpStoreServer(FileSaver(str(tmp_path / "models")), db_url=f"sqlite:///{tmp_path / 'store.db'}",
                           auth_token=TOKEN)
    return wsgi_server(server.flask)


@pytest.fixture
def pipelines_url(wsgi_server, store_url):
    """Pipelines whose ops answer every input their schema lets through (no declared 500), on an op store."""
    app = PipelinesServer([row_sums_pipeline()], auth_token=TOKEN, import_name="fuzzed",
                          op_store_client=OpStoreClient(store_url, auth_token=TOKEN))
    return wsgi_server(app)


def _document(url: str) -> dict:
    answer = requests.get(url + "/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    return answer.json()


def test_pipelines_document_lists_every_pipeline_with_its_schema(wsgi_server):
    app = PipelinesServer([row_sums_pipeline(), reciprocal_pipeline(), is_odd_pipeline()], import_name="doc")
    document = requests.get(wsgi_server(app) + "/openapi.json").json()
    assert document["openapi"] == "3.1.0"
    paths = document["paths"]
    for name in ("row_sums", "reciprocal", "is_odd"):
        for route in ("main", "versions", "load", "save", "health_check", "jobs/{job_id}"):
            assert f"/pipelines/{name}/{route}" in paths
    call = paths["/pipelines/row_sums/main"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert call["properties"]["pipeline_input"] == ROWS_SCHEMA
    assert call["additionalProperties"] is False
    reciprocal = paths["/pipelines/reciprocal/main"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert reciprocal["properties"]["pipeline_input"] == NUMBERS_SCHEMA
    undeclared = paths["/pipelines/is_odd/main"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert undeclared["properties"]["pipeline_input"] == {}
    assert set(paths["/pipelines/is_odd/main"]["post"]["responses"]) == {"200", "400", "403", "409", "413", "415",
                                                                         "500", "503"}
    for route in ("/health_check", "/available_pipelines", "/metrics", "/openapi.json"):
        assert route in paths
    assert "security" not in document  # no token, no security scheme


def test_op_store_document_follows_its_routes(store_url):
    document = _document(store_url)
    paths = document["paths"]
    assert set(paths["/ops/{op_name}/versions/{version}"]) == {"get", "put"}
    assert paths["/ops/{op_name}/versions/{version}"]["put"]["requestBody"]["content"] == {
        "application/octet-stream": {"schema": {"type": "string", "contentMediaType": "application/octet-stream"}}
    }
    assert document["security"] == [{"bearer": []}]
    assert paths["/health_check"]["get"]["security"] == []
    assert "401" in paths["/pipelines"]["get"]["responses"]


def _schemathesis(url: str, tmp_path, name: str) -> str:
    executable = shutil.which("st", path=os.path.dirname(sys.executable))
    if executable is None:
        pytest.fail("schemathesis is not installed: pip install chariots[test]")
    command = [
        executable, "run", url + "/openapi.json", "--url", url, "-H", f"Authorization: Bearer {TOKEN}",
        "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
                    "response_schema_conformance,response_headers_conformance,negative_data_rejection",
        "--max-examples", "15", "--seed", "14", "--workers", "1", "--phases", "examples,coverage,fuzzing",
        "--no-color", "--request-timeout", "10",
    ]
    run = subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    output = run.stdout + run.stderr
    (tmp_path / f"schemathesis-{name}.txt").write_text(output)
    assert run.returncode == 0, output[-6000:]
    return output


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_mismatch(pipelines_url, store_url, tmp_path):
    for name, url in (("pipelines", pipelines_url), ("op store", store_url)):
        output = _schemathesis(url, tmp_path, name.replace(" ", "_"))
        summary = re.search(r"API Operations:\s+Selected: (\d+)/(\d+)\s+Tested: (\d+)", output)
        assert summary is not None, output[-3000:]
        assert int(summary.group(3)) == int(summary.group(2)) >= 10, output[-3000:]
        cases = re.search(r"Test cases:\s+(\d+) generated, (\d+) passed\s", output)
        assert cases is not None and cases.group(1) == cases.group(2), output[-3000:]
        assert int(cases.group(1)) >= 100, output[-3000:]
