"""Job ids are checked before Redis is asked (issue 19, finding 14): an id no job can have is a
clear 400 naming what a job id is, never a 500, in every shape a reviewer tried."""
from __future__ import annotations

import json
from urllib.parse import quote

import pytest

from chariots.workers import RQWorkerPool
from tests.security.edge_apps import pipelines_app
from tests.security.test_hostile_corpus import request, send

#: the 26 shapes of the finding, each an id RQ could never have given
SHAPES = {
    "a space": "ab cd", "a number sign": "ab#cd", "a question mark": "ab?cd", "a semicolon": "ab;cd",
    "a tilde": "ab~cd", "a newline": "ab\ncd", "CR-LF": "ab\r\ncd", "a NUL": "ab\x00cd", "a leading dot": ".abcd",
    "a lone dot": ".", "two dots": "..", "a backslash": "ab\\cd", "two backslashes": "\\\\server",
    "a Cyrillic a": "\u0430bcd", "a fullwidth digit": "ab\uff11cd", "a zero-width space": "ab\u200bcd",
    "a right-to-left mark": "ab\u200fcd", "a Greek omicron": "\u03bfbcd", "a colon (a Redis key)": "rq:job:abcd",
    "a star (a Redis pattern)": "abc*", "a percent sign": "ab%cd", "a quote": "ab'cd", "a tab": "ab\tcd",
    "a plus sign": "ab+cd", "5000 characters": "a" * 5000, "an emoji": "ab\U0001f4a5cd",
}


def test_there_are_the_26_shapes_of_the_finding():
    assert len(SHAPES) == 26


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_job_id_no_job_can_have_is_a_400(redis_connection, wsgi_server, method):
    server = pipelines_app(worker_pool=RQWorkerPool(redis=redis_connection))
    port = int(wsgi_server(server).rsplit(":", 1)[1])
    for name, job_id in SHAPES.items():
        path = f"/pipelines/echo/jobs/{quote(job_id, safe='')}"
        answer = send(port, request(method, path, b"{}" if method == "POST" else b"",
                                    {"Content-Type": "application/json"} if method == "POST" else {}))
        assert answer.status == 400, (name, answer)
        error = json.loads(answer.body)["error"]
        assert error["type"] == "InvalidNameError", name
        assert error["message"].startswith("job id ") and error["message"].endswith(
            "is not one a job can have: a job id is 1 to 128 ASCII letters, digits, '-' and '_' (what the "
            "server answered when it queued the job)"), name
    unknown = send(port, request("GET", "/pipelines/echo/jobs/0123456789abcdef-no-such-job"))
    assert unknown.status == 404 and "no job '0123456789abcdef-no-such-job'" in json.loads(unknown.body)["error"][
        "message"]
