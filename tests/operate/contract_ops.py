"""Pipelines declaring their input (``input_schema=``), for the contract, OpenAPI and fuzzing tests."""
from __future__ import annotations

from chariots import Pipeline
from chariots.nodes import Node
from chariots.pipelines.ops import BaseOp

#: rows of four bounded numbers: what RowSums accepts without ever failing
ROWS_SCHEMA = {
    "type": "array",
    "minItems": 1,
    "maxItems": 50,
    "items": {
        "type": "array",
        "minItems": 4,
        "maxItems": 4,
        "items": {"type": "number", "minimum": -1e6, "maximum": 1e6},
    },
}
NUMBERS_SCHEMA = {"type": "array", "items": {"type": "number"}}


class RowSums(BaseOp):
    """The sum of each row."""

    def execute(self, rows):
        return [sum(row) for row in rows]


class Reciprocal(BaseOp):
    """1 / x for each number: raises ZeroDivisionError on a 0 that the schema lets through."""

    def execute(self, numbers):
        return [1 / number for number in numbers]


def row_sums_pipeline() -> Pipeline:
    """``row_sums``: declares ROWS_SCHEMA and answers every input that matches it."""
    return Pipeline(
        [Node(RowSums(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")],
        "row_sums", input_schema=ROWS_SCHEMA,
    )


def reciprocal_pipeline() -> Pipeline:
    """``reciprocal``: declares NUMBERS_SCHEMA, and its op raises on 0."""
    return Pipeline(
        [Node(Reciprocal(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")],
        "reciprocal", input_schema=NUMBERS_SCHEMA,
    )
