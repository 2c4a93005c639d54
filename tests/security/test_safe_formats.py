"""Models saved without pickle (skops) and corrupt saved headers refused naming the op."""
import json
import struct

import pytest
import skops.io
from sklearn.linear_model import LogisticRegression

from chariots.errors import MLOpError
from chariots.ml import MLMode
from chariots.ml import _base_ml_op as base
from chariots.ml.serializers import SkopsSerializer
from chariots.op_store import EmbeddedOpStoreClient
from chariots.pipelines import Pipeline
from chariots.pipelines.nodes import Node
from chariots.pipelines.runners import SequentialRunner
from chariots.sklearn import SKSupervisedOp
from tests.ml.iris_ops import FromArray, IrisFullDataSet
from tests.security.conftest import KEY


class SkopsLogisticOp(SKSupervisedOp):
    model_class = LogisticRegression
    model_parameters = {"max_iter": 500}
    serializer_cls = SkopsSerializer


class Untrusted:
    """A type skops does not trust by default."""


def _pipelines():
    train = Pipeline([Node(IrisFullDataSet(), output_nodes=["x", "y"]),
                      Node(SkopsLogisticOp(MLMode.FIT), input_nodes=["x", "y"])], "train_skops")
    pred = Pipeline([Node(SkopsLogisticOp(MLMode.PREDICT), input_nodes=["__pipeline_input__"], output_nodes="p"),
                     Node(FromArray(), input_nodes=["p"], output_nodes="__pipeline_output__")], "pred_skops")
    return train, pred


def test_an_sk_op_saved_with_skops_loads_and_predicts(tmp_path):
    store = EmbeddedOpStoreClient(str(tmp_path), secret_key=KEY)
    train, pred = _pipelines()
    SequentialRunner().run(train)
    train.save(store)
    pred.load(store)
    trained = train.node_for_name["skopslogisticop"].op.model
    assert SequentialRunner().run(pred, [[1, 2, 3, 4]]) == trained.predict([[1, 2, 3, 4]]).tolist()
    version = store.get_op_states("skopslogisticop")[-1].version
    saved = store.get_op_bytes_for_version("skopslogisticop", version)
    header_length = struct.unpack_from(">I", saved, len(base._MAGIC))[0]
    header = json.loads(saved[len(base._MAGIC) + 4: len(base._MAGIC) + 4 + header_length])
    assert header["serializer"] == "chariots.ml.serializers._skops_serializer.SkopsSerializer"
    assert saved[len(base._MAGIC) + 4 + header_length:][:2] == b"PK"  # a skops zip, no pickle


def test_skops_refuses_a_type_nobody_trusted():
    blob = skops.io.dumps({"model": Untrusted()})
    with pytest.raises(MLOpError, match=r"^the skops model holds types that are not trusted: "
                                        r"\['tests.security.test_safe_formats.Untrusted'\]. If you trust them"):
        SkopsSerializer().deserialize_object(blob)

    class Trusting(SkopsSerializer):
        trusted_types = ("tests.security.test_safe_formats.Untrusted",)

    assert isinstance(Trusting().deserialize_object(blob)["model"], Untrusted)


def _with_header(header: bytes, model: bytes = b"", length: int = None) -> bytes:
    return base._MAGIC + struct.pack(">I", len(header) if length is None else length) + header + model


@pytest.mark.parametrize("saved", [
    _with_header(b"[1, 2]"),
    _with_header(b"not json"),
    _with_header(b"[" * 100_000),
    _with_header(b'{"format": "1"}'),
    _with_header(b'{"format": 1, "last_training_time": "yesterday"}'),
    _with_header(b'{"format": 1, "last_training_time": 1e999}'),
    _with_header(b'{"format": 1}', length=10_000),
], ids=["list", "not-json", "deep", "format-string", "time-string", "time-infinite", "cut-short"])
def test_corrupt_saved_headers_are_an_ml_op_error_naming_the_op(saved):
    with pytest.raises(MLOpError, match=r"^op 'skopslogisticop' cannot load these bytes: their Chariots ML op "
                                        "header is corrupt"):
        SkopsLogisticOp(MLMode.PREDICT).load(saved)
