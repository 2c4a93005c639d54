"""OpStoreClient and TestOpStoreClient: the protocol over HTTP or in process, errors as exceptions."""

from __future__ import annotations

import os
import re

import pytest

from chariots import Pipeline
from chariots.errors import (
    AuthenticationError,
    BadRequestError,
    InvalidNameError,
    NotFoundError,
    ServiceUnavailableError,
)
from chariots.nodes import Node
from chariots.op_store import BaseOpStoreClient, OpStoreClient
from chariots.op_store.savers import FileSaver
from chariots.pipelines.runners import SequentialRunner
from chariots.testing import TestOpStoreClient
from chariots.versioning import Version
from tests.conftest import free_port
from tests.op_store import ops

VERSION = Version().update_major(b"trained")


def test_the_protocol_round_trips(op_store_client):
    other = Version().update_major(b"other")
    pipeline = Pipeline([Node(ops.CallCounter(), input_nodes=["__pipeline_input__"])], "counting")

    op_store_client.save_op_bytes("model", VERSION, b"\x00\xffraw")
    op_store_client.save_op_bytes("model", other, b"other")
    op_store_client.register_valid_link("model", "pca", VERSION)
    op_store_client.register_new_pipeline(pipeline)

    assert op_store_client.get_all_versions_of_op("model") == [VERSION, other]
    assert [version.creation_time for version in op_store_client.get_all_versions_of_op("model")] == [
        VERSION.creation_time,
        other.creation_time,
    ]
    assert op_store_client.get_op_bytes_for_version("model", VERSION) == b"\x00\xffraw"
    assert op_store_client.get_validated_links("model", "pca") == {VERSION}
    assert op_store_client.get_validated_links("model", "unknown") == set()
    assert op_store_client.get_all_versions_of_op("never_saved") == []
    assert op_store_client.pipeline_exists("counting") and not op_store_client.pipeline_exists("other")
    assert op_store_client.get_all_pipelines() == ["counting"]
    assert op_store_client.health_check() == {"status": "ok"}


def test_server_errors_come_back_as_chariots_errors_with_the_message(op_store_client):
    op_store_client.save_op_bytes("model", VERSION, b"bytes")

    with pytest.raises(NotFoundError) as unknown_op:
        op_store_client.get_op_bytes_for_version("unknown", VERSION)
    with pytest.raises(NotFoundError) as unknown_version:
        op_store_client.get_op_bytes_for_version("model", Version().update_major(b"never"))
    with pytest.raises(BadRequestError) as malformed:
        op_store_client.post("/validated_links", {"downstream_op": "a"})

    assert str(unknown_op.value) == (
        "op 'unknown' is unknown to the op store: save a pipeline holding it before loading it"
    )
    assert isinstance(unknown_op.value, ValueError)  # the docs promise a ValueError
    assert "of op 'model' is not in the op store" in str(unknown_version.value)
    assert str(malformed.value) == (
        "the JSON body misses the keys ['upstream_op', 'upstream_op_version']; "
        "expected ['downstream_op', 'upstream_op', 'upstream_op_version']"
    )


@pytest.mark.parametrize("op_name", ["..", "a/b", "/etc/passwd", "a\x00b"])
def test_invalid_op_names_are_refused_before_sending(op_name):
    client = OpStoreClient(f"http://127.0.0.1:{free_port()}")  # nothing listens: it must not be contacted

    with pytest.raises(InvalidNameError, match=re.escape(f"op name {op_name!r} is invalid: an op name becomes a path")):
        client.save_op_bytes(op_name, VERSION, b"bytes")


def test_an_unreachable_op_store_is_service_unavailable():
    url = f"http://127.0.0.1:{free_port()}"

    with pytest.raises(ServiceUnavailableError) as error:
        OpStoreClient(url).get_all_versions_of_op("model")

    assert str(error.value).startswith(f"the op store at {url} is unreachable (GET /ops/model/versions): ")
    assert str(error.value).endswith("check that the server is running at that URL")


def test_the_testing_client_runs_the_store_in_process(tmp_path):
    client = TestOpStoreClient(str(tmp_path / "store"))
    runner = SequentialRunner()
    train, pred = ops.train_centerer(), ops.pred()
    for pipeline in (train, ops.train_classifier(), pred):
        pipeline.register(client)
    runner.run(train)
    train.save(client)

    again = TestOpStoreClient(str(tmp_path / "store"))  # same path, same store

    assert isinstance(client, BaseOpStoreClient)
    assert again.get_all_versions_of_op("centerer") == client.get_all_versions_of_op("centerer")
    assert "op_store.sqlite3" in os.listdir(tmp_path / "store")
    assert os.path.isdir(tmp_path / "store" / "ops" / "centerer")
    with pytest.raises(Exception) as error:
        pred.load(again)
    assert type(error.value).__name__ == "VersionError"
    client.close()
    again.close()


def test_the_testing_client_posts_json(tmp_path):
    client = TestOpStoreClient(str(tmp_path))
    client.save_op_bytes("model", VERSION, b"model")

    created = client.post(
        "/validated_links",
        {"downstream_op": "model", "upstream_op": "pca", "upstream_op_version": str(VERSION)},
    )

    assert created == {"created": True}
    assert client.get_validated_links("model", "pca") == {VERSION}
    with pytest.raises(InvalidNameError, match="^version 'bad' is invalid"):
        client.post("/validated_links", {"downstream_op": "a", "upstream_op": "b", "upstream_op_version": "bad"})


def test_the_testing_client_takes_a_saver_and_a_token(tmp_path, wsgi_server):
    saver = FileSaver(str(tmp_path / "elsewhere"))
    client = TestOpStoreClient(str(tmp_path / "store"), saver=saver, auth_token="token")

    client.save_op_bytes("model", VERSION, b"bytes")

    stored = saver.load(f"ops/model/{VERSION.major}_{VERSION.minor}_{VERSION.patch}")
    assert client.signing_keys.unsign_state("model", VERSION, stored) == b"bytes"  # kept signed
    assert not os.path.exists(tmp_path / "store" / "ops")
    without_token = OpStoreClient(wsgi_server(client.server.flask))
    with pytest.raises(AuthenticationError, match="^this op store requires a bearer token and none was sent"):
        without_token.get_all_versions_of_op("model")


def test_the_embedded_client_calls_the_server_in_process(tmp_path):
    from chariots.op_store import EmbeddedOpStoreClient

    client = EmbeddedOpStoreClient(str(tmp_path))
    runner = SequentialRunner()
    train, pred = ops.train_centerer(), ops.pred()
    for pipeline in (train, ops.train_classifier(), pred):
        pipeline.register(client)
    runner.run(train)
    train.save(client)

    again = EmbeddedOpStoreClient(str(tmp_path))

    assert isinstance(client, BaseOpStoreClient)
    assert again.get_all_versions_of_op("centerer") == client.get_all_versions_of_op("centerer")
    assert again.get_op_bytes_for_version("centerer", train.node_for_name["centerer"].node_version)
    with pytest.raises(NotFoundError, match="^op 'unknown' is unknown to the op store"):
        again.get_op_bytes_for_version("unknown", VERSION)
    assert "op_store.sqlite3" in os.listdir(tmp_path)
    client.close()
    again.close()
