"""The pipelines the fleet tests serve under gunicorn (importable by every worker process).

``train`` fits a one-number model on the data the request sends, ``pred`` predicts with it;
``train_two`` retrains two models together (a scale, then an offset fitted on the scaled
data), ``pred_two`` predicts with both.
"""
from chariots import MLMode, Pipeline
from chariots.ml import BaseMLOp
from chariots.nodes import Node


class MeanModel(BaseMLOp):
    """Predicts the mean of the numbers it was trained on, for each input."""

    def _init_model(self):
        return {"mean": None}

    def fit(self, numbers):
        self._model = {"mean": sum(numbers) / len(numbers)}

    def predict(self, numbers):
        return [self._model["mean"] for _ in numbers]


class ScaleModel(BaseMLOp):
    """Scales numbers by the largest one it was trained on."""

    def _init_model(self):
        return {"scale": None}

    def fit(self, numbers):
        self._model = {"scale": max(numbers)}

    def predict(self, numbers):
        return [number / self._model["scale"] for number in numbers]


class OffsetModel(BaseMLOp):
    """Adds the mean of the (scaled) numbers it was trained on."""

    def _init_model(self):
        return {"offset": None}

    def fit(self, numbers):
        self._model = {"offset": sum(numbers) / len(numbers)}

    def predict(self, numbers):
        return [number + self._model["offset"] for number in numbers]


def build_pipelines():
    """Fresh pipelines (each server process builds its own)."""
    return [
        Pipeline([Node(MeanModel(MLMode.FIT), input_nodes=["__pipeline_input__"])], "train"),
        Pipeline([Node(MeanModel(MLMode.PREDICT), input_nodes=["__pipeline_input__"],
                       output_nodes="__pipeline_output__")], "pred"),
        Pipeline([
            Node(ScaleModel(MLMode.FIT_PREDICT), input_nodes=["__pipeline_input__"], output_nodes="scaled"),
            Node(OffsetModel(MLMode.FIT), input_nodes=["scaled"]),
        ], "train_two"),
        Pipeline([
            Node(ScaleModel(MLMode.PREDICT), input_nodes=["__pipeline_input__"], output_nodes="scaled"),
            Node(OffsetModel(MLMode.PREDICT), input_nodes=["scaled"], output_nodes="__pipeline_output__"),
        ], "pred_two"),
    ]


pipelines = build_pipelines()
