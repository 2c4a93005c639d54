"""Models without scikit-learn for the processes the tests kill (they must start fast).

:class:`MeanOp` learns the mean of its input (its training changes its major, like the docs'
PCA); :class:`BigOp` learns a slope and carries ``padding`` bytes, so that its upload lasts
long enough to be interrupted.
"""

from __future__ import annotations

from typing import Any, List

from chariots import MLMode, Pipeline
from chariots.ml import BaseMLOp
from chariots.nodes import Node
from chariots.ops import BaseOp
from chariots.versioning import VersionType

VALUES = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
TARGETS = [2.0, 4.5, 6.0, 8.5, 10.0, 12.5]


class Numbers(BaseOp):
    def execute(self):
        return list(VALUES), list(TARGETS)


class MeanOp(BaseMLOp):
    training_update_version = VersionType.MAJOR

    def _init_model(self) -> Any:
        return {"mean": 0.0}

    def fit(self, values: List[float]) -> None:
        self._model = {"mean": sum(values) / len(values)}

    def predict(self, values: List[float]) -> List[float]:
        return [value - self._model["mean"] for value in values]


class BigOp(BaseMLOp):
    training_update_version = VersionType.PATCH

    def __init__(self, mode: MLMode, padding: int = 0):
        self.padding = padding
        super().__init__(mode)

    def _init_model(self) -> Any:
        return {"slope": 0.0, "padding": b""}

    def fit(self, values: List[float], targets: List[float]) -> None:
        slope = sum(v * t for v, t in zip(values, targets)) / sum(v * v for v in values)
        self._model = {"slope": slope, "padding": bytes(self.padding)}

    def predict(self, values: List[float]) -> List[float]:
        return [round(self._model["slope"] * value, 9) for value in values]


def train_big(padding: int = 0) -> Pipeline:
    return Pipeline(
        [
            Node(Numbers(), output_nodes=["x", "y"]),
            Node(MeanOp(MLMode.FIT_PREDICT), input_nodes=["x"], output_nodes="x_c"),
            Node(BigOp(MLMode.FIT, padding), input_nodes=["x_c", "y"]),
        ],
        "train_big",
    )


def pred_big() -> Pipeline:
    return Pipeline(
        [
            Node(MeanOp(MLMode.PREDICT), input_nodes=["__pipeline_input__"], output_nodes="x_c"),
            Node(BigOp(MLMode.PREDICT), input_nodes=["x_c"], output_nodes="__pipeline_output__"),
        ],
        "pred_big",
    )
