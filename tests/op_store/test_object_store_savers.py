"""S3Saver and FsspecSaver keep the saver contract, against a real S3 server on 127.0.0.1 (moto's)
and fsspec's memory file system."""
from __future__ import annotations

import io
import os
import pickle
import uuid

import pytest

from chariots.errors import InvalidNameError, MissingExtraError, SaverError, ServiceUnavailableError
from chariots.op_store.savers import FsspecSaver, S3Saver
from chariots.versioning import Version
from tests.conftest import free_port

MB = 1 << 20
VERSION = Version()
OP_PATH = f"ops/iris_rf/{VERSION.major}_{VERSION.minor}_{VERSION.patch}"


@pytest.fixture(params=["s3-saver", "fsspec-s3", "fsspec-memory"])
def saver(request):
    if request.param == "fsspec-memory":
        return FsspecSaver(f"memory://chariots-{uuid.uuid4().hex[:8]}/models")
    server = request.getfixturevalue("s3_server")
    bucket = server.new_bucket()
    if request.param == "s3-saver":
        return S3Saver(bucket=bucket, prefix="chariots/models", endpoint_url=server.endpoint_url,
                       storage_options=server.storage_options())
    options = server.storage_options()
    options["client_kwargs"] = {**options["client_kwargs"], "endpoint_url": server.endpoint_url}
    return FsspecSaver(f"s3://{bucket}/chariots", options)


def test_bytes_round_trip_and_a_leading_slash_is_relative(saver):
    assert saver.save(b"model bytes", "/ops/op/version")
    assert saver.load("ops/op/version") == b"model bytes"
    assert saver.exists("ops/op/version") and not saver.exists("ops/op/other")
    assert saver.save(b"", "ops/op/empty") and saver.load("ops/op/empty") == b""


def test_a_large_stream_is_written_in_blocks_and_read_back(saver):
    payload = os.urandom(3 * MB) * 7  # 21 MB: several 8 MiB blocks (a multipart upload on S3)
    assert saver.save_stream(io.BytesIO(payload), "ops/big/v1", size=len(payload))
    with saver.open_stream("ops/big/v1") as stream:
        assert stream.read(5) == payload[:5]
        assert stream.read() == payload[5:]
    assert saver.load("ops/big/v1") == payload


def test_a_stream_shorter_than_announced_is_refused_and_leaves_nothing(saver):
    with pytest.raises(ValueError, match=r"^saving 'ops/short/v1': expected 100 bytes but received 10; "
                                         r"the upload was cut short, send it again$"):
        saver.save_stream(io.BytesIO(b"0123456789"), "ops/short/v1", size=100)
    if not isinstance(saver.filesystem, _memory_file_system()):  # memory files show while written
        assert not saver.exists("ops/short/v1")


def test_missing_bytes_are_file_not_found(saver):
    with pytest.raises(FileNotFoundError):
        saver.load("ops/never/saved")


@pytest.mark.parametrize("path", ["../escape", "ops/../../x", "ops//x", "ops/./x", "ops\\x", "ops/\x00", ""])
def test_paths_that_could_escape_the_root_are_refused(saver, path):
    with pytest.raises(InvalidNameError, match="is invalid"):
        saver.save(b"x", path)


def test_the_saver_travels_as_its_settings_and_never_shows_its_credentials(s3_server):
    saver = S3Saver(bucket="my-models", prefix="/p/", endpoint_url=s3_server.endpoint_url,
                    storage_options={"key": "AKIAEXAMPLE", "secret": "very-secret"})
    assert repr(saver) == f"S3Saver('s3://my-models/p', endpoint_url='{s3_server.endpoint_url}')"
    copy = pickle.loads(pickle.dumps(saver))
    assert (copy.bucket, copy.prefix, copy.endpoint_url) == ("my-models", "p", s3_server.endpoint_url)
    assert "very-secret" not in repr(FsspecSaver("s3://AKIA:very-secret@bucket/x"))


def test_an_unreachable_store_is_service_unavailable_naming_the_op_and_version():
    endpoint = f"http://127.0.0.1:{free_port()}"
    saver = S3Saver(bucket="gone", endpoint_url=endpoint, storage_options={
        "key": "k", "secret": "s",
        "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 1},
    })
    with pytest.raises(ServiceUnavailableError) as raised:
        saver.save(b"x" * 10, OP_PATH)
    message = str(raised.value)
    assert message.startswith(f"S3Saver('s3://gone', endpoint_url='{endpoint}') could not save version "
                              f"{VERSION.major[:5]} of op 'iris_rf' ({OP_PATH}): its store cannot be reached")
    assert "nothing was recorded" in message
    with pytest.raises(ServiceUnavailableError, match="could not load version"):
        saver.load(OP_PATH)


def test_a_refused_write_is_a_saver_error_naming_the_op_and_version(s3_server):
    saver = S3Saver(bucket="no-such-bucket-here", endpoint_url=s3_server.endpoint_url,
                    storage_options=s3_server.storage_options())
    with pytest.raises(SaverError, match=rf"could not save version {VERSION.major[:5]} of op 'iris_rf'") as raised:
        saver.save(b"x", OP_PATH)
    assert not isinstance(raised.value, ServiceUnavailableError)


def test_a_protocol_whose_package_is_missing_names_it():
    pytest.importorskip("fsspec")
    try:
        import adlfs  # noqa: F401
        pytest.skip("adlfs is installed")
    except ImportError:
        pass
    with pytest.raises(MissingExtraError, match=r"FsspecSaver\('az://models/x'\) cannot open its file system: .*adlfs"):
        FsspecSaver("az://models/x").save(b"x", "ops/a/b")


@pytest.mark.parametrize("bad", [
    dict(bucket="UPPER"), dict(bucket="a"), dict(bucket=3), dict(bucket="ok-bucket", prefix=3),
])
def test_bad_s3_settings_are_refused(bad):
    with pytest.raises(ValueError, match="S3Saver"):
        S3Saver(**bad)


def _memory_file_system():
    from fsspec.implementations.memory import MemoryFileSystem

    return MemoryFileSystem
