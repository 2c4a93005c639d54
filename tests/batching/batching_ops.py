"""Ops and pipelines of the batching tests (importable, so server processes can serve them).

A row is ``{"id": <int>, "x": <number>}``; its answer is ``{"id": <same>, "y": <x shifted>}``, so a
caller can tell its own answers from anyone else's. A row whose ``x`` is 13 makes the op raise.
"""
from __future__ import annotations

import time

from chariots import MLMode, Pipeline
from chariots.ml import BaseMLOp
from chariots.nodes import Node
from chariots.pipelines import Batching
from chariots.pipelines.ops import BaseOp
from chariots.versioning import VersionedField, VersionType

#: the input contract of the batched pipelines: a list of rows with an id and a number
ROWS_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {"id": {"type": "integer"}, "x": {"type": "number"}},
        "required": ["id", "x"],
        "additionalProperties": False,
    },
}
#: the value of x an op refuses
UNLUCKY = 13


def check_row(row):
    if row["x"] == UNLUCKY:
        raise ValueError(f"row {row['id']} holds the unlucky number {UNLUCKY}")


class SlowShift(BaseOp):
    """Adds ``shift`` to each row's x after a pause per run (not per row), as a model whose cost is
    per call, not per row, does."""

    shift = VersionedField(1, VersionType.MAJOR)
    pause = 0.02

    def execute(self, rows):
        time.sleep(self.pause)
        for row in rows:
            check_row(row)
        return [{"id": row["id"], "y": row["x"] + self.shift} for row in rows]


class ShiftModel(BaseMLOp):
    """Learns the mean of the numbers it is trained on and adds it to each row's x."""

    pause = 0.005

    def _init_model(self):
        return {"mean": None}

    def fit(self, numbers):
        self._model = {"mean": sum(numbers) / len(numbers)}

    def predict(self, rows):
        time.sleep(self.pause)
        for row in rows:
            check_row(row)
        return [{"id": row["id"], "y": row["x"] + self._model["mean"]} for row in rows]


def shift_pipeline(name: str = "shift", batching: Batching = None, callbacks=None) -> Pipeline:
    """A batched pipeline of one stateless op (batched with the defaults unless told)."""
    return Pipeline([Node(SlowShift(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")],
                    name, batching=batching or Batching(), input_schema=ROWS_SCHEMA, pipeline_callbacks=callbacks)


def model_pipelines():
    """``train`` fits a ShiftModel on the numbers sent; ``pred`` (batched) predicts with it."""
    return [
        Pipeline([Node(ShiftModel(MLMode.FIT), input_nodes=["__pipeline_input__"])], "train"),
        Pipeline([Node(ShiftModel(MLMode.PREDICT), input_nodes=["__pipeline_input__"],
                       output_nodes="__pipeline_output__")], "pred", batching=Batching(), input_schema=ROWS_SCHEMA),
    ]


#: what ``chariots pipelines -p tests.batching.batching_ops:pipelines`` serves
pipelines = [shift_pipeline()] + model_pipelines()
