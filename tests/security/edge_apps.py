"""Servers of the HTTP edge tests, importable by gunicorn: an echo pipeline (it answers what it
got, non-finite numbers included) and its pipelines server with a small body cap."""
from __future__ import annotations

import math

from chariots.pipelines import Pipeline, PipelinesServer
from chariots.pipelines.nodes import Node
from chariots.pipelines.ops import BaseOp

#: the pipelines server's body cap in these tests
CAP = 4096


class Echo(BaseOp):
    """Answers its input; ``"nan"`` and ``"inf"`` become the floats (an op computing them)."""

    def execute(self, value):
        if value in ("nan", "inf"):
            return [1.5, float(value), -math.inf]
        return value


def echo_pipeline() -> Pipeline:
    return Pipeline([Node(Echo(), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")], "echo")


def pipelines_app(**kwargs) -> PipelinesServer:
    """The echo pipeline's server (``gunicorn 'tests.security.edge_apps:pipelines_app()'``)."""
    return PipelinesServer([echo_pipeline()], max_content_length=CAP, import_name="edge_app", **kwargs)
