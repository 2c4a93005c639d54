"""A run stages a training only when it changed a state: a serving pipeline holding a plain
loadable op that only reads its state uploads nothing per call."""
from __future__ import annotations

import json

from sqlalchemy import func, select

from chariots import Chariots
from chariots.nodes import Node
from chariots.op_store.models._fleet import DBStagedTraining
from chariots.pipelines import Pipeline
from chariots.pipelines.ops import LoadableOp
from chariots.testing import TestPipelinesClient


class Lookup(LoadableOp):
    """A table read at every call and changed only by ``learn``."""

    def __init__(self, learn: bool = False):
        super().__init__()
        self.learn = learn
        self.table = {"a": 1}

    def execute(self, key):
        if self.learn:
            self.table = dict(self.table, **{key: len(self.table) + 1})
        return self.table.get(key)

    def serialize(self) -> bytes:
        return json.dumps(self.table, sort_keys=True).encode()

    def load(self, serialized_object: bytes) -> None:
        self.table = json.loads(serialized_object)


def _pipeline(name: str, learn: bool) -> Pipeline:
    return Pipeline([Node(Lookup(learn), input_nodes=["__pipeline_input__"], output_nodes="__pipeline_output__")],
                    name)


def _staged(app) -> int:
    with app.op_store_client.service.database.session() as session:
        return session.scalar(select(func.count()).select_from(DBStagedTraining))


def test_only_runs_that_change_a_state_stage_a_training(tmp_path):
    app = Chariots([_pipeline("learn", True), _pipeline("read", False)], str(tmp_path / "app"), import_name="staging")
    assert app.service.generations is not None, "the embedded store follows generations"
    client = TestPipelinesClient(app)

    client.call_pipeline("learn", "b")
    client.save_pipeline("learn")
    client.load_pipeline("read")
    staged = _staged(app)

    for _ in range(5):
        assert client.call_pipeline("read", "b").value == 2
    assert _staged(app) == staged  # reading the table changed nothing: nothing staged

    client.call_pipeline("learn", "c")
    assert _staged(app) == staged + 1  # learning did
