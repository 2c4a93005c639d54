"""Model states over a real HTTP op store: the client reads the signature apart from the data (so
the data is handed out without a copy) and checks it; tampered bytes on the server's disk are
refused; states signed by the earlier releases, and tiny ones, still come back whole."""
from __future__ import annotations

import random
from pathlib import Path

import pytest

from chariots._signing import STATE_TAIL_BYTES, SigningKeys, state_purpose
from chariots._transport import HTTPTransport
from chariots.errors import NotFoundError, SignatureError
from chariots.op_store import OpStoreClient, OpStoreServer
from chariots.op_store.savers import FileSaver
from chariots.versioning import Version
from tests.security.conftest import KEY, OTHER_KEY, sign_like_the_first_release, sign_like_the_manifest_release

CHUNK_BYTES = 4 * 1024 * 1024


@pytest.fixture
def store(wsgi_server, tmp_path):
    server = OpStoreServer(FileSaver(str(tmp_path / "models")), db_url=f"sqlite:///{tmp_path / 'store.db'}")
    url = wsgi_server(server.flask)
    client = OpStoreClient(url, secret_key=KEY)
    yield url, client, tmp_path / "models"
    client.close()
    server.close()


def version(number: int) -> Version:
    return Version(f"{number:040x}", "b" * 40, "c" * 40, creation_time=1.7e9 + number)


def stored_file(root: Path, op_name: str) -> Path:
    (path,) = [path for path in root.rglob("*") if path.is_file() and op_name in path.relative_to(root).parts]
    return path


@pytest.mark.parametrize("size", [0, 10, STATE_TAIL_BYTES, 3 * CHUNK_BYTES + 7])
def test_a_state_comes_back_whole_over_http(store, size):
    _, client, _ = store
    data = random.Random(size).randbytes(size)
    client.save_op_bytes("model", version(1), data)
    assert client.get_op_bytes_for_version("model", version(1)) == data


def test_the_http_transport_reads_the_tail_apart_only_from_a_success(store):
    url, client, _ = store
    data = random.Random(1).randbytes(CHUNK_BYTES + 3)
    client.save_op_bytes("model", version(1), data)
    transport = HTTPTransport(url, "op store")
    route = f"/ops/model/versions/{version(1)}"
    answer = transport.send("GET", route, split_tail=STATE_TAIL_BYTES)
    assert answer.status == 200 and answer.body == data and len(answer.tail) == STATE_TAIL_BYTES
    whole = transport.send("GET", route)
    assert whole.body == data + answer.tail and whole.tail == b""
    missing = transport.send("GET", f"/ops/model/versions/{version(2)}", split_tail=STATE_TAIL_BYTES)
    assert missing.status == 404 and missing.tail == b"" and b"error" in missing.body
    transport.close()
    with pytest.raises(NotFoundError):
        client.get_op_bytes_for_version("model", version(2))


@pytest.mark.parametrize("where", ["first chunk", "last chunk", "signature"])
def test_bytes_changed_on_the_servers_disk_are_refused_and_other_versions_still_load(store, where):
    _, client, root = store
    data = random.Random(2).randbytes(2 * CHUNK_BYTES + 100)
    client.save_op_bytes("model", version(1), data)
    client.save_op_bytes("other", version(1), data)
    path = stored_file(root, "model")
    blob = bytearray(path.read_bytes())
    offsets = {"first chunk": 10, "last chunk": 2 * CHUNK_BYTES + 50, "signature": len(blob) - STATE_TAIL_BYTES + 5}
    offset = offsets[where]
    blob[offset] ^= 1
    path.write_bytes(bytes(blob))
    with pytest.raises(SignatureError, match=r"^version 00000 of op 'model' is refused: it is signed with a key"):
        client.get_op_bytes_for_version("model", version(1))
    assert client.get_op_bytes_for_version("other", version(1)) == data


@pytest.mark.parametrize("size", [0, 30, CHUNK_BYTES + 9])
@pytest.mark.parametrize("release", ["first", "manifest"])
def test_states_signed_by_the_earlier_releases_load_over_http(store, size, release):
    url, client, _ = store
    data = random.Random(size).randbytes(size)
    keys = SigningKeys(KEY)
    legacy = sign_like_the_first_release(keys, state_purpose("model", version(1)), data) if release == "first" \
        else sign_like_the_manifest_release(keys, "model", version(1), data)
    transport = HTTPTransport(url, "op store")
    assert transport.send("PUT", f"/ops/model/versions/{version(1)}", data=legacy).status < 300
    transport.close()
    assert client.get_op_bytes_for_version("model", version(1)) == data
    other = OpStoreClient(url, secret_key=OTHER_KEY)
    with pytest.raises(SignatureError, match="is signed with a key this process does not accept"):
        other.get_op_bytes_for_version("model", version(1))
    other.close()


def test_a_content_length_that_is_no_number_reads_the_body_whole():
    # "²" passes str.isdigit() but not int(): the answer must still come back, whole, not as a ValueError
    import socket
    import threading

    body = b"x" * 100
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def answer_once():
        connection, _ = listener.accept()
        with connection:
            connection.recv(65536)
            head = "HTTP/1.1 200 OK\r\nContent-Length: \u00b2\r\nConnection: close\r\n\r\n"
            connection.sendall(head.encode("latin-1") + body)

    server = threading.Thread(target=answer_once, daemon=True)
    server.start()
    transport = HTTPTransport(f"http://127.0.0.1:{port}", "op store", timeout=10)
    try:
        answer = transport.send("GET", "/ops/model/versions/x", split_tail=STATE_TAIL_BYTES)
    finally:
        transport.close()
        server.join(10)
        listener.close()
    assert (answer.status, answer.body, answer.tail) == (200, body, b"")
