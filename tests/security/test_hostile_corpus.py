"""A corpus of hostile requests (names, versions, bodies, headers, methods, sizes, tokens) sent over
real HTTP, through raw sockets so that malformed headers reach the servers as sent, to the op
store and to the pipelines server, on SQLite and on PostgreSQL, with and without auth.

Every answer must be a 4xx with a JSON error body (or a 2xx for the few requests that are
allowed), none a 5xx, none may hang, and no file may appear outside the saver root. The counts
are printed as the table of docs/how_to/security.rst (set ``CHARIOTS_CORPUS_REPORT`` to a file
to get it written there too).
"""
import json
import os
import socket
import time
from collections import Counter
from typing import Dict, Iterator, List, NamedTuple, Optional, Tuple

import pytest

from chariots.op_store import OpStoreClient, OpStoreServer
from chariots.op_store.savers import FileSaver
from chariots.pipelines import PipelinesServer
from chariots.pipelines.runners import SequentialRunner
from tests.ml.iris_ops import getting_started_pipelines
from tests.security.conftest import KEY

TOKEN = "corpus-token-0123456789"
CAP = 64 * 1024  # both servers' max_content_length here
HANG = 10.0  # seconds without an answer that count as a hang
VERSION = "a" * 40 + "_" + "b" * 40 + "_" + "c" * 40 + "_1700000000.0"

NAMES = [
    "..", ".", "../escape", "..%2F..%2Fescape", "%2e%2e%2fescape", "a/../../escape", "/abs/escape", "a%00b",
    "a\\..\\escape", "x" * 5000, "%252e%252e", "$(touch%20pwned)", "a;b", "a'b\"c", "%3Cscript%3E", "~root",
    "%C3%A9t%C3%A9", "%F0%9F%92%A5", "CON", "a%0Ab", "%20", "a%09b", "..%5C..%5Cescape", "a:b", "%E2%80%AE",
]
VERSIONS = [
    "bad", "a_b_c_1e999", "a_b_c_-1e999", "a_b_c_nan", "a_b_c_inf", "___", "a_b_c", "a_b_c_d_e",
    f"{'a' * 40}_{'b' * 40}_{'c' * 40}_1e400", "../../escape_b_c_1", "a%2F..%2F..%2Fescape_b_c_1", "x" * 3000,
    "a_b_c_0x10", "a_b_c_%201", "%00_b_c_1",
]
BODIES = [
    b"[" * 100_000 + b"]" * 100_000, b"{" * 50_000, b'{"a":' * 30_000, b"not json", b"\xff\xfe\x00", b"null",
    b"[]", b"1e999999", b'"string"', b'{"pipeline_imput": [1]}', b'{"pipeline_input": ' + b"[" * 5000 + b"]" * 5000
    + b"}", b'{"pipeline_name": null, "node_names": 5, "states": "x"}', b'{"states": [{"op_name": "../x"}]}',
    b'{"pipeline_name": "p", "node_names": ["a"], "states": [{"op_name": "a", "version": "a_b_c_1e999", '
    b'"class_path": "x", "class_major": "y", "lineage": {"b": "bad"}}]}', b'{"use_worker": "yes"}',
    b'{"downstream_op": "../x", "upstream_op": "y", "upstream_op_version": "a_b_c_1e999"}', b"\x00" * 1000,
]


class Answer(NamedTuple):
    status: Optional[int]  # None: no answer within HANG seconds
    body: bytes


def send(port: int, raw: bytes) -> Answer:
    """Sends raw request bytes and reads the whole answer (the servers close after one)."""
    with socket.create_connection(("127.0.0.1", port), timeout=HANG) as connection:
        try:
            connection.sendall(raw)
            connection.shutdown(socket.SHUT_WR)  # all sent: a body shorter than announced ends here
        except OSError:  # the server answered and closed before reading everything
            pass
        chunks = []
        deadline = time.monotonic() + HANG
        try:
            while time.monotonic() < deadline:
                chunk = connection.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
                if _complete(b"".join(chunks)):
                    break
        except TimeoutError:
            return Answer(None, b"".join(chunks))
        except ConnectionResetError:
            pass
    data = b"".join(chunks)
    if not data:
        return Answer(None, b"")
    status = int(data.split(b" ", 2)[1])
    return Answer(status, data.partition(b"\r\n\r\n")[2])


def _complete(data: bytes) -> bool:
    head, separator, body = data.partition(b"\r\n\r\n")
    if not separator:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


def request(method: str, path: str, body: bytes = b"", headers: Optional[Dict[str, str]] = None,
            content_length: Optional[str] = "auto", chunked: bool = False, host: Optional[str] = "127.0.0.1") -> bytes:
    lines = [f"{method} {path} HTTP/1.1", *([f"Host: {host}"] if host is not None else []), "Connection: close"]
    for name, value in (headers or {}).items():
        lines.append(f"{name}: {value}")
    if chunked:
        lines.append("Transfer-Encoding: chunked")
        payload = b"".join(b"%x\r\n%s\r\n" % (len(body[i:i + 8192]), body[i:i + 8192])
                           for i in range(0, len(body), 8192)) + b"0\r\n\r\n"
    else:
        if content_length == "auto":
            content_length = str(len(body)) if body or method in ("POST", "PUT") else None
        if content_length is not None:
            lines.append(f"Content-Length: {content_length}")
        payload = body
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + payload


Case = Tuple[str, bytes]  # (family, raw request)

#: malformed chunked encodings (each a body after the headers)
BAD_CHUNKS = [b"0;\r\n\r\n", b"zz\r\n", b"-2\r\nab\r\n0\r\n\r\n", b"2\r\n{}\r\n0\r\nbad trailer\r\n\r\n",
              b"ffffffffffffffffffff\r\n", b"5\r\nab\r\n", b"2\r\n{}XX0\r\n\r\n", b"0x10\r\n", b"\r\n\r\n"]
#: Host headers a loopback server does not serve (DNS rebinding, smuggling shapes)
BAD_HOSTS = ["evil.example", "evil.example:80", "127.0.0.1.evil.example", "localhost.evil", "", "a b", "[::1",
             "127.0.0.1@evil.example", "x" * 3000, "\u0131ocalhost"]
#: content types of bodies a web page sends without asking, and other non-JSON ones
NOT_JSON = ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "text/html",
            "application/json; charset=utf-16", "application/json5", "*/*"]
#: origins and fetch metadata of a page of another site
CROSS_SITE = [{"Origin": "http://evil.example"}, {"Origin": "null"}, {"Origin": "http://127.0.0.1:1"},
              {"Sec-Fetch-Site": "cross-site"},
              {"Origin": "http://127.0.0.1.evil.example", "Sec-Fetch-Site": "same-site"}]


def _edge_cases(auth: Dict[str, str], json_routes: List[Tuple[str, str]], changes: List[Tuple[str, str]],
                reads: List[str]) -> Iterator[Case]:
    """The chunked, Host, Origin and content-type cases of a server (issue 19)."""
    for method, route in json_routes:
        for chunks in BAD_CHUNKS:
            head = request(method, route, headers={"Content-Type": "application/json", **auth}, content_length=None)
            yield "chunked", head[:-2] + b"Transfer-Encoding: chunked\r\n\r\n" + chunks
        for content_type in NOT_JSON:
            yield "content types", request(method, route, b'{"pipeline_name": "p", "node_names": []}',
                                           {"Content-Type": content_type, **auth})
        yield "content types", request(method, route, b'{"pipeline_name": "p", "node_names": []}', auth)
    for route in reads:
        for host in BAD_HOSTS:
            yield "hosts", request("GET", route, headers=auth, host=host)
        yield "hosts", request("GET", route, headers=auth, host=None)
        yield "hosts", request("GET", route, headers={"Host": "evil.example", **auth})  # a second Host
    for method, route in changes:
        for headers in CROSS_SITE:
            yield "origins", request(method, route, b'{"pipeline_name": "p", "node_names": []}',
                                     {"Content-Type": "application/json", **headers, **auth})


def _auth(token: Optional[str]) -> Dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def op_store_corpus(token: Optional[str]) -> Iterator[Case]:
    auth = _auth(token)
    json_type = {"Content-Type": "application/json", **auth}
    for name in NAMES:
        yield "names", request("GET", f"/ops/{name}/versions", headers=auth)
        yield "names", request("GET", f"/ops/{name}/states", headers=auth)
        yield "names", request("GET", f"/ops/{name}/versions/{VERSION}", headers=auth)
        yield "names", request("PUT", f"/ops/{name}/versions/{VERSION}", b"model", auth)
        yield "names", request("PUT", f"/ops/{name}/uploads/{VERSION}", b"model", auth)
        yield "names", request("GET", f"/pipelines/{name}", headers=auth)
    for version in VERSIONS:
        yield "versions", request("GET", f"/ops/op/versions/{version}", headers=auth)
        yield "versions", request("PUT", f"/ops/op/versions/{version}", b"model", auth)
        yield "versions", request("PUT", f"/ops/op/uploads/{version}", b"model", auth)
        query = f"downstream_op=a&upstream_op=b&downstream_op_version={version}"
        yield "versions", request("GET", f"/validated_links?{query}", headers=auth)
    for body in BODIES:
        for route in ("/saves", "/validated_links", "/pipelines"):
            yield "bodies", request("POST", route, body, json_type)
    for value in ("abc", "-1", "1e3", "99999999999999999999", "5, 6", "0x10", ""):
        yield "headers", request("PUT", f"/ops/cl/versions/{VERSION}", b"model", auth, content_length=value)
        yield "headers", request("POST", "/pipelines", b'{"pipeline_name": "p", "node_names": []}', json_type,
                                 content_length=value)
    for header in ({"Content-Type": "application/json; charset=utf-7"}, {"Content-Type": "\x00"},
                   {"Transfer-Encoding": "gzip, chunked"}, {"Expect": "100-continue-please"},
                   {"X-Request-ID": "\x7f" * 300}, {"Host": "evil.example"}, {"Content-Encoding": "gzip"}):
        yield "headers", request("POST", "/pipelines", b'{"pipeline_name": "q", "node_names": []}', {**header, **auth})
    for method in ("DELETE", "PATCH", "TRACE", "PROPFIND", "OPTIONSX", "CONNECT"):
        for route in ("/ops/op/versions", f"/ops/op/versions/{VERSION}", "/saves", "/pipelines", "/health_check"):
            yield "methods", request(method, route, headers=auth)
    big = b"x" * (CAP + 1)
    yield "sizes", request("PUT", f"/ops/big/versions/{VERSION}", big, auth)
    yield "sizes", request("PUT", f"/ops/big/uploads/{VERSION}", big, auth)
    yield "sizes", request("PUT", f"/ops/bigc/versions/{VERSION}", big, auth, chunked=True)
    yield "sizes", request("PUT", f"/ops/bigc/uploads/{VERSION}", big, auth, chunked=True)
    yield "sizes", request("POST", "/saves", b'{"a": "' + big + b'"}', json_type)
    yield "sizes", request("POST", "/pipelines", b'{"a": "' + big + b'"}', json_type, chunked=True)
    yield "sizes", request("PUT", f"/ops/short/versions/{VERSION}", b"abc", auth, content_length="100")
    yield from _edge_cases(auth, [("POST", route) for route in ("/saves", "/validated_links", "/pipelines",
                                                                "/generations", "/staged_trainings")],
                           [("POST", "/pipelines"), ("POST", "/generations"), ("PUT", f"/ops/o/versions/{VERSION}"),
                            ("PUT", f"/ops/o/uploads/{VERSION}"), ("POST", "/saves")],
                           ["/ops/op/versions", f"/ops/op/versions/{VERSION}", "/pipelines", "/generations"])
    for bad in _bad_tokens(token):
        yield "tokens", request("GET", "/ops/op/versions", headers=bad)
        yield "tokens", request("PUT", f"/ops/tok/versions/{VERSION}", b"model", bad)
        yield "tokens", request("POST", "/saves", b"{}", {"Content-Type": "application/json", **bad})


def pipelines_corpus(token: Optional[str]) -> Iterator[Case]:
    auth = _auth(token)
    json_type = {"Content-Type": "application/json", **auth}
    for name in NAMES:
        for route in ("main", "load", "save", "versions", "health_check"):
            yield "names", request("POST", f"/pipelines/{name}/{route}", b"{}", json_type)
        yield "names", request("GET", f"/pipelines/{name}/jobs/some-job", headers=auth)
        yield "names", request("GET", f"/ui/ops/{name}", headers=auth)
    for job_id in ("..", "x" * 5000, "%00", "a%20b", "$(id)", "rq:job:x", "*", "%2F..%2F", "%F0%9F%92%A5", "-1"):
        yield "versions", request("GET", f"/pipelines/pred/jobs/{job_id}", headers=auth)
        yield "versions", request("POST", f"/pipelines/pred/jobs/{job_id}", b"{}", json_type)
    for body in BODIES:
        for route in ("/pipelines/pred/main", "/pipelines/pred/load", "/pipelines/pred/versions"):
            yield "bodies", request("POST", route, body, json_type)
    for value in ("abc", "-1", "1e3", "99999999999999999999", "5, 6", "0x10", ""):
        yield "headers", request("POST", "/pipelines/pred/main", b'{"pipeline_input": [[1, 2, 3, 4]]}', json_type,
                                 content_length=value)
    for header in ({"Content-Type": "application/json; charset=utf-7"}, {"Content-Type": "\x00"},
                   {"Transfer-Encoding": "gzip, chunked"}, {"X-Request-ID": "\x7f" * 300}, {"Host": "evil.example"},
                   {"Content-Encoding": "gzip"}):
        yield "headers", request("POST", "/pipelines/pred/main", b'{"pipeline_input": [[1, 2, 3, 4]]}',
                                 {**header, **auth})
    for method in ("DELETE", "PATCH", "TRACE", "PROPFIND", "PUT", "CONNECT"):
        for route in ("/pipelines/pred/main", "/pipelines/pred/load", "/available_pipelines", "/health_check"):
            yield "methods", request(method, route, headers=auth)
    big = b"[" + b"1," * (CAP // 2) + b"1]"
    yield "sizes", request("POST", "/pipelines/pred/main", b'{"pipeline_input": ' + big + b"}", json_type)
    yield "sizes", request("POST", "/pipelines/pred/main", b'{"pipeline_input": ' + big + b"}", json_type, chunked=True)
    yield "sizes", request("POST", "/pipelines/pred/main", b"{}", json_type, content_length="100")
    yield from _edge_cases(auth, [("POST", "/pipelines/pred/main")],
                           [("POST", f"/pipelines/pred/{route}") for route in ("main", "load", "save")]
                           + [("POST", "/pipelines/train/main")],
                           ["/available_pipelines", "/pipelines/pred/versions", "/ui", "/openapi.json"])
    for bad in _bad_tokens(token):
        yield "tokens", request("POST", "/pipelines/pred/main", b'{"pipeline_input": [[1, 2, 3, 4]]}',
                                {"Content-Type": "application/json", **bad})
        yield "tokens", request("GET", "/available_pipelines", headers=bad)
        yield "tokens", request("POST", "/pipelines/pred/load", b"{}", {"Content-Type": "application/json", **bad})


def _bad_tokens(token: Optional[str]) -> List[Dict[str, str]]:
    if token is None:
        return [{"Authorization": "Bearer anything"}, {"Authorization": "Basic dXNlcjpwYXNz"}]
    return [{}, {"Authorization": "Bearer"}, {"Authorization": "Bearer "}, {"Authorization": f"Bearer {token}x"},
            {"Authorization": f"Basic {token}"}, {"Authorization": "Bearer " + "x" * 8000},
            {"Authorization": f"Bearer {token[:-1]}"}, {"Authorization": f"Bearer\t{token}\x00"},
            {"Authorization": "bearer wrong"}, {"Authorization": f"Token {token}"}]


class Tally:
    """What a server answered to a corpus."""

    def __init__(self):
        self.counts: Counter = Counter()
        self.problems: List[str] = []

    def add(self, family: str, raw: bytes, answer: Answer) -> None:
        first_line = raw.split(b"\r\n", 1)[0][:150].decode("utf-8", "replace")
        self.counts["requests"] += 1
        if answer.status is None:
            self.counts["hangs"] += 1
            self.problems.append(f"hang: {first_line}")
            return
        kind = f"{answer.status // 100}xx"
        self.counts[kind] += 1
        self.counts[(family, kind)] += 1  # which families the 2xx come from, for the docs
        if answer.status < 400 and family in ("versions", "sizes", "methods", "chunked", "hosts", "origins",
                                              "content types"):
            self.problems.append(f"accepted {answer.status}: {first_line}: {answer.body[:200]!r}")
        if answer.status >= 500:
            self.problems.append(f"{answer.status}: {first_line}: {answer.body[:300]!r}")
        if answer.status >= 400:
            try:
                error = json.loads(answer.body)["error"]
                assert isinstance(error["type"], str) and isinstance(error["message"], str)
            except (ValueError, KeyError, TypeError, AssertionError):
                self.counts["non-JSON errors"] += 1
                self.problems.append(f"non-JSON {answer.status}: {first_line}: {answer.body[:200]!r}")


def _files(root: str) -> set:
    found = set()
    for folder, _, names in os.walk(root):
        for name in names:
            found.add(os.path.join(folder, name))
    return found


REPORT: Dict[Tuple[str, str, str], Counter] = {}


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    if request.param == "sqlite":
        return "sqlite", f"sqlite:///{tmp_path / 'db' / 'store.db'}"
    return "postgresql", request.getfixturevalue("postgres_schema_url")


@pytest.mark.parametrize("auth", ["no token", "token"])
def test_hostile_requests_get_clean_4xx_answers_from_both_servers(database, auth, tmp_path, wsgi_server):
    db_name, db_url = database
    token = TOKEN if auth == "token" else None
    (tmp_path / "db").mkdir()
    sandbox = tmp_path / "sandbox"
    saver_root = sandbox / "models"
    saver_root.mkdir(parents=True)
    before = _files(str(tmp_path.parent))
    store_server = OpStoreServer(FileSaver(str(saver_root)), db_url=db_url, auth_token=token, max_content_length=CAP)
    store_url = wsgi_server(store_server.flask)
    train, pred = getting_started_pipelines()
    store = OpStoreClient(store_url, auth_token=token, secret_key=KEY)
    SequentialRunner().run(train)
    train.save(store)
    pipelines_server = PipelinesServer([train, pred], op_store_client=store, auth_token=token,
                                       max_content_length=CAP, import_name="corpus_app")
    pipelines_url = wsgi_server(pipelines_server)
    try:
        for server, url, corpus in (("op store", store_url, op_store_corpus(token)),
                                    ("pipelines server", pipelines_url, pipelines_corpus(token))):
            port = int(url.rsplit(":", 1)[1])
            tally = Tally()
            for family, raw in corpus:
                tally.add(family, raw, send(port, raw))
            REPORT[(server, db_name, auth)] = tally.counts
            assert tally.counts["requests"] >= 250
            assert tally.problems == [], "\n".join(tally.problems[:40])
        # the servers still serve after the corpus
        health = send(int(pipelines_url.rsplit(":", 1)[1]), request("GET", "/health_check"))
        assert health.status == 200
    finally:
        store.close()
        store_server.close()
    created = _files(str(tmp_path.parent)) - before
    outside = sorted(path for path in created
                     if not path.startswith(str(saver_root) + os.sep) and not path.startswith(str(tmp_path / "db")))
    # names that are absolute paths or climb from the working directory
    outside += [path for path in ("/abs/escape", "/abs", os.path.abspath("escape"), os.path.abspath("../escape"))
                if os.path.exists(path)]
    REPORT[("op store", db_name, auth)]["files outside the saver root"] = len(outside)
    assert outside == []


def test_zz_print_the_corpus_table():
    """Prints (and with CHARIOTS_CORPUS_REPORT, writes) the table of the runs above."""
    if not REPORT:
        pytest.skip("the corpus tests did not run in this session")
    header = ("server", "database", "auth", "requests", "4xx", "2xx", "5xx", "hangs", "non-JSON errors",
              "files outside root")
    rows = [header]
    for (server, db_name, auth), counts in sorted(REPORT.items()):
        rows.append((server, db_name, auth, counts["requests"], counts["4xx"], counts["2xx"], counts["5xx"],
                     counts["hangs"], counts["non-JSON errors"], counts.get("files outside the saver root", 0)))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(header))]
    rule = "  ".join("=" * width for width in widths)
    lines = [rule, "  ".join(str(cell).ljust(width) for cell, width in zip(header, widths)), rule]
    lines += ["  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)) for row in rows[1:]]
    lines.append(rule)
    table = "\n".join(lines)
    print("\n" + table)
    target = os.environ.get("CHARIOTS_CORPUS_REPORT")
    if target:
        with open(target, "w") as report:
            report.write(table + "\n")
    total = sum(counts["requests"] for counts in REPORT.values())
    assert total >= 500
