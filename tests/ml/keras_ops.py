"""The Keras example of the docs (imports Keras: only the Keras tests import this module)."""
from __future__ import annotations

from keras import layers, models

from chariots import MLMode, Pipeline
from chariots.keras import KerasOp
from chariots.nodes import Node
from chariots.versioning import VersionedFieldDict, VersionType
from tests.ml.iris_ops import Categorize, IrisFullDataSet


class KerasLinear(KerasOp):
    fit_params = VersionedFieldDict(VersionType.MAJOR, {"epochs": 3, "batch_size": 32})

    def _init_model(self, *input_data_sets):
        model = models.Sequential([layers.Dense(3, activation="softmax", input_shape=(4,))])
        model.compile(loss="categorical_crossentropy", optimizer="adam")
        return model


class KerasMajorLinear(KerasLinear):
    """The same network, retrained as a new major version."""

    training_update_version = VersionType.MAJOR


def keras_pipelines() -> tuple[Pipeline, Pipeline]:
    """The train and pred pipelines of the KerasOp docs."""
    train = Pipeline(
        [
            Node(IrisFullDataSet(), output_nodes=["X", "y"]),
            Node(Categorize(), input_nodes=["y"], output_nodes="y_cat"),
            Node(KerasLinear(mode=MLMode.FIT, verbose=0), input_nodes=["X", "y_cat"]),
        ],
        "train",
    )
    pred = Pipeline(
        [
            Node(
                KerasLinear(mode=MLMode.PREDICT, verbose=0),
                input_nodes=["__pipeline_input__"],
                output_nodes="__pipeline_output__",
            )
        ],
        "pred",
    )
    return train, pred
