"""The op store service on its own: no Flask app, no HTTP, a real database (SQLite file and PostgreSQL)."""

from __future__ import annotations

import hashlib
import io
import os
import socket
import threading
from typing import BinaryIO, List, Optional

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from chariots.errors import (
    BadRequestError,
    ConflictError,
    InvalidNameError,
    NotFoundError,
    OpStoreError,
    SaverError,
    ServiceUnavailableError,
)
from chariots.op_store._database import OpStoreDatabase
from chariots.op_store._names import op_bytes_path
from chariots.op_store._service import OpStoreService
from chariots.op_store.models import Base
from chariots.op_store.savers import FileSaver
from chariots.versioning import Version
from tests.conftest import HOST, free_port


def version(tag: str, creation_time: float) -> Version:
    """A version whose three hashes come from ``tag``, created at ``creation_time``."""
    digest = hashlib.sha1(tag.encode()).hexdigest()
    return Version(digest, digest, digest, creation_time=creation_time)


V1, V2, V3 = version("one", 100.0), version("two", 200.0), version("three", 300.0)


class FailingSaver(FileSaver):
    """A real file saver whose writes fail, as a full disk would make them."""

    def save_stream(self, stream: BinaryIO, path: str, size: Optional[int] = None) -> bool:
        raise OSError(28, "No space left on device")


@pytest.fixture
def saver_root(tmp_path) -> str:
    return str(tmp_path / "saver")


def stored_rows(database: OpStoreDatabase) -> int:
    """How many rows the store's tables hold, all tables together (but the record of when signing
    was enabled, which every store has)."""
    with database.session() as session:
        return sum(session.scalar(select(func.count()).select_from(table)) for table in Base.metadata.sorted_tables
                   if table.name != "signing_enabled")


def saved_files(root: str) -> List[str]:
    return sorted(os.path.relpath(os.path.join(d, f), root) for d, _, files in os.walk(root) for f in files)


# ---------------------------------------------------------------------------- bytes and versions


def test_saved_bytes_come_back_for_their_version(service, saver_root):
    assert service.save_op_bytes("model", V1, b"first") is True
    assert service.save_op_bytes("model", V2, b"second") is True
    assert service.get_op_bytes_for_version("model", V1) == b"first"
    assert service.get_op_bytes_for_version("model", V2) == b"second"
    assert saved_files(saver_root) == sorted([op_bytes_path("model", V1), op_bytes_path("model", V2)])


def test_versions_are_listed_in_the_order_the_store_committed_them_whatever_their_clocks(service):
    # the creation times say 300, 100, 200: the hosts' clocks, which the store's order never follows
    for saved in (V3, V1, V2):
        service.save_op_bytes("model", saved, saved.major.encode())
    assert service.get_all_versions_of_op("model") == [V3, V1, V2]
    assert [v.creation_time for v in service.get_all_versions_of_op("model")] == [300.0, 100.0, 200.0]
    assert [state.sequence for state in service.get_op_states("model")] == sorted(
        state.sequence for state in service.get_op_states("model"))


def test_a_version_saved_again_is_refused_and_keeps_its_first_creation_time(service):
    assert service.save_op_bytes("model", V1, b"a") is True
    again = version("one", 999.0)
    with pytest.raises(ConflictError, match="is already stored and versions are immutable"):
        service.save_op_bytes("model", again, b"a")
    assert service.upload_op_bytes("model", again, b"a") is False  # a save's upload of a stored state: a no-op
    for other in (b"b", b"ab", b""):  # other bytes under a recorded version: refused, never dropped silently
        with pytest.raises(ConflictError) as error:
            service.upload_op_bytes("model", again, other)
        assert str(error.value) == (
            f"version {str(again)!r} of op 'model' is already stored with other bytes, and versions are written "
            "once: a new state needs a new version (nothing was changed)"
        )
        with pytest.raises(ConflictError):
            service.save_op_bytes("model", again, other)
    assert service.get_op_bytes_for_version("model", V1) == b"a"
    [listed] = service.get_all_versions_of_op("model")
    assert listed.creation_time == 100.0
    assert stored_rows(service.database) == 2  # the op and its one version


def test_an_op_never_saved_has_no_versions(service):
    assert service.get_all_versions_of_op("never_saved") == []


def test_a_saver_that_fails_leaves_no_version_row(saver_root, database):
    service = OpStoreService(FailingSaver(saver_root), database)
    service.start()
    with pytest.raises(SaverError) as error:
        service.save_op_bytes("model", V1, b"bytes")
    # the plugin's failure is wrapped at the boundary, naming the op and the version
    assert str(error.value) == (
        f"the saver {service.saver!r} failed writing version {V1.major[:5]} of op 'model': "
        "OSError: [Errno 28] No space left on device"
    )
    assert isinstance(error.value.__cause__, OSError)
    assert service.get_all_versions_of_op("model") == []
    assert stored_rows(database) == 0


def test_a_stream_cut_short_is_a_bad_request_and_leaves_no_version_row(service, saver_root):
    with pytest.raises(BadRequestError) as error:
        service.save_op_stream("model", V1, io.BytesIO(b"abc"), size=10)
    assert str(error.value) == (
        f"saving {op_bytes_path('model', V1)!r}: expected 10 bytes but received 3; the upload was cut short, "
        "send it again"
    )
    assert service.get_all_versions_of_op("model") == []
    assert stored_rows(service.database) == 0
    assert saved_files(saver_root) == []


def test_bytes_of_an_unknown_op_or_version_are_not_found(service):
    with pytest.raises(NotFoundError) as error:
        service.get_op_bytes_for_version("ghost", V1)
    assert str(error.value) == "op 'ghost' is unknown to the op store: save a pipeline holding it before loading it"
    service.save_op_bytes("model", V1, b"a")
    with pytest.raises(NotFoundError) as error:
        service.get_op_bytes_for_version("model", V2)
    assert str(error.value) == (
        f"version {str(V2)!r} of op 'model' is not in the op store; GET /ops/model/versions lists the saved ones"
    )


def test_a_version_whose_bytes_are_gone_is_an_op_store_error(service, saver_root):
    service.save_op_bytes("model", V1, b"a")
    path = op_bytes_path("model", V1)
    os.remove(os.path.join(saver_root, path))
    with pytest.raises(OpStoreError) as error:
        service.get_op_bytes_for_version("model", V1)
    assert str(error.value) == (
        f"version {str(V1)!r} of op 'model' is registered but its bytes are missing from "
        f"FileSaver({saver_root!r}) at {path!r}: save the op again"
    )


# ---------------------------------------------------------------------------- links


def test_validated_links(service):
    service.save_op_bytes("down", version("down", 50.0), b"trained behind up")
    assert service.register_valid_link("down", "up", V2) is True
    assert service.register_valid_link("down", "up", V1) is True
    assert service.register_valid_link("down", "up", version("one", 5.0)) is False  # same hashes
    assert service.validated_links("down", "up") == [V1, V2]
    assert service.get_validated_links("down", "up") == {V1, V2}
    assert service.get_validated_links("up", "down") == set()
    assert service.get_validated_links("down", "other") == set()


# ---------------------------------------------------------------------------- pipelines


def test_pipelines_are_recorded_and_updated(service):
    assert service.pipeline_names() == []
    assert service.record_pipeline("train", ["pca", "forest"]) is True
    assert service.record_pipeline("predict", ["pca"]) is True
    assert service.record_pipeline("train", ["pca", "forest", "scaler"]) is False
    assert service.pipeline_names() == ["predict", "train"]
    assert service.get_pipeline("train") == {"pipeline_name": "train", "node_names": ["pca", "forest", "scaler"]}


def test_an_unknown_pipeline_is_not_found(service):
    with pytest.raises(NotFoundError) as error:
        service.get_pipeline("ghost")
    assert str(error.value) == "pipeline 'ghost' was never registered or saved in the op store"


# ---------------------------------------------------------------------------- invalid names


@pytest.mark.parametrize("name", ["../escape", "/abs", "a/b", "", ".hidden", "x" * 201])
def test_an_invalid_op_name_is_refused_before_any_write(service, saver_root, name):
    with pytest.raises(InvalidNameError) as error:
        service.save_op_bytes(name, V1, b"bytes")
    assert str(error.value).startswith(f"op name {name!r} is invalid: an op name becomes a path in the saver")
    assert saved_files(saver_root) == []
    assert stored_rows(service.database) == 0


def test_invalid_link_names_are_refused_before_any_write(service):
    with pytest.raises(InvalidNameError) as error:
        service.register_valid_link("down", "up\nstream", V1)
    assert str(error.value) == (
        "upstream op name 'up\\nstream' is invalid: expected 1 to 255 printable characters "
        "(no NUL, newline or other control character)"
    )
    assert stored_rows(service.database) == 0


def test_invalid_pipeline_records_are_refused_before_any_write(service):
    with pytest.raises(InvalidNameError, match=r"^node name 'a\\x00b' is invalid: expected 1 to 255 printable"):
        service.record_pipeline("train", ["ok", "a\x00b"])
    with pytest.raises(BadRequestError) as error:
        service.record_pipeline("train", "pca")
    assert str(error.value) == "'node_names' must be a list of node names, got 'pca'"
    with pytest.raises(InvalidNameError, match=r"^pipeline name '' is invalid"):
        service.record_pipeline("", ["pca"])
    assert stored_rows(service.database) == 0


# ---------------------------------------------------------------------------- an unreachable database


class TCPForwarder:
    """Forwards the connections made to a local port to another address: a database that can
    be switched on after the service was built."""

    def __init__(self, target_host: str, target_port: int):
        self.target = (target_host, target_port)
        self.port = free_port()
        self._listener: Optional[socket.socket] = None
        self._sockets: List[socket.socket] = []

    def start(self) -> None:
        self._listener = socket.create_server((HOST, self.port))
        threading.Thread(target=self._accept, args=(self._listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:  # closed by stop()
                return
            upstream = socket.create_connection(self.target)
            self._sockets += [client, upstream]
            for source, sink in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.close()
        for sock in self._sockets:
            sock.close()


def test_an_unreachable_database_is_service_unavailable_naming_the_masked_url(tmp_path):
    port = free_port()  # nothing listens there
    database = OpStoreDatabase(f"postgresql+psycopg://chariots:s3cret@{HOST}:{port}/store")
    service = OpStoreService(FileSaver(str(tmp_path / "saver")), database)
    try:
        for call in (service.start, service.health_check, lambda: service.get_all_versions_of_op("model")):
            with pytest.raises(ServiceUnavailableError) as error:
                call()
            message = str(error.value)
            assert message.startswith("the op store database is unreachable: ")
            assert message.endswith(
                f"; check that the database at postgresql+psycopg://chariots:***@{HOST}:{port}/store "
                "is up and reachable"
            )
            assert "s3cret" not in message
            assert isinstance(error.value, ConnectionError)
    finally:
        service.close()


@pytest.mark.postgres
def test_start_while_the_database_is_down_then_once_it_is_back(postgres_schema_url, tmp_path):
    real = make_url(postgres_schema_url)
    forwarder = TCPForwarder(real.host or HOST, real.port or 5432)
    url = real.set(host=HOST, port=forwarder.port).render_as_string(hide_password=False)
    service = OpStoreService(FileSaver(str(tmp_path / "saver")), OpStoreDatabase(url))
    try:
        with pytest.raises(ServiceUnavailableError, match=r"^the op store database is unreachable: "):
            service.start()
        with pytest.raises(ServiceUnavailableError):
            service.save_op_bytes("model", V1, b"bytes")
        forwarder.start()  # the database comes back
        service.start()
        assert service.health_check() == {"status": "ok"}
        assert service.save_op_bytes("model", V1, b"bytes") is True
        assert service.get_all_versions_of_op("model") == [V1]
    finally:
        service.close()
        forwarder.stop()
