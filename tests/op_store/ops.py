"""Small trainable ops for the op store scenarios (importable, so subprocesses can use them too).

They mirror the docs' iris example without scikit-learn: :class:`Centerer` plays the PCA (its
training bumps its major version), :class:`ThresholdClassifier` the logistic regression, and
:class:`Calibrator` is a model whose training only bumps its patch version.
"""

from __future__ import annotations

import enum
import json
import time

from chariots import Pipeline
from chariots.nodes import Node
from chariots.pipelines.ops import BaseOp, LoadableOp
from chariots.versioning import Version, VersionedField, VersionType


class Mode(enum.StrEnum):
    FIT = "fit"
    PREDICT = "predict"


class TrainedOp(LoadableOp):
    """A model whose last training time feeds its ``training_update_version`` sub-version."""

    training_update_version = VersionType.MAJOR

    def __init__(self, mode: Mode = Mode.PREDICT):
        super().__init__()
        self.mode = Mode(mode)
        self.state = None
        self.trained_at = 0.0

    @property
    def op_version(self) -> Version:
        training = Version().update(self.training_update_version, repr(self.trained_at).encode())
        return type(self).__version__ + training

    @property
    def allow_version_change(self) -> bool:
        return self.mode is Mode.FIT

    def execute(self, *args):
        if self.mode is Mode.FIT:
            self.state = self.fit(*args)
            self.trained_at = time.time()
            return None
        return self.predict(*args)

    def fit(self, *args):
        raise NotImplementedError

    def predict(self, *args):
        raise NotImplementedError

    def serialize(self) -> bytes:
        return json.dumps({"state": self.state, "trained_at": self.trained_at}).encode()

    def load(self, serialized_object: bytes) -> None:
        saved = json.loads(serialized_object)
        self.state, self.trained_at = saved["state"], saved["trained_at"]


class XData(BaseOp):
    def execute(self):
        return [1.0, 2.0, 3.0, 10.0, 11.0, 12.0]


class XYData(BaseOp):
    def execute(self):
        return [1.0, 2.0, 3.0, 10.0, 11.0, 12.0], [0, 0, 0, 1, 1, 1]


class Centerer(TrainedOp):
    """Learns the mean of its inputs and subtracts it (the docs' PCA)."""

    def fit(self, values):
        return sum(values) / len(values)

    def predict(self, values):
        return [value - (self.state or 0.0) for value in values]


class ThresholdClassifier(TrainedOp):
    """Learns the midpoint between the classes and predicts 1 above it (the docs' logistic)."""

    def fit(self, values, labels):
        ones = [value for value, label in zip(values, labels) if label == 1]
        zeros = [value for value, label in zip(values, labels) if label == 0]
        return (min(ones) + max(zeros)) / 2

    def predict(self, values):
        threshold = self.state if self.state is not None else float("inf")
        return [1 if value > threshold else 0 for value in values]


class Calibrator(Centerer):
    """A Centerer whose training only changes its patch version."""

    training_update_version = VersionType.PATCH


class CallCounter(LoadableOp):
    """Counts its calls; the count is its saved state and its patch version."""

    step = VersionedField(1, VersionType.MAJOR)

    def __init__(self):
        super().__init__()
        self.count = 0

    @property
    def op_version(self) -> Version:
        return type(self).__version__ + Version().update_patch(str(self.count).encode())

    def execute(self, *args):
        self.count += self.step
        return self.count

    def serialize(self) -> bytes:
        return json.dumps({"count": self.count}).encode()

    def load(self, serialized_object: bytes) -> None:
        self.count = json.loads(serialized_object)["count"]


class BigModel(LoadableOp):
    """A model made of arbitrary bytes, for large transfers; its patch version follows its size."""

    def __init__(self, payload: bytes = b""):
        super().__init__()
        self.payload = payload

    @property
    def op_version(self) -> Version:
        return type(self).__version__ + Version().update_patch(str(len(self.payload)).encode())

    def execute(self, *args):
        return len(self.payload)

    def serialize(self) -> bytes:
        return self.payload

    def load(self, serialized_object: bytes) -> None:
        self.payload = serialized_object


def train_centerer(centerer_cls: type = Centerer) -> Pipeline:
    return Pipeline(
        [Node(XData(), output_nodes=["x"]), Node(centerer_cls(Mode.FIT), input_nodes=["x"])], "train_centerer"
    )


def train_classifier(centerer_cls: type = Centerer) -> Pipeline:
    return Pipeline(
        [
            Node(XYData(), output_nodes=["x", "y"]),
            Node(centerer_cls(Mode.PREDICT), input_nodes=["x"], output_nodes="x_transformed"),
            Node(ThresholdClassifier(Mode.FIT), input_nodes=["x_transformed", "y"]),
        ],
        "train_classifier",
    )


def pred(centerer_cls: type = Centerer) -> Pipeline:
    return Pipeline(
        [
            Node(centerer_cls(Mode.PREDICT), input_nodes=["__pipeline_input__"], output_nodes="x_transformed"),
            Node(
                ThresholdClassifier(Mode.PREDICT),
                input_nodes=["x_transformed"],
                output_nodes="__pipeline_output__",
            ),
        ],
        "pred",
    )


def counting_pipeline() -> Pipeline:
    """An outer pipeline whose only node is an inner pipeline holding a CallCounter."""
    inner = Pipeline(
        [Node(CallCounter(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")],
        "inner_counter",
    )
    return Pipeline([Node(inner, input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")], "outer")


def big_model_pipeline(payload: bytes = b"") -> Pipeline:
    return Pipeline([Node(BigModel(payload), input_nodes=["__pipeline_input__"])], "big_model")
